// The `seer` command line: a thin layer over the seer library.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <new>
#include <optional>

#include "bench_attention.h"
#include "common/cli_main.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "common/progress.h"
#include "seer/gate_file.h"
#include "seer/generate.h"
#include "seer/model.h"
#include "seer/perplexity.h"
#include "seer/sampler.h"
#include "seer/tokenizer.h"
#include "seer/transformer.h"

namespace {

struct ModelOptions {
  std::string model;
  std::string tokenizer;

  void Add(CLI::App* cmd) {
    cmd->add_option("--model", model, "GGUF file or llama2.c checkpoint")->required();
    cmd->add_option("--tokenizer", tokenizer, "tokenizer .bin of a llama2.c checkpoint");
  }
};

// The options that make prefill block-sparse, shared by `generate` and `ppl`.
struct SparseOptions {
  std::string gates_path;
  bool oracle = false;
  std::string baseline;
  std::optional<float> threshold, density, target_density;
  bool keep_first_block = false;
  int dense_last_rows = 0;
  int block_size = 64;
  seer::GateFile gate_file;  // Owns the gates the Transformer points to.

  void Add(CLI::App* cmd) {
    cmd->add_option("--gates", gates_path,
                    "Gate file (.safetensors, or .pth with config.json beside it)");
    cmd->add_flag("--oracle", oracle, "Select blocks by their true attention mass (upper bound)");
    cmd->add_option("--baseline", baseline, "Parameter-free block selection instead of gates")
        ->check(CLI::IsMember({"meanpool", "window"}));
    cmd->add_option("--threshold", threshold, "Keep blocks whose gate probability exceeds T");
    cmd->add_option("--density", density, "Keep the top k = (1 - sqrt(1 - R)) * blocks per row");
    cmd->add_option("--target-density", target_density,
                    "Keep exactly this fraction of all causal blocks");
    cmd->add_flag("--keep-first-block", keep_first_block,
                  "Always keep the first key block (attention sink)");
    cmd->add_option("--dense-last-rows", dense_last_rows, "Keep the last N query-block rows dense")
        ->capture_default_str();
    cmd->add_option("--block-size", block_size, "Block size for --oracle and --baseline")
        ->capture_default_str();
  }

