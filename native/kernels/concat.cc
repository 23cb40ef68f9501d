// Concat / Pack and their inverses SplitV / Unpack, all as 2-d copies: every tensor is viewed as
// (outer, width) where outer is the product of the dims before the axis, and the output row is
// the inputs' rows side by side.
#include "common.h"

namespace nl {
namespace {

// concat(inputs[], out, outer); dims: width of each input (elements per outer row)
Napi::Value Concat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Array list = info[0].As<Napi::Array>();
  const Arr o = arr(info, 1);
  const int64_t outer = inum(info, 2);
  const uint32_t k = list.Length();
  const size_t es = elem_size(o.et);
  std::vector<Arr> ins(k);
  int64_t total = 0;
  for (uint32_t i = 0; i < k; i++) { ins[i] = arr(env, list.Get(i)); total += g_dims[i]; }
  char* dst = static_cast<char*>(o.data);
  for (int64_t r = 0; r < outer; r++) {
    for (uint32_t i = 0; i < k; i++) {
      const size_t w = static_cast<size_t>(g_dims[i]) * es;
      std::memcpy(dst, static_cast<const char*>(ins[i].data) + r * w, w);
      dst += w;
    }
  }
  (void)total;
  return env.Undefined();
}

// split(x, outs[], outer); dims: width of each output
Napi::Value Split(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Arr x = arr(info, 0);
  const Napi::Array list = info[1].As<Napi::Array>();
  const int64_t outer = inum(info, 2);
  const uint32_t k = list.Length();
  const size_t es = elem_size(x.et);
  std::vector<Arr> outs(k);
  for (uint32_t i = 0; i < k; i++) outs[i] = arr(env, list.Get(i));
  const char* src = static_cast<const char*>(x.data);
  for (int64_t r = 0; r < outer; r++) {
    for (uint32_t i = 0; i < k; i++) {
      const size_t w = static_cast<size_t>(g_dims[i]) * es;
      std::memcpy(static_cast<char*>(outs[i].data) + r * w, src, w);
      src += w;
    }
  }
  return env.Undefined();
}

}  // namespace

void init_concat(Napi::Env env, Napi::Object exports) {
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("split", Napi::Function::New(env, Split));
}

}  // namespace nl
