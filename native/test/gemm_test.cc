// Standalone correctness test for nanolab::sgemm / sgemm_batched against a naive
// double-precision reference. Prints max abs / rel difference per case; exits 1 on failure.
//
//   g++ -O2 -std=c++17 -pthread -Inative/src native/test/gemm_test.cc native/src/gemm*.cc
//       native/src/threadpool.cc -o gemm_test   (or: sh native/test/run_gemm_test.sh)
//
// Matrices end right before a PROT_NONE page, so reading past the end of A or B crashes;
// C's padding columns (ldc > N) and the memory around it are checked for stray writes.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gemm.h"

namespace {

// Buffer whose last element is followed by an inaccessible page.
struct Guarded {
  void* base = nullptr;
  size_t map_len = 0;
  float* data = nullptr;
  size_t n = 0;
  explicit Guarded(size_t count) : n(count) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t bytes = ((count * sizeof(float) + page - 1) / page) * page;
    map_len = bytes + page;
    base = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) { perror("mmap"); std::exit(2); }
    mprotect((char*)base + bytes, page, PROT_NONE);
    data = (float*)((char*)base + bytes) - count;
  }
  ~Guarded() { munmap(base, map_len); }
  Guarded(const Guarded&) = delete;
};

std::mt19937 rng(12345);
void fill(float* p, size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (size_t i = 0; i < n; ++i) p[i] = d(rng);
}

int g_failures = 0, g_cases = 0;
bool g_quiet = false;                 // summarise instead of one line per case
double g_sum_abs = 0, g_sum_rel = 0;  // running max over the quiet cases

// Checks C (M x N, ldc) against alpha*op(A)op(B) + beta*C0 computed in double.
// Error bound: fp32 accumulation over K terms, |err| <= ~K*eps*sum|a*b|; we allow
// (K + 4) * 2^-22 relative to the sum of magnitudes, which is loose but catches real bugs.
bool check(const char* tag, bool ta, bool tb, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, const float* C0, const float* C, int ldc) {
  double max_abs = 0, max_rel = 0;
  bool ok = true;
  const double tol = (K + 4) * std::ldexp(1.0, -22);
  for (int i = 0; i < M && ok; ++i) {
    for (int j = 0; j < N; ++j) {
      double s = 0, mag = 0;
      for (int p = 0; p < K; ++p) {
        const double a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
        const double b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
        s += a * b;
        mag += std::fabs(a * b);
      }
      double ref = alpha * s, refmag = std::fabs(alpha) * mag;
      if (beta != 0.0f) {
        ref += (double)beta * C0[(size_t)i * ldc + j];
        refmag += std::fabs((double)beta * C0[(size_t)i * ldc + j]);
      }
      const double got = C[(size_t)i * ldc + j];
      const double d = std::fabs(got - ref);
      if (!(d <= tol * refmag + 1e-30)) {  // also catches NaN
        if (ok)
          std::printf("  MISMATCH %s at (%d,%d): got %.9g want %.9g (tol %.3g)\n", tag, i, j, got, ref,
                      tol * refmag);
        ok = false;
      }
      max_abs = std::fmax(max_abs, d);
      // relative error, skipping heavily cancelled sums where it is meaningless
      if (std::fabs(ref) > 1e-2 * refmag && refmag > 0) max_rel = std::fmax(max_rel, d / std::fabs(ref));
    }
    // padding columns of C must be untouched
    for (int j = N; j < ldc; ++j) {
      const float got = C[(size_t)i * ldc + j], want = C0[(size_t)i * ldc + j];
      if (std::memcmp(&got, &want, sizeof(float))) {
        if (ok) std::printf("  STRAY WRITE %s at padding (%d,%d)\n", tag, i, j);
        ok = false;
      }
    }
  }
  ++g_cases;
  if (!ok) ++g_failures;
  g_sum_abs = std::fmax(g_sum_abs, max_abs);
  g_sum_rel = std::fmax(g_sum_rel, max_rel);
  if (!ok || !g_quiet)
    std::printf("%-4s %-44s max_abs %.3e max_rel %.3e\n", ok ? "ok" : "FAIL", tag, max_abs, max_rel);
  return ok;
}

