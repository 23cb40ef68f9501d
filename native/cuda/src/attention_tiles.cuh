// What the attention kernels share (attention.cu: fp32 on the CUDA cores; attention_bf16.cu: bf16 on
// the tensor cores): the launch parameters, where a head starts, the dropout bits of a 64 x 64 tile,
// and the host side's shared-memory and grid limits. Internal to those two files.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "attention.h"

namespace nlc {
namespace attn {

constexpr int kTile = 64;  // query rows and keys per tile
constexpr unsigned kFull = 0xffffffffu;

#ifdef NL_CUDA_EMU
#define NL_UNROLL
#else
#define NL_UNROLL _Pragma("unroll")
#endif

struct Params {
  int H, T, D;
  float scale;
  bool drop;
  bool bf16;    // the tensor-core kernels (d.bf16 and D <= 128)
  bool vq, vo;  // float4 access to the qkv / out tensors (D, strides and pointers multiples of 4)
  DropoutKey key;
  HeadLayout qkv, out;
};

__device__ __forceinline__ int64_t head_at(const HeadLayout& l, int bh, int H) {
  return static_cast<int64_t>(bh / H) * l.sb + static_cast<int64_t>(bh % H) * l.sh;
}

// Dropout bits of rows [q0, q0 + 64) x keys [k0, k0 + 64): bit c of ms[r * 4 + g] is key k0 + 16 g + c
// of row q0 + r. Entry e = 4 r + g (e < 256; a block's threads share them out) takes 16 bits from the
// 4-5 Philox blocks they span; keys past the diagonal (or rows past T) get 0 bits without any Philox call.
__device__ __forceinline__ void mask_entry(uint32_t* __restrict__ ms, const DropoutKey& key, uint64_t head, int T, int q0,
                                           int k0, int e) {
  const int r = e >> 2, g = e & 3, i = q0 + r, j0 = k0 + 16 * g;
  uint32_t bits = 0;
  if (i < T && j0 <= i) {
    const int n = min(16, i - j0 + 1);
    const uint64_t e0 = head + static_cast<uint64_t>(i) * static_cast<uint64_t>(T) + static_cast<uint64_t>(j0);
    for (uint64_t b = e0 >> 2; b <= (e0 + n - 1) >> 2; b++) {
      const Philox4 w = dropout_block(key, b);
      NL_UNROLL
      for (int u = 0; u < 4; u++) {
        const int64_t c = static_cast<int64_t>(b * 4 + u) - static_cast<int64_t>(e0);
        if (c >= 0 && c < n && (w.w[u] >> 8) >= key.threshold) bits |= 1u << c;
      }
    }
  }
  ms[e] = bits;
}

__device__ __forceinline__ float mask_of(const uint32_t* __restrict__ ms, int r, int c, float scale) {
  return (ms[r * 4 + (c >> 4)] >> (c & 15)) & 1u ? scale : 0.f;
}

// The whole tile's bits, shared out over a block of `threads` threads (a multiple of 32).
__device__ __forceinline__ void mask_tile(uint32_t* __restrict__ ms, const DropoutKey& key, uint64_t head, int T, int q0,
                                          int k0, int tid, int threads) {
  for (int e = tid; e < 4 * kTile; e += threads) mask_entry(ms, key, head, T, q0, k0, e);
}

// The backward's weight PM = P M and score gradient dS = P (dPM M - Di) of one (row, key): s is
// q . k (unscaled), dpm = dout . v, P = exp(scale s - L) for a live key (else 0), mk the row's
// dropout factor there (1 without dropout).
struct ScoreGrad {
  float pm, ds;
};
__device__ __forceinline__ ScoreGrad score_grad(float s, float dpm, bool live, float L, float Di, float mk, float scale) {
  const float pr = live ? expf(s * scale - L) : 0.f;
  return {pr * mk, pr * (dpm * mk - Di)};
}

// dout as the products with it see it: rounded to bf16 on the tensor-core path, so that
// Di = rowsum(dout * O) matches dP = dout V^T and dS = P (dP - Di) does not pick up the difference.
__device__ __forceinline__ float dout_as(float x, bool bf16) {
  return bf16 ? __bfloat162float(__float2bfloat16_rn(x)) : x;
}

inline bool aligned16(const void* ptr) { return ptr == nullptr || (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

inline bool vec_ok(const HeadLayout& l, int D) { return D % 4 == 0 && l.sb % 4 == 0 && l.sh % 4 == 0 && l.st % 4 == 0; }

// NANOLAB_CUDA_ATTENTION=fp32 keeps the fp32 kernels whatever d.bf16 says (to tell, on a GPU,
// whether a difference comes from the tensor-core kernels).
inline bool tensor_cores_allowed() {
  static const bool allowed = [] {
    const char* e = std::getenv("NANOLAB_CUDA_ATTENTION");
    return e == nullptr || std::string(e) != "fp32";
  }();
  return allowed;
}

inline Params params_of(const AttentionDims& d) {
  Params p;
  p.H = d.H; p.T = d.T; p.D = d.D;
  p.scale = d.scale;
  p.drop = d.drop;
  p.bf16 = d.bf16 && d.D <= 128 && tensor_cores_allowed();
  p.key = d.key;
  p.qkv = d.qkv; p.out = d.out;
  p.vq = vec_ok(d.qkv, d.D);
  p.vo = vec_ok(d.out, d.D);
  return p;
}

inline size_t smem_limit() {
  static const size_t limit = [] {
    int dev = 0;
    NL_CUDA_CHECK(cudaGetDevice(&dev));
    cudaDeviceProp prop;
    NL_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    return static_cast<size_t>(prop.sharedMemPerBlockOptin);
  }();
  return limit;
}

// Raises a kernel's dynamic shared memory limit past the default 48 KB, once per kernel and size
// (the launchers run every step: no driver call when the limit already allows it).
template <class K>
inline void allow_smem(K kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return;
  static std::map<const void*, size_t> allowed;  // kernel -> limit set so far (launches come from one thread)
  size_t& have = allowed[reinterpret_cast<const void*>(kernel)];
  if (bytes <= have) return;
  NL_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  have = bytes;
}

inline unsigned tiles_of(int T) {
  const unsigned n = blocks_for(T, kTile);
  if (n > 65535u) throw CudaError("attention: sequence too long for the grid");
  return n;
}

// Grid of the tiled kernels: (B H heads, 64-row tiles).
inline dim3 tile_grid(const AttentionDims& d) {
  return dim3(static_cast<unsigned>(d.B) * static_cast<unsigned>(d.H), tiles_of(d.T));
}

// bf16 on the tensor cores (attention_bf16.cu) for D <= 128; false (nothing launched) otherwise.
bool forward_bf16(float* out, float* lse, float* di, const float* dout, const float* q, const float* k, const float* v,
                  const AttentionDims& d, const Params& p, cudaStream_t stream);
bool backward_bf16(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* di, const float* q,
                   const float* k, const float* v, const AttentionDims& d, const Params& p, cudaStream_t stream);

}  // namespace attn
}  // namespace nlc
