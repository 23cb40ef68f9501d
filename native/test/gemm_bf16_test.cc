// precision: bf16 GEMM (gemm_amx.cc) against a double-precision reference computed from the same
// bf16-rounded inputs: what is left is fp32 accumulation error, so the bound is fp32's. Also
// prints the error against the unrounded fp32 product (bf16's own ~2^-9 relative rounding) and
// the achieved GFLOP/s beside the fp32 kernel. Exits 1 on failure, 0 with a note without AMX.
//   sh native/test/run_gemm_test.sh bf16
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "gemm.h"

namespace {

float round_bf16(float f) {  // round to nearest even, as the packers do
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}

std::mt19937 rng(7);
int failures = 0;

void one(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int ldpad) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  const int lda = (ta ? M : K) + ldpad, ldb = (tb ? K : N) + ldpad, ldc = N + ldpad;
  std::vector<float> A((size_t)(ta ? K : M) * lda), B((size_t)(tb ? N : K) * ldb), C((size_t)M * ldc), C0;
  for (auto& x : A) x = d(rng);
  for (auto& x : B) x = d(rng);
  for (auto& x : C) x = d(rng);
  C0 = C;
  nanolab::sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  double max_rel = 0, max_rel_fp32 = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0, s32 = 0, mag = 0;
      for (int p = 0; p < K; ++p) {
        const float a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
        const float b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
        s += (double)round_bf16(a) * round_bf16(b);
        s32 += (double)a * b;
        mag += std::fabs((double)a * b);
      }
      const double c0 = C0[(size_t)i * ldc + j], got = C[(size_t)i * ldc + j];
      const double ref = alpha * s + (beta == 0 ? 0.0 : beta * c0), ref32 = alpha * s32 + (beta == 0 ? 0.0 : beta * c0);
      const double scale = std::fabs(alpha) * mag + std::fabs(beta * c0) + 1e-30;
      max_rel = std::max(max_rel, std::fabs(got - ref) / scale);
      max_rel_fp32 = std::max(max_rel_fp32, std::fabs(got - ref32) / scale);
    }
  // untouched padding columns of C
  bool pad_ok = true;
  for (int i = 0; i < M; ++i)
    for (int j = N; j < ldc; ++j) pad_ok &= C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j];
  // Shapes under the bf16 threshold stay fp32 (gemm.cc use_bf16): then the reference is fp32's.
  const bool bf16 = nanolab::gemm_uses_bf16(M, N, K);
  if (!bf16) max_rel = max_rel_fp32;
  const double bound = (K + 8) * std::ldexp(1.0, -23);
  const bool ok = max_rel <= bound && pad_ok;
  failures += !ok;
  std::printf("%s %s %c%c M=%-5d N=%-5d K=%-5d alpha=%g beta=%g: max rel diff %.2e vs %s inputs (bound %.1e), %.2e vs fp32%s\n",
              ok ? "ok  " : "FAIL", bf16 ? "bf16" : "fp32", ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, beta, max_rel, bf16 ? "bf16" : "fp32", bound, max_rel_fp32,
              pad_ok ? "" : " (wrote into ldc padding)");
}

double gflops(const char* precision, int M, int N, int K, bool ta, bool tb) {
  nanolab::set_gemm_precision(precision);
  std::vector<float> A((size_t)M * K, 0.5f), B((size_t)K * N, 0.25f), C((size_t)M * N);
  const int lda = ta ? M : K, ldb = tb ? K : N;
  double best = 1e30;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    nanolab::sgemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * M * N * K / best / 1e9;
}

}  // namespace

int main() {
  if (!nanolab::set_gemm_precision("bf16")) {
    std::printf("bf16 GEMM not available on this CPU/OS (needs AMX-BF16): nothing to test\n");
    return 0;
  }
  const int shapes[][3] = {{16, 16, 32}, {32, 32, 32}, {33, 47, 65}, {100, 70, 130}, {64, 384, 384},
                           {256, 1536, 384}, {384, 1536, 700}, {129, 31, 1100}, {17, 600, 45}};
  for (auto& s : shapes)
    for (int t = 0; t < 4; ++t) one(t & 1, t & 2, s[0], s[1], s[2], 1.0f, 0.0f, 0);
  one(false, false, 70, 90, 200, 0.5f, 1.0f, 3);
  one(true, true, 70, 90, 600, -2.0f, 0.25f, 5);
  one(true, false, 64, 64, 1030, 1.0f, 1.0f, 1);
  // Deterministic whatever the thread count
  {
    std::vector<float> A(300 * 500), B(500 * 200), C1(300 * 200), C2(300 * 200);
    for (auto& x : A) x = std::uniform_real_distribution<float>(-1, 1)(rng);
    for (auto& x : B) x = std::uniform_real_distribution<float>(-1, 1)(rng);
    nanolab::set_num_threads(1);
    nanolab::sgemm(false, false, 300, 200, 500, 1.0f, A.data(), 500, B.data(), 200, 0.0f, C1.data(), 200);
    nanolab::set_num_threads(2);
    nanolab::sgemm(false, false, 300, 200, 500, 1.0f, A.data(), 500, B.data(), 200, 0.0f, C2.data(), 200);
    const bool same = std::memcmp(C1.data(), C2.data(), C1.size() * 4) == 0;
    failures += !same;
    std::printf("%s 1 vs 2 threads bit-identical\n", same ? "ok  " : "FAIL");
  }
  std::printf("\nthroughput (best of 7, %d threads):\n", nanolab::get_num_threads());
  const int perf[][3] = {{1024, 1536, 384}, {16384, 1152, 384}, {16384, 384, 1536}, {384, 1536, 16384}, {1024, 512, 128}};
  for (auto& s : perf) {
    for (int t = 0; t < 2; ++t) {
      const bool ta = t == 1 && s[2] > 4096;
      const double f32 = gflops("fp32", s[0], s[1], s[2], ta, false), b16 = gflops("bf16", s[0], s[1], s[2], ta, false);
      std::printf("  %5d x %5d x %5d%s: fp32 %6.1f GFLOP/s, bf16 %7.1f GFLOP/s (%.1fx)\n", s[0], s[1], s[2], ta ? " (A^T)" : "",
                  f32, b16, b16 / f32);
      if (!(s[2] > 4096)) break;
    }
  }
  nanolab::set_gemm_precision("fp32");
  std::printf("%s\n", failures ? "FAILED" : "all bf16 cases passed");
  return failures ? 1 : 0;
}
