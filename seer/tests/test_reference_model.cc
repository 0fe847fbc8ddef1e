// The forward pass against llama2.c's own logits and text for stories260K, in both file formats
// and with weights stored as F16, BF16 and Q8_0.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/mapped_file.h"
#include "common/shared_dir.h"
#include "gguf_writer.h"
#include "seer/gate.h"
#include "seer/generate.h"
#include "seer/model.h"
#include "seer/sampler.h"
#include "seer/tokenizer.h"
#include "seer/transformer.h"

namespace seer {
namespace {

nlohmann::json Reference() {
  return nlohmann::json::parse(
      common::ReadFile(common::SharedFile("models/stories260K/reference_greedy.json")));
}

std::unique_ptr<Model> Load(const std::string& format) {
  if (format == "gguf") return LoadModel(common::SharedFile("models/stories260K/stories260K.gguf"));
  return LoadModel(common::SharedFile("models/stories260K/stories260K.bin"),
                   common::SharedFile("models/stories260K/tok512.bin"));
}

// Returns logits [n, vocab] of a batched prefill of `tokens`.
std::vector<float> PrefillLogits(Transformer& t, const std::vector<int>& tokens) {
  auto hidden = t.Forward(tokens, 0);
  std::vector<float> logits(tokens.size() * static_cast<std::size_t>(t.model().config.vocab_size));
  t.Logits(hidden.data(), static_cast<int>(tokens.size()), logits.data());
  return logits;
}

// Returns logits [n, vocab] of feeding `tokens` one at a time through the KV cache.
std::vector<float> DecodeLogits(Transformer& t, const std::vector<int>& tokens) {
  std::vector<float> logits;
  for (std::size_t pos = 0; pos < tokens.size(); ++pos) {
    auto l = t.NextLogits(std::span<const int>(&tokens[pos], 1), static_cast<int>(pos));
    logits.insert(logits.end(), l.begin(), l.end());
  }
  return logits;
}

double MaxAbsDiff(const float* a, const float* b, std::size_t n) {
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

// Returns the first `count` token ids (BOS first) of Emma, for inputs of a realistic length.
std::vector<int> EmmaTokens(const Model& model, std::size_t count) {
  const Tokenizer tokenizer(model.vocab);
  auto tokens = tokenizer.Encode(
      common::ReadFile(common::SharedFile("text/austen_emma.txt")).substr(0, 20000), true);
  EXPECT_GE(tokens.size(), count);
  tokens.resize(count);
  return tokens;
}

class ReferenceModel : public testing::TestWithParam<std::string> {};

TEST_P(ReferenceModel, LogitsMatchLlama2cAtEveryStoredPosition) {
  const auto model = Load(GetParam());
  const auto reference = Reference();
  const std::vector<int> tokens = reference["input_tokens_by_position"];
  const int vocab = model->config.vocab_size;
  Transformer transformer(*model, 512);
  const auto prefill = PrefillLogits(transformer, tokens);
  const auto decode = DecodeLogits(transformer, tokens);
  int checked = 0;
  for (const auto& [pos_text, expected_json] : reference["logits_by_position"].items()) {
    const int pos = std::stoi(pos_text);
    const std::vector<float> expected = expected_json;
    ASSERT_EQ(static_cast<int>(expected.size()), vocab);
    EXPECT_LE(
        MaxAbsDiff(prefill.data() + static_cast<std::size_t>(pos) * vocab, expected.data(), vocab),
        1e-4)
        << "prefill, position " << pos;
    EXPECT_LE(
        MaxAbsDiff(decode.data() + static_cast<std::size_t>(pos) * vocab, expected.data(), vocab),
        1e-4)
        << "decode, position " << pos;
    ++checked;
  }
  EXPECT_EQ(checked, 39);
}

TEST_P(ReferenceModel, GreedyTextEqualsLlama2c) {
  const auto model = Load(GetParam());
  const auto reference = Reference();
  const Tokenizer tokenizer(model->vocab);
  Transformer transformer(*model);
  Sampler sampler({.temperature = 0.0f});
  std::string text;
  Generate(transformer, tokenizer, sampler, reference["prompt"].get<std::string>(), 256,
           [&](const std::string& piece) { text += piece; });
  EXPECT_EQ(text + "\n",
            reference["greedy_text"].get<std::string>());  // run.c ends with a newline.
}

INSTANTIATE_TEST_SUITE_P(Formats, ReferenceModel, testing::Values("gguf", "llama2c"));

TEST(Transformer, BatchedPrefillEqualsTokenByTokenDecodeOver300Tokens) {
  const auto model = Load("gguf");
  const auto tokens = EmmaTokens(*model, 300);
  Transformer transformer(*model, 300);
  const auto prefill = PrefillLogits(transformer, tokens);
  const auto decode = DecodeLogits(transformer, tokens);
  EXPECT_LE(MaxAbsDiff(prefill.data(), decode.data(), prefill.size()), 1e-4);
}

TEST(Transformer, RejectsPositionsPastTheCacheAndUnknownTokens) {
  const auto model = Load("gguf");
  Transformer transformer(*model, 8);
  const std::vector<int> nine(9, 5);
  EXPECT_THROW(transformer.Forward(nine, 0), common::InvalidArgument);
  const std::vector<int> bad = {1, 512};
  EXPECT_THROW(transformer.Forward(bad, 0), common::InvalidArgument);
}

// Weights stored in reduced precision load and stay close to the fp32 model's logits.
TEST(Transformer, ReducedPrecisionWeightsStayCloseToF32) {
  const auto model = Load("gguf");
  const std::vector<int> tokens = Reference()["input_tokens_by_position"];
  Transformer reference(*model, 256);
  const auto expected = PrefillLogits(reference, tokens);
  const struct {
    std::uint32_t type;
    DType dtype;
    double tolerance;
  } cases[] = {{1, DType::kF16, 0.02}, {30, DType::kBF16, 0.2}, {8, DType::kQ8_0, 0.5}};
  for (const auto& c : cases) {
    const std::string path = test::TempPath("stories_" + std::string(DTypeName(c.dtype)) + ".gguf");
    test::WriterForModel(*model, c.type).Write(path);
    const auto converted = LoadModel(path);
    EXPECT_EQ(converted->stored_tensors[0].dtype, c.dtype);
    Transformer t(*converted, 256);
    const auto logits = PrefillLogits(t, tokens);
    const double diff = MaxAbsDiff(logits.data(), expected.data(), logits.size());
    EXPECT_LE(diff, c.tolerance) << DTypeName(c.dtype);
    std::printf("%s: max |logit - f32 logit| = %.4f\n", std::string(DTypeName(c.dtype)).c_str(),
                diff);
    EXPECT_GT(diff, 0.0) << DTypeName(c.dtype) << " should not be bit-identical to F32";
  }
}

}  // namespace
}  // namespace seer

namespace seer {
namespace {

TEST(SparsePrefill, DensityOneReproducesDenseExactly) {
  const auto model = Load("gguf");
  const std::vector<int> tokens = Reference()["input_tokens_by_position"];
  Transformer dense(*model, 256);
  const auto expected = PrefillLogits(dense, tokens);
  const Gates gates = RandomGates(GateConfig::ForModel(model->config), 1);
  Transformer sparse(*model, 256);
  sparse.SetSparsePrefill(SparsePrefill{.gates = &gates, .selection = {.density = 1.0f}});
  const auto got = PrefillLogits(sparse, tokens);
  EXPECT_EQ(got, expected);  // Bit for bit: the same kernel over the same blocks.
  EXPECT_DOUBLE_EQ(sparse.density().Overall(), 1.0);
}

TEST(SparsePrefill, RandomGatesAtHalfDensityRunAndReportIt) {
  const auto model = Load("gguf");
  const auto tokens = EmmaTokens(*model, 1024);
  const Gates gates = RandomGates(GateConfig::ForModel(model->config, 32), 2);
  Transformer dense(*model, 1024), sparse(*model, 1024);
  sparse.SetSparsePrefill(SparsePrefill{.gates = &gates, .selection = {.density = 0.5f}});
  const auto expected = PrefillLogits(dense, tokens);
  const auto got = PrefillLogits(sparse, tokens);
  const double density = sparse.density().Overall();
  EXPECT_GT(density, 0.4);
  EXPECT_LT(density, 0.6);
  for (int l = 0; l < model->config.n_layers; ++l) EXPECT_GT(sparse.density().Layer(l), 0.3);
  const double diff = MaxAbsDiff(got.data(), expected.data(), got.size());
  EXPECT_GT(diff, 0.0);  // Blocks were really skipped.
  for (float x : got) ASSERT_TRUE(std::isfinite(x));
}

TEST(SparsePrefill, EverySourceRunsAtATargetDensity) {
  const auto model = Load("gguf");
  const auto tokens = EmmaTokens(*model, 512);
  for (auto source : {SparsePrefill::Source::kOracle, SparsePrefill::Source::kMeanPool,
                      SparsePrefill::Source::kWindow}) {
    Transformer t(*model, 512);
    t.SetSparsePrefill(
        SparsePrefill{.source = source,
                      .selection = {.method = SelectionOptions::Method::kTargetDensity,
                                    .density = 0.3f,
                                    .keep_first_block = true},
                      .block_size = 16});
    const auto logits = PrefillLogits(t, tokens);
    EXPECT_NEAR(t.density().Overall(), 0.3, 0.01);
    for (float x : logits) ASSERT_TRUE(std::isfinite(x));
  }
}

TEST(SparsePrefill, GatesForAnotherModelAreRejected) {
  const auto model = Load("gguf");
  GateConfig config = GateConfig::ForModel(model->config);
  config.n_layers = 3;
  const Gates gates = RandomGates(config, 3);
  Transformer t(*model, 64);
  EXPECT_THROW(t.SetSparsePrefill(SparsePrefill{.gates = &gates}), common::InvalidArgument);
}

}  // namespace
}  // namespace seer
