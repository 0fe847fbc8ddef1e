// Builds a Model from a GGUF file: llama-architecture metadata, `blk.N.*` tensors, the vocabulary.
#include <cstring>

#include "common/error.h"
#include "io/loaders.h"
#include "seer/gguf.h"

namespace seer {
namespace {

using common::FormatError;
using common::Throw;

class GgufModelBuilder {
 public:
  GgufModelBuilder(std::shared_ptr<GgufFile> file, Model& model)
      : file_(std::move(file)), model_(model) {}

  // Returns the tensor `name` as an fp32 matrix [rows, cols], converting when it is not F32.
  Matrix Tensor(const std::string& name, int rows, int cols) {
    const GgufTensorInfo* info = file_->FindTensor(name);
    if (info == nullptr) Throw<FormatError>("'{}': tensor '{}' is missing", file_->path(), name);
    const bool is_vector = rows == 1;
    const bool shape_ok =
        is_vector
            ? (info->shape.size() == 1 && info->shape[0] == static_cast<std::uint64_t>(cols))
            : (info->shape.size() == 2 && info->shape[0] == static_cast<std::uint64_t>(cols) &&
               info->shape[1] == static_cast<std::uint64_t>(rows));
    if (!shape_ok) {
      std::string shape;
      for (auto it = info->shape.rbegin(); it != info->shape.rend(); ++it) {
        shape += (shape.empty() ? "" : " x ") + std::to_string(*it);
      }
      Throw<FormatError>("'{}': tensor '{}' has shape [{}], expected [{}{}]", file_->path(), name,
                         shape, is_vector ? "" : std::to_string(rows) + " x ", cols);
    }
    auto bytes = file_->TensorData(*info);
    const float* data = nullptr;
    if (info->dtype == DType::kF32 &&
        reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(float) == 0) {
      data = reinterpret_cast<const float*>(bytes.data());
    } else {
      auto& owned = model_.converted.emplace_back(info->elements);
      DequantizeToF32(info->dtype, bytes.data(), info->elements, owned.data());
      data = owned.data();
    }
    StoredTensor stored{name, info->dtype, {}};
    stored.shape.assign(info->shape.rbegin(), info->shape.rend());
    model_.stored_tensors.push_back(std::move(stored));
    return {data, rows, cols};
  }

  const float* Vector(const std::string& name, int size) { return Tensor(name, 1, size).data; }

