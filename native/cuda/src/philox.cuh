// Philox4x32-10 on the device, the same function as native/kernels/philox.h and
// core/random/philox.ts, so dropout masks are identical on every backend. Element i of a dropout
// call is kept iff (word i % 4 of philox(counter = (i / 4 lo, i / 4 hi, callLo, callHi),
// key = (seedLo, seedHi))) >> 8 >= threshold, and kept elements are multiplied by scale.
#pragma once

#include <cmath>

#include "compat.h"

namespace nlc {

struct Philox4 { uint32_t w[4]; };

__host__ __device__ __forceinline__ Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                                          uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xd2511f53u, M1 = 0xcd9e8d57u, W0 = 0x9e3779b9u, W1 = 0xbb67ae85u;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
  for (int r = 0; r < 10; r++) {
    const uint64_t p0 = static_cast<uint64_t>(M0) * c0, p1 = static_cast<uint64_t>(M1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
    k0 += W0; k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}

// One dropout call: rate 0 keeps everything (callers skip the mask then).
struct DropoutKey {
  uint32_t seedLo, seedHi, callLo, callHi;
  uint32_t threshold;  // keep iff (w >> 8) >= threshold
  float scale;         // float(1 / (1 - rate)), as the CPU backend's mask stores it
};

// (w >> 8) * 2^-24 >= rate  <=>  (w >> 8) >= ceil(rate * 2^24); NaN keeps nothing.
inline DropoutKey dropout_key(double rate, uint32_t seedLo, uint32_t seedHi, uint32_t callLo, uint32_t callHi) {
  DropoutKey k{seedLo, seedHi, callLo, callHi, 0u, static_cast<float>(1.0 / (1.0 - rate))};
  if (!(rate == rate)) {
    k.threshold = 16777217u;
  } else {
    const double t = std::ceil(rate * 16777216.0);
    k.threshold = t <= 0 ? 0u : (t > 16777216.0 ? 16777217u : static_cast<uint32_t>(t));
  }
  return k;
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
