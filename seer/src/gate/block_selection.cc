#include "seer/block_selection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "common/error.h"

namespace seer {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

BlockScores EmptyScores(int heads, int nb, bool probabilities) {
  BlockScores s;
  s.heads = heads;
  s.num_blocks = nb;
  s.values.assign(static_cast<std::size_t>(heads) * nb * nb, kNegInf);
  s.probabilities = probabilities;
  return s;
}

// Mean of the rows of each block for one head: out[nb, D].
void MeanPool(const float* x, std::size_t stride, std::size_t column, int n, int head_dim,
              int block, float* out) {
  const int nb = (n + block - 1) / block;
  for (int b = 0; b < nb; ++b) {
    const int begin = b * block, end = std::min(n, begin + block);
    float* dst = out + static_cast<std::size_t>(b) * head_dim;
    std::fill(dst, dst + head_dim, 0.0f);
    for (int t = begin; t < end; ++t) {
      const float* row = x + static_cast<std::size_t>(t) * stride + column;
      for (int c = 0; c < head_dim; ++c) dst[c] += row[c];
    }
    for (int c = 0; c < head_dim; ++c) dst[c] /= static_cast<float>(end - begin);
  }
}

}  // namespace

BlockMask SelectBlocks(BlockScores& scores, int num_tokens, int block_size,
                       const SelectionOptions& o) {
  using Method = SelectionOptions::Method;
  const int nb = scores.num_blocks, H = scores.heads;
  if (nb != (num_tokens + block_size - 1) / block_size) {
    common::Throw<common::InvalidArgument>(
        "block selection: {} score blocks do not cover {} tokens in blocks of {}", nb, num_tokens,
        block_size);
  }
  if (o.method != Method::kThreshold && !(o.density > 0.0f && o.density <= 1.0f)) {
    common::Throw<common::InvalidArgument>("--density must be in (0, 1], got {}", o.density);
  }
  if (o.method == Method::kThreshold && !(o.threshold >= 0.0f && o.threshold < 1.0f)) {
    common::Throw<common::InvalidArgument>("--threshold must be in [0, 1), got {}", o.threshold);
  }
  if (o.method != Method::kDensity) SoftmaxRows(scores);

  // keep[h][i][j] for j <= i; forced blocks first.
  std::vector<std::uint8_t> keep(static_cast<std::size_t>(H) * nb * nb, 0);
  auto at = [&](int h, int i, int j) -> std::uint8_t& {
    return keep[(static_cast<std::size_t>(h) * nb + i) * nb + j];
  };
  for (int h = 0; h < H; ++h) {
    for (int i = 0; i < nb; ++i) {
      at(h, i, i) = 1;
      if (o.keep_first_block) at(h, i, 0) = 1;
      if (i >= nb - o.dense_last_rows) std::fill(&at(h, i, 0), &at(h, i, 0) + i + 1, 1);
    }
  }

  if (o.method == Method::kThreshold) {
    for (int h = 0; h < H; ++h) {
      for (int i = 0; i < nb; ++i) {
        const float* row = scores.Row(h, i);
        for (int j = 0; j <= i; ++j) at(h, i, j) |= row[j] > o.threshold ? 1 : 0;
      }
    }
  } else if (o.method == Method::kDensity) {
    // The reference's top-k: k = max(1, int((1 - sqrt(1 - rho)) * nb)) over the row, then causal.
    const int k =
        std::max(1, static_cast<int>((1.0 - std::sqrt(1.0 - static_cast<double>(o.density))) * nb));
    std::vector<int> order(static_cast<std::size_t>(nb));
    for (int h = 0; h < H; ++h) {
      for (int i = 0; i < nb; ++i) {
        const float* row = scores.Row(h, i);
        const int take = std::min(k, i + 1);
        std::iota(order.begin(), order.begin() + i + 1, 0);
        std::partial_sort(order.begin(), order.begin() + take, order.begin() + i + 1,
                          [&](int a, int b) { return row[a] != row[b] ? row[a] > row[b] : a > b; });
        for (int t = 0; t < take; ++t) at(h, i, order[t]) = 1;
      }
    }
  } else {
    const double causal = static_cast<double>(H) * nb * (nb + 1) / 2;
    const auto target = static_cast<std::size_t>(std::llround(o.density * causal));
    std::size_t forced = 0;
    std::vector<std::pair<float, std::size_t>> candidates;
    for (int h = 0; h < H; ++h) {
      for (int i = 0; i < nb; ++i) {
        const float* row = scores.Row(h, i);
        for (int j = 0; j <= i; ++j) {
          const std::size_t index = (static_cast<std::size_t>(h) * nb + i) * nb + j;
          if (keep[index])
            ++forced;
          else
            candidates.emplace_back(row[j], index);
        }
      }
    }
    if (target > forced) {
      const std::size_t extra = std::min(target - forced, candidates.size());
      std::nth_element(candidates.begin(), candidates.begin() + static_cast<long>(extra),
                       candidates.end(), [](const auto& a, const auto& b) {
                         return a.first != b.first ? a.first > b.first : a.second < b.second;
                       });
      for (std::size_t c = 0; c < extra; ++c) keep[candidates[c].second] = 1;
    }
  }

  BlockMask mask;
  mask.block_size = block_size;
  mask.num_heads = H;
  mask.num_tokens = num_tokens;
  mask.row_ptr.reserve(static_cast<std::size_t>(H) * nb + 1);
  mask.row_ptr.push_back(0);
  for (int h = 0; h < H; ++h) {
    for (int i = 0; i < nb; ++i) {
      for (int j = 0; j <= i; ++j) {
        if (at(h, i, j)) mask.col_idx.push_back(j);
      }
      mask.row_ptr.push_back(static_cast<std::int32_t>(mask.col_idx.size()));
    }
  }
  return mask;
}

