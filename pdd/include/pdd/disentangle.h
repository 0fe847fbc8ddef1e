// Disentanglement of the SR matrix into spaces by principal components (reconstructed from the
// PDD papers; both variants of DESIGN.md are offered).
//
//  Variant A (default): the rows of SR are AV vectors; centre the columns, eigendecompose their
//    covariance; t_ik is AV i's projection on PC k and RSR_k(i, j) = t_ik * u_kj (what MATLAB's
//    or scikit-learn's pca gives).
//  Variant B: SR = sum_k lambda_k u_k u_k^T; RSR_k = lambda_k u_k u_k^T (sums back to SR exactly).
// Components are ranked by explained variance; a space is kept when some pair of AVs of
// different attributes has RSR_k > tau.
#pragma once

#include <Eigen/Dense>
#include <utility>
#include <vector>

#include "pdd/encoding.h"

namespace pdd {

enum class Variant { kA, kB };

struct Space {
  int component = 0;  // Rank by explained variance, from 0.
  double eigenvalue = 0;
  double variance_share = 0;  // Of the total over all components.
  int significant_pairs = 0;  // Pairs of different attributes with RSR > tau.
  bool kept = false;
  Eigen::VectorXd projection;  // Per AV: t_k (A) or u_k (B); its sign makes the groups.
  Eigen::MatrixXd rsr;         // The re-projected residuals; only held for kept spaces.
};

struct Disentanglement {
  Variant variant = Variant::kA;
  double tau = 1.96;
  std::vector<Space> spaces;                   // Ranked.
  std::vector<std::pair<int, int>> uncovered;  // Significant raw pairs no kept space covers.
};

// Decomposes `sr` into ranked spaces under `variant`, keeping those with a pair above `tau`.
Disentanglement Disentangle(const Eigen::MatrixXd& sr, const Encoded& encoded, Variant variant,
                            double tau);

}  // namespace pdd
