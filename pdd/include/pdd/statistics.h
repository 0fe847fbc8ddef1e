// Pairwise co-occurrence counts and residuals between attribute values.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "pdd/encoding.h"

namespace pdd {

// Occ(a, b) for every pair of AVs: [n_av, n_av], symmetric; the diagonal holds Occ(a).
struct PairCounts {
  int size = 0;
  std::vector<std::uint64_t> counts;
  std::uint64_t At(int a, int b) const { return counts[static_cast<std::size_t>(a) * size + b]; }
};

// Counts by AND + popcount of the AV bitsets, on all OpenMP threads.
PairCounts CountPairs(const Encoded& encoded);

// The baseline the benchmark compares against: one thread walking every record's AV list.
PairCounts CountPairsPlain(const Encoded& encoded, const std::vector<std::vector<int>>& record_avs);

// Each record's AVs (for the baseline above and for record-level reports).
std::vector<std::vector<int>> RecordAvs(const Encoded& encoded);

enum class ResidualKind {
  kAdjusted,      // Haberman: (o - e) / sqrt(e (1 - pa)(1 - pb)).
  kStandardized,  // (o - e) / sqrt(e).
};

// Returns the residual of observed count `o` against e = na * nb / n.
double Residual(double o, double na, double nb, double n, ResidualKind kind);

// SR matrix [n_av, n_av]: residuals between AVs of different attributes; 0 within an attribute
// and on the diagonal.
Eigen::MatrixXd ResidualMatrix(const Encoded& encoded, const PairCounts& counts, ResidualKind kind);

// The high-order residual of Wong & Wang (1997) for a pattern seen `observed` times in `n`
// records whose AVs have marginal probabilities `p`: e = n prod p, z = (o - e) / sqrt(e),
// v = 1 - prod p, d = z / sqrt(v). Returns {expected, d}.
std::pair<double, double> PatternResidual(double observed, const std::vector<double>& p, double n);

// The two-sided critical value of the standard normal for significance level alpha.
double NormalCritical(double alpha);

}  // namespace pdd
