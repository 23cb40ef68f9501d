// The fused pre-norm transformer block on the GPU, the same function as native/kernels/block.cc:
//   y1 = x + Dropout(Attn(LN1(x)) Wproj + bproj)
//   y  = y1 + Dropout(act(LN2(y1) Wfc + bfc) Wfp + bfp)
// Saved for the backward pass: x Wqkv (q | k | v rows), the attention output, y1, h (the fc
// pre-activation for GELU, relu of it for ReLU) and the attention rows' logsumexp (lse), which
// the CPU block recomputes. Layer norm outputs and GELU are recomputed.
#pragma once

#include "compat.h"
#include "matmul.h"
#include "philox.cuh"

namespace nlc {

struct BlockDims {
  int64_t B, T, C, H, F;
  bool gelu;
  float eps;
  DropoutKey attn, proj, ff;
  bool attnDrop, projDrop, ffDrop;  // rate > 0
  Precision precision;
};

// out: y (N, C), qkv (N, 3C), atty (N, C), y1 (N, C), h (N, F), lse (B H T)
void block_forward(float* y, float* qkv, float* atty, float* y1, float* h, float* lse, const float* x, const float* ln1g,
                   const float* ln1b, const float* wqkv, const float* wproj, const float* bproj, const float* ln2g,
                   const float* ln2b, const float* wfc, const float* bfc, const float* wfp, const float* bfp,
                   const BlockDims& d, cudaStream_t stream);

// Every gradient is overwritten (none accumulated).
void block_backward(float* dx, float* dln1g, float* dln1b, float* dwqkv, float* dwproj, float* dbproj, float* dln2g,
                    float* dln2b, float* dwfc, float* dbfc, float* dwfp, float* dbfp, const float* dy, const float* qkv,
                    const float* atty, const float* y1, const float* h, const float* lse, const float* x,
                    const float* ln1g, const float* ln1b, const float* wqkv, const float* wproj, const float* ln2g,
                    const float* ln2b, const float* wfc, const float* wfp, const BlockDims& d, cudaStream_t stream);

}  // namespace nlc