 private:
  std::shared_ptr<GgufFile> file_;
  Model& model_;
};

int ToInt(const GgufFile& file, const std::string& key, std::uint64_t value) {
  if (value > (1u << 30))
    Throw<FormatError>("'{}': metadata '{}' = {} is implausibly large", file.path(), key, value);
  return static_cast<int>(value);
}

Vocabulary ReadVocabulary(const GgufFile& file) {
  const std::string& kind = file.GetString("tokenizer.ggml.model");
  if (kind != "llama") {
    Throw<FormatError>(
        "'{}': tokenizer model '{}' is not supported (only SentencePiece BPE, 'llama')",
        file.path(), kind);
  }
  Vocabulary v;
  v.pieces = file.GetStringArray("tokenizer.ggml.tokens");
  const std::size_t n = v.pieces.size();
  static constexpr std::string_view kSpaceMarker =
      "\xe2\x96\x81";  // U+2581, SentencePiece's space.
  for (auto& piece : v.pieces) {
    std::string plain;
    for (std::size_t i = 0; i < piece.size(); ++i) {
      const bool marker = std::string_view(piece).substr(i, kSpaceMarker.size()) == kSpaceMarker;
      plain.push_back(marker ? ' ' : piece[i]);
      if (marker) i += kSpaceMarker.size() - 1;
    }
    piece = std::move(plain);
  }
  if (file.Has("tokenizer.ggml.scores")) {
    for (double s : file.GetFloatArray("tokenizer.ggml.scores"))
      v.scores.push_back(static_cast<float>(s));
  } else {
    v.scores.assign(n, 0.0f);
  }
  if (file.Has("tokenizer.ggml.token_type")) {
    for (std::int64_t t : file.GetIntArray("tokenizer.ggml.token_type")) {
      if (t < 1 || t > 6)
        Throw<FormatError>("'{}': token type {} is not one of 1..6", file.path(), t);
      v.types.push_back(static_cast<TokenType>(t));
    }
  } else {
    v.types.assign(n, TokenType::kNormal);
  }
  if (v.scores.size() != n || v.types.size() != n) {
    Throw<FormatError>("'{}': the tokenizer has {} tokens, {} scores and {} types", file.path(), n,
                       v.scores.size(), v.types.size());
  }
  auto id = [&](const std::string& key, int fallback) {
    if (!file.Has(key)) return fallback;
    const std::uint64_t value = file.GetUint(key);
    if (value >= n)
      Throw<FormatError>("'{}': '{}' = {} is outside the vocabulary of {}", file.path(), key, value,
                         n);
    return static_cast<int>(value);
  };
  v.bos_id = id("tokenizer.ggml.bos_token_id", 1);
  v.eos_id = id("tokenizer.ggml.eos_token_id", 2);
  v.unk_id = id("tokenizer.ggml.unknown_token_id", 0);
  if (file.Has("tokenizer.ggml.add_space_prefix"))
    v.add_space_prefix = file.GetBool("tokenizer.ggml.add_space_prefix");
  return v;
}

}  // namespace

std::unique_ptr<Model> LoadGgufModel(const std::string& path) {
  auto file = std::make_shared<GgufFile>(path);
  auto model = std::make_unique<Model>();
  model->path = path;
  model->format = "gguf";
  model->mapping = file;

  ModelConfig& c = model->config;
  c.architecture = file->GetString("general.architecture");
  if (c.architecture != "llama") {
    Throw<FormatError>("'{}': architecture '{}' is not supported (llama is)", path, c.architecture);
  }
  if (file->Has("general.name")) c.name = file->GetString("general.name");
  const std::string p = c.architecture + ".";
  auto get_int = [&](const std::string& key) { return ToInt(*file, key, file->GetUint(key)); };
  c.dim = get_int(p + "embedding_length");
  c.hidden_dim = get_int(p + "feed_forward_length");
  c.n_layers = get_int(p + "block_count");
  c.n_heads = get_int(p + "attention.head_count");
  c.n_kv_heads =
      file->Has(p + "attention.head_count_kv") ? get_int(p + "attention.head_count_kv") : c.n_heads;
  c.context_length = get_int(p + "context_length");
  if (c.n_heads <= 0) Throw<FormatError>("'{}': attention.head_count must be positive", path);
  c.head_dim = file->Has(p + "attention.key_length") ? get_int(p + "attention.key_length")
                                                     : c.dim / c.n_heads;
  if (file->Has(p + "rope.dimension_count") && get_int(p + "rope.dimension_count") != c.head_dim) {
    Throw<FormatError>(
        "'{}': partial rotary embeddings (rope.dimension_count {} < head_dim {}) are not supported",
        path, get_int(p + "rope.dimension_count"), c.head_dim);
  }
  c.rms_eps = static_cast<float>(file->GetFloat(p + "attention.layer_norm_rms_epsilon"));
  if (file->Has(p + "rope.freq_base"))
    c.rope_theta = static_cast<float>(file->GetFloat(p + "rope.freq_base"));
  model->vocab = ReadVocabulary(*file);
  c.vocab_size = static_cast<int>(model->vocab.pieces.size());
  ValidateConfig(*model);  // Dimensions must be sane before any tensor shape is derived from them.

  GgufModelBuilder b(file, *model);
  const int q_dim = c.n_heads * c.head_dim;
  const int kv_dim = c.n_kv_heads * c.head_dim;
  model->token_embedding = b.Tensor("token_embd.weight", c.vocab_size, c.dim);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    LayerWeights w;
    w.attn_norm = b.Vector(blk + "attn_norm.weight", c.dim);
    w.wq = b.Tensor(blk + "attn_q.weight", q_dim, c.dim);
    w.wk = b.Tensor(blk + "attn_k.weight", kv_dim, c.dim);
    w.wv = b.Tensor(blk + "attn_v.weight", kv_dim, c.dim);
    w.wo = b.Tensor(blk + "attn_output.weight", c.dim, q_dim);
    w.ffn_norm = b.Vector(blk + "ffn_norm.weight", c.dim);
    w.w_gate = b.Tensor(blk + "ffn_gate.weight", c.hidden_dim, c.dim);
    w.w_up = b.Tensor(blk + "ffn_up.weight", c.hidden_dim, c.dim);
    w.w_down = b.Tensor(blk + "ffn_down.weight", c.dim, c.hidden_dim);
    model->layers.push_back(w);
  }
  model->final_norm = b.Vector("output_norm.weight", c.dim);
  c.tied_output = file->FindTensor("output.weight") == nullptr;
  model->output =
      c.tied_output ? model->token_embedding : b.Tensor("output.weight", c.vocab_size, c.dim);
  return model;
}

}  // namespace seer
