#include "pdd/statistics.h"

#include <omp.h>

#include <cmath>

namespace pdd {

PairCounts CountPairs(const Encoded& e) {
  const int n = static_cast<int>(e.avs.size());
  PairCounts out{n, std::vector<std::uint64_t>(static_cast<std::size_t>(n) * n, 0)};
  // Row a computes pairs (a, b > a); rows shrink, so hand them out dynamically.
#pragma omp parallel for schedule(dynamic, 1)
  for (int a = 0; a < n; ++a) {
    out.counts[static_cast<std::size_t>(a) * n + a] = e.counts[a];
    for (int b = a + 1; b < n; ++b) {
      if (e.avs[a].attribute == e.avs[b].attribute) continue;  // Mutually exclusive.
      const std::uint64_t c = e.records_of[a].CountAnd(e.records_of[b]);
      out.counts[static_cast<std::size_t>(a) * n + b] = c;
      out.counts[static_cast<std::size_t>(b) * n + a] = c;
    }
  }
  return out;
}

std::vector<std::vector<int>> RecordAvs(const Encoded& e) {
  std::vector<std::vector<int>> out(e.records);
  for (std::size_t a = 0; a < e.avs.size(); ++a) {
    const auto& words = e.records_of[a].words();
    for (std::size_t w = 0; w < words.size(); ++w) {
      for (std::uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
        out[w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits))].push_back(
            static_cast<int>(a));
      }
    }
  }
  return out;
}

PairCounts CountPairsPlain(const Encoded& e, const std::vector<std::vector<int>>& record_avs) {
  const int n = static_cast<int>(e.avs.size());
  PairCounts out{n, std::vector<std::uint64_t>(static_cast<std::size_t>(n) * n, 0)};
  for (const auto& avs : record_avs) {
    for (std::size_t i = 0; i < avs.size(); ++i) {
      for (std::size_t j = i; j < avs.size(); ++j) {
        ++out.counts[static_cast<std::size_t>(avs[i]) * n + avs[j]];
        if (j != i) ++out.counts[static_cast<std::size_t>(avs[j]) * n + avs[i]];
      }
    }
  }
  return out;
}

double Residual(double o, double na, double nb, double n, ResidualKind kind) {
  const double e = na * nb / n;
  if (e <= 0) return 0.0;
  const double variance = kind == ResidualKind::kAdjusted ? e * (1 - na / n) * (1 - nb / n) : e;
  return variance > 0 ? (o - e) / std::sqrt(variance) : 0.0;
}

Eigen::MatrixXd ResidualMatrix(const Encoded& e, const PairCounts& counts, ResidualKind kind) {
  const int n = counts.size;
  const double records = static_cast<double>(e.records);
  Eigen::MatrixXd sr = Eigen::MatrixXd::Zero(n, n);
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      if (e.avs[a].attribute == e.avs[b].attribute) continue;
      const double r =
          Residual(static_cast<double>(counts.At(a, b)), static_cast<double>(e.counts[a]),
                   static_cast<double>(e.counts[b]), records, kind);
      sr(a, b) = sr(b, a) = r;
    }
  }
  return sr;
}

std::pair<double, double> PatternResidual(double observed, const std::vector<double>& p, double n) {
  double product = 1.0;
  for (double x : p) product *= x;
  const double e = n * product;
  if (e <= 0) return {0.0, 0.0};
  const double z = (observed - e) / std::sqrt(e);
  const double v = 1.0 - product;
  return {e, v > 0 ? z / std::sqrt(v) : 0.0};
}

double NormalCritical(double alpha) {
  // Solves erfc(x / sqrt(2)) = alpha by bisection: plenty fast and exact to 1e-12.
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erfc(mid / std::sqrt(2.0)) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace pdd
