// Causal attention in bf16 on the tensor cores (mma.sync m16n8k16, fp32 accumulation): the same
// function, tiles and passes as attention.cu's fp32 kernels (64 query rows x 64 keys; forward, then
// dK dV per key tile and dQ per query tile, no atomics), but a block is 4 warps and each warp owns
// 16 rows (forward, dQ) or 16 keys (dK, dV). Tiles are rounded to bf16 as they are loaded into
// shared memory, row-major (the operands of products over d) or transposed (the right-hand sides of
// products over keys or rows). The weights P and dS go from the accumulators of one product straight
// into the A operand of the next (mma.cuh), rounded to bf16 there; softmax statistics stay fp32.
// Heads up to D = 128, zero-padded to DP = 16, 32, 64 or 128.
#include <cmath>

#include "attention_tiles.cuh"
#include "mma.cuh"

namespace nlc {
namespace attn {
namespace {

constexpr int kWarps = 4, kMmaThreads = 32 * kWarps;
constexpr int kTW = kTile / 2 + 4;  // words per row of a transposed tile (64 bf16 + 8 of padding)

// Shared-memory tiles of bf16 pairs, one word each; the padding of 4 words per row makes every
// fragment load conflict-free (lanes g, t read word 4 g + t of their rows, modulo 32 banks).
template <int DP>
struct Tiles {
  static constexpr int RW = DP / 2 + 4;     // words per row of a row-major (64, DP) tile
  static constexpr int KS = DP / 16;        // k-steps of a product over d
  static constexpr int ND = DP / 8;         // 8-column tiles of a (16, DP) result
  static constexpr int kRow = kTile * RW;   // words of a row-major tile
  static constexpr int kTrans = DP * kTW;   // words of a transposed (DP, 64) tile
};

// Rows [0, 64) of a head (row stride st) into a row-major tile; rows >= rows and columns >= D are 0.
template <int DP>
__device__ __forceinline__ void load_rows(uint32_t* __restrict__ s, const float* __restrict__ g, int64_t st, int rows,
                                          int D, int tid) {
  constexpr int W = DP / 2;
  for (int e = tid; e < kTile * W; e += kMmaThreads) {
    const int r = e / W, c = 2 * (e % W);
    float x0 = 0.f, x1 = 0.f;
    if (r < rows) {
      const float* gr = g + r * st;
      if (c < D) x0 = gr[c];
      if (c + 1 < D) x1 = gr[c + 1];
    }
    s[r * Tiles<DP>::RW + e % W] = pack_bf16(x0, x1);
  }
}

// The same rows transposed: word j of row d holds column d of rows 2j and 2j + 1.
template <int DP>
__device__ __forceinline__ void load_rows_transposed(uint32_t* __restrict__ s, const float* __restrict__ g, int64_t st,
                                                     int rows, int D, int tid) {
  constexpr int W = kTile / 2;
  for (int e = tid; e < DP * W; e += kMmaThreads) {
    const int d = e / W, j = e % W, r = 2 * j;  // a warp: one column, 32 row pairs (conflict-free stores)
    float x0 = 0.f, x1 = 0.f;
    if (d < D) {
      if (r < rows) x0 = g[r * st + d];
      if (r + 1 < rows) x1 = g[(r + 1) * st + d];
    }
    s[d * kTW + j] = pack_bf16(x0, x1);
  }
}

// A operand: rows row0 .. row0 + 15 and k-step ks (columns 16 ks .. 16 ks + 15) of a tile of W words per row.
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const uint32_t* __restrict__ s, int W, int row0, int ks, int g,
                                       int t) {
  const uint32_t* p = s + (row0 + g) * W + ks * 8 + t;
  a[0] = p[0];
  a[1] = p[8 * W];
  a[2] = p[4];
  a[3] = p[8 * W + 4];
}

// B operand of k-step ks: its 8 columns are rows col0 .. col0 + 7 of the tile.
__device__ __forceinline__ void load_b(uint32_t& b0, uint32_t& b1, const uint32_t* __restrict__ s, int W, int col0, int ks,
                                       int g, int t) {
  const uint32_t* p = s + (col0 + g) * W + ks * 8 + t;
  b0 = p[0];
  b1 = p[4];
}

// acc (16 x 64 as eight 8-column tiles) = rows row0 .. row0 + 15 of A times the 64 rows of B, over d:
// S = Q K^T, dP = dO V^T, and their transposes.
template <int DP>
__device__ __forceinline__ void rows_dot_rows(float (&acc)[8][4], const uint32_t* __restrict__ A, int row0,
                                              const uint32_t* __restrict__ B, int g, int t) {
  NL_UNROLL
  for (int n = 0; n < 8; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
  NL_UNROLL
  for (int ks = 0; ks < Tiles<DP>::KS; ks++) {
    uint32_t a[4];
    load_a(a, A, Tiles<DP>::RW, row0, ks, g, t);
    NL_UNROLL
    for (int n = 0; n < 8; n++) {
      uint32_t b0, b1;
      load_b(b0, b1, B, Tiles<DP>::RW, 8 * n, ks, g, t);
      mma_bf16(acc[n], a, b0, b1);
    }
  }
}

// acc (16 x DP) += w (16 x 64, laid out as rows_dot_rows leaves it) times a (64, DP) tile stored
// transposed: O += P V, dQ += dS K, dV += PM^T dO, dK += dS^T Q.
template <int DP>
__device__ __forceinline__ void weights_times(float (&acc)[Tiles<DP>::ND][4], const float (&w)[8][4],
                                              const uint32_t* __restrict__ Bt, int g, int t) {
  NL_UNROLL
  for (int kk = 0; kk < 4; kk++) {
    const uint32_t a[4] = {pack_bf16(w[2 * kk][0], w[2 * kk][1]), pack_bf16(w[2 * kk][2], w[2 * kk][3]),
                           pack_bf16(w[2 * kk + 1][0], w[2 * kk + 1][1]), pack_bf16(w[2 * kk + 1][2], w[2 * kk + 1][3])};
    NL_UNROLL
    for (int nd = 0; nd < Tiles<DP>::ND; nd++) {
      uint32_t b0, b1;
      load_b(b0, b1, Bt, kTW, 8 * nd, kk, g, t);
      mma_bf16(acc[nd], a, b0, b1);
    }
  }
}

// Over the 4 lanes of a quad (the lanes that share a row of an accumulator tile).
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(kFull, x, 1);
  return x + __shfl_xor_sync(kFull, x, 2);
}
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(kFull, x, 1));
  return fmaxf(x, __shfl_xor_sync(kFull, x, 2));
}

