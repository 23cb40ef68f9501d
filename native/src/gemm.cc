// nanolab fp32 GEMM driver: path selection, cache blocking, packing, threading.
//
// Design (BLIS/GotoBLAS style):
//   * A micro-kernel (gemm_avx512.cc / gemm_avx2.cc / the portable one below) computes an
//     MR x NR tile of C in registers from an MR-row sliver of A and an NR-column sliver of B.
//     It reads A through (row stride, k stride) and B through a row stride, so the same kernel
//     runs on packed buffers and directly on the caller's matrices.
//   * Big problems ("packed" path): for each panel (KC-deep K slice x NC columns), B is packed
//     once into NR-wide slivers sized to stay in L2; then A is taken MC rows at a time (in
//     place when row-major, else packed into MR-high slivers) and the micro-kernel sweeps
//     tiles, rows outer / columns inner, so the A sliver sits in L1 while the B slivers stream
//     from L2.
//   * Small problems ("direct" path: K <= direct_max_k and K*N <= direct_max_kn): no K blocking
//     and no packing of A; B is used in place too unless it is transposed (then it is packed
//     once). Packing costs O(MK + KN) memory traffic against O(MNK) flops, which does not pay
//     when M or N is tiny (e.g. 256x32 @ 32x96, or the 8x8x8 per-head products).
//   * Threads: packed problems long enough to give every thread a part of C (try_split) run
//     one serial GEMM per part and thread. Otherwise, per panel, a fork-join packs B (shared,
//     read-only afterwards), a second one computes independent rectangles of C, several per
//     thread and claimed dynamically so a thread slowed down by a busy core does not hold
//     everyone up. K is never split: every C element gets the same sequence of FMAs whatever
//     the partition, so results are bit-identical for any thread count. Batches with >=
//     threads items run one item per task. Problems under par_min_flops never touch the pool.
//   * Environment: NANOLAB_THREADS (pool size), NANOLAB_GEMM_ISA=avx512|avx2|portable;
//     tuning/testing knobs NANOLAB_GEMM_KC, _MC, _PANEL_KB, _DIRECT_K, _DIRECT_KN,
//     _PAR_MIN_KFLOP, _PATH (0 packed, 1 direct), _A_IN_PLACE=0, _SPLIT=0 (pack A / share
//     panels between threads, as before those two were added).
#define NANOLAB_GEMM_INTERNAL
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "clones.h"
#include "threadpool.h"

