// Cast and Select. Cast converts element by element as storing a JS number into the target
// typed array does (float -> int32 truncates and wraps, anything -> bool is x !== 0, NaN -> 1).
// Select picks t or e where the condition is exactly 1, as tfjs' cpu kernel does.
#include "common.h"

namespace nl {
namespace {

NL_CLONES void f32_to_i32(int32_t* o, const float* x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    o[i] = std::fabs(v) < 2147483648.0f ? static_cast<int32_t>(v) : to_int32_js(v);
  }
}

// cast(x, out)
Napi::Value Cast(const Napi::CallbackInfo& info) {
  const Arr x = arr(info, 0), o = arr(info, 1);
  const size_t n = o.len;
  if (o.et == ET::U8) {
    for (size_t i = 0; i < n; i++) { const double v = load(x, i); o.u()[i] = v != 0 ? 1 : 0; }
  } else if (o.et == ET::I32 && x.et == ET::F32) {
    f32_to_i32(o.i(), x.f(), n);
  } else if (o.et == ET::F32 && x.et == ET::I32) {
    for (size_t i = 0; i < n; i++) o.f()[i] = static_cast<float>(x.i()[i]);
  } else if (o.et == ET::F32 && x.et == ET::U8) {
    for (size_t i = 0; i < n; i++) o.f()[i] = x.u()[i];
  } else if (o.et == x.et) {
    std::memcpy(o.data, x.data, n * elem_size(o.et));
  } else {
    for (size_t i = 0; i < n; i++) store(o, i, load(x, i));
  }
  return info.Env().Undefined();
}

NL_CLONES void select_f32(float* o, const uint8_t* c, const float* t, const float* e, size_t n) {
  for (size_t i = 0; i < n; i++) o[i] = c[i] == 1 ? t[i] : e[i];
}

// select(cond, t, e, out): all the same size (the tfjs op broadcasts before the kernel)
Napi::Value Select(const Napi::CallbackInfo& info) {
  const Arr c = arr(info, 0), t = arr(info, 1), e = arr(info, 2), o = arr(info, 3);
  const size_t n = o.len;
  if (c.et == ET::U8 && t.et == ET::F32 && e.et == ET::F32 && o.et == ET::F32) {
    select_f32(o.f(), c.u(), t.f(), e.f(), n);
  } else {
    for (size_t i = 0; i < n; i++) store(o, i, load(c, i) == 1 ? load(t, i) : load(e, i));
  }
  return info.Env().Undefined();
}

}  // namespace

void init_cast(Napi::Env env, Napi::Object exports) {
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("select", Napi::Function::New(env, Select));
}

}  // namespace nl
