#include "bench_attention.h"

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "common/error.h"
#include "seer/attention.h"
#include "seer/block_selection.h"
#include "seer/gate.h"

namespace seer::cli {
namespace {

// Returns the best wall time of `repeats` runs of `fn` after one warm-up run.
template <class Fn>
double BestSeconds(int repeats, Fn&& fn) {
  fn();
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

std::vector<float> RandomVector(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace

void BenchAttention(const BenchAttentionOptions& o) {
  if (o.heads <= 0 || o.kv_heads <= 0 || o.heads % o.kv_heads != 0 || o.seq <= 0 ||
      o.repeats <= 0) {
    common::Throw<common::InvalidArgument>(
        "bench attention: --heads must be a positive multiple of --kv-heads, --seq and --repeats "
        "positive");
  }
  const std::size_t q_size = static_cast<std::size_t>(o.seq) * o.heads * o.head_dim;
  const std::size_t kv_size = static_cast<std::size_t>(o.seq) * o.kv_heads * o.head_dim;
  const auto q = RandomVector(q_size, 1), k = RandomVector(kv_size, 2),
             v = RandomVector(kv_size, 3);
  std::vector<float> out(q_size);
  const AttentionProblem problem{q.data(),
                                 static_cast<std::size_t>(o.heads) * o.head_dim,
                                 k.data(),
                                 v.data(),
                                 static_cast<std::size_t>(o.kv_heads) * o.head_dim,
                                 out.data(),
                                 static_cast<std::size_t>(o.heads) * o.head_dim,
                                 o.heads,
                                 o.kv_heads,
                                 o.head_dim};
  const BlockMask mask = BlockMask::DenseCausal(o.heads, o.seq, o.block);

  constexpr int kGemm = 2048;
  const auto a = RandomVector(kGemm * kGemm, 4), b = RandomVector(kGemm * kGemm, 5);
  std::vector<float> c(kGemm * kGemm);
  const double sgemm_s = BestSeconds(o.repeats, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kGemm, kGemm, kGemm, 1.0f, a.data(),
                kGemm, b.data(), kGemm, 0.0f, c.data(), kGemm);
  });
  const double sgemm_gflops = 2.0 * kGemm * kGemm * kGemm / sgemm_s * 1e-9;
  const double dense_s = BestSeconds(o.repeats, [&] { FlashAttention(problem, mask); });
  const double flops = 4.0 * o.head_dim * o.heads * (static_cast<double>(o.seq) * (o.seq + 1) / 2);
  const double dense_gflops = flops / dense_s * 1e-9;
  const double ratio = dense_gflops / sgemm_gflops;

  fmt::print("attention heads={} kv_heads={} head_dim={} seq={} block={} threads={}\n", o.heads,
             o.kv_heads, o.head_dim, o.seq, o.block, omp_get_max_threads());
  fmt::print("{:<28} {:>10} {:>10}\n", "kernel", "seconds", "GFLOP/s");
  fmt::print("{:<28} {:>10.4f} {:>10.1f}\n", "sgemm 2048^3 (OpenBLAS)", sgemm_s, sgemm_gflops);
  fmt::print("{:<28} {:>10.4f} {:>10.1f}\n", "dense causal flash", dense_s, dense_gflops);
  nlohmann::json result = {{"heads", o.heads},       {"kv_heads", o.kv_heads},
                           {"head_dim", o.head_dim}, {"seq", o.seq},
                           {"block", o.block},       {"threads", omp_get_max_threads()},
                           {"dense_s", dense_s},     {"dense_gflops", dense_gflops},
                           {"sgemm_s", sgemm_s},     {"sgemm_gflops", sgemm_gflops},
                           {"ratio_to_sgemm", ratio}};
  if (o.density) {
    // A random mask of exactly the requested density over all causal blocks (diagonal included).
    BlockScores random = RandomScores(o.heads, o.seq, o.block, 6);
    const float density = static_cast<float>(*o.density);
    const BlockMask sparse_mask =
        SelectBlocks(random, o.seq, o.block,
                     {.method = SelectionOptions::Method::kTargetDensity, .density = density});
    const double sparse_s = BestSeconds(o.repeats, [&] { FlashAttention(problem, sparse_mask); });

    // The gate for the same shape: pooling, linears, RoPE, scores and per-row top-k selection.
    GateConfig config;
    config.block_size = o.block;
    config.d_gate = o.head_dim;
    config.n_layers = 1;
    config.q_heads = o.heads;
    config.kv_heads = o.kv_heads;
    config.head_dim = o.head_dim;
    const Gates gates = RandomGates(config, 7);
    const double gate_s = BestSeconds(o.repeats, [&] {
      BlockScores scores = GateForward(config, gates.layers[0], q.data(), problem.q_stride,
                                       k.data(), problem.kv_stride, o.seq);
      SelectBlocks(scores, o.seq, o.block,
                   {.method = SelectionOptions::Method::kDensity, .density = density});
    });
    fmt::print("{:<28} {:>10.4f}\n",
               fmt::format("block-sparse, density {:.4f}", sparse_mask.Density()), sparse_s);
    fmt::print("{:<28} {:>10.4f}\n", "gate (pool+linear+select)", gate_s);
    fmt::print("sparse speedup over dense: {:.2f}x; gate / dense time: {:.2f}%\n",
               dense_s / sparse_s, 100.0 * gate_s / dense_s);
    result["density"] = *o.density;
    result["achieved_density"] = sparse_mask.Density();
    result["sparse_s"] = sparse_s;
    result["speedup"] = dense_s / sparse_s;
    result["gate_s"] = gate_s;
    result["gate_fraction_of_dense"] = gate_s / dense_s;
  }
  fmt::print("dense / sgemm rate: {:.3f}\n", ratio);
  if (o.json) fmt::print("{}\n", result.dump());
}

}  // namespace seer::cli
