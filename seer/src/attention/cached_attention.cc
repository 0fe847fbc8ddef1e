// Attention of a few new query rows against the whole KV cache: the decode path.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "seer/attention.h"

namespace seer {

void CachedAttention(const AttentionProblem& p, int num_queries, int first_pos) {
  const int D = p.head_dim;
  const int group = p.q_heads / p.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int items = num_queries * p.q_heads;
  const long work = static_cast<long>(items) * (first_pos + num_queries) * D;
#pragma omp parallel if (work > (1L << 18))
  {
    std::vector<float> scores(static_cast<std::size_t>(first_pos + num_queries));
#pragma omp for schedule(static)
    for (int item = 0; item < items; ++item) {
      const int row = item / p.q_heads, head = item % p.q_heads;
      const int kv_head = head / group;
      const int keys = first_pos + row + 1;
      const float* q =
          p.q + static_cast<std::size_t>(row) * p.q_stride + static_cast<std::size_t>(head) * D;
      float max_score = -INFINITY;
      for (int j = 0; j < keys; ++j) {
        const float* k =
            p.k + static_cast<std::size_t>(j) * p.kv_stride + static_cast<std::size_t>(kv_head) * D;
        float dot = 0.0f;
        for (int c = 0; c < D; ++c) dot += q[c] * k[c];
        scores[j] = dot * scale;
        max_score = std::max(max_score, scores[j]);
      }
      float sum = 0.0f;
      for (int j = 0; j < keys; ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        sum += scores[j];
      }
      float* out =
          p.out + static_cast<std::size_t>(row) * p.out_stride + static_cast<std::size_t>(head) * D;
      std::fill(out, out + D, 0.0f);
      for (int j = 0; j < keys; ++j) {
        const float* v =
            p.v + static_cast<std::size_t>(j) * p.kv_stride + static_cast<std::size_t>(kv_head) * D;
        const float w = scores[j] / sum;
        for (int c = 0; c < D; ++c) out[c] += w * v[c];
      }
    }
  }
}

}  // namespace seer
