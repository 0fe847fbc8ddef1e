// AttnGate forward against a naive double-precision implementation written here, and block
// selection.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <tuple>

#include "common/error.h"
#include "seer/block_selection.h"
#include "seer/gate.h"

namespace seer {
namespace {

std::vector<float> Random(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Rotates adjacent pairs of v (size d) by pos * theta^(-2i/d).
void NaiveRope(std::vector<double>& v, double pos, double theta) {
  const std::size_t d = v.size();
  for (std::size_t i = 0; i < d / 2; ++i) {
    const double angle =
        pos * std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(d));
    const double a = v[2 * i], b = v[2 * i + 1];
    v[2 * i] = a * std::cos(angle) - b * std::sin(angle);
    v[2 * i + 1] = a * std::sin(angle) + b * std::cos(angle);
  }
}

// The pooled features of block `b` of head `head` in x [n, heads * D], concatenated per pooling.
std::vector<double> NaivePool(const std::vector<float>& x, int heads, int head_dim, int n,
                              int block, int b, int head, const std::vector<Pooling>& pooling) {
  std::vector<double> out;
  const int begin = b * block, end = std::min(n, begin + block);
  for (Pooling p : pooling) {
    for (int c = 0; c < head_dim; ++c) {
      double acc = p == Pooling::kMax ? -1e300 : p == Pooling::kMin ? 1e300 : 0.0;
      for (int t = begin; t < end; ++t) {
        const double v = x[(static_cast<std::size_t>(t) * heads + head) * head_dim + c];
        acc = p == Pooling::kMax   ? std::max(acc, v)
              : p == Pooling::kMin ? std::min(acc, v)
                                   : acc + v;
      }
      out.push_back(p == Pooling::kAvg ? acc / (end - begin) : acc);
    }
  }
  return out;
}

// in [inputs] . w[head] ([inputs, G]) -> [G]
std::vector<double> NaiveLinear(const std::vector<double>& in, const std::vector<float>& w,
                                int head, int g) {
  std::vector<double> out(static_cast<std::size_t>(g), 0.0);
  for (std::size_t r = 0; r < in.size(); ++r) {
    for (int c = 0; c < g; ++c)
      out[c] += in[r] * w[(static_cast<std::size_t>(head) * in.size() + r) * g + c];
  }
  return out;
}

// (tokens, query heads per KV head, with a Q linear)
class GateVsNaive : public testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(GateVsNaive, LogitsMatch) {
  const auto [n, group, q_linear] = GetParam();
  GateConfig c;
  c.block_size = 16;
  c.head_dim = 8;
  c.kv_heads = 2;
  c.q_heads = 2 * group;
  c.n_layers = 1;
  c.rope_theta = 500.0f;
  c.d_gate = q_linear ? 12 : 8;
  if (q_linear) c.SetType("Qavgmax_Kmaxminavg");
  const Gates gates = RandomGates(c, 3);
  const auto q = Random(static_cast<std::size_t>(n) * c.q_heads * c.head_dim, 1);
  const auto k = Random(static_cast<std::size_t>(n) * c.kv_heads * c.head_dim, 2);
  const BlockScores got =
      GateForward(c, gates.layers[0], q.data(), static_cast<std::size_t>(c.q_heads) * c.head_dim,
                  k.data(), static_cast<std::size_t>(c.kv_heads) * c.head_dim, n);
  const int nb = (n + c.block_size - 1) / c.block_size;
  ASSERT_EQ(got.num_blocks, nb);
  ASSERT_EQ(c.HasQLinear(), q_linear);
  double worst = 0;
  for (int h = 0; h < c.q_heads; ++h) {
    const int g = h / group;
    for (int i = 0; i < nb; ++i) {
      std::vector<double> qi =
          NaivePool(q, c.q_heads, c.head_dim, n, c.block_size, i, h, c.q_pooling);
      if (q_linear) qi = NaiveLinear(qi, gates.layers[0].wq, h, c.d_gate);
      NaiveRope(qi, i * c.block_size, c.rope_theta);
      for (int j = 0; j < nb; ++j) {
        const float value = got.Row(h, i)[j];
        if (j > i) {
          EXPECT_TRUE(std::isinf(value) && value < 0);
          continue;
        }
        std::vector<double> kj =
            NaivePool(k, c.kv_heads, c.head_dim, n, c.block_size, j, g, c.k_pooling);
        // Without a Q linear the K linear has one head per query head, with one per KV head.
        kj = NaiveLinear(kj, gates.layers[0].wk, q_linear ? g : h, c.d_gate);
        NaiveRope(kj, j * c.block_size, c.rope_theta);
        double dot = 0;
        for (int d = 0; d < c.d_gate; ++d) dot += qi[d] * kj[d];
        worst = std::max(worst, std::fabs(dot / std::sqrt(static_cast<double>(c.d_gate)) - value));
      }
    }
  }
  EXPECT_LE(worst, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Shapes, GateVsNaive,
                         testing::Combine(testing::Values(5, 16, 77, 130), testing::Values(1, 2, 4),
                                          testing::Bool()));

TEST(GateConfig, TypeNamesRoundTripAndBadNamesFail) {
  GateConfig c;
  EXPECT_EQ(c.TypeName(), "Qavg_Kmaxminavg");
  c.SetType("Qmaxmin_Kavg");
  EXPECT_EQ(c.TypeName(), "Qmaxmin_Kavg");
  EXPECT_EQ(c.q_pooling.size(), 2u);
  EXPECT_THROW(c.SetType("Qfoo_Kavg"), common::InvalidArgument);
  EXPECT_THROW(c.SetType("avg"), common::InvalidArgument);
  EXPECT_THROW(c.SetType("Qavg_Kavgx"), common::InvalidArgument);
}

BlockScores Scores(int heads, int nb, unsigned seed) {
  BlockScores s;
  s.heads = heads;
  s.num_blocks = nb;
  s.values = Random(static_cast<std::size_t>(heads) * nb * nb, seed);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < nb; ++i) {
      for (int j = i + 1; j < nb; ++j) s.Row(h, i)[j] = -INFINITY;
    }
  }
  return s;
}

std::vector<int> Row(const BlockMask& m, int head, int qb) {
  const int r = head * m.num_blocks() + qb;
  return {m.col_idx.begin() + m.row_ptr[r], m.col_idx.begin() + m.row_ptr[r + 1]};
}

TEST(BlockSelection, DensityKeepsTheReferenceTopKPlusTheDiagonal) {
  const int nb = 10, n = nb * 64 - 5;
  BlockScores s = Scores(2, nb, 4);
  const BlockScores original = s;
  const BlockMask m =
      SelectBlocks(s, n, 64, {.method = SelectionOptions::Method::kDensity, .density = 0.5f});
  EXPECT_NO_THROW(m.Validate());
  const int k = static_cast<int>((1 - std::sqrt(0.5)) * nb);  // 2
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < nb; ++i) {
      const auto row = Row(m, h, i);
      // The top min(k, i+1) scores of the row, plus the diagonal.
      std::vector<int> order(static_cast<std::size_t>(i) + 1);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](int a, int b) { return original.Row(h, i)[a] > original.Row(h, i)[b]; });
      std::vector<int> want(order.begin(), order.begin() + std::min(k, i + 1));
      want.push_back(i);
      std::sort(want.begin(), want.end());
      want.erase(std::unique(want.begin(), want.end()), want.end());
      EXPECT_EQ(row, want) << h << " " << i;
    }
  }
  BlockScores full = Scores(2, nb, 4);
  EXPECT_DOUBLE_EQ(
      SelectBlocks(full, n, 64, {.method = SelectionOptions::Method::kDensity, .density = 1.0f})
          .Density(),
      1.0);
}

