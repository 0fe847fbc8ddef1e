// Gate files: safetensors and .pth round trips, PyTorch-written fixtures, hostile files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/mapped_file.h"
#include "gguf_writer.h"
#include "seer/gate_file.h"
#include "seer/pth.h"

namespace seer {
namespace {

const std::string kFixtures = SEER_TEST_FIXTURES;

GateConfig SmallConfig(bool q_linear) {
  GateConfig c;
  c.block_size = 32;
  c.head_dim = 8;
  c.d_gate = q_linear ? 16 : 8;
  c.q_heads = 4;
  c.kv_heads = 2;
  c.n_layers = 3;
  c.model_name = "test-model";
  c.rope_theta = 5e5f;
  return c;
}

float FixtureValue(int layer, int h, int r, int c) {
  return static_cast<float>(((h * 37 + r * 11 + c * 5 + layer * 3) % 97) - 48) / 64.0f;
}

void ExpectSameGates(const Gates& a, const Gates& b) {
  EXPECT_EQ(a.config.TypeName(), b.config.TypeName());
  EXPECT_EQ(a.config.block_size, b.config.block_size);
  EXPECT_EQ(a.config.d_gate, b.config.d_gate);
  EXPECT_EQ(a.config.n_layers, b.config.n_layers);
  EXPECT_EQ(a.config.q_heads, b.config.q_heads);
  EXPECT_EQ(a.config.kv_heads, b.config.kv_heads);
  EXPECT_EQ(a.config.head_dim, b.config.head_dim);
  EXPECT_EQ(a.config.rope_theta, b.config.rope_theta);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].wk, b.layers[l].wk) << l;  // Bit-exact.
    EXPECT_EQ(a.layers[l].wq, b.layers[l].wq) << l;
  }
}

TEST(GateFile, SafetensorsRoundTripIsBitExact) {
  for (bool q_linear : {false, true}) {
    GateFile file{RandomGates(SmallConfig(q_linear), 1),
                  SelectionOptions{.method = SelectionOptions::Method::kThreshold,
                                   .threshold = 0.002f,
                                   .dense_last_rows = 2}};
    const std::string path = test::TempPath("gates.safetensors");
    WriteGateFile(file, path);
    const GateFile back = ReadGateFile(path);
    ExpectSameGates(file.gates, back.gates);
    EXPECT_EQ(back.gates.config.model_name, "test-model");
    ASSERT_TRUE(back.recommended.has_value());
    EXPECT_EQ(back.recommended->method, SelectionOptions::Method::kThreshold);
    EXPECT_FLOAT_EQ(back.recommended->threshold, 0.002f);
    EXPECT_EQ(back.recommended->dense_last_rows, 2);
  }
}

TEST(GateFile, PthRoundTripIsBitExactInF32AndBF16) {
  for (bool q_linear : {false, true}) {
    GateFile file{RandomGates(SmallConfig(q_linear), 2), std::nullopt};
    const std::string dir = test::TempPath(q_linear ? "pth_q" : "pth");
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/attn_gate_weights.pth";
    WriteGateFile(file, path, DType::kF32);
    ExpectSameGates(file.gates, ReadGateFile(path).gates);

    // BF16 keeps 8 significant bits: round the weights first, then the trip is exact.
    for (auto& layer : file.gates.layers) {
      for (auto* w : {&layer.wk, &layer.wq}) {
        for (float& x : *w) x = BF16ToF32(F32ToBF16(x));
      }
    }
    WriteGateFile(file, path, DType::kBF16);
    ExpectSameGates(file.gates, ReadGateFile(path).gates);
  }
}

TEST(GateFile, PthKeepsOtherConfigKeys) {
  const std::string dir = test::TempPath("merge");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json")
      << R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 128256})";
  WriteGateFile({RandomGates(SmallConfig(false), 3), std::nullopt}, dir + "/attn_gate_weights.pth");
  const std::string config = common::ReadFile(dir + "/config.json");
  EXPECT_NE(config.find("128256"), std::string::npos);
  EXPECT_NE(config.find("\"seerattn_gate_type\": \"Qavg_Kmaxminavg\""), std::string::npos)
      << config;
}

