// Checks of src/rowwise.cu: each launcher against a plain CPU reference (double precision, or the
// CPU backend's own float operations where its result is bit-defined: GELU, dropout, AdamW,
// embedding sums), on odd sizes and sizes spanning several blocks, plus determinism (two runs,
// same bytes). A check passes when |got - want| <= tol (|want| + mag) for every element, mag being
// the size of the terms that made want (0 unless cancellation can occur); max_rel is the largest
// |got - want| / (|want| + mag).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../../kernels/vmath.h"  // the CPU backend's erf / exp (GELU's reference bits)
#include "../src/rowwise.h"

using namespace nlc;

namespace {

int g_failures = 0;
std::vector<void*> g_allocs;
std::mt19937 g_rng(1234);

void report(bool ok, const std::string& what, double maxAbs, double maxRel) {
  std::printf("%s %s max_abs=%.3g max_rel=%.3g\n", ok ? "ok  " : "FAIL", what.c_str(), maxAbs, maxRel);
  g_failures += !ok;
}

void check(const std::string& what, const std::vector<float>& got, const std::vector<double>& want,
           const std::vector<double>& mag = {}, double tol = 1e-5) {
  double maxAbs = 0, maxRel = 0;
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); i++) {
    const double g = got[i], w = want[i];
    if (std::isnan(g) || std::isnan(w)) {
      if (std::isnan(g) != std::isnan(w)) { ok = false; maxRel = INFINITY; }
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) { ok = false; maxRel = INFINITY; }
      continue;
    }
    const double d = std::fabs(g - w), den = std::fabs(w) + (mag.empty() ? 0.0 : mag[i]);
    const double rel = d == 0 ? 0 : (den > 0 ? d / den : INFINITY);
    maxAbs = std::max(maxAbs, d);
    maxRel = std::max(maxRel, rel);
    if (rel > tol) ok = false;
  }
  report(ok, what, maxAbs, maxRel);
}

// bit for bit (so -0 counts), except that a NaN matches any NaN: its sign and payload are not
// part of the result (a GPU returns the canonical NaN, x86 one of the operands', whichever the
// compiler put first)
void check_bits(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
  double maxAbs = 0, maxRel = 0;
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); i++) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    if (std::memcmp(&got[i], &want[i], 4) != 0) {
      ok = false;
      const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
      maxAbs = std::max(maxAbs, d);
      maxRel = std::max(maxRel, d / std::max(std::fabs(static_cast<double>(want[i])), 1e-30));
    }
  }
  report(ok, what + " (bits)", maxAbs, maxRel);
}

void check_same(const std::string& what, const void* a, const void* b, size_t bytes) {
  report(std::memcmp(a, b, bytes) == 0, what + " deterministic", 0, 0);
}

template <class T>
T* dalloc(size_t n) {
  void* p = nullptr;
  NL_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)));  // exact: emu-asan catches overruns
  g_allocs.push_back(p);
  return static_cast<T*>(p);
}
// device copy of h, starting `offset` elements into the allocation (offset 1: not 16-byte aligned)
template <class T>
T* to_dev(const std::vector<T>& h, size_t offset = 0) {
  T* d = dalloc<T>(h.size() + offset) + offset;
  if (!h.empty()) NL_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  if (n) NL_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}
float* ws_alloc(size_t bytes) { return bytes ? dalloc<float>(bytes / 4 + 1) : nullptr; }

std::vector<float> randn(size_t n, float scale = 1.0f, float shift = 0.0f) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g_rng) * scale + shift;
  return v;
}
std::vector<float> uniform(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g_rng);
  return v;
}
int irand(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_rng); }

std::string dims(const char* name, std::initializer_list<std::pair<const char*, int64_t>> kv, const char* extra = "") {
  std::string s = name;
  for (auto& p : kv) s += std::string(" ") + p.first + "=" + std::to_string(p.second);
  return s + extra;
}

// ---------------------------------------------------------------------------------------------

