// Exact GELU with tfjs' erf (gelu.cc), shared by the Gelu kernel and the fused block.
#pragma once

#include <cstddef>

namespace nl {

void gelu_forward(float* out, const float* inp, size_t n);

// dinp = dout * gelu'(inp); dinp may be dout
void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n);

}  // namespace nl
