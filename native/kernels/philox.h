// Philox4x32-10 (Salmon et al., SC'11), the same function as core/random/philox.ts, so dropout
// masks are identical bit for bit on every backend. Known answer (ctr 0,0,0,0, key 0,0):
// 6627e8d5 e169c58d bc57ac4c 9b00dbd8 (test/native_philox.test.ts).
#pragma once

#include <cmath>
#include <cstdint>

// The CUDA backend compiles this same function for the device (native/cuda/src/philox.cuh).
#ifndef NL_HOST_DEVICE
#define NL_HOST_DEVICE
#endif

namespace nl {

struct Philox4 { uint32_t w[4]; };

NL_HOST_DEVICE inline Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xd2511f53u, M1 = 0xcd9e8d57u, W0 = 0x9e3779b9u, W1 = 0xbb67ae85u;
  for (int r = 0; r < 10; r++) {
    const uint64_t p0 = static_cast<uint64_t>(M0) * c0, p1 = static_cast<uint64_t>(M1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
    k0 += W0; k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}

// The dropout scheme of core/random/philox.ts dropoutMask: element i of a call is kept iff
// uniform(word i % 4 of block i / 4) >= rate, counter = (block lo, block hi, callId lo, callId hi),
// key = (seed lo, seed hi). Seeds and call ids arrive split into 32-bit halves by the TS side.
struct DropoutKey {
  uint32_t k0, k1, c2, c3;
  double rate;
  float scale;        // 1 / (1 - rate) as the Float32Array mask stores it
  uint32_t threshold; // keep iff (w >> 8) >= threshold, see dropout_threshold
};

// (w >> 8) * 2^-24 >= rate  <=>  (w >> 8) >= ceil(rate * 2^24) for the integer w >> 8 (the
// product by 2^24 is exact), so the test becomes one integer compare.
inline uint32_t dropout_threshold(double rate) {
  if (!(rate == rate)) return 16777217u;  // NaN: nothing is kept, as in JS
  const double t = std::ceil(rate * 16777216.0);
  return t <= 0 ? 0u : (t > 16777216.0 ? 16777217u : static_cast<uint32_t>(t));
}

}  // namespace nl
