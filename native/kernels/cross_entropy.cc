// Fused softmax cross-entropy from logits (N, V) and int32 targets (N): the mean over rows of
// logsumexp(row) - row[target]; backward dlogits = (softmax - onehot) * dloss / N. Rows whose
// target is outside [0, V) count 0 and get a zero gradient, as in the one-hot composite.
#include "common.h"
#include "vmath.h"

namespace nl {
namespace {

NL_CLONES float row_max(const float* x, int64_t n) { return max16(x, static_cast<size_t>(n)); }
NL_CLONES void exp_shift(float* e, const float* x, int64_t n, float mx) {
  for (int64_t j = 0; j < n; j++) e[j] = exp_f(x[j] - mx);
}
NL_CLONES void grad_row(float* dl, const float* e, int64_t n, float scale) {
  for (int64_t j = 0; j < n; j++) dl[j] = e[j] * scale;
}

inline int64_t target(const Arr& t, int64_t r) {
  const double v = t.et == ET::I32 ? t.i()[r] : load(t, r);
  return v == std::floor(v) ? static_cast<int64_t>(v) : -1;
}

// crossEntropyForward(logits, targets, N, V) -> mean loss
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  const Arr t = arr(info, 1);
  const int64_t N = inum(info, 2), V = inum(info, 3);
  std::vector<float> e(static_cast<size_t>(V));
  double total = 0;
  for (int64_t r = 0; r < N; r++) {
    const int64_t tr = target(t, r);
    if (tr < 0 || tr >= V) continue;
    const float* row = x + r * V;
    const float mx = row_max(row, V);
    exp_shift(e.data(), row, V, mx);
    const double lse = static_cast<double>(mx) + std::log(sum8(e.data(), static_cast<size_t>(V)));
    total += lse - row[tr];
  }
  return Napi::Number::New(info.Env(), N > 0 ? total / static_cast<double>(N) : NAN);
}

// crossEntropyBackward(dlogits, logits, targets, N, V, dloss)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  float* dl = f32(info, 0);
  const float* x = f32(info, 1);
  const Arr t = arr(info, 2);
  const int64_t N = inum(info, 3), V = inum(info, 4);
  const double g = num(info, 5) / static_cast<double>(N);
  for (int64_t r = 0; r < N; r++) {
    const int64_t tr = target(t, r);
    float* d = dl + r * V;
    if (tr < 0 || tr >= V) { std::memset(d, 0, sizeof(float) * V); continue; }
    const float* row = x + r * V;
    const float mx = row_max(row, V);
    exp_shift(d, row, V, mx);
    const double sum = sum8(d, static_cast<size_t>(V));
    grad_row(d, d, V, static_cast<float>(g / sum));
    d[tr] -= static_cast<float>(g);
  }
  return info.Env().Undefined();
}

}  // namespace

void init_cross_entropy(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropyForward", Napi::Function::New(env, Forward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, Backward));
}

}  // namespace nl
