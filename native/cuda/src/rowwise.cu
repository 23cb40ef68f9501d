// Kernels of rowwise.h. A row is handled by a group: one warp for short rows, the whole block for
// long ones. Sums inside a group are xor butterflies (every thread ends with the same bits); sums
// across groups go through per-block partials in the workspace and a fixed-order second pass.
// Element-wise float work uses the *_rn operations (see fadd) so results equal the CPU backend's.
#include "rowwise.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <type_traits>

namespace nlc {
namespace {

constexpr unsigned kFull = 0xffffffffu;
// Grid-stride kernels without cross-block sums: enough blocks for 132 SMs many times over. The
// emulator's tests use a small cap so their sizes reach the stride loops (same results).
#ifdef NL_CUDA_EMU
constexpr unsigned kMaxGrid = 16;
#else
constexpr unsigned kMaxGrid = 1u << 16;
#endif

// One rounding per operation: nvcc contracts a * b + c into an FMA by default, the CPU backend
// builds with -ffp-contract=off, and these keep the two bit-identical (the emulator's intrinsics do
// the same where its kernels are built with contraction on).
#if defined(__CUDA_ARCH__) || defined(NL_CUDA_EMU)
#define NL_RN(device, host) device
#else
#define NL_RN(device, host) host
#endif
__host__ __device__ __forceinline__ float fadd(float a, float b) { return NL_RN(__fadd_rn(a, b), a + b); }
__host__ __device__ __forceinline__ float fsub(float a, float b) { return NL_RN(__fsub_rn(a, b), a - b); }
__host__ __device__ __forceinline__ float fmul(float a, float b) { return NL_RN(__fmul_rn(a, b), a * b); }
__host__ __device__ __forceinline__ float fdiv(float a, float b) { return NL_RN(__fdiv_rn(a, b), a / b); }
__host__ __device__ __forceinline__ float fsqrt(float a) { return NL_RN(__fsqrt_rn(a), std::sqrt(a)); }
__host__ __device__ __forceinline__ double dadd(double a, double b) { return NL_RN(__dadd_rn(a, b), a + b); }
__host__ __device__ __forceinline__ double dmul(double a, double b) { return NL_RN(__dmul_rn(a, b), a * b); }
#undef NL_RN

// kW consecutive floats: one 16-byte access when kW = 4 (p 16-byte aligned)
template <int kW>
__device__ __forceinline__ void load(float (&v)[kW], const float* p) {
  if constexpr (kW == 4) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
  } else {
    for (int k = 0; k < kW; k++) v[k] = p[k];
  }
}
template <int kW>
__device__ __forceinline__ void store(float* p, const float (&v)[kW]) {
  if constexpr (kW == 4) {
    float4 q;
    q.x = v[0]; q.y = v[1]; q.z = v[2]; q.w = v[3];
    *reinterpret_cast<float4*>(p) = q;
  } else {
    for (int k = 0; k < kW; k++) p[k] = v[k];
  }
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }
template <class... P>
bool aligned16(const void* p, P... rest) { return aligned16(p) && aligned16(rest...); }

// Calls f(std::integral_constant<bool, block>, std::integral_constant<int, width>): the kernel
// variant for a row group (warp or block) and an access width (float4 or scalar).
template <class F>
void dispatch(bool block, bool vec, F&& f) {
  using B1 = std::true_type;
  using B0 = std::false_type;
  using W4 = std::integral_constant<int, 4>;
  using W1 = std::integral_constant<int, 1>;
  if (block) {
    if (vec) f(B1{}, W4{}); else f(B1{}, W1{});
  } else {
    if (vec) f(B0{}, W4{}); else f(B0{}, W1{});
  }
}

unsigned grid_for(int64_t work, int64_t per_block, unsigned cap = kMaxGrid) {
  const int64_t b = (work + per_block - 1) / per_block;
  return static_cast<unsigned>(b < static_cast<int64_t>(cap) ? b : cap);
}

// ---------------------------------------------------------------------------------------------
// Row groups and their reductions

// The threads that share a row: a warp (kBlock false; blockDim.x / 32 rows at a time per block) or
// the whole block. Rows first, first + step, ... belong to the group.
template <bool kBlock>
struct Group {
  int t, nt;            // this thread's place in the group, group size
  int64_t first, step;
  __device__ Group() {
    const int nw = static_cast<int>(blockDim.x / 32);
    t = kBlock ? static_cast<int>(threadIdx.x) : static_cast<int>(threadIdx.x % 32);
    nt = kBlock ? static_cast<int>(blockDim.x) : 32;
    first = kBlock ? static_cast<int64_t>(blockIdx.x) : static_cast<int64_t>(blockIdx.x) * nw + threadIdx.x / 32;
    step = kBlock ? static_cast<int64_t>(gridDim.x) : static_cast<int64_t>(gridDim.x) * nw;
  }
};

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

// Sums over the group, the same bits in every thread. red: 64 doubles of shared memory.
template <bool kBlock>
__device__ __forceinline__ void group_sum2(double& a, double& b, double* red) {
  a = warp_sum(a);
  b = warp_sum(b);
  if constexpr (kBlock) {
    const int w = static_cast<int>(threadIdx.x / 32), nw = static_cast<int>(blockDim.x / 32);
    if (threadIdx.x % 32 == 0) { red[w] = a; red[32 + w] = b; }
    __syncthreads();
    a = 0.0; b = 0.0;
    for (int i = 0; i < nw; i++) { a += red[i]; b += red[32 + i]; }
    __syncthreads();  // red is reused by the next call
  }
}
template <bool kBlock>
__device__ __forceinline__ double group_sum(double a, double* red) {
  a = warp_sum(a);
  if constexpr (kBlock) {
    const int w = static_cast<int>(threadIdx.x / 32), nw = static_cast<int>(blockDim.x / 32);
    if (threadIdx.x % 32 == 0) red[w] = a;
    __syncthreads();
    a = 0.0;
    for (int i = 0; i < nw; i++) a += red[i];
    __syncthreads();
  }
  return a;
}

// Online softmax statistics: s = sum exp(x - m) over the values seen, m their max. m starts at
// -FLT_MAX (not -inf) so a -inf logit adds exp(-inf) = 0 instead of exp(nan).
__device__ __forceinline__ void ms_push(float& m, float& s, float v) {
  if (v > m) {
    s = fadd(fmul(s, expf(m - v)), 1.0f);
    m = v;
  } else {
    s = fadd(s, expf(v - m));
  }
}
// Commutative to the bit (both products rounded, then one add), so butterflies agree.
__device__ __forceinline__ void ms_merge(float& m, float& s, float m2, float s2) {
  const float mx = fmaxf(m, m2);
  s = fadd(fmul(s, expf(m - mx)), fmul(s2, expf(m2 - mx)));
  m = mx;
}
template <bool kBlock>
__device__ __forceinline__ void group_maxsum(float& m, float& s, float* red) {  // red: 64 floats
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(kFull, m, o), s2 = __shfl_xor_sync(kFull, s, o);
    ms_merge(m, s, m2, s2);
  }
  if constexpr (kBlock) {
    const int w = static_cast<int>(threadIdx.x / 32), nw = static_cast<int>(blockDim.x / 32);
    if (threadIdx.x % 32 == 0) { red[w] = m; red[32 + w] = s; }
    __syncthreads();
    m = red[0]; s = red[32];
    for (int i = 1; i < nw; i++) ms_merge(m, s, red[i], red[32 + i]);
    __syncthreads();
  }
}