// One sgemm case. pad: extra elements per row of A, B, C (non-contiguous leading dims).
void run_case(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad,
              bool nan_c = false) {
  const int a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
  // The last row needs only a_cols elements: ending exactly there puts the guard page right
  // after the last element the kernel may legally read.
  Guarded A(a_rows ? (size_t)(a_rows - 1) * lda + a_cols : 1);
  Guarded B(b_rows ? (size_t)(b_rows - 1) * ldb + b_cols : 1);
  const size_t c_n = (size_t)M * ldc;
  std::vector<float> C0(c_n + 1), C(c_n + 32);
  fill(A.data, A.n);
  fill(B.data, B.n);
  fill(C0.data(), c_n);
  if (nan_c)  // beta == 0 must ignore whatever C holds
    for (size_t i = 0; i < c_n; ++i)
      if ((i % ldc) < (size_t)N) C0[i] = std::nanf("");
  std::memcpy(C.data(), C0.data(), c_n * sizeof(float));
  for (int i = 0; i < 32; ++i) C[c_n + i] = 12345.0f;  // canary after C

  nanolab::sgemm(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data(), ldc);

  char tag[160];
  std::snprintf(tag, sizeof tag, "%c%c M=%d N=%d K=%d a=%g b=%g pad=%d%s", ta ? 'T' : 'N',
                tb ? 'T' : 'N', M, N, K, alpha, beta, pad, nan_c ? " nanC" : "");
  bool ok = check(tag, ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C0.data(), C.data(), ldc);
  for (int i = 0; i < 32 && ok; ++i)
    if (C[c_n + i] != 12345.0f) {
      std::printf("FAIL %s: write past the end of C\n", tag);
      ++g_failures;
      break;
    }
}

// Batched case with optional broadcast (stride 0) of A or B.
void run_batched(int batch, bool ta, bool tb, int M, int N, int K, float alpha, float beta,
                 bool bcastA, bool bcastB, int pad) {
  const int a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
  const long long sA = bcastA ? 0 : (long long)a_rows * lda + 3;  // +3: odd gap between items
  const long long sB = bcastB ? 0 : (long long)b_rows * ldb + 5;
  const long long sC = (long long)M * ldc + 7;
  const int na = bcastA ? 1 : batch, nb = bcastB ? 1 : batch;
  Guarded A(std::max<long long>(1, (na - 1) * sA + (long long)a_rows * lda));
  Guarded B(std::max<long long>(1, (nb - 1) * sB + (long long)b_rows * ldb));
  std::vector<float> C0((size_t)batch * sC + 1), C;
  fill(A.data, A.n);
  fill(B.data, B.n);
  fill(C0.data(), C0.size());
  C = C0;
  nanolab::sgemm_batched(batch, ta, tb, M, N, K, alpha, A.data, lda, sA, B.data, ldb, sB, beta,
                         C.data(), ldc, sC);
  char tag[160];
  std::snprintf(tag, sizeof tag, "batch=%d %c%c M=%d N=%d K=%d%s%s pad=%d", batch, ta ? 'T' : 'N',
                tb ? 'T' : 'N', M, N, K, bcastA ? " bcA" : "", bcastB ? " bcB" : "", pad);
  bool ok = true;
  const bool was_quiet = g_quiet;
  g_quiet = true;
  g_sum_abs = g_sum_rel = 0;
  for (int b = 0; b < batch && ok; ++b)
    ok = check(tag, ta, tb, M, N, K, alpha, A.data + b * sA, lda, B.data + b * sB, ldb, beta,
               C0.data() + b * sC, C.data() + b * sC, ldc);
  g_quiet = was_quiet;
  if (ok && !g_quiet) std::printf("%-4s %-44s max_abs %.3e max_rel %.3e\n", "ok", tag, g_sum_abs, g_sum_rel);
  // gaps between C items must be untouched
  for (int b = 0; b < batch && ok; ++b)
    for (long long x = (long long)M * ldc; x < sC; ++x)
      if (std::memcmp(&C[b * sC + x], &C0[b * sC + x], 4)) {
        std::printf("FAIL %s: stray write between batch items\n", tag);
        ++g_failures;
        ok = false;
        break;
      }
}

