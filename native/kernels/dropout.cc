// Fused dropout: y = x * mask with the Philox mask of core/random/philox.ts generated on the fly;
// the backward pass regenerates the same mask (dx = dy * mask), so nothing is saved.
#include "dropout.h"

#include "common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* (false positive)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace nl {

// Mask values (scale or 0) for the 4 * nblocks elements of blocks first, first + 1, ...
// Portable version: the loop over blocks vectorises (one block per lane, 10 rounds unrolled).
NL_CLONES void mask_blocks_any(float* out, uint64_t first, size_t nblocks, const DropoutKey& key) {
  const uint32_t t = key.threshold;
  const float s = key.scale;
  for (size_t i = 0; i < nblocks; i++) {
    const uint64_t b = first + i;
    const Philox4 r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), key.c2, key.c3, key.k0, key.k1);
    out[4 * i] = (r.w[0] >> 8) >= t ? s : 0.0f;
    out[4 * i + 1] = (r.w[1] >> 8) >= t ? s : 0.0f;
    out[4 * i + 2] = (r.w[2] >> 8) >= t ? s : 0.0f;
    out[4 * i + 3] = (r.w[3] >> 8) >= t ? s : 0.0f;
  }
}

// Scaled mask (scale or 0) of elements [begin, begin + n) of one call (portable path).
static void dropout_mask_any(float* out, uint64_t begin, size_t n, const DropoutKey& key) {
  float buf[4];  // a partial first or last block
  uint64_t i = begin;
  const uint64_t end = begin + n;
  while (i < end) {
    const uint64_t b0 = i >> 2;
    const uint64_t base = b0 << 2;  // element index of buf[0]
    if ((i & 3) == 0 && end - i >= 4) {
      const size_t nb = static_cast<size_t>((end - i) >> 2);
      mask_blocks_any(out + (i - begin), b0, nb, key);  // whole blocks straight into out
      i += 4 * nb;
      continue;
    }
    mask_blocks_any(buf, b0, 1, key);
    const uint64_t stop = base + 4 < end ? base + 4 : end;
    for (; i < stop; i++) out[i - begin] = buf[i - base];
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Explicit AVX-512 / AVX2 Philox: 16 (8) blocks side by side, the 32x32 -> 64-bit products of
// even and odd lanes recombined by blends, words transposed back to element order. About 2.5x
// the auto-vectorised loop, which matters for the attention masks (B H T^2 / 2 elements).
#define NL_AVX512 __attribute__((target("avx512f")))
#define NL_AVX2 __attribute__((target("avx2")))

// 16 blocks from block `first` (whose low word must not wrap within the 16). Each word lives in
// the low half of a 64-bit lane (blocks 0-7 in one register, 8-15 in another), so one
// _mm512_mul_epu32 gives the whole 32x32 -> 64-bit product: its high word is a shift away and
// its low word is already in place (the garbage above it is never read: the multiply and the
// final repacking look at low halves only). Three-way xors are one vpternlogd.
NL_AVX512 static void mask16_avx512(float* out, uint64_t first, const DropoutKey& key) {
  const __m512i lanes_lo = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), lanes_hi = _mm512_setr_epi64(8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i ctr = _mm512_set1_epi64(static_cast<long long>(static_cast<uint32_t>(first)));
  __m512i a0 = _mm512_add_epi64(ctr, lanes_lo), b0 = _mm512_add_epi64(ctr, lanes_hi);  // word 0 of blocks 0-7, 8-15
  __m512i a1 = _mm512_set1_epi64(static_cast<long long>(first >> 32)), b1 = a1;
  __m512i a2 = _mm512_set1_epi64(static_cast<long long>(key.c2)), b2 = a2;
  __m512i a3 = _mm512_set1_epi64(static_cast<long long>(key.c3)), b3 = a3;
  const __m512i m0 = _mm512_set1_epi64(0xd2511f53LL), m1 = _mm512_set1_epi64(0xcd9e8d57LL);
  const __m512i kw0 = _mm512_set1_epi64(0x9e3779b9LL), kw1 = _mm512_set1_epi64(0xbb67ae85LL);
  __m512i k0 = _mm512_set1_epi64(static_cast<long long>(key.k0)), k1 = _mm512_set1_epi64(static_cast<long long>(key.k1));
  for (int r = 0; r < 10; r++) {
    const __m512i pa0 = _mm512_mul_epu32(a0, m0), pa1 = _mm512_mul_epu32(a2, m1);
    const __m512i pb0 = _mm512_mul_epu32(b0, m0), pb1 = _mm512_mul_epu32(b2, m1);
    a0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pa1, 32), a1, k0, 0x96);
    a2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pa0, 32), a3, k1, 0x96);
    b0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pb1, 32), b1, k0, 0x96);
    b2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pb0, 32), b3, k1, 0x96);
    a1 = pa1; a3 = pa0; b1 = pb1; b3 = pb0;
    k0 = _mm512_add_epi32(k0, kw0);  // (the key words wrap mod 2^32 in their low halves)
    k1 = _mm512_add_epi32(k1, kw1);
  }
  // low halves of (a, b) -> 16 words, lane j = block j
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i c0 = _mm512_permutex2var_epi32(a0, evens, b0), c1 = _mm512_permutex2var_epi32(a1, evens, b1);
  const __m512i c2 = _mm512_permutex2var_epi32(a2, evens, b2), c3 = _mm512_permutex2var_epi32(a3, evens, b3);
  const __m512i t = _mm512_set1_epi32(static_cast<int>(key.threshold));
  const __m512 s = _mm512_set1_ps(key.scale);
  const __m512 w0 = _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(c0, 8), t), s);
  const __m512 w1 = _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(c1, 8), t), s);
  const __m512 w2 = _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(c2, 8), t), s);
  const __m512 w3 = _mm512_maskz_mov_ps(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(c3, 8), t), s);
  // transpose 4 x 16 words to 16 blocks of 4: within 128-bit lanes, then across them
  const __m512 t0 = _mm512_unpacklo_ps(w0, w1), t1 = _mm512_unpackhi_ps(w0, w1);
  const __m512 t2 = _mm512_unpacklo_ps(w2, w3), t3 = _mm512_unpackhi_ps(w2, w3);
  const __m512 u0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));  // blocks 0 4 8 12
  const __m512 u1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));  // 1 5 9 13
  const __m512 u2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));  // 2 6 10 14
  const __m512 u3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));  // 3 7 11 15
  const __m512 a01 = _mm512_shuffle_f32x4(u0, u1, 0x44), a23 = _mm512_shuffle_f32x4(u2, u3, 0x44);  // lanes 0,1 of each
  const __m512 b01 = _mm512_shuffle_f32x4(u0, u1, 0xEE), b23 = _mm512_shuffle_f32x4(u2, u3, 0xEE);  // lanes 2,3 of each
  _mm512_storeu_ps(out, _mm512_shuffle_f32x4(a01, a23, 0x88));       // blocks 0 1 2 3
  _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(a01, a23, 0xDD));  // 4 5 6 7
  _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(b01, b23, 0x88));  // 8 9 10 11
  _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(b01, b23, 0xDD));  // 12 13 14 15
}

