// Counts, residuals and disentanglement against arithmetic done by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "pdd/disentangle.h"
#include "pdd/statistics.h"
#include "pdd/synth.h"
#include "test_util.h"

namespace pdd {
namespace {

// 10 records of X in {a, b} and Y in {c, d}: (a,c) x4, (a,d) x1, (b,c) x1, (b,d) x4; Z alternates
// e, f (weakly tied to the others).
Encoded SmallTable() {
  std::string csv = "X,Y,Z\n";
  const char* rows[] = {"a,c,e", "a,c,f", "a,c,e", "a,c,f", "a,d,e",
                        "b,c,f", "b,d,e", "b,d,f", "b,d,e", "b,d,f"};
  for (const char* r : rows) csv += std::string(r) + "\n";
  return Encode(ReadTable(test::WriteTemp("small.csv", csv)), {});
}

TEST(Residuals, MatchTheArithmeticByHand) {
  const Encoded e = SmallTable();
  const PairCounts counts = CountPairs(e);
  const int a = e.Find("X", "a"), c = e.Find("Y", "c"), d = e.Find("Y", "d"), f = e.Find("Z", "f");
  ASSERT_GE(a, 0);
  EXPECT_EQ(counts.At(a, c), 4u);
  EXPECT_EQ(counts.At(a, a), 5u);
  // (a, c): o = 4, Occ(a) = 5, Occ(c) = 5, N = 10 -> e = 5 * 5 / 10 = 2.5.
  //   adjusted: (4 - 2.5) / sqrt(2.5 * (1 - 5/10) * (1 - 5/10)) = 1.5 / sqrt(0.625) = 1.8973666
  //   standardised: 1.5 / sqrt(2.5) = 0.9486833
  const Eigen::MatrixXd adjusted = ResidualMatrix(e, counts, ResidualKind::kAdjusted);
  const Eigen::MatrixXd standardized = ResidualMatrix(e, counts, ResidualKind::kStandardized);
  EXPECT_NEAR(adjusted(a, c), 1.8973666, 1e-6);
  EXPECT_NEAR(standardized(a, c), 0.9486833, 1e-6);
  // (a, d): o = 1, e = 5 * 5 / 10 = 2.5 -> (1 - 2.5) / sqrt(0.625) = -1.8973666.
  EXPECT_NEAR(adjusted(a, d), -1.8973666, 1e-6);
  // (a, f): o = 2 (records 2, 4), Occ(f) = 5, e = 2.5 -> -0.5 / sqrt(0.625) = -0.6324555.
  EXPECT_NEAR(adjusted(a, f), -0.6324555, 1e-6);
  // Same attribute and diagonal are zero; the matrix is symmetric.
  EXPECT_EQ(adjusted(c, d), 0.0);
  EXPECT_EQ(adjusted(a, a), 0.0);
  EXPECT_EQ(adjusted(c, a), adjusted(a, c));
}

TEST(Residuals, PatternResidualByHand) {
  // o = 30 of n = 100 with p = (0.5, 0.4): e = 100 * 0.2 = 20, z = 10 / sqrt(20) = 2.2360680,
  // v = 1 - 0.2 = 0.8, d = z / sqrt(0.8) = 2.5.
  const auto [expected, d] = PatternResidual(30, {0.5, 0.4}, 100);
  EXPECT_DOUBLE_EQ(expected, 20.0);
  EXPECT_NEAR(d, 2.5, 1e-12);
  EXPECT_NEAR(NormalCritical(0.05), 1.959964, 1e-6);
  EXPECT_NEAR(NormalCritical(0.01), 2.575829, 1e-6);
}

TEST(Counting, BitsetCountsEqualThePlainLoop) {
  SynthOptions o;
  o.rows = 3000;
  const std::string path = (test::TempDir() / "synth.csv").string();
  WriteSynth(o, path, (test::TempDir() / "truth.json").string());
  const Encoded e = Encode(ReadTable(path), {});
  const PairCounts fast = CountPairs(e);
  const PairCounts plain = CountPairsPlain(e, RecordAvs(e));
  EXPECT_EQ(fast.counts, plain.counts);
}

TEST(Disentangle, VariantBSpacesSumBackToTheSrMatrix) {
  const Encoded e = SmallTable();
  const Eigen::MatrixXd sr = ResidualMatrix(e, CountPairs(e), ResidualKind::kAdjusted);
  // tau 0 keeps every space with any positive pair, so that each RSR_k is held.
  const Disentanglement d = Disentangle(sr, e, Variant::kB, -1e9);
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(sr.rows(), sr.cols());
  for (const Space& s : d.spaces) {
    ASSERT_TRUE(s.kept);
    sum += s.rsr;
  }
  EXPECT_LE((sum - sr).cwiseAbs().maxCoeff(), 1e-9);
  // Ranked by explained variance (lambda^2 in variant B), shares summing to 1.
  double share = 0;
  for (std::size_t k = 0; k < d.spaces.size(); ++k) {
    share += d.spaces[k].variance_share;
    if (k > 0) {
      EXPECT_GE(std::fabs(d.spaces[k - 1].eigenvalue), std::fabs(d.spaces[k].eigenvalue) - 1e-12);
    }
  }
  EXPECT_NEAR(share, 1.0, 1e-9);
}

TEST(Disentangle, VariantAReprojectsTheCentredRows) {
  const Encoded e = SmallTable();
  const Eigen::MatrixXd sr = ResidualMatrix(e, CountPairs(e), ResidualKind::kAdjusted);
  const Disentanglement d = Disentangle(sr, e, Variant::kA, -1e9);
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(sr.rows(), sr.cols());
  for (const Space& s : d.spaces) sum += s.rsr;
  const Eigen::MatrixXd centred = sr.rowwise() - sr.colwise().mean();
  EXPECT_LE((sum - centred).cwiseAbs().maxCoeff(), 1e-9);
}

}  // namespace
}  // namespace pdd
