// AVX-512 FMA micro-kernels for nanolab::sgemm.
//
// Everything in this file is compiled for AVX-512 through function attributes (not a per-file
// -mavx512f), so the addon builds with the default flags and still loads on CPUs without
// AVX-512; gemm.cc only calls in here after __builtin_cpu_supports("avx512f") said yes.
// All code sits in an anonymous namespace so no AVX-512 copy of an inline/template function can
// be merged (ODR) with a generic copy used elsewhere.
#define NANOLAB_GEMM_INTERNAL
#include "gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define NL_TARGET __attribute__((target("avx512f,fma")))

// GCC 12 flags the _mm512_undefined_ps() inside its own shuffle intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nanolab {
namespace gemm_detail {
namespace {

// Micro-tile: 6 rows x 64 columns = 24 zmm accumulators. Per k step: 4 vector loads of B and 6
// broadcasts of A feed 24 FMAs (12 cycles at 2 FMA/cycle), so loads never limit us, and there
// are enough independent accumulators (24 >= 2 ports x 4 cycles latency) to hide FMA latency.
// Six rows also means only six A row pointers, which fit in registers together with the B
// pointer and strides (a 12-row variant spilled), so one kernel serves packed A, A^T in place
// and row-major A in place.
constexpr int MR = 6;
constexpr int NR = 64;

// How the micro-kernel reads its operands.
enum Mode {
  kPacked = 0,   // A packed (a[p*MR + i]), B packed and zero padded: plain loads
  kStrided = 1,  // A in place through 6 row pointers, B in place, full vectors
  kMasked = 2,   // as kStrided, but the last B vector ends past n: masked loads
};

// C[0:m, 0:n] = alpha * A[0:m, 0:k] @ B[0:k, 0:n] + beta * C  for m <= R, n <= 16*NV.
// A element (i,p) = a[i*ars + p*acs]; B element (p,j) = b[p*bs + j].
// Rows i >= m re-read row m-1 (computed, never stored) so we never read outside A; columns
// j >= n are either zero padding (packed B) or masked off, and never stored.
template <int R, int NV, int MODE>
NL_TARGET void ukr(int k, const float* a, long long ars, long long acs, int m,
                   const float* b, long long bs, int n,
                   float* c, long long ldc, float alpha, float beta) {
  const float* ap[R];
  for (int i = 0; i < R; ++i) ap[i] = a + (i < m ? i : m - 1) * ars;
  __mmask16 mk[NV];
  for (int v = 0; v < NV; ++v) {
    const int r = n - 16 * v;
    mk[v] = r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
  }
  // C is only needed after the k loop: start pulling the tile in now.
  for (int i = 0; i < m; ++i)
    for (int v = 0; v < NV; ++v) _mm_prefetch((const char*)(c + i * ldc + 16 * v), _MM_HINT_T0);

  __m512 acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 2
  for (int p = 0; p < k; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = MODE == kMasked ? _mm512_maskz_loadu_ps(mk[v], b + p * bs + 16 * v)
                              : _mm512_loadu_ps(b + p * bs + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m512 av = _mm512_set1_ps(MODE == kPacked ? a[p * MR + i] : ap[i][p * acs]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }

  // Epilogue. Loop bounds are compile-time so acc stays in registers; beta == 0 must not read C.
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    if (i >= m) break;
    float* cr = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], cr + 16 * v), r);
      _mm512_mask_storeu_ps(cr + 16 * v, mk[v], r);
    }
  }
}

typedef void (*UkrFn)(int, const float*, long long, long long, int, const float*, long long, int,
                      float*, long long, float, float);

// Kernel variants [mode][rows {1,2,4,6}][vectors-1]: edge tiles run a smaller kernel instead of
// computing (and discarding) a full 6x64 tile.
#define NL_ROW(R, M) {ukr<R, 1, M>, ukr<R, 2, M>, ukr<R, 3, M>, ukr<R, 4, M>}
#define NL_MODE(M) {NL_ROW(1, M), NL_ROW(2, M), NL_ROW(4, M), NL_ROW(6, M)}
const UkrFn kUkr[3][4][4] = {NL_MODE(kPacked), NL_MODE(kStrided), NL_MODE(kMasked)};
#undef NL_MODE
#undef NL_ROW
inline int row_variant(int m) { return m >= 5 ? 3 : m >= 3 ? 2 : m - 1; }  // 1,2,4,6 rows

// 8-row kernels for blocks of 7-8 rows and at most 32 columns (per-head attention products):
// one call instead of a 6-row and a 2-row tile. 16 accumulators, so only up to 2 vectors.
const UkrFn kUkr8[2][2] = {{ukr<8, 1, kStrided>, ukr<8, 2, kStrided>},
                           {ukr<8, 1, kMasked>, ukr<8, 2, kMasked>}};

