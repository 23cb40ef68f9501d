// Fused dropout: y = x * mask with the Philox mask of core/random/philox.ts generated on the fly;
// the backward pass regenerates the same mask (dx = dy * mask), so nothing is saved.
#include "common.h"
#include "philox.h"

namespace nl {

// words[4 * i + j] = word j of block first + i
NL_CLONES void philox_blocks(uint32_t* words, uint64_t first, size_t nblocks, uint32_t k0, uint32_t k1, uint32_t c2,
                             uint32_t c3) {
  for (size_t i = 0; i < nblocks; i++) {
    const uint64_t b = first + i;
    const Philox4 r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), c2, c3, k0, k1);
    words[4 * i] = r.w[0]; words[4 * i + 1] = r.w[1]; words[4 * i + 2] = r.w[2]; words[4 * i + 3] = r.w[3];
  }
}

// Scaled mask (scale or 0) of elements [begin, begin + n) of one call, in chunks through a small
// buffer of words.
void dropout_mask(float* out, uint64_t begin, size_t n, const DropoutKey& key) {
  uint32_t words[4 * 256];
  size_t done = 0;
  while (done < n) {
    const uint64_t i = begin + done;
    const uint64_t b0 = i >> 2;
    const uint32_t skip = static_cast<uint32_t>(i & 3);
    size_t nb = (skip + (n - done) + 3) / 4;
    if (nb > 256) nb = 256;
    philox_blocks(words, b0, nb, key.k0, key.k1, key.c2, key.c3);
    size_t take = nb * 4 - skip;
    if (take > n - done) take = n - done;
    const float scale = key.scale;
    const double rate = key.rate;
    for (size_t j = 0; j < take; j++) out[done + j] = keep_word(words[skip + j], rate) ? scale : 0.0f;
    done += take;
  }
}

namespace {

NL_CLONES void mul_inplace(float* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] * y[i];
}

DropoutKey key_from(const Napi::CallbackInfo& info, size_t at) {
  DropoutKey k;
  k.rate = num(info, at);
  k.k0 = u32(info, at + 1); k.k1 = u32(info, at + 2); k.c2 = u32(info, at + 3); k.c3 = u32(info, at + 4);
  k.scale = static_cast<float>(1.0 / (1.0 - k.rate));
  return k;
}

// dropout(out, x, rate, seedLo, seedHi, callLo, callHi): out = x * mask (also the backward, with dy)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  const float* x = f32(info, 1);
  const DropoutKey key = key_from(info, 2);
  const size_t chunk = 4096;
  for (size_t i = 0; i < o.len; i += chunk) {
    const size_t n = o.len - i < chunk ? o.len - i : chunk;
    dropout_mask(o.f() + i, i, n, key);
    mul_inplace(o.f() + i, x + i, n);
  }
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

void init_dropout(Napi::Env env, Napi::Object exports) {
  exports.Set("dropout", Napi::Function::New(env, Dropout));
  exports.Set("dropoutMask", Napi::Function::New(env, DropoutMask));
  exports.Set("philox", Napi::Function::New(env, Philox));
}

}  // namespace nl
