// From block scores to a BlockMask: the selection rules of SeerAttention and the parameter-free
// baselines that a learned gate has to beat at equal density.
#pragma once

#include <cstdint>

#include "seer/block_mask.h"
#include "seer/gate.h"

namespace seer {

struct SelectionOptions {
  enum class Method {
    kThreshold,      // Keep blocks whose softmax probability exceeds `threshold`.
    kDensity,        // Per row keep the top k = max(1, int((1 - sqrt(1 - density)) * nb)) scores.
    kTargetDensity,  // Keep the highest-probability blocks over the whole causal map, exactly
                     // round(density * causal blocks) of them (forced blocks counted).
  };
  Method method = Method::kDensity;
  float threshold = 2e-3f;
  float density = 1.0f;
  bool keep_first_block = false;  // Always keep key block 0 (the attention sink).
  int dense_last_rows = 0;        // Keep the last n query-block rows dense.
};

// Selects blocks from `scores` (the diagonal block is always kept). `scores` is turned into
// probabilities in place when the method needs them.
BlockMask SelectBlocks(BlockScores& scores, int num_tokens, int block_size,
                       const SelectionOptions& options);

// Baseline: mean-pooled Q . mean-pooled K / sqrt(D) (MoBA-like), on the post-RoPE Q and K.
BlockScores MeanPoolScores(const float* q, std::size_t q_stride, const float* k,
                           std::size_t k_stride, int num_tokens, int q_heads, int kv_heads,
                           int head_dim, int block_size);

// Baseline: recency (StreamingLLM-like). Scores rank nearer key blocks higher; use it with
// keep_first_block for a local window plus the sink.
BlockScores WindowScores(int heads, int num_tokens, int block_size);

// Oracle: the true attention mass of each block, averaged over the rows of the query block,
// from post-RoPE Q and K. An upper bound for any gate at the same density.
BlockScores OracleScores(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride,
                         int num_tokens, int q_heads, int kv_heads, int head_dim, int block_size);

// Random scores (uniform, seeded): with kTargetDensity they give a random mask of an exact density.
BlockScores RandomScores(int heads, int num_tokens, int block_size, std::uint64_t seed);

}  // namespace seer
