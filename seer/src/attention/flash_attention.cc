// Tiled causal flash attention on the CPU, compiled for every SIMD target Highway knows and
// dispatched at run time. One loop serves dense and block-sparse attention: a dense causal mask
// simply lists every block.
//
// Per (query head, query block) row of the mask, with B = block size and D = head_dim:
//   Qs = Q[block] * 1/sqrt(D)                     [B, D]   (copied once per row)
//   for each listed key block kb (ascending):
//     S  = Qs . Kt[kb]                            [B, B]   (K pre-packed transposed, [D, B])
//     mask j > i on the diagonal block
//     m' = max(m, rowmax S); P = exp(S - m'); l = l * e^(m - m') + rowsum P; O *= e^(m - m')
//     O += P . V[kb]                              [B, D]
//   out = O / l
// Both products are register-blocked micro-kernels: 4 rows x 2 vectors of accumulators, one
// broadcast operand and one streamed operand, which keeps the FMA units busy.

// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attention/flash_attention.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>
// clang-format on

#include "attention/flash_internal.h"

HWY_BEFORE_NAMESPACE();
namespace seer {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::CappedTag<float, 16>;
// Rows per micro-kernel tile (block sizes are multiples of 16): 8 x 2 accumulators fit the 32
// vector registers of AVX-512, 4 x 2 the 16 of narrower targets.
#if HWY_TARGET <= HWY_AVX3
constexpr int kRows = 8;
#else
constexpr int kRows = 4;
#endif

// S[r, c..c+NV*L) = sum_k Qs[r, k] * Kt[k, c..) for rows r..r+3.
template <int NV>
HWY_INLINE void ScoreTile(const float* HWY_RESTRICT qs, const float* HWY_RESTRICT kt,
                          float* HWY_RESTRICT s, int r, int c, int head_dim, int block) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  using V = hn::Vec<DF>;
  V acc[kRows][NV];
  for (auto& row : acc)
    for (auto& a : row) a = hn::Zero(d);
  const float* q0 = qs + r * head_dim;
  for (int k = 0; k < head_dim; ++k) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = hn::Load(d, kt + k * block + c + v * L);
    for (int i = 0; i < kRows; ++i) {
      const V a = hn::Set(d, q0[i * head_dim + k]);
      for (int v = 0; v < NV; ++v) acc[i][v] = hn::MulAdd(a, b[v], acc[i][v]);
    }
  }
  for (int i = 0; i < kRows; ++i) {
    for (int v = 0; v < NV; ++v) hn::Store(acc[i][v], d, s + (r + i) * block + c + v * L);
  }
}

// O[r.., c..c+NV*L) += sum_j P[r.., j] * V[j, c..) for rows r..r+3 and the first `keys` keys.
template <int NV>
HWY_INLINE void ValueTile(const float* HWY_RESTRICT p, const float* HWY_RESTRICT v_rows,
                          std::size_t v_stride, float* HWY_RESTRICT o, int r, int c, int keys,
                          int head_dim, int block) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  using V = hn::Vec<DF>;
  V acc[kRows][NV];
  for (int i = 0; i < kRows; ++i) {
    for (int v = 0; v < NV; ++v) acc[i][v] = hn::LoadU(d, o + (r + i) * head_dim + c + v * L);
  }
  const float* p0 = p + r * block;
  for (int j = 0; j < keys; ++j) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = hn::LoadU(d, v_rows + j * v_stride + c + v * L);
    for (int i = 0; i < kRows; ++i) {
      const V a = hn::Set(d, p0[i * block + j]);
      for (int v = 0; v < NV; ++v) acc[i][v] = hn::MulAdd(a, b[v], acc[i][v]);
    }
  }
  for (int i = 0; i < kRows; ++i) {
    for (int v = 0; v < NV; ++v) hn::StoreU(acc[i][v], d, o + (r + i) * head_dim + c + v * L);
  }
}

