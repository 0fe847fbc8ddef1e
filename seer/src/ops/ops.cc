#include "ops/ops.h"

#include <cblas.h>

#include <cmath>
#include <vector>

namespace seer::ops {

void RmsNorm(const float* x, const float* weight, float* out, int rows, int size, float eps) {
  for (int r = 0; r < rows; ++r) {
    const float* in = x + static_cast<long>(r) * size;
    float* o = out + static_cast<long>(r) * size;
    float ss = 0.0f;
    for (int i = 0; i < size; ++i) ss += in[i] * in[i];
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(size) + eps);
    for (int i = 0; i < size; ++i) o[i] = weight[i] * (inv * in[i]);
  }
}

void Linear(const float* x, const Matrix& w, float* y, int rows) {
  if (rows == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, w.rows, w.cols, 1.0f, w.data, w.cols, x, 1, 0.0f, y,
                1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, w.rows, w.cols, 1.0f, x, w.cols,
              w.data, w.cols, 0.0f, y, w.rows);
}

void Rope(float* x, int rows, int heads, int head_dim, int first_pos, float theta, int step) {
  const int half = head_dim / 2;
  std::vector<double> inv_freq(static_cast<std::size_t>(half));
  for (int i = 0; i < half; ++i)
    inv_freq[i] = std::pow(static_cast<double>(theta), -2.0 * i / head_dim);
  std::vector<float> cos_sin(static_cast<std::size_t>(2 * half));
  for (int r = 0; r < rows; ++r) {
    const double pos = first_pos + static_cast<double>(r) * step;
    for (int i = 0; i < half; ++i) {
      cos_sin[2 * i] = static_cast<float>(std::cos(pos * inv_freq[i]));
      cos_sin[2 * i + 1] = static_cast<float>(std::sin(pos * inv_freq[i]));
    }
    float* row = x + static_cast<long>(r) * heads * head_dim;
    for (int h = 0; h < heads; ++h) {
      float* v = row + h * head_dim;
      for (int i = 0; i < half; ++i) {
        const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
        const float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
      }
    }
  }
}

void SwiGlu(float* gate, const float* up, long count) {
  for (long i = 0; i < count; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace seer::ops
