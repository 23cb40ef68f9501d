// Flash-style causal attention (attention.h). Tiled path for D <= 128: a block of 256 threads
// owns a 64-row tile of one head; thread (ty, tx) of the 16 x 16 grid owns rows ty*4 .. ty*4+3 of
// the tile and keys tx + 16 j (j < 4) of each 64-key tile, and DP / 16 output columns. Scores live
// in registers, weights pass through shared memory (transposed, so the product reads 4 rows as one
// float4). Backward without atomics: one kernel per key tile for dK, dV (looping over the query
// tiles at or after it), one per query tile for dQ; Di = rowsum(dO * O) first. D > 128 takes a
// warp-per-row path. Dropout mask bits of a tile are made once per tile in shared memory
// (a Philox block gives 4 consecutive elements), not per thread and element. With d.bf16 and
// D <= 128 the entry points hand over to the tensor-core kernels of attention_bf16.cu.
#include "attention.h"

#include <cmath>

#include "attention_tiles.cuh"

namespace nlc {
namespace {

using namespace attn;

constexpr int kThreads = 256;    // 16 x 16
constexpr int kPS = kTile + 4;   // row stride of the transposed weight tiles: conflict-free float4 stores
constexpr int kGenWarps = 4;     // rows per block of the general path

using F4 = float4;
__device__ __forceinline__ F4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void st4(float* p, const F4& v) { *reinterpret_cast<float4*>(p) = v; }

// Sum / max over the 16 lanes of a half warp (all of them end with the same bits).
__device__ __forceinline__ float sum16(float x) {
  for (int o = 8; o > 0; o >>= 1) x += __shfl_xor_sync(kFull, x, o);
  return x;
}
__device__ __forceinline__ float max16(float x) {
  for (int o = 8; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(kFull, x, o));
  return x;
}
__device__ __forceinline__ float sum32(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(kFull, x, o);
  return x;
}
__device__ __forceinline__ float max32(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(kFull, x, o));
  return x;
}

// ---------------------------------------------------------------------------------------------
// Tile helpers (256 threads)

// Rows of a head into s (64, DS); rows >= rows and columns >= D become 0.
template <int DP>
__device__ __forceinline__ void load_tile(float* __restrict__ s, const float* __restrict__ g, int64_t st, int rows,
                                          int D, bool vec, int tid) {
  constexpr int DS = DP + 4;
  if (vec) {
    constexpr int C4 = DP / 4;
    for (int e = tid; e < kTile * C4; e += kThreads) {
      const int r = e / C4, c = (e % C4) * 4;
      F4 x = {0.f, 0.f, 0.f, 0.f};
      if (r < rows && c < D) x = ld4(g + r * st + c);
      st4(s + r * DS + c, x);
    }
  } else {
    for (int e = tid; e < kTile * DP; e += kThreads) {
      const int r = e / DP, c = e % DP;
      s[r * DS + c] = r < rows && c < D ? g[r * st + c] : 0.f;
    }
  }
}

// acc[i][j] += a_i . b_j over d < 4 nd4 with a_i = a + i DS, b_j = b + 16 j DS (padded with zeros).
template <int DS>
__device__ __forceinline__ void dot_tile(float (&acc)[4][4], const float* __restrict__ a, const float* __restrict__ b,
                                         int nd4) {
  for (int d = 0; d < 4 * nd4; d += 4) {
    F4 x[4], y[4];
    NL_UNROLL
    for (int i = 0; i < 4; i++) x[i] = ld4(a + i * DS + d);
    NL_UNROLL
    for (int j = 0; j < 4; j++) y[j] = ld4(b + j * 16 * DS + d);
    NL_UNROLL
    for (int i = 0; i < 4; i++) {
      NL_UNROLL
      for (int j = 0; j < 4; j++) acc[i][j] += x[i].x * y[j].x + x[i].y * y[j].y + x[i].z * y[j].z + x[i].w * y[j].w;
    }
  }
}

// Column c of a thread's NC output columns: runs of 4 (float4) at tx*4 + 64 k, or NC at tx*NC.
template <int NC>
__device__ __forceinline__ int col_of(int tx, int c) {
  return NC >= 4 ? (c >> 2) * 64 + tx * 4 + (c & 3) : tx * NC + c;
}

template <int NC>
__device__ __forceinline__ void load_cols(float (&x)[NC], const float* __restrict__ row, int tx) {
  if constexpr (NC >= 4) {
    NL_UNROLL
    for (int c = 0; c < NC; c += 4) {
      const F4 v = ld4(row + (c >> 2) * 64 + tx * 4);
      x[c] = v.x; x[c + 1] = v.y; x[c + 2] = v.z; x[c + 3] = v.w;
    }
  } else {
    NL_UNROLL
    for (int c = 0; c < NC; c++) x[c] = row[tx * NC + c];
  }
}

// acc[i][c] += sum over kk < n of W[kk][r0 + i] x[kk][c]: four rows of a (64 x 64) weight tile,
// stored transposed (row stride kPS), times the thread's columns of a (64, DS) tile X. The forward
// pass's O += PM V and the backward's dQ += dS K.
template <int NC, int DS>
__device__ __forceinline__ void rows_times_tile(float (&acc)[4][NC], const float* __restrict__ W, const float* __restrict__ X,
                                                int n, int r0, int tx) {
  for (int kk = 0; kk < n; kk++) {
    const F4 w = ld4(W + kk * kPS + r0);
    float x[NC];
    load_cols<NC>(x, X + kk * DS, tx);
    NL_UNROLL
    for (int c = 0; c < NC; c++) {
      acc[0][c] += w.x * x[c]; acc[1][c] += w.y * x[c]; acc[2][c] += w.z * x[c]; acc[3][c] += w.w * x[c];
    }
  }
}

// Rows r0 .. r0+3 (those < rows) of a thread's output columns, times mul[i], to g (row stride st).
template <int NC>
__device__ __forceinline__ void store_rows(float* __restrict__ g, int64_t st, const float (&x)[4][NC],
                                           const float (&mul)[4], int r0, int rows, int D, bool vec, int tx) {
  NL_UNROLL
  for (int i = 0; i < 4; i++) {
    if (r0 + i >= rows) break;
    float* gr = g + (r0 + i) * st;
    if constexpr (NC >= 4) {
      if (vec) {
        NL_UNROLL
        for (int c = 0; c < NC; c += 4) {
          const int col = col_of<NC>(tx, c);
          if (col < D) st4(gr + col, F4{x[i][c] * mul[i], x[i][c + 1] * mul[i], x[i][c + 2] * mul[i], x[i][c + 3] * mul[i]});
        }
        continue;
      }
    }
    NL_UNROLL
    for (int c = 0; c < NC; c++) {
      const int col = col_of<NC>(tx, c);
      if (col < D) gr[col] = x[i][c] * mul[i];
    }
  }
}

template <int DP>
constexpr size_t forward_smem() { return (3 * kTile * (DP + 4) + kTile * kPS + 4 * kTile) * sizeof(float); }
template <int DP>
constexpr size_t dkdv_smem() { return (4 * kTile * (DP + 4) + 2 * kTile * kPS + 2 * kTile + 4 * kTile) * sizeof(float); }
template <int DP>
constexpr size_t dq_smem() { return (4 * kTile * (DP + 4) + kTile * kPS + 4 * kTile) * sizeof(float); }

// ---------------------------------------------------------------------------------------------
// Tiled kernels, grid (B H, tiles)

// Online softmax over the key tiles up to the diagonal. out and lse may be nullptr; with di, also
// di = rowsum(dout * O) (the backward's recompute when out or lse was not kept).
template <int DP>
__global__ void __launch_bounds__(kThreads)
attention_forward_tiled(float* __restrict__ out, float* __restrict__ lse, float* __restrict__ di,
                        const float* __restrict__ dout, const float* __restrict__ q, const float* __restrict__ k,
                        const float* __restrict__ v, const Params p) {
  constexpr int DS = DP + 4, NC = DP / 16;
  NL_DYNAMIC_SMEM(float, smem);
  float* Qs = smem;                 // (64, DS) query rows
  float* Ks = Qs + kTile * DS;      // (64, DS) keys
  float* Vs = Ks + kTile * DS;      // (64, DS) values
  float* Ps = Vs + kTile * DS;      // (64 keys, kPS) weights PM, transposed
  uint32_t* Ms = reinterpret_cast<uint32_t*>(Ps + kTile * kPS);  // (64, 4) mask bits
  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15, r0 = ty * 4;
  const int bh = blockIdx.x, qt = static_cast<int>(gridDim.y - 1 - blockIdx.y), q0 = qt * kTile;  // heavy tiles first
  const int T = p.T, D = p.D, nd4 = (D + 3) >> 2;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H);
  const uint64_t head = static_cast<uint64_t>(bh) * static_cast<uint64_t>(T) * static_cast<uint64_t>(T);