void test_layernorm(int64_t N, int64_t C, bool misaligned, bool saveStats) {
  const float eps = 1e-5f;
  const size_t off = misaligned ? 1 : 0;
  const auto x = randn(N * C, 2.0f, 0.5f), g = randn(C, 0.5f, 1.0f), b = randn(C, 0.3f), dy = randn(N * C);
  float *dxp = to_dev(x, off), *dg = to_dev(g, off), *db = to_dev(b, off), *ddy = to_dev(dy, off);
  float *dout = dalloc<float>(N * C + 1) + off, *dmean = dalloc<float>(N), *drstd = dalloc<float>(N);
  layernorm_forward(dout, saveStats ? dmean : nullptr, saveStats ? drstd : nullptr, dxp, dg, db, N, C, eps, nullptr);

  std::vector<double> y(N * C), mean(N), rstd(N), dx(N * C), dxMag(N * C), dgam(C, 0), dbet(C, 0), dgMag(C, 0),
      dbMag(C, 0);
  for (int64_t r = 0; r < N; r++) {
    const float* xr = &x[r * C];
    double s = 0, ss = 0;
    for (int64_t c = 0; c < C; c++) s += xr[c];
    const double mu = s / C;
    for (int64_t c = 0; c < C; c++) ss += (xr[c] - mu) * (xr[c] - mu);
    const double rs = 1.0 / std::sqrt(ss / C + eps);
    mean[r] = mu;
    rstd[r] = rs;
    double m1 = 0, m2 = 0;
    for (int64_t c = 0; c < C; c++) {
      const double xh = (xr[c] - mu) * rs, dxh = static_cast<double>(dy[r * C + c]) * g[c];
      y[r * C + c] = xh * g[c] + b[c];
      m1 += dxh;
      m2 += dxh * xh;
      dgam[c] += dy[r * C + c] * xh;
      dbet[c] += dy[r * C + c];
      dgMag[c] += std::fabs(dy[r * C + c] * xh);
      dbMag[c] += std::fabs(dy[r * C + c]);
    }
    m1 /= C;
    m2 /= C;
    for (int64_t c = 0; c < C; c++) {
      const double xh = (xr[c] - mu) * rs, dxh = static_cast<double>(dy[r * C + c]) * g[c];
      dx[r * C + c] = rs * (dxh - m1 - xh * m2);
      dxMag[r * C + c] = rs * (std::fabs(dxh) + std::fabs(m1) + std::fabs(xh * m2));
    }
  }
  const std::string tag = dims("", {{"N", N}, {"C", C}}, misaligned ? " misaligned" : "");
  // LayerNorm outputs are O(1): the error scale is |xhat gamma| + |beta|
  std::vector<double> yMag(N * C);
  for (int64_t i = 0; i < N * C; i++) yMag[i] = std::fabs((x[i] - mean[i / C]) * rstd[i / C] * g[i % C]) + std::fabs(b[i % C]);
  check("layernorm_forward" + tag, to_host(dout, N * C), y, yMag);
  if (saveStats) {
    check("layernorm_forward mean" + tag, to_host(dmean, N), mean, std::vector<double>(N, 1.0));
    check("layernorm_forward rstd" + tag, to_host(drstd, N), rstd);
  }

  float *ddx = dalloc<float>(N * C + 1) + off, *ddg = dalloc<float>(C), *ddb = dalloc<float>(C);
  float* ws = ws_alloc(layernorm_backward_workspace_bytes(N, C));
  const float* sm = saveStats ? dmean : nullptr;
  const float* sr = saveStats ? drstd : nullptr;
  layernorm_backward(ddx, ddg, ddb, ws, ddy, dxp, dg, sm, sr, N, C, eps, nullptr);
  const auto gdx = to_host(ddx, N * C), gdg = to_host(ddg, C), gdb = to_host(ddb, C);
  const std::string bt = tag + (saveStats ? " saved stats" : "");
  check("layernorm_backward dx" + bt, gdx, dx, dxMag);
  check("layernorm_backward dgamma" + bt, gdg, dgam, dgMag);
  check("layernorm_backward dbeta" + bt, gdb, dbet, dbMag);
  layernorm_backward(ddx, ddg, ddb, ws, ddy, dxp, dg, sm, sr, N, C, eps, nullptr);
  const auto gdx2 = to_host(ddx, N * C), gdg2 = to_host(ddg, C), gdb2 = to_host(ddb, C);
  check_same("layernorm_backward" + bt, gdx.data(), gdx2.data(), gdx.size() * 4);
  check_same("layernorm_backward dgamma" + bt, gdg.data(), gdg2.data(), C * 4);
  check_same("layernorm_backward dbeta" + bt, gdb.data(), gdb2.data(), C * 4);
}

