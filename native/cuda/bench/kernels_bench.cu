// Kernel benchmark of the CUDA backend, in the style of llm.c's dev/cuda: every launcher a training
// step of the lecture's scale-up model runs (B=64, T=256, C=384, 6 heads of 64, F=1536, V=65,
// 6 layers, dropout 0.2; N = B T rows), timed with cudaEvents on the backend's stream
// (nlc::stream()), inputs from nlc::device_alloc filled by a deterministic generator.
//
//   sh native/cuda/bench/run_bench.sh gpu [--precision fp32|tf32|bf16] [--only SUBSTRING]
//   sh native/cuda/bench/run_bench.sh emu        (the CPU emulator: always --quick)
//
// Each line: kernel, shape, ms (median of the reps, after the warm-up calls), GB/s over a stated
// minimal byte count (every input read once, every output written once; gathers count the table
// once) and GFLOP/s where it means something (matmul 2MNK; causal attention forward 2 B H T^2 D,
// half of the full QK^T and PV; backward 2.5x the forward). Reps are queued back to back with an
// event between each two, so a rep's time is the GPU's time for it when the host keeps ahead (as
// in a training step), including any gap the launcher's own host work leaves. Repeated reps on
// the same buffers keep inputs of up to the L2 size (50 MB on H100) warm in L2: GB/s above the
// HBM bandwidth on small tensors means that, not a faster kernel.
//
// Flags: --quick (tiny shapes, 1 rep, no warm-up; always on under NL_CUDA_EMU), --precision for the
// block (default fp32), --only SUBSTRING (kernels whose name contains it), --reps N, --warmup N.
// Matmuls are timed in fp32, tf32, bf16 and bf16c (bf16 copies: matmul.h's Bf16Gemm); the block and
// the summary use the route NANOLAB_CUDA_BF16_GEMM picks (default round-in-gemm, "bf16").
// Correctness is checked by test/*_test.cu; here every launch is checked for errors, and the run
// ends with "bench done" (exit 0) or the CUDA error (exit 1).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../src/attention.h"
#include "../src/block.h"
#include "../src/matmul.h"
#include "../src/memory.h"
#include "../src/rowwise.h"

using namespace nlc;

