#include "pdd/disentangle.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <numeric>

namespace pdd {

Disentanglement Disentangle(const Eigen::MatrixXd& sr, const Encoded& e, Variant variant,
                            double tau) {
  const Eigen::Index n = sr.rows();
  Disentanglement out;
  out.variant = variant;
  out.tau = tau;
  if (n == 0) return out;

  Eigen::MatrixXd centred;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver;
  if (variant == Variant::kA) {
    centred = sr.rowwise() - sr.colwise().mean();
    const Eigen::MatrixXd covariance =
        centred.transpose() * centred / std::max<double>(1.0, static_cast<double>(n - 1));
    solver.compute(covariance);
  } else {
    solver.compute(sr);
  }
  const Eigen::VectorXd values = solver.eigenvalues();
  const Eigen::MatrixXd vectors = solver.eigenvectors();
  // Explained variance: lambda for A (covariance eigenvalues), lambda^2 for B.
  std::vector<double> variance(static_cast<std::size_t>(n));
  for (Eigen::Index k = 0; k < n; ++k)
    variance[k] = variant == Variant::kA ? std::max(0.0, values(k)) : values(k) * values(k);
  const double total = std::accumulate(variance.begin(), variance.end(), 0.0);
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return variance[a] > variance[b]; });

  Eigen::MatrixXd covered = Eigen::MatrixXd::Zero(n, n);  // 1 where a kept space has RSR > tau.
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const Eigen::Index k = order[rank];
    if (variance[k] <= total * 1e-12) break;  // Numerically empty components.
    Space s;
    s.component = static_cast<int>(rank);
    s.eigenvalue = values(k);
    s.variance_share = total > 0 ? variance[k] / total : 0.0;
    const Eigen::VectorXd u = vectors.col(k);
    Eigen::MatrixXd rsr;
    if (variant == Variant::kA) {
      s.projection = centred * u;  // t_k
      rsr = s.projection * u.transpose();
    } else {
      s.projection = u;
      rsr = values(k) * u * u.transpose();
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = i + 1; j < n; ++j) {
        if (e.avs[i].attribute != e.avs[j].attribute && std::max(rsr(i, j), rsr(j, i)) > tau)
          ++s.significant_pairs;
      }
    }
    s.kept = s.significant_pairs > 0;
    if (s.kept) {
      for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < n; ++j) {
          if (std::max(rsr(i, j), rsr(j, i)) > tau) covered(i, j) = 1;
        }
      }
      s.rsr = std::move(rsr);
    }
    out.spaces.push_back(std::move(s));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = i + 1; j < n; ++j) {
      if (sr(i, j) > tau && covered(i, j) == 0)
        out.uncovered.emplace_back(static_cast<int>(i), static_cast<int>(j));
    }
  }
  return out;
}

}  // namespace pdd