  // Returns the sparse prefill these options ask for, or nullopt for dense.
  std::optional<seer::SparsePrefill> Build() {
    using seer::SparsePrefill;
    const int sources = !gates_path.empty() + oracle + !baseline.empty();
    const int rules = threshold.has_value() + density.has_value() + target_density.has_value();
    if (sources == 0) {
      if (rules > 0)
        common::Throw<common::InvalidArgument>(
            "--threshold/--density need --gates, --oracle or --baseline");
      return std::nullopt;
    }
    if (sources > 1)
      common::Throw<common::InvalidArgument>("choose one of --gates, --oracle and --baseline");
    if (rules > 1)
      common::Throw<common::InvalidArgument>(
          "choose one of --threshold, --density and --target-density");
    SparsePrefill sparse;
    sparse.block_size = block_size;
    if (!gates_path.empty()) {
      gate_file = seer::ReadGateFile(gates_path);
      sparse.source = SparsePrefill::Source::kGate;
      sparse.gates = &gate_file.gates;
      if (rules == 0 && gate_file.recommended) sparse.selection = *gate_file.recommended;
    } else {
      sparse.source = oracle                   ? SparsePrefill::Source::kOracle
                      : baseline == "meanpool" ? SparsePrefill::Source::kMeanPool
                                               : SparsePrefill::Source::kWindow;
    }
    if (rules == 0 && !(sparse.source == SparsePrefill::Source::kGate && gate_file.recommended)) {
      common::Throw<common::InvalidArgument>(
          "give --threshold, --density or --target-density to select blocks");
    }
    using Method = seer::SelectionOptions::Method;
    if (threshold) sparse.selection = {.method = Method::kThreshold, .threshold = *threshold};
    if (density) sparse.selection = {.method = Method::kDensity, .density = *density};
    if (target_density)
      sparse.selection = {.method = Method::kTargetDensity, .density = *target_density};
    sparse.selection.keep_first_block = sparse.selection.keep_first_block || keep_first_block;
    sparse.selection.dense_last_rows = std::max(sparse.selection.dense_last_rows, dense_last_rows);
    return sparse;  // The Transformer checks that gates fit the model.
  }
};

void PrintDensity(const seer::Transformer& t) {
  const seer::DensityStats& d = t.density();
  for (int l = 0; l < d.layers; ++l) {
    std::string heads;
    for (int h = 0; h < d.heads; ++h) heads += fmt::format(" {:.3f}", d.At(l, h));
    fmt::print(stderr, "density layer {}: {:.4f} (heads:{})\n", l, d.Layer(l), heads);
  }
}

std::string ShapeText(const std::vector<std::uint64_t>& shape) {
  std::string out;
  for (auto d : shape) out += (out.empty() ? "" : " x ") + std::to_string(d);
  return "[" + out + "]";
}

void Info(const ModelOptions& m, bool list_tensors) {
  const auto model = seer::LoadModel(m.model, m.tokenizer);
  const seer::ModelConfig& c = model->config;
  std::map<std::string, std::uint64_t> elements_by_dtype;
  std::uint64_t parameters = 0;
  for (const auto& t : model->stored_tensors) {
    std::uint64_t n = 1;
    for (auto d : t.shape) n *= d;
    parameters += n;
    elements_by_dtype[std::string(seer::DTypeName(t.dtype))] += n;
  }
  fmt::print("file            {}\n", model->path);
  fmt::print("format          {}\n", model->format);
  fmt::print("architecture    {}{}\n", c.architecture, c.name.empty() ? "" : " (" + c.name + ")");
  fmt::print("parameters      {}\n", parameters);
  fmt::print("dim             {}\n", c.dim);
  fmt::print("hidden_dim      {}\n", c.hidden_dim);
  fmt::print("layers          {}\n", c.n_layers);
  fmt::print("heads           {}\n", c.n_heads);
  fmt::print("kv_heads        {}\n", c.n_kv_heads);
  fmt::print("head_dim        {}\n", c.head_dim);
  fmt::print("vocab           {}\n", c.vocab_size);
  fmt::print("context_length  {}\n", c.context_length);
  fmt::print("rms_eps         {}\n", c.rms_eps);
  fmt::print("rope_theta      {}\n", c.rope_theta);
  fmt::print("output          {}\n", c.tied_output ? "tied to token embedding" : "separate matrix");
  std::string dtypes;
  for (const auto& [name, n] : elements_by_dtype)
    dtypes += fmt::format("{}{} ({} elements)", dtypes.empty() ? "" : ", ", name, n);
  fmt::print("dtypes          {}\n", dtypes);
  fmt::print("tensors         {}\n", model->stored_tensors.size());
  if (list_tensors) {
    for (const auto& t : model->stored_tensors) {
      fmt::print("  {:<32} {:<5} {}\n", t.name, seer::DTypeName(t.dtype), ShapeText(t.shape));
    }
  }
}

void Tokenize(const ModelOptions& m, const std::string& text_file, bool bos) {
  const auto model = seer::LoadModel(m.model, m.tokenizer);
  const seer::Tokenizer tokenizer(model->vocab);
  const std::string text = common::ReadFile(text_file);
  const auto ids = tokenizer.Encode(text, bos);
  std::string line;
  for (int id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
  fmt::print("{}\n", line);
}

// Prints a token's text, dropping bare control bytes the way llama2.c's safe_printf does.
void PrintPiece(const std::string& piece) {
  if (piece.size() == 1) {
    const auto byte = static_cast<unsigned char>(piece[0]);
    if (byte < 0x80 && !(std::isprint(byte) || std::isspace(byte))) return;
  }
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

void GenerateText(const ModelOptions& m, SparseOptions& sparse, const std::string& prompt,
                  int steps, seer::SamplerOptions sampling) {
  const auto model = seer::LoadModel(m.model, m.tokenizer);
  const seer::Tokenizer tokenizer(model->vocab);
  if (steps < 1 || steps > model->config.context_length) {
    common::Throw<common::InvalidArgument>(
        "--steps must be between 1 and the model's context length {}, got {}",
        model->config.context_length, steps);
  }
  seer::Transformer transformer(*model, steps);  // The KV cache holds just the positions used.
  transformer.SetSparsePrefill(sparse.Build());
  seer::Sampler sampler(sampling);
  const auto stats = seer::Generate(transformer, tokenizer, sampler, prompt, steps, PrintPiece);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  fmt::print(stderr,
             "prompt: {} tokens in {:.3f} s ({:.1f} tok/s); generated: {} tokens in {:.3f} s "
             "({:.1f} tok/s)\n",
             stats.prompt_tokens, stats.prefill_seconds,
             stats.prefill_seconds > 0 ? stats.prompt_tokens / stats.prefill_seconds : 0.0,
             stats.generated_tokens, stats.decode_seconds,
             stats.decode_seconds > 0 ? stats.generated_tokens / stats.decode_seconds : 0.0);
  if (transformer.density().layers > 0) {
    fmt::print(stderr, "prefill density: {:.4f}\n", transformer.density().Overall());
  }
}

void PerplexityOfFile(const ModelOptions& m, SparseOptions& sparse, const std::string& text_file,
                      int ctx) {
  const auto model = seer::LoadModel(m.model, m.tokenizer);
  auto sparse_prefill = sparse.Build();
  const seer::Tokenizer tokenizer(model->vocab);
  const std::string text = common::ReadFile(text_file);
  const auto tokens = tokenizer.Encode(text, /*add_bos=*/true);
  seer::Transformer transformer(*model, ctx);
  transformer.SetSparsePrefill(std::move(sparse_prefill));
  const auto start = std::chrono::steady_clock::now();
  common::Progress progress("ppl", (static_cast<long>(tokens.size()) + ctx - 1) / ctx, "windows");
  const auto result =
      seer::Perplexity(transformer, tokens, ctx, [&](int done, int) { progress.Update(done); });
  progress.Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(stderr, "{} tokens scored in {:.2f} s ({:.0f} tok/s)\n", result.scored_tokens, seconds,
             result.scored_tokens / seconds);
  if (transformer.density().layers > 0) {
    PrintDensity(transformer);
    fmt::print("ppl={:.6f} tokens={} density={:.4f}\n", result.perplexity, result.scored_tokens,
               transformer.density().Overall());
  } else {
    fmt::print("ppl={:.6f} tokens={}\n", result.perplexity, result.scored_tokens);
  }
}

void InitGates(const ModelOptions& m, const std::string& out, int block_size, int d_gate,
               const std::string& type, std::uint64_t seed, const std::string& pth_dtype) {
  const auto model = seer::LoadModel(m.model, m.tokenizer);
  seer::GateConfig config = seer::GateConfig::ForModel(model->config, block_size);
  if (d_gate > 0) config.d_gate = d_gate;
  config.SetType(type);
  seer::GateFile file{seer::RandomGates(config, seed), std::nullopt};
  seer::WriteGateFile(file, out, pth_dtype == "bf16" ? seer::DType::kBF16 : seer::DType::kF32);
  fmt::print("wrote {}: {} layers, {}, block {}, d_gate {}\n", out, config.n_layers,
             config.TypeName(), config.block_size, config.d_gate);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seer: LLM inference with learned block-sparse attention (SeerAttention)"};
  app.require_subcommand(1);
  ModelOptions model_options;

  bool list_tensors = false;
  auto* info = app.add_subcommand("info", "Show a model's architecture, sizes and dtypes");
  model_options.Add(info);
  info->add_flag("--tensors", list_tensors, "List every tensor with its dtype and shape");

  std::string text_file;
  bool bos = false;
  auto* tokenize = app.add_subcommand("tokenize", "Print the token ids of a text file");
  model_options.Add(tokenize);
  tokenize->add_option("--text-file", text_file, "UTF-8 text to tokenize")->required();
  tokenize->add_flag("--bos", bos, "Prepend the BOS token");

  std::string prompt;
  int steps = 256;
  seer::SamplerOptions sampling;
  sampling.seed = static_cast<std::uint64_t>(std::time(nullptr));
  auto* generate = app.add_subcommand("generate", "Continue a prompt");
  model_options.Add(generate);
  generate->add_option("--prompt", prompt, "Text to continue")->required();
  generate
      ->add_option("--steps", steps, "Positions to fill, prompt tokens included (as llama2.c's -n)")
      ->capture_default_str();
  generate->add_option("--temperature", sampling.temperature, "0 = greedy")->capture_default_str();
  generate->add_option("--top-p", sampling.top_p, "Nucleus sampling mass (0 or 1 = off)")
      ->capture_default_str();
  generate->add_option("--seed", sampling.seed, "Random seed (default: the time)");
  SparseOptions sparse_options;
  sparse_options.Add(generate);

  int ctx = 512;
  auto* ppl = app.add_subcommand("ppl", "Perplexity of a text over consecutive windows");
  model_options.Add(ppl);
  ppl->add_option("--text-file", text_file, "UTF-8 text to score")->required();
  ppl->add_option("--ctx", ctx, "Window length in tokens")->capture_default_str();
  sparse_options.Add(ppl);

  std::string gates_out, gate_type = "Qavg_Kmaxminavg", pth_dtype = "f32";
  int gate_block = 64, d_gate = 0;
  std::uint64_t gate_seed = 0;
  auto* init_gates =
      app.add_subcommand("init-gates", "Write randomly initialised gates for a model");
  model_options.Add(init_gates);
  init_gates
      ->add_option("--out", gates_out, "Output: .safetensors, or .pth (+ config.json beside it)")
      ->required();
  init_gates->add_option("--block-size", gate_block, "Gate block size (16, 32, 64, 128)")
      ->capture_default_str();
  init_gates->add_option("--d-gate", d_gate, "Gate hidden size (default: the head dim)");
  init_gates->add_option("--gate-type", gate_type, "Pooling, e.g. Qavg_Kmaxminavg")
      ->capture_default_str();
  init_gates->add_option("--seed", gate_seed, "Random seed")->capture_default_str();
  init_gates->add_option("--pth-dtype", pth_dtype, "Weight dtype in a .pth file")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();

  seer::cli::BenchAttentionOptions bench_options;
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto* bench_attention =
      bench->add_subcommand("attention", "Dense causal flash attention vs the SGEMM rate");
  bench_attention->add_option("--heads", bench_options.heads, "Query heads")->capture_default_str();
  bench_attention->add_option("--kv-heads", bench_options.kv_heads, "KV heads")
      ->capture_default_str();
  bench_attention->add_option("--head-dim", bench_options.head_dim, "Head dimension")
      ->capture_default_str();
  bench_attention->add_option("--seq", bench_options.seq, "Sequence length")->capture_default_str();
  bench_attention->add_option("--block", bench_options.block, "Tile / block size")
      ->capture_default_str();
  bench_attention->add_option("--repeats", bench_options.repeats, "Timed runs (best is kept)")
      ->capture_default_str();
  bench_attention
      ->add_option(
          "--density", bench_options.density,
          "Also time the block-sparse kernel on a random mask of this density, and the gate")
      ->check(CLI::Range(0.0, 1.0));
  bench_attention->add_flag("--json", bench_options.json, "End with one JSON line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return common::RunReportingErrors("seer", [&] {
    if (*info) Info(model_options, list_tensors);
    if (*tokenize) Tokenize(model_options, text_file, bos);
    if (*generate) GenerateText(model_options, sparse_options, prompt, steps, sampling);
    if (*ppl) PerplexityOfFile(model_options, sparse_options, text_file, ctx);
    if (*init_gates) {
      InitGates(model_options, gates_out, gate_block, d_gate, gate_type, gate_seed, pth_dtype);
    }
    if (*bench_attention) seer::cli::BenchAttention(bench_options);
  });
}