NL_AVX2 static inline void mulhilo8(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i pe = _mm256_mul_epu32(a, m), po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

NL_AVX2 static void mask8_avx2(float* out, uint64_t first, const DropoutKey& key) {
  __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(first))),
                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i c1 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(first >> 32)));
  __m256i c2 = _mm256_set1_epi32(static_cast<int>(key.c2)), c3 = _mm256_set1_epi32(static_cast<int>(key.c3));
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xd2511f53u)), m1 = _mm256_set1_epi32(static_cast<int>(0xcd9e8d57u));
  uint32_t k0 = key.k0, k1 = key.k1;
  for (int r = 0; r < 10; r++) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo8(c0, m0, hi0, lo0);
    mulhilo8(c2, m1, hi1, lo1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c1 = lo1; c3 = lo0;
    k0 += 0x9e3779b9u; k1 += 0xbb67ae85u;
  }
  // (w >> 8) < 2^24 and the threshold <= 2^24 + 1, so a signed compare with threshold - 1 works
  const __m256i t1 = _mm256_set1_epi32(static_cast<int>(key.threshold) - 1);
  const __m256 s = _mm256_set1_ps(key.scale);
  const __m256 w0 = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_srli_epi32(c0, 8), t1)), s);
  const __m256 w1 = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_srli_epi32(c1, 8), t1)), s);
  const __m256 w2 = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_srli_epi32(c2, 8), t1)), s);
  const __m256 w3 = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_srli_epi32(c3, 8), t1)), s);
  const __m256 t0 = _mm256_unpacklo_ps(w0, w1), tt1 = _mm256_unpackhi_ps(w0, w1);
  const __m256 t2 = _mm256_unpacklo_ps(w2, w3), t3 = _mm256_unpackhi_ps(w2, w3);
  const __m256 u0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));   // blocks 0 | 4
  const __m256 u1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));   // 1 | 5
  const __m256 u2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(tt1), _mm256_castps_pd(t3)));  // 2 | 6
  const __m256 u3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(tt1), _mm256_castps_pd(t3)));  // 3 | 7
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u1, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}