// Turns the score rows into probabilities relative to the running max and rescales O.
HWY_INLINE void OnlineSoftmax(float* HWY_RESTRICT s, float* HWY_RESTRICT o, float* HWY_RESTRICT m,
                              float* HWY_RESTRICT l, int rows, int block, int head_dim,
                              bool diagonal) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int r = 0; r < rows; ++r) {
    float* row = s + r * block;
    if (diagonal) std::fill(row + r + 1, row + block, kNegInf);
    auto vmax = hn::Set(d, kNegInf);
    for (int j = 0; j < block; j += L) vmax = hn::Max(vmax, hn::Load(d, row + j));
    const float block_max = hn::GetLane(hn::MaxOfLanes(d, vmax));
    const float new_max = std::max(m[r], block_max);
    if (new_max == kNegInf) {  // Nothing visible yet: contribute nothing.
      std::fill(row, row + block, 0.0f);
      continue;
    }
    const auto vm = hn::Set(d, new_max);
    auto vsum = hn::Zero(d);
    for (int j = 0; j < block; j += L) {
      const auto e = hn::Exp(d, hn::Sub(hn::Load(d, row + j), vm));
      hn::Store(e, d, row + j);
      vsum = hn::Add(vsum, e);
    }
    const float alpha = std::exp(m[r] - new_max);
    l[r] = l[r] * alpha + hn::GetLane(hn::SumOfLanes(d, vsum));
    m[r] = new_max;
    if (alpha != 1.0f) {
      float* orow = o + r * head_dim;
      int c = 0;
      for (; c + L <= head_dim; c += L)
        hn::StoreU(hn::Mul(hn::LoadU(d, orow + c), hn::Set(d, alpha)), d, orow + c);
      for (; c < head_dim; ++c) orow[c] *= alpha;
    }
  }
}

