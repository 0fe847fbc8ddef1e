// Builds a Model from a llama2.c checkpoint (`run.c` format, version 0) and its tokenizer file.
//
// Checkpoint: 7 x i32 header {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}
// (a negative vocab_size means a separate classifier), then fp32 arrays: token embedding
// [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim], wv [L, kv_dim, dim],
// wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim], w2 [L, dim, hidden], w3 [L, hidden,
// dim], rms_final [dim], two unused RoPE tables [seq_len, head_dim / 2], and the classifier when
// separate. Tokenizer: i32 max_token_length, then per token {f32 score, i32 length, bytes}.
#include <cstdlib>

#include "common/error.h"
#include "common/mapped_file.h"
#include "io/byte_reader.h"
#include "io/loaders.h"

namespace seer {
namespace {

using common::FormatError;
using common::Throw;

Vocabulary ReadLlama2cTokenizer(const std::string& path, int vocab_size) {
  auto file = std::make_shared<common::MappedFile>(path);
  ByteReader in(file->bytes(), path);
  const auto max_length = in.Read<std::int32_t>("the max token length");
  if (max_length <= 0 || max_length > 4096)
    in.Fail(fmt::format("max token length {} is implausible", max_length));
  Vocabulary v;
  for (int id = 0; id < vocab_size; ++id) {
    const float score = in.Read<float>("a token score");
    const auto length = in.Read<std::int32_t>("a token length");
    if (length < 0 || length > max_length) {
      in.Fail(fmt::format("token {} has length {} (max {})", id, length, max_length));
    }
    auto bytes = in.ReadBytes(static_cast<std::size_t>(length), "a token piece");
    std::string piece(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    // llama2.c files carry no token types: <unk> at 0, BOS/EOS at 1/2, <0xXX> byte pieces.
    TokenType type = TokenType::kNormal;
    if (id == 0)
      type = TokenType::kUnknown;
    else if (id == 1 || id == 2)
      type = TokenType::kControl;
    else if (piece.size() == 6 && piece.starts_with("<0x") && piece.back() == '>')
      type = TokenType::kByte;
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  return v;
}

}  // namespace

std::unique_ptr<Model> LoadLlama2cModel(const std::string& path,
                                        const std::string& tokenizer_path) {
  auto file = std::make_shared<common::MappedFile>(path);
  ByteReader in(file->bytes(), path);
  std::int32_t header[7];
  for (auto& h : header) h = in.Read<std::int32_t>("the llama2.c header");
  auto model = std::make_unique<Model>();
  model->path = path;
  model->format = "llama2.c";
  model->mapping = file;
  ModelConfig& c = model->config;
  c.architecture = "llama";
  c.dim = header[0];
  c.hidden_dim = header[1];
  c.n_layers = header[2];
  c.n_heads = header[3];
  c.n_kv_heads = header[4];
  c.tied_output = header[5] > 0;
  c.vocab_size = std::abs(header[5]);
  c.context_length = header[6];
  for (int h : header) {
    if (h == 0 || std::abs(static_cast<long>(h)) > (1 << 20)) {
      in.Fail(
          "not a llama2.c checkpoint (nor a GGUF file): the header holds an implausible dimension");
    }
  }
  if (c.dim < 0 || c.hidden_dim < 0 || c.n_layers < 0 || c.n_heads < 0 || c.n_kv_heads < 0 ||
      c.context_length < 0 || c.dim % c.n_heads != 0) {
    in.Fail(
        "not a llama2.c checkpoint: the header's dimensions are negative or dim is not a multiple "
        "of heads");
  }
  c.head_dim = c.dim / c.n_heads;
  if (tokenizer_path.empty()) {
    Throw<common::InvalidArgument>(
        "'{}' is a llama2.c checkpoint: give its tokenizer file with --tokenizer", path);
  }
  model->vocab = ReadLlama2cTokenizer(tokenizer_path, c.vocab_size);
  model->layers.resize(static_cast<std::size_t>(c.n_layers));
  ValidateConfig(*model);

  const std::uint64_t kv_dim = static_cast<std::uint64_t>(c.n_kv_heads) * c.head_dim;
  const std::uint64_t dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers, vocab = c.vocab_size;
  const std::uint64_t floats =
      vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kv_dim * dim + 3 * hidden * dim) + dim +
      static_cast<std::uint64_t>(c.context_length) * c.head_dim + (c.tied_output ? 0 : vocab * dim);
  if (in.remaining() != floats * sizeof(float)) {
    in.Fail(
        fmt::format("the header implies {} bytes of weights but the file holds {}; the file is "
                    "truncated or not a llama2.c checkpoint",
                    floats * sizeof(float), in.remaining()));
  }
  const float* base = reinterpret_cast<const float*>(file->bytes().data() + in.offset());
  std::uint64_t at = 0;
  auto take = [&](const std::string& name, std::uint64_t rows, std::uint64_t cols) {
    const float* p = base + at;
    at += rows * cols;
    StoredTensor stored{name, DType::kF32, {}};
    stored.shape =
        rows == 1 ? std::vector<std::uint64_t>{cols} : std::vector<std::uint64_t>{rows, cols};
    model->stored_tensors.push_back(std::move(stored));
    return p;
  };
  auto matrix = [&](const std::string& name, std::uint64_t rows, std::uint64_t cols) {
    return Matrix{take(name, rows, cols), static_cast<int>(rows), static_cast<int>(cols)};
  };
  model->token_embedding = matrix("token_embedding", vocab, dim);
  // Each kind of tensor is stored for all layers together.
  auto per_layer = [&](const char* name, std::uint64_t rows, std::uint64_t cols, auto assign) {
    for (std::uint64_t l = 0; l < layers; ++l) {
      assign(model->layers[l], matrix(fmt::format("layers.{}.{}", l, name), rows, cols));
    }
  };
  const std::uint64_t q_dim = dim;
  per_layer("rms_att", 1, dim, [](LayerWeights& w, Matrix m) { w.attn_norm = m.data; });
  per_layer("wq", q_dim, dim, [](LayerWeights& w, Matrix m) { w.wq = m; });
  per_layer("wk", kv_dim, dim, [](LayerWeights& w, Matrix m) { w.wk = m; });
  per_layer("wv", kv_dim, dim, [](LayerWeights& w, Matrix m) { w.wv = m; });
  per_layer("wo", dim, q_dim, [](LayerWeights& w, Matrix m) { w.wo = m; });
  per_layer("rms_ffn", 1, dim, [](LayerWeights& w, Matrix m) { w.ffn_norm = m.data; });
  per_layer("w1", hidden, dim, [](LayerWeights& w, Matrix m) { w.w_gate = m; });
  per_layer("w2", dim, hidden, [](LayerWeights& w, Matrix m) { w.w_down = m; });
  per_layer("w3", hidden, dim, [](LayerWeights& w, Matrix m) { w.w_up = m; });
  model->final_norm = take("rms_final", 1, dim);
  at += static_cast<std::uint64_t>(c.context_length) * c.head_dim;  // Unused RoPE tables.
  model->output = c.tied_output ? model->token_embedding : matrix("classifier", vocab, dim);
  return model;
}

}  // namespace seer
