// Row-wise building blocks of the forward pass, on fp32 row-major activations.
#pragma once

#include "seer/model.h"

namespace seer::ops {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for `rows` rows of `size`.
void RmsNorm(const float* x, const float* weight, float* out, int rows, int size, float eps);

// y[rows, w.rows] = x[rows, w.cols] . w^T (OpenBLAS SGEMM; a GEMV when rows == 1).
void Linear(const float* x, const Matrix& w, float* y, int rows);

// Rotates adjacent pairs (2i, 2i+1) of every head by pos * theta^(-2i/head_dim), for `rows` rows
// at positions first_pos, first_pos + step, ...; each row holds `heads` heads of `head_dim`.
void Rope(float* x, int rows, int heads, int head_dim, int first_pos, float theta, int step = 1);

// gate[i] = silu(gate[i]) * up[i] for `count` elements.
void SwiGlu(float* gate, const float* up, long count);

}  // namespace seer::ops