  load_tile<DP>(Qs, q + hq + q0 * st, st, T - q0, D, p.vq, tid);
  float o[4][NC], m[4], l[4];  // l: this thread's part of the row sums
  NL_UNROLL
  for (int i = 0; i < 4; i++) {
    m[i] = -INFINITY; l[i] = 0.f;
    NL_UNROLL
    for (int c = 0; c < NC; c++) o[i][c] = 0.f;
  }
  for (int kt = 0; kt <= qt; kt++) {
    const int k0 = kt * kTile;
    if (kt > 0) __syncthreads();  // the last tile's Ks, Vs, Ps are read
    load_tile<DP>(Ks, k + hq + k0 * st, st, T - k0, D, p.vq, tid);
    load_tile<DP>(Vs, v + hq + k0 * st, st, T - k0, D, p.vq, tid);
    if (p.drop) mask_tile(Ms, p.key, head, T, q0, k0, tid, kThreads);
    __syncthreads();

    float s[4][4] = {};
    dot_tile<DS>(s, Qs + r0 * DS, Ks + tx * DS, nd4);
    const bool diag = kt == qt;  // only there keys pass rows (k0 == q0)
    float mt[4];
    NL_UNROLL
    for (int i = 0; i < 4; i++) {
      mt[i] = -INFINITY;
      NL_UNROLL
      for (int j = 0; j < 4; j++) {
        const float x = diag && tx + 16 * j > r0 + i ? -INFINITY : s[i][j] * p.scale;
        s[i][j] = x;
        mt[i] = fmaxf(mt[i], x);
      }
    }
    NL_UNROLL
    for (int i = 0; i < 4; i++) {
      const float mn = fmaxf(m[i], max16(mt[i]));  // finite: key k0 is never masked
      const float corr = expf(m[i] - mn);
      m[i] = mn;
      l[i] *= corr;
      NL_UNROLL
      for (int c = 0; c < NC; c++) o[i][c] *= corr;
      NL_UNROLL
      for (int j = 0; j < 4; j++) {
        const float e = expf(s[i][j] - mn);
        l[i] += e;
        s[i][j] = p.drop ? e * mask_of(Ms, r0 + i, tx + 16 * j, p.key.scale) : e;
      }
    }
    NL_UNROLL
    for (int j = 0; j < 4; j++) st4(Ps + (tx + 16 * j) * kPS + r0, F4{s[0][j], s[1][j], s[2][j], s[3][j]});
    __syncthreads();

    rows_times_tile<NC, DS>(o, Ps, Vs, min(kTile, T - k0), r0, tx);  // O += PM V
  }

