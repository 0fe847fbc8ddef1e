// AttnGate: a small learned network per attention layer that scores 64-token blocks of the
// attention map from pooled, pre-RoPE queries and keys (SeerAttention, as in the reference
// implementation's `AttnGate`).
//
//   Qp[h, i]  = concat(pool over block i of Q[h])          [Hq, nb, |q_pool| * D]
//   Kp[g, j]  = concat(max, min, avg over block j of K[g]) [Hkv, nb, |k_pool| * D]
//   q[h, i]   = Qp[h, i] . Wq[h]   (or Qp itself when there is no Q linear)   [d_gate]
//   k[h, j]   = Kp[g(h), j] . Wk[h]                                           [d_gate]
//   RoPE(q[h, i], i * B), RoPE(k[h, j], j * B)  with the model's rope settings
//   S[h, i, j] = q . k / sqrt(d_gate) for j <= i; softmax over j (threshold selection only)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "seer/model.h"

namespace seer {

enum class Pooling { kMax, kMin, kAvg };

struct GateConfig {
  int block_size = 64;
  int d_gate = 0;  // The reference's `seerattn_gate_hidden_size`.
  std::vector<Pooling> q_pooling = {Pooling::kAvg};
  std::vector<Pooling> k_pooling = {Pooling::kMax, Pooling::kMin, Pooling::kAvg};
  bool force_double = false;  // Use a Q linear even when it is not needed.
  // The model the gates belong to.
  std::string model_name;
  int n_layers = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  float rope_theta = 10000.0f;

  // Returns the default gate for `model`: block 64, d_gate = head_dim, Qavg_Kmaxminavg.
  static GateConfig ForModel(const ModelConfig& model, int block_size = 64);

  // The reference's rule: a Q linear exists when Q has several poolings, d_gate differs from the
  // head dim, or force_double is set; then the K linear has one head per KV head, else one per
  // query head (K repeated to the query heads first).
  bool HasQLinear() const;
  int KLinearHeads() const { return HasQLinear() ? kv_heads : q_heads; }
  int QInputs() const { return static_cast<int>(q_pooling.size()) * head_dim; }
  int KInputs() const { return static_cast<int>(k_pooling.size()) * head_dim; }

  // "Qavg_Kmaxminavg" and back; parsing throws InvalidArgument on an unknown name.
  std::string TypeName() const;
  void SetType(const std::string& type_name);

  // Throws InvalidArgument when the configuration is unusable.
  void Validate() const;
  // Throws InvalidArgument naming both when the gates do not fit `model`.
  void CheckMatches(const ModelConfig& model) const;
};

// One layer's weights, laid out as the reference's MultiHeadLinear: [heads, inputs, d_gate].
struct LayerGate {
  std::vector<float> wk;  // [KLinearHeads, KInputs, d_gate]
  std::vector<float> wq;  // [q_heads, QInputs, d_gate], empty without a Q linear.
};

struct Gates {
  GateConfig config;
  std::vector<LayerGate> layers;

  // Throws FormatError when a layer's weights do not have the configured sizes.
  void Validate() const;
};

// Returns gates with weights drawn from N(0, 1/inputs) (seeded), for training to start from.
Gates RandomGates(const GateConfig& config, std::uint64_t seed);

// Block scores of one layer: [heads, nb, nb], only j <= i meaningful (others are -inf).
struct BlockScores {
  int heads = 0;
  int num_blocks = 0;
  std::vector<float> values;
  bool probabilities = false;  // Rows already sum to 1 (softmax applied, or an oracle mass).

  float* Row(int head, int i) {
    return values.data() + (static_cast<std::size_t>(head) * num_blocks + i) * num_blocks;
  }
  const float* Row(int head, int i) const {
    return values.data() + (static_cast<std::size_t>(head) * num_blocks + i) * num_blocks;
  }
};

// Runs one layer's gate on pre-RoPE Q [n, q_heads * D] and K [n, kv_heads * D] (row strides in
// floats) and returns the raw block logits S.
BlockScores GateForward(const GateConfig& config, const LayerGate& gate, const float* q,
                        std::size_t q_stride, const float* k, std::size_t k_stride, int num_tokens);

// Applies a causal softmax over key blocks to every row (logits -> probabilities).
void SoftmaxRows(BlockScores& scores);

}  // namespace seer