void test_layernorm_empty() {
  float* dg = to_dev(std::vector<float>{1, 2, 3});
  float* ddg = to_dev(std::vector<float>{7, 7, 7});
  float* ddb = to_dev(std::vector<float>{7, 7, 7});
  layernorm_forward(nullptr, nullptr, nullptr, nullptr, dg, dg, 0, 3, 1e-5f, nullptr);
  layernorm_backward(nullptr, ddg, ddb, nullptr, nullptr, nullptr, dg, nullptr, nullptr, 0, 3, 1e-5f, nullptr);
  check_bits("layernorm N=0 dgamma zero", to_host(ddg, 3), {0, 0, 0});
  check_bits("layernorm N=0 dbeta zero", to_host(ddb, 3), {0, 0, 0});
}

void test_column_sums(int64_t N, int64_t C) {
  const auto x = randn(N * C);
  float* dx = to_dev(x);
  float* out = dalloc<float>(C);
  float* ws = ws_alloc(column_sums_workspace_bytes(N, C));
  column_sums(out, ws, dx, N, C, nullptr);
  std::vector<double> want(C, 0), mag(C, 0);
  for (int64_t r = 0; r < N; r++)
    for (int64_t c = 0; c < C; c++) { want[c] += x[r * C + c]; mag[c] += std::fabs(x[r * C + c]); }
  const auto got = to_host(out, C);
  const std::string tag = dims("column_sums", {{"N", N}, {"C", C}});
  check(tag, got, want, mag);
  column_sums(out, ws, dx, N, C, nullptr);
  const auto got2 = to_host(out, C);
  check_same(tag, got.data(), got2.data(), C * 4);
}

void test_cross_entropy(int64_t N, int64_t V, bool misaligned, int invalidEvery) {
  const size_t off = misaligned ? 1 : 0;
  auto x = randn(N * V, 3.0f);
  std::vector<int32_t> t(N);
  for (int64_t r = 0; r < N; r++) {
    t[r] = irand(0, static_cast<int>(V) - 1);
    if (invalidEvery && r % invalidEvery == invalidEvery - 1) t[r] = (r / invalidEvery) % 2 ? -1 : static_cast<int32_t>(V + r);
  }
  if (N > 2 && V > 3) {  // masked logits
    x[1 * V + (t[1] + 1) % V] = -INFINITY;
    x[2 * V + (t[2] + 2) % V] = -INFINITY;
  }
  float* dl = to_dev(x, off);
  int32_t* dt = to_dev(t);
  float* dloss = dalloc<float>(1);
  float* ws = ws_alloc(cross_entropy_workspace_bytes(N, V));
  cross_entropy_forward(dloss, ws, dl, dt, N, V, nullptr);
  const float gup = 1.7f;
  float* dgup = to_dev(std::vector<float>{gup});
  float* dd = dalloc<float>(N * V + 1) + off;
  cross_entropy_backward(dd, dl, dt, dgup, N, V, nullptr);

  double total = 0, totalMag = 0;
  std::vector<double> dwant(N * V, 0.0), dmag(N * V, 0.0);
  const double g = static_cast<double>(gup) / N;
  for (int64_t r = 0; r < N; r++) {
    if (t[r] < 0 || t[r] >= V) continue;
    const float* xr = &x[r * V];
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < V; j++) m = std::max(m, static_cast<double>(xr[j]));
    for (int64_t j = 0; j < V; j++) s += std::exp(xr[j] - m);
    const double lse = m + std::log(s);
    total += lse - xr[t[r]];
    totalMag += std::fabs(lse) + std::fabs(xr[t[r]]);
    for (int64_t j = 0; j < V; j++) {
      const double p = std::exp(xr[j] - m) / s, oh = j == t[r] ? 1.0 : 0.0;
      dwant[r * V + j] = (p - oh) * g;
      dmag[r * V + j] = (p + oh) * std::fabs(g);
    }
  }
  const std::string tag = dims("", {{"N", N}, {"V", V}}, misaligned ? " misaligned" : "") +
                          (invalidEvery ? " invalid targets" : "");
  const auto loss = to_host(dloss, 1);
  check("cross_entropy_forward" + tag, loss, {total / N}, {totalMag / N});
  const auto grad = to_host(dd, N * V);
  check("cross_entropy_backward" + tag, grad, dwant, dmag);
  cross_entropy_forward(dloss, ws, dl, dt, N, V, nullptr);
  cross_entropy_backward(dd, dl, dt, dgup, N, V, nullptr);
  const auto loss2 = to_host(dloss, 1), grad2 = to_host(dd, N * V);
  check_same("cross_entropy" + tag, loss.data(), loss2.data(), 4);
  check_same("cross_entropy_backward" + tag, grad.data(), grad2.data(), grad.size() * 4);
  cross_entropy_backward(dl, dl, dt, dgup, N, V, nullptr);  // in place over the logits
  check_bits("cross_entropy_backward in place" + tag, to_host(dl, N * V), grad);
}

