#include "seer/gate.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "common/error.h"
#include "ops/ops.h"

namespace seer {
namespace {

using common::InvalidArgument;
using common::Throw;

constexpr const char* kPoolingNames[] = {"max", "min", "avg"};

// Pools rows [n, stride] of one head (offset `column`, width D) per block into
// out[nb, |pooling| * D], in the order the poolings are listed.
void PoolBlocks(const float* x, std::size_t stride, std::size_t column, int n, int head_dim,
                int block, const std::vector<Pooling>& pooling, float* out) {
  const int nb = (n + block - 1) / block;
  const int width = static_cast<int>(pooling.size()) * head_dim;
  std::vector<float> mx(head_dim), mn(head_dim), sum(head_dim);
  for (int b = 0; b < nb; ++b) {
    const int begin = b * block, end = std::min(n, begin + block);
    std::fill(mx.begin(), mx.end(), -std::numeric_limits<float>::infinity());
    std::fill(mn.begin(), mn.end(), std::numeric_limits<float>::infinity());
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (int t = begin; t < end; ++t) {
      const float* row = x + static_cast<std::size_t>(t) * stride + column;
      for (int c = 0; c < head_dim; ++c) {
        mx[c] = std::max(mx[c], row[c]);
        mn[c] = std::min(mn[c], row[c]);
        sum[c] += row[c];
      }
    }
    float* dst = out + static_cast<std::size_t>(b) * width;
    for (std::size_t p = 0; p < pooling.size(); ++p) {
      for (int c = 0; c < head_dim; ++c) {
        const float v = pooling[p] == Pooling::kMax   ? mx[c]
                        : pooling[p] == Pooling::kMin ? mn[c]
                                                      : sum[c] / static_cast<float>(end - begin);
        dst[p * head_dim + c] = v;
      }
    }
  }
}

std::vector<Pooling> ParsePoolings(const std::string& text, const std::string& type_name) {
  std::vector<Pooling> out;
  for (std::size_t pos = 0; pos < text.size();) {
    bool matched = false;
    for (int p = 0; p < 3; ++p) {
      const std::string name = kPoolingNames[p];
      if (text.compare(pos, name.size(), name) == 0) {
        out.push_back(static_cast<Pooling>(p));
        pos += name.size();
        matched = true;
        break;
      }
    }
    if (!matched) break;
  }
  if (out.empty()) {
    Throw<InvalidArgument>(
        "gate type '{}' is not of the form Q<poolings>_K<poolings> with max, min, avg", type_name);
  }
  return out;
}

}  // namespace

GateConfig GateConfig::ForModel(const ModelConfig& model, int block_size) {
  GateConfig c;
  c.block_size = block_size;
  c.d_gate = model.head_dim;
  c.model_name = model.name;
  c.n_layers = model.n_layers;
  c.q_heads = model.n_heads;
  c.kv_heads = model.n_kv_heads;
  c.head_dim = model.head_dim;
  c.rope_theta = model.rope_theta;
  return c;
}

bool GateConfig::HasQLinear() const {
  return q_pooling.size() > 1 || d_gate != head_dim || force_double;
}

std::string GateConfig::TypeName() const {
  std::string name = "Q";
  for (Pooling p : q_pooling) name += kPoolingNames[static_cast<int>(p)];
  name += "_K";
  for (Pooling p : k_pooling) name += kPoolingNames[static_cast<int>(p)];
  return name;
}

void GateConfig::SetType(const std::string& type_name) {
  const auto split = type_name.find("_K");
  if (type_name.size() < 2 || type_name[0] != 'Q' || split == std::string::npos) {
    Throw<InvalidArgument>("gate type '{}' is not of the form Q<poolings>_K<poolings>", type_name);
  }
  auto q = ParsePoolings(type_name.substr(1, split - 1), type_name);
  auto k = ParsePoolings(type_name.substr(split + 2), type_name);
  GateConfig parsed = *this;
  parsed.q_pooling = q;
  parsed.k_pooling = k;
  if (parsed.TypeName() != type_name) {
    Throw<InvalidArgument>(
        "gate type '{}' is not of the form Q<poolings>_K<poolings> with max, min, avg", type_name);
  }
  q_pooling = std::move(q);
  k_pooling = std::move(k);
}

void GateConfig::Validate() const {
  if (block_size != 16 && block_size != 32 && block_size != 64 && block_size != 128) {
    Throw<InvalidArgument>("gate block size {} is not one of 16, 32, 64, 128", block_size);
  }
  if (d_gate <= 0 || d_gate % 2 != 0 || d_gate > 1024) {
    Throw<InvalidArgument>("gate hidden size {} must be even and in 2..1024", d_gate);
  }
  if (n_layers <= 0 || q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads != 0 || head_dim <= 0) {
    Throw<InvalidArgument>(
        "gate model shape (layers {}, heads {}, kv heads {}, head_dim {}) is invalid", n_layers,
        q_heads, kv_heads, head_dim);
  }
  if (q_pooling.empty() || k_pooling.empty())
    Throw<InvalidArgument>("gate poolings must not be empty");
}

void GateConfig::CheckMatches(const ModelConfig& model) const {
  if (n_layers != model.n_layers || q_heads != model.n_heads || kv_heads != model.n_kv_heads ||
      head_dim != model.head_dim) {
    Throw<InvalidArgument>(
        "the gates are for a model with {} layers, {} heads, {} KV heads, head_dim {}, but the "
        "model has {}, {}, {}, "
        "{}",
        n_layers, q_heads, kv_heads, head_dim, model.n_layers, model.n_heads, model.n_kv_heads,
        model.head_dim);
  }
}

void Gates::Validate() const {
  config.Validate();
  if (static_cast<int>(layers.size()) != config.n_layers) {
    Throw<common::FormatError>("gates hold {} layers but the configuration says {}", layers.size(),
                               config.n_layers);
  }
  const std::size_t wk =
      static_cast<std::size_t>(config.KLinearHeads()) * config.KInputs() * config.d_gate;
  const std::size_t wq = config.HasQLinear() ? static_cast<std::size_t>(config.q_heads) *
                                                   config.QInputs() * config.d_gate
                                             : 0;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].wk.size() != wk || layers[l].wq.size() != wq) {
      Throw<common::FormatError>(
          "gate layer {} has {} K-linear and {} Q-linear weights; the configuration ({}, d_gate "
          "{}) needs {} and {}",
          l, layers[l].wk.size(), layers[l].wq.size(), config.TypeName(), config.d_gate, wk, wq);
    }
  }
}

