// Checks of attention.cu against a double-precision reference that materialises S, P, M per head:
// forward out and lse, backward dq, dk, dv (with out and lse kept, and recomputed), contiguous heads
// and heads in token rows (q, k, v interleaved in one (B, T, 3C) buffer), with and without dropout,
// on shapes covering every path (D <= 16, 32, 64, 128 tiles, the general D > 128 path, odd T,
// several tiles), and bit-identical results run to run. Outputs must be NaN-free (every element
// written). Error of an element: |got - ref| / (|ref| + rms(ref)), at most 1e-5 in fp32. The bf16
// path (tensor cores) is checked against the same reference rounded where the kernels round: q, k,
// v, dout, and each weight (P M and dS) as it enters a product, the forward's with the running max
// of its key tile. At most 1e-3: one weight whose fp32 value sits at a bf16 rounding boundary may
// round the other way (2^-8 of that term); a missing or misplaced term is larger. The bf16 results
// must also differ from the fp32 kernels' (so the test knows the tensor-core path ran).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../src/attention.h"

using nlc::AttentionDims;

namespace {

int failures = 0;
constexpr double kTol = 1e-5, kTolBf16 = 1e-3;

double bf16_round(float x) { return static_cast<double>(__bfloat162float(__float2bfloat16(x))); }

struct Rng {
  uint64_t s;
  float next() {  // uniform in [-1, 1)
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(static_cast<double>(s >> 40) / 8388608.0 - 1.0);
  }
};

// got vs ref at the given element offsets
void compare(const std::string& what, const std::vector<float>& got, const std::vector<double>& ref,
             const std::vector<int64_t>& at, double tol = kTol) {
  double rms = 0;
  for (double r : ref) rms += r * r;
  rms = std::sqrt(rms / static_cast<double>(ref.empty() ? 1 : ref.size()));
  double max_abs = 0, max_rel = 0;
  bool finite = true;
  for (size_t i = 0; i < ref.size(); i++) {
    const double g = got[static_cast<size_t>(at[i])];
    if (!std::isfinite(g)) finite = false;
    const double e = std::fabs(g - ref[i]);
    max_abs = std::fmax(max_abs, e);
    max_rel = std::fmax(max_rel, e / (std::fabs(ref[i]) + rms + 1e-30));
  }
  const bool ok = finite && max_rel <= tol;
  std::printf("%s %s max_abs=%.3g max_rel=%.3g%s\n", ok ? "ok  " : "FAIL", what.c_str(), max_abs, max_rel,
              finite ? "" : " (non-finite)");
  failures += !ok;
}

void expect(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  failures += !ok;
}

// h in device memory, off floats past the allocation's start (off = 1: not 16-byte aligned)
float* to_device(const std::vector<float>& h, int off = 0) {
  float* p = nullptr;
  NL_CUDA_CHECK(cudaMalloc(&p, (std::max<size_t>(h.size(), 1) + off) * sizeof(float)));
  NL_CUDA_CHECK(cudaMemcpy(p + off, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  return p + off;
}

std::vector<float> to_host(const float* p, size_t n) {
  std::vector<float> h(n);
  NL_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

struct Case {
  int B, H, T, D;
  bool rows;    // heads in token rows (B, T, 3C) / (B, T, C), else contiguous (B, H, T, D)
  double rate;  // dropout on the weights
  bool bf16 = false;
  int off = 0;  // floats every tensor sits past a 256-byte boundary: 1 takes the kernels off float4 access
};

void run(const Case& c) {
  const int B = c.B, H = c.H, T = c.T, D = c.D;
  const int64_t C = static_cast<int64_t>(H) * D, n = static_cast<int64_t>(B) * T * C;  // n: elements of q
  char name[96];
  std::snprintf(name, sizeof name, "(%d,%d,%d,%d) %s %s%s%s", B, H, T, D, c.rows ? "rows" : "contig",
                c.rate > 0 ? "drop" : "nodrop", c.bf16 ? " bf16" : "", c.off ? " misaligned" : "");
  const bool tensor_cores = c.bf16 && D <= 128;  // larger heads take the fp32 path whatever d.bf16 says
  const double tol = tensor_cores ? kTolBf16 : kTol;
  auto in = [&](float x) { return tensor_cores ? bf16_round(x) : static_cast<double>(x); };

  AttentionDims d;
  d.B = B; d.H = H; d.T = T; d.D = D;
  d.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  d.drop = c.rate > 0;
  d.key = nlc::dropout_key(c.rate, 0x1234u + static_cast<uint32_t>(T), 7u, 42u + static_cast<uint32_t>(D), 3u);
  d.qkv = c.rows ? nlc::heads_in_rows(T, D, 3 * C) : nlc::heads_contiguous(H, T, D);
  d.out = c.rows ? nlc::heads_in_rows(T, D, C) : nlc::heads_contiguous(H, T, D);
  d.bf16 = c.bf16;
  // q, k, v (and dq, dk, dv) at these offsets of one buffer of 3n floats
  const int64_t ok_ = c.rows ? C : n, ov = 2 * ok_;

  Rng rng{0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(B * 1000003 + H * 10007 + T * 101 + D)};
  std::vector<float> qkv(static_cast<size_t>(3 * n)), dout(static_cast<size_t>(n));
  for (auto& x : qkv) x = rng.next();
  for (auto& x : dout) x = rng.next();
  // larger q, k: softmax far from uniform
  auto at = [&](const nlc::HeadLayout& l, int b, int h, int t, int e) { return b * l.sb + h * l.sh + t * l.st + e; };
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++)
        for (int e = 0; e < D; e++) {
          qkv[static_cast<size_t>(at(d.qkv, b, h, t, e))] *= 2.f;
          qkv[static_cast<size_t>(ok_ + at(d.qkv, b, h, t, e))] *= 2.f;
        }

  // reference
  const size_t NQ = static_cast<size_t>(n), NR = static_cast<size_t>(B) * H * T;
  std::vector<double> rout(NQ), rlse(NR), rdq(NQ), rdk(NQ), rdv(NQ);
  std::vector<int64_t> aq(NQ), ao(NQ), ar(NR);
  std::vector<double> S(static_cast<size_t>(T) * T), P(S.size()), M(S.size()), dS(S.size()), PO(S.size());
  // a weight as a product on the tensor cores takes it: rounded to bf16
  auto w = [&](double x) { return tensor_cores ? bf16_round(static_cast<float>(x)) : x; };
  size_t iq = 0, io = 0;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      const int64_t bh = static_cast<int64_t>(b) * H + h;
      auto Q = [&](int t, int e) { return in(qkv[static_cast<size_t>(at(d.qkv, b, h, t, e))]); };
      auto K = [&](int t, int e) { return in(qkv[static_cast<size_t>(ok_ + at(d.qkv, b, h, t, e))]); };
      auto V = [&](int t, int e) { return in(qkv[static_cast<size_t>(ov + at(d.qkv, b, h, t, e))]); };
      auto dO = [&](int t, int e) { return in(dout[static_cast<size_t>(at(d.out, b, h, t, e))]); };
      for (int i = 0; i < T; i++) {
        double mx = -INFINITY;
        for (int j = 0; j <= i; j++) {
          double s = 0;
          for (int e = 0; e < D; e++) s += Q(i, e) * K(j, e);
          S[i * T + j] = s * static_cast<double>(d.scale);
          mx = std::fmax(mx, S[i * T + j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) sum += std::exp(S[i * T + j] - mx);
        rlse[static_cast<size_t>(bh * T + i)] = mx + std::log(sum);
        ar[static_cast<size_t>(bh * T + i)] = bh * T + i;
        for (int j = 0; j < T; j++) {
          P[i * T + j] = j <= i ? std::exp(S[i * T + j] - mx) / sum : 0.0;
          M[i * T + j] = d.drop ? nlc::dropout_mask_at(d.key, static_cast<uint64_t>((bh * T + i) * T + j)) : 1.0;
        }
        // The weights O is made of: P M, or on the tensor cores bf16(exp(S - m_t) M) exp(m_t - mx) / sum
        // with m_t the running max after key tile t (the kernel's online softmax).
        double mt = -INFINITY;
        for (int j = 0; j <= i; j++) {
          if (j % 64 == 0) {
            for (int jj = j; jj < j + 64 && jj <= i; jj++) mt = std::fmax(mt, S[i * T + jj]);
          }
          PO[i * T + j] = tensor_cores ? w(std::exp(S[i * T + j] - mt) * M[i * T + j]) * std::exp(mt - mx) / sum
                                       : P[i * T + j] * M[i * T + j];
        }
      }
      std::vector<double> Di(static_cast<size_t>(T));
      for (int i = 0; i < T; i++) {
        double di = 0;  // rowsum(dO * O), as the kernels compute it
        for (int e = 0; e < D; e++) {
          double o = 0;
          for (int j = 0; j <= i; j++) o += PO[i * T + j] * V(j, e);
          rout[io] = o;
          ao[io++] = at(d.out, b, h, i, e);
          di += dO(i, e) * o;
        }
        for (int j = 0; j <= i; j++) {
          double dpm = 0;
          for (int e = 0; e < D; e++) dpm += dO(i, e) * V(j, e);
          dS[i * T + j] = dpm;
        }
        Di[static_cast<size_t>(i)] = di;
        for (int j = 0; j <= i; j++) dS[i * T + j] = P[i * T + j] * (dS[i * T + j] * M[i * T + j] - di);
      }
      for (int t = 0; t < T; t++)
        for (int e = 0; e < D; e++) {
          double gq = 0, gk = 0, gv = 0;
          for (int j = 0; j <= t; j++) gq += w(dS[t * T + j]) * K(j, e);
          for (int i = t; i < T; i++) {
            gk += w(dS[i * T + t]) * Q(i, e);
            gv += w(P[i * T + t] * M[i * T + t]) * dO(i, e);
          }
          rdq[iq] = gq * d.scale;
          rdk[iq] = gk * d.scale;
          rdv[iq] = gv;
          aq[iq++] = at(d.qkv, b, h, t, e);
        }
    }
  std::vector<int64_t> ak(NQ), av(NQ);
  for (size_t i = 0; i < NQ; i++) { ak[i] = aq[i] + ok_; av[i] = aq[i] + ov; }

  // device
  const std::vector<float> nan3(static_cast<size_t>(3 * n), NAN), nan1(NQ, NAN), nanr(NR, NAN);
  float* dqkv = to_device(qkv, c.off);
  float* ddout = to_device(dout, c.off);
  float* dgrad = to_device(nan3, c.off);
  float* dgrad2 = to_device(nan3, c.off);
  float* dout_ = to_device(nan1, c.off);
  float* dout2 = to_device(nan1, c.off);
  float* dlse = to_device(nanr, c.off);
  float* dlse2 = to_device(nanr, c.off);
  float* ws = nullptr;
  NL_CUDA_CHECK(cudaMalloc(&ws, std::max<size_t>(nlc::attention_backward_workspace_bytes(d), 4)));
  const float *q = dqkv, *k = dqkv + ok_, *v = dqkv + ov;
  const std::string nm(name);

  nlc::attention_forward(dout_, dlse, q, k, v, d, nullptr);
  const std::vector<float> hout = to_host(dout_, NQ), hlse = to_host(dlse, NR);
  compare("fwd out " + nm, hout, rout, ao, tol);
  compare("fwd lse " + nm, hlse, rlse, ar, tol);
  bool full = true;
  for (float x : hout) full &= std::isfinite(x);
  expect(full, "fwd writes every element of out " + nm);

  auto check_grads = [&](const std::string& what, const std::vector<float>& g) {
    compare("bwd dq " + what + " " + nm, g, rdq, aq, tol);
    compare("bwd dk " + what + " " + nm, g, rdk, ak, tol);
    compare("bwd dv " + what + " " + nm, g, rdv, av, tol);
    bool all = true;
    for (float x : g) all &= std::isfinite(x);
    expect(all, "bwd writes every element of dq, dk, dv (" + what + ") " + nm);
  };
  nlc::attention_backward(dgrad, dgrad + ok_, dgrad + ov, ws, ddout, dout_, dlse, q, k, v, d, nullptr);
  const std::vector<float> hg = to_host(dgrad, static_cast<size_t>(3 * n));
  check_grads("saved", hg);

  // recompute paths: neither out nor lse, and lse alone missing
  NL_CUDA_CHECK(cudaMemcpy(dgrad2, nan3.data(), nan3.size() * sizeof(float), cudaMemcpyHostToDevice));
  nlc::attention_backward(dgrad2, dgrad2 + ok_, dgrad2 + ov, ws, ddout, nullptr, nullptr, q, k, v, d, nullptr);
  check_grads("recomputed", to_host(dgrad2, static_cast<size_t>(3 * n)));
  NL_CUDA_CHECK(cudaMemcpy(dgrad2, nan3.data(), nan3.size() * sizeof(float), cudaMemcpyHostToDevice));
  nlc::attention_backward(dgrad2, dgrad2 + ok_, dgrad2 + ov, ws, ddout, dout_, nullptr, q, k, v, d, nullptr);
  check_grads("lse-recomputed", to_host(dgrad2, static_cast<size_t>(3 * n)));

  // determinism: a second run, same bits
  nlc::attention_forward(dout2, dlse2, q, k, v, d, nullptr);
  NL_CUDA_CHECK(cudaMemcpy(dgrad2, nan3.data(), nan3.size() * sizeof(float), cudaMemcpyHostToDevice));
  nlc::attention_backward(dgrad2, dgrad2 + ok_, dgrad2 + ov, ws, ddout, dout2, dlse2, q, k, v, d, nullptr);
  const std::vector<float> hout2 = to_host(dout2, NQ), hlse2 = to_host(dlse2, NR);
  const std::vector<float> hg2 = to_host(dgrad2, static_cast<size_t>(3 * n));
  expect(std::memcmp(hout.data(), hout2.data(), NQ * sizeof(float)) == 0 &&
             std::memcmp(hlse.data(), hlse2.data(), NR * sizeof(float)) == 0 &&
             std::memcmp(hg.data(), hg2.data(), hg.size() * sizeof(float)) == 0,
         "deterministic fwd + bwd " + nm);

  if (tensor_cores) {  // the fp32 kernels on the same inputs: the bf16 path really ran
    AttentionDims d32 = d;
    d32.bf16 = false;
    nlc::attention_forward(dout2, dlse2, q, k, v, d32, nullptr);
    const std::vector<float> h32 = to_host(dout2, NQ);
    double diff = 0;
    for (size_t i = 0; i < NQ; i++) diff = std::fmax(diff, std::fabs(static_cast<double>(h32[i]) - hout[i]));
    char what[64];
    std::snprintf(what, sizeof what, "bf16 differs from fp32 (max %.3g) ", diff);
    expect(diff > 1e-5, what + nm);
  }

  for (float* p : {dqkv, ddout, dgrad, dgrad2, dout_, dout2, dlse, dlse2}) cudaFree(p - c.off);
  cudaFree(ws);
}

}  // namespace

int main() {
  const Case cases[] = {
      {1, 1, 1, 1, false, 0.0},    // smallest; D <= 16 tile, scalar loads
      {2, 3, 17, 8, false, 0.0},   // D <= 16, float4
      {2, 3, 17, 8, true, 0.2},
      {1, 2, 70, 64, false, 0.2},  // D <= 64, two tiles
      {1, 2, 70, 64, true, 0.0},
      {1, 1, 33, 130, true, 0.2},  // general path, two 32-key chunks
      {1, 1, 33, 130, false, 0.0},
      {1, 2, 40, 30, true, 0.2},   // D <= 32, scalar loads
      {2, 1, 65, 32, true, 0.0},   // D <= 32, T one past a tile
      {1, 1, 130, 100, false, 0.2},  // D <= 128, three tiles
      {1, 1, 200, 13, true, 0.2},  // D <= 16, four tiles, scalar
      {1, 1, 64, 128, true, 0.0},  // exactly one full tile
      // bf16 on the tensor cores: DP = 16, 32, 64, 128, one to three tiles, dropout, both layouts
      {1, 1, 1, 1, false, 0.0, true},
      {2, 3, 17, 8, true, 0.2, true},
      {1, 2, 70, 64, false, 0.2, true},
      {1, 2, 70, 64, true, 0.0, true},
      {1, 2, 40, 30, true, 0.2, true},
      {2, 1, 65, 32, false, 0.0, true},
      {1, 1, 130, 100, true, 0.2, true},
      {1, 1, 64, 128, false, 0.0, true},
      {1, 1, 33, 130, true, 0.2, true},  // D > 128: the fp32 general path
      // tensors not 16-byte aligned (D and strides would allow float4): scalar access
      {1, 2, 70, 64, true, 0.2, false, 1},
      {2, 3, 17, 8, false, 0.0, false, 1},
      {1, 2, 70, 64, false, 0.2, true, 1},
  };
  for (const Case& c : cases) run(c);

  // zero-size inputs do nothing (and do not fault on null pointers)
  AttentionDims z{};
  z.B = 2; z.H = 2; z.T = 0; z.D = 8; z.scale = 1.f;
  z.qkv = z.out = nlc::heads_contiguous(2, 0, 8);
  nlc::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, z, nullptr);
  nlc::attention_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, z, nullptr);
  expect(nlc::attention_backward_workspace_bytes(z) == 0, "zero-size T = 0 is a no-op");

  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
