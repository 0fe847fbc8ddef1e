// The forward pass of a Llama-style decoder with a KV cache:
//   x -> RMSNorm -> Q,K,V -> RoPE -> causal attention -> O -> +x -> RMSNorm -> SwiGLU -> +x
// A batch of tokens starting at position 0 (prefill) uses the flash kernel; tokens after a
// cached prefix (decode) attend to the cache row by row.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "seer/block_selection.h"
#include "seer/gate.h"
#include "seer/model.h"

namespace seer {

// How a prefill chooses its attention blocks (without one, prefill is dense).
struct SparsePrefill {
  enum class Source {
    kGate,      // The learned AttnGate, on pre-RoPE Q and K.
    kOracle,    // The true block attention mass (an upper bound).
    kMeanPool,  // Mean-pooled Q . mean-pooled K (baseline).
    kWindow,    // The most recent blocks (baseline; add keep_first_block for a sink).
  };
  Source source = Source::kGate;
  const Gates* gates = nullptr;  // For kGate; must outlive the Transformer's use of it.
  SelectionOptions selection;
  int block_size = 64;  // For the other sources; a gate uses its own.
};

// Blocks listed and causal blocks per (layer, head), summed over the sparse prefills run.
struct DensityStats {
  int layers = 0;
  int heads = 0;
  std::vector<double> listed;  // [layers, heads]
  std::vector<double> causal;  // [layers, heads]

  double Overall() const;
  double Layer(int layer) const;
  double At(int layer, int head) const;
};

class Transformer {
 public:
  // Allocates a KV cache for `max_tokens` positions (the model's context length when 0).
  Transformer(const Model& model, int max_tokens = 0);

  const Model& model() const { return model_; }
  int max_tokens() const { return max_tokens_; }

  // Runs `tokens` at positions start_pos, start_pos + 1, ... through every layer, writing their
  // keys and values into the cache, and returns the final-normalised hidden states [n, dim].
  // Positions before start_pos must already be in the cache.
  std::span<const float> Forward(std::span<const int> tokens, int start_pos);

  // Writes logits [rows, vocab] for `rows` final hidden states.
  void Logits(const float* hidden, int rows, float* out) const;

  // Forward() + Logits() of the last token: returns [vocab].
  std::span<const float> NextLogits(std::span<const int> tokens, int start_pos);

  // Makes prefills (a batch at position 0) block-sparse as `sparse` says; nullopt for dense.
  // Throws InvalidArgument when the gates do not fit the model.
  void SetSparsePrefill(std::optional<SparsePrefill> sparse);
  const DensityStats& density() const { return density_; }

 private:
  // Scores one layer's blocks by the configured source and selects them (post-RoPE Q in q_,
  // keys in the cache), recording the density.
  BlockMask SparseMask(int layer, std::optional<BlockScores> gate_scores, int n);

  const Model& model_;
  int max_tokens_;
  std::optional<SparsePrefill> sparse_;
  DensityStats density_;
  std::vector<float> key_cache_;    // [layers, max_tokens, kv_heads * head_dim]
  std::vector<float> value_cache_;  // [layers, max_tokens, kv_heads * head_dim]
  // Activations for the current batch, reused across calls.
  std::vector<float> x_, xb_, q_, att_, gate_, up_, last_logits_;
};

}  // namespace seer