// m, s of row xr (nq groups of kW floats) over the group's threads; every thread has them after.
template <bool kBlock, int kW>
__device__ __forceinline__ void row_maxsum(float& m, float& s, const float* xr, int nq, const Group<kBlock>& g,
                                           float* red) {
  m = -FLT_MAX;
  s = 0.0f;
  for (int q = g.t; q < nq; q += g.nt) {
    float v[kW];
    load<kW>(v, xr + q * kW);
    for (int k = 0; k < kW; k++) ms_push(m, s, v[k]);
  }
  group_maxsum<kBlock>(m, s, red);
}

// ---------------------------------------------------------------------------------------------
// Column sums: out[y C + c] = sum of rows [y rows, (y + 1) rows) of column c of in (R, C; row
// stride ld), in double; block (32, 8), grid (ceil(C / 32), chunks).

__global__ void __launch_bounds__(256) colsum_kernel(float* __restrict__ out, const float* __restrict__ in, int64_t R,
                                                     int C, int64_t ld, int64_t rows) {
  __shared__ double part[8][33];
  NL_SHARED_GARBAGE(part);
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int c = static_cast<int>(blockIdx.x) * 32 + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows;
  const int64_t r1 = r0 + rows < R ? r0 + rows : R;
  double s = 0.0;
  if (c < C)
    for (int64_t r = r0 + ty; r < r1; r += 8) s += in[r * ld + c];
  part[ty][tx] = s;
  __syncthreads();
  if (ty == 0 && c < C) {
    for (int i = 1; i < 8; i++) s += part[i][tx];
    out[static_cast<int64_t>(blockIdx.y) * C + c] = static_cast<float>(s);
  }
}

void launch_colsum(float* out, const float* in, int64_t R, int64_t C, int64_t ld, int64_t rows, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((C + 31) / 32), static_cast<unsigned>((R + rows - 1) / rows));
  NL_LAUNCH(colsum_kernel, grid, dim3(32, 8), 0, stream, out, in, R, static_cast<int>(C), ld, rows);
}

// Rows per first-pass chunk: at least 64, at most 512 chunks (the second pass reads them all).
int64_t colsum_rows(int64_t N) {
  const int64_t r = (N + 511) / 512;
  return r > 64 ? r : 64;
}

// ---------------------------------------------------------------------------------------------
// LayerNorm

// The CPU's statistics: mean and variance sums in double, each rounded to float; the deviations
// rounded to float before squaring (tfjs' Sub then Square).
template <bool kBlock, int kW>
__device__ __forceinline__ void row_stats(const float* __restrict__ xr, int C, float eps, const Group<kBlock>& g,
                                          double* red, float& mu, float& rs) {
  const int nq = C / kW;
  double s = 0.0;
  for (int q = g.t; q < nq; q += g.nt) {
    float v[kW];
    load<kW>(v, xr + q * kW);
    for (int k = 0; k < kW; k++) s += v[k];
  }
  mu = static_cast<float>(group_sum<kBlock>(s, red) / C);
  double ss = 0.0;
  for (int q = g.t; q < nq; q += g.nt) {
    float v[kW];
    load<kW>(v, xr + q * kW);
    for (int k = 0; k < kW; k++) {
      const float d = fsub(v[k], mu);
      ss += static_cast<double>(d) * d;
    }
  }
  const float var = static_cast<float>(group_sum<kBlock>(ss, red) / C);
  rs = static_cast<float>(1.0 / sqrt(static_cast<double>(fadd(var, eps))));
}

template <bool kBlock, int kW>
__global__ void __launch_bounds__(256) layernorm_forward_kernel(float* __restrict__ out, float* __restrict__ mean,
                                                                float* __restrict__ rstd, const float* __restrict__ x,
                                                                const float* __restrict__ gamma,
                                                                const float* __restrict__ beta, int64_t N, int C,
                                                                float eps) {
  __shared__ double red[32];
  NL_SHARED_GARBAGE(red);
  const Group<kBlock> g;
  const int nq = C / kW;
  for (int64_t r = g.first; r < N; r += g.step) {
    const float* xr = x + r * C;
    float mu, rs;
    row_stats<kBlock, kW>(xr, C, eps, g, red, mu, rs);
    float* yr = out + r * C;
    for (int q = g.t; q < nq; q += g.nt) {
      float v[kW], gm[kW], bt[kW], y[kW];
      load<kW>(v, xr + q * kW);
      load<kW>(gm, gamma + q * kW);
      load<kW>(bt, beta + q * kW);
      for (int k = 0; k < kW; k++) y[k] = fadd(fmul(fmul(fsub(v[k], mu), rs), gm[k]), bt[k]);
      store<kW>(yr + q * kW, y);
    }
    if (g.t == 0) {
      if (mean) mean[r] = mu;
      if (rstd) rstd[r] = rs;
    }
  }
}

