// bf16 GEMM on Intel AMX (Sapphire Rapids and later), for precision: bf16 on the CPU.
//
//   C = alpha * bf16(op(A)) @ bf16(op(B)) + beta * C      fp32 in, fp32 accumulation, fp32 out
//
// The operands are rounded to bf16 (round to nearest even) while they are packed, the products
// accumulate in fp32 inside the tile unit, and C stays fp32: the same contract as PyTorch's
// autocast matmuls (which, unlike this, also round the output to bf16).
//
// Layout (one TDPBF16PS multiplies a 16x32 bf16 A tile by a 32x16 bf16 B tile into 16x16 fp32):
//   * A is packed per block of 32 rows: for each 32-deep K step, 32 rows x 32 bf16 (two tiles).
//   * B is packed per block of 32 columns in the "VNNI" order the tile unit wants: for each
//     32-deep K step, two 16-column tiles of 16 rows, row r holding (k=2r, k=2r+1) pairs.
//   * The micro-kernel keeps a 32x32 block of C in four tiles (tmm0-3) and streams two A tiles
//     (tmm4-5) and two B tiles (tmm6-7) per K step: all eight tile registers.
// K is cut into panels of at most kKC (B panel ~1.5 MB: in L2); rows of C are split among the
// pool's threads. K is never split between threads, so results do not depend on the thread count.
//
// Linux hands out the AMX register state only on request (arch_prctl ARCH_REQ_XCOMP_PERM), once
// per process; amx_usable() asks, and says no on any other OS or CPU.
#define NANOLAB_GEMM_INTERNAL
#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "threadpool.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define NANOLAB_HAVE_AMX 1
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace nanolab {
namespace gemm_detail {

#if NANOLAB_HAVE_AMX

#define NL_AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

constexpr int kMB = 32;    // rows of C per block (two tiles)
constexpr int kNB = 32;    // columns of C per block (two tiles)
constexpr int kKS = 32;    // K per tile step (32 bf16 = 64 bytes per tile row)
constexpr int kKC = 512;   // K per panel
constexpr int kStep = kMB * kKS;  // bf16 per packed K step of an A block (= of a B block)

struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Scalar fp32 -> bf16, round to nearest even (quiet NaNs stay NaN): what vcvtne2ps2bf16 does.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

NL_AMX_TARGET void configure_tiles() {
  static thread_local bool done = false;
  if (done) return;
  TileConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int t = 0; t < 8; ++t) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
  _tile_loadconfig(&cfg);
  done = true;
}

// One GEMM problem as gemm.cc describes it, plus the precomputed block counts.
struct AmxProblem {
  bool ta, tb;
  int M, N, K;
  float alpha, beta;
  const float* A; long long lda;
  const float* B; long long ldb;
  float* C; long long ldc;
};

inline float a_el(const AmxProblem& g, int i, int p) { return g.ta ? g.A[(long long)p * g.lda + i] : g.A[(long long)i * g.lda + p]; }
inline float b_el(const AmxProblem& g, int p, int j) { return g.tb ? g.B[(long long)j * g.ldb + p] : g.B[(long long)p * g.ldb + j]; }

// Interleaves two rows of 16 fp32 (k even, k odd) into 16 bf16 pairs: dword j = (lo[j], hi[j]).
NL_AMX_TARGET inline __m512i pairs16(__m512 lo, __m512 hi) {
  const __m512i bf = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // words 0-15: lo, 16-31: hi
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                       23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, bf);
}

