// Causal multi-head attention with grouped KV heads, on fp32 row-major activations.
#pragma once

#include <cstddef>

#include "seer/block_mask.h"

namespace seer {

// Query head h reads KV head h / (q_heads / kv_heads). Rows are tokens; strides are in floats.
struct AttentionProblem {
  const float* q = nullptr;  // [num_queries, q_heads * head_dim], row stride q_stride
  std::size_t q_stride = 0;
  const float* k = nullptr;  // [num_keys, kv_heads * head_dim], row stride kv_stride
  const float* v = nullptr;
  std::size_t kv_stride = 0;
  float* out = nullptr;  // [num_queries, q_heads * head_dim], row stride out_stride
  std::size_t out_stride = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
};

// Prefill attention over tokens 0..num_tokens-1 (queries and keys share positions): a tiled flash
// kernel with an online softmax and fp32 accumulation that visits, for each (head, query block),
// only the key blocks the mask lists, and masks elements causally on the diagonal block. It never
// forms the N x N matrix. Multi-threaded (OpenMP) over rows, heaviest rows first.
// `mask.num_heads` must equal q_heads and `mask.num_tokens` the token count.
void FlashAttention(const AttentionProblem& problem, const BlockMask& mask);

// Attention of `num_queries` query rows at positions first_pos, first_pos+1, ... to keys
// 0..first_pos+row (the decode path: one or a few new tokens against a KV cache).
void CachedAttention(const AttentionProblem& problem, int num_queries, int first_pos);

}  // namespace seer