  float inv[4];
  NL_UNROLL
  for (int i = 0; i < 4; i++) {
    l[i] = sum16(l[i]);
    inv[i] = 1.f / l[i];
  }
  const int rows = T - q0;
  const int64_t ho = head_at(p.out, bh, p.H) + q0 * p.out.st;
  if (out) store_rows<NC>(out + ho, p.out.st, o, inv, r0, rows, D, p.vo, tx);
  if (lse && tx == 0) {
    for (int i = 0; i < 4 && r0 + i < rows; i++) lse[static_cast<int64_t>(bh) * T + q0 + r0 + i] = m[i] + logf(l[i]);
  }
  if (di) {
    NL_UNROLL
    for (int i = 0; i < 4; i++) {
      float acc = 0.f;
      if (r0 + i < rows) {
        const float* g = dout + ho + (r0 + i) * p.out.st;
        NL_UNROLL
        for (int c = 0; c < NC; c++) {
          const int col = col_of<NC>(tx, c);
          if (col < D) acc += g[col] * (o[i][c] * inv[i]);
        }
      }
      acc = sum16(acc);
      if (tx == 0 && r0 + i < rows) di[static_cast<int64_t>(bh) * T + q0 + r0 + i] = acc;
    }
  }
}

// dK, dV of one key tile: thread (ty, tx) owns keys ty*4 .. +3 and query rows tx + 16 j of each
// query tile, so PM^T and dS^T come out of registers already in the (row, key) layout the
// products read.
template <int DP>
__global__ void __launch_bounds__(kThreads)
attention_backward_dkdv_tiled(float* __restrict__ dk, float* __restrict__ dv, const float* __restrict__ dout,
                              const float* __restrict__ lse, const float* __restrict__ di, const float* __restrict__ q,
                              const float* __restrict__ k, const float* __restrict__ v, const Params p) {
  constexpr int DS = DP + 4, NC = DP / 16;
  NL_DYNAMIC_SMEM(float, smem);
  float* Ks = smem;                 // (64, DS) keys of this block
  float* Vs = Ks + kTile * DS;      // (64, DS)
  float* Qs = Vs + kTile * DS;      // (64, DS) query rows
  float* Os = Qs + kTile * DS;      // (64, DS) dout rows
  float* Ps = Os + kTile * DS;      // (64 rows, kPS) PM, indexed (row, key)
  float* Gs = Ps + kTile * kPS;     // (64 rows, kPS) dS
  float* Ls = Gs + kTile * kPS;     // (64) lse of the rows
  float* Dis = Ls + kTile;          // (64) Di of the rows
  uint32_t* Ms = reinterpret_cast<uint32_t*>(Dis + kTile);  // (64, 4) mask bits
  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15, r0 = ty * 4;
  const int bh = blockIdx.x, kt = static_cast<int>(blockIdx.y), k0 = kt * kTile;  // tile 0 (most work) first
  const int T = p.T, D = p.D, nd4 = (D + 3) >> 2, nt = (T + kTile - 1) / kTile;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H), sto = p.out.st, ho = head_at(p.out, bh, p.H);
  const int64_t hr = static_cast<int64_t>(bh) * T;  // first row of the head in lse, di
  const uint64_t head = static_cast<uint64_t>(bh) * static_cast<uint64_t>(T) * static_cast<uint64_t>(T);

  load_tile<DP>(Ks, k + hq + k0 * st, st, T - k0, D, p.vq, tid);
  load_tile<DP>(Vs, v + hq + k0 * st, st, T - k0, D, p.vq, tid);
  float gk[4][NC], gv[4][NC];
  NL_UNROLL
  for (int i = 0; i < 4; i++) {
    NL_UNROLL
    for (int c = 0; c < NC; c++) gk[i][c] = gv[i][c] = 0.f;
  }
  for (int qt = kt; qt < nt; qt++) {
    const int q0 = qt * kTile;
    if (qt > kt) __syncthreads();  // the last tile's Qs, Os, Ps, Gs are read
    load_tile<DP>(Qs, q + hq + q0 * st, st, T - q0, D, p.vq, tid);
    load_tile<DP>(Os, dout + ho + q0 * sto, sto, T - q0, D, p.vo, tid);
    if (tid < kTile) {
      const bool in = q0 + tid < T;
      Ls[tid] = in ? lse[hr + q0 + tid] : 0.f;
      Dis[tid] = in ? di[hr + q0 + tid] : 0.f;
    }
    if (p.drop) mask_tile(Ms, p.key, head, T, q0, k0, tid, kThreads);
    __syncthreads();

    float s[4][4] = {}, g[4][4] = {};  // (key i, row j)
    dot_tile<DS>(s, Ks + r0 * DS, Qs + tx * DS, nd4);
    dot_tile<DS>(g, Vs + r0 * DS, Os + tx * DS, nd4);
    NL_UNROLL
    for (int j = 0; j < 4; j++) {
      const int r = tx + 16 * j, row = q0 + r;
      const float L = Ls[r], Di = Dis[r];
      NL_UNROLL
      for (int i = 0; i < 4; i++) {
        const bool live = row < T && k0 + r0 + i <= row;
        const float mk = p.drop ? mask_of(Ms, r, r0 + i, p.key.scale) : 1.f;
        const ScoreGrad w = score_grad(s[i][j], g[i][j], live, L, Di, mk, p.scale);
        s[i][j] = w.pm;
        g[i][j] = w.ds;
      }
      st4(Ps + r * kPS + r0, F4{s[0][j], s[1][j], s[2][j], s[3][j]});
      st4(Gs + r * kPS + r0, F4{g[0][j], g[1][j], g[2][j], g[3][j]});
    }
    __syncthreads();

    const int nr = min(kTile, T - q0);
    for (int r = 0; r < nr; r++) {
      const F4 a = ld4(Ps + r * kPS + r0), b = ld4(Gs + r * kPS + r0);
      float xo[NC], xq[NC];
      load_cols<NC>(xo, Os + r * DS, tx);
      load_cols<NC>(xq, Qs + r * DS, tx);
      NL_UNROLL
      for (int c = 0; c < NC; c++) {
        gv[0][c] += a.x * xo[c]; gv[1][c] += a.y * xo[c]; gv[2][c] += a.z * xo[c]; gv[3][c] += a.w * xo[c];
        gk[0][c] += b.x * xq[c]; gk[1][c] += b.y * xq[c]; gk[2][c] += b.z * xq[c]; gk[3][c] += b.w * xq[c];
      }
    }
  }
  const float one[4] = {1.f, 1.f, 1.f, 1.f}, sc[4] = {p.scale, p.scale, p.scale, p.scale};
  store_rows<NC>(dk + hq + k0 * st, st, gk, sc, r0, T - k0, D, p.vq, tx);
  store_rows<NC>(dv + hq + k0 * st, st, gv, one, r0, T - k0, D, p.vq, tx);
}

