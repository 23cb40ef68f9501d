// Causal self-attention on the GPU, flash style (the T x T scores never reach global memory), the
// same function as native/kernels/attention.cc:
//   S = scale Q K^T, causal mask (j > i), P = softmax(S) per row, PM = P * M, O = PM V
// where M is the dropout mask ((b H + h) T + i) T + j of the call's Philox stream (scale or 0).
// Backward: dPM = dO V^T, dS = P * (dPM * M - Di), Di = rowsum(dO * O),
//   dQ = scale dS K, dK = scale dS^T Q, dV = PM^T dO.
#pragma once

#include <cstddef>
#include <cstdint>

#include "compat.h"
#include "philox.cuh"

namespace nlc {

// Element (b, h, t, d) of a head tensor is at b sb + h sh + t st + d.
struct HeadLayout {
  int64_t sb, sh, st;
};
inline HeadLayout heads_contiguous(int64_t H, int64_t T, int64_t D) { return {H * T * D, T * D, D}; }  // (B, H, T, D)
// head h at columns h D of token rows (B, T, width)
inline HeadLayout heads_in_rows(int64_t T, int64_t D, int64_t width) { return {T * width, D, width}; }

struct AttentionDims {
  int B, H, T, D;
  float scale;      // 1 / sqrt(D) as a rule
  bool drop;        // dropout on the weights (key used only then)
  DropoutKey key;
  HeadLayout qkv, out;  // q, k, v, dq, dk, dv; out, dout
  // bf16 on the tensor cores (D <= 128): q, k, v, the weights P and dS rounded to bf16, products
  // accumulated in fp32, as PyTorch's autocast computes them; softmax statistics stay fp32.
  bool bf16 = false;
};

// out: heads as d.out; lse: (B H T) logsumexp of each row's scaled, masked scores, or nullptr.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, const AttentionDims& d,
                       cudaStream_t stream);

size_t attention_backward_workspace_bytes(const AttentionDims& d);

// Writes every element of dq, dk, dv (nothing accumulated). out and lse are those of the forward
// pass; either may be nullptr, and what is missing is recomputed. Deterministic (no atomics).
void attention_backward(float* dq, float* dk, float* dv, float* workspace, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v, const AttentionDims& d,
                        cudaStream_t stream);

}  // namespace nlc