TEST(GateFile, ReadsAStateDictWrittenByPyTorchInBF16WithStrides) {
  const GateFile file = ReadGateFile(kFixtures + "/torch_bf16/attn_gate_weights.pth");
  const GateConfig& c = file.gates.config;
  EXPECT_EQ(c.TypeName(), "Qavg_Kmaxminavg");
  EXPECT_EQ(c.block_size, 16);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.q_heads, 4);
  EXPECT_EQ(c.kv_heads, 2);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_FALSE(c.HasQLinear());
  for (int l = 0; l < 2; ++l) {
    const auto& w = file.gates.layers[l].wk;
    ASSERT_EQ(w.size(), 4u * 24u * 8u);
    for (int h = 0; h < 4; ++h) {
      for (int r = 0; r < 24; ++r) {
        for (int col = 0; col < 8; ++col) {
          ASSERT_EQ(w[(h * 24 + r) * 8 + col], FixtureValue(l, h, r, col))
              << l << " " << h << " " << r << " " << col;
        }
      }
    }
  }
  ASSERT_TRUE(file.recommended.has_value());
  EXPECT_EQ(file.recommended->method, SelectionOptions::Method::kThreshold);
  EXPECT_FLOAT_EQ(file.recommended->threshold, 0.005f);
}

TEST(GateFile, ReadsAStateDictWrittenByPyTorchWithBothLinears) {
  const GateFile file = ReadGateFile(kFixtures + "/torch_f32/attn_gate_weights.pth");
  EXPECT_TRUE(file.gates.config.HasQLinear());
  EXPECT_EQ(file.gates.config.KLinearHeads(), 2);
  const auto& layer = file.gates.layers[1];
  ASSERT_EQ(layer.wq.size(), 4u * 8u * 8u);
  ASSERT_EQ(layer.wk.size(), 2u * 24u * 8u);
  EXPECT_EQ(layer.wq[(3 * 8 + 5) * 8 + 7], FixtureValue(1, 3, 5, 7));
  EXPECT_EQ(layer.wk[(1 * 24 + 23) * 8 + 2], FixtureValue(1, 1, 23, 2));
}

TEST(GateFile, RefusesPicklesThatWouldRunCode) {
  try {
    ReadPthStateDict(kFixtures + "/evil/attn_gate_weights.pth");
    FAIL() << "the pickle was accepted";
  } catch (const common::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("system"), std::string::npos) << e.what();
  }
}

TEST(GateFile, BadFilesGiveClearErrors) {
  EXPECT_THROW(ReadGateFile(test::TempPath("missing.safetensors")), common::IoError);

  // A .pth without config.json beside it.
  const std::string dir = test::TempPath("noconfig");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kFixtures + "/torch_bf16/attn_gate_weights.pth",
                             dir + "/attn_gate_weights.pth");
  EXPECT_THROW(ReadGateFile(dir + "/attn_gate_weights.pth"), common::IoError);

  // Truncated copies of both formats.
  GateFile file{RandomGates(SmallConfig(true), 4), std::nullopt};
  const std::string st = test::TempPath("cut.safetensors");
  WriteGateFile(file, st);
  const std::string bytes = common::ReadFile(st);
  for (std::size_t n :
       {std::size_t{0}, std::size_t{7}, std::size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(st, std::ios::binary | std::ios::trunc) << bytes.substr(0, n);
    EXPECT_THROW(ReadGateFile(st), common::FormatError) << n;
  }
  const std::string pth_dir = test::TempPath("cutpth");
  std::filesystem::create_directories(pth_dir);
  const std::string pth = pth_dir + "/attn_gate_weights.pth";
  WriteGateFile(file, pth);
  const std::string pth_bytes = common::ReadFile(pth);
  for (std::size_t n : {std::size_t{10}, pth_bytes.size() / 3, pth_bytes.size() - 30}) {
    std::ofstream(pth, std::ios::binary | std::ios::trunc) << pth_bytes.substr(0, n);
    EXPECT_THROW(ReadGateFile(pth), common::FormatError) << n;
  }

  // Gates whose shape does not fit the configuration.
  file = {RandomGates(SmallConfig(false), 5), std::nullopt};
  file.gates.layers[1].wk.pop_back();
  EXPECT_THROW(WriteGateFile(file, test::TempPath("bad.safetensors")), common::FormatError);
}

}  // namespace
}  // namespace seer