// dQ of one query tile over the key tiles up to the diagonal; thread layout as the forward.
template <int DP>
__global__ void __launch_bounds__(kThreads)
attention_backward_dq_tiled(float* __restrict__ dq, const float* __restrict__ dout, const float* __restrict__ lse,
                            const float* __restrict__ di, const float* __restrict__ q, const float* __restrict__ k,
                            const float* __restrict__ v, const Params p) {
  constexpr int DS = DP + 4, NC = DP / 16;
  NL_DYNAMIC_SMEM(float, smem);
  float* Qs = smem;                 // (64, DS) query rows
  float* Os = Qs + kTile * DS;      // (64, DS) dout rows
  float* Ks = Os + kTile * DS;      // (64, DS) keys
  float* Vs = Ks + kTile * DS;      // (64, DS) values
  float* Gs = Vs + kTile * DS;      // (64 keys, kPS) dS, transposed
  uint32_t* Ms = reinterpret_cast<uint32_t*>(Gs + kTile * kPS);  // (64, 4) mask bits
  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15, r0 = ty * 4;
  const int bh = blockIdx.x, qt = static_cast<int>(gridDim.y - 1 - blockIdx.y), q0 = qt * kTile;
  const int T = p.T, D = p.D, nd4 = (D + 3) >> 2;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H), sto = p.out.st, ho = head_at(p.out, bh, p.H);
  const int64_t hr = static_cast<int64_t>(bh) * T;
  const uint64_t head = static_cast<uint64_t>(bh) * static_cast<uint64_t>(T) * static_cast<uint64_t>(T);

  load_tile<DP>(Qs, q + hq + q0 * st, st, T - q0, D, p.vq, tid);
  load_tile<DP>(Os, dout + ho + q0 * sto, sto, T - q0, D, p.vo, tid);
  float L[4], Di[4], gq[4][NC];
  NL_UNROLL
  for (int i = 0; i < 4; i++) {
    const bool in = q0 + r0 + i < T;
    L[i] = in ? lse[hr + q0 + r0 + i] : 0.f;
    Di[i] = in ? di[hr + q0 + r0 + i] : 0.f;
    NL_UNROLL
    for (int c = 0; c < NC; c++) gq[i][c] = 0.f;
  }
  for (int kt = 0; kt <= qt; kt++) {
    const int k0 = kt * kTile;
    if (kt > 0) __syncthreads();
    load_tile<DP>(Ks, k + hq + k0 * st, st, T - k0, D, p.vq, tid);
    load_tile<DP>(Vs, v + hq + k0 * st, st, T - k0, D, p.vq, tid);
    if (p.drop) mask_tile(Ms, p.key, head, T, q0, k0, tid, kThreads);
    __syncthreads();

    float s[4][4] = {}, g[4][4] = {};  // (row i, key j)
    dot_tile<DS>(s, Qs + r0 * DS, Ks + tx * DS, nd4);
    dot_tile<DS>(g, Os + r0 * DS, Vs + tx * DS, nd4);
    NL_UNROLL
    for (int i = 0; i < 4; i++) {
      const int row = q0 + r0 + i;
      NL_UNROLL
      for (int j = 0; j < 4; j++) {
        const bool live = row < T && k0 + tx + 16 * j <= row;
        const float mk = p.drop ? mask_of(Ms, r0 + i, tx + 16 * j, p.key.scale) : 1.f;
        g[i][j] = score_grad(s[i][j], g[i][j], live, L[i], Di[i], mk, p.scale).ds;
      }
    }
    NL_UNROLL
    for (int j = 0; j < 4; j++) st4(Gs + (tx + 16 * j) * kPS + r0, F4{g[0][j], g[1][j], g[2][j], g[3][j]});
    __syncthreads();

    rows_times_tile<NC, DS>(gq, Gs, Ks, min(kTile, T - k0), r0, tx);  // dQ += dS K
  }
  const float sc[4] = {p.scale, p.scale, p.scale, p.scale};
  store_rows<NC>(dq + hq + q0 * st, st, gq, sc, r0, T - q0, D, p.vq, tx);
}