// Backward: per row (xhat = (x - mean) rstd, dxhat = dout gamma)
//   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
// and each group keeps running column sums of dout xhat (dgamma) and dout (dbeta) over its rows,
// in shared memory (acc, one 2C slice per group) or, for very wide rows, in its block's partial
// row of the workspace. Each thread touches only its own columns, so no races and no barriers.
// At the end the block adds its groups' slices in order into its partial row (G, 2C).
template <bool kBlock, int kW>
__global__ void __launch_bounds__(256) layernorm_backward_kernel(float* __restrict__ dx, float* __restrict__ part,
                                                                 const float* __restrict__ dout,
                                                                 const float* __restrict__ x,
                                                                 const float* __restrict__ gamma,
                                                                 const float* __restrict__ mean,
                                                                 const float* __restrict__ rstd, int64_t N, int C,
                                                                 float eps, bool smemAcc) {
  NL_DYNAMIC_SMEM(float, smem);
  __shared__ double red[64];
  NL_SHARED_GARBAGE(red);
  const Group<kBlock> g;
  const int nq = C / kW;
  const int64_t C2 = 2 * static_cast<int64_t>(C);
  float* acc = smemAcc ? smem + (kBlock ? 0 : (threadIdx.x / 32) * C2) : part + blockIdx.x * C2;  // (2, C)
  for (int q = g.t; q < nq; q += g.nt)
    for (int k = 0; k < kW; k++) { acc[q * kW + k] = 0.0f; acc[C + q * kW + k] = 0.0f; }

  for (int64_t r = g.first; r < N; r += g.step) {
    const float* xr = x + r * C;
    const float* dyr = dout + r * C;
    float mu, rs;
    if (mean && rstd) {
      mu = mean[r];
      rs = rstd[r];
    } else {
      row_stats<kBlock, kW>(xr, C, eps, g, red, mu, rs);
    }
    double s1 = 0.0, s2 = 0.0;  // sums of dxhat, dxhat xhat
    for (int q = g.t; q < nq; q += g.nt) {
      float v[kW], dy[kW], gm[kW];
      load<kW>(v, xr + q * kW);
      load<kW>(dy, dyr + q * kW);
      load<kW>(gm, gamma + q * kW);
      for (int k = 0; k < kW; k++) {
        const int c = q * kW + k;
        const float xh = fmul(fsub(v[k], mu), rs), dxh = fmul(dy[k], gm[k]);
        acc[c] = fadd(acc[c], fmul(dy[k], xh));
        acc[C + c] = fadd(acc[C + c], dy[k]);
        s1 += dxh;
        s2 += static_cast<double>(dxh) * xh;
      }
    }
    group_sum2<kBlock>(s1, s2, red);
    const float m1 = static_cast<float>(s1 / C), m2 = static_cast<float>(s2 / C);
    float* dxr = dx + r * C;
    for (int q = g.t; q < nq; q += g.nt) {
      float v[kW], dy[kW], gm[kW], o[kW];
      load<kW>(v, xr + q * kW);
      load<kW>(dy, dyr + q * kW);
      load<kW>(gm, gamma + q * kW);
      for (int k = 0; k < kW; k++) {
        const float xh = fmul(fsub(v[k], mu), rs), dxh = fmul(dy[k], gm[k]);
        o[k] = fmul(rs, fsub(fsub(dxh, m1), fmul(xh, m2)));
      }
      store<kW>(dxr + q * kW, o);
    }
  }
  if (smemAcc) {
    __syncthreads();
    const int groups = kBlock ? 1 : static_cast<int>(blockDim.x / 32);
    for (int64_t c = threadIdx.x; c < C2; c += blockDim.x) {
      float s = smem[c];
      for (int w = 1; w < groups; w++) s = fadd(s, smem[w * C2 + c]);
      part[blockIdx.x * C2 + c] = s;
    }
  }
}

constexpr int64_t kLnWarpMaxC = 2048;          // longer rows: a block per row
#ifdef NL_CUDA_EMU
constexpr unsigned kLnBackwardMaxGrid = 8;      // (tests: groups take several rows)
#else
constexpr unsigned kLnBackwardMaxGrid = 512;    // partial rows of dgamma | dbeta
#endif
constexpr size_t kLnSmemMax = 96 * 1024;        // column sums in shared memory up to C = 12288 (A100: 163 KB max)

struct LnBackwardPlan {
  bool block, smemAcc;
  int threads;
  unsigned grid;
  size_t smem;
};

LnBackwardPlan ln_backward_plan(int64_t N, int64_t C) {
  LnBackwardPlan p{};
  if (C <= kLnWarpMaxC) {  // warp per row, up to 48 KB of column sums per block
    const int64_t w = std::min<int64_t>(std::max<int64_t>(6144 / C, 1), 8);
    p.block = false;
    p.threads = static_cast<int>(32 * w);
    p.grid = grid_for(N, w, kLnBackwardMaxGrid);
    p.smem = static_cast<size_t>(w * 2 * C) * sizeof(float);
    p.smemAcc = true;
  } else {
    p.block = true;
    p.threads = 256;
    p.grid = grid_for(N, 1, kLnBackwardMaxGrid);
    p.smem = static_cast<size_t>(2 * C) * sizeof(float);
    p.smemAcc = p.smem <= kLnSmemMax;
    if (!p.smemAcc) p.smem = 0;
  }
  return p;
}

// Raises a kernel's dynamic shared memory limit past the default 48 KB (rows over 6144 wide only).
template <class K>
void allow_smem(K kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    NL_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy

constexpr int64_t kCeWarpMaxV = 1024;  // longer rows: a block per row
#ifdef NL_CUDA_EMU
constexpr unsigned kCeMaxGrid = 8;     // (tests: groups take several rows)
#else
constexpr unsigned kCeMaxGrid = 4096;  // partial sums of the loss
#endif

int ce_block_threads(int64_t V) { return V > 16384 ? 512 : 256; }

unsigned ce_grid(int64_t N, int64_t V) { return V <= kCeWarpMaxV ? grid_for(N, 8, kCeMaxGrid) : grid_for(N, 1, kCeMaxGrid); }

// part[block] = sum over the block's rows with a valid target of logsumexp(row) - row[target].
template <bool kBlock, int kW>
__global__ void __launch_bounds__(512) cross_entropy_forward_kernel(double* __restrict__ part,
                                                                    const float* __restrict__ logits,
                                                                    const int32_t* __restrict__ targets, int64_t N,
                                                                    int V) {
  __shared__ float red[64];
  NL_SHARED_GARBAGE(red);
  const Group<kBlock> g;
  const int nq = V / kW;
  double total = 0.0;  // this group's rows (in its thread 0)
  for (int64_t r = g.first; r < N; r += g.step) {
    const int32_t tg = targets[r];
    if (tg < 0 || tg >= V) continue;
    const float* xr = logits + r * V;
    float m, s;
    row_maxsum<kBlock, kW>(m, s, xr, nq, g, red);
    if (g.t == 0) total += static_cast<double>(m) + log(static_cast<double>(s)) - static_cast<double>(xr[tg]);
  }
  if constexpr (kBlock) {
    if (threadIdx.x == 0) part[blockIdx.x] = total;
  } else {
    __shared__ double wsum[32];
    NL_SHARED_GARBAGE(wsum);
    if (threadIdx.x % 32 == 0) wsum[threadIdx.x / 32] = total;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (unsigned w = 1; w < blockDim.x / 32; w++) total += wsum[w];
      part[blockIdx.x] = total;
    }
  }
}

// loss = (sum of the G partials, in a fixed tree) / N
__global__ void __launch_bounds__(256) cross_entropy_finish_kernel(float* __restrict__ loss,
                                                                   const double* __restrict__ part, int G,
                                                                   int64_t N) {
  __shared__ double red[256];
  NL_SHARED_GARBAGE(red);
  const int t = static_cast<int>(threadIdx.x);
  double s = 0.0;
  for (int i = t; i < G; i += 256) s += part[i];
  red[t] = s;
  __syncthreads();
  for (int o = 128; o > 0; o >>= 1) {
    if (t < o) red[t] += red[t + o];
    __syncthreads();
  }
  if (t == 0) *loss = static_cast<float>(red[0] / static_cast<double>(N));
}

