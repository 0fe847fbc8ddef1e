// Chooses the loader by file magic and checks the configuration every loader produces.
#include "common/error.h"
#include "io/loaders.h"
#include "seer/gguf.h"
#include "seer/model.h"

namespace seer {

std::unique_ptr<Model> LoadModel(const std::string& path, const std::string& tokenizer_path) {
  std::unique_ptr<Model> model =
      IsGgufFile(path) ? LoadGgufModel(path) : LoadLlama2cModel(path, tokenizer_path);
  ValidateConfig(*model);
  if (static_cast<int>(model->layers.size()) != model->config.n_layers) {
    common::Throw<common::FormatError>("'{}': {} layers were loaded but the model has {}", path,
                                       model->layers.size(), model->config.n_layers);
  }
  return model;
}

void ValidateConfig(const Model& model) {
  const ModelConfig& c = model.config;
  auto fail = [&](std::string_view problem) {
    common::Throw<common::FormatError>("'{}': {}", model.path, problem);
  };
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.vocab_size <= 0 || c.head_dim <= 0 || c.context_length <= 0) {
    fail(
        fmt::format("model dimensions must be positive (dim {}, hidden {}, layers {}, heads {}, kv "
                    "heads {}, head_dim {}, vocab {}, context {})",
                    c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim,
                    c.vocab_size, c.context_length));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    fail(fmt::format("{} query heads are not a multiple of {} KV heads", c.n_heads, c.n_kv_heads));
  }
  if (c.head_dim % 2 != 0 || c.head_dim > 256) {
    fail(fmt::format("head_dim {} must be even and at most 256", c.head_dim));
  }
  if (!(c.rms_eps > 0.0f) || !(c.rope_theta > 0.0f))
    fail("rms epsilon and rope theta must be positive");
  if (static_cast<int>(model.vocab.pieces.size()) != c.vocab_size) {
    fail(fmt::format("the tokenizer has {} pieces but the model has {} token embeddings",
                     model.vocab.pieces.size(), c.vocab_size));
  }
}

}  // namespace seer
