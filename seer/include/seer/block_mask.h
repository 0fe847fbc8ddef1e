// Which key blocks each (query head, query block) row attends to: a CSR layout over rows
// `head * num_blocks + query_block` with sorted key-block indices (FlashInfer's BSR layout).
// Whatever chooses blocks (dense causal, a learned gate, a baseline) produces one; every attention
// kernel consumes it.
#pragma once

#include <cstdint>
#include <vector>

namespace seer {

struct BlockMask {
  int block_size = 64;
  int num_heads = 0;
  int num_tokens = 0;
  std::vector<std::int32_t> row_ptr;  // [num_heads * num_blocks() + 1]
  std::vector<std::int32_t> col_idx;  // Key blocks of each row, ascending, each <= the query block.

  int num_blocks() const { return (num_tokens + block_size - 1) / block_size; }

  // Returns the mask that lists every causal block (key block <= query block).
  static BlockMask DenseCausal(int num_heads, int num_tokens, int block_size);

  // Returns listed blocks / causal blocks over all heads (1 for a dense causal mask).
  double Density() const;

  // Throws common::InvalidArgument when the layout is inconsistent (sizes, order, causality).
  void Validate() const;
};

}  // namespace seer