// As cross_entropy.cc: g = dloss / N (double), row = exp(x - max) * float(g / sum), then
// row[target] -= float(g). In place works (dlogits = logits): a thread rewrites only elements it
// read, after the row's reduction has ordered every read of the first pass.
template <bool kBlock, int kW>
__global__ void __launch_bounds__(512) cross_entropy_backward_kernel(float* dlogits, const float* logits,
                                                                     const int32_t* __restrict__ targets,
                                                                     const float* __restrict__ dloss, int64_t N,
                                                                     int V) {
  __shared__ float red[64];
  NL_SHARED_GARBAGE(red);
  const Group<kBlock> g;
  const int nq = V / kW;
  const double gd = static_cast<double>(*dloss) / static_cast<double>(N);
  const float gf = static_cast<float>(gd);
  for (int64_t r = g.first; r < N; r += g.step) {
    const int32_t tg = targets[r];
    float* dr = dlogits + r * V;
    if (tg < 0 || tg >= V) {
      for (int q = g.t; q < nq; q += g.nt) {
        float z[kW] = {};
        store<kW>(dr + q * kW, z);
      }
      continue;
    }
    const float* xr = logits + r * V;
    float m, s;
    row_maxsum<kBlock, kW>(m, s, xr, nq, g, red);
    const float scale = static_cast<float>(gd / static_cast<double>(s));
    for (int q = g.t; q < nq; q += g.nt) {
      float v[kW];
      load<kW>(v, xr + q * kW);
      for (int k = 0; k < kW; k++) {
        const float d = fmul(expf(fsub(v[k], m)), scale);
        v[k] = q * kW + k == tg ? fsub(d, gf) : d;
      }
      store<kW>(dr + q * kW, v);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Embedding

template <int kW>
__global__ void __launch_bounds__(256) embedding_forward_kernel(float* __restrict__ out,
                                                                const float* __restrict__ table,
                                                                const int32_t* __restrict__ ids, int64_t N, int64_t V,
                                                                int C) {
  const Group<false> g;
  const int nq = C / kW;
  for (int64_t r = g.first; r < N; r += g.step) {
    const int32_t id = ids[r];
    const bool ok = id >= 0 && id < V;
    const float* src = table + static_cast<int64_t>(ok ? id : 0) * C;
    float* dst = out + r * C;
    for (int q = g.t; q < nq; q += g.nt) {
      float v[kW] = {};
      if (ok) load<kW>(v, src + q * kW);
      store<kW>(dst + q * kW, v);
    }
  }
}

// The gradient is a stable counting sort of the rows by id, then per (id, columns) sums of the
// id's rows in row order. Rows come in tiles of kTile; a row's place among its id's rows is
//   (rows of that id in earlier tiles: a scan over the tiles' histograms) + (its rank in its tile).
constexpr int kTile = 1024;

// rank[r] = rows before r in its tile with the same id; hist[tile][id] += 1 (integer atomics:
// counts do not depend on the order).
__global__ void __launch_bounds__(kTile) embedding_rank_kernel(int32_t* __restrict__ rank, int32_t* __restrict__ hist,
                                                               const int32_t* __restrict__ ids, int64_t N, int64_t V) {
  __shared__ int32_t tile[kTile];
  NL_SHARED_GARBAGE(tile);
  const int t = static_cast<int>(threadIdx.x);
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kTile + t;
  const int32_t id = r < N ? ids[r] : -1;
  tile[t] = id;
  __syncthreads();
  if (r >= N || id < 0 || id >= V) return;
  int k = 0;
  for (int j = 0; j < t; j++) k += tile[j] == id;
  rank[r] = k;
  atomicAdd(&hist[static_cast<int64_t>(blockIdx.x) * V + id], 1);
}

// Per id: hist[tile][id] becomes the rows of that id in earlier tiles; count[id] the total.
__global__ void __launch_bounds__(256) embedding_tiles_kernel(int32_t* __restrict__ hist, int32_t* __restrict__ count,
                                                              int64_t K, int64_t V) {
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < V;
       v += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int32_t run = 0;
    for (int64_t k = 0; k < K; k++) {
      const int32_t c = hist[k * V + v];
      hist[k * V + v] = run;
      run += c;
    }
    count[v] = run;
  }
}

// a[0, n) counts -> exclusive prefix sums, a[n] = total. One block of kScanThreads, chunks of
// kScanPer entries per thread: loaded coalesced into shared memory, each thread scans its own
// kScanPer consecutive entries, then the threads' totals are scanned across the block.
constexpr int kScanThreads = 1024, kScanPer = 8;

__device__ __forceinline__ int scan_slot(int e) { return e + e / 32; }  // padded: no bank conflicts

__global__ void __launch_bounds__(kScanThreads) exclusive_scan_kernel(int32_t* __restrict__ a, int64_t n) {
  __shared__ int32_t buf[kScanThreads * kScanPer + kScanThreads * kScanPer / 32];
  __shared__ int32_t wsum[32];
  NL_SHARED_GARBAGE(buf);
  NL_SHARED_GARBAGE(wsum);
  const int t = static_cast<int>(threadIdx.x), lane = t % 32, w = t / 32, nw = kScanThreads / 32;
  int32_t carry = 0;
  for (int64_t start = 0; start < n; start += kScanThreads * kScanPer) {
    for (int j = 0; j < kScanPer; j++) {
      const int e = j * kScanThreads + t;
      buf[scan_slot(e)] = start + e < n ? a[start + e] : 0;
    }
    __syncthreads();
    int32_t own = 0;  // this thread's entries, scanned in place
    for (int j = 0; j < kScanPer; j++) {
      const int k = scan_slot(t * kScanPer + j);
      const int32_t v = buf[k];
      buf[k] = own;
      own += v;
    }
    int32_t s = own;  // inclusive scan of the totals in the warp, then over warps
    for (int o = 1; o < 32; o <<= 1) {
      const int32_t y = __shfl_up_sync(kFull, s, o);
      if (lane >= o) s += y;
    }
    if (lane == 31) wsum[w] = s;
    __syncthreads();
    if (w == 0) {
      int32_t ws = wsum[lane];
      for (int o = 1; o < 32; o <<= 1) {
        const int32_t y = __shfl_up_sync(kFull, ws, o);
        if (lane >= o) ws += y;
      }
      wsum[lane] = ws;
    }
    __syncthreads();
    const int32_t before = carry + (w > 0 ? wsum[w - 1] : 0) + s - own;
    for (int j = 0; j < kScanPer; j++) buf[scan_slot(t * kScanPer + j)] += before;
    carry += wsum[nw - 1];
    __syncthreads();
    for (int j = 0; j < kScanPer; j++) {
      const int e = j * kScanThreads + t;
      if (start + e < n) a[start + e] = buf[scan_slot(e)];
    }
    __syncthreads();  // buf and wsum are rewritten by the next chunk
  }
  if (t == 0) a[n] = carry;
}

__global__ void __launch_bounds__(256) embedding_scatter_kernel(int32_t* __restrict__ sorted,
                                                                const int32_t* __restrict__ ids,
                                                                const int32_t* __restrict__ rank,
                                                                const int32_t* __restrict__ hist,
                                                                const int32_t* __restrict__ base, int64_t N,
                                                                int64_t V) {
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < N;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t id = ids[r];
    if (id < 0 || id >= V) continue;
    sorted[base[id] + hist[(r / kTile) * V + id] + rank[r]] = static_cast<int32_t>(r);
  }
}

// dtable[v, cols] = sum of dout[r, cols] over the id's rows r (sorted[base[v] .. base[v + 1])).
// Lane = kW columns, warp = 32 kW columns. kSplit = 1: a warp per id, rows added in order from
// 0 (the CPU's order and bits). kSplit = 8: the block's 8 warps take every 8th row of one id
// (ids with many rows), then their sums are added in warp order.
template <int kW, int kSplit>
__global__ void __launch_bounds__(256) embedding_sum_kernel(float* __restrict__ dtable,
                                                            const int32_t* __restrict__ sorted,
                                                            const int32_t* __restrict__ base,
                                                            const float* __restrict__ dout, int64_t V, int C) {
  const int w = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  const int64_t v = static_cast<int64_t>(blockIdx.x) * (8 / kSplit) + w / kSplit;
  const int slot = w % kSplit;
  const int col = (static_cast<int>(blockIdx.y) * 32 + lane) * kW;
  const bool live = v < V && col < C;
  float acc[kW] = {};
  if (live) {
    const int32_t end = base[v + 1];
    int32_t i = base[v] + slot;
    for (; i + 3 * kSplit < end; i += 4 * kSplit) {  // four rows in flight
      const int64_t r0 = sorted[i], r1 = sorted[i + kSplit], r2 = sorted[i + 2 * kSplit], r3 = sorted[i + 3 * kSplit];
      float a0[kW], a1[kW], a2[kW], a3[kW];
      load<kW>(a0, dout + r0 * C + col);
      load<kW>(a1, dout + r1 * C + col);
      load<kW>(a2, dout + r2 * C + col);
      load<kW>(a3, dout + r3 * C + col);
      for (int k = 0; k < kW; k++) acc[k] = fadd(fadd(fadd(fadd(acc[k], a0[k]), a1[k]), a2[k]), a3[k]);
    }
    for (; i < end; i += kSplit) {
      float a0[kW];
      load<kW>(a0, dout + static_cast<int64_t>(sorted[i]) * C + col);
      for (int k = 0; k < kW; k++) acc[k] = fadd(acc[k], a0[k]);
    }
  }
  if constexpr (kSplit == 1) {
    if (live) store<kW>(dtable + v * C + col, acc);
  } else {
    __shared__ float part[8 * 32 * kW];
    NL_SHARED_GARBAGE(part);
    for (int k = 0; k < kW; k++) part[threadIdx.x * kW + k] = acc[k];
    __syncthreads();
    if (slot == 0 && live) {
      for (int j = 1; j < kSplit; j++)
        for (int k = 0; k < kW; k++) acc[k] = fadd(acc[k], part[((w + j) * 32 + lane) * kW + k]);
      store<kW>(dtable + v * C + col, acc);
    }
  }
}

struct EmbeddingWs {
  int64_t K;  // tiles
  int32_t *hist, *base, *rank, *sorted;
};
EmbeddingWs embedding_ws(float* workspace, int64_t N, int64_t V) {
  EmbeddingWs w;
  w.K = (N + kTile - 1) / kTile;
  w.hist = reinterpret_cast<int32_t*>(workspace);  // (K, V)
  w.base = w.hist + w.K * V;                        // V + 1
  w.rank = w.base + V + 1;                          // N
  w.sorted = w.rank + N;                            // N
  return w;
}

// ---------------------------------------------------------------------------------------------
// Element-wise: dropout, residual, GELU, ReLU, bias

// Mask values of Philox block b (elements 4b .. 4b + 3).
__device__ __forceinline__ void mask4(float (&mk)[4], const DropoutKey& key, uint64_t b) {
  const Philox4 r = dropout_block(key, b);
  for (int k = 0; k < 4; k++) mk[k] = (r.w[k] >> 8) >= key.threshold ? key.scale : 0.0f;
}

// out = x * mask, or the mask itself when x is nullptr. A thread per Philox block of 4 elements.
template <int kW>
__global__ void __launch_bounds__(256) dropout_kernel(float* out, const float* x, int64_t n, DropoutKey key) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < nb;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float mk[4];
    mask4(mk, key, static_cast<uint64_t>(b));
    const int64_t i = 4 * b;
    if (kW == 4 && i + 4 <= n) {
      float v[4];
      if (x) {
        load<4>(v, x + i);
        for (int k = 0; k < 4; k++) v[k] = fmul(v[k], mk[k]);
        store<4>(out + i, v);
      } else {
        store<4>(out + i, mk);
      }
    } else {
      for (int k = 0; k < 4 && i + k < n; k++) out[i + k] = x ? fmul(x[i + k], mk[k]) : mk[k];
    }
  }
}