// Row (h = 0: g, h = 1: g + 8) and column of element c of an accumulator tile n.
__device__ __forceinline__ int acc_col(int n, int c, int t) { return 8 * n + 2 * t + (c & 1); }

// Writes rows (16 of them from row0, those < rows) x columns (< D) of acc times mul[h] to g.
template <int DP>
__device__ __forceinline__ void store_acc(float* __restrict__ g, int64_t st, const float (&acc)[Tiles<DP>::ND][4],
                                          const float (&mul)[2], int row0, int rows, int D, int gi, int t) {
  NL_UNROLL
  for (int nd = 0; nd < Tiles<DP>::ND; nd++) {
    NL_UNROLL
    for (int c = 0; c < 4; c++) {
      const int r = row0 + gi + 8 * (c >> 1), col = acc_col(nd, c, t);
      if (r < rows && col < D) g[r * st + col] = acc[nd][c] * mul[c >> 1];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels, grid (B H, tiles), 128 threads

// Online softmax over the key tiles up to the diagonal; out, lse optional; with di also
// di = rowsum(dout * O) (the backward's recompute).
template <int DP>
__global__ void __launch_bounds__(kMmaThreads)
attention_forward_bf16(float* __restrict__ out, float* __restrict__ lse, float* __restrict__ di,
                       const float* __restrict__ dout, const float* __restrict__ q, const float* __restrict__ k,
                       const float* __restrict__ v, const Params p) {
  using TL = Tiles<DP>;
  NL_DYNAMIC_SMEM(uint32_t, smem);
  uint32_t* Qs = smem;             // (64, DP) query rows
  uint32_t* Ks = Qs + TL::kRow;    // (64, DP) keys
  uint32_t* Vt = Ks + TL::kRow;    // (DP, 64) values, transposed
  uint32_t* Ms = Vt + TL::kTrans;  // (64, 4) mask bits
  const int tid = threadIdx.x, lane = tid & 31, g = lane >> 2, t = lane & 3, row0 = 16 * (tid >> 5);
  const int bh = blockIdx.x, qt = static_cast<int>(gridDim.y - 1 - blockIdx.y), q0 = qt * kTile;  // heavy tiles first
  const int T = p.T, D = p.D;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H);
  const uint64_t head = static_cast<uint64_t>(bh) * static_cast<uint64_t>(T) * static_cast<uint64_t>(T);

  load_rows<DP>(Qs, q + hq + q0 * st, st, T - q0, D, tid);
  float o[TL::ND][4] = {}, m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // l: this lane's part of the row sums
  for (int kt = 0; kt <= qt; kt++) {
    const int k0 = kt * kTile;
    if (kt > 0) __syncthreads();  // every warp is done with the last tile's Ks, Vt, Ms
    load_rows<DP>(Ks, k + hq + k0 * st, st, T - k0, D, tid);
    load_rows_transposed<DP>(Vt, v + hq + k0 * st, st, T - k0, D, tid);
    if (p.drop) mask_tile(Ms, p.key, head, T, q0, k0, tid, kMmaThreads);
    __syncthreads();

    float s[8][4];
    rows_dot_rows<DP>(s, Qs, row0, Ks, g, t);
    const bool diag = kt == qt;  // only there keys pass rows (k0 == q0)
    float mt[2] = {-INFINITY, -INFINITY};
    NL_UNROLL
    for (int n = 0; n < 8; n++) {
      NL_UNROLL
      for (int c = 0; c < 4; c++) {
        const float x = diag && acc_col(n, c, t) > row0 + g + 8 * (c >> 1) ? -INFINITY : s[n][c] * p.scale;
        s[n][c] = x;
        mt[c >> 1] = fmaxf(mt[c >> 1], x);
      }
    }
    float corr[2];
    NL_UNROLL
    for (int h = 0; h < 2; h++) {
      const float mn = fmaxf(m[h], quad_max(mt[h]));  // finite: key k0 is never masked
      corr[h] = expf(m[h] - mn);
      m[h] = mn;
      l[h] *= corr[h];
    }
    NL_UNROLL
    for (int nd = 0; nd < TL::ND; nd++) {
      NL_UNROLL
      for (int c = 0; c < 4; c++) o[nd][c] *= corr[c >> 1];
    }
    NL_UNROLL
    for (int n = 0; n < 8; n++) {
      NL_UNROLL
      for (int c = 0; c < 4; c++) {
        const int h = c >> 1;
        const float e = expf(s[n][c] - m[h]);
        l[h] += e;
        s[n][c] = p.drop ? e * mask_of(Ms, row0 + g + 8 * h, acc_col(n, c, t), p.key.scale) : e;
      }
    }
    weights_times<DP>(o, s, Vt, g, t);  // O += PM V
  }

  float inv[2];
  NL_UNROLL
  for (int h = 0; h < 2; h++) {
    l[h] = quad_sum(l[h]);
    inv[h] = 1.f / l[h];
  }
  const int rows = T - q0;
  const int64_t ho = head_at(p.out, bh, p.H) + q0 * p.out.st;
  if (out) store_acc<DP>(out + ho, p.out.st, o, inv, row0, rows, D, g, t);
  NL_UNROLL
  for (int h = 0; h < 2; h++) {
    const int r = row0 + g + 8 * h;
    if (lse && t == 0 && r < rows) lse[static_cast<int64_t>(bh) * T + q0 + r] = m[h] + logf(l[h]);
    if (di) {
      float acc = 0.f;
      if (r < rows) {
        const float* gr = dout + ho + r * p.out.st;
        NL_UNROLL
        for (int nd = 0; nd < TL::ND; nd++) {
          NL_UNROLL
          for (int c = 2 * h; c < 2 * h + 2; c++) {
            const int col = acc_col(nd, c, t);
            if (col < D) acc += dout_as(gr[col], true) * (o[nd][c] * inv[h]);
          }
        }
      }
      acc = quad_sum(acc);
      if (t == 0 && r < rows) di[static_cast<int64_t>(bh) * T + q0 + r] = acc;
    }
  }
}

// dK, dV of one key tile over the query tiles at or after it: each warp takes 16 keys, so S^T and
// dP^T come out with keys as rows and feed dV += PM^T dO and dK += dS^T Q directly.
template <int DP>
__global__ void __launch_bounds__(kMmaThreads)
attention_backward_dkdv_bf16(float* __restrict__ dk, float* __restrict__ dv, const float* __restrict__ dout,
                             const float* __restrict__ lse, const float* __restrict__ di, const float* __restrict__ q,
                             const float* __restrict__ k, const float* __restrict__ v, const Params p) {
  using TL = Tiles<DP>;
  NL_DYNAMIC_SMEM(uint32_t, smem);
  uint32_t* Ks = smem;             // (64, DP) keys of this block
  uint32_t* Vs = Ks + TL::kRow;    // (64, DP) their values
  uint32_t* Qs = Vs + TL::kRow;    // (64, DP) query rows
  uint32_t* Os = Qs + TL::kRow;    // (64, DP) dout rows
  uint32_t* Qt = Os + TL::kRow;    // (DP, 64) query rows, transposed
  uint32_t* Ot = Qt + TL::kTrans;  // (DP, 64) dout rows, transposed
  float* Ls = reinterpret_cast<float*>(Ot + TL::kTrans);  // (64) lse of the rows
  float* Dis = Ls + kTile;                                // (64) Di of the rows
  uint32_t* Ms = reinterpret_cast<uint32_t*>(Dis + kTile);  // (64, 4) mask bits
  const int tid = threadIdx.x, lane = tid & 31, g = lane >> 2, t = lane & 3, row0 = 16 * (tid >> 5);
  const int bh = blockIdx.x, kt = static_cast<int>(blockIdx.y), k0 = kt * kTile;  // tile 0 (most work) first
  const int T = p.T, D = p.D, nt = (T + kTile - 1) / kTile;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H), sto = p.out.st, ho = head_at(p.out, bh, p.H);
  const int64_t hr = static_cast<int64_t>(bh) * T;  // first row of the head in lse, di
  const uint64_t head = static_cast<uint64_t>(bh) * static_cast<uint64_t>(T) * static_cast<uint64_t>(T);

  load_rows<DP>(Ks, k + hq + k0 * st, st, T - k0, D, tid);
  load_rows<DP>(Vs, v + hq + k0 * st, st, T - k0, D, tid);
  float gk[TL::ND][4] = {}, gv[TL::ND][4] = {};
  for (int qt = kt; qt < nt; qt++) {
    const int q0 = qt * kTile;
    if (qt > kt) __syncthreads();  // every warp is done with the last tile's rows
    load_rows<DP>(Qs, q + hq + q0 * st, st, T - q0, D, tid);
    load_rows<DP>(Os, dout + ho + q0 * sto, sto, T - q0, D, tid);
    load_rows_transposed<DP>(Qt, q + hq + q0 * st, st, T - q0, D, tid);
    load_rows_transposed<DP>(Ot, dout + ho + q0 * sto, sto, T - q0, D, tid);
    if (tid < kTile) {
      const bool in = q0 + tid < T;
      Ls[tid] = in ? lse[hr + q0 + tid] : 0.f;
      Dis[tid] = in ? di[hr + q0 + tid] : 0.f;
    }
    if (p.drop) mask_tile(Ms, p.key, head, T, q0, k0, tid, kMmaThreads);
    __syncthreads();

    float s[8][4], gp[8][4];  // (key, row): S^T and dPM^T
    rows_dot_rows<DP>(s, Ks, row0, Qs, g, t);
    rows_dot_rows<DP>(gp, Vs, row0, Os, g, t);
    NL_UNROLL
    for (int n = 0; n < 8; n++) {
      NL_UNROLL
      for (int c = 0; c < 4; c++) {
        const int kr = row0 + g + 8 * (c >> 1), r = acc_col(n, c, t), row = q0 + r;
        const bool live = row < T && k0 + kr <= row;
        const float mk = p.drop ? mask_of(Ms, r, kr, p.key.scale) : 1.f;
        const ScoreGrad w = score_grad(s[n][c], gp[n][c], live, Ls[r], Dis[r], mk, p.scale);
        s[n][c] = w.pm;   // PM^T
        gp[n][c] = w.ds;  // dS^T
      }
    }
    weights_times<DP>(gv, s, Ot, g, t);   // dV += PM^T dO
    weights_times<DP>(gk, gp, Qt, g, t);  // dK += dS^T Q
  }
  const float one[2] = {1.f, 1.f}, sc[2] = {p.scale, p.scale};
  store_acc<DP>(dk + hq + k0 * st, st, gk, sc, row0, T - k0, D, g, t);
  store_acc<DP>(dv + hq + k0 * st, st, gv, one, row0, T - k0, D, g, t);
}

// dQ of one query tile over the key tiles up to the diagonal; each warp takes 16 rows.
template <int DP>
__global__ void __launch_bounds__(kMmaThreads)
attention_backward_dq_bf16(float* __restrict__ dq, const float* __restrict__ dout, const float* __restrict__ lse,
                           const float* __restrict__ di, const float* __restrict__ q, const float* __restrict__ k,
                           const float* __restrict__ v, const Params p) {
  using TL = Tiles<DP>;
  NL_DYNAMIC_SMEM(uint32_t, smem);
  uint32_t* Qs = smem;             // (64, DP) query rows
  uint32_t* Os = Qs + TL::kRow;    // (64, DP) dout rows
  uint32_t* Ks = Os + TL::kRow;    // (64, DP) keys
  uint32_t* Vs = Ks + TL::kRow;    // (64, DP) values
  uint32_t* Kt = Vs + TL::kRow;    // (DP, 64) keys, transposed
  uint32_t* Ms = Kt + TL::kTrans;  // (64, 4) mask bits
  const int tid = threadIdx.x, lane = tid & 31, g = lane >> 2, t = lane & 3, row0 = 16 * (tid >> 5);
  const int bh = blockIdx.x, qt = static_cast<int>(gridDim.y - 1 - blockIdx.y), q0 = qt * kTile;
  const int T = p.T, D = p.D;
  const int64_t st = p.qkv.st, hq = head_at(p.qkv, bh, p.H), sto = p.out.st, ho = head_at(p.out, bh, p.H);
  const int64_t hr = static_cast<int64_t>(bh) * T;
  const uint64_t head = static_cast<uint64_t>(bh) * static_cast<uint64_t>(T) * static_cast<uint64_t>(T);

  load_rows<DP>(Qs, q + hq + q0 * st, st, T - q0, D, tid);
  load_rows<DP>(Os, dout + ho + q0 * sto, sto, T - q0, D, tid);
  float L[2], Di[2], gq[TL::ND][4] = {};
  NL_UNROLL
  for (int h = 0; h < 2; h++) {
    const int row = q0 + row0 + g + 8 * h;
    L[h] = row < T ? lse[hr + row] : 0.f;
    Di[h] = row < T ? di[hr + row] : 0.f;
  }
  for (int kt = 0; kt <= qt; kt++) {
    const int k0 = kt * kTile;
    if (kt > 0) __syncthreads();
    load_rows<DP>(Ks, k + hq + k0 * st, st, T - k0, D, tid);
    load_rows<DP>(Vs, v + hq + k0 * st, st, T - k0, D, tid);
    load_rows_transposed<DP>(Kt, k + hq + k0 * st, st, T - k0, D, tid);
    if (p.drop) mask_tile(Ms, p.key, head, T, q0, k0, tid, kMmaThreads);
    __syncthreads();

    float s[8][4], gp[8][4];  // (row, key): S and dPM
    rows_dot_rows<DP>(s, Qs, row0, Ks, g, t);
    rows_dot_rows<DP>(gp, Os, row0, Vs, g, t);
    NL_UNROLL
    for (int n = 0; n < 8; n++) {
      NL_UNROLL
      for (int c = 0; c < 4; c++) {
        const int h = c >> 1, r = row0 + g + 8 * h, j = acc_col(n, c, t), row = q0 + r;
        const bool live = row < T && k0 + j <= row;
        const float mk = p.drop ? mask_of(Ms, r, j, p.key.scale) : 1.f;
        gp[n][c] = score_grad(s[n][c], gp[n][c], live, L[h], Di[h], mk, p.scale).ds;  // dS
      }
    }
    weights_times<DP>(gq, gp, Kt, g, t);  // dQ += dS K
  }
  const float sc[2] = {p.scale, p.scale};
  store_acc<DP>(dq + hq + q0 * st, st, gq, sc, row0, T - q0, D, g, t);
}

// ---------------------------------------------------------------------------------------------
// Host side

template <int DP>
constexpr size_t forward_bytes() { return (2 * Tiles<DP>::kRow + Tiles<DP>::kTrans + 4 * kTile) * sizeof(uint32_t); }
template <int DP>
constexpr size_t dkdv_bytes() { return (4 * Tiles<DP>::kRow + 2 * Tiles<DP>::kTrans + 2 * kTile + 4 * kTile) * sizeof(uint32_t); }
template <int DP>
constexpr size_t dq_bytes() { return (4 * Tiles<DP>::kRow + Tiles<DP>::kTrans + 4 * kTile) * sizeof(uint32_t); }

template <int DP>
void forward_dp(float* out, float* lse, float* di, const float* dout, const float* q, const float* k, const float* v,
                const AttentionDims& d, const Params& p, cudaStream_t stream) {
  allow_smem(attention_forward_bf16<DP>, forward_bytes<DP>());
  NL_LAUNCH((attention_forward_bf16<DP>), tile_grid(d), kMmaThreads, forward_bytes<DP>(), stream, out, lse, di, dout, q, k, v, p);
}

template <int DP>
void backward_dp(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* di, const float* q,
                 const float* k, const float* v, const AttentionDims& d, const Params& p, cudaStream_t stream) {
  allow_smem(attention_backward_dkdv_bf16<DP>, dkdv_bytes<DP>());
  allow_smem(attention_backward_dq_bf16<DP>, dq_bytes<DP>());
  NL_LAUNCH((attention_backward_dkdv_bf16<DP>), tile_grid(d), kMmaThreads, dkdv_bytes<DP>(), stream, dk, dv, dout, lse, di, q, k,
            v, p);
  NL_LAUNCH((attention_backward_dq_bf16<DP>), tile_grid(d), kMmaThreads, dq_bytes<DP>(), stream, dq, dout, lse, di, q, k, v, p);
}

// The largest tile set (D = 128, backward: 107 KB) fits every sm_80+ GPU's 163 KB or more.
static_assert(dkdv_bytes<128>() <= 160 * 1024, "bf16 attention tiles exceed sm_80 shared memory");

}  // namespace

bool forward_bf16(float* out, float* lse, float* di, const float* dout, const float* q, const float* k, const float* v,
                  const AttentionDims& d, const Params& p, cudaStream_t stream) {
  if (d.D <= 16) forward_dp<16>(out, lse, di, dout, q, k, v, d, p, stream);
  else if (d.D <= 32) forward_dp<32>(out, lse, di, dout, q, k, v, d, p, stream);
  else if (d.D <= 64) forward_dp<64>(out, lse, di, dout, q, k, v, d, p, stream);
  else if (d.D <= 128) forward_dp<128>(out, lse, di, dout, q, k, v, d, p, stream);
  else return false;
  return true;
}

bool backward_bf16(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* di, const float* q,
                   const float* k, const float* v, const AttentionDims& d, const Params& p, cudaStream_t stream) {
  if (d.D <= 16) backward_dp<16>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else if (d.D <= 32) backward_dp<32>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else if (d.D <= 64) backward_dp<64>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else if (d.D <= 128) backward_dp<128>(dq, dk, dv, dout, lse, di, q, k, v, d, p, stream);
  else return false;
  return true;
}

}  // namespace attn
}  // namespace nlc