// ---------------------------------------------------------------------------------------------
// General path (any D): one warp per row (query row, or key row for dK, dV), 32 keys (rows) at a
// time, one per lane; the row's vectors in shared memory (warps * nvec * D floats), grid (B H, T / warps).

__device__ __forceinline__ float dot_row(const float* __restrict__ a, const float* __restrict__ b, int D) {
  float acc = 0.f;
  for (int d = 0; d < D; d++) acc += a[d] * b[d];
  return acc;
}

__global__ void attention_forward_general(float* __restrict__ out, float* __restrict__ lse, float* __restrict__ di,
                                          const float* __restrict__ dout, const float* __restrict__ q,
                                          const float* __restrict__ k, const float* __restrict__ v, const Params p) {
  NL_DYNAMIC_SMEM(float, smem);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int bh = blockIdx.x, i = blockIdx.y * warps + w, T = p.T, D = p.D;
  if (i >= T) return;  // whole warp; no block barriers here
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H);
  const uint64_t row = (static_cast<uint64_t>(bh) * T + i) * static_cast<uint64_t>(T);  // mask element of key 0
  float* qs = smem + static_cast<int64_t>(w) * 2 * D;  // (D)
  float* os = qs + D;                                   // (D) unnormalised output
  for (int d = lane; d < D; d += 32) { qs[d] = q[hq + i * st + d]; os[d] = 0.f; }
  __syncwarp();
  float m = -INFINITY, l = 0.f;
  for (int j0 = 0; j0 <= i; j0 += 32) {
    const int j = j0 + lane;
    const float s = j <= i ? dot_row(qs, k + hq + j * st, D) * p.scale : -INFINITY;
    const float mn = fmaxf(m, max32(s));
    const float corr = expf(m - mn), e = j <= i ? expf(s - mn) : 0.f;
    l = l * corr + sum32(e);
    m = mn;
    const float pm = p.drop && j <= i ? e * dropout_mask_at(p.key, row + j) : e;
    for (int d = lane; d < D; d += 32) os[d] *= corr;
    const int nj = min(32, i - j0 + 1);
    for (int jj = 0; jj < nj; jj++) {
      const float pj = __shfl_sync(kFull, pm, jj);
      const float* vj = v + hq + (j0 + jj) * st;
      for (int d = lane; d < D; d += 32) os[d] += pj * vj[d];
    }
  }
  const float inv = 1.f / l;
  const int64_t ho = head_at(p.out, bh, p.H) + i * p.out.st;
  float acc = 0.f;
  for (int d = lane; d < D; d += 32) {
    const float x = os[d] * inv;
    if (out) out[ho + d] = x;
    if (di) acc += dout[ho + d] * x;
  }
  const int64_t r = static_cast<int64_t>(bh) * T + i;
  if (lse && lane == 0) lse[r] = m + logf(l);
  if (di) {
    acc = sum32(acc);
    if (lane == 0) di[r] = acc;
  }
}

