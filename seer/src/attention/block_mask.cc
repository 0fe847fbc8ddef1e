#include "seer/block_mask.h"

#include "common/error.h"

namespace seer {

BlockMask BlockMask::DenseCausal(int num_heads, int num_tokens, int block_size) {
  BlockMask mask;
  mask.block_size = block_size;
  mask.num_heads = num_heads;
  mask.num_tokens = num_tokens;
  const int nb = mask.num_blocks();
  mask.row_ptr.reserve(static_cast<std::size_t>(num_heads) * nb + 1);
  mask.col_idx.reserve(static_cast<std::size_t>(num_heads) * nb * (nb + 1) / 2);
  mask.row_ptr.push_back(0);
  for (int h = 0; h < num_heads; ++h) {
    for (int qb = 0; qb < nb; ++qb) {
      for (int kb = 0; kb <= qb; ++kb) mask.col_idx.push_back(kb);
      mask.row_ptr.push_back(static_cast<std::int32_t>(mask.col_idx.size()));
    }
  }
  return mask;
}

double BlockMask::Density() const {
  const double nb = num_blocks();
  const double causal = static_cast<double>(num_heads) * nb * (nb + 1) / 2;
  return causal > 0 ? static_cast<double>(col_idx.size()) / causal : 0.0;
}

void BlockMask::Validate() const {
  using common::InvalidArgument;
  using common::Throw;
  if (block_size <= 0 || num_heads <= 0 || num_tokens <= 0) {
    Throw<InvalidArgument>("block mask: block size {}, heads {} and tokens {} must be positive",
                           block_size, num_heads, num_tokens);
  }
  const int nb = num_blocks();
  const std::size_t rows = static_cast<std::size_t>(num_heads) * nb;
  if (row_ptr.size() != rows + 1 || row_ptr.front() != 0 ||
      static_cast<std::size_t>(row_ptr.back()) != col_idx.size()) {
    Throw<InvalidArgument>("block mask: row_ptr must have {} entries from 0 to {}", rows + 1,
                           col_idx.size());
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const int qb = static_cast<int>(r % nb);
    if (row_ptr[r] > row_ptr[r + 1])
      Throw<InvalidArgument>("block mask: row_ptr decreases at row {}", r);
    for (int i = row_ptr[r]; i < row_ptr[r + 1]; ++i) {
      if (col_idx[i] < 0 || col_idx[i] > qb || (i > row_ptr[r] && col_idx[i] <= col_idx[i - 1])) {
        Throw<InvalidArgument>(
            "block mask: row {} (query block {}) lists key block {}; blocks must be ascending and "
            "causal",
            r, qb, col_idx[i]);
      }
    }
  }
}

}  // namespace seer
