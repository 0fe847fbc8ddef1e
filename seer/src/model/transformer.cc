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
    const bool prefill = start_pos == 0 && n > 1;
    std::optional<BlockScores> gate_scores;
    if (prefill && sparse_ && sparse_->source == SparsePrefill::Source::kGate) {
      gate_scores = GateForward(sparse_->gates->config, sparse_->gates->layers[l], q_.data(), q_dim,
                                k_new, kv_dim, n);
    }
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
    if (prefill && sparse_) {
      FlashAttention(problem, SparseMask(l, std::move(gate_scores), n));
    } else if (prefill) {
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

void Transformer::SetSparsePrefill(std::optional<SparsePrefill> sparse) {
  const ModelConfig& c = model_.config;
  if (sparse && sparse->source == SparsePrefill::Source::kGate) {
    if (sparse->gates == nullptr)
      common::Throw<common::InvalidArgument>("sparse prefill from a gate needs gates");
    sparse->gates->config.CheckMatches(c);
    sparse->gates->Validate();
  }
  sparse_ = std::move(sparse);
  if (!sparse_) {
    density_ = {};
    return;
  }
  density_ = {c.n_layers, c.n_heads,
              std::vector<double>(static_cast<std::size_t>(c.n_layers) * c.n_heads),
              std::vector<double>(static_cast<std::size_t>(c.n_layers) * c.n_heads)};
}

BlockMask Transformer::SparseMask(int layer, std::optional<BlockScores> gate_scores, int n) {
  const ModelConfig& c = model_.config;
  const int q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  const float* k = key_cache_.data() + static_cast<std::size_t>(layer) * max_tokens_ * kv_dim;
  int block = sparse_->block_size;
  BlockScores scores;
  switch (sparse_->source) {
    case SparsePrefill::Source::kGate:
      block = sparse_->gates->config.block_size;
      scores = std::move(*gate_scores);
      break;
    case SparsePrefill::Source::kOracle:
      scores =
          OracleScores(q_.data(), q_dim, k, kv_dim, n, c.n_heads, c.n_kv_heads, c.head_dim, block);
      break;
    case SparsePrefill::Source::kMeanPool:
      scores = MeanPoolScores(q_.data(), q_dim, k, kv_dim, n, c.n_heads, c.n_kv_heads, c.head_dim,
                              block);
      break;
    case SparsePrefill::Source::kWindow:
      scores = WindowScores(c.n_heads, n, block);
      break;
  }
  BlockMask mask = SelectBlocks(scores, n, block, sparse_->selection);
  const int nb = mask.num_blocks();
  for (int h = 0; h < c.n_heads; ++h) {
    const std::size_t at = static_cast<std::size_t>(layer) * c.n_heads + h;
    density_.listed[at] += mask.row_ptr[(h + 1) * nb] - mask.row_ptr[h * nb];
    density_.causal[at] += static_cast<double>(nb) * (nb + 1) / 2;
  }
  return mask;
}

double DensityStats::Overall() const {
  double listed_sum = 0, causal_sum = 0;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    listed_sum += listed[i];
    causal_sum += causal[i];
  }
  return causal_sum > 0 ? listed_sum / causal_sum : 1.0;
}

double DensityStats::Layer(int layer) const {
  double listed_sum = 0, causal_sum = 0;
  for (int h = 0; h < heads; ++h) {
    listed_sum += listed[static_cast<std::size_t>(layer) * heads + h];
    causal_sum += causal[static_cast<std::size_t>(layer) * heads + h];
  }
  return causal_sum > 0 ? listed_sum / causal_sum : 1.0;
}

double DensityStats::At(int layer, int head) const {
  const std::size_t at = static_cast<std::size_t>(layer) * heads + head;
  return causal[at] > 0 ? listed[at] / causal[at] : 1.0;
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