namespace nanolab {

using gemm_detail::Block;
using gemm_detail::Isa;

namespace {

// ---------------------------------------------------------------------------------------------
// Portable micro-kernel (plain C++; the compiler vectorises the j loops for whatever the
// baseline ISA is: SSE2 on x86-64, NEON on arm64).

constexpr int kPortMR = 4;
constexpr int kPortNR = 16;

void ukr_portable(int k, const float* a, long long ars, long long acs, int m, const float* b,
                  long long bs, int n, float* c, long long ldc, float alpha, float beta) {
  float acc[kPortMR][kPortNR] = {};
  const float* ap[kPortMR];
  for (int i = 0; i < kPortMR; ++i) ap[i] = a + (i < m ? i : m - 1) * ars;
  if (n == kPortNR) {
    for (int p = 0; p < k; ++p) {
      const float* bp = b + p * bs;
      for (int i = 0; i < kPortMR; ++i) {
        const float av = ap[i][p * acs];
        for (int j = 0; j < kPortNR; ++j) acc[i][j] += av * bp[j];
      }
    }
  } else {  // column tail: never read past n
    for (int p = 0; p < k; ++p) {
      float bv[kPortNR] = {};
      for (int j = 0; j < n; ++j) bv[j] = b[p * bs + j];
      for (int i = 0; i < kPortMR; ++i) {
        const float av = ap[i][p * acs];
        for (int j = 0; j < kPortNR; ++j) acc[i][j] += av * bv[j];
      }
    }
  }
  for (int i = 0; i < m; ++i) {
    float* cr = c + i * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < n; ++j) cr[j] = alpha * acc[i][j];
    else
      for (int j = 0; j < n; ++j) cr[j] = alpha * acc[i][j] + beta * cr[j];
  }
}

void block_portable(const Block& bk) {
  for (int i0 = 0; i0 < bk.m; i0 += kPortMR) {
    const int mr = std::min(kPortMR, bk.m - i0);
    const float* a = bk.a + (long long)(i0 / kPortMR) * bk.a_sliver;
    for (int j0 = 0; j0 < bk.n; j0 += kPortNR) {
      const int nr = std::min(kPortNR, bk.n - j0);
      ukr_portable(bk.k, a, bk.ars, bk.acs, mr, bk.b + (long long)(j0 / kPortNR) * bk.b_sliver,
                   bk.bs, nr, bk.c + (long long)i0 * bk.ldc + j0, bk.ldc, bk.alpha, bk.beta);
    }
  }
}

const Isa kPortableIsa = {"portable 4x16", kPortMR, kPortNR, block_portable, nullptr, nullptr};

// ---------------------------------------------------------------------------------------------
// Generic packing (zero padded, formats documented in gemm.h).
// A points at op(A)(0,0) of the block; B at op(B)(0,0).

template <int MR>
void pack_a_t(bool trans, const float* A, long long lda, int m, int k, float* dst) {
  for (int i0 = 0; i0 < m; i0 += MR, dst += (long long)MR * k) {
    const int mr = std::min(MR, m - i0);
    if (!trans) {  // row-major A: rows contiguous along k, so this is a small transpose
      for (int i = 0; i < mr; ++i) {
        const float* src = A + (long long)(i0 + i) * lda;
        for (int p = 0; p < k; ++p) dst[p * MR + i] = src[p];
      }
      for (int i = mr; i < MR; ++i)
        for (int p = 0; p < k; ++p) dst[p * MR + i] = 0.0f;
    } else {  // A stored K x M: MR contiguous values per k
      for (int p = 0; p < k; ++p) {
        const float* src = A + (long long)p * lda + i0;
        float* d = dst + p * MR;
        int i = 0;
        for (; i < mr; ++i) d[i] = src[i];
        for (; i < MR; ++i) d[i] = 0.0f;
      }
    }
  }
}

template <int NR>
void pack_b_t(bool trans, const float* B, long long ldb, int k, int n, float* dst) {
  for (int j0 = 0; j0 < n; j0 += NR, dst += (long long)NR * k) {
    const int nr = std::min(NR, n - j0);
    if (!trans) {  // row-major B: NR contiguous values per k
      for (int p = 0; p < k; ++p) {
        const float* src = B + (long long)p * ldb + j0;
        float* d = dst + p * NR;
        if (nr == NR) {
          std::memcpy(d, src, sizeof(float) * NR);
        } else {
          int j = 0;
          for (; j < nr; ++j) d[j] = src[j];
          for (; j < NR; ++j) d[j] = 0.0f;
        }
      }
    } else {  // B stored N x K: transpose
      for (int j = 0; j < nr; ++j) {
        const float* src = B + (long long)(j0 + j) * ldb;
        for (int p = 0; p < k; ++p) dst[p * NR + j] = src[p];
      }
      for (int j = nr; j < NR; ++j)
        for (int p = 0; p < k; ++p) dst[p * NR + j] = 0.0f;
    }
  }
}

void pack_a(const Isa& isa, bool trans, const float* A, long long lda, int m, int k, float* dst) {
  if (isa.pack_a) return isa.pack_a(trans, A, lda, m, k, dst);
  switch (isa.mr) {
    case 4: return pack_a_t<4>(trans, A, lda, m, k, dst);
    case 6: return pack_a_t<6>(trans, A, lda, m, k, dst);
    default: std::abort();
  }
}

void pack_b(const Isa& isa, bool trans, const float* B, long long ldb, int k, int n, float* dst) {
  if (isa.pack_b) return isa.pack_b(trans, B, ldb, k, n, dst);
  switch (isa.nr) {
    case 16: return pack_b_t<16>(trans, B, ldb, k, n, dst);
    case 64: return pack_b_t<64>(trans, B, ldb, k, n, dst);
    default: std::abort();
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration: ISA, blocking, thresholds. Chosen once, on first use.

struct Config {
  const Isa* isa;
  int kc, mc;               // cache blocking of the packed path: K slice, A block rows
  long long panel;          // B panel budget in floats (kc x nc, kept in L2)
  int direct_max_k;         // direct path: K <= this ...
  long long direct_max_kn;  // ... and K*N <= this (B must stay cache resident)
  int direct_pack_min_m;    // direct path: B is packed once from this many rows of C up
  double par_min_flops;     // below this, run on the calling thread only
  int force_path;           // -1 auto, 0 packed, 1 direct (tuning/testing only)
  bool a_in_place;          // packed path reads a row-major A in place (testing: 0 packs it)
  bool split;               // packed problems split C between threads (try_split; testing: 0 never)
};

int env_int(const char* name, int dflt) {
  const char* s = std::getenv(name);
  return (s && *s) ? std::atoi(s) : dflt;
}

Config make_config() {
  Config cfg;
  const Isa* best = &kPortableIsa;
  const char* want = std::getenv("NANOLAB_GEMM_ISA");
  const bool allow512 = !want || !std::strcmp(want, "avx512");
  const bool allow2 = allow512 || !std::strcmp(want, "avx2");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the zmm/ymm state (XGETBV).
  if (allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") &&
      gemm_detail::isa_avx512())
    best = gemm_detail::isa_avx512();
  else if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           gemm_detail::isa_avx2())
    best = gemm_detail::isa_avx2();
#else
  (void)allow2;
#endif
  cfg.isa = best;
  // B panel (KC x NC) ~1 MB: half of a 2 MB L2, where it stays while every A sliver streams
  // over it. NC is what fits next to the K slice, so typical N (<= ~1300) needs a single panel
  // and A is packed once. MC only bounds the A buffer (slivers are consumed from L1 one at a
  // time). Tuned on a Sapphire-Rapids-class core (48 KB L1d, 2 MB L2), see gemm_bench.
  cfg.kc = std::max(env_int("NANOLAB_GEMM_KC", 256), 8);
  cfg.panel = std::max(env_int("NANOLAB_GEMM_PANEL_KB", 1024), 1) * 256LL;
  cfg.mc = std::max(env_int("NANOLAB_GEMM_MC", 96) / best->mr, 1) * best->mr;
  cfg.direct_max_k = env_int("NANOLAB_GEMM_DIRECT_K", 512);
  cfg.direct_max_kn = (long long)env_int("NANOLAB_GEMM_DIRECT_KN", 96 * 1024);
  cfg.direct_pack_min_m = env_int("NANOLAB_GEMM_DIRECT_PACK_M", 24);
  cfg.par_min_flops = (double)env_int("NANOLAB_GEMM_PAR_MIN_KFLOP", 4096) * 1e3;
  cfg.force_path = env_int("NANOLAB_GEMM_PATH", -1);
  cfg.a_in_place = env_int("NANOLAB_GEMM_A_IN_PLACE", 1) != 0;
  cfg.split = env_int("NANOLAB_GEMM_SPLIT", 1) != 0;
  return cfg;
}

const Config& config() {
  static const Config cfg = make_config();
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Per-thread scratch for packed operands: grows, never shrinks; pool threads are persistent so
// this is allocated once per thread. Separate buffers for A and B because the thread that packs
// a shared B panel also computes tiles (packing its own A) while that panel is in use.

thread_local gemm_detail::Scratch<float> t_scratch_a, t_scratch_b;

// One GEMM (one batch item).
struct Problem {
  bool ta, tb;
  int M, N, K;
  float alpha, beta;
  const float* A;
  long long lda;
  const float* B;
  long long ldb;
  float* C;
  long long ldc;
  const GemmEpilogue* ep;  // null: none
};

// The epilogue on rows [i0, i1) x columns [j0, j1) of C, right after their last K slice.
NL_CLONES void epilogue_rect(const Problem& g, int i0, int i1, int j0, int j1) {
  const GemmEpilogue& ep = *g.ep;
  for (int i = i0; i < i1; ++i) {
    float* c = g.C + (long long)i * g.ldc;
    if (ep.bias)
      for (int j = j0; j < j1; ++j) c[j] = c[j] + ep.bias[j];
    if (ep.relu_out) {
      float* r = ep.relu_out + (long long)i * ep.ld_relu;
      for (int j = j0; j < j1; ++j) r[j] = c[j] > 0.0f ? c[j] : 0.0f;
    }
    if (ep.step_of) {
      const float* s = ep.step_of + (long long)i * ep.ld_step;
      for (int j = j0; j < j1; ++j) c[j] = c[j] * (s[j] > 0.0f ? 1.0f : 0.0f);
    }
  }
}

inline const float* a_at(const Problem& g, int i, int p) {  // &op(A)(i,p)
  return g.ta ? g.A + (long long)p * g.lda + i : g.A + (long long)i * g.lda + p;
}
inline const float* b_at(const Problem& g, int p, int j) {  // &op(B)(p,j)
  return g.tb ? g.B + (long long)j * g.ldb + p : g.B + (long long)p * g.ldb + j;
}

inline int ceil_div(long long a, long long b) { return (int)((a + b - 1) / b); }
inline int round_up(int a, int b) { return ceil_div(a, b) * b; }

// Operands read in place with a long row stride (wider than one NR sliver) stream badly: every
// k step of a micro-tile touches new lines a whole row apart (and strides that are multiples of
// 1-2 KB alias in L1). Once there are enough rows of C to share it, B is packed once; a
// transposed A with that many rows takes the packed path, which packs A too.
bool wide_operands(const Config& cfg, int M, int N) { return M >= cfg.direct_pack_min_m && N > cfg.isa->nr; }

bool use_direct(const Config& cfg, bool ta, int M, int N, int K) {
  if (cfg.force_path >= 0) return cfg.force_path == 1 && K <= 4096;
  if (ta && wide_operands(cfg, M, N)) return false;
  return K <= cfg.direct_max_k && (long long)K * N <= cfg.direct_max_kn;
}

// precision: bf16 (set_gemm_precision). The tile unit works on 32x32 blocks of C and 32-deep
// K steps: below about one block's worth of work the padding and packing cost more than the
// fp32 kernel, so those stay fp32 (a fixed rule of the shape: results stay deterministic).
std::atomic<bool> g_bf16{false};
bool use_bf16(int M, int N, int K) { return M >= 16 && N >= 16 && K >= 32 && (double)M * N * K >= 32768.0 * 8; }

using gemm_detail::parallel_for;

// A "panel" is one K slice x N panel of one GEMM (the direct path has a single panel covering
// all of K and N). Its B operand is prepared once (packed, or used in place) and shared by all
// tiles; each tile is a rectangle of C rows x panel columns, computed independently.
struct Panel {
  const Config* cfg;
  const Problem* g;
  bool direct;
  int pc, kc, jc, nc;     // K slice [pc, pc+kc), columns [jc, jc+nc)
  float beta;             // the caller's beta on the first K slice, then 1 (accumulate)
  const float* b;         // B operand: packed buffer or op(B)(pc, jc) in place
  long long bs, b_sliver;
  float* bp;              // packing destination (when B is packed)
  int pack_step;          // columns per packing task (multiple of NR)
  int mstep, nstep, tn;   // tile size (rows, columns) and tiles per row of tiles
};

void pack_task(void* ctx, int t, int) {
  const Panel& P = *static_cast<const Panel*>(ctx);
  const Isa& isa = *P.cfg->isa;
  const int j0 = t * P.pack_step, n = std::min(P.pack_step, P.nc - j0);
  pack_b(isa, P.g->tb, b_at(*P.g, P.pc, P.jc + j0), P.g->ldb, P.kc, n,
         P.bp + (long long)(j0 / isa.nr) * isa.nr * P.kc);
}

void tile_task(void* ctx, int t, int) {
  const Panel& P = *static_cast<const Panel*>(ctx);
  const Problem& g = *P.g;
  const Isa& isa = *P.cfg->isa;
  const int ti = P.tn == 1 ? t : t / P.tn, tj = t - ti * P.tn;
  const int m0 = ti * P.mstep, j0 = tj * P.nstep;  // j0 is panel-relative
  const int m1 = std::min(g.M, m0 + P.mstep), n = std::min(P.nstep, P.nc - j0);
  if (m0 >= m1 || n <= 0) return;

  Block bk;
  bk.n = n;
  bk.k = P.kc;
  bk.b = P.b + (long long)(j0 / isa.nr) * P.b_sliver;
  bk.bs = P.bs;
  bk.b_sliver = P.b_sliver;
  bk.ldc = g.ldc;
  bk.alpha = g.alpha;
  bk.beta = P.beta;
  if (P.direct) {  // A in place
    bk.packed = false;
    bk.m = m1 - m0;
    bk.a = a_at(g, m0, 0);
    bk.ars = g.ta ? 1 : g.lda;
    bk.acs = g.ta ? g.lda : 1;
    bk.a_sliver = isa.mr * bk.ars;
    bk.c = g.C + (long long)m0 * g.ldc + P.jc + j0;
    isa.block(bk);
    if (g.ep) epilogue_rect(g, m0, m1, P.jc + j0, P.jc + j0 + n);
    return;
  }
  const bool last_slice = P.pc + P.kc == g.K;
  // Packed: MC rows at a time (the A block stays in L2 while its slivers are used, and the
  // epilogue finds those rows of C still in L2).
  const int mc_max = P.cfg->mc;
  // A row-major A is read in place: the micro-kernel's MR row pointers stream it as well as a
  // packed sliver (each row's k values are contiguous), and packing it cost a pass over A per
  // panel. Not when rows are a multiple of 4 KB apart: the six rows would share an L1 set.
  const bool a_in_place = !g.ta && P.cfg->a_in_place && g.lda % 1024 != 0;
  float* ap = a_in_place ? nullptr : t_scratch_a.get((size_t)mc_max * P.kc + 16);
  bk.packed = !a_in_place;
  bk.ars = a_in_place ? g.lda : 1;
  bk.acs = a_in_place ? 1 : isa.mr;
  bk.a_sliver = (long long)isa.mr * (a_in_place ? g.lda : P.kc);
  for (int ic = m0; ic < m1; ic += mc_max) {
    const int mc = std::min(mc_max, m1 - ic);
    if (a_in_place) {
      bk.a = a_at(g, ic, P.pc);
    } else {
      pack_a(isa, g.ta, a_at(g, ic, P.pc), g.lda, mc, P.kc, ap);
      bk.a = ap;
    }
    bk.m = mc;
    bk.c = g.C + (long long)ic * g.ldc + P.jc + j0;
    isa.block(bk);
    if (g.ep && last_slice) epilogue_rect(g, ic, ic + mc, P.jc + j0, P.jc + j0 + n);  // still in L2
  }
}

// Splits M x ncols into about `want` tiles, rows first (splitting columns makes every tile
// re-pack its rows of A), in whole micro-tiles.
void plan_tiles(const Isa& isa, int M, int ncols, int want, Panel& P) {
  if (want <= 1) {  // one tile (the common tiny case): skip the divisions
    P.mstep = M;
    P.nstep = ncols;
    P.tn = 1;
    return;
  }
  const int row_units = ceil_div(M, isa.mr), col_units = ceil_div(ncols, isa.nr);
  const int tm = std::max(1, std::min(want, row_units));
  const int tn = std::max(1, std::min(ceil_div(want, tm), col_units));
  P.mstep = ceil_div(row_units, tm) * isa.mr;
  P.nstep = ceil_div(col_units, tn) * isa.nr;
  P.tn = ceil_div(ncols, P.nstep);
}

// Tiles wanted for `flops` of work: several per thread, so that a thread slowed down by
// something else on its core costs little (tasks are claimed dynamically), but not so small
// that the per-tile overhead (packing its A rows, the task hand-off) shows.
int tiles_wanted(double flops, int nthreads) {
  if (nthreads <= 1) return 1;
  const double min_tile_flops = 2e6;
  return std::max(1, std::min(4 * nthreads, (int)(flops / min_tile_flops)));
}

// A Panel with what every path sets first.
Panel panel_for(const Config& cfg, const Problem& g, bool direct) {
  Panel P;
  P.cfg = &cfg;
  P.g = &g;
  P.direct = direct;
  return P;
}

// The direct path: one panel covering all of K and N (see the notes at the top).
void run_direct(const Config& cfg, const Problem& g, ThreadPool* tp, int nthreads) {
  const Isa& isa = *cfg.isa;
  const int NR = isa.nr;
  Panel P = panel_for(cfg, g, true);
  P.pc = 0;
  P.kc = g.K;
  P.jc = 0;
  P.nc = g.N;
  P.beta = g.beta;
  if (!g.tb && !wide_operands(cfg, g.M, g.N)) {  // B in place
    P.b = b_at(g, 0, 0);
    P.bs = g.ldb;
    P.b_sliver = NR;
  } else {  // pack B once into NR slivers (it is small on this path)
    P.bp = t_scratch_b.get((size_t)round_up(g.N, NR) * g.K + 16);
    P.pack_step = round_up(g.N, NR);
    pack_task(&P, 0, 0);
    P.b = P.bp;
    P.bs = NR;
    P.b_sliver = (long long)NR * g.K;
  }
  plan_tiles(isa, g.M, g.N, tiles_wanted(2.0 * g.M * g.N * g.K, tp ? nthreads : 1), P);
  if (P.tn == 1 && P.mstep >= g.M)
    tile_task(&P, 0, 0);
  else
    parallel_for(tp, ceil_div(g.M, P.mstep) * P.tn, tile_task, &P);
}

// The packed path. K is cut into equal slices (<= KC) and N into equal panels (<= NC), so there
// is no thin remainder block; both depend on the shape only (determinism).
void run_packed(const Config& cfg, const Problem& g, ThreadPool* tp, int nthreads) {
  const Isa& isa = *cfg.isa;
  const int NR = isa.nr;
  Panel P = panel_for(cfg, g, false);
  const int kc_max = round_up(ceil_div(g.K, ceil_div(g.K, cfg.kc)), 4);
  const int nc_cap = std::max(NR, (int)(cfg.panel / kc_max) / NR * NR);
  const int nc_max = round_up(ceil_div(g.N, ceil_div(g.N, nc_cap)), NR);
  P.bp = t_scratch_b.get((size_t)kc_max * nc_max + 16);
  for (int jc = 0; jc < g.N; jc += nc_max) {
    P.jc = jc;
    P.nc = std::min(nc_max, g.N - jc);
    for (int pc = 0; pc < g.K; pc += kc_max) {
      P.pc = pc;
      P.kc = std::min(kc_max, g.K - pc);
      P.beta = pc == 0 ? g.beta : 1.0f;  // later K slices accumulate onto the first
      // Pack the B panel, in parallel when it is big enough to be worth a fork-join.
      const int slivers = ceil_div(P.nc, NR);
      const int pack_tasks = (tp && (long long)P.kc * P.nc >= 64 * 1024) ? std::min(slivers, 2 * nthreads) : 1;
      P.pack_step = ceil_div(slivers, pack_tasks) * NR;
      parallel_for(pack_tasks > 1 ? tp : nullptr, ceil_div(P.nc, P.pack_step), pack_task, &P);
      P.b = P.bp;
      P.bs = NR;
      P.b_sliver = (long long)NR * P.kc;
      plan_tiles(isa, g.M, P.nc, tiles_wanted(2.0 * g.M * P.nc * P.kc, tp ? nthreads : 1), P);
      parallel_for(tp, ceil_div(g.M, P.mstep) * P.tn, tile_task, &P);
    }
  }
}

// Sharing each panel's packed B between threads costs two fork-joins per panel, and long-K
// problems (weight gradients X^T dY: K = tokens) have dozens of panels. Instead C is cut into
// one part per thread along its longer side and each thread runs its part as a serial GEMM
// over all of K: one fork-join, and the operand along the long side is packed once in all (the
// short side's, by every thread). Same K slices, so the same bits. Only when every part gets
// at least 4 micro-tiles across: on many cores, short sides keep the shared panels.
struct Split {
  const Config* cfg;
  const Problem* g;
  bool by_cols;
  int step;  // columns (or rows) per part
};

void split_task(void* ctx, int t, int) {
  const Split& S = *static_cast<const Split*>(ctx);
  Problem g = *S.g;
  GemmEpilogue ep;  // the caller's, moved to the part's first element (its fields index C's)
  if (g.ep) { ep = *g.ep; g.ep = &ep; }
  const int lo = t * S.step;
  if (S.by_cols) {
    g.N = std::min(S.step, g.N - lo);
    g.B = b_at(g, 0, lo);
    g.C += lo;
    if (ep.bias) ep.bias += lo;
    if (ep.relu_out) ep.relu_out += lo;
    if (ep.step_of) ep.step_of += lo;
  } else {
    g.M = std::min(S.step, g.M - lo);
    g.A = a_at(g, lo, 0);
    g.C += (long long)lo * g.ldc;
    if (ep.relu_out) ep.relu_out += lo * ep.ld_relu;
    if (ep.step_of) ep.step_of += lo * ep.ld_step;
  }
  if (g.M > 0 && g.N > 0) run_packed(*S.cfg, g, nullptr, 1);  // never direct: a part must slice K as the whole
}

bool try_split(const Config& cfg, const Problem& g, ThreadPool* tp, int nthreads) {
  if (!tp || !cfg.split) return false;
  const Isa& isa = *cfg.isa;
  Split S{&cfg, &g, g.N >= g.M, 0};
  const int unit = S.by_cols ? isa.nr : isa.mr, units = ceil_div(S.by_cols ? g.N : g.M, unit);
  if (units < 4 * nthreads) return false;
  S.step = ceil_div(units, nthreads) * unit;
  parallel_for(tp, ceil_div(S.by_cols ? g.N : g.M, S.step), split_task, &S);
  return true;
}

// Computes one GEMM, using `tp` (may be null) for its panels' packing and tiles.
void run_gemm(const Config& cfg, const Problem& g, ThreadPool* tp, int nthreads) {
  if (use_direct(cfg, g.ta, g.M, g.N, g.K))
    run_direct(cfg, g, tp, nthreads);
  else if (!try_split(cfg, g, tp, nthreads))
    run_packed(cfg, g, tp, nthreads);
}

// C = beta * C (K == 0 or alpha == 0). beta == 0 writes zeros without reading C.
void scale_c(const Problem& g) {
  for (int i = 0; i < g.M; ++i) {
    float* c = g.C + (long long)i * g.ldc;
    if (g.beta == 0.0f)
      std::memset(c, 0, sizeof(float) * g.N);
    else if (g.beta != 1.0f)
      for (int j = 0; j < g.N; ++j) c[j] *= g.beta;
  }
}

// ---------------------------------------------------------------------------------------------
// Thread pool (created lazily, resized by set_num_threads).

int default_threads() {
  int n = env_int("NANOLAB_THREADS", 0);
  if (n <= 0) n = (int)std::thread::hardware_concurrency();
  return std::max(n, 1);
}

std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
std::atomic<int> g_nthreads{0};  // 0: not decided yet

int num_threads() {
  int n = g_nthreads.load(std::memory_order_relaxed);
  if (n == 0) {
    std::lock_guard<std::mutex> lk(g_pool_mutex);
    n = g_nthreads.load();
    if (n == 0) g_nthreads.store(n = default_threads());
  }
  return n;
}

ThreadPool* pool() {
  const int n = num_threads();
  if (n <= 1) return nullptr;
  std::lock_guard<std::mutex> lk(g_pool_mutex);
  if (!g_pool || g_pool->size() != n) g_pool.reset(new ThreadPool(n));
  return g_pool.get();
}

// ---------------------------------------------------------------------------------------------
// Batches: with at least as many items as threads, each item is one task (computed serially by
// one thread: no synchronisation, no shared buffers); otherwise items run one after another,
// each parallelised over its panels and tiles.

struct Batch {
  const Config* cfg;
  Problem g;  // item 0
  long long sA, sB, sC;
};

void item_task(void* ctx, int b, int) {
  const Batch& bt = *static_cast<const Batch*>(ctx);
  Problem g = bt.g;
  g.A += b * bt.sA;
  g.B += b * bt.sB;
  g.C += b * bt.sC;
  run_gemm(*bt.cfg, g, nullptr, 1);
}

void epilogue_task(void* ctx, int t, int) {
  const Problem& g = *static_cast<const Problem*>(ctx);
  const int rows = ceil_div(g.M, 64);
  epilogue_rect(g, t * rows, std::min(g.M, (t + 1) * rows), 0, g.N);
}

void gemm_batched_impl(int batch, const Problem& g0, long long sA, long long sB, long long sC) {
  if (batch <= 0 || g0.M <= 0 || g0.N <= 0) return;
  if (g0.K <= 0 || g0.alpha == 0.0f) {
    for (int b = 0; b < batch; ++b) {
      Problem g = g0;
      g.C += b * sC;
      scale_c(g);
      if (g.ep) epilogue_rect(g, 0, g.M, 0, g.N);  // (sgemm_epilogue: batch 1)
      if (sC == 0) break;  // same C every time; scaling it again would apply beta twice
    }
    return;
  }
  const Config& cfg = config();
  const double flops = 2.0 * g0.M * g0.N * (double)g0.K * batch;
  const int nthreads = num_threads();
  // Small problems stay on the calling thread: waking workers costs microseconds.
  ThreadPool* tp = (nthreads > 1 && flops >= cfg.par_min_flops && !ThreadPool::in_worker()) ? pool() : nullptr;
  if (g_bf16.load(std::memory_order_relaxed) && use_bf16(g0.M, g0.N, g0.K)) {
    for (int b = 0; b < batch; ++b)
      gemm_detail::amx_gemm(g0.ta, g0.tb, g0.M, g0.N, g0.K, g0.alpha, g0.A + b * sA, g0.lda, g0.B + b * sB, g0.ldb,
                            g0.beta, g0.C + b * sC, g0.ldc, tp, nthreads);
    if (g0.ep) {  // (batch 1)
      Problem g = g0;
      parallel_for(tp, std::min(64, g.M), epilogue_task, &g);
    }
    return;
  }
  Batch bt{&cfg, g0, sA, sB, sC};
  if (tp && batch >= nthreads && sC != 0) {  // items write disjoint C: one task each
    parallel_for(tp, batch, item_task, &bt);
    return;
  }
  for (int b = 0; b < batch; ++b) {
    Problem g = g0;
    g.A += b * sA;
    g.B += b * sB;
    g.C += b * sC;
    run_gemm(cfg, g, tp, nthreads);
  }
}

}  // namespace

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  Problem g{transA, transB, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, nullptr};
  gemm_batched_impl(1, g, 0, 0, 0);
}

void sgemm_epilogue(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, const GemmEpilogue& ep) {
  Problem g{transA, transB, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, ep.any() ? &ep : nullptr};
  gemm_batched_impl(1, g, 0, 0, 0);
}

void sgemm_batched(int batch, bool transA, bool transB, int M, int N, int K, float alpha,
                   const float* A, int lda, long long strideA, const float* B, int ldb,
                   long long strideB, float beta, float* C, int ldc, long long strideC) {
  Problem g{transA, transB, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, nullptr};
  gemm_batched_impl(batch, g, strideA, strideB, strideC);
}

void set_num_threads(int n) {
  n = std::max(n, 1);
  std::lock_guard<std::mutex> lk(g_pool_mutex);
  g_nthreads.store(n);
  if (g_pool && g_pool->size() != n) g_pool.reset();  // recreated on next parallel call
}

int get_num_threads() { return num_threads(); }

namespace {
struct TaskThunk { void (*fn)(void*, int); void* ctx; };
void run_thunk(void* c, int t, int) { const TaskThunk& k = *static_cast<TaskThunk*>(c); k.fn(k.ctx, t); }
}  // namespace

void parallel_tasks(int ntasks, void (*fn)(void* ctx, int task), void* ctx) {
  TaskThunk k{fn, ctx};
  ThreadPool* tp = (ntasks > 1 && num_threads() > 1 && !ThreadPool::in_worker()) ? pool() : nullptr;
  parallel_for(tp, ntasks, run_thunk, &k);
}

const char* gemm_kernel_name() { return config().isa->name; }

void gemm_detail::parallel_for(ThreadPool* tp, int n, void (*fn)(void*, int, int), void* ctx) {
  if (tp && n > 1 && tp->run(n, fn, ctx)) return;
  for (int t = 0; t < n; ++t) fn(ctx, t, 0);
}

bool gemm_bf16_available() { return gemm_detail::amx_usable(); }

bool gemm_uses_bf16(int M, int N, int K) { return use_bf16(M, N, K); }

bool set_gemm_precision(const char* precision) {
  if (!std::strcmp(precision, "fp32")) { g_bf16.store(false); return true; }
  if (!std::strcmp(precision, "bf16") && gemm_detail::amx_usable()) { g_bf16.store(true); return true; }
  return false;
}

const char* gemm_precision() { return g_bf16.load() ? "bf16" : "fp32"; }

}  // namespace nanolab