void test_cross_entropy_edges() {
  float* dloss = dalloc<float>(1);
  cross_entropy_forward(dloss, nullptr, nullptr, nullptr, 0, 65, nullptr);
  const float l0 = to_host(dloss, 1)[0];
  report(std::isnan(l0), "cross_entropy_forward N=0 is NaN", 0, 0);
  const std::vector<int32_t> t = {-1, 5, 100};
  const auto x = randn(3 * 5);
  float* ws = ws_alloc(cross_entropy_workspace_bytes(3, 5));
  cross_entropy_forward(dloss, ws, to_dev(x), to_dev(t), 3, 5, nullptr);
  check_bits("cross_entropy_forward all targets invalid -> 0", to_host(dloss, 1), {0.0f});
}

void test_embedding_forward(int64_t N, int64_t V, int64_t C, bool misaligned) {
  const size_t off = misaligned ? 1 : 0;
  const auto table = randn(V * C);
  std::vector<int32_t> ids(N);
  for (int64_t r = 0; r < N; r++) ids[r] = r % 11 == 5 ? static_cast<int32_t>(V) : (r % 13 == 7 ? -3 : irand(0, static_cast<int>(V) - 1));
  float* dout = dalloc<float>(N * C + 1) + off;
  embedding_forward(dout, to_dev(table, off), to_dev(ids), N, V, C, nullptr);
  std::vector<float> want(N * C, 0.0f);
  for (int64_t r = 0; r < N; r++)
    if (ids[r] >= 0 && ids[r] < V)
      for (int64_t c = 0; c < C; c++) want[r * C + c] = table[ids[r] * C + c];
  check_bits(dims("embedding_forward", {{"N", N}, {"V", V}, {"C", C}}, misaligned ? " misaligned" : ""),
             to_host(dout, N * C), want);
}

void test_embedding_backward(int64_t N, int64_t V, int64_t C, bool misaligned, int distinct) {
  const size_t off = misaligned ? 1 : 0;
  const auto dy = randn(N * C);
  std::vector<int32_t> ids(N);
  for (int64_t r = 0; r < N; r++) {
    ids[r] = irand(0, std::min<int>(distinct, static_cast<int>(V)) - 1);  // repeated ids
    if (r % 17 == 3) ids[r] = -1;
    if (r % 19 == 4) ids[r] = static_cast<int32_t>(V);
  }
  float* dd = dalloc<float>(V * C + 1) + off;
  NL_CUDA_CHECK(cudaMemset(dd, 0x7f, V * C * sizeof(float)));  // garbage: must be overwritten
  float* ws = ws_alloc(embedding_backward_workspace_bytes(N, V, C));
  float* ddy = to_dev(dy, off);
  int32_t* dids = to_dev(ids);
  embedding_backward(dd, ws, dids, ddy, N, V, C, nullptr);
  // the CPU's segment sum: float rows added in row order to zeros
  std::vector<float> seq(V * C, 0.0f);
  std::vector<double> want(V * C, 0.0), mag(V * C, 0.0);
  for (int64_t r = 0; r < N; r++) {
    if (ids[r] < 0 || ids[r] >= V) continue;
    for (int64_t c = 0; c < C; c++) {
      seq[ids[r] * C + c] += dy[r * C + c];
      want[ids[r] * C + c] += dy[r * C + c];
      mag[ids[r] * C + c] += std::fabs(dy[r * C + c]);
    }
  }
  const auto got = to_host(dd, V * C);
  const bool split = N >= 64 * V;
  const std::string tag = dims("embedding_backward", {{"N", N}, {"V", V}, {"C", C}}, misaligned ? " misaligned" : "") +
                          (split ? " split" : "");
  if (split) check(tag, got, want, mag);
  else check_bits(tag + " row order", got, seq);
  embedding_backward(dd, ws, dids, ddy, N, V, C, nullptr);
  const auto got2 = to_host(dd, V * C);
  check_same(tag, got.data(), got2.data(), got.size() * 4);
}