// out = residual + (kDrop ? x * mask : x)
template <int kW, bool kDrop>
__global__ void __launch_bounds__(256) residual_kernel(float* out, const float* residual, const float* x, int64_t n,
                                                       DropoutKey key) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < nb;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float mk[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    if constexpr (kDrop) mask4(mk, key, static_cast<uint64_t>(b));
    const int64_t i = 4 * b;
    if (kW == 4 && i + 4 <= n) {
      float v[4], res[4];
      load<4>(v, x + i);
      load<4>(res, residual + i);
      for (int k = 0; k < 4; k++) v[k] = fadd(res[k], kDrop ? fmul(v[k], mk[k]) : v[k]);
      store<4>(out + i, v);
    } else {
      for (int k = 0; k < 4 && i + k < n; k++) out[i + k] = fadd(residual[i + k], kDrop ? fmul(x[i + k], mk[k]) : x[i + k]);
    }
  }
}

// vmath.h's exp_f and erf_tfjs (the CPU backend's GELU), operation for operation.
__device__ __forceinline__ float exp_cpu(float x) {
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 89.0f ? 89.0f : xc;
  const float magic = 12582912.0f;
  const float t = fadd(fmul(xc, 1.44269504088896341f), magic);
  const float n = fsub(t, magic);
  const int32_t ni = __float_as_int(t) - __float_as_int(magic);
  float r = fsub(xc, fmul(n, 0.693359375f));
  r = fsub(r, fmul(n, -2.12194440e-4f));
  const float r2 = fmul(r, r);
  float p = 1.9875691500e-4f;
  p = fadd(fmul(p, r), 1.3981999507e-3f);
  p = fadd(fmul(p, r), 8.3334519073e-3f);
  p = fadd(fmul(p, r), 4.1665795894e-2f);
  p = fadd(fmul(p, r), 1.6666665459e-1f);
  p = fadd(fmul(p, r), 5.0000001201e-1f);
  p = fadd(fadd(fmul(p, r2), r), 1.0f);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  // shifted unsigned: a NaN's n1, n2 are huge (the result is NaN either way)
  float res = fmul(fmul(p, __uint_as_float(static_cast<uint32_t>(n1 + 127) << 23)),
                   __uint_as_float(static_cast<uint32_t>(n2 + 127) << 23));
  res = x > 88.72283935546875f ? INFINITY : res;
  res = x < -103.972084f ? 0.0f : res;
  res = x != x ? x : res;
  return res;
}

