// `seer bench attention`: times the dense causal flash kernel against the machine's SGEMM rate.
#pragma once

namespace seer::cli {

struct BenchAttentionOptions {
  int heads = 32;
  int kv_heads = 8;
  int head_dim = 128;
  int seq = 4096;
  int block = 64;
  int repeats = 3;
  bool json = false;
};

void BenchAttention(const BenchAttentionOptions& options);

}  // namespace seer::cli
