// Causal self-attention over (BH, T, D) heads (attention.cc), shared by the CausalAttention
// kernel and the fused transformer block (block.cc).
#pragma once

#include <cstdint>

#include "philox.h"

namespace nl {

constexpr int64_t kAttentionBlock = 64;  // query rows per block; longer sequences take the blocked path

struct AttentionDims { int64_t BH, T, D; float scale; bool drop; DropoutKey key; };

// scale = 1 / sqrt(D); dropout on the weights when key.rate > 0
AttentionDims attention_dims(int64_t BH, int64_t T, int64_t D, const DropoutKey& key);

// out, q, k, v: (BH, T, D)
void attention_forward(float* out, const float* q, const float* k, const float* v, const AttentionDims& d);

// Recomputes the weights from q, k, v. dk and dv must be zero-filled when T > kAttentionBlock
// (the blocked path accumulates into them).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const AttentionDims& d);

}  // namespace nl