// Same inputs => bit-identical outputs, for repeated calls and across thread counts.
void check_determinism() {
  const int shapes[][3] = {{1024, 384, 1536}, {257, 131, 700}, {256, 96, 32}, {64, 2048, 600}};
  for (auto& s : shapes) {
    const int M = s[0], N = s[1], K = s[2];
    for (int tr = 0; tr < 4; ++tr) {
      const bool ta = tr & 1, tb = tr & 2;
      std::vector<float> A((size_t)M * K), B((size_t)K * N), ref((size_t)M * N), C((size_t)M * N);
      fill(A.data(), A.size());
      fill(B.data(), B.size());
      const int lda = ta ? M : K, ldb = tb ? K : N;
      nanolab::set_num_threads(1);
      nanolab::sgemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, ref.data(), N);
      bool ok = true;
      for (int nt : {1, 2, 3, 1, 2}) {
        nanolab::set_num_threads(nt);
        std::fill(C.begin(), C.end(), -1.0f);
        nanolab::sgemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N);
        if (std::memcmp(C.data(), ref.data(), C.size() * sizeof(float))) {
          std::printf("FAIL determinism %c%c M=%d N=%d K=%d threads=%d\n", ta ? 'T' : 'N',
                      tb ? 'T' : 'N', M, N, K, nt);
          ok = false;
        }
      }
      ++g_cases;
      if (!ok) ++g_failures;
    }
  }
}

// sgemm_epilogue must give exactly the bits of sgemm followed by the separate element-wise ops,
// on every path (direct, packed with several K slices, K == 0) and thread count, for each use:
// bias + ReLU to another buffer, bias + ReLU in place, and ReLU's gradient mask.
void check_epilogue() {
  const int shapes[][3] = {{1, 1, 1}, {7, 70, 9}, {130, 200, 64}, {300, 700, 600}, {64, 1536, 384}, {40, 90, 0}};
  enum Use { kBiasRelu, kBiasReluInPlace, kStep };
  for (auto& s : shapes) {
    const int M = s[0], N = s[1], K = s[2], ld = N + 3;
    for (int use = kBiasRelu; use <= kStep; ++use)
      for (int tr = 0; tr < 4; ++tr) {
        const bool ta = tr & 1, tb = tr & 2;
        std::vector<float> A((size_t)M * K + 1), B((size_t)K * N + 1), bias(N), C((size_t)M * N), ref((size_t)M * N);
        std::vector<float> ref_relu((size_t)M * ld, -7.0f), step_of((size_t)M * ld);
        fill(A.data(), A.size());
        fill(B.data(), B.size());
        fill(bias.data(), bias.size());
        fill(ref.data(), ref.size());
        fill(step_of.data(), step_of.size());
        for (size_t i = 0; i < step_of.size(); i += 5) step_of[i] = 0.0f;  // step(0) = 0
        C = ref;  // beta = 0.5 reads C
        const int lda = ta ? M : K, ldb = tb ? K : N;
        nanolab::sgemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.5f, ref.data(), N);
        for (int i = 0; i < M; ++i)
          for (int j = 0; j < N; ++j) {
            float& c = ref[(size_t)i * N + j];
            if (use == kStep) {
              c = c * (step_of[(size_t)i * ld + j] > 0.0f ? 1.0f : 0.0f);
              continue;
            }
            c = c + bias[j];
            if (use == kBiasReluInPlace) c = c > 0.0f ? c : 0.0f;
            else ref_relu[(size_t)i * ld + j] = c > 0.0f ? c : 0.0f;
          }
        bool ok = true;
        for (int nt : {1, 2}) {
          nanolab::set_num_threads(nt);
          std::vector<float> c = C, r((size_t)M * ld, -7.0f);
          nanolab::GemmEpilogue ep;
          if (use == kStep) {
            ep.step_of = step_of.data();
            ep.ld_step = ld;
          } else {
            ep.bias = bias.data();
            ep.relu_out = use == kBiasReluInPlace ? c.data() : r.data();
            ep.ld_relu = use == kBiasReluInPlace ? N : ld;
          }
          nanolab::sgemm_epilogue(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.5f, c.data(), N, ep);
          if (std::memcmp(c.data(), ref.data(), c.size() * sizeof(float)) ||
              std::memcmp(r.data(), ref_relu.data(), r.size() * sizeof(float))) {
            std::printf("FAIL epilogue use %d %c%c M=%d N=%d K=%d threads=%d\n", use, ta ? 'T' : 'N', tb ? 'T' : 'N', M,
                        N, K, nt);
            ok = false;
          }
        }
        ++g_cases;
        if (!ok) ++g_failures;
      }
  }
  if (!g_quiet)
    std::printf("ok   sgemm_epilogue (bias + ReLU, in place, ReLU gradient) bit-identical to the separate ops\n");
}

