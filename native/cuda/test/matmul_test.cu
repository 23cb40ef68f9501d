// matmul / matmul_bias (src/matmul.h) against a double-precision reference on the CPU.
//
// Every element is checked against sum_k a(i,k) b(k,j) computed in double from the operands as the
// precision mode sees them (rounded to bf16 / tf32 first for BF16 / TF32), within
// (K + 2) * 2^-23 * (sum_k |a b| + |bias|): twice the worst case of an fp32 sum of K products. Printed:
// max_abs = the largest |got - ref|, max_rel = the largest |got - ref| / (sum_k |a b| + |bias|).
// On the emulator this is the SIMT kernel. Built by nvcc and run on a GPU, the same checks run on
// cuBLASLt (where it loads; its TF32 / BF16 results are held to a bound that allows either way of
// rounding the operands) and then again on the SIMT kernel (set_gemm_force_simt).
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/compat.h"
#include "../src/matmul.h"

using nlc::Precision;

namespace {

int failures = 0;
bool on_cublas = false;  // the implementation under test

float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

// The operand rounding the modes promise, written independently of the kernel's.
float round_bf16(float x) {  // nearest, ties to even
  uint32_t u = float_bits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return x;
  u += 0x7fffu + ((u >> 16) & 1u);
  return bits_float(u & 0xffff0000u);
}
float round_tf32(float x) {  // nearest, ties away from zero
  uint32_t u = float_bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  return bits_float((u + 0x1000u) & 0xffffe000u);
}
float round_op(float x, Precision p) {
  return p == Precision::BF16 ? round_bf16(x) : p == Precision::TF32 ? round_tf32(x) : x;
}
const char* name_of(Precision p) { return p == Precision::BF16 ? "bf16" : p == Precision::TF32 ? "tf32" : "fp32"; }

uint64_t rng_state = 0x9e3779b97f4a7c15ull;
float uniform() {  // [-1, 1), from splitmix64
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<float>(static_cast<double>(z >> 40) / static_cast<double>(1ull << 23) - 1.0);
}

struct Dev {
  float* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t n_) : n(n_) { NL_CUDA_CHECK(cudaMalloc(&p, (n ? n : 1) * sizeof(float))); }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  void put(const std::vector<float>& v) { NL_CUDA_CHECK(cudaMemcpy(p, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice)); }
  std::vector<float> get() const {
    std::vector<float> v(n);
    NL_CUDA_CHECK(cudaDeviceSynchronize());
    NL_CUDA_CHECK(cudaMemcpy(v.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost));
    return v;
  }
};

void report(bool ok, const std::string& what, double max_abs, double max_rel) {
  std::printf("%s %s max_abs=%.3g max_rel=%.3g\n", ok ? "ok  " : "FAIL", what.c_str(), max_abs, max_rel);
  failures += !ok;
}
void expect(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  failures += !ok;
}

struct Case {
  int64_t M, N, K;
  bool tA = false, tB = false;
  int64_t batch = 1, sA = -1, sB = -1, sC = -1;  // -1: dense (M*K, K*N, M*N)
  Precision p = Precision::FP32;
  bool bias = false, relu = false, fused = false;  // fused: through matmul_bias
  int64_t off = 0;  // A and B start this many floats into their buffers (off 1: not 16-byte aligned)
};

size_t extent(int64_t batch, int64_t stride, int64_t one) {
  return static_cast<size_t>(batch > 1 && stride > 0 ? stride * (batch - 1) + one : one);
}