__device__ __forceinline__ double exp_neg_cpu(double x) {  // x <= 0
  const double xc = x < -708.0 ? -708.0 : x;
  const double magic = 6755399441055744.0;
  const double t = dadd(dmul(xc, 1.4426950408889634), magic);
  const double n = dadd(t, -magic);
  const int64_t ni = __double_as_longlong(t) - __double_as_longlong(magic);
  double r = dadd(xc, -dmul(n, 6.93147180369123816490e-01));
  r = dadd(r, -dmul(n, 1.90821492927058770002e-10));
  double p = 1.0 / 479001600.0;
  p = dadd(dmul(p, r), 1.0 / 39916800.0);
  p = dadd(dmul(p, r), 1.0 / 3628800.0);
  p = dadd(dmul(p, r), 1.0 / 362880.0);
  p = dadd(dmul(p, r), 1.0 / 40320.0);
  p = dadd(dmul(p, r), 1.0 / 5040.0);
  p = dadd(dmul(p, r), 1.0 / 720.0);
  p = dadd(dmul(p, r), 1.0 / 120.0);
  p = dadd(dmul(p, r), 1.0 / 24.0);
  p = dadd(dmul(p, r), 1.0 / 6.0);
  p = dadd(dmul(p, r), 0.5);
  p = dadd(dmul(p, r), 1.0);
  p = dadd(dmul(p, r), 1.0);
  const double res = dmul(p, __longlong_as_double(static_cast<long long>(static_cast<uint64_t>(ni + 1023) << 52)));
  return x < -708.0 ? 0.0 : res;
}

__device__ __forceinline__ float erf_cpu(float xf) {
  const double x = xf;
  const double v = fabs(x);
  const double t = 1.0 / dadd(1.0, dmul(0.3275911, v));
  double poly = dadd(dmul(1.061405429, t), -1.453152027);
  poly = dadd(dmul(poly, t), 1.421413741);
  poly = dadd(dmul(poly, t), -0.284496736);
  poly = dadd(dmul(poly, t), 0.254829592);
  poly = dmul(poly, t);
  const double y = dadd(1.0, -dmul(poly, exp_neg_cpu(dmul(-v, v))));
  const float r = static_cast<float>(copysign(y, x));
  return xf == 0.0f ? xf : r;
}

constexpr float kSqrtHalf = 0.70710678118654752f;       // Math.SQRT1_2 as float32
constexpr float kTwoOverSqrtPi = 1.12837916709551257f;  // 2 / sqrt(pi) as float32

struct GeluForward {
  __device__ float operator()(float x, float) const {
    const float t = fadd(erf_cpu(fmul(x, kSqrtHalf)), 1.0f);
    return fmul(fmul(x, t), 0.5f);
  }
};
struct GeluBackward {  // (dout, x)
  __device__ float operator()(float dy, float x) const {
    const float g = fmul(dy, 0.5f), u = fmul(x, kSqrtHalf);
    const float t = fadd(erf_cpu(u), 1.0f);
    const float du = fmul(fmul(g, x), fmul(exp_cpu(-fmul(u, u)), kTwoOverSqrtPi));
    return fadd(fmul(g, t), fmul(du, kSqrtHalf));
  }
};
struct ReluForward {
  __device__ float operator()(float x, float) const { return x > 0.0f ? x : 0.0f; }
};
struct ReluBackward {  // (dout, y), as gemm.cc's step epilogue
  __device__ float operator()(float dy, float y) const { return fmul(dy, y > 0.0f ? 1.0f : 0.0f); }
};

// out[i] = op(a[i], b ? b[i] : 0), 4 elements per thread. Pointers may alias element for element.
template <class Op, int kW>
__global__ void __launch_bounds__(256) map_kernel(float* out, const float* a, const float* b, int64_t n, Op op) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < nb;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = 4 * q;
    if (kW == 4 && i + 4 <= n) {
      float va[4], vb[4] = {};
      load<4>(va, a + i);
      if (b) load<4>(vb, b + i);
      for (int k = 0; k < 4; k++) va[k] = op(va[k], vb[k]);
      store<4>(out + i, va);
    } else {
      for (int k = 0; k < 4 && i + k < n; k++) out[i + k] = op(a[i + k], b ? b[i + k] : 0.0f);
    }
  }
}

template <class Op>
void launch_map(float* out, const float* a, const float* b, int64_t n, Op op, cudaStream_t stream) {
  if (n <= 0) return;
  const unsigned grid = grid_for((n + 3) / 4, 256);
  if (aligned16(out, a) && (!b || aligned16(b))) NL_LAUNCH((map_kernel<Op, 4>), grid, 256, 0, stream, out, a, b, n, op);
  else NL_LAUNCH((map_kernel<Op, 1>), grid, 256, 0, stream, out, a, b, n, op);
}

// out = x + bias[column]; the column advances by a fixed step per grid stride (no division per element).
template <int kW>
__global__ void __launch_bounds__(256) bias_add_kernel(float* out, const float* x, const float* __restrict__ bias,
                                                       int64_t n, int C) {
  const int64_t groups = n / kW, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  int c = static_cast<int>((q * kW) % C);
  const int dc = static_cast<int>((stride * kW) % C);
  for (; q < groups; q += stride) {
    float v[kW], bv[kW];
    load<kW>(v, x + q * kW);
    load<kW>(bv, bias + c);
    for (int k = 0; k < kW; k++) v[k] = fadd(v[k], bv[k]);
    store<kW>(out + q * kW, v);
    c += dc;
    if (c >= C) c -= C;
  }
}

// ---------------------------------------------------------------------------------------------
// AdamW: tensors in batches of kAdamWMax, their table in the kernel's parameters (copied with the
// launch: no workspace, no host buffer to keep alive); a block per kAdamWChunk elements.

constexpr int kAdamWMax = 64;
constexpr int64_t kAdamWChunk = 8192;

struct AdamWBatch {
  float* p[kAdamWMax];
  const float* g[kAdamWMax];
  float* m[kAdamWMax];
  float* v[kAdamWMax];
  int64_t n[kAdamWMax];
  unsigned first[kAdamWMax];  // each tensor's first block
  unsigned long long decay, vec;  // bit i: tensor i decays; its four arrays are 16-byte aligned
  int count;
};

// adamw.cc's update of one element, each operation rounded.
__device__ __forceinline__ void adamw_step(float& p, float& m, float& v, float g, bool decay, const AdamWHyper& h) {
  const float pj = decay ? fmul(p, h.decay) : p;
  const float mn = fadd(fmul(m, h.b1), fmul(g, h.omb1));
  const float vn = fadd(fmul(v, h.b2), fmul(fmul(g, g), h.omb2));
  const float denom = fadd(fdiv(fsqrt(vn), h.sqrt_bc2), h.eps);
  m = mn;
  v = vn;
  p = fsub(pj, fmul(fdiv(mn, denom), h.step_size));
}