// Rows outer, columns inner: the 6 x k A sliver stays in L1 while B slivers stream from L2
// (the packed B panel is sized for L2), and C is written row-contiguously.
NL_TARGET void block(const Block& bk) {
  if (bk.m > MR && bk.m <= 8 && bk.n <= 32 && !bk.packed) {
    const int nv = (bk.n + 15) / 16;
    kUkr8[bk.n == 16 * nv ? 0 : 1][nv - 1](bk.k, bk.a, bk.ars, bk.acs, bk.m, bk.b, bk.bs, bk.n, bk.c, bk.ldc,
                                          bk.alpha, bk.beta);
    return;
  }
  for (int i0 = 0; i0 < bk.m; i0 += MR) {
    const int mr = bk.m - i0 < MR ? bk.m - i0 : MR;
    const float* a = bk.a + (long long)(i0 / MR) * bk.a_sliver;
    const int rv = row_variant(mr);
    for (int j0 = 0; j0 < bk.n; j0 += NR) {
      const int nr = bk.n - j0 < NR ? bk.n - j0 : NR;
      const int nv = (nr + 15) / 16;
      const int mode = bk.packed ? kPacked : nr == 16 * nv ? kStrided : kMasked;
      const float* b = bk.b + (long long)(j0 / NR) * bk.b_sliver;
      kUkr[mode][rv][nv - 1](bk.k, a, bk.ars, bk.acs, mr, b, bk.bs, nr,
                             bk.c + (long long)i0 * bk.ldc + j0, bk.ldc, bk.alpha, bk.beta);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Packing. The two transposing cases (row-major A into 6-row slivers, B^T into 64-column
// slivers) are done with in-register shuffles; the copying cases are plain masked moves.

// Row-major A (rows contiguous along k) -> slivers dst[p*6 + i].
// 16 k at a time: interleave row pairs (0,1) (2,3) (4,5) as 64-bit pairs, then a 3-way
// interleave of those pairs gives the output order; 18 shuffles per 96 floats.
NL_TARGET void pack_a_rows(const float* A, long long lda, int m, int k, float* dst) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  // out q-slot s (0..23) takes pair-vector s%3, element s/3: first merge vectors 0 and 1 ...
  const __m512i x0 = _mm512_setr_epi64(0, 8, 0, 1, 9, 0, 2, 10);
  const __m512i x1 = _mm512_setr_epi64(0, 3, 11, 0, 4, 12, 0, 5);
  const __m512i x2 = _mm512_setr_epi64(13, 0, 6, 14, 0, 7, 15, 0);
  // ... then vector 2 into the remaining slots.
  const __m512i j0 = _mm512_setr_epi64(0, 0, 0, 0, 0, 1, 0, 0), j1 = _mm512_setr_epi64(2, 0, 0, 3, 0, 0, 4, 0),
                j2 = _mm512_setr_epi64(0, 5, 0, 0, 6, 0, 0, 7);
  const __mmask8 k0 = 0x24, k1 = 0x49, k2 = 0x92;
  for (int i0 = 0; i0 < m; i0 += MR, dst += (long long)MR * k) {
    const int mr = m - i0 < MR ? m - i0 : MR;
    const float* src[MR];
    for (int i = 0; i < MR; ++i) src[i] = A + (long long)(i0 + (i < mr ? i : 0)) * lda;
    // A comes from memory in short row pieces (k floats per row), too short for the hardware
    // prefetcher to ramp up: fetch the rows of the sliver after next while packing this one.
    const float* pf = A + (long long)(i0 + 2 * MR) * lda;
    const bool do_pf = i0 + 3 * MR <= m;
    for (int p = 0; p < k; p += 16) {
      const int kr = k - p < 16 ? k - p : 16;
      const __mmask16 lm = kr == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kr) - 1);
      if (do_pf)
        for (int i = 0; i < MR; ++i) _mm_prefetch((const char*)(pf + i * lda + p), _MM_HINT_T1);
      __m512 r[MR];
      for (int i = 0; i < MR; ++i)
        r[i] = i < mr ? _mm512_maskz_loadu_ps(lm, src[i] + p) : _mm512_setzero_ps();
      float* d = dst + (long long)p * MR;
      for (int h = 0; h < 2; ++h) {  // k = p..p+7, then p+8..p+15
        const __m512i ix = h ? hi : lo;
        const __m512d q0 = _mm512_castps_pd(_mm512_permutex2var_ps(r[0], ix, r[1]));
        const __m512d q1 = _mm512_castps_pd(_mm512_permutex2var_ps(r[2], ix, r[3]));
        const __m512d q2 = _mm512_castps_pd(_mm512_permutex2var_ps(r[4], ix, r[5]));
        __m512d o0 = _mm512_mask_permutexvar_pd(_mm512_permutex2var_pd(q0, x0, q1), k0, j0, q2);
        __m512d o1 = _mm512_mask_permutexvar_pd(_mm512_permutex2var_pd(q0, x1, q1), k1, j1, q2);
        __m512d o2 = _mm512_mask_permutexvar_pd(_mm512_permutex2var_pd(q0, x2, q1), k2, j2, q2);
        // 8 k values x 6 rows = 48 floats; only the first (kr - 8h) * 6 are real.
        const int valid = (kr - 8 * h) * MR;
        if (valid <= 0) break;
        float* dd = d + 48 * h;
        const __m512 o[3] = {_mm512_castpd_ps(o0), _mm512_castpd_ps(o1), _mm512_castpd_ps(o2)};
        for (int v = 0; v < 3; ++v) {
          const int rem = valid - 16 * v;
          if (rem <= 0) break;
          _mm512_mask_storeu_ps(dd + 16 * v, rem >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1), o[v]);
        }
      }
    }
  }
}

