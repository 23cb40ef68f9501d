// Philox4x32-10 on the device, the same function as native/kernels/philox.h and
// core/random/philox.ts, so dropout masks are identical on every backend. Element i of a dropout
// call is kept iff (word i % 4 of philox(counter = (i / 4 lo, i / 4 hi, callLo, callHi),
// key = (seedLo, seedHi))) >> 8 >= threshold, and kept elements are multiplied by scale.
#pragma once

#include "compat.h"

#define NL_HOST_DEVICE __host__ __device__
#include "../../kernels/philox.h"

namespace nlc {

using nl::Philox4;
using nl::philox4x32_10;

// One dropout call: rate 0 keeps everything (callers skip the mask then).
struct DropoutKey {
  uint32_t seedLo, seedHi, callLo, callHi;
  uint32_t threshold;  // keep iff (w >> 8) >= threshold
  float scale;         // float(1 / (1 - rate)), as the CPU backend's mask stores it
};

// The threshold and scale exactly as the CPU backend makes them (nl::dropout_threshold).
inline DropoutKey dropout_key(double rate, uint32_t seedLo, uint32_t seedHi, uint32_t callLo, uint32_t callHi) {
  return DropoutKey{seedLo, seedHi, callLo, callHi, nl::dropout_threshold(rate), static_cast<float>(1.0 / (1.0 - rate))};
}

// The four mask words of block b (elements 4b .. 4b + 3) of a call.
__host__ __device__ __forceinline__ Philox4 dropout_block(const DropoutKey& k, uint64_t b) {
  return philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), k.callLo, k.callHi, k.seedLo, k.seedHi);
}

// Scaled mask value (scale or 0) of element i of a call; one Philox evaluation per call, so loops
// over consecutive elements should use dropout_block once per four.
__host__ __device__ __forceinline__ float dropout_mask_at(const DropoutKey& k, uint64_t i) {
  const Philox4 r = dropout_block(k, i >> 2);
  return (r.w[i & 3] >> 8) >= k.threshold ? k.scale : 0.0f;
}

}  // namespace nlc
