// Shared between the flash kernel's per-target code and its dispatching entry point.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "seer/attention.h"

namespace seer {

// What every work item of one FlashAttention call reads.
struct FlashPlan {
  const AttentionProblem* problem;
  const BlockMask* mask;
  const float* k_packed;  // [kv_heads][num_blocks][head_dim][block_size]
  const float* v_packed;  // [kv_heads][num_blocks][block_size][head_dim]
  float scale;            // 1 / sqrt(head_dim)
};

// One thread's buffers, reused across its work items.
struct FlashScratch {
  float* q;  // [block, head_dim]
  float* s;  // [block, block]
  float* o;  // [block, head_dim]
  float* m;  // [block] running row max
  float* l;  // [block] running row sum
};

}  // namespace seer
