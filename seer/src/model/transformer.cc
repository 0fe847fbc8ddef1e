#include "seer/transformer.h"

#include "common/error.h"
#include "ops/ops.h"
#include "seer/attention.h"

namespace seer {

namespace {
constexpr int kPrefillBlock = 64;
}

Transformer::Transformer(const Model& model, int max_tokens)
    : model_(model), max_tokens_(max_tokens > 0 ? max_tokens : model.config.context_length) {
  const ModelConfig& c = model_.config;
  const std::size_t cache =
      static_cast<std::size_t>(c.n_layers) * max_tokens_ * c.n_kv_heads * c.head_dim;
  key_cache_.resize(cache);
  value_cache_.resize(cache);
}

std::span<const float> Transformer::Forward(std::span<const int> tokens, int start_pos) {
  const ModelConfig& c = model_.config;
  const int n = static_cast<int>(tokens.size());
  if (n == 0) common::Throw<common::InvalidArgument>("forward pass: no tokens");
  if (start_pos < 0 || start_pos + n > max_tokens_) {
    common::Throw<common::InvalidArgument>(
        "forward pass: positions {}..{} do not fit the context of {} tokens", start_pos,
        start_pos + n - 1, max_tokens_);
  }
  const int q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  const std::size_t rows = static_cast<std::size_t>(n);
  x_.resize(rows * c.dim);
  xb_.resize(rows * std::max(c.dim, q_dim));
  q_.resize(rows * q_dim);
  att_.resize(rows * q_dim);
  gate_.resize(rows * c.hidden_dim);
  up_.resize(rows * c.hidden_dim);

  for (int t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      common::Throw<common::InvalidArgument>("token id {} is outside the vocabulary of {}",
                                             tokens[t], c.vocab_size);
    }
    const float* row = model_.token_embedding.data + static_cast<std::size_t>(tokens[t]) * c.dim;
    std::copy(row, row + c.dim, x_.begin() + t * c.dim);
  }

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model_.layers[l];
    const std::size_t layer_offset = static_cast<std::size_t>(l) * max_tokens_ * kv_dim;
    float* k_cache = key_cache_.data() + layer_offset;
    float* v_cache = value_cache_.data() + layer_offset;
    float* k_new = k_cache + static_cast<std::size_t>(start_pos) * kv_dim;
    float* v_new = v_cache + static_cast<std::size_t>(start_pos) * kv_dim;

    ops::RmsNorm(x_.data(), w.attn_norm, xb_.data(), n, c.dim, c.rms_eps);
    ops::Linear(xb_.data(), w.wq, q_.data(), n);
    ops::Linear(xb_.data(), w.wk, k_new, n);
    ops::Linear(xb_.data(), w.wv, v_new, n);
    ops::Rope(q_.data(), n, c.n_heads, c.head_dim, start_pos, c.rope_theta);
    ops::Rope(k_new, n, c.n_kv_heads, c.head_dim, start_pos, c.rope_theta);

    AttentionProblem problem{q_.data(),
                             static_cast<std::size_t>(q_dim),
                             k_cache,
                             v_cache,
                             static_cast<std::size_t>(kv_dim),
                             att_.data(),
                             static_cast<std::size_t>(q_dim),
                             c.n_heads,
                             c.n_kv_heads,
                             c.head_dim};
    if (start_pos == 0 && n > 1) {
      FlashAttention(problem, BlockMask::DenseCausal(c.n_heads, n, kPrefillBlock));
    } else {
      CachedAttention(problem, n, start_pos);
    }
    ops::Linear(att_.data(), w.wo, xb_.data(), n);
    for (std::size_t i = 0; i < rows * c.dim; ++i) x_[i] += xb_[i];

    ops::RmsNorm(x_.data(), w.ffn_norm, xb_.data(), n, c.dim, c.rms_eps);
    ops::Linear(xb_.data(), w.w_gate, gate_.data(), n);
    ops::Linear(xb_.data(), w.w_up, up_.data(), n);
    ops::SwiGlu(gate_.data(), up_.data(), static_cast<long>(rows) * c.hidden_dim);
    ops::Linear(gate_.data(), w.w_down, xb_.data(), n);
    for (std::size_t i = 0; i < rows * c.dim; ++i) x_[i] += xb_[i];
  }
  ops::RmsNorm(x_.data(), model_.final_norm, x_.data(), n, c.dim, c.rms_eps);
  return {x_.data(), rows * c.dim};
}

void Transformer::Logits(const float* hidden, int rows, float* out) const {
  ops::Linear(hidden, model_.output, out, rows);
}

std::span<const float> Transformer::NextLogits(std::span<const int> tokens, int start_pos) {
  auto hidden = Forward(tokens, start_pos);
  const int dim = model_.config.dim;
  last_logits_.resize(static_cast<std::size_t>(model_.config.vocab_size));
  Logits(hidden.data() + hidden.size() - dim, 1, last_logits_.data());
  return last_logits_;
}

}  // namespace seer
