// Branch-free float math the compiler can vectorise inside NL_CLONES loops (libm calls block
// vectorisation). Accuracy: about 1-2 ulp, enough for the 1e-5 agreement with tfjs' Math.* in
// double. Special values (NaN, +-inf, overflow, underflow) follow Math.* and are fixed up by selects.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace nl {

inline float bits_to_f(int32_t b) { float f; std::memcpy(&f, &b, 4); return f; }
inline int32_t f_to_bits(float f) { int32_t b; std::memcpy(&b, &f, 4); return b; }
inline double bits_to_d(int64_t b) { double d; std::memcpy(&d, &b, 8); return d; }
inline int64_t d_to_bits(double d) { int64_t b; std::memcpy(&b, &d, 8); return b; }

constexpr float kInfF = std::numeric_limits<float>::infinity();

// exp: n = round(x log2 e) by the 1.5*2^23 trick (no SSE4.1 round), Cody-Waite reduction,
// Cephes polynomial on [-ln2/2, ln2/2], 2^n applied as two halves so subnormal results are right.
inline float exp_f(float x) {
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 89.0f ? 89.0f : xc;
  const float magic = 12582912.0f;
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const int32_t ni = f_to_bits(t) - f_to_bits(magic);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  // shifted unsigned: a NaN's n1, n2 are huge (the result is NaN either way)
  float res = p * bits_to_f(static_cast<int32_t>(static_cast<uint32_t>(n1 + 127) << 23)) *
              bits_to_f(static_cast<int32_t>(static_cast<uint32_t>(n2 + 127) << 23));
  res = x > 88.72283935546875f ? kInfF : res;
  res = x < -103.972084f ? 0.0f : res;
  res = x != x ? x : res;
  return res;
}

// log: Cephes logf (mantissa in [sqrt(1/2), sqrt 2), polynomial), subnormals pre-scaled.
inline float log_f(float x) {
  const bool sub = x < 1.17549435e-38f;
  const float xs = sub ? x * 8388608.0f : x;
  const int32_t b = f_to_bits(xs);
  int32_t e = ((b >> 23) & 0xff) - 126 - (sub ? 23 : 0);
  float m = bits_to_f((b & 0x007fffff) | 0x3f000000);
  const bool lo = m < 0.707106781186547524f;
  e = lo ? e - 1 : e;
  m = lo ? (m + m - 1.0f) : (m - 1.0f);
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const float fe = static_cast<float>(e);
  y += fe * -2.12194440e-4f;
  y += -0.5f * z;
  float res = m + y;
  res += fe * 0.693359375f;
  res = x == 0.0f ? -kInfF : res;
  res = x < 0.0f ? std::numeric_limits<float>::quiet_NaN() : res;
  res = x == kInfF ? kInfF : res;
  res = x != x ? x : res;
  return res;
}

// tanh: Cephes odd polynomial below 0.625 (no cancellation near 0), else 1 - 2 / (e^2|x| + 1).
inline float tanh_f(float x) {
  const float ax = std::fabs(x);
  const float z = x * x;
  float ps = -5.70498872745e-3f;
  ps = ps * z + 2.06390887954e-2f;
  ps = ps * z - 5.37397155531e-2f;
  ps = ps * z + 1.33314422036e-1f;
  ps = ps * z - 3.33332819422e-1f;
  ps = ps * z * x + x;
  const float e = exp_f(2.0f * ax);
  float pl = 1.0f - 2.0f / (e + 1.0f);
  pl = x < 0.0f ? -pl : pl;
  float res = ax < 0.625f ? ps : pl;
  res = x != x ? x : res;
  return res;
}

inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

// Double exp for x <= 0 (used by erf, whose tfjs formula cancels badly near 0 in float).
// Taylor degree 12 on |r| <= ln2/2 (error < 2e-16); results below 2^-1022 flush to 0.
inline double exp_neg_d(double x) {
  double xc = x < -708.0 ? -708.0 : x;
  const double magic = 6755399441055744.0;  // 1.5 * 2^52
  const double t = xc * 1.4426950408889634 + magic;
  const double n = t - magic;
  const int64_t ni = d_to_bits(t) - d_to_bits(magic);
  double r = xc - n * 6.93147180369123816490e-01;
  r = r - n * 1.90821492927058770002e-10;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  double res = p * bits_to_d(static_cast<int64_t>(static_cast<uint64_t>(ni + 1023) << 52));  // unsigned, as exp_f
  res = x < -708.0 ? 0.0 : res;
  return res;
}

// erf exactly as tfjs' cpu kernel computes it (Abramowitz-Stegun 7.1.26, in double).
inline float erf_tfjs(float xf) {
  const double x = xf;
  const double v = std::fabs(x);
  const double t = 1.0 / (1.0 + 0.3275911 * v);
  const double poly = ((((1.061405429 * t + -1.453152027) * t + 1.421413741) * t + -0.284496736) * t + 0.254829592) * t;
  const double y = 1.0 - poly * exp_neg_d(-v * v);
  // sign(x) * y, with Math.sign(+-0) = +-0 and NaN passing through
  const float r = static_cast<float>(std::copysign(y, x));
  return xf == 0.0f ? xf : r;
}

// Reductions in double with 8 fixed partial sums: they vectorise, and the result does not
// depend on the ISA clone that runs them.
inline double sum8(const float* x, size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += x[i + j];
  for (; i < n; i++) acc[0] += x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
inline double dot8(const float* a, const float* b, size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += static_cast<double>(a[i + j]) * b[i + j];
  for (; i < n; i++) acc[0] += static_cast<double>(a[i]) * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
// Max of x[0..n), n >= 1, in 16 lanes (vectorises). NaNs are skipped: every caller (softmax,
// cross-entropy) computes exp(x - max) next, where a NaN in the row makes the result NaN anyway.
inline float max16(const float* x, size_t n) {
  float m[16];
  for (int j = 0; j < 16; j++) m[j] = -kInfF;
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
  float r = -kInfF;
  for (int j = 0; j < 16; j++) r = m[j] > r ? m[j] : r;
  for (; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

// sum of (x - mean)^2 with the difference rounded to float (as tfjs' Sub then Square)
inline double sumsqdev8(const float* x, size_t n, float mean) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) { const float d = x[i + j] - mean; acc[j] += static_cast<double>(d) * d; }
  for (; i < n; i++) { const float d = x[i] - mean; acc[0] += static_cast<double>(d) * d; }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace nl
