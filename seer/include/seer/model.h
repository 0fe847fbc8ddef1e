// A decoder-only LLM as plain structs: configuration, a tokenizer vocabulary and fp32 weight views.
// One loader per file format fills the same `Model`; everything above this header is format-blind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seer/dtype.h"
#include "seer/tokenizer.h"

namespace seer {

struct ModelConfig {
  std::string architecture;  // "llama" (Llama, Mistral-style GQA models).
  std::string name;
  int dim = 0;         // Hidden size.
  int hidden_dim = 0;  // FFN size.
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int context_length = 0;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool tied_output = false;  // The LM head is the token embedding matrix.
};

// A non-owning row-major fp32 matrix [rows, cols]; for a linear layer rows = out, cols = in.
struct Matrix {
  const float* data = nullptr;
  int rows = 0;
  int cols = 0;
};

struct LayerWeights {
  const float* attn_norm = nullptr;  // [dim]
  Matrix wq;                         // [n_heads * head_dim, dim]
  Matrix wk;                         // [n_kv_heads * head_dim, dim]
  Matrix wv;                         // [n_kv_heads * head_dim, dim]
  Matrix wo;                         // [dim, n_heads * head_dim]
  const float* ffn_norm = nullptr;   // [dim]
  Matrix w_gate;                     // [hidden_dim, dim]
  Matrix w_up;                       // [hidden_dim, dim]
  Matrix w_down;                     // [dim, hidden_dim]
};

// A tensor as stored in the model file, for reporting.
struct StoredTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::uint64_t> shape;  // Outermost first, as in PyTorch.
};

struct Model {
  std::string path;
  std::string format;  // "gguf" or "llama2.c".
  ModelConfig config;
  Vocabulary vocab;
  Matrix token_embedding;  // [vocab_size, dim]
  std::vector<LayerWeights> layers;
  const float* final_norm = nullptr;  // [dim]
  Matrix output;                      // [vocab_size, dim]
  std::vector<StoredTensor> stored_tensors;

  // Owners of the memory the views point into: the file mapping and fp32 copies of converted
  // tensors.
  std::shared_ptr<const void> mapping;
  std::vector<std::vector<float>> converted;
};

// Loads a GGUF file or a llama2.c checkpoint (chosen by the file's magic). A llama2.c checkpoint
// needs `tokenizer_path` (its tokenizer .bin); GGUF files carry their tokenizer and ignore it.
std::unique_ptr<Model> LoadModel(const std::string& path, const std::string& tokenizer_path = "");

// Checks that every dimension is positive and consistent; throws FormatError naming `model.path`.
void ValidateConfig(const Model& model);

}  // namespace seer
