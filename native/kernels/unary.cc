// Element-wise unary kernels (Neg, Exp, Log, Sqrt, Rsqrt, Square, Relu, Step, Tanh, Erf, Floor,
// LogicalNot, Abs, Sigmoid, Reciprocal, Ceil). Float32 in and out: vectorised loops. Any other
// typed arrays: element by element in double, as tfjs' Math.* does, stored as the output array
// converts it. Op codes: native/binding.ts UnaryOp.
#include "common.h"
#include "vmath.h"

namespace nl {
namespace {

enum UnaryOp { NEG, EXP, LOG, SQRT, RSQRT, SQUARE, RELU, STEP, TANH, ERF, FLOOR, LOGICAL_NOT, ABS, SIGMOID,
               RECIPROCAL, CEIL };

NL_CLONES void unary_f32(int op, float* o, const float* x, size_t n, float alpha) {
  switch (op) {
    case NEG: for (size_t i = 0; i < n; i++) o[i] = -x[i]; break;
    case EXP: for (size_t i = 0; i < n; i++) o[i] = exp_f(x[i]); break;
    case LOG: for (size_t i = 0; i < n; i++) o[i] = log_f(x[i]); break;
    case SQRT: for (size_t i = 0; i < n; i++) o[i] = std::sqrt(x[i]); break;
    case RSQRT: for (size_t i = 0; i < n; i++) o[i] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(x[i]))); break;
    case SQUARE: for (size_t i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
    case RELU:  // Math.max(0, x): NaN stays NaN, -0 becomes 0
      for (size_t i = 0; i < n; i++) { const float v = x[i]; o[i] = v > 0.0f ? v : (v != v ? v : 0.0f); }
      break;
    case STEP:
      for (size_t i = 0; i < n; i++) { const float v = x[i]; o[i] = v != v ? v : (v > 0.0f ? 1.0f : alpha); }
      break;
    case TANH: for (size_t i = 0; i < n; i++) o[i] = tanh_f(x[i]); break;
    case ERF: for (size_t i = 0; i < n; i++) o[i] = erf_tfjs(x[i]); break;
    case FLOOR: for (size_t i = 0; i < n; i++) o[i] = std::floor(x[i]); break;
    case ABS: for (size_t i = 0; i < n; i++) o[i] = std::fabs(x[i]); break;
    case SIGMOID: for (size_t i = 0; i < n; i++) o[i] = sigmoid_f(x[i]); break;
    case RECIPROCAL: for (size_t i = 0; i < n; i++) o[i] = 1.0f / x[i]; break;
    case CEIL: for (size_t i = 0; i < n; i++) o[i] = std::ceil(x[i]); break;
    default: break;
  }
}

// The JS definition of each op, for the generic path.
double unary_js(int op, double v, double alpha) {
  switch (op) {
    case NEG: return -v;
    case EXP: return std::exp(v);
    case LOG: return std::log(v);
    case SQRT: return std::sqrt(v);
    case RSQRT: return 1.0 / std::sqrt(v);
    case SQUARE: return v * v;
    case RELU: return v > 0 ? v : (v != v ? v : 0.0);
    case STEP: return v != v ? v : (v > 0 ? 1.0 : alpha);
    case TANH: return std::tanh(v);
    case ERF: return erf_tfjs(static_cast<float>(v));
    case FLOOR: return std::floor(v);
    case LOGICAL_NOT: return (v == 0 || v != v) ? 1.0 : 0.0;
    case ABS: return std::fabs(v);
    case SIGMOID: return 1.0 / (1.0 + std::exp(-v));
    case RECIPROCAL: return 1.0 / v;
    case CEIL: return std::ceil(v);
    default: return 0;
  }
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(inum(info, 0));
  const Arr x = arr(info, 1), o = arr(info, 2);
  const double alpha = num(info, 3);
  const size_t n = o.len < x.len ? o.len : x.len;
  if (x.et == ET::F32 && o.et == ET::F32 && op != LOGICAL_NOT) {
    unary_f32(op, o.f(), x.f(), n, static_cast<float>(alpha));
  } else if (op == LOGICAL_NOT && x.et == ET::U8 && o.et == ET::U8) {
    for (size_t i = 0; i < n; i++) o.u()[i] = x.u()[i] ? 0 : 1;
  } else {
    for (size_t i = 0; i < n; i++) store(o, i, unary_js(op, load(x, i), alpha));
  }
  return info.Env().Undefined();
}

}  // namespace

void init_unary(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, Unary));
}

}  // namespace nl
