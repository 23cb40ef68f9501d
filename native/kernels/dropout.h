// Philox dropout masks (dropout.cc), shared by the dropout, attention and block kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "philox.h"

namespace nl {

inline DropoutKey dropout_key(double rate, uint32_t seedLo, uint32_t seedHi, uint32_t callLo, uint32_t callHi) {
  DropoutKey k;
  k.rate = rate;
  k.k0 = seedLo; k.k1 = seedHi; k.c2 = callLo; k.c3 = callHi;
  k.scale = static_cast<float>(1.0 / (1.0 - rate));
  k.threshold = dropout_threshold(rate);
  return k;
}

// Scaled mask (1 / (1 - rate) or 0) of elements [begin, begin + n) of one call.
void dropout_mask(float* out, uint64_t begin, size_t n, const DropoutKey& key);

// out = x * mask over elements [0, n) of the call (out may be x).
void dropout_apply(float* out, const float* x, size_t n, const DropoutKey& key);
// The same for elements [begin, begin + n) of the call: out[i] = x[i] * mask[begin + i].
void dropout_apply_range(float* out, const float* x, uint64_t begin, size_t n, const DropoutKey& key);

}  // namespace nl