void AttendQueryBlock(const FlashPlan& plan, FlashScratch& scratch, int row) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  const AttentionProblem& p = *plan.problem;
  const BlockMask& mask = *plan.mask;
  const int B = mask.block_size, D = p.head_dim, nb = mask.num_blocks();
  const int head = row / nb, qb = row % nb;
  const int kv_head = head / (p.q_heads / p.kv_heads);
  const int q0 = qb * B;
  const int valid_rows = std::min(B, mask.num_tokens - q0);
  const int rows = (valid_rows + kRows - 1) / kRows * kRows;

  float* qs = scratch.q;
  float* o = scratch.o;
  for (int r = 0; r < rows; ++r) {
    const float* src =
        p.q + static_cast<std::size_t>(q0 + r) * p.q_stride + static_cast<std::size_t>(head) * D;
    for (int c = 0; c < D; ++c) qs[r * D + c] = r < valid_rows ? src[c] * plan.scale : 0.0f;
  }
  std::fill(o, o + rows * D, 0.0f);
  std::fill(scratch.m, scratch.m + rows, -std::numeric_limits<float>::infinity());
  std::fill(scratch.l, scratch.l + rows, 0.0f);

  for (int idx = mask.row_ptr[row]; idx < mask.row_ptr[row + 1]; ++idx) {
    const int kb = mask.col_idx[idx];
    const int keys = std::min(B, mask.num_tokens - kb * B);
    const float* kt = plan.k_packed + (static_cast<std::size_t>(kv_head) * nb + kb) * D * B;
    int c = 0;
    for (; c + 2 * L <= B; c += 2 * L) {
      for (int r = 0; r < rows; r += kRows) ScoreTile<2>(qs, kt, scratch.s, r, c, D, B);
    }
    for (; c < B; c += L) {
      for (int r = 0; r < rows; r += kRows) ScoreTile<1>(qs, kt, scratch.s, r, c, D, B);
    }
    if (keys < B) {  // Keys past the end of the sequence (last block only).
      for (int r = 0; r < rows; ++r) {
        std::fill(scratch.s + r * B + keys, scratch.s + (r + 1) * B,
                  -std::numeric_limits<float>::infinity());
      }
    }
    OnlineSoftmax(scratch.s, o, scratch.m, scratch.l, rows, B, D, kb == qb);

    const float* v_rows = plan.v_packed + (static_cast<std::size_t>(kv_head) * nb + kb) * B * D;
    int dc = 0;
    for (; dc + 2 * L <= D; dc += 2 * L) {
      for (int r = 0; r < rows; r += kRows)
        ValueTile<2>(scratch.s, v_rows, D, o, r, dc, keys, D, B);
    }
    for (; dc + L <= D; dc += L) {
      for (int r = 0; r < rows; r += kRows)
        ValueTile<1>(scratch.s, v_rows, D, o, r, dc, keys, D, B);
    }
    for (; dc < D; ++dc) {  // Head dims that are not a multiple of the vector width.
      for (int r = 0; r < rows; ++r) {
        float acc = o[r * D + dc];
        for (int j = 0; j < keys; ++j) acc += scratch.s[r * B + j] * v_rows[j * D + dc];
        o[r * D + dc] = acc;
      }
    }
  }

  for (int r = 0; r < valid_rows; ++r) {
    float* dst = p.out + static_cast<std::size_t>(q0 + r) * p.out_stride +
                 static_cast<std::size_t>(head) * D;
    const float inv = scratch.l[r] > 0.0f ? 1.0f / scratch.l[r] : 0.0f;
    for (int c = 0; c < D; ++c) dst[c] = o[r * D + c] * inv;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace seer
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <numeric>

#include "common/error.h"
#include "hwy/aligned_allocator.h"

namespace seer {

HWY_EXPORT(AttendQueryBlock);

void FlashAttention(const AttentionProblem& p, const BlockMask& mask) {
  const int B = mask.block_size, D = p.head_dim, N = mask.num_tokens;
  if (p.q_heads <= 0 || p.kv_heads <= 0 || p.q_heads % p.kv_heads != 0) {
    common::Throw<common::InvalidArgument>(
        "attention: {} query heads are not a multiple of {} KV heads", p.q_heads, p.kv_heads);
  }
  if (D < 1 || D > 256)
    common::Throw<common::InvalidArgument>("attention: head_dim {} is outside 1..256", D);
  if (B % 16 != 0 || B > 256) {
    common::Throw<common::InvalidArgument>(
        "attention: block size {} must be a multiple of 16 up to 256", B);
  }
  if (mask.num_heads != p.q_heads) {
    common::Throw<common::InvalidArgument>(
        "attention: the block mask has {} heads but the query has {}", mask.num_heads, p.q_heads);
  }
  mask.Validate();
  const int nb = mask.num_blocks();

  // Packs K transposed and V as is per (KV head, key block): [kv_heads][nb][D][B] and
  // [kv_heads][nb][B][D], zero past the sequence end. Contiguous blocks keep the micro-kernels'
  // streamed operand in L1 (a row stride of kv_heads * D floats would alias cache sets).
  const std::size_t packed_size = static_cast<std::size_t>(p.kv_heads) * nb * D * B;
  auto k_packed = hwy::AllocateAligned<float>(packed_size);
  auto v_packed = hwy::AllocateAligned<float>(packed_size);
#pragma omp parallel for schedule(static)
  for (int item = 0; item < p.kv_heads * nb; ++item) {
    const int kv_head = item / nb, kb = item % nb;
    float* k_dst = k_packed.get() + static_cast<std::size_t>(item) * D * B;
    float* v_dst = v_packed.get() + static_cast<std::size_t>(item) * D * B;
    for (int j = 0; j < B; ++j) {
      const int t = kb * B + j;
      const std::size_t src =
          static_cast<std::size_t>(t) * p.kv_stride + static_cast<std::size_t>(kv_head) * D;
      for (int c = 0; c < D; ++c) {
        k_dst[c * B + j] = t < N ? p.k[src + c] : 0.0f;
        v_dst[j * D + c] = t < N ? p.v[src + c] : 0.0f;
      }
    }
  }

  const FlashPlan plan{&p, &mask, k_packed.get(), v_packed.get(),
                       1.0f / std::sqrt(static_cast<float>(D))};
  // Heaviest rows first so that dynamic scheduling ends with small items: balanced causal work.
  std::vector<int> order(static_cast<std::size_t>(p.q_heads) * nb);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return mask.row_ptr[a + 1] - mask.row_ptr[a] > mask.row_ptr[b + 1] - mask.row_ptr[b];
  });
#pragma omp parallel
  {
    auto q = hwy::AllocateAligned<float>(static_cast<std::size_t>(B) * D);
    auto o = hwy::AllocateAligned<float>(static_cast<std::size_t>(B) * D);
    auto s = hwy::AllocateAligned<float>(static_cast<std::size_t>(B) * B);
    auto m = hwy::AllocateAligned<float>(B);
    auto l = hwy::AllocateAligned<float>(B);
    FlashScratch scratch{q.get(), s.get(), o.get(), m.get(), l.get()};
#pragma omp for schedule(dynamic, 1)
    for (std::size_t i = 0; i < order.size(); ++i) {
      HWY_DYNAMIC_DISPATCH(AttendQueryBlock)(plan, scratch, order[i]);
    }
  }
}

}  // namespace seer
#endif  // HWY_ONCE