__global__ void attention_backward_dq_general(float* __restrict__ dq, const float* __restrict__ dout,
                                              const float* __restrict__ lse, const float* __restrict__ di,
                                              const float* __restrict__ q, const float* __restrict__ k,
                                              const float* __restrict__ v, const Params p) {
  NL_DYNAMIC_SMEM(float, smem);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int bh = blockIdx.x, i = blockIdx.y * warps + w, T = p.T, D = p.D;
  if (i >= T) return;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H), ho = head_at(p.out, bh, p.H) + i * p.out.st;
  const int64_t r = static_cast<int64_t>(bh) * T + i;
  const uint64_t row = static_cast<uint64_t>(r) * static_cast<uint64_t>(T);
  float* qs = smem + static_cast<int64_t>(w) * 3 * D;  // (D)
  float* os = qs + D;                                   // (D) dout row
  float* gs = os + D;                                   // (D) dq row
  for (int d = lane; d < D; d += 32) { qs[d] = q[hq + i * st + d]; os[d] = dout[ho + d]; gs[d] = 0.f; }
  __syncwarp();
  const float L = lse[r], Di = di[r];
  for (int j0 = 0; j0 <= i; j0 += 32) {
    const int j = j0 + lane;
    float ds = 0.f;
    if (j <= i) {
      const float pr = expf(dot_row(qs, k + hq + j * st, D) * p.scale - L);
      const float mk = p.drop ? dropout_mask_at(p.key, row + j) : 1.f;
      ds = pr * (dot_row(os, v + hq + j * st, D) * mk - Di);
    }
    const int nj = min(32, i - j0 + 1);
    for (int jj = 0; jj < nj; jj++) {
      const float g = __shfl_sync(kFull, ds, jj);
      const float* kj = k + hq + (j0 + jj) * st;
      for (int d = lane; d < D; d += 32) gs[d] += g * kj[d];
    }
  }
  for (int d = lane; d < D; d += 32) dq[hq + i * st + d] = gs[d] * p.scale;
}