// Packs rows [i0, i0+32) x K [p0, p0+kc) of op(A) into dst (kc rounded up to 32, zero padded).
NL_AMX_TARGET void pack_a_block(const AmxProblem& g, int i0, int p0, int kc, uint16_t* dst) {
  const int rows = std::min(kMB, g.M - i0), steps = (kc + kKS - 1) / kKS;
  for (int s = 0; s < steps; ++s) {
    uint16_t* d = dst + (long long)s * kStep;  // [32 rows][32 k]
    const int pk = p0 + s * kKS, kk = std::min(kKS, p0 + kc - pk);
    if (!g.ta && kk == kKS) {
      for (int i = 0; i < rows; ++i) {
        const float* src = g.A + (long long)(i0 + i) * g.lda + pk;
        const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
        _mm512_storeu_si512(d + i * kKS, v);
      }
    } else if (g.ta && kk == kKS && rows == kMB) {
      // op(A)(i, p) = A[p][i]: two rows of A (p, p+1) give the (p, p+1) pair of 16 rows of op(A)
      const __m512i vidx = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
      for (int q = 0; q < kKS / 2; ++q) {
        const float* r0 = g.A + (long long)(pk + 2 * q) * g.lda + i0;
        const float* r1 = r0 + g.lda;
        for (int h = 0; h < 2; ++h) {
          const __m512i pr = pairs16(_mm512_loadu_ps(r0 + 16 * h), _mm512_loadu_ps(r1 + 16 * h));
          // dword (row i, pair q) lives at dword index i*16 + q of the block
          _mm512_i32scatter_epi32(reinterpret_cast<int*>(d) + h * 16 * 16 + q, vidx, pr, 4);
        }
      }
    } else {
      for (int i = 0; i < kMB; ++i)
        for (int p = 0; p < kKS; ++p) d[i * kKS + p] = (i < rows && p < kk) ? to_bf16(a_el(g, i0 + i, pk + p)) : 0;
    }
    if (!g.ta && kk == kKS && rows < kMB) std::memset(d + rows * kKS, 0, sizeof(uint16_t) * (kMB - rows) * kKS);
  }
}

// Packs columns [j0, j0+32) x K [p0, p0+kc) of op(B) into dst in VNNI pairs, zero padded.
NL_AMX_TARGET void pack_b_block(const AmxProblem& g, int j0, int p0, int kc, uint16_t* dst) {
  const int cols = std::min(kNB, g.N - j0), steps = (kc + kKS - 1) / kKS;
  for (int s = 0; s < steps; ++s) {
    uint16_t* d = dst + (long long)s * kStep;  // [2 tiles][16 pair rows][16 cols][2]
    const int pk = p0 + s * kKS, kk = std::min(kKS, p0 + kc - pk);
    if (!g.tb && kk == kKS && cols == kNB) {
      for (int q = 0; q < kKS / 2; ++q) {
        const float* r0 = g.B + (long long)(pk + 2 * q) * g.ldb + j0;
        const float* r1 = r0 + g.ldb;
        for (int h = 0; h < 2; ++h)
          _mm512_storeu_si512(d + h * 512 + q * 32, pairs16(_mm512_loadu_ps(r0 + 16 * h), _mm512_loadu_ps(r1 + 16 * h)));
      }
    } else if (g.tb && kk == kKS) {
      // op(B)(p, j) = B[j][p]: 32 consecutive p of column j are one row of B, already in pairs
      const __m512i vidx = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
      for (int j = 0; j < kNB; ++j) {
        const int h = j / 16, jj = j % 16;
        int* base = reinterpret_cast<int*>(d + h * 512) + jj;  // dword (pair row r, col jj) at r*16 + jj
        if (j < cols) {
          const float* src = g.B + (long long)(j0 + j) * g.ldb + pk;
          const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
          _mm512_i32scatter_epi32(base, vidx, v, 4);
        } else {
          _mm512_i32scatter_epi32(base, vidx, _mm512_setzero_si512(), 4);
        }
      }
    } else {
      for (int q = 0; q < kKS / 2; ++q)
        for (int j = 0; j < kNB; ++j)
          for (int e = 0; e < 2; ++e) {
            const int p = 2 * q + e;
            d[(j / 16) * 512 + q * 32 + (j % 16) * 2 + e] = (j < cols && p < kk) ? to_bf16(b_el(g, pk + p, j0 + j)) : 0;
          }
    }
  }
}

