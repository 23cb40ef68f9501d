// Row-wise and element-wise kernels of a GPT training step on the GPU: LayerNorm, softmax
// cross-entropy, embedding lookup and its gradient, dropout, GELU, ReLU, bias rows and their
// gradient (column sums), the residual add and AdamW. Same functions as the CPU backend
// (native/kernels/layernorm.cc, cross_entropy.cc, gather.cc, dropout.cc, gelu.cc, block.cc,
// adamw.cc). Element-wise results are bit-identical to the CPU's (no FMA contraction); sums over
// rows or columns are deterministic (fixed order, no float atomics) but ordered differently.
// Workspaces: device memory of the size the matching *_workspace_bytes gives, 16-byte aligned
// (cudaMalloc's 256 is), used only during the call (stream order). Zero sizes do nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "compat.h"
#include "philox.cuh"

namespace nlc {

// out = (x - mean) * rstd * gamma + beta per row of x (N, C); biased variance. mean, rstd (N) may be
// nullptr, else they get each row's statistics. out may not alias x.
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                       int64_t N, int64_t C, float eps, cudaStream_t stream);

size_t layernorm_backward_workspace_bytes(int64_t N, int64_t C);

// dx (N, C), dgamma, dbeta (C) overwritten (dgamma, dbeta: sums over the N rows). mean, rstd: the
// forward's, or nullptr to recompute them from x. dx may not alias dout or x.
void layernorm_backward(float* dx, float* dgamma, float* dbeta, float* workspace, const float* dout, const float* x,
                        const float* gamma, const float* mean, const float* rstd, int64_t N, int64_t C, float eps,
                        cudaStream_t stream);

size_t cross_entropy_workspace_bytes(int64_t N, int64_t V);

// loss: one device float = sum over rows with target in [0, V) of logsumexp(row) - row[target],
// divided by N (all rows; NaN when N = 0). logits (N, V), targets (N).
void cross_entropy_forward(float* loss, float* workspace, const float* logits, const int32_t* targets, int64_t N,
                           int64_t V, cudaStream_t stream);

// dlogits = (softmax(row) - onehot(target)) * dloss / N; rows with a target outside [0, V) get
// zeros. dloss: one device float (the scalar loss' gradient, read on the device). dlogits may be
// logits (in place: no second (N, V) buffer).
void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dloss,
                            int64_t N, int64_t V, cudaStream_t stream);

// out (N, C) = rows ids of table (V, C); an id outside [0, V) gives a zero row (the CPU's gather
// throws there; a kernel cannot).
void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                       cudaStream_t stream);

size_t embedding_backward_workspace_bytes(int64_t N, int64_t V, int64_t C);

// dtable (V, C) overwritten: row v = sum of the rows r of dout (N, C) with ids[r] = v (ids outside
// [0, V) dropped). Rows are added in increasing r (the CPU's order, same bits) unless the average
// id repeats 64+ times, where 8 warps split each id's rows (still a fixed order).
void embedding_backward(float* dtable, float* workspace, const int32_t* ids, const float* dout, int64_t N, int64_t V,
                        int64_t C, cudaStream_t stream);

// out = x * mask (out may be x): the Philox mask of the call, element i from word i % 4 of block i / 4.
void dropout_forward(float* out, const float* x, int64_t n, DropoutKey key, cudaStream_t stream);
// out = the scaled mask itself (key.scale or 0).
void dropout_mask(float* out, int64_t n, DropoutKey key, cudaStream_t stream);

// Exact GELU as gelu.cc: x * (erf(x / sqrt 2) + 1) * 0.5 with tfjs' erf (Abramowitz-Stegun 7.1.26
// in double), bit-identical to the CPU backend. dx may be dout.
void gelu_forward(float* out, const float* x, int64_t n, cudaStream_t stream);
void gelu_backward(float* dx, const float* dout, const float* x, int64_t n, cudaStream_t stream);

// out = x > 0 ? x : 0; dx = dout * (y > 0 ? 1 : 0) with y the forward's input or output (same
// sign pattern). out may be x, dx may be dout.
void relu_forward(float* out, const float* x, int64_t n, cudaStream_t stream);
void relu_backward(float* dx, const float* dout, const float* y, int64_t n, cudaStream_t stream);

// out = x + bias per row of (N, C) (out may be x).
void bias_add_rows(float* out, const float* x, const float* bias, int64_t N, int64_t C, cudaStream_t stream);

size_t column_sums_workspace_bytes(int64_t N, int64_t C);

// out (C) = sum over the rows of x (N, C) (bias gradients); zeros when N = 0.
void column_sums(float* out, float* workspace, const float* x, int64_t N, int64_t C, cudaStream_t stream);

// out = residual + (drop ? x * mask : x), elements [0, n) of the call (block.cc's order: the
// branch through its dropout, then the residual add). out may be residual or x.
void residual_dropout_add(float* out, const float* residual, const float* x, int64_t n, DropoutKey key, bool drop,
                          cudaStream_t stream);

// AdamW constants as adamw.cc takes them: decay = 1 - lr wd, omb1 = 1 - b1, omb2 = 1 - b2,
// sqrt_bc2 = sqrt(1 - b2^t), step_size = lr / (1 - b1^t).
struct AdamWHyper {
  float decay, b1, omb1, b2, omb2, sqrt_bc2, eps, step_size;
};

// Returns 0: the tensor table travels in the kernel's parameters (no copy, no workspace).
size_t adamw_workspace_bytes(int count);

// Every parameter in place, in few launches (64 tensors each): params, grads, m, v are host arrays
// of count device pointers, sizes and decay (nonzero: apply h.decay) host arrays of count entries;
// workspace may be nullptr. The float operations of adamw.cc in its order: same bits.
void adamw(float* const* params, const float* const* grads, float* const* m, float* const* v, const int64_t* sizes,
           const uint8_t* decay, int count, const AdamWHyper& h, float* workspace, cudaStream_t stream);

}  // namespace nlc