TEST(BlockSelection, ThresholdUsesTheSoftmaxOverCausalBlocks) {
  BlockScores s = Scores(1, 6, 5);
  BlockScores probs = s;
  SoftmaxRows(probs);
  for (int i = 0; i < 6; ++i) {
    double sum = 0;
    for (int j = 0; j <= i; ++j) sum += probs.Row(0, i)[j];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
  const BlockMask m = SelectBlocks(
      s, 6 * 32, 32, {.method = SelectionOptions::Method::kThreshold, .threshold = 0.2f});
  for (int i = 0; i < 6; ++i) {
    std::vector<int> want;
    for (int j = 0; j <= i; ++j) {
      if (probs.Row(0, i)[j] > 0.2f || j == i) want.push_back(j);
    }
    EXPECT_EQ(Row(m, 0, i), want);
  }
}

TEST(BlockSelection, TargetDensityIsExactAndForcedBlocksAreKept) {
  const int nb = 40, heads = 3;
  for (float density : {0.05f, 0.1f, 0.3f, 0.5f, 1.0f}) {
    BlockScores s = Scores(heads, nb, 6);
    const BlockMask m = SelectBlocks(s, nb * 64, 64,
                                     {.method = SelectionOptions::Method::kTargetDensity,
                                      .density = density,
                                      .keep_first_block = true,
                                      .dense_last_rows = 2});
    const double causal = heads * nb * (nb + 1) / 2.0;
    // Forced per head: the diagonal (nb), the sink in the other rows (nb - 1), and the rest of the
    // last two rows (nb - 3 and nb - 2 more).
    const double forced = heads * (4.0 * nb - 6);
    EXPECT_EQ(static_cast<double>(m.col_idx.size()), std::max(forced, std::round(density * causal)))
        << density;
    for (int h = 0; h < heads; ++h) {
      for (int i = 0; i < nb; ++i) {
        const auto row = Row(m, h, i);
        EXPECT_EQ(row.front(), 0);
        EXPECT_EQ(row.back(), i);
        if (i >= nb - 2) {
          EXPECT_EQ(static_cast<int>(row.size()), i + 1);
        }
      }
    }
  }
  BlockScores s = Scores(1, 4, 1);
  EXPECT_THROW(
      SelectBlocks(s, 100, 64, {.method = SelectionOptions::Method::kDensity, .density = 0.5f}),
      common::InvalidArgument);
  EXPECT_THROW(
      SelectBlocks(s, 256, 64, {.method = SelectionOptions::Method::kDensity, .density = 0.0f}),
      common::InvalidArgument);
}

TEST(Baselines, WindowKeepsTheNearestBlocksAndTheSink) {
  BlockScores s = WindowScores(1, 10 * 16, 16);
  const BlockMask m = SelectBlocks(
      s, 160, 16,
      {.method = SelectionOptions::Method::kDensity, .density = 0.52f, .keep_first_block = true});
  EXPECT_EQ(Row(m, 0, 9),
            (std::vector<int>{0, 7, 8, 9}));  // k = int(0.307 * 10) = 3 nearest + sink.
  EXPECT_EQ(Row(m, 0, 1), (std::vector<int>{0, 1}));
}

TEST(Baselines, MeanPoolAndOracleScores) {
  const int n = 50, heads = 2, kv = 1, d = 8, block = 16;
  const auto q = Random(static_cast<std::size_t>(n) * heads * d, 8);
  const auto k = Random(static_cast<std::size_t>(n) * kv * d, 9);
  const BlockScores mean =
      MeanPoolScores(q.data(), heads * d, k.data(), kv * d, n, heads, kv, d, block);
  // Block 3 has 2 tokens (48, 49); block 1 has 16.
  double dot = 0;
  for (int c = 0; c < d; ++c) {
    double qm = 0, km = 0;
    for (int t = 48; t < 50; ++t) qm += q[(static_cast<std::size_t>(t) * heads + 1) * d + c] / 2.0;
    for (int t = 16; t < 32; ++t) km += k[static_cast<std::size_t>(t) * d + c] / 16.0;
    dot += qm * km;
  }
  EXPECT_NEAR(mean.Row(1, 3)[1], dot / std::sqrt(8.0), 1e-5);

  const BlockScores oracle =
      OracleScores(q.data(), heads * d, k.data(), kv * d, n, heads, kv, d, block);
  EXPECT_TRUE(oracle.probabilities);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < 4; ++i) {
      double sum = 0;
      for (int j = 0; j <= i; ++j) sum += oracle.Row(h, i)[j];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
  EXPECT_NEAR(oracle.Row(0, 0)[0], 1.0, 1e-6);  // The first block can only attend to itself.
}

}  // namespace
}  // namespace seer
