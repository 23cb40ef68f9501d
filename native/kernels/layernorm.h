// LayerNorm over rows of C (layernorm.cc), shared by the LayerNorm kernel and the fused block.
#pragma once

#include <cstdint>

namespace nl {

// out = (x - mean) * rstd * weight + bias per row of inp (N, C)
void layernorm_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                       float eps);

// dinp, dweight, dbias overwritten; row statistics recomputed from inp
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, int64_t N, int64_t C, float eps);

}  // namespace nl
