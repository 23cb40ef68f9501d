// Standalone benchmark for nanolab::sgemm: GFLOP/s per shape, transpose combination and thread
// count, next to two references for the machine's fp32 peak:
//   (a) an FMA-throughput microbenchmark (independent vfmadd231ps chains, 1 thread),
//   (b) OpenBLAS cblas_sgemm, if libopenblas.so.0 can be dlopen'ed (never linked).
//
//   sh native/test/run_gemm_test.sh            (builds + runs test and bench)
//   gemm_bench [--quick] [--threads 1,2] [--shape NAME | --mnk MxNxK] [--trans NN] [--reps N]
#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gemm.h"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// CPU time of the calling thread: on a shared machine a 100 ms GEMM is almost always
// descheduled for a while, which wall time counts and this does not (1-thread runs only).
double thread_cpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// (a) FMA peak: 24 independent accumulator chains (enough to cover latency x ports on any
// current core), inline asm so the compiler cannot fold or spill anything.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NL_F512(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define NL_F256(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n\t"
__attribute__((target("avx512f"))) void fma_loop_512(long iters) {
  __asm__ volatile(
      "vxorps %%xmm30, %%xmm30, %%xmm30\n\t"
      "vxorps %%xmm31, %%xmm31, %%xmm31\n\t"
      "1:\n\t" NL_F512(0) NL_F512(1) NL_F512(2) NL_F512(3) NL_F512(4) NL_F512(5) NL_F512(6)
          NL_F512(7) NL_F512(8) NL_F512(9) NL_F512(10) NL_F512(11) NL_F512(12) NL_F512(13)
              NL_F512(14) NL_F512(15) NL_F512(16) NL_F512(17) NL_F512(18) NL_F512(19)
                  NL_F512(20) NL_F512(21) NL_F512(22) NL_F512(23)
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
        "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm30", "xmm31");
}
__attribute__((target("avx2,fma"))) void fma_loop_256(long iters) {
  __asm__ volatile(
      "vxorps %%xmm14, %%xmm14, %%xmm14\n\t"
      "vxorps %%xmm15, %%xmm15, %%xmm15\n\t"
      "1:\n\t" NL_F256(0) NL_F256(1) NL_F256(2) NL_F256(3) NL_F256(4) NL_F256(5) NL_F256(6)
          NL_F256(7) NL_F256(8) NL_F256(9) NL_F256(10) NL_F256(11)
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm14", "xmm15");
}
// Returns GFLOP/s (best of 5), 0 if the ISA is missing.
double fma_peak(bool zmm) {
  __builtin_cpu_init();
  if (zmm ? !__builtin_cpu_supports("avx512f") : !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
    return 0;
  // Many short runs (~4 ms each), best one: on a shared machine a long run is almost surely
  // interrupted, a short one often is not.
  const long iters = 1000000;
  const double flops = zmm ? 24.0 * 32 * iters : 12.0 * 16 * iters;
  double best = 0;
  for (int r = 0; r < 60; ++r) {
    const double t0 = now();
    zmm ? fma_loop_512(iters) : fma_loop_256(iters);
    best = std::max(best, flops / (now() - t0) / 1e9);
  }
  return best;
}
#else
double fma_peak(bool) { return 0; }
#endif

// ---------------------------------------------------------------------------------------------
// (b) OpenBLAS through dlopen, so the product never depends on it.
typedef void (*cblas_sgemm_t)(int, int, int, int, int, int, float, const float*, int, const float*,
                              int, float, float*, int);
typedef void (*set_threads_t)(int);
cblas_sgemm_t ob_sgemm = nullptr;
set_threads_t ob_set_threads = nullptr;
void load_openblas() {
  const char* names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so"};
  for (const char* n : names) {
    void* h = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    ob_sgemm = (cblas_sgemm_t)dlsym(h, "cblas_sgemm");
    ob_set_threads = (set_threads_t)dlsym(h, "openblas_set_num_threads");
    if (ob_sgemm) return;
  }
}

// ---------------------------------------------------------------------------------------------

struct Shape {
  const char* name;
  int batch, M, N, K;
};

// Workload shapes (training of a small transformer): tiny per-layer products, per-head
// attention, and the big projections with their backward-pass counterparts.
const Shape kShapes[] = {
    {"headline", 1, 1024, 1536, 384},  // 1024x384 @ 384x1536
    {"tiny96", 1, 256, 96, 32},         // (256x32) @ (32x96)
    {"tiny128", 1, 256, 128, 32},       // (256x32) @ (32x128)
    {"heads8", 128, 8, 8, 8},           // B*H = 128 per-head 8x8x8
    {"qkv", 1, 16384, 1152, 384},       // 16384x384 @ 384x1152
    {"proj", 1, 16384, 384, 1536},      // 16384x1536 @ 1536x384
    {"qkv_dX", 1, 16384, 384, 1152},    // dY @ W^T
    {"qkv_dW", 1, 384, 1152, 16384},    // X^T @ dY  (K = 16384)
    {"proj_dX", 1, 16384, 1536, 384},
    {"proj_dW", 1, 1536, 384, 16384},
    // the medium step (16 x 64 tokens, n_embd 128): shapes the direct path takes
    {"m_qkv", 1, 1024, 384, 128},       // 1024x128 @ 128x384
    {"m_fc1", 1, 1024, 512, 128},       // 1024x128 @ 128x512
    {"m_fc2", 1, 1024, 128, 512},       // 1024x512 @ 512x128
    {"m_proj", 1, 1024, 128, 128},      // 1024x128 @ 128x128
    {"m_qkv_dW", 1, 128, 384, 1024},    // X^T @ dY (K = 1024)
};

struct Result {
  double best, median;  // GFLOP/s from wall time
  double cpu_best;      // GFLOP/s from the calling thread's CPU time
};

// Times fn until ~target seconds and at least min_reps calls; GFLOP/s best and median.
template <class F>
Result time_it(F&& fn, double flops, double target, int min_reps) {
  fn();  // warm-up (page faults, pool start, packing buffers)
  std::vector<double> t;
  double cpu_min = 1e300;
  const double start = now();
  while ((int)t.size() < min_reps || (now() - start < target && t.size() < 100000)) {
    const double t0 = now(), c0 = thread_cpu();
    fn();
    const double c1 = thread_cpu();
    t.push_back(now() - t0);
    cpu_min = std::min(cpu_min, std::max(c1 - c0, 1e-9));
  }
  std::sort(t.begin(), t.end());
  return {flops / t.front() / 1e9, flops / t[t.size() / 2] / 1e9, flops / cpu_min / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<int> threads = {1, 2};
  std::string only;
  int min_reps = 5;
  bool no_ob = false;
  std::string trans_only;
  Shape custom{nullptr, 1, 0, 0, 0};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--no-openblas")) no_ob = true;
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads.clear();
      for (char* s = std::strtok(argv[++i], ","); s; s = std::strtok(nullptr, ",")) threads.push_back(std::atoi(s));
    } else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--trans") && i + 1 < argc) trans_only = argv[++i];
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) min_reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--mnk") && i + 1 < argc) {  // one ad-hoc shape, e.g. 96x64x128
      custom.name = "custom";
      custom.batch = 1;
      if (std::sscanf(argv[++i], "%dx%dx%d", &custom.M, &custom.N, &custom.K) != 3) {
        std::fprintf(stderr, "--mnk wants MxNxK\n");
        return 2;
      }
    }
  }
  std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
  if (custom.name) shapes.assign(1, custom);
  const double target = quick ? 0.15 : 0.6;
  if (!no_ob) load_openblas();

  std::printf("gemm_bench: kernel %s, default threads %d\n", nanolab::gemm_kernel_name(), nanolab::get_num_threads());
  // The peak is a property of the core; on a shared machine every measurement can only be low,
  // so take the best of the runs at start and at end (printed at the end).
  double pk512 = fma_peak(true), pk256 = fma_peak(false);
  std::printf("FMA peak (1 thread, at start): zmm %.1f GFLOP/s, ymm %.1f GFLOP/s\n", pk512, pk256);
  double peak = pk512 > 0 ? pk512 : pk256;
  std::printf("OpenBLAS: %s\n\n", ob_sgemm ? "libopenblas via dlopen" : "not available");
  std::printf("GFLOP/s: best and median wall-clock; cpu = from the thread's CPU time (1 thread, calls\n"
              ">= 1 ms; ignores time descheduled by other processes); openblas = best wall-clock (cpu).\n\n");
  std::printf("%-9s %-22s %-2s %3s %8s %8s %8s %9s %16s %6s %6s\n", "shape", "MxNxK", "op", "thr", "best", "median",
              "cpu", "us/call", "openblas", "%peak", "vs OB");

  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (const Shape& s : shapes) {
    if (!only.empty() && only != s.name) continue;
    const long long szA = (long long)s.M * s.K, szB = (long long)s.K * s.N, szC = (long long)s.M * s.N;
    std::vector<float> A(szA * s.batch), B(szB * s.batch), C(szC * s.batch);
    for (auto& x : A) x = d(rng);
    for (auto& x : B) x = d(rng);
    const double flops = 2.0 * s.M * s.N * (double)s.K * s.batch;
    for (int tr = 0; tr < 4; ++tr) {
      const bool ta = tr & 2, tb = tr & 1;  // NN, NT, TN, TT
      const char op[3] = {ta ? 'T' : 'N', tb ? 'T' : 'N', 0};
      if (!trans_only.empty() && trans_only != op) continue;
      const int lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
      for (int nt : threads) {
        nanolab::set_num_threads(nt);
        Result r = time_it(
            [&] {
              if (s.batch == 1)
                nanolab::sgemm(ta, tb, s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), s.N);
              else
                nanolab::sgemm_batched(s.batch, ta, tb, s.M, s.N, s.K, 1.0f, A.data(), lda, szA, B.data(), ldb,
                                       szB, 0.0f, C.data(), s.N, szC);
            },
            flops, target, min_reps);
        Result obr{0, 0, 0};
        if (ob_sgemm) {
          ob_set_threads(nt);
          obr = time_it(
                   [&] {
                     for (int b = 0; b < s.batch; ++b)
                       ob_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, s.M, s.N, s.K, 1.0f, A.data() + b * szA, lda,
                                B.data() + b * szB, ldb, 0.0f, C.data() + b * szC, s.N);
                   },
                   flops, target, min_reps);
        }
        const double ob = obr.best;
        char dims[64];
        if (s.batch > 1)
          std::snprintf(dims, sizeof dims, "%dx(%dx%dx%d)", s.batch, s.M, s.N, s.K);
        else
          std::snprintf(dims, sizeof dims, "%dx%dx%d", s.M, s.N, s.K);
        char cpu[16] = "-", obs[32] = "-";
        // CPU-time clocks are too coarse for calls of a few microseconds: long calls only.
        const bool use_cpu = nt == 1 && flops / r.best > 1e6;
        if (use_cpu) std::snprintf(cpu, sizeof cpu, "%.1f", r.cpu_best);
        if (ob > 0) {
          if (use_cpu) std::snprintf(obs, sizeof obs, "%.1f (%.1f)", ob, obr.cpu_best);
          else std::snprintf(obs, sizeof obs, "%.1f", ob);
        }
        std::printf("%-9s %-22s %-2s %3d %8.1f %8.1f %8s %9.1f %16s %5.0f%% %5.0f%%\n", s.name, dims, op, nt, r.best,
                    r.median, cpu, flops / r.best / 1e3, obs, peak > 0 ? 100.0 * r.best / peak : 0.0,
                    ob > 0 ? 100.0 * r.best / ob : 0.0);
        std::fflush(stdout);
      }
    }
  }
  const double e512 = fma_peak(true), e256 = fma_peak(false);
  std::printf("\nFMA peak (1 thread, at end): zmm %.1f GFLOP/s, ymm %.1f GFLOP/s\n", e512, e256);
  pk512 = std::max(pk512, e512);
  pk256 = std::max(pk256, e256);
  std::printf("FMA peak (best): zmm %.1f GFLOP/s, ymm %.1f GFLOP/s; %%peak above used %.1f\n", pk512, pk256, peak);
  return 0;
}
