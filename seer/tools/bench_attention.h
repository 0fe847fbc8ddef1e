// `seer bench attention`: times the dense causal flash kernel against the machine's SGEMM rate and,
// with a density, the block-sparse kernel on a random mask of that density and the gate's own cost.
#pragma once

#include <optional>

namespace seer::cli {

struct BenchAttentionOptions {
  int heads = 32;
  int kv_heads = 8;
  int head_dim = 128;
  int seq = 4096;
  int block = 64;
  int repeats = 3;
  std::optional<double> density;  // Also time the block-sparse kernel and the gate.
  bool json = false;
};

void BenchAttention(const BenchAttentionOptions& options);

}  // namespace seer::cli
