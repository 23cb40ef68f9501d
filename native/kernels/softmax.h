// Row softmax and helpers shared by Softmax, Multinomial, attention and cross-entropy.
#pragma once

#include "common.h"
#include "vmath.h"

namespace nl {

// out[r, :] = softmax(x[r, :]); out may alias x.
void softmax_rows(float* out, const float* x, int64_t rows, int64_t cols);

}  // namespace nl
