// The forward pass of a Llama-style decoder with a KV cache:
//   x -> RMSNorm -> Q,K,V -> RoPE -> causal attention -> O -> +x -> RMSNorm -> SwiGLU -> +x
// A batch of tokens starting at position 0 (prefill) uses the flash kernel; tokens after a
// cached prefix (decode) attend to the cache row by row.
#pragma once

#include <span>
#include <vector>

#include "seer/model.h"

namespace seer {

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

 private:
  const Model& model_;
  int max_tokens_;
  std::vector<float> key_cache_;    // [layers, max_tokens, kv_heads * head_dim]
  std::vector<float> value_cache_;  // [layers, max_tokens, kv_heads * head_dim]
  // Activations for the current batch, reused across calls.
  std::vector<float> x_, xb_, q_, att_, gate_, up_, last_logits_;
};

}  // namespace seer