// Runs one case and checks it; returns the output (for the determinism checks).
std::vector<float> check(const std::string& label, Case c, bool checkRounded = false) {
  const int64_t M = c.M, N = c.N, K = c.K;
  if (c.sA < 0) c.sA = M * K;
  if (c.sB < 0) c.sB = K * N;
  if (c.sC < 0) c.sC = M * N;
  const size_t nA = extent(c.batch, c.sA, M * K), nB = extent(c.batch, c.sB, K * N), nC = extent(c.batch, c.sC, M * N);
  std::vector<float> a(nA), b(nB), bias(N), cinit(nC, bits_float(0x7fc00000u));  // C starts as NaN: never read
  for (auto& v : a) v = uniform();
  for (auto& v : b) v = uniform();
  for (auto& v : bias) v = uniform();
  Dev dA(nA + c.off), dB(nB + c.off), dC(nC), dBias(N);
  std::vector<float> pad(c.off, bits_float(0x7fc00000u));  // NaN before the operands: never read
  std::vector<float> aPadded(pad), bPadded(pad);
  aPadded.insert(aPadded.end(), a.begin(), a.end());
  bPadded.insert(bPadded.end(), b.begin(), b.end());
  dA.put(aPadded); dB.put(bPadded); dC.put(cinit); dBias.put(bias);
  const float* pA = dA.p + c.off;
  const float* pB = dB.p + c.off;
  if (c.fused || c.bias || c.relu) {
    nlc::matmul_bias(dC.p, pA, pB, c.bias ? dBias.p : nullptr, c.relu, M, N, K, c.tA, c.tB, c.batch, c.sA, c.sB, c.sC,
                     c.p, nullptr, nullptr);
  } else {
    nlc::matmul(dC.p, pA, pB, M, N, K, c.tA, c.tB, c.batch, c.sA, c.sB, c.sC, c.p, nullptr, nullptr);
  }
  const std::vector<float> got = dC.get();
  // SIMT: exact semantics (operands rounded as promised). cuBLASLt with TF32 / BF16: the operand
  // rounding of the library is not specified to the bit, so the bound allows any rounding to the
  // format (relative error up to one unit of its last place) against the unrounded operands; with
  // bf16 copies our own kernel rounds, so the semantics are exact again.
  const bool copies = c.p == Precision::BF16 && nlc::bf16_gemm() == nlc::Bf16Gemm::Bf16Copies;
  const bool exact = !on_cublas || c.p == Precision::FP32 || copies;
  const double opUlp = c.p == Precision::BF16 ? std::ldexp(1.0, -7) : std::ldexp(1.0, -10);
  double maxAbs = 0, maxRel = 0, maxDevFromFp32 = 0, maxTol = 0;
  bool ok = true;
  for (int64_t bb = 0; bb < c.batch; bb++)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double ref = 0, mag = 0, ref32 = 0;
        for (int64_t k = 0; k < K; k++) {
          const float av = c.tA ? a[bb * c.sA + k * M + i] : a[bb * c.sA + i * K + k];
          const float bv = c.tB ? b[bb * c.sB + j * K + k] : b[bb * c.sB + k * N + j];
          const double ra = exact ? round_op(av, c.p) : av, rb = exact ? round_op(bv, c.p) : bv;
          ref += ra * rb;
          mag += std::fabs(ra * rb);
          ref32 += static_cast<double>(av) * bv;
        }
        double scale = mag;
        if (c.bias) { ref += bias[j]; ref32 += bias[j]; scale += std::fabs(bias[j]); }
        if (c.relu) { ref = ref > 0 ? ref : 0; ref32 = ref32 > 0 ? ref32 : 0; }
        const double g = got[bb * c.sC + i * N + j];
        const double err = std::fabs(g - ref);
        double tol = (K + 2) * std::ldexp(1.0, -23) * scale + 1e-30;
        if (!exact) tol += (2 * opUlp + opUlp * opUlp) * mag;
        if (!(err <= tol)) ok = false;  // NaN fails too
        maxTol = std::fmax(maxTol, tol);
        maxAbs = std::fmax(maxAbs, err);
        if (scale > 0) maxRel = std::fmax(maxRel, err / scale);
        maxDevFromFp32 = std::fmax(maxDevFromFp32, std::fabs(g - ref32));
      }
  char what[256];
  std::snprintf(what, sizeof(what), "%s %s%s %lldx%lldx%lld%s%s batch=%lld strides=%lld/%lld/%lld%s%s%s",
                label.c_str(), name_of(c.p), copies ? " (bf16 copies)" : "", (long long)M, (long long)N, (long long)K,
                c.tA ? " tA" : "", c.tB ? " tB" : "", (long long)c.batch, (long long)c.sA, (long long)c.sB,
                (long long)c.sC, c.bias ? " +bias" : "", c.relu ? " relu" : "", c.off ? " offset 1" : "");
  report(ok, what, maxAbs, maxRel);
  if (checkRounded) {  // the operands really were rounded: far from the fp32 products
    std::snprintf(what, sizeof(what), "%s operands rounded (max deviation from the fp32 result %.3g > fp32 bound %.3g)",
                  name_of(c.p), maxDevFromFp32, maxTol);
    expect(maxDevFromFp32 > maxTol, what);
  }
  return got;
}