// A^T stored K x M: each k gives 6 contiguous values.
NL_TARGET void pack_a_cols(const float* A, long long lda, int m, int k, float* dst) {
  for (int i0 = 0; i0 < m; i0 += MR, dst += (long long)MR * k) {
    const int mr = m - i0 < MR ? m - i0 : MR;
    const __mmask16 lm = (__mmask16)((1u << mr) - 1);
    const float* src = A + i0;
    for (int p = 0; p < k; ++p)  // all 6 lanes: rows past mr are written as zeros
      _mm512_mask_storeu_ps(dst + p * MR, 0x3F, _mm512_maskz_loadu_ps(lm, src + (long long)p * lda));
  }
}

NL_TARGET void pack_a(bool trans, const float* A, long long lda, int m, int k, float* dst) {
  trans ? pack_a_cols(A, lda, m, k, dst) : pack_a_rows(A, lda, m, k, dst);
}

// 16x16 transpose in registers (4 shuffle stages).
NL_TARGET inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      const __m512d a = _mm512_castps_pd(t[4 * i + j]), b = _mm512_castps_pd(t[4 * i + j + 2]);
      r[4 * i + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      r[4 * i + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  // now lane L of r[4i + c] holds rows 4i..4i+3 of column 4L + c; regroup the 128-bit lanes
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
      t[8 * i + j + 4] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0xDD);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
  }
}

// B^T stored N x K -> 64-column slivers dst[p*64 + j], 16x16 blocks at a time.
NL_TARGET void pack_b_trans(const float* B, long long ldb, int k, int n, float* dst) {
  for (int j0 = 0; j0 < n; j0 += NR, dst += (long long)NR * k) {
    const int nr = n - j0 < NR ? n - j0 : NR;
    for (int jj = 0; jj < nr; jj += 16) {  // blocks past nr are never read by the kernels
      const int rows = nr - jj;            // real rows of B^T in this 16-block
      for (int p = 0; p < k; p += 16) {
        const int kr = k - p < 16 ? k - p : 16;
        const __mmask16 lm = kr == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kr) - 1);
        __m512 r[16];
        for (int i = 0; i < 16; ++i)
          r[i] = i < rows ? _mm512_maskz_loadu_ps(lm, B + (long long)(j0 + jj + i) * ldb + p) : _mm512_setzero_ps();
        transpose16(r);
        for (int c = 0; c < kr; ++c) _mm512_storeu_ps(dst + (long long)(p + c) * NR + jj, r[c]);
      }
    }
  }
}

NL_TARGET void pack_b(bool trans, const float* B, long long ldb, int k, int n, float* dst) {
  if (trans) return pack_b_trans(B, ldb, k, n, dst);
  for (int j0 = 0; j0 < n; j0 += NR, dst += (long long)NR * k) {
    const int nr = n - j0 < NR ? n - j0 : NR;
    __mmask16 mk[4];
    for (int v = 0; v < 4; ++v) {
      const int r = nr - 16 * v;
      mk[v] = r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
    }
    const int nv = (nr + 15) / 16;
    for (int p = 0; p < k; ++p) {
      const float* src = B + (long long)p * ldb + j0;
      for (int v = 0; v < nv; ++v) _mm512_storeu_ps(dst + p * NR + 16 * v, _mm512_maskz_loadu_ps(mk[v], src + 16 * v));
    }
  }
}

const Isa kIsa = {"avx512-fma 6x64", MR, NR, block, pack_a, pack_b};

}  // namespace

const Isa* isa_avx512() { return &kIsa; }

}  // namespace gemm_detail
}  // namespace nanolab

#else
namespace nanolab {
namespace gemm_detail {
const Isa* isa_avx512() { return nullptr; }
}  // namespace gemm_detail
}  // namespace nanolab
#endif
