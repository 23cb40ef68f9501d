// AdamW over every parameter in one call, in place on the variables' Float32Arrays. The float
// operations and their order are those of the composite in core/ops/fused.ts (each tfjs op
// rounds to float32, and FMA contraction is off), so both give the same bits.
#include <algorithm>
#include <vector>

#include "../src/gemm.h"
#include "common.h"

namespace nl {
namespace {

constexpr size_t kSlice = 1 << 15;  // parameters per pool task: 4 x 128 KB of floats

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
  // Element-wise, so the pool can take fixed slices of the parameters in any order: same bits
  // for any thread count. The arrays are read on this thread (N-API is not thread-safe).
  struct Slice { float *p, *m, *v; const float* g; size_t n; bool decay; };
  std::vector<Slice> slices;
  const uint32_t n = ps.Length();
  for (uint32_t i = 0; i < n; i++) {
    const Arr p = arr(env, ps.Get(i)), g = arr(env, gs.Get(i)), m = arr(env, ms.Get(i)), v = arr(env, vs.Get(i));
    if (p.et != ET::F32 || g.et != ET::F32 || m.et != ET::F32 || v.et != ET::F32 || g.len != p.len || m.len != p.len ||
        v.len != p.len) {
      throw Napi::TypeError::New(env, "adamw: parameter, gradient and moments must be Float32Arrays of one size");
    }
    for (size_t j = 0; j < p.len; j += kSlice)
      slices.push_back({p.f() + j, m.f() + j, v.f() + j, g.f() + j, std::min(kSlice, p.len - j), decay.u()[i] != 0});
  }
  struct Ctx { const std::vector<Slice>* s; Hyper h; } ctx{&slices, h};
  nanolab::parallel_tasks(static_cast<int>(slices.size()), [](void* c, int t) {
    const Ctx& x = *static_cast<const Ctx*>(c);
    const Slice& s = (*x.s)[static_cast<size_t>(t)];
    adamw_update(s.p, s.m, s.v, s.g, s.n, s.decay, x.h);
  }, &ctx);
  return env.Undefined();
}

}  // namespace

void init_adamw(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, AdamW));
}

}  // namespace nl
