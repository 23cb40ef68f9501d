// Tensor-core building blocks: bf16 pairs and the warp-wide mma.sync m16n8k16 (bf16 in, fp32
// accumulate), on sm_80 and sm_90. Fragment layouts (PTX ISA; g = lane / 4, t = lane % 4, the low
// half of a word is the first element):
//   A (16 x 16, row-major), four words: a[0] = A[g][2t..2t+1],   a[1] = A[g+8][2t..2t+1],
//                                       a[2] = A[g][2t+8..2t+9], a[3] = A[g+8][2t+8..2t+9]
//   B (16 x 8, k-major), two words:     b0 = B[2t..2t+1][g],     b1 = B[2t+8..2t+9][g]
//   C (16 x 8, fp32), four floats:      c[0..1] = C[g][2t..2t+1], c[2..3] = C[g+8][2t..2t+1]
// so the C fragments of two neighbouring 8-column tiles, packed to bf16, are an A fragment: the
// flash-attention trick that feeds the weights P of S = Q K^T straight into O += P V.
// The emulated build (NL_CUDA_EMU) runs the same layouts through nlemu::mma_m16n8k16_bf16.
#pragma once

#include <cstdint>

#include "compat.h"

namespace nlc {

// (lo, hi) rounded to bf16, nearest even, as one word; lo in the low half.
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
#ifdef NL_CUDA_EMU
  return static_cast<uint32_t>(__float2bfloat16_rn(lo).__x) | (static_cast<uint32_t>(__float2bfloat16_rn(hi).__x) << 16);
#else
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (lo) at the lower address
  return *reinterpret_cast<const uint32_t*>(&v);
#endif
}

// d += a b for one warp (every lane calls it, converged).
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#ifdef NL_CUDA_EMU
  nlemu::mma_m16n8k16_bf16(d, a, b0, b1);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

}  // namespace nlc