// Rounding of chosen values, exactly: C (n x 1) = A (n x 1) @ [1], and C (1 x n) = [1] @ B (1 x n).
void check_exact_rounding(Precision p, const std::vector<float>& in, const std::vector<float>& want) {
  const int64_t n = static_cast<int64_t>(in.size());
  Dev dX(n), dOne(1), dC(n);
  dX.put(in);
  dOne.put({1.0f});
  bool okA = true, okB = true;
  for (int t = 0; t < 2; t++) {
    const bool tr = t == 1;  // an n x 1 or 1 x n matrix is the same memory either way
    nlc::matmul(dC.p, dX.p, dOne.p, n, 1, 1, tr, tr, 1, 0, 0, 0, p, nullptr, nullptr);
    std::vector<float> got = dC.get();
    for (int64_t i = 0; i < n; i++) okA &= float_bits(got[i]) == float_bits(want[i]);
    nlc::matmul(dC.p, dOne.p, dX.p, 1, n, 1, tr, tr, 1, 0, 0, 0, p, nullptr, nullptr);
    got = dC.get();
    for (int64_t i = 0; i < n; i++) okB &= float_bits(got[i]) == float_bits(want[i]);
  }
  expect(okA, std::string(name_of(p)) + " rounding of A operands, ties included, bit-exact");
  expect(okB, std::string(name_of(p)) + " rounding of B operands, ties included, bit-exact");
}

void suite(const char* impl) {
  std::printf("-- %s\n", impl);
  // Every transpose combination at odd sizes.
  const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {65, 33, 17}, {130, 70, 260}};
  for (const auto& s : sizes)
    for (int t = 0; t < 4; t++) {
      Case c{s[0], s[1], s[2]};
      c.tA = t & 1; c.tB = (t >> 1) & 1;
      check("matmul", c);
    }
  // Batches: dense, broadcast A or B (stride 0), padded strides.
  for (int t = 0; t < 4; t++) {
    Case c{33, 17, 20};
    c.tA = t & 1; c.tB = (t >> 1) & 1; c.batch = 3;
    check("batched", c);
    c.sA = 0; check("batched", c);
    c.sA = -1; c.sB = 0; check("batched", c);
    c.sA = 33 * 20 + 3; c.sB = 17 * 20 + 1; c.sC = 33 * 17 + 5; check("batched", c);
  }
  // Precisions.
  for (Precision p : {Precision::BF16, Precision::TF32}) {
    Case c{65, 33, 17};
    c.p = p;
    check("matmul", c, !on_cublas);
    c.tA = true; c.tB = true; c.M = 130; c.N = 70; c.K = 260;
    check("matmul", c);
    Case d{33, 17, 20};
    d.p = p; d.batch = 3; d.sB = 0; d.tB = true;
    check("batched", d);
  }
  if (!on_cublas) {
    const float e8 = std::ldexp(1.f, -8), e11 = std::ldexp(1.f, -11), e20 = std::ldexp(1.f, -20);
    check_exact_rounding(Precision::BF16,
                         {1 + e8, 1 + 3 * e8, -(1 + e8), 1 + e8 / 2, 3.f, 1 + e8 + e20, 1 + e8 - e20},
                         {1.f, 1 + 4 * e8, -1.f, 1.f, 3.f, 1 + 2 * e8, 1.f});
    check_exact_rounding(Precision::TF32,
                         {1 + e11, 1 + 3 * e11, -(1 + e11), 1 + e11 / 2, 3.f, 1 + e11 + e20, 1 + e11 - e20},
                         {1 + 2 * e11, 1 + 4 * e11, -(1 + 2 * e11), 1.f, 3.f, 1 + 2 * e11, 1.f});
  }
  // Fused epilogues: x W + b (W stored transposed, shared by the batch), bias only, relu only.
  {
    Case c{65, 33, 17};
    c.tB = true; c.batch = 2; c.sB = 0; c.bias = true; c.relu = true;
    check("matmul_bias", c);
    c.relu = false; check("matmul_bias", c);
    c.bias = false; c.relu = true; check("matmul_bias", c);
    Case d{130, 70, 260};
    d.bias = true; d.relu = true; d.p = Precision::BF16;
    check("matmul_bias", d);
    Case z{5, 7, 0};  // K == 0: C = relu(bias), and zeros
    z.bias = true; z.relu = true; check("matmul_bias", z);
    z.bias = false; z.relu = false; check("matmul", z);
  }
  // Determinism: the same call twice, the same bits.
  for (Precision p : {Precision::FP32, Precision::BF16}) {
    Case c{130, 70, 260};
    c.p = p; c.tA = true;
    const uint64_t seed = rng_state;
    const std::vector<float> r1 = check("determinism run 1", c);
    rng_state = seed;
    const std::vector<float> r2 = check("determinism run 2", c);
    expect(r1.size() == r2.size() && std::memcmp(r1.data(), r2.data(), r1.size() * sizeof(float)) == 0,
           std::string("determinism ") + name_of(p) + ": two runs give the same bits");
  }
  // Nothing to do: no launch, no error.
  nlc::matmul(nullptr, nullptr, nullptr, 0, 5, 3, false, false, 1, 0, 0, 0, Precision::FP32, nullptr, nullptr);
  nlc::matmul(nullptr, nullptr, nullptr, 4, 5, 3, false, false, 0, 0, 0, 0, Precision::FP32, nullptr, nullptr);
  bool threw = false;
  try {
    Dev d(64);
    nlc::matmul(d.p, d.p, d.p, 2, 2, 2, false, false, 2, 4, 4, 0, Precision::FP32, nullptr, nullptr);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  expect(threw, "overlapping batch entries of C are refused");
}

