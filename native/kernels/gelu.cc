// Fused exact GELU, 0.5 x (1 + erf(x / sqrt 2)) with tfjs' erf, forward and backward, in the
// float operation order of the composite in layers/feed_forward.ts (x * (erf(x * SQRT1_2) + 1)
// * 0.5, and tfjs' gradients of Mul and Erf), so both agree to float rounding.
#include "gelu.h"

#include "common.h"
#include "vmath.h"

namespace nl {
namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;       // Math.SQRT1_2 as float32
constexpr float kTwoOverSqrtPi = 1.12837916709551257f;  // 2 / sqrt(pi) as float32

}  // namespace

NL_CLONES void gelu_forward(float* out, const float* inp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float x = inp[i];
    const float t = erf_tfjs(x * kSqrtHalf) + 1.0f;
    out[i] = x * t * 0.5f;
  }
}

NL_CLONES void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float x = inp[i], g = dout[i] * 0.5f;
    const float u = x * kSqrtHalf;
    const float t = erf_tfjs(u) + 1.0f;
    const float du = g * x * (exp_f(-(u * u)) * kTwoOverSqrtPi);
    dinp[i] = g * t + du * kSqrtHalf;
  }
}

namespace {

// geluForward(out, x)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  gelu_forward(o.f(), f32(info, 1), o.len);
  return info.Env().Undefined();
}

// geluBackward(dx, dy, x)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  gelu_backward(o.f(), f32(info, 1), f32(info, 2), o.len);
  return info.Env().Undefined();
}

}  // namespace

void init_gelu(Napi::Env env, Napi::Object exports) {
  exports.Set("geluForward", Napi::Function::New(env, Forward));
  exports.Set("geluBackward", Napi::Function::New(env, Backward));
}

}  // namespace nl