namespace {

// ---------------------------------------------------------------------------------------------
// options and shapes

struct Options {
  bool quick = false;
  Precision precision = Precision::FP32;  // the block's
  std::string only;                       // run kernels whose name contains this
  int warmup = 3, reps = 20;
};
Options g_opt;

struct Shapes {
  int64_t B, T, C, H, F, V, layers;
  int64_t N() const { return B * T; }
  int64_t D() const { return C / H; }
};

// bf16c: bf16 with Bf16Gemm::Bf16Copies (operands copied to bf16 before the GEMM), as set now.
const char* precision_name(Precision p) {
  return p == Precision::FP32 ? "fp32" : p == Precision::TF32 ? "tf32" : bf16_gemm() == Bf16Gemm::Bf16Copies ? "bf16c" : "bf16";
}

// ---------------------------------------------------------------------------------------------
// deterministic inputs

uint64_t g_seed = 0x9e3779b97f4a7c15ull;
uint64_t next_u64() {  // splitmix64
  uint64_t z = (g_seed += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
float next_uniform(float lo, float hi) {  // [lo, hi)
  return lo + (hi - lo) * static_cast<float>(static_cast<double>(next_u64() >> 40) / 16777216.0);
}

template <class T>
T* dev_alloc(int64_t n) {
  return static_cast<T*>(device_alloc(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T)));
}
float* dev_uniform(int64_t n, float lo, float hi) {
  std::vector<float> h(static_cast<size_t>(n));
  for (auto& x : h) x = next_uniform(lo, hi);
  float* d = dev_alloc<float>(n);
  NL_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}
float* dev_zeros(int64_t n) {
  float* d = dev_alloc<float>(n);
  NL_CUDA_CHECK(cudaMemset(d, 0, static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float)));
  return d;
}
int32_t* dev_ids(int64_t n, int64_t range) {  // each in [0, range)
  std::vector<int32_t> h(static_cast<size_t>(n));
  for (auto& x : h) x = static_cast<int32_t>(next_u64() % static_cast<uint64_t>(range));
  int32_t* d = dev_alloc<int32_t>(n);
  NL_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
  return d;
}
float* dev_workspace(size_t bytes) { return bytes ? static_cast<float*>(device_alloc(bytes)) : nullptr; }

// ---------------------------------------------------------------------------------------------
// timing and the table

std::map<std::string, double> g_ms;  // median ms by kernel name (for the summary)

bool selected(const std::string& name) { return g_opt.only.empty() || name.find(g_opt.only) != std::string::npos; }

void print_header(const char* section) { std::printf("-- %s\n", section); }

void print_row(const std::string& name, const std::string& shape, double ms, double bytes, double flops) {
  char gbs[32] = "-", gfs[32] = "-";
  if (bytes > 0 && ms > 0) std::snprintf(gbs, sizeof gbs, "%.1f", bytes / (ms * 1e-3) / 1e9);
  if (flops > 0 && ms > 0) std::snprintf(gfs, sizeof gfs, "%.1f", flops / (ms * 1e-3) / 1e9);
  std::printf("%-40s %-36s %10.4f %9s %10s\n", name.c_str(), shape.c_str(), ms, gbs, gfs);
}

// Runs fn warm-up times, then reps times with an event before the first and after each, all queued
// on the stream before one synchronisation; prints the median and returns it (NaN when --only
// skips the kernel). bytes, flops: per call, 0 when not meaningful.
double time_it(const std::string& name, const std::string& shape, double bytes, double flops,
               const std::function<void()>& fn) {
  if (!selected(name)) return NAN;
  cudaStream_t s = stream();
  for (int i = 0; i < g_opt.warmup; i++) fn();
  NL_CUDA_CHECK(cudaGetLastError());
  NL_CUDA_CHECK(cudaStreamSynchronize(s));
  const int reps = std::max(g_opt.reps, 1);
  std::vector<cudaEvent_t> ev(static_cast<size_t>(reps) + 1);
  for (auto& e : ev) NL_CUDA_CHECK(cudaEventCreate(&e));
  NL_CUDA_CHECK(cudaEventRecord(ev[0], s));
  for (int i = 0; i < reps; i++) {
    fn();
    NL_CUDA_CHECK(cudaEventRecord(ev[static_cast<size_t>(i) + 1], s));
  }
  NL_CUDA_CHECK(cudaEventSynchronize(ev[static_cast<size_t>(reps)]));
  NL_CUDA_CHECK(cudaGetLastError());
  NL_CUDA_CHECK(cudaStreamSynchronize(s));
  std::vector<float> ms(static_cast<size_t>(reps));
  for (int i = 0; i < reps; i++) {
    NL_CUDA_CHECK(cudaEventElapsedTime(&ms[static_cast<size_t>(i)], ev[static_cast<size_t>(i)], ev[static_cast<size_t>(i) + 1]));
  }
  for (auto& e : ev) NL_CUDA_CHECK(cudaEventDestroy(e));
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  const double median = n % 2 ? ms[n / 2] : 0.5 * (static_cast<double>(ms[n / 2 - 1]) + ms[n / 2]);
  print_row(name, shape, median, bytes, flops);
  g_ms[name] = median;
  return median;
}

std::string fmt(const char* f, long long a, long long b = 0, long long c = 0, long long d = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// attention in the block's layout: q, k, v interleaved in one (B, T, 3C) buffer

AttentionDims block_attention(const Shapes& S, bool drop) {
  AttentionDims a;
  a.B = static_cast<int>(S.B); a.H = static_cast<int>(S.H); a.T = static_cast<int>(S.T); a.D = static_cast<int>(S.D());
  a.scale = 1.0f / std::sqrt(static_cast<float>(a.D));
  a.drop = drop;
  a.key = dropout_key(drop ? 0.2 : 0.0, 1337u, 0u, 11u, 0u);
  a.qkv = heads_in_rows(S.T, S.D(), 3 * S.C);
  a.out = heads_in_rows(S.T, S.D(), S.C);
  return a;
}

double attention_fwd_flops(const Shapes& S) {  // causal: half of QK^T and PV
  return 2.0 * static_cast<double>(S.B) * S.H * S.T * S.T * S.D();
}

void bench_attention(const Shapes& S) {
  print_header("attention (heads in rows: q | k | v in one (B, T, 3C) buffer)");
  const int64_t N = S.N(), C = S.C, BHT = S.B * S.H * S.T;
  float* qkv = dev_uniform(N * 3 * C, -1.0f, 1.0f);
  float* out = dev_zeros(N * C);
  float* lse = dev_zeros(BHT);
  float* dout = dev_uniform(N * C, -1.0f, 1.0f);
  float* dqkv = dev_zeros(N * 3 * C);
  const size_t ws = std::max(attention_backward_workspace_bytes(block_attention(S, false)),
                             attention_backward_workspace_bytes(block_attention(S, true)));
  float* work = dev_workspace(ws);
  const std::string shape = fmt("B=%lld T=%lld H=%lld D=%lld", S.B, S.T, S.H, S.D());
  const double fwdFlops = attention_fwd_flops(S), bwdFlops = 2.5 * fwdFlops;
  const double fwdBytes = 4.0 * (4.0 * N * C + BHT);  // q, k, v in; out, lse out
  cudaStream_t s = stream();
  for (int variant = 0; variant < 4; variant++) {  // fp32, fp32 + dropout, bf16 (tensor cores), bf16 + dropout
    const bool drop = variant & 1, bf16 = variant >= 2;
    AttentionDims a = block_attention(S, drop);
    a.bf16 = bf16;
    const std::string tag = std::string(bf16 ? " bf16" : "") + (drop ? " drop0.2" : "");
    auto fwd = [&] { attention_forward(out, lse, qkv, qkv + C, qkv + 2 * C, a, s); };
    time_it("attention_forward" + tag, shape, fwdBytes, fwdFlops, fwd);
    fwd();  // out and lse of this dropout setting for the backward
    for (bool saved : {true, false}) {
      // in: dout, out, q, k, v (+ lse); out: dq, dk, dv
      const double bytes = 4.0 * (8.0 * N * C + (saved ? BHT : 0));
      time_it("attention_backward" + tag + (saved ? " lse" : " recompute"), shape, bytes, bwdFlops, [&] {
        attention_backward(dqkv, dqkv + C, dqkv + 2 * C, work, dout, out, saved ? lse : nullptr, qkv, qkv + C,
                           qkv + 2 * C, a, s);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// row-wise and element-wise kernels

void bench_rowwise(const Shapes& S) {
  print_header("row-wise and element-wise");
  cudaStream_t s = stream();
  const int64_t N = S.N(), C = S.C, F = S.F, V = S.V, NC = N * C, NF = N * F;
  const float eps = 1e-5f;
  const std::string nc = fmt("N=%lld C=%lld", N, C), nf = fmt("N=%lld F=%lld", N, F), nv = fmt("N=%lld V=%lld", N, V);

  // layer norm (N, C)
  {
    float* x = dev_uniform(NC, -2.0f, 2.0f);
    float* g = dev_uniform(C, 0.9f, 1.1f);
    float* b = dev_uniform(C, -0.1f, 0.1f);
    float* out = dev_zeros(NC);
    float* mean = dev_zeros(N);
    float* rstd = dev_zeros(N);
    float* dout = dev_uniform(NC, -1.0f, 1.0f);
    float* dx = dev_zeros(NC);
    float* dg = dev_zeros(C);
    float* db = dev_zeros(C);
    float* work = dev_workspace(layernorm_backward_workspace_bytes(N, C));
    time_it("layernorm_forward", nc, 4.0 * (2.0 * NC + 2.0 * C + 2.0 * N), 0,
            [&] { layernorm_forward(out, mean, rstd, x, g, b, N, C, eps, s); });
    layernorm_forward(out, mean, rstd, x, g, b, N, C, eps, s);
    time_it("layernorm_backward", nc, 4.0 * (3.0 * NC + 3.0 * C + 2.0 * N), 0,
            [&] { layernorm_backward(dx, dg, db, work, dout, x, g, mean, rstd, N, C, eps, s); });
    time_it("layernorm_backward recompute-stats", nc, 4.0 * (3.0 * NC + 3.0 * C), 0,
            [&] { layernorm_backward(dx, dg, db, work, dout, x, g, nullptr, nullptr, N, C, eps, s); });
  }

  // cross-entropy (N, V)
  {
    float* logits = dev_uniform(N * V, -3.0f, 3.0f);
    float* dlogits = dev_zeros(N * V);
    int32_t* targets = dev_ids(N, V);
    float* loss = dev_zeros(1);
    float* dloss = dev_zeros(1);
    const float one = 1.0f;
    NL_CUDA_CHECK(cudaMemcpy(dloss, &one, sizeof one, cudaMemcpyHostToDevice));
    float* work = dev_workspace(cross_entropy_workspace_bytes(N, V));
    time_it("cross_entropy_forward", nv, 4.0 * (N * V + N + 1), 0,
            [&] { cross_entropy_forward(loss, work, logits, targets, N, V, s); });
    time_it("cross_entropy_backward", nv, 4.0 * (2.0 * N * V + N + 1), 0,
            [&] { cross_entropy_backward(dlogits, logits, targets, dloss, N, V, s); });
  }

  // token embedding (N rows of a (V, C) table)
  {
    float* table = dev_uniform(V * C, -1.0f, 1.0f);
    int32_t* ids = dev_ids(N, V);
    float* out = dev_zeros(NC);
    float* dout = dev_uniform(NC, -1.0f, 1.0f);
    float* dtable = dev_zeros(V * C);
    float* work = dev_workspace(embedding_backward_workspace_bytes(N, V, C));
    const std::string shape = fmt("N=%lld V=%lld C=%lld", N, V, C);
    time_it("embedding_forward", shape, 4.0 * (V * C + N + NC), 0,
            [&] { embedding_forward(out, table, ids, N, V, C, s); });
    time_it("embedding_backward", shape, 4.0 * (N + NC + V * C), 0,
            [&] { embedding_backward(dtable, work, ids, dout, N, V, C, s); });
  }

  // dropout, GELU, ReLU, residual, column sums
  {
    const DropoutKey key = dropout_key(0.2, 1337u, 0u, 21u, 0u);
    float* x = dev_uniform(NF, -3.0f, 3.0f);
    float* dout = dev_uniform(NF, -1.0f, 1.0f);
    float* y = dev_zeros(NF);
    float* res = dev_uniform(NC, -1.0f, 1.0f);
    float* colsum = dev_zeros(F);
    float* work = dev_workspace(std::max(column_sums_workspace_bytes(N, F), column_sums_workspace_bytes(N, C)));
    time_it("dropout_forward p=0.2", fmt("n=N*C=%lld", NC), 4.0 * 2.0 * NC, 0,
            [&] { dropout_forward(y, x, NC, key, s); });
    time_it("gelu_forward", fmt("n=N*F=%lld", NF), 4.0 * 2.0 * NF, 0, [&] { gelu_forward(y, x, NF, s); });
    time_it("gelu_backward", fmt("n=N*F=%lld", NF), 4.0 * 3.0 * NF, 0, [&] { gelu_backward(y, dout, x, NF, s); });
    time_it("relu_backward", fmt("n=N*F=%lld", NF), 4.0 * 3.0 * NF, 0, [&] { relu_backward(y, dout, x, NF, s); });
    time_it("residual_dropout_add p=0.2", fmt("n=N*C=%lld", NC), 4.0 * 3.0 * NC, 0,
            [&] { residual_dropout_add(y, res, x, NC, key, true, s); });
    time_it("column_sums (N, F)", nf, 4.0 * (NF + F), 0, [&] { column_sums(colsum, work, x, N, F, s); });
    time_it("column_sums (N, C)", nc, 4.0 * (NC + C), 0, [&] { column_sums(colsum, work, x, N, C, s); });
  }
}

// ---------------------------------------------------------------------------------------------
// AdamW over the model's parameters

// The scale-up model's parameter tensors (sizes, decay on the matrices): token and position
// embeddings, per layer ln1 (2), Wqkv, Wproj, bproj, ln2 (2), Wfc, bfc, Wfp, bfp, then the final
// layer norm (2) and the lm head (W, b): 10,788,929 floats in 78 tensors at full size.
void model_params(const Shapes& S, std::vector<int64_t>& sizes, std::vector<uint8_t>& decay) {
  const int64_t C = S.C, F = S.F;
  auto add = [&](int64_t n, bool d) { sizes.push_back(n); decay.push_back(d ? 1 : 0); };
  add(S.V * C, true);
  add(S.T * C, true);
  for (int64_t l = 0; l < S.layers; l++) {
    add(C, false); add(C, false);
    add(C * 3 * C, true);
    add(C * C, true); add(C, false);
    add(C, false); add(C, false);
    add(C * F, true); add(F, false);
    add(F * C, true); add(C, false);
  }
  add(C, false); add(C, false);
  add(C * S.V, true); add(S.V, false);
}

void bench_adamw(const Shapes& S) {
  print_header("optimizer");
  std::vector<int64_t> sizes;
  std::vector<uint8_t> decay;
  if (g_opt.quick) {  // 10 tensors of about 1000 floats
    for (int i = 0; i < 10; i++) { sizes.push_back(1000 + 37 * i); decay.push_back(i % 2); }
  } else {
    model_params(S, sizes, decay);
  }
  const int count = static_cast<int>(sizes.size());
  std::vector<float*> p, g, m, v;
  int64_t total = 0;
  for (int64_t n : sizes) {
    p.push_back(dev_uniform(n, -0.1f, 0.1f));
    g.push_back(dev_uniform(n, -0.01f, 0.01f));
    m.push_back(dev_zeros(n));
    v.push_back(dev_zeros(n));
    total += n;
  }
  const double lr = 3e-4, wd = 0.01, b1 = 0.9, b2 = 0.999;
  const int t = 1;
  AdamWHyper h;
  h.decay = static_cast<float>(1.0 - lr * wd);
  h.b1 = static_cast<float>(b1); h.omb1 = static_cast<float>(1.0 - b1);
  h.b2 = static_cast<float>(b2); h.omb2 = static_cast<float>(1.0 - b2);
  h.sqrt_bc2 = static_cast<float>(std::sqrt(1.0 - std::pow(b2, t)));
  h.eps = 1e-8f;
  h.step_size = static_cast<float>(lr / (1.0 - std::pow(b1, t)));
  float* work = dev_workspace(adamw_workspace_bytes(count));
  const std::vector<const float*> gc(g.begin(), g.end());
  // read p, g, m, v; write p, m, v
  time_it("adamw", fmt("%lld tensors, %lld floats", count, total), 4.0 * 7.0 * total, 0, [&] {
    adamw(p.data(), gc.data(), m.data(), v.data(), sizes.data(), decay.data(), count, h, work, stream());
  });
}

// ---------------------------------------------------------------------------------------------
// matmuls at the block's (and the lm head's) shapes

struct MatmulCase {
  const char* role;   // what it is in the step
  const char* dims;   // M x N x K in model terms
  int64_t M, N, K;
  bool ta, tb, bias;
};

std::vector<MatmulCase> matmul_cases(const Shapes& S) {
  const int64_t N = S.N(), C = S.C, F = S.F, V = S.V;
  return {
      // forward: activations (N, K) @ weights (K, out)
      {"qkv", "N x 3C x C", N, 3 * C, C, false, false, false},
      {"proj+b", "N x C x C", N, C, C, false, false, true},
      {"fc+b", "N x F x C", N, F, C, false, false, true},
      {"fp+b", "N x C x F", N, C, F, false, false, true},
      {"lm_head", "N x V x C", N, V, C, false, false, false},
      // weight gradients: act^T (K = N rows) @ dout
      {"dW qkv", "C x 3C x N tA", C, 3 * C, N, true, false, false},
      {"dW proj", "C x C x N tA", C, C, N, true, false, false},
      {"dW fc", "C x F x N tA", C, F, N, true, false, false},
      {"dW fp", "F x C x N tA", F, C, N, true, false, false},
      {"dW lm_head", "C x V x N tA", C, V, N, true, false, false},
      // input gradients: dout @ W^T
      {"dX qkv", "N x C x 3C tB", N, C, 3 * C, false, true, false},
      {"dX proj", "N x C x C tB", N, C, C, false, true, false},
      {"dX fc", "N x C x F tB", N, C, F, false, true, false},
      {"dX fp", "N x F x C tB", N, F, C, false, true, false},
      {"dX lm_head", "N x C x V tB", N, C, V, false, true, false},
  };
}

std::string matmul_name(const char* impl, Precision p, const char* role) {
  return std::string("matmul ") + impl + " " + precision_name(p) + " " + role;
}

void bench_matmul(const Shapes& S, bool ltAvailable) {
  print_header("matmul (M x N x K; tA / tB: operand stored transposed; +b: bias epilogue)");
  const auto cases = matmul_cases(S);
  int64_t maxA = 1, maxB = 1, maxC = 1, maxBias = 1;
  for (const auto& c : cases) {
    maxA = std::max(maxA, c.M * c.K);
    maxB = std::max(maxB, c.K * c.N);
    maxC = std::max(maxC, c.M * c.N);
    maxBias = std::max(maxBias, c.N);
  }
  float* A = dev_uniform(maxA, -1.0f, 1.0f);
  float* B = dev_uniform(maxB, -1.0f, 1.0f);
  float* Cm = dev_zeros(maxC);
  float* bias = dev_uniform(maxBias, -0.1f, 0.1f);
  cudaStream_t s = stream();
  for (const char* impl : {"cublaslt", "simt"}) {
    const bool lt = std::strcmp(impl, "cublaslt") == 0;
    if (lt && !ltAvailable) {
      std::printf("%-40s (skipped: cuBLASLt not available)\n", "matmul cublaslt *");
      continue;
    }
    set_gemm_force_simt(!lt);
    if (std::strcmp(gemm_impl_name(), impl) != 0) {
      throw CudaError(std::string("bench: wanted GEMM ") + impl + ", got " + gemm_impl_name());
    }
    const Bf16Gemm envRoute = bf16_gemm();
    const std::pair<Precision, Bf16Gemm> modes[] = {{Precision::FP32, envRoute},
                                                    {Precision::TF32, envRoute},
                                                    {Precision::BF16, Bf16Gemm::RoundInGemm},
                                                    {Precision::BF16, Bf16Gemm::Bf16Copies}};
    for (const auto& [p, route] : modes) {
      set_bf16_gemm(route);
      for (const auto& c : cases) {
        const std::string shape = std::string(c.dims) + fmt(" = %lldx%lldx%lld", c.M, c.N, c.K);
        const double bytes = 4.0 * (c.M * c.K + c.K * c.N + c.M * c.N + (c.bias ? c.N : 0));
        const double flops = 2.0 * c.M * c.N * c.K;
        time_it(matmul_name(impl, p, c.role), shape, bytes, flops, [&] {
          if (c.bias) {
            matmul_bias(Cm, A, B, bias, false, c.M, c.N, c.K, c.ta, c.tb, 1, 0, 0, 0, p, nullptr, s);
          } else {
            matmul(Cm, A, B, c.M, c.N, c.K, c.ta, c.tb, 1, 0, 0, 0, p, nullptr, s);
          }
        });
      }
    }
    set_bf16_gemm(envRoute);
  }
}

// ---------------------------------------------------------------------------------------------
// one transformer block, forward and backward (a training step's per-layer time)

double block_matmul_flops(const Shapes& S) {  // forward: qkv, proj, fc, fp
  return 2.0 * S.N() * S.C * (3.0 * S.C + S.C + 2.0 * S.F);
}

void bench_block(const Shapes& S) {
  print_header("transformer block (one layer; dropout 0.2 on attn, proj, ff; ReLU)");
  const int64_t N = S.N(), C = S.C, F = S.F, NC = N * C;
  BlockDims d;
  d.B = S.B; d.T = S.T; d.C = C; d.H = S.H; d.F = F;
  d.gelu = false;
  d.eps = 1e-5f;
  d.attn = dropout_key(0.2, 1337u, 0u, 31u, 0u);
  d.proj = dropout_key(0.2, 1337u, 0u, 32u, 0u);
  d.ff = dropout_key(0.2, 1337u, 0u, 33u, 0u);
  d.attnDrop = d.projDrop = d.ffDrop = true;
  d.precision = g_opt.precision;

  const float ws = 1.0f / std::sqrt(static_cast<float>(C)), wsF = 1.0f / std::sqrt(static_cast<float>(F));
  float* x = dev_uniform(NC, -1.0f, 1.0f);
  float* ln1g = dev_uniform(C, 0.9f, 1.1f);
  float* ln1b = dev_uniform(C, -0.1f, 0.1f);
  float* wqkv = dev_uniform(C * 3 * C, -ws, ws);
  float* wproj = dev_uniform(C * C, -ws, ws);
  float* bproj = dev_uniform(C, -0.1f, 0.1f);
  float* ln2g = dev_uniform(C, 0.9f, 1.1f);
  float* ln2b = dev_uniform(C, -0.1f, 0.1f);
  float* wfc = dev_uniform(C * F, -ws, ws);
  float* bfc = dev_uniform(F, -0.1f, 0.1f);
  float* wfp = dev_uniform(F * C, -wsF, wsF);
  float* bfp = dev_uniform(C, -0.1f, 0.1f);
  // forward outputs and saved tensors
  float* y = dev_zeros(NC);
  float* qkv = dev_zeros(3 * NC);
  float* atty = dev_zeros(NC);
  float* y1 = dev_zeros(NC);
  float* h = dev_zeros(N * F);
  float* lse = dev_zeros(S.B * S.H * S.T);
  // backward
  float* dy = dev_uniform(NC, -1.0f, 1.0f);
  float* dx = dev_zeros(NC);
  float *dln1g = dev_zeros(C), *dln1b = dev_zeros(C), *dwqkv = dev_zeros(C * 3 * C), *dwproj = dev_zeros(C * C);
  float *dbproj = dev_zeros(C), *dln2g = dev_zeros(C), *dln2b = dev_zeros(C), *dwfc = dev_zeros(C * F);
  float *dbfc = dev_zeros(F), *dwfp = dev_zeros(F * C), *dbfp = dev_zeros(C);

  cudaStream_t s = stream();
  const std::string shape = fmt("B=%lld T=%lld C=%lld H=%lld", S.B, S.T, C, S.H) + fmt(" F=%lld", F);
  const double fwdFlops = block_matmul_flops(S) + attention_fwd_flops(S);
  const double bwdFlops = 2.0 * block_matmul_flops(S) + 2.5 * attention_fwd_flops(S);
  const std::string tag = std::string(" ") + precision_name(d.precision) + " " + gemm_impl_name();
  auto fwd = [&] {
    block_forward(y, qkv, atty, y1, h, lse, x, ln1g, ln1b, wqkv, wproj, bproj, ln2g, ln2b, wfc, bfc, wfp, bfp, d, s);
  };
  time_it("block_forward" + tag, shape, 0, fwdFlops, fwd);
  fwd();  // the saved tensors for the backward
  time_it("block_backward" + tag, shape, 0, bwdFlops, [&] {
    block_backward(dx, dln1g, dln1b, dwqkv, dwproj, dbproj, dln2g, dln2b, dwfc, dbfc, dwfp, dbfp, dy, qkv, atty, y1, h,
                   lse, x, ln1g, ln1b, wqkv, wproj, ln2g, ln2b, wfc, wfp, d, s);
  });
}

// ---------------------------------------------------------------------------------------------
// summary: a training step from the lines above

double ms_of(const std::string& name) {
  auto it = g_ms.find(name);
  return it == g_ms.end() ? NAN : it->second;
}

void print_summary(const Shapes& S) {
  print_header("summary");
  const std::string tag = std::string(" ") + precision_name(g_opt.precision) + " " + gemm_impl_name();
  const double f = ms_of("block_forward" + tag), b = ms_of("block_backward" + tag);
  const double layerFlops = 3.0 * block_matmul_flops(S) + 3.5 * attention_fwd_flops(S);
  const double layers = 6.0;
  if (std::isnan(f) || std::isnan(b)) {
    std::printf("6 layers fwd+bwd: n/a (block not run)\n");
    return;
  }
  const double blocks = layers * (f + b);
  std::printf("6 layers fwd+bwd (%s%s): 6 x (%.4f + %.4f) = %.3f ms, %.1f GFLOP/s\n", "block", tag.c_str(), f, b,
              blocks, layers * layerFlops / (blocks * 1e-3) / 1e9);
  // The rest of a step, from the kernels above (the position embedding add and small tfjs ops
  // are not included): token embedding, final layer norm, lm head, loss, AdamW.
  const char* p = precision_name(g_opt.precision);
  const char* impl = gemm_impl_name();
  const std::vector<std::string> rest = {
      "embedding_forward", "embedding_backward", "layernorm_forward", "layernorm_backward",
      matmul_name(impl, g_opt.precision, "lm_head"), matmul_name(impl, g_opt.precision, "dW lm_head"),
      matmul_name(impl, g_opt.precision, "dX lm_head"), "cross_entropy_forward", "cross_entropy_backward", "adamw"};
  double restMs = 0;
  std::string missing;
  for (const auto& n : rest) {
    const double ms = ms_of(n);
    if (std::isnan(ms)) missing += (missing.empty() ? "" : ", ") + n;
    else restMs += ms;
  }
  if (!missing.empty()) {
    std::printf("rest of the step: n/a (not run: %s)\n", missing.c_str());
    return;
  }
  const double step = blocks + restMs;
  std::printf("rest of the step (embedding, final layernorm, lm head %s, loss, adamw): %.3f ms\n", p, restMs);
  std::printf("training step estimate (%s %s): %.3f ms, %.0f tokens/s\n", p, impl, step,
              static_cast<double>(S.N()) / (step * 1e-3));
}

// ---------------------------------------------------------------------------------------------

void usage() {
  std::fprintf(stderr,
               "usage: kernels_bench [--quick] [--precision fp32|tf32|bf16] [--only SUBSTRING] [--reps N] "
               "[--warmup N]\n");
}

bool parse_args(int argc, char** argv) {
  bool repsSet = false, warmupSet = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    const bool hasValue = i + 1 < argc;
    if (a == "--quick") {
      g_opt.quick = true;
    } else if (a == "--precision" && hasValue) {
      const std::string p = argv[++i];
      if (p == "fp32") g_opt.precision = Precision::FP32;
      else if (p == "tf32") g_opt.precision = Precision::TF32;
      else if (p == "bf16") g_opt.precision = Precision::BF16;
      else { usage(); return false; }
    } else if (a == "--only" && hasValue) {
      g_opt.only = argv[++i];
    } else if (a == "--reps" && hasValue) {
      g_opt.reps = std::max(1, std::atoi(argv[++i]));
      repsSet = true;
    } else if (a == "--warmup" && hasValue) {
      g_opt.warmup = std::max(0, std::atoi(argv[++i]));
      warmupSet = true;
    } else {
      usage();
      return false;
    }
  }
#ifdef NL_CUDA_EMU
  g_opt.quick = true;
#endif
  if (g_opt.quick) {
    if (!repsSet) g_opt.reps = 1;
    if (!warmupSet) g_opt.warmup = 0;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!parse_args(argc, argv)) return 2;
  const Shapes S = g_opt.quick ? Shapes{2, 16, 32, 2, 128, 65, 6} : Shapes{64, 256, 384, 6, 1536, 65, 6};
  try {
    cudaDeviceProp prop;
    NL_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    // cuBLAS as the environment leaves it (NANOLAB_CUDA_GEMM=simt forces the SIMT kernel), for the block
    const bool envSimt = !cublas_available();
    std::printf("device: %s, %d SMs, sm_%d%d\n", prop.name, prop.multiProcessorCount, prop.major, prop.minor);
    std::printf("cuBLAS: %s; bf16 GEMM operands: %s (NANOLAB_CUDA_BF16_GEMM)\n", cublas_status(), bf16_gemm_name());
    set_gemm_force_simt(false);
    const bool ltAvailable = cublas_available();
    set_gemm_force_simt(envSimt);
    std::printf("shapes: B=%lld T=%lld C=%lld H=%lld D=%lld F=%lld V=%lld N=%lld%s; warm-up %d, median of %d%s%s\n",
                static_cast<long long>(S.B), static_cast<long long>(S.T), static_cast<long long>(S.C),
                static_cast<long long>(S.H), static_cast<long long>(S.D()), static_cast<long long>(S.F),
                static_cast<long long>(S.V), static_cast<long long>(S.N()), g_opt.quick ? " (quick)" : "",
                g_opt.warmup, g_opt.reps, g_opt.only.empty() ? "" : "; only: ", g_opt.only.c_str());
    std::printf("%-40s %-36s %10s %9s %10s\n", "kernel", "shape", "ms", "GB/s", "GFLOP/s");

    bench_attention(S);
    bench_rowwise(S);
    bench_adamw(S);
    bench_matmul(S, ltAvailable);
    set_gemm_force_simt(envSimt);  // the block runs the GEMM the environment picks
    bench_block(S);
    print_summary(S);

    NL_CUDA_CHECK(cudaGetLastError());
    NL_CUDA_CHECK(cudaStreamSynchronize(stream()));
    const MemoryStats m = memory_stats();
    std::printf("device memory: peak %.1f MB in use, %zu cudaMalloc calls\n", static_cast<double>(m.peak) / 1048576.0,
                m.allocs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench failed: %s\n", e.what());
    return 1;
  }
  std::printf("bench done\n");
  return 0;
}