Gates RandomGates(const GateConfig& config, std::uint64_t seed) {
  config.Validate();
  Gates gates{config, {}};
  std::mt19937_64 rng(seed);
  auto fill = [&](std::vector<float>& w, std::size_t size, int inputs) {
    std::normal_distribution<float> dist(0.0f, 1.0f / std::sqrt(static_cast<float>(inputs)));
    w.resize(size);
    for (float& x : w) x = dist(rng);
  };
  for (int l = 0; l < config.n_layers; ++l) {
    LayerGate layer;
    fill(layer.wk,
         static_cast<std::size_t>(config.KLinearHeads()) * config.KInputs() * config.d_gate,
         config.KInputs());
    if (config.HasQLinear()) {
      fill(layer.wq, static_cast<std::size_t>(config.q_heads) * config.QInputs() * config.d_gate,
           config.QInputs());
    }
    gates.layers.push_back(std::move(layer));
  }
  return gates;
}

BlockScores GateForward(const GateConfig& c, const LayerGate& gate, const float* q,
                        std::size_t q_stride, const float* k, std::size_t k_stride,
                        int num_tokens) {
  const int B = c.block_size, D = c.head_dim, G = c.d_gate;
  const int nb = (num_tokens + B - 1) / B;
  const int group = c.q_heads / c.kv_heads;
  const int q_in = c.QInputs(), k_in = c.KInputs();

  // Pooled keys per KV head: [kv_heads, nb, k_in].
  std::vector<float> k_pooled(static_cast<std::size_t>(c.kv_heads) * nb * k_in);
#pragma omp parallel for schedule(static)
  for (int g = 0; g < c.kv_heads; ++g) {
    PoolBlocks(k, k_stride, static_cast<std::size_t>(g) * D, num_tokens, D, B, c.k_pooling,
               k_pooled.data() + static_cast<std::size_t>(g) * nb * k_in);
  }
  // Projected keys per K-linear head: [KLinearHeads, nb, G]. RoPE at each block's first token.
  const int k_heads = c.KLinearHeads();
  std::vector<float> k_proj(static_cast<std::size_t>(k_heads) * nb * G);
#pragma omp parallel for schedule(static)
  for (int h = 0; h < k_heads; ++h) {
    const int g = c.HasQLinear() ? h : h / group;
    float* out = k_proj.data() + static_cast<std::size_t>(h) * nb * G;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, G, k_in, 1.0f,
                k_pooled.data() + static_cast<std::size_t>(g) * nb * k_in, k_in,
                gate.wk.data() + static_cast<std::size_t>(h) * k_in * G, G, 0.0f, out, G);
    ops::Rope(out, nb, 1, G, 0, c.rope_theta, B);
  }

  BlockScores scores;
  scores.heads = c.q_heads;
  scores.num_blocks = nb;
  scores.values.resize(static_cast<std::size_t>(c.q_heads) * nb * nb);
  const float scale = 1.0f / std::sqrt(static_cast<float>(G));
#pragma omp parallel
  {
    std::vector<float> q_pooled(static_cast<std::size_t>(nb) * q_in),
        q_proj(static_cast<std::size_t>(nb) * G);
#pragma omp for schedule(static)
    for (int h = 0; h < c.q_heads; ++h) {
      PoolBlocks(q, q_stride, static_cast<std::size_t>(h) * D, num_tokens, D, B, c.q_pooling,
                 q_pooled.data());
      if (c.HasQLinear()) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, G, q_in, 1.0f, q_pooled.data(),
                    q_in, gate.wq.data() + static_cast<std::size_t>(h) * q_in * G, G, 0.0f,
                    q_proj.data(), G);
      } else {
        q_proj = q_pooled;  // q_in == G here.
      }
      ops::Rope(q_proj.data(), nb, 1, G, 0, c.rope_theta, B);
      const int kh = c.HasQLinear() ? h / group : h;
      float* s = scores.Row(h, 0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, nb, G, scale, q_proj.data(), G,
                  k_proj.data() + static_cast<std::size_t>(kh) * nb * G, G, 0.0f, s, nb);
      for (int i = 0; i < nb; ++i) {
        std::fill(s + static_cast<std::size_t>(i) * nb + i + 1,
                  s + static_cast<std::size_t>(i + 1) * nb,
                  -std::numeric_limits<float>::infinity());
      }
    }
  }
  return scores;
}

void SoftmaxRows(BlockScores& scores) {
  if (scores.probabilities) return;
  const int nb = scores.num_blocks;
  for (int h = 0; h < scores.heads; ++h) {
    for (int i = 0; i < nb; ++i) {
      float* row = scores.Row(h, i);
      const float mx = *std::max_element(row, row + i + 1);
      float sum = 0.0f;
      for (int j = 0; j <= i; ++j) sum += (row[j] = std::exp(row[j] - mx));
      for (int j = 0; j <= i; ++j) row[j] /= sum;
    }
  }
  scores.probabilities = true;
}

}  // namespace seer
