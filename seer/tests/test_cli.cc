// The `seer` program as a user runs it: outputs, exit codes and error messages.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/mapped_file.h"
#include "common/shared_dir.h"
#include "gguf_writer.h"
#include "run_command.h"

namespace {

using CliRun = common::testing::CommandResult;

CliRun Seer(const std::string& args) {
  return common::testing::RunCommand(std::string(SEER_CLI_PATH) + " " + args,
                                     seer::test::TempPath("stderr.txt"));
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }
std::string Gguf() { return Quote(common::SharedFile("models/stories260K/stories260K.gguf")); }

std::string LastLine(const std::string& text) {
  const auto end = text.find_last_not_of('\n');
  const auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

TEST(Cli, GenerateGreedyPrintsTheReferenceTextForBothFormats) {
  const auto reference = nlohmann::json::parse(
      common::ReadFile(common::SharedFile("models/stories260K/reference_greedy.json")));
  const std::string prompt =
      "--prompt \"Once upon a time, there was a little girl named Lily\" --steps 256 --temperature "
      "0";
  const CliRun gguf = Seer("generate --model " + Gguf() + " " + prompt);
  EXPECT_EQ(gguf.exit_code, 0) << gguf.err;
  EXPECT_EQ(gguf.out, reference["greedy_text"].get<std::string>());
  EXPECT_NE(gguf.err.find("tok/s"), std::string::npos);
  const CliRun bin = Seer(
      "generate --model " + Quote(common::SharedFile("models/stories260K/stories260K.bin")) +
      " --tokenizer " + Quote(common::SharedFile("models/stories260K/tok512.bin")) + " " + prompt);
  EXPECT_EQ(bin.exit_code, 0) << bin.err;
  EXPECT_EQ(bin.out, gguf.out);
}

TEST(Cli, SamplingIsReproducibleWithASeed) {
  const std::string args =
      "generate --model " + Gguf() +
      " --prompt \"Tom had a dog\" --steps 60 --temperature 0.8 --top-p 0.9 --seed 7";
  const CliRun a = Seer(args), b = Seer(args);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("Tom had a dog", 0), 0u);
}

TEST(Cli, TokenizeAndInfo) {
  const std::string text = seer::test::TempPath("prompt.txt");
  std::ofstream(text) << "Once upon a time";
  const CliRun tok = Seer("tokenize --model " + Gguf() + " --text-file " + Quote(text));
  EXPECT_EQ(tok.exit_code, 0) << tok.err;
  EXPECT_EQ(tok.out, "403 407 261 378\n");
  const CliRun info = Seer("info --model " + Gguf());
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_NE(info.out.find("kv_heads        4"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("F32 (292800 elements)"), std::string::npos) << info.out;
}

TEST(Cli, PerplexityEndsWithItsSummaryLine) {
  const std::string text = seer::test::TempPath("story.txt");
  std::ofstream(text)
      << "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
         "park. "
         "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n";
  const CliRun run = Seer("ppl --model " + Gguf() + " --text-file " + Quote(text) + " --ctx 16");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string last = LastLine(run.out);
  double ppl = 0;
  long tokens = 0;
  ASSERT_EQ(std::sscanf(last.c_str(), "ppl=%lf tokens=%ld", &ppl, &tokens), 2) << last;
  EXPECT_GT(ppl, 1.0);
  EXPECT_LT(ppl, 20.0);  // In-domain text for a TinyStories model; a uniform guess would be 512.
  EXPECT_GT(tokens, 30);
}

TEST(Cli, BenchAttentionJson) {
  const CliRun run =
      Seer("bench attention --heads 4 --kv-heads 2 --head-dim 64 --seq 256 --repeats 1 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(LastLine(run.out));
  for (const char* key : {"dense_s", "dense_gflops", "sgemm_gflops", "ratio_to_sgemm"}) {
    ASSERT_TRUE(json.contains(key)) << key;
    EXPECT_GT(json[key].get<double>(), 0.0) << key;
  }
}

TEST(Cli, SparsePrefillAtDensityOneReproducesDense) {
  const std::string gates = seer::test::TempPath("gates.safetensors");
  CliRun run = Seer("init-gates --model " + Gguf() + " --out " + Quote(gates) + " --seed 3");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string text = seer::test::TempPath("emma.txt");
  std::ofstream(text)
      << common::ReadFile(common::SharedFile("text/austen_emma.txt")).substr(0, 6000);
  const CliRun dense = Seer("ppl --model " + Gguf() + " --text-file " + Quote(text) + " --ctx 256");
  const CliRun sparse = Seer("ppl --model " + Gguf() + " --text-file " + Quote(text) +
                             " --ctx 256 --gates " + Quote(gates) + " --density 1.0");
  ASSERT_EQ(sparse.exit_code, 0) << sparse.err;
  EXPECT_EQ(LastLine(sparse.out), LastLine(dense.out) + " density=1.0000");
  const CliRun half = Seer("ppl --model " + Gguf() + " --text-file " + Quote(text) +
                           " --ctx 256 --gates " + Quote(gates) + " --density 0.5");
  ASSERT_EQ(half.exit_code, 0) << half.err;
  double ppl = 0, density = 0;
  long tokens = 0;
  ASSERT_EQ(std::sscanf(LastLine(half.out).c_str(), "ppl=%lf tokens=%ld density=%lf", &ppl, &tokens,
                        &density),
            3);
  EXPECT_GT(density, 0.3);
  EXPECT_LT(density, 0.7);
  EXPECT_NE(half.err.find("density layer 4:"), std::string::npos) << half.err;

  const auto reference = nlohmann::json::parse(
      common::ReadFile(common::SharedFile("models/stories260K/reference_greedy.json")));
  const CliRun gen = Seer("generate --model " + Gguf() +
                          " --prompt \"Once upon a time, there was a little girl named Lily\" "
                          "--steps 256 --temperature 0 --gates " +
                          Quote(gates) + " --density 1");
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  EXPECT_EQ(gen.out, reference["greedy_text"].get<std::string>());
  EXPECT_NE(gen.err.find("prefill density: 1.0000"), std::string::npos) << gen.err;
}

TEST(Cli, InitGatesWritesThePthLayoutAndBenchMeasuresSparsity) {
  const std::string dir = seer::test::TempPath("pthgates");
  std::filesystem::create_directories(dir);
  CliRun run = Seer("init-gates --model " + Gguf() + " --out " +
                    Quote(dir + "/attn_gate_weights.pth") + " --pth-dtype bf16");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/config.json"));
  run = Seer("ppl --model " + Gguf() + " --text-file " + Quote(dir + "/config.json") +
             " --ctx 64 --gates " + Quote(dir + "/attn_gate_weights.pth") + " --threshold 0.01");
  EXPECT_EQ(run.exit_code, 0) << run.err;

  run = Seer(
      "bench attention --heads 4 --kv-heads 2 --head-dim 64 --seq 512 --repeats 1 --density 0.3 "
      "--json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(LastLine(run.out));
  for (const char* key : {"sparse_s", "speedup", "gate_s", "achieved_density"}) {
    ASSERT_TRUE(json.contains(key)) << key;
    EXPECT_GT(json[key].get<double>(), 0.0) << key;
  }
  EXPECT_NEAR(json["achieved_density"].get<double>(), 0.3, 0.01);
}

TEST(Cli, UserErrorsGiveOneMessageAndANonZeroExit) {
  const std::string missing = seer::test::TempPath("no-such-model.gguf");
  CliRun run = Seer("info --model " + Quote(missing));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("seer: error: cannot open '" + missing + "'"), std::string::npos)
      << run.err;

  const std::string truncated = seer::test::TempPath("cut.gguf");
  {
    const std::string bytes =
        common::ReadFile(common::SharedFile("models/stories260K/stories260K.gguf"));
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, 5000);
  }
  run = Seer("generate --model " + Quote(truncated) + " --prompt hi --steps 10");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("truncated"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty());

  run = Seer("generate --model " + Quote(common::SharedFile("models/stories260K/stories260K.bin")) +
             " --prompt hi");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--tokenizer"), std::string::npos) << run.err;

  run = Seer("generate --model " + Gguf() + " --prompt hi --steps 100000");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--steps"), std::string::npos) << run.err;

  run = Seer("ppl --model " + Gguf() + " --text-file " + Quote(missing) + " --ctx 64");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(missing), std::string::npos) << run.err;

  run = Seer("generate --model " + Gguf() + " --prompt hi --temperature -1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--temperature"), std::string::npos) << run.err;

  run = Seer("ppl --model " + Gguf() + " --text-file " + Quote(missing) + " --density 0.5");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("need --gates"), std::string::npos) << run.err;

  const std::string fixture = std::string(SEER_TEST_FIXTURES) + "/torch_bf16/attn_gate_weights.pth";
  run = Seer("generate --model " + Gguf() + " --prompt hi --gates " + Quote(fixture) +
             " --density 0.5");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("the gates are for a model with 2 layers"), std::string::npos) << run.err;

  run =
      Seer("generate --model " + Gguf() + " --prompt hi --oracle --baseline window --density 0.5");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("choose one of"), std::string::npos) << run.err;

  run = Seer("init-gates --model " + Gguf() + " --out " +
             Quote(seer::test::TempPath("no/such/dir/g.pth")));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("does not exist"), std::string::npos) << run.err;

  run = Seer("frobnicate");
  EXPECT_NE(run.exit_code, 0);
}

}  // namespace