__global__ void attention_backward_dkdv_general(float* __restrict__ dk, float* __restrict__ dv,
                                                const float* __restrict__ dout, const float* __restrict__ lse,
                                                const float* __restrict__ di, const float* __restrict__ q,
                                                const float* __restrict__ k, const float* __restrict__ v,
                                                const Params p) {
  NL_DYNAMIC_SMEM(float, smem);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int bh = blockIdx.x, j = blockIdx.y * warps + w, T = p.T, D = p.D;
  if (j >= T) return;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H), ho = head_at(p.out, bh, p.H), sto = p.out.st;
  const int64_t hr = static_cast<int64_t>(bh) * T;
  float* ks = smem + static_cast<int64_t>(w) * 4 * D;  // (D) key row
  float* vs = ks + D;                                   // (D) value row
  float* gk = vs + D;                                   // (D)
  float* gv = gk + D;                                   // (D)
  for (int d = lane; d < D; d += 32) { ks[d] = k[hq + j * st + d]; vs[d] = v[hq + j * st + d]; gk[d] = gv[d] = 0.f; }
  __syncwarp();
  for (int i0 = j; i0 < T; i0 += 32) {
    const int i = i0 + lane;
    float pm = 0.f, ds = 0.f;
    if (i < T) {
      const float pr = expf(dot_row(ks, q + hq + i * st, D) * p.scale - lse[hr + i]);
      const float mk = p.drop ? dropout_mask_at(p.key, static_cast<uint64_t>(hr + i) * static_cast<uint64_t>(T) + j) : 1.f;
      pm = pr * mk;
      ds = pr * (dot_row(vs, dout + ho + i * sto, D) * mk - di[hr + i]);
    }
    const int ni = min(32, T - i0);
    for (int ii = 0; ii < ni; ii++) {
      const float a = __shfl_sync(kFull, pm, ii), b = __shfl_sync(kFull, ds, ii);
      const float* go = dout + ho + (i0 + ii) * sto;
      const float* gq = q + hq + (i0 + ii) * st;
      for (int d = lane; d < D; d += 32) { gv[d] += a * go[d]; gk[d] += b * gq[d]; }
    }
  }
  for (int d = lane; d < D; d += 32) { dk[hq + j * st + d] = gk[d] * p.scale; dv[hq + j * st + d] = gv[d]; }
}

// di = rowsum(dout * out), one warp per row of the (B H T) rows.
__global__ void attention_backward_di(float* __restrict__ di, const float* __restrict__ dout,
                                      const float* __restrict__ out, const Params p, int64_t rows) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (r >= rows) return;
  const int bh = static_cast<int>(r / p.T), t = static_cast<int>(r % p.T), D = p.D;
  const int64_t o = head_at(p.out, bh, p.H) + t * p.out.st;
  float acc = 0.f;
  if (p.vo) {
    for (int d = lane * 4; d < D; d += 128) {
      const F4 a = ld4(dout + o + d), b = ld4(out + o + d);
      acc += dout_as(a.x, p.bf16) * b.x + dout_as(a.y, p.bf16) * b.y + dout_as(a.z, p.bf16) * b.z +
             dout_as(a.w, p.bf16) * b.w;
    }
  } else {
    for (int d = lane; d < D; d += 32) acc += dout_as(dout[o + d], p.bf16) * out[o + d];
  }
  acc = sum32(acc);
  if (lane == 0) di[r] = acc;
}

// ---------------------------------------------------------------------------------------------
// Host side

// Warps per block of the general path and its shared memory (nvec vectors of D floats per warp).
dim3 general_grid(const AttentionDims& d, int nvec, size_t* smem, int* threads) {
  int warps = kGenWarps;
  const size_t per = static_cast<size_t>(nvec) * static_cast<size_t>(d.D) * sizeof(float);
  while (warps > 1 && warps * per > smem_limit()) warps--;
  if (warps * per > smem_limit()) throw CudaError("attention: head size too large for shared memory");
  const unsigned rows = blocks_for(d.T, warps);
  if (rows > 65535u) throw CudaError("attention: sequence too long for the grid");
  *smem = warps * per;
  *threads = warps * 32;
  return dim3(static_cast<unsigned>(d.B) * static_cast<unsigned>(d.H), rows);
}

template <int DP>
void forward_tiled(float* out, float* lse, float* di, const float* dout, const float* q, const float* k, const float* v,
                   const AttentionDims& d, const Params& p, cudaStream_t stream) {
  const size_t smem = forward_smem<DP>();
  allow_smem(attention_forward_tiled<DP>, smem);
  const dim3 grid = tile_grid(d);
  NL_LAUNCH((attention_forward_tiled<DP>), grid, kThreads, smem, stream, out, lse, di, dout, q, k, v, p);
}