// Thread-pool stress: many back-to-back parallel calls, and two user threads calling at once
// (one of them finds the pool busy and must compute inline). Results must stay bit-identical.
void check_concurrency() {
  const int M = 300, N = 256, K = 200;  // ~30 MFLOP: above the parallel threshold
  std::vector<float> A((size_t)M * K), B((size_t)K * N), ref((size_t)M * N);
  fill(A.data(), A.size());
  fill(B.data(), B.size());
  nanolab::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, ref.data(), N);
  bool bad[2] = {false, false};
  auto worker = [&](int id) {
    std::vector<float> C((size_t)M * N);
    for (int it = 0; it < 100; ++it) {
      nanolab::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
      if (std::memcmp(C.data(), ref.data(), C.size() * sizeof(float))) bad[id] = true;
    }
  };
  std::thread t1(worker, 0);
  worker(1);
  t1.join();
  ++g_cases;
  if (bad[0] || bad[1]) {
    std::printf("FAIL concurrent callers gave different results\n");
    ++g_failures;
  } else {
    std::printf("ok   concurrent callers + 200 back-to-back parallel calls: bit-identical\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  std::printf("gemm_test: kernel %s, threads %d\n", nanolab::gemm_kernel_name(), nanolab::get_num_threads());

  // Degenerate and tiny shapes, every transpose combination, contiguous and padded.
  const int tiny[] = {0, 1, 2, 3, 5, 7, 8, 13, 16, 17};
  for (int tr = 0; tr < 4; ++tr) {
    const bool ta = tr & 1, tb = tr & 2;
    g_quiet = true;
    g_sum_abs = g_sum_rel = 0;
    const int before = g_cases;
    for (int M : tiny)
      for (int N : tiny)
        for (int K : tiny)
          if (!quick || (M + N + K) % 3 == 0) run_case(ta, tb, M, N, K, 1.0f, 0.0f, (M + N + K) % 2 ? 3 : 0);
    g_quiet = false;
    std::printf("%-4s %c%c all M,N,K in {0,1,2,3,5,7,8,13,16,17} (%d cases) max_abs %.3e max_rel %.3e\n", "..",
                ta ? 'T' : 'N', tb ? 'T' : 'N', g_cases - before, g_sum_abs, g_sum_rel);
  }

  // Sizes around the micro-tile (6 x 64 / 6 x 16 / 4 x 16) and blocking edges, plus the
  // workload shapes (scaled where the reference would be too slow).
  const int shapes[][3] = {
      {6, 64, 8},     {7, 65, 9},     {12, 128, 33},  {5, 63, 31},    {11, 47, 100},
      {96, 96, 96},   {100, 200, 300}, {257, 129, 65}, {256, 96, 32},  {256, 128, 32},
      {8, 8, 8},      {1, 1000, 70},  {1000, 1, 70},  {70, 70, 1},    {33, 1100, 260},
      {200, 1300, 520}, {130, 70, 2100}, {64, 1152, 384}, {61, 385, 1537}, {300, 2100, 40},
  };
  const float ab[][2] = {{1, 0}, {1, 1}, {-1.5f, 0.5f}, {0.25f, -2}};
  int idx = 0;
  for (auto& s : shapes)
    for (int tr = 0; tr < 4; ++tr, ++idx) {
      const bool ta = tr & 1, tb = tr & 2;
      const float* c = ab[idx % 4];
      run_case(ta, tb, s[0], s[1], s[2], c[0], c[1], 0);
      if (!quick || idx % 2) run_case(ta, tb, s[0], s[1], s[2], c[0], c[1], 5 + idx % 7);
    }

  // beta == 0 with NaN garbage in C; K == 0; alpha == 0.
  for (int tr = 0; tr < 4; ++tr) {
    const bool ta = tr & 1, tb = tr & 2;
    run_case(ta, tb, 37, 150, 41, 1.0f, 0.0f, 2, true);
    run_case(ta, tb, 300, 700, 600, 0.5f, 0.0f, 0, true);
    run_case(ta, tb, 9, 19, 0, 1.0f, 0.5f, 1);
    run_case(ta, tb, 9, 19, 0, 1.0f, 0.0f, 1, true);
    run_case(ta, tb, 9, 19, 7, 0.0f, 2.0f, 1);
  }

  // Batched: per-head attention shapes, broadcasts, tile-parallel small batches.
  for (int tr = 0; tr < 4; ++tr) {
    const bool ta = tr & 1, tb = tr & 2;
    run_batched(128, ta, tb, 8, 8, 8, 1.0f, 0.0f, false, false, 0);
    run_batched(16, ta, tb, 33, 17, 9, 0.5f, 1.0f, false, false, 2);
    run_batched(6, ta, tb, 20, 70, 30, 1.0f, 0.0f, true, false, 1);
    run_batched(5, ta, tb, 21, 40, 50, 1.0f, 0.25f, false, true, 0);
    run_batched(2, ta, tb, 300, 200, 600, 1.0f, 0.0f, false, false, 3);
    run_batched(1, ta, tb, 0, 5, 5, 1.0f, 0.0f, false, false, 0);
    run_batched(3, ta, tb, 4, 5, 0, 1.0f, 0.5f, false, false, 0);
  }

  // Threads: the same cases must pass on 1, 2 and 3 threads.
  const int saved = nanolab::get_num_threads();
  for (int nt : {1, 3}) {
    nanolab::set_num_threads(nt);
    run_case(false, false, 517, 333, 301, 1.0f, 0.0f, 1);
    run_case(true, true, 333, 517, 301, 1.0f, 1.0f, 0);
    run_batched(3, false, true, 130, 90, 70, 1.0f, 0.0f, false, false, 0);
  }
  nanolab::set_num_threads(saved);

  check_determinism();
  check_epilogue();
  nanolab::set_num_threads(saved);
  nanolab::set_num_threads(std::max(saved, 2));
  check_concurrency();
  nanolab::set_num_threads(saved);

  std::printf("gemm_test: %d cases, %d failures (kernel %s)\n", g_cases, g_failures,
              nanolab::gemm_kernel_name());
  return g_failures ? 1 : 0;
}