__global__ void __launch_bounds__(256) adamw_kernel(const AdamWBatch b, const AdamWHyper h) {
  int lo = 0, hi = b.count - 1;  // the last tensor starting at or before this block
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (b.first[mid] <= blockIdx.x) lo = mid;
    else hi = mid - 1;
  }
  const int i = lo;
  const int64_t start = static_cast<int64_t>(blockIdx.x - b.first[i]) * kAdamWChunk;
  const int64_t end = start + kAdamWChunk < b.n[i] ? start + kAdamWChunk : b.n[i];
  float* __restrict__ p = b.p[i];
  const float* __restrict__ g = b.g[i];
  float* __restrict__ m = b.m[i];
  float* __restrict__ v = b.v[i];
  const bool decay = (b.decay >> i) & 1ull;
  if ((b.vec >> i) & 1ull) {
    for (int64_t j = start + 4 * static_cast<int64_t>(threadIdx.x); j < end; j += 4 * static_cast<int64_t>(blockDim.x)) {
      if (j + 4 <= end) {
        float pv[4], gv[4], mv[4], vv[4];
        load<4>(pv, p + j);
        load<4>(gv, g + j);
        load<4>(mv, m + j);
        load<4>(vv, v + j);
        for (int k = 0; k < 4; k++) adamw_step(pv[k], mv[k], vv[k], gv[k], decay, h);
        store<4>(p + j, pv);
        store<4>(m + j, mv);
        store<4>(v + j, vv);
      } else {
        for (int64_t e = j; e < end; e++) adamw_step(p[e], m[e], v[e], g[e], decay, h);
      }
    }
  } else {
    for (int64_t e = start + threadIdx.x; e < end; e += blockDim.x) adamw_step(p[e], m[e], v[e], g[e], decay, h);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Launchers

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                       int64_t N, int64_t C, float eps, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const bool block = C > kLnWarpMaxC;
  const bool vec = C % 4 == 0 && aligned16(out, x, gamma, beta);
  const unsigned grid = block ? grid_for(N, 1) : grid_for(N, 8);
  dispatch(block, vec, [&](auto kb, auto kw) {
    NL_LAUNCH((layernorm_forward_kernel<decltype(kb)::value, decltype(kw)::value>), grid, 256, 0, stream, out, mean,
              rstd, x, gamma, beta, N, static_cast<int>(C), eps);
  });
}

size_t layernorm_backward_workspace_bytes(int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return 0;
  return static_cast<size_t>(ln_backward_plan(N, C).grid) * static_cast<size_t>(2 * C) * sizeof(float);
}

void layernorm_backward(float* dx, float* dgamma, float* dbeta, float* workspace, const float* dout, const float* x,
                        const float* gamma, const float* mean, const float* rstd, int64_t N, int64_t C, float eps,
                        cudaStream_t stream) {
  if (C <= 0) return;
  if (N <= 0) {  // sums over no rows
    NL_CUDA_CHECK(cudaMemsetAsync(dgamma, 0, static_cast<size_t>(C) * sizeof(float), stream));
    NL_CUDA_CHECK(cudaMemsetAsync(dbeta, 0, static_cast<size_t>(C) * sizeof(float), stream));
    return;
  }
  const LnBackwardPlan p = ln_backward_plan(N, C);
  const bool vec = C % 4 == 0 && aligned16(dx, dout, x, gamma);
  dispatch(p.block, vec, [&](auto kb, auto kw) {
    auto kernel = layernorm_backward_kernel<decltype(kb)::value, decltype(kw)::value>;
    allow_smem(kernel, p.smem);
    NL_LAUNCH(kernel, p.grid, p.threads, p.smem, stream, dx, workspace, dout, x, gamma, mean, rstd, N,
              static_cast<int>(C), eps, p.smemAcc);
  });
  // dgamma | dbeta = column sums of the blocks' partial rows (G, 2C)
  launch_colsum(dgamma, workspace, p.grid, C, 2 * C, p.grid, stream);
  launch_colsum(dbeta, workspace + C, p.grid, C, 2 * C, p.grid, stream);
}

size_t cross_entropy_workspace_bytes(int64_t N, int64_t V) {
  return N > 0 ? static_cast<size_t>(ce_grid(N, V)) * sizeof(double) : 0;
}

void cross_entropy_forward(float* loss, float* workspace, const float* logits, const int32_t* targets, int64_t N,
                           int64_t V, cudaStream_t stream) {
  double* part = reinterpret_cast<double*>(workspace);
  int G = 0;  // N = 0: 0 / 0 = NaN; V = 0: no valid target, loss 0
  if (N > 0 && V > 0) {
    G = static_cast<int>(ce_grid(N, V));
    const bool block = V > kCeWarpMaxV;
    const bool vec = V % 4 == 0 && aligned16(logits);
    const int threads = block ? ce_block_threads(V) : 256;
    dispatch(block, vec, [&](auto kb, auto kw) {
      NL_LAUNCH((cross_entropy_forward_kernel<decltype(kb)::value, decltype(kw)::value>), G, threads, 0, stream, part,
                logits, targets, N, static_cast<int>(V));
    });
  }
  NL_LAUNCH(cross_entropy_finish_kernel, 1, 256, 0, stream, loss, part, G, N);
}

void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dloss, int64_t N,
                            int64_t V, cudaStream_t stream) {
  if (N <= 0 || V <= 0) return;
  const bool block = V > kCeWarpMaxV;
  const bool vec = V % 4 == 0 && aligned16(dlogits, logits);
  const unsigned grid = block ? grid_for(N, 1) : grid_for(N, 8);
  const int threads = block ? ce_block_threads(V) : 256;
  dispatch(block, vec, [&](auto kb, auto kw) {
    NL_LAUNCH((cross_entropy_backward_kernel<decltype(kb)::value, decltype(kw)::value>), grid, threads, 0, stream,
              dlogits, logits, targets, dloss, N, static_cast<int>(V));
  });
}

void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                       cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const unsigned grid = grid_for(N, 8);
  if (C % 4 == 0 && aligned16(out, table))
    NL_LAUNCH(embedding_forward_kernel<4>, grid, 256, 0, stream, out, table, ids, N, V, static_cast<int>(C));
  else
    NL_LAUNCH(embedding_forward_kernel<1>, grid, 256, 0, stream, out, table, ids, N, V, static_cast<int>(C));
}

size_t embedding_backward_workspace_bytes(int64_t N, int64_t V, int64_t C) {
  if (N <= 0 || V <= 0 || C <= 0) return 0;
  const int64_t K = (N + kTile - 1) / kTile;
  const int64_t ints = K * V + V + 1 + 2 * N;
  return static_cast<size_t>((ints + 3) / 4 * 4) * sizeof(int32_t);
}

