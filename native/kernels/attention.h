// Causal self-attention over B x H heads of T x D (attention.cc), shared by the CausalAttention
// kernel (heads contiguous) and the fused transformer block (block.cc: heads read from and
// written to token rows in place, so the block needs no layout copies).
#pragma once

#include <cstdint>

#include "philox.h"

namespace nl {

constexpr int64_t kAttentionBlock = 64;  // query rows per block; longer sequences take the blocked path

// Where element (b, h, t, d) of a head tensor is: b * sb + h * sh + t * st + d.
struct HeadLayout {
  int64_t sb, sh, st;
  int64_t at(int64_t bh, int64_t H) const { return (bh / H) * sb + (bh % H) * sh; }  // start of head bh
};
inline HeadLayout heads_contiguous(int64_t H, int64_t T, int64_t D) { return {H * T * D, T * D, D}; }
// heads as column blocks of token rows of `width` floats: (B, T, width), head h at columns h D
inline HeadLayout heads_in_rows(int64_t T, int64_t D, int64_t width) { return {T * width, D, width}; }

struct AttentionDims {
  int64_t BH, H, T, D;  // BH = B * H heads
  float scale;
  bool drop;
  DropoutKey key;
  HeadLayout qkv, out;  // q, k, v (and dq, dk, dv); out (and dout)
};

// scale = 1 / sqrt(D); dropout on the weights when key.rate > 0; heads contiguous (BH, T, D)
AttentionDims attention_dims(int64_t BH, int64_t T, int64_t D, const DropoutKey& key);

// out, q, k, v: heads laid out as d.out and d.qkv say
void attention_forward(float* out, const float* q, const float* k, const float* v, const AttentionDims& d);

// Recomputes the weights from q, k, v. dk and dv must be zero-filled when T > kAttentionBlock
// (the blocked path accumulates into them). dq, dk, dv are laid out as q, k, v; dout as out.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const AttentionDims& d);

}  // namespace nl