// ---------------------------------------------------------------------------------------------

__global__ void philox_kernel(uint32_t* out, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                              uint32_t k1) {
  if (threadIdx.x == 0) {
    const Philox4 r = philox4x32_10(c0, c1, c2, c3, k0, k1);
    for (int i = 0; i < 4; i++) out[i] = r.w[i];
  }
}

void test_philox_known_answers() {
  uint32_t* d = dalloc<uint32_t>(4);
  struct Kat { uint32_t in[6], out[4]; } kats[] = {
      {{0, 0, 0, 0, 0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{~0u, ~0u, ~0u, ~0u, ~0u, ~0u}, {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  bool ok = true;
  for (const Kat& k : kats) {
    NL_LAUNCH(philox_kernel, 1, 32, 0, nullptr, d, k.in[0], k.in[1], k.in[2], k.in[3], k.in[4], k.in[5]);
    const auto got = to_host(d, 4);
    for (int i = 0; i < 4; i++) ok &= got[i] == k.out[i];
  }
  report(ok, "philox4x32_10 on the device: known answers (Random123)", 0, 0);
}

void test_dropout(int64_t n, double rate, bool misaligned) {
  const size_t off = misaligned ? 1 : 0;
  const DropoutKey key = dropout_key(rate, 0x12345678u, 0x9abcdef0u, 77u, 3u);
  const auto x = randn(n);
  std::vector<float> mask(n), want(n);
  for (int64_t i = 0; i < n; i++) {
    mask[i] = dropout_mask_at(key, static_cast<uint64_t>(i));
    want[i] = x[i] * mask[i];
  }
  const std::string tag = dims("", {{"n", n}}, misaligned ? " misaligned" : "") + " rate=" + std::to_string(rate).substr(0, 4);
  float* dm = dalloc<float>(n + 1) + off;
  dropout_mask(dm, n, key, nullptr);
  check_bits("dropout_mask" + tag, to_host(dm, n), mask);
  float* dx = to_dev(x, off);
  float* dout = dalloc<float>(n + 1) + off;
  dropout_forward(dout, dx, n, key, nullptr);
  check_bits("dropout_forward" + tag, to_host(dout, n), want);
  dropout_forward(dx, dx, n, key, nullptr);  // in place
  check_bits("dropout_forward in place" + tag, to_host(dx, n), want);
  if (n >= 1000) {
    int64_t kept = 0;
    for (float m : mask) kept += m != 0.0f;
    const double frac = static_cast<double>(kept) / n;
    report(std::fabs(frac - (1 - rate)) < 0.05, "dropout keep fraction" + tag + " = " + std::to_string(frac), 0, 0);
  }
}

void test_residual(int64_t n, bool drop, int alias, bool misaligned) {
  const size_t off = misaligned ? 1 : 0;
  const DropoutKey key = dropout_key(0.25, 5u, 6u, 7u, 8u);
  const auto res = randn(n), x = randn(n);
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; i++) want[i] = res[i] + (drop ? x[i] * dropout_mask_at(key, static_cast<uint64_t>(i)) : x[i]);
  float *dres = to_dev(res, off), *dx = to_dev(x, off);
  float* out = alias == 1 ? dres : alias == 2 ? dx : dalloc<float>(n + 1) + off;
  residual_dropout_add(out, dres, dx, n, key, drop, nullptr);
  const char* al = alias == 1 ? " out=residual" : alias == 2 ? " out=x" : "";
  check_bits(dims("residual_dropout_add", {{"n", n}}, misaligned ? " misaligned" : "") + (drop ? " drop" : " no drop") + al,
             to_host(out, n), want);
}

constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kTwoOverSqrtPi = 1.12837916709551257f;
float gelu_cpu(float x) {  // gelu.cc
  const float t = nl::erf_tfjs(x * kSqrtHalf) + 1.0f;
  return x * t * 0.5f;
}
float gelu_backward_cpu(float dy, float x) {
  const float g = dy * 0.5f, u = x * kSqrtHalf;
  const float t = nl::erf_tfjs(u) + 1.0f;
  const float du = g * x * (nl::exp_f(-(u * u)) * kTwoOverSqrtPi);
  return g * t + du * kSqrtHalf;
}
double erf_as(double x) {  // Abramowitz-Stegun 7.1.26, tfjs' erf, in double
  const double v = std::fabs(x), t = 1.0 / (1.0 + 0.3275911 * v);
  const double y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * std::exp(-v * v);
  return x < 0 ? -y : y;
}

void test_gelu(int64_t n, bool misaligned) {
  const size_t off = misaligned ? 1 : 0;
  auto x = uniform(n, -7.0f, 7.0f);
  const float specials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 30.0f, -30.0f, 1e-4f, -12.0f, INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof(specials) / 4 && i < x.size(); i++) x[i] = specials[i];
  const auto dy = randn(n);
  std::vector<float> yb(n), dxb(n);
  std::vector<double> y(n), dx(n), ym(n), dxm(n);
  for (int64_t i = 0; i < n; i++) {
    yb[i] = gelu_cpu(x[i]);
    dxb[i] = gelu_backward_cpu(dy[i], x[i]);
    const double xd = x[i], e = erf_as(xd * M_SQRT1_2);
    y[i] = 0.5 * xd * (1 + e);
    dx[i] = dy[i] * (0.5 * (1 + e) + xd * std::exp(-0.5 * xd * xd) / std::sqrt(2 * M_PI));
    // float rounding of erf near -1 (1 + erf cancels): scale by the terms
    ym[i] = std::fabs(xd) * 1e-2;
    dxm[i] = std::fabs(dy[i]) * (1 + std::fabs(xd)) * 1e-2;
  }
  const std::string tag = dims("", {{"n", n}}, misaligned ? " misaligned" : "");
  float *dx_ = to_dev(x, off), *ddy = to_dev(dy, off), *dout = dalloc<float>(n + 1) + off;
  gelu_forward(dout, dx_, n, nullptr);
  const auto gy = to_host(dout, n);
  check_bits("gelu_forward = gelu.cc" + tag, gy, yb);
  check("gelu_forward vs double" + tag, gy, y, ym);
  gelu_backward(ddy, ddy, dx_, n, nullptr);  // in place, as block.cu calls it
  const auto gdx = to_host(ddy, n);
  check_bits("gelu_backward = gelu.cc (dx = dout in place)" + tag, gdx, dxb);
  check("gelu_backward vs double" + tag, gdx, dx, dxm);
}

void test_relu(int64_t n, bool misaligned) {
  const size_t off = misaligned ? 1 : 0;
  auto x = randn(n);
  if (n > 3) { x[0] = 0.0f; x[1] = -0.0f; x[2] = NAN; }
  const auto dy = randn(n);
  std::vector<float> y(n), dx(n);
  for (int64_t i = 0; i < n; i++) {
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    dx[i] = dy[i] * (y[i] > 0.0f ? 1.0f : 0.0f);
  }
  const std::string tag = dims("", {{"n", n}}, misaligned ? " misaligned" : "");
  float *dxp = to_dev(x, off), *ddy = to_dev(dy, off);
  relu_forward(dxp, dxp, n, nullptr);  // in place
  check_bits("relu_forward in place" + tag, to_host(dxp, n), y);
  relu_backward(ddy, ddy, dxp, n, nullptr);  // from the output, in place
  check_bits("relu_backward in place" + tag, to_host(ddy, n), dx);
}

void test_bias_add(int64_t N, int64_t C, bool inPlace, bool misaligned) {
  const size_t off = misaligned ? 1 : 0;
  const auto x = randn(N * C), b = randn(C);
  std::vector<float> want(N * C);
  for (int64_t i = 0; i < N * C; i++) want[i] = x[i] + b[i % C];
  float *dx = to_dev(x, off), *db = to_dev(b, off);
  float* out = inPlace ? dx : dalloc<float>(N * C + 1) + off;
  bias_add_rows(out, dx, db, N, C, nullptr);
  check_bits(dims("bias_add_rows", {{"N", N}, {"C", C}}, misaligned ? " misaligned" : "") + (inPlace ? " in place" : ""),
             to_host(out, N * C), want);
}

void test_adamw(int count, bool misalignSome) {
  AdamWHyper h;
  const double lr = 1e-3, wd = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8;
  const int step = 3;
  h.decay = static_cast<float>(1 - lr * wd);
  h.b1 = static_cast<float>(b1); h.omb1 = static_cast<float>(1 - b1);
  h.b2 = static_cast<float>(b2); h.omb2 = static_cast<float>(1 - b2);
  h.sqrt_bc2 = static_cast<float>(std::sqrt(1 - std::pow(b2, step)));
  h.eps = static_cast<float>(eps);
  h.step_size = static_cast<float>(lr / (1 - std::pow(b1, step)));
  std::vector<float*> P(count), M(count), Vv(count);
  std::vector<const float*> G(count);
  std::vector<int64_t> sizes(count);
  std::vector<uint8_t> decay(count);
  std::vector<std::vector<float>> hp(count), hg(count), hm(count), hv(count);
  for (int i = 0; i < count; i++) {
    sizes[i] = i == 0 ? 20001 : i == 1 ? 8192 : i == 2 ? 0 : irand(1, 300);
    decay[i] = static_cast<uint8_t>(i % 3 != 0);
    hp[i] = randn(sizes[i]);
    hg[i] = randn(sizes[i], 0.1f);
    hm[i] = randn(sizes[i], 0.01f);
    hv[i] = uniform(sizes[i], 0.0f, 1e-3f);
    const size_t off = misalignSome && i % 4 == 1 ? 1 : 0;
    P[i] = to_dev(hp[i], off); G[i] = to_dev(hg[i], off); M[i] = to_dev(hm[i], off); Vv[i] = to_dev(hv[i], off);
  }
  adamw(P.data(), G.data(), M.data(), Vv.data(), sizes.data(), decay.data(), count, h, ws_alloc(adamw_workspace_bytes(count)),
        nullptr);
  bool okP = true, okM = true, okV = true;
  double maxAbs = 0;
  for (int i = 0; i < count; i++) {
    const auto gp = to_host(P[i], sizes[i]), gm = to_host(M[i], sizes[i]), gv = to_host(Vv[i], sizes[i]);
    for (int64_t j = 0; j < sizes[i]; j++) {  // adamw.cc's loop
      const float pj = decay[i] ? hp[i][j] * h.decay : hp[i][j];
      const float gj = hg[i][j];
      const float mn = hm[i][j] * h.b1 + gj * h.omb1;
      const float vn = hv[i][j] * h.b2 + (gj * gj) * h.omb2;
      const float denom = std::sqrt(vn) / h.sqrt_bc2 + h.eps;
      const float pn = pj - (mn / denom) * h.step_size;
      okP &= std::memcmp(&pn, &gp[j], 4) == 0;
      okM &= std::memcmp(&mn, &gm[j], 4) == 0;
      okV &= std::memcmp(&vn, &gv[j], 4) == 0;
      maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(pn - gp[j])));
    }
  }
  const std::string tag = " tensors=" + std::to_string(count) + (misalignSome ? " some misaligned" : "");
  report(okP && okM && okV, "adamw params, m, v = adamw.cc (bits)" + tag, maxAbs, 0);
}

}  // namespace

