// The flash kernel against a naive double-precision causal attention written here, independently.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>

#include "common/error.h"
#include "seer/attention.h"
#include "seer/block_selection.h"

namespace seer {
namespace {

struct Inputs {
  int n, q_heads, kv_heads, head_dim;
  std::vector<float> q, k, v;

  Inputs(int n_, int q_heads_, int kv_heads_, int head_dim_, unsigned seed)
      : n(n_), q_heads(q_heads_), kv_heads(kv_heads_), head_dim(head_dim_) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    auto fill = [&](std::vector<float>& x, std::size_t size) {
      x.resize(size);
      for (float& e : x) e = dist(rng);
    };
    fill(q, static_cast<std::size_t>(n) * q_heads * head_dim);
    fill(k, static_cast<std::size_t>(n) * kv_heads * head_dim);
    fill(v, static_cast<std::size_t>(n) * kv_heads * head_dim);
  }

  AttentionProblem Problem(float* out) const {
    return {q.data(),
            static_cast<std::size_t>(q_heads) * head_dim,
            k.data(),
            v.data(),
            static_cast<std::size_t>(kv_heads) * head_dim,
            out,
            static_cast<std::size_t>(q_heads) * head_dim,
            q_heads,
            kv_heads,
            head_dim};
  }
};

// softmax_j<=i(q_i . k_j / sqrt(d)) v_j in double, two passes, no tiling; with a mask, keys in
// blocks the mask does not list for the row's (head, query block) are left out of the softmax.
std::vector<double> NaiveCausalAttention(const Inputs& in, const BlockMask* mask = nullptr) {
  const int D = in.head_dim, group = in.q_heads / in.kv_heads;
  std::vector<double> out(static_cast<std::size_t>(in.n) * in.q_heads * D);
#pragma omp parallel for schedule(dynamic, 16)
  for (int i = 0; i < in.n; ++i) {
    std::vector<double> p(static_cast<std::size_t>(i) + 1);
    for (int h = 0; h < in.q_heads; ++h) {
      const int g = h / group;
      const float* q = &in.q[(static_cast<std::size_t>(i) * in.q_heads + h) * D];
      std::vector<char> visible(static_cast<std::size_t>(i) + 1, mask == nullptr);
      if (mask != nullptr) {
        const int row = h * mask->num_blocks() + i / mask->block_size;
        for (int b = mask->row_ptr[row]; b < mask->row_ptr[row + 1]; ++b) {
          for (int j = mask->col_idx[b] * mask->block_size;
               j <= i && j < (mask->col_idx[b] + 1) * mask->block_size; ++j) {
            visible[j] = 1;
          }
        }
      }
      double max_logit = -INFINITY;
      for (int j = 0; j <= i; ++j) {
        if (!visible[j]) continue;
        const float* k = &in.k[(static_cast<std::size_t>(j) * in.kv_heads + g) * D];
        double dot = 0;
        for (int c = 0; c < D; ++c) dot += static_cast<double>(q[c]) * k[c];
        p[j] = dot / std::sqrt(static_cast<double>(D));
        max_logit = std::max(max_logit, p[j]);
      }
      double sum = 0;
      for (int j = 0; j <= i; ++j) sum += (p[j] = visible[j] ? std::exp(p[j] - max_logit) : 0.0);
      double* o = &out[(static_cast<std::size_t>(i) * in.q_heads + h) * D];
      for (int j = 0; j <= i; ++j) {
        const float* v = &in.v[(static_cast<std::size_t>(j) * in.kv_heads + g) * D];
        for (int c = 0; c < D; ++c) o[c] += p[j] / sum * v[c];
      }
    }
  }
  return out;
}

double MaxError(const std::vector<float>& got, const std::vector<double>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  return worst;
}

// (sequence length, head_dim, query heads per KV head)
class FlashVsNaive : public testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(FlashVsNaive, MaxAbsErrorWithin1e5) {
  const auto [n, head_dim, group] = GetParam();
  const Inputs in(n, group, 1, head_dim, static_cast<unsigned>(n * 1000 + head_dim * 10 + group));
  std::vector<float> out(in.q.size(), NAN);
  FlashAttention(in.Problem(out.data()), BlockMask::DenseCausal(group, n, 64));
  EXPECT_LE(MaxError(out, NaiveCausalAttention(in)), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, FlashVsNaive,
                         testing::Combine(testing::Values(1, 7, 64, 1000, 4097),
                                          testing::Values(8, 64, 128), testing::Values(1, 2, 4)));

// Other tile sizes and head dims that are not a multiple of the vector width, with 2 KV heads.
class FlashBlockSizes : public testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(FlashBlockSizes, MatchNaive) {
  const auto [block, head_dim] = GetParam();
  const Inputs in(301, 4, 2, head_dim, static_cast<unsigned>(block + head_dim));
  std::vector<float> out(in.q.size(), NAN);
  FlashAttention(in.Problem(out.data()), BlockMask::DenseCausal(4, 301, block));
  EXPECT_LE(MaxError(out, NaiveCausalAttention(in)), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Tiles, FlashBlockSizes,
                         testing::Combine(testing::Values(16, 32, 64, 128),
                                          testing::Values(8, 24, 40, 96, 256)));

// (sequence length, block size, density, query heads per KV head)
class SparseVsNaive : public testing::TestWithParam<std::tuple<int, int, float, int>> {};

TEST_P(SparseVsNaive, RandomMasksMatchNaiveMaskedAttention) {
  const auto [n, block, density, group] = GetParam();
  const Inputs in(n, 2 * group, 2, 64, static_cast<unsigned>(n + block));
  BlockScores scores =
      RandomScores(in.q_heads, n, block, static_cast<std::uint64_t>(n * 7 + block));
  const BlockMask mask = SelectBlocks(
      scores, n, block, {.method = SelectionOptions::Method::kTargetDensity, .density = density});
  const int nb = mask.num_blocks();
  EXPECT_NEAR(mask.Density(), std::max(static_cast<double>(density), 2.0 / (nb + 1)),
              0.01);  // Diagonal forced.
  std::vector<float> out(in.q.size(), NAN);
  FlashAttention(in.Problem(out.data()), mask);
  EXPECT_LE(MaxError(out, NaiveCausalAttention(in, &mask)), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Masks, SparseVsNaive,
                         testing::Combine(testing::Values(333, 1024), testing::Values(16, 64, 128),
                                          testing::Values(0.1f, 0.5f), testing::Values(1, 4)));

TEST(SparseAttention, EveryCausalBlockListedEqualsDenseExactly) {
  const Inputs in(777, 8, 2, 128, 11);
  std::vector<float> dense(in.q.size()), sparse(in.q.size());
  FlashAttention(in.Problem(dense.data()), BlockMask::DenseCausal(8, 777, 64));
  BlockScores scores = RandomScores(8, 777, 64, 3);
  const BlockMask all = SelectBlocks(
      scores, 777, 64, {.method = SelectionOptions::Method::kDensity, .density = 1.0f});
  ASSERT_EQ(all.col_idx, BlockMask::DenseCausal(8, 777, 64).col_idx);
  FlashAttention(in.Problem(sparse.data()), all);
  double worst = 0;
  for (std::size_t i = 0; i < dense.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::fabs(dense[i] - sparse[i])));
  EXPECT_LE(worst, 1e-6);
}

TEST(CachedAttention, RowsAfterACachedPrefixMatchNaive) {
  const Inputs in(200, 4, 2, 64, 7);
  const auto want = NaiveCausalAttention(in);
  // Queries 150..199 against the keys 0..row.
  const int first = 150, rows = 50;
  const std::size_t row_size = static_cast<std::size_t>(in.q_heads) * in.head_dim;
  std::vector<float> out(rows * row_size);
  AttentionProblem p = in.Problem(out.data());
  p.q = in.q.data() + first * row_size;
  CachedAttention(p, rows, first);
  double worst = 0;
  for (std::size_t i = 0; i < out.size(); ++i)
    worst = std::max(worst, std::fabs(out[i] - want[first * row_size + i]));
  EXPECT_LE(worst, 1e-5);
}

TEST(FlashAttention, RejectsInconsistentShapes) {
  const Inputs in(10, 3, 2, 8, 1);
  std::vector<float> out(in.q.size());
  EXPECT_THROW(FlashAttention(in.Problem(out.data()), BlockMask::DenseCausal(3, 10, 64)),
               common::InvalidArgument);
  const Inputs ok(10, 2, 1, 8, 1);
  EXPECT_THROW(FlashAttention(ok.Problem(out.data()), BlockMask::DenseCausal(2, 10, 24)),
               common::InvalidArgument);
  EXPECT_THROW(FlashAttention(ok.Problem(out.data()), BlockMask::DenseCausal(4, 10, 64)),
               common::InvalidArgument);
  BlockMask bad = BlockMask::DenseCausal(2, 10, 16);
  bad.col_idx.back() = 5;  // Not causal.
  EXPECT_THROW(FlashAttention(ok.Problem(out.data()), bad), common::InvalidArgument);
}

TEST(BlockMask, DenseCausalListsEveryCausalBlock) {
  const BlockMask m = BlockMask::DenseCausal(3, 130, 64);
  EXPECT_EQ(m.num_blocks(), 3);
  EXPECT_EQ(m.col_idx.size(), 3u * 6u);
  EXPECT_DOUBLE_EQ(m.Density(), 1.0);
  EXPECT_NO_THROW(m.Validate());
}

}  // namespace
}  // namespace seer