// Forward for any D: out, lse, di optional (di needs dout).
void forward_any(float* out, float* lse, float* di, const float* dout, const float* q, const float* k, const float* v,
                 const AttentionDims& d, const Params& p, cudaStream_t stream) {
  if (p.bf16 && forward_bf16(out, lse, di, dout, q, k, v, d, p, stream)) return;
  if (d.D <= 16) forward_tiled<16>(out, lse, di, dout, q, k, v, d, p, stream);
  else if (d.D <= 32) forward_tiled<32>(out, lse, di, dout, q, k, v, d, p, stream);
  else if (d.D <= 64) forward_tiled<64>(out, lse, di, dout, q, k, v, d, p, stream);
  else if (d.D <= 128 && forward_smem<128>() <= smem_limit()) forward_tiled<128>(out, lse, di, dout, q, k, v, d, p, stream);
  else {
    size_t smem;
    int threads;
    const dim3 grid = general_grid(d, 2, &smem, &threads);
    allow_smem(attention_forward_general, smem);
    NL_LAUNCH(attention_forward_general, grid, threads, smem, stream, out, lse, di, dout, q, k, v, p);
  }
}

template <int DP>
bool backward_tiled(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* di, const float* q,
                    const float* k, const float* v, const AttentionDims& d, const Params& p, cudaStream_t stream) {
  const size_t s1 = dkdv_smem<DP>(), s2 = dq_smem<DP>();
  if (s1 > smem_limit() || s2 > smem_limit()) return false;  // e.g. D = 128 on sm_80: the general path
  allow_smem(attention_backward_dkdv_tiled<DP>, s1);
  allow_smem(attention_backward_dq_tiled<DP>, s2);
  const dim3 grid = tile_grid(d);
  NL_LAUNCH((attention_backward_dkdv_tiled<DP>), grid, kThreads, s1, stream, dk, dv, dout, lse, di, q, k, v, p);
  NL_LAUNCH((attention_backward_dq_tiled<DP>), grid, kThreads, s2, stream, dq, dout, lse, di, q, k, v, p);
  return true;
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const AttentionDims& d,
                       cudaStream_t stream) {
  if (static_cast<int64_t>(d.B) * d.H * d.T * d.D == 0) return;
  Params p = params_of(d);
  p.vq = p.vq && aligned16(q) && aligned16(k) && aligned16(v);
  p.vo = p.vo && aligned16(out);
  forward_any(out, lse, nullptr, nullptr, q, k, v, d, p, stream);
}

size_t attention_backward_workspace_bytes(const AttentionDims& d) {
  return 2 * static_cast<size_t>(d.B) * static_cast<size_t>(d.H) * static_cast<size_t>(d.T) * sizeof(float);  // di, lse
}

void attention_backward(float* dq, float* dk, float* dv, float* workspace, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v, const AttentionDims& d,
                        cudaStream_t stream) {
  const int64_t rows = static_cast<int64_t>(d.B) * d.H * d.T;
  if (rows * d.D == 0) return;
  Params p = params_of(d);
  p.vq = p.vq && aligned16(q) && aligned16(k) && aligned16(v) && aligned16(dq) && aligned16(dk) && aligned16(dv);
  p.vo = p.vo && aligned16(out) && aligned16(dout);
  float* di = workspace;  // (B H T)
  if (out && lse) {
    NL_LAUNCH(attention_backward_di, blocks_for(rows, 8), 256, 0, stream, di, dout, out, p, rows);
  } else {  // a forward pass for lse and di, out itself not kept
    float* lse_ws = workspace + rows;  // (B H T)
    forward_any(nullptr, lse_ws, di, dout, q, k, v, d, p, stream);
    lse = lse_ws;
  }
  bool done = p.bf16 && backward_bf16(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  if (done) return;
  if (d.D <= 16) done = backward_tiled<16>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else if (d.D <= 32) done = backward_tiled<32>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else if (d.D <= 64) done = backward_tiled<64>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else if (d.D <= 128) done = backward_tiled<128>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  if (!done) {
    size_t smem;
    int threads;
    dim3 grid = general_grid(d, 4, &smem, &threads);
    allow_smem(attention_backward_dkdv_general, smem);
    NL_LAUNCH(attention_backward_dkdv_general, grid, threads, smem, stream, dk, dv, dout, lse, di, q, k, v, p);
    grid = general_grid(d, 3, &smem, &threads);
    allow_smem(attention_backward_dq_general, smem);
    NL_LAUNCH(attention_backward_dq_general, grid, threads, smem, stream, dq, dout, lse, di, q, k, v, p);
  }
}

}  // namespace nlc