// Bf16Gemm::Bf16Copies: each case checked like any other (exact semantics: our kernel rounds), and
// on the SIMT kernel bit-identical to RoundInGemm (the same products, summed in the same order).
void suite_bf16_copies() {
  std::vector<Case> cases;
  for (const auto& s : std::vector<std::array<int64_t, 3>>{{3, 5, 7}, {65, 33, 17}, {130, 70, 260}})
    for (int t = 0; t < 4; t++) {
      Case c{s[0], s[1], s[2]};
      c.tA = t & 1; c.tB = (t >> 1) & 1; c.p = Precision::BF16;
      cases.push_back(c);
    }
  for (int t = 0; t < 4; t++) {
    Case c{33, 17, 20};
    c.tA = t & 1; c.tB = (t >> 1) & 1; c.batch = 3; c.p = Precision::BF16;
    cases.push_back(c);
    c.sA = 0; cases.push_back(c);
    c.sA = -1; c.sB = 0; cases.push_back(c);
    c.sA = 33 * 20 + 3; c.sB = 17 * 20 + 1; c.sC = 33 * 17 + 5; cases.push_back(c);
  }
  {
    Case c{65, 33, 17};  // x W + b, W transposed and shared by the batch; then relu only
    c.tB = true; c.batch = 2; c.sB = 0; c.bias = true; c.relu = true; c.p = Precision::BF16;
    cases.push_back(c);
    c.bias = false; cases.push_back(c);
    Case o{66, 34, 19};  // operands not 16-byte aligned: the copy kernel's unaligned path
    o.off = 1; o.p = Precision::BF16; o.tA = true;
    cases.push_back(o);
  }
  for (const Case& c : cases) {
    const uint64_t seed = rng_state;
    nlc::set_bf16_gemm(nlc::Bf16Gemm::Bf16Copies);
    const std::vector<float> copies = check("matmul", c, c.K >= 17);
    nlc::set_bf16_gemm(nlc::Bf16Gemm::RoundInGemm);
    if (on_cublas) continue;  // cuBLASLt's two paths run different kernels: checked each on its own
    rng_state = seed;
    const std::vector<float> inGemm = check("matmul", c);
    expect(copies.size() == inGemm.size() && std::memcmp(copies.data(), inGemm.data(), copies.size() * 4) == 0,
           "bf16 copies and rounding in the GEMM: the same bits on the SIMT kernel");
  }
}

}  // namespace

int main() {
  std::printf("cuBLAS: %s\n", nlc::cublas_status());
  std::printf("matmul implementation: %s\n", nlc::gemm_impl_name());
  if (nlc::cublas_available()) {
    on_cublas = true;
    suite("cuBLASLt");
    suite_bf16_copies();
    nlc::set_gemm_force_simt(true);
  }
  on_cublas = false;
  suite("SIMT kernel");
  suite_bf16_copies();
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