void embedding_backward(float* dtable, float* workspace, const int32_t* ids, const float* dout, int64_t N, int64_t V,
                        int64_t C, cudaStream_t stream) {
  if (V <= 0 || C <= 0) return;
  if (N <= 0) {
    NL_CUDA_CHECK(cudaMemsetAsync(dtable, 0, static_cast<size_t>(V * C) * sizeof(float), stream));
    return;
  }
  const EmbeddingWs w = embedding_ws(workspace, N, V);
  NL_CUDA_CHECK(cudaMemsetAsync(w.hist, 0, static_cast<size_t>(w.K * V) * sizeof(int32_t), stream));
  NL_LAUNCH(embedding_rank_kernel, static_cast<unsigned>(w.K), kTile, 0, stream, w.rank, w.hist, ids, N, V);
  NL_LAUNCH(embedding_tiles_kernel, grid_for(V, 256), 256, 0, stream, w.hist, w.base, w.K, V);
  NL_LAUNCH(exclusive_scan_kernel, 1, kScanThreads, 0, stream, w.base, V);
  NL_LAUNCH(embedding_scatter_kernel, grid_for(N, 256), 256, 0, stream, w.sorted, ids, w.rank, w.hist, w.base, N, V);
  const bool vec = C % 4 == 0 && aligned16(dtable, dout);
  const bool split = N >= 64 * V;  // ids repeat 64+ times on average
  const unsigned cols = static_cast<unsigned>((C + 32 * (vec ? 4 : 1) - 1) / (32 * (vec ? 4 : 1)));
  const dim3 grid(static_cast<unsigned>(split ? V : (V + 7) / 8), cols);
  const int c = static_cast<int>(C);
  if (vec) {
    if (split) NL_LAUNCH((embedding_sum_kernel<4, 8>), grid, 256, 0, stream, dtable, w.sorted, w.base, dout, V, c);
    else NL_LAUNCH((embedding_sum_kernel<4, 1>), grid, 256, 0, stream, dtable, w.sorted, w.base, dout, V, c);
  } else {
    if (split) NL_LAUNCH((embedding_sum_kernel<1, 8>), grid, 256, 0, stream, dtable, w.sorted, w.base, dout, V, c);
    else NL_LAUNCH((embedding_sum_kernel<1, 1>), grid, 256, 0, stream, dtable, w.sorted, w.base, dout, V, c);
  }
}

void dropout_forward(float* out, const float* x, int64_t n, DropoutKey key, cudaStream_t stream) {
  if (n <= 0) return;
  const unsigned grid = grid_for((n + 3) / 4, 256);
  if (aligned16(out, x)) NL_LAUNCH(dropout_kernel<4>, grid, 256, 0, stream, out, x, n, key);
  else NL_LAUNCH(dropout_kernel<1>, grid, 256, 0, stream, out, x, n, key);
}

void dropout_mask(float* out, int64_t n, DropoutKey key, cudaStream_t stream) {
  if (n <= 0) return;
  const unsigned grid = grid_for((n + 3) / 4, 256);
  const float* none = nullptr;
  if (aligned16(out)) NL_LAUNCH(dropout_kernel<4>, grid, 256, 0, stream, out, none, n, key);
  else NL_LAUNCH(dropout_kernel<1>, grid, 256, 0, stream, out, none, n, key);
}

void gelu_forward(float* out, const float* x, int64_t n, cudaStream_t stream) {
  launch_map(out, x, nullptr, n, GeluForward{}, stream);
}

void gelu_backward(float* dx, const float* dout, const float* x, int64_t n, cudaStream_t stream) {
  launch_map(dx, dout, x, n, GeluBackward{}, stream);
}

void relu_forward(float* out, const float* x, int64_t n, cudaStream_t stream) {
  launch_map(out, x, nullptr, n, ReluForward{}, stream);
}

void relu_backward(float* dx, const float* dout, const float* y, int64_t n, cudaStream_t stream) {
  launch_map(dx, dout, y, n, ReluBackward{}, stream);
}

void bias_add_rows(float* out, const float* x, const float* bias, int64_t N, int64_t C, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const int64_t n = N * C;
  if (C % 4 == 0 && aligned16(out, x, bias))
    NL_LAUNCH(bias_add_kernel<4>, grid_for(n / 4, 256), 256, 0, stream, out, x, bias, n, static_cast<int>(C));
  else
    NL_LAUNCH(bias_add_kernel<1>, grid_for(n, 256), 256, 0, stream, out, x, bias, n, static_cast<int>(C));
}

size_t column_sums_workspace_bytes(int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return 0;
  const int64_t rows = colsum_rows(N), chunks = (N + rows - 1) / rows;
  return chunks > 1 ? static_cast<size_t>(chunks * C) * sizeof(float) : 0;
}

void column_sums(float* out, float* workspace, const float* x, int64_t N, int64_t C, cudaStream_t stream) {
  if (C <= 0) return;
  if (N <= 0) {
    NL_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<size_t>(C) * sizeof(float), stream));
    return;
  }
  const int64_t rows = colsum_rows(N), chunks = (N + rows - 1) / rows;
  if (chunks == 1) {
    launch_colsum(out, x, N, C, C, rows, stream);
    return;
  }
  launch_colsum(workspace, x, N, C, C, rows, stream);        // (chunks, C)
  launch_colsum(out, workspace, chunks, C, C, chunks, stream);
}

void residual_dropout_add(float* out, const float* residual, const float* x, int64_t n, DropoutKey key, bool drop,
                          cudaStream_t stream) {
  if (n <= 0) return;
  const unsigned grid = grid_for((n + 3) / 4, 256);
  const bool vec = aligned16(out, residual, x);
  if (drop) {
    if (vec) NL_LAUNCH((residual_kernel<4, true>), grid, 256, 0, stream, out, residual, x, n, key);
    else NL_LAUNCH((residual_kernel<1, true>), grid, 256, 0, stream, out, residual, x, n, key);
  } else {
    if (vec) NL_LAUNCH((residual_kernel<4, false>), grid, 256, 0, stream, out, residual, x, n, key);
    else NL_LAUNCH((residual_kernel<1, false>), grid, 256, 0, stream, out, residual, x, n, key);
  }
}

size_t adamw_workspace_bytes(int) { return 0; }

void adamw(float* const* params, const float* const* grads, float* const* m, float* const* v, const int64_t* sizes,
           const uint8_t* decay, int count, const AdamWHyper& h, float*, cudaStream_t stream) {
  for (int at = 0; at < count; at += kAdamWMax) {
    AdamWBatch b{};
    unsigned blocks = 0;
    for (int i = 0; i < kAdamWMax && at + i < count; i++) {
      const int j = at + i;
      b.p[i] = params[j]; b.g[i] = grads[j]; b.m[i] = m[j]; b.v[i] = v[j];
      b.n[i] = sizes[j] > 0 ? sizes[j] : 0;
      b.first[i] = blocks;
      blocks += static_cast<unsigned>((b.n[i] + kAdamWChunk - 1) / kAdamWChunk);
      if (decay[j]) b.decay |= 1ull << i;
      if (aligned16(params[j], grads[j], m[j], v[j])) b.vec |= 1ull << i;
      b.count = i + 1;
    }
    if (blocks > 0) NL_LAUNCH(adamw_kernel, blocks, 256, 0, stream, b, h);
  }
}

}  // namespace nlc