enum class PhiloxIsa { Any, Avx2, Avx512 };
static PhiloxIsa philox_isa() {
  static const PhiloxIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return PhiloxIsa::Avx512;
    if (__builtin_cpu_supports("avx2")) return PhiloxIsa::Avx2;
    return PhiloxIsa::Any;
  }();
  return isa;
}

// One group of 16 (AVX-512) or 8 (AVX2) blocks starting at block b.
static void mask_group(float* out, uint64_t b, PhiloxIsa isa, size_t lanes, const DropoutKey& key) {
  if (static_cast<uint32_t>(b) > 0xffffffffu - lanes) mask_blocks_any(out, b, lanes, key);  // low word wraps
  else if (isa == PhiloxIsa::Avx512) mask16_avx512(out, b, key);
  else mask8_avx2(out, b, key);
}

void dropout_mask(float* out, uint64_t begin, size_t n, const DropoutKey& key) {
  const PhiloxIsa isa = philox_isa();
  if (isa == PhiloxIsa::Any) { dropout_mask_any(out, begin, n, key); return; }
  const size_t lanes = isa == PhiloxIsa::Avx512 ? 16 : 8, group = 4 * lanes;
  float buf[64];
  uint64_t i = begin;
  const uint64_t end = begin + n;
  while (i < end) {
    const uint64_t b = i >> 2, base = b << 2;
    if (i == base && end - i >= group) {  // a whole aligned group straight into out
      mask_group(out + (i - begin), b, isa, lanes, key);
      i += group;
      continue;
    }
    mask_group(buf, b, isa, lanes, key);  // a partial group (row starts and ends): copy its part
    const uint64_t stop = base + group < end ? base + group : end;
    for (; i < stop; i++) out[i - begin] = buf[i - base];
  }
}
#else
void dropout_mask(float* out, uint64_t begin, size_t n, const DropoutKey& key) { dropout_mask_any(out, begin, n, key); }
#endif

namespace {

NL_CLONES void mul_inplace(float* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] * y[i];
}

DropoutKey key_from(const Napi::CallbackInfo& info, size_t at) {
  return dropout_key(num(info, at), u32(info, at + 1), u32(info, at + 2), u32(info, at + 3), u32(info, at + 4));
}

// dropout(out, x, rate, seedLo, seedHi, callLo, callHi): out = x * mask (also the backward, with dy)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  dropout_apply(o.f(), f32(info, 1), o.len, key_from(info, 2));
  return info.Env().Undefined();
}

// dropoutMask(out, rate, seedLo, seedHi, callLo, callHi): the mask itself (tests)
Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  dropout_mask(o.f(), 0, o.len, key_from(info, 1));
  return info.Env().Undefined();
}

// philox(out Uint32Array(4), c0, c1, c2, c3, k0, k1) (tests)
Napi::Value Philox(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  const Philox4 r = philox4x32_10(u32(info, 1), u32(info, 2), u32(info, 3), u32(info, 4), u32(info, 5), u32(info, 6));
  std::memcpy(o.data, r.w, 16);
  return info.Env().Undefined();
}

}  // namespace

// Each chunk's mask is made in out (on the stack when in place), then multiplied.
void dropout_apply_range(float* out, const float* x, uint64_t begin, size_t n, const DropoutKey& key) {
  constexpr size_t chunk = 4096;
  if (out == x) {
    float m[chunk];
    for (size_t i = 0; i < n; i += chunk) {
      const size_t c = n - i < chunk ? n - i : chunk;
      dropout_mask(m, begin + i, c, key);
      mul_inplace(out + i, m, c);
    }
    return;
  }
  for (size_t i = 0; i < n; i += chunk) {
    const size_t c = n - i < chunk ? n - i : chunk;
    dropout_mask(out + i, begin + i, c, key);
    mul_inplace(out + i, x + i, c);
  }
}

void dropout_apply(float* out, const float* x, size_t n, const DropoutKey& key) { dropout_apply_range(out, x, 0, n, key); }

void init_dropout(Napi::Env env, Napi::Object exports) {
  exports.Set("dropout", Napi::Function::New(env, Dropout));
  exports.Set("dropoutMask", Napi::Function::New(env, DropoutMask));
  exports.Set("philox", Napi::Function::New(env, Philox));
}

}  // namespace nl