// acc[32][32] = A block (steps K steps) @ B block
NL_AMX_TARGET void kernel_32x32(const uint16_t* a, const uint16_t* b, int steps, float* acc) {
  _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
  for (int s = 0; s < steps; ++s) {
    const uint16_t* as = a + (long long)s * kStep;
    const uint16_t* bs = b + (long long)s * kStep;
    _tile_loadd(4, as, 64);
    _tile_loadd(5, as + 16 * kKS, 64);
    _tile_loadd(6, bs, 64);
    _tile_loadd(7, bs + 512, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, acc, 128);
  _tile_stored(1, acc + 16, 128);
  _tile_stored(2, acc + 16 * 32, 128);
  _tile_stored(3, acc + 16 * 32 + 16, 128);
}

thread_local Scratch<uint16_t> t_apack, t_bpack;

struct PanelJob {
  const AmxProblem* g;
  int pc, kc;            // K panel
  bool first;            // first K panel: apply the caller's beta; later ones accumulate
  uint16_t* bp;          // packed B panel, all column blocks
  int rows_per_task;     // multiple of kMB
};

NL_AMX_TARGET void rows_task(void* ctx, int t, int) {
  const PanelJob& J = *static_cast<const PanelJob*>(ctx);
  const AmxProblem& g = *J.g;
  configure_tiles();
  const int steps = (J.kc + kKS - 1) / kKS;
  const long long blk = (long long)steps * kStep;
  uint16_t* ap = t_apack.get((size_t)blk);
  alignas(64) float acc[kMB * kNB];
  const int r_end = std::min(g.M, (t + 1) * J.rows_per_task);
  for (int i0 = t * J.rows_per_task; i0 < r_end; i0 += kMB) {
    pack_a_block(g, i0, J.pc, J.kc, ap);
    const int rows = std::min(kMB, g.M - i0);
    for (int j0 = 0, jb = 0; j0 < g.N; j0 += kNB, ++jb) {
      kernel_32x32(ap, J.bp + jb * blk, steps, acc);
      const int cols = std::min(kNB, g.N - j0);
      for (int i = 0; i < rows; ++i) {
        float* c = g.C + (long long)(i0 + i) * g.ldc + j0;
        const float* s = acc + i * kNB;
        if (!J.first || g.beta == 1.0f) {
          if (g.alpha == 1.0f) for (int j = 0; j < cols; ++j) c[j] += s[j];
          else for (int j = 0; j < cols; ++j) c[j] += g.alpha * s[j];
        } else if (g.beta == 0.0f) {
          for (int j = 0; j < cols; ++j) c[j] = g.alpha * s[j];
        } else {
          for (int j = 0; j < cols; ++j) c[j] = g.alpha * s[j] + g.beta * c[j];
        }
      }
    }
  }
}

void pack_b_task(void* ctx, int jb, int) {
  const PanelJob& J = *static_cast<const PanelJob*>(ctx);
  const int steps = (J.kc + kKS - 1) / kKS;
  pack_b_block(*J.g, jb * kNB, J.pc, J.kc, J.bp + (long long)jb * steps * kStep);
}

}  // namespace

bool amx_usable() {
  static const bool ok = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return false;
    // AMX-BF16 / AMX-TILE / AVX512-BF16 feature bits (CPUID leaf 7): older GCC cannot name them
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    const bool amx = ((d >> 22) & 1) && ((d >> 24) & 1);
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    const bool bf16 = (a >> 5) & 1;
    if (!amx || !bf16) return false;
    const long ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
  }();
  return ok;
}

void amx_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, long long lda,
              const float* B, long long ldb, float beta, float* C, long long ldc, ThreadPool* tp, int nthreads) {
  AmxProblem g{ta, tb, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc};
  const int nblocks = (N + kNB - 1) / kNB;
  const int panels = (K + kKC - 1) / kKC;
  const int kc_max = ((K + panels - 1) / panels + kKS - 1) / kKS * kKS;  // equal panels, whole K steps
  uint16_t* bp = t_bpack.get((size_t)nblocks * kc_max * kNB + 64);
  const int mblocks = (M + kMB - 1) / kMB;
  const int tasks = tp ? std::min(mblocks, 4 * nthreads) : 1;
  PanelJob J{&g, 0, 0, true, bp, (mblocks + tasks - 1) / tasks * kMB};
  for (int pc = 0; pc < K; pc += kc_max) {
    J.pc = pc;
    J.kc = std::min(kc_max, K - pc);
    J.first = pc == 0;
    parallel_for(tp, nblocks, pack_b_task, &J);
    parallel_for(tp, (M + J.rows_per_task - 1) / J.rows_per_task, rows_task, &J);
  }
}

#else  // no AMX build

bool amx_usable() { return false; }
void amx_gemm(bool, bool, int, int, int, float, const float*, long long, const float*, long long, float, float*,
              long long, ThreadPool*, int) { std::abort(); }

#endif

}  // namespace gemm_detail
}  // namespace nanolab