int main() {
  // LayerNorm: warp per row (C <= 2048; float4 when C % 4 = 0), block per row beyond, shared
  // memory column sums up to C = 25600 and workspace ones past it
  const int64_t lnShapes[][2] = {{5, 1}, {9, 7}, {17, 65}, {13, 384}, {6, 1000}, {70, 96}, {4200, 7}, {3, 2050},
                                 {4, 4096}, {3, 7000}, {2, 25601}};
  for (auto& s : lnShapes) test_layernorm(s[0], s[1], false, false);
  test_layernorm(11, 384, true, false);
  test_layernorm(19, 65, false, true);
  test_layernorm(5, 4096, false, true);
  test_layernorm_empty();

  const int64_t csShapes[][2] = {{1, 1}, {7, 5}, {64, 65}, {65, 384}, {1000, 33}, {3000, 100}, {0, 4}};
  for (auto& s : csShapes) {
    if (s[0] == 0) {
      float* out = to_dev(std::vector<float>{5, 5, 5, 5});
      column_sums(out, nullptr, nullptr, 0, 4, nullptr);
      check_bits("column_sums N=0 zero", to_host(out, 4), {0, 0, 0, 0});
    } else {
      test_column_sums(s[0], s[1]);
    }
  }

  test_cross_entropy(5, 65, false, 0);
  test_cross_entropy(37, 65, false, 5);
  test_cross_entropy(300, 65, false, 7);   // several rows per warp
  test_cross_entropy(9, 1000, false, 4);
  test_cross_entropy(7, 1000, true, 0);
  test_cross_entropy(5, 2053, false, 3);   // block per row, odd V
  test_cross_entropy(20, 4096, false, 6);  // block per row, float4, several rows per block
  test_cross_entropy(3, 20000, false, 0);  // 512 threads per row
  test_cross_entropy_edges();

  test_embedding_forward(10, 65, 7, false);
  test_embedding_forward(33, 65, 384, false);
  test_embedding_forward(150, 1000, 64, true);
  test_embedding_backward(600, 7, 33, false, 7);        // split: ~80 rows per id
  test_embedding_backward(5000, 65, 64, false, 65);     // split, float4, 5 tiles
  test_embedding_backward(2500, 65, 65, false, 65);     // warp per id, 3 tiles
  test_embedding_backward(300, 1000, 12, false, 40);    // many repeats of few ids, many empty ids
  test_embedding_backward(1100, 1000, 384, true, 1000);
  test_embedding_backward(1500, 50257, 8, false, 50257);
  {
    float* dd = to_dev(std::vector<float>(6, 3.0f));
    embedding_backward(dd, nullptr, nullptr, nullptr, 0, 2, 3, nullptr);
    check_bits("embedding_backward N=0 zero", to_host(dd, 6), std::vector<float>(6, 0.0f));
  }

  test_philox_known_answers();
  for (int64_t n : {1, 3, 4, 7, 1001, 4101}) test_dropout(n, 0.1, false);
  test_dropout(4101, 0.5, true);
  test_dropout(8192 + 4096 + 3, 0.3, false);  // several grid strides
  for (int alias = 0; alias < 3; alias++) {
    test_residual(4103, true, alias, false);
    test_residual(4103, false, alias, false);
  }
  test_residual(999, true, 0, true);
  test_residual(5, true, 0, false);

  for (int64_t n : {1, 5, 4099, 20011}) test_gelu(n, false);
  test_gelu(1001, true);
  test_relu(3, false);
  test_relu(5003, false);
  test_relu(1001, true);

  test_bias_add(3, 1, false, false);
  test_bias_add(5, 7, true, false);
  test_bias_add(9, 384, false, false);
  test_bias_add(40, 1000, true, false);  // several grid strides, column wrapping
  test_bias_add(33, 65, false, false);
  test_bias_add(21, 384, false, true);

  test_adamw(7, false);
  test_adamw(70, true);  // two launches of up to 64 tensors

  for (void* p : g_allocs) cudaFree(p);
  std::printf("%d failures\n", g_failures);
  return g_failures ? 1 : 0;
}