BlockScores MeanPoolScores(const float* q, std::size_t q_stride, const float* k,
                           std::size_t k_stride, int num_tokens, int q_heads, int kv_heads,
                           int head_dim, int block_size) {
  const int nb = (num_tokens + block_size - 1) / block_size;
  const int group = q_heads / kv_heads;
  BlockScores s = EmptyScores(q_heads, nb, false);
  std::vector<float> k_mean(static_cast<std::size_t>(kv_heads) * nb * head_dim);
  for (int g = 0; g < kv_heads; ++g) {
    MeanPool(k, k_stride, static_cast<std::size_t>(g) * head_dim, num_tokens, head_dim, block_size,
             k_mean.data() + static_cast<std::size_t>(g) * nb * head_dim);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
#pragma omp parallel
  {
    std::vector<float> q_mean(static_cast<std::size_t>(nb) * head_dim);
#pragma omp for schedule(static)
    for (int h = 0; h < q_heads; ++h) {
      MeanPool(q, q_stride, static_cast<std::size_t>(h) * head_dim, num_tokens, head_dim,
               block_size, q_mean.data());
      const float* km = k_mean.data() + static_cast<std::size_t>(h / group) * nb * head_dim;
      for (int i = 0; i < nb; ++i) {
        float* row = s.Row(h, i);
        for (int j = 0; j <= i; ++j) {
          float dot = 0.0f;
          for (int c = 0; c < head_dim; ++c)
            dot += q_mean[static_cast<std::size_t>(i) * head_dim + c] *
                   km[static_cast<std::size_t>(j) * head_dim + c];
          row[j] = dot * scale;
        }
      }
    }
  }
  return s;
}

BlockScores WindowScores(int heads, int num_tokens, int block_size) {
  const int nb = (num_tokens + block_size - 1) / block_size;
  BlockScores s = EmptyScores(heads, nb, false);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < nb; ++i) {
      for (int j = 0; j <= i; ++j) s.Row(h, i)[j] = static_cast<float>(j - i);
    }
  }
  return s;
}

BlockScores OracleScores(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride,
                         int num_tokens, int q_heads, int kv_heads, int head_dim, int block_size) {
  const int nb = (num_tokens + block_size - 1) / block_size;
  const int group = q_heads / kv_heads;
  BlockScores s = EmptyScores(q_heads, nb, true);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
#pragma omp parallel
  {
    std::vector<float> p(static_cast<std::size_t>(num_tokens));
#pragma omp for schedule(dynamic, 1)
    for (int item = 0; item < q_heads * nb; ++item) {
      const int h = item / nb, i = item % nb, g = h / group;
      float* mass = s.Row(h, i);
      std::fill(mass, mass + i + 1, 0.0f);
      const int begin = i * block_size, end = std::min(num_tokens, begin + block_size);
      for (int r = begin; r < end; ++r) {
        const float* qr =
            q + static_cast<std::size_t>(r) * q_stride + static_cast<std::size_t>(h) * head_dim;
        float mx = kNegInf;
        for (int t = 0; t <= r; ++t) {
          const float* kt =
              k + static_cast<std::size_t>(t) * k_stride + static_cast<std::size_t>(g) * head_dim;
          float dot = 0.0f;
          for (int c = 0; c < head_dim; ++c) dot += qr[c] * kt[c];
          p[t] = dot * scale;
          mx = std::max(mx, p[t]);
        }
        float sum = 0.0f;
        for (int t = 0; t <= r; ++t) sum += (p[t] = std::exp(p[t] - mx));
        const float weight = 1.0f / (sum * static_cast<float>(end - begin));
        for (int t = 0; t <= r; ++t) mass[t / block_size] += p[t] * weight;
      }
    }
  }
  return s;
}

BlockScores RandomScores(int heads, int num_tokens, int block_size, std::uint64_t seed) {
  const int nb = (num_tokens + block_size - 1) / block_size;
  // Uniform values are comparable across rows as they are, so they count as probabilities.
  BlockScores s = EmptyScores(heads, nb, true);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < nb; ++i) {
      for (int j = 0; j <= i; ++j) s.Row(h, i)[j] = dist(rng);
    }
  }
  return s;
}

}  // namespace seer
