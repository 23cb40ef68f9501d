// AVX2 FMA micro-kernels for nanolab::sgemm (CPUs without AVX-512).
// Compiled through function attributes, like gemm_avx512.cc; see the notes there.
#define NANOLAB_GEMM_INTERNAL
#include "gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define NL_TARGET __attribute__((target("avx2,fma")))

namespace nanolab {
namespace gemm_detail {
namespace {

// Micro-tile: 6 rows x 16 columns = 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of
// the 16 ymm registers. Per k: 2 loads + 6 broadcasts for 12 FMAs.
constexpr int MR = 6;
constexpr int NR = 16;

// Operand access, as in the AVX-512 kernels.
enum Mode {
  kPacked = 0,   // A packed (a[p*MR + i]: one pointer), B packed and zero padded
  kStrided = 1,  // A in place through row pointers, B in place, full vectors
  kMasked = 2,   // as kStrided, but the last B vector ends past n: vmaskmov loads (slower)
};

// Same contract as the AVX-512 kernel: rows >= m re-read row m-1, columns >= n are masked.
template <int R, int NV, int MODE>
NL_TARGET void ukr(int k, const float* a, long long ars, long long acs, int m,
                   const float* b, long long bs, int n,
                   float* c, long long ldc, float alpha, float beta) {
  const float* ap[R];
  for (int i = 0; i < R; ++i) ap[i] = a + (i < m ? i : m - 1) * ars;
  __m256i mk[NV];
  for (int v = 0; v < NV; ++v) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    mk[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8 * v), lane);  // lane < n - 8v
  }
  for (int i = 0; i < m; ++i) _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0);

  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 2
  for (int p = 0; p < k; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      bv[v] = MODE == kMasked ? _mm256_maskload_ps(b + p * bs + 8 * v, mk[v]) : _mm256_loadu_ps(b + p * bs + 8 * v);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_broadcast_ss(MODE == kPacked ? a + p * MR + i : ap[i] + p * acs);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }

  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    if (i >= m) break;
    float* cr = c + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m256 r = _mm256_mul_ps(va, acc[i][v]);
      if (n < 8 * NV) {
        if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8 * v, mk[v]), r);
        _mm256_maskstore_ps(cr + 8 * v, mk[v], r);
      } else {
        if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8 * v), r);
        _mm256_storeu_ps(cr + 8 * v, r);
      }
    }
  }
}

typedef void (*UkrFn)(int, const float*, long long, long long, int, const float*, long long, int,
                      float*, long long, float, float);

// [mode][rows variant {1,2,4,6}][vectors-1]
#define NL_ROW(R, M) {ukr<R, 1, M>, ukr<R, 2, M>}
#define NL_MODE(M) {NL_ROW(1, M), NL_ROW(2, M), NL_ROW(4, M), NL_ROW(6, M)}
const UkrFn kUkr[3][4][2] = {NL_MODE(kPacked), NL_MODE(kStrided), NL_MODE(kMasked)};
#undef NL_MODE
#undef NL_ROW
inline int row_variant(int m) { return m >= 5 ? 3 : m >= 3 ? 2 : m - 1; }

NL_TARGET void block(const Block& bk) {
  for (int i0 = 0; i0 < bk.m; i0 += MR) {
    const int mr = bk.m - i0 < MR ? bk.m - i0 : MR;
    const float* a = bk.a + (long long)(i0 / MR) * bk.a_sliver;
    const int rv = row_variant(mr);
    for (int j0 = 0; j0 < bk.n; j0 += NR) {
      const int nr = bk.n - j0 < NR ? bk.n - j0 : NR;
      const int nv = (nr + 7) / 8;
      const float* b = bk.b + (long long)(j0 / NR) * bk.b_sliver;
      const int mode = bk.packed ? kPacked : nr == 8 * nv ? kStrided : kMasked;
      kUkr[mode][rv][nv - 1](bk.k, a, bk.ars, bk.acs, mr, b, bk.bs, nr,
                             bk.c + (long long)i0 * bk.ldc + j0, bk.ldc, bk.alpha, bk.beta);
    }
  }
}

const Isa kIsa = {"avx2-fma 6x16", MR, NR, block, nullptr, nullptr};

}  // namespace

const Isa* isa_avx2() { return &kIsa; }

}  // namespace gemm_detail
}  // namespace nanolab

#else
namespace nanolab {
namespace gemm_detail {
const Isa* isa_avx2() { return nullptr; }
}  // namespace gemm_detail
}  // namespace nanolab
#endif
