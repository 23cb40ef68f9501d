// AdamW over every parameter in one call, in place on the variables' Float32Arrays. The float
// operations and their order are those of the composite in core/ops/fused.ts (each tfjs op
// rounds to float32, and FMA contraction is off), so both give the same bits.
#include "common.h"

namespace nl {
namespace {

struct Hyper { float decay, b1, omb1, b2, omb2, sqrt_bc2, eps, step_size; };

NL_CLONES void adamw_update(float* p, float* m, float* v, const float* g, size_t n, bool decay, Hyper h) {
  for (size_t j = 0; j < n; j++) {
    const float pj = decay ? p[j] * h.decay : p[j];
    const float gj = g[j];
    const float mn = m[j] * h.b1 + gj * h.omb1;
    const float vn = v[j] * h.b2 + (gj * gj) * h.omb2;
    const float denom = std::sqrt(vn) / h.sqrt_bc2 + h.eps;
    m[j] = mn;
    v[j] = vn;
    p[j] = pj - (mn / denom) * h.step_size;
  }
}

// adamw(params[], grads[], m[], v[], decay Uint8Array, 1 - lr wd, b1, 1 - b1, b2, 1 - b2,
//       sqrt(1 - b2^t), eps, lr / (1 - b1^t))
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Array ps = info[0].As<Napi::Array>(), gs = info[1].As<Napi::Array>();
  const Napi::Array ms = info[2].As<Napi::Array>(), vs = info[3].As<Napi::Array>();
  const Arr decay = arr(info, 4);
  Hyper h;
  h.decay = static_cast<float>(num(info, 5));
  h.b1 = static_cast<float>(num(info, 6)); h.omb1 = static_cast<float>(num(info, 7));
  h.b2 = static_cast<float>(num(info, 8)); h.omb2 = static_cast<float>(num(info, 9));
  h.sqrt_bc2 = static_cast<float>(num(info, 10)); h.eps = static_cast<float>(num(info, 11));
  h.step_size = static_cast<float>(num(info, 12));
  const uint32_t n = ps.Length();
  for (uint32_t i = 0; i < n; i++) {
    const Arr p = arr(env, ps.Get(i)), g = arr(env, gs.Get(i)), m = arr(env, ms.Get(i)), v = arr(env, vs.Get(i));
    if (p.et != ET::F32 || g.et != ET::F32 || m.et != ET::F32 || v.et != ET::F32 || g.len != p.len || m.len != p.len ||
        v.len != p.len) {
      throw Napi::TypeError::New(env, "adamw: parameter, gradient and moments must be Float32Arrays of one size");
    }
    adamw_update(p.f(), m.f(), v.f(), g.f(), p.len, decay.u()[i] != 0, h);
  }
  return env.Undefined();
}

}  // namespace

void init_adamw(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, AdamW));
}

}  // namespace nl
