// Fused LayerNorm over the last dim, forward and backward (llm.c style). Statistics in double;
// the normalisation in float in the composite's order ((x - mean) * rstd * gamma + beta).
// Backward recomputes mean/rstd from x (one extra pass over a row already in cache) instead of
// saving them, so the op has a single output and nothing extra to keep alive.
#include "layernorm.h"

#include "common.h"
#include "vmath.h"

namespace nl {
namespace {

inline void row_stats(const float* x, int64_t C, float eps, float* mean, float* rstd) {
  *mean = static_cast<float>(sum8(x, static_cast<size_t>(C)) / static_cast<double>(C));
  const float var = static_cast<float>(sumsqdev8(x, static_cast<size_t>(C), *mean) / static_cast<double>(C));
  *rstd = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var + eps)));
}

}  // namespace

NL_CLONES void layernorm_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                                 int64_t C, float eps) {
  for (int64_t r = 0; r < N; r++) {
    const float* x = inp + r * C;
    float* y = out + r * C;
    float mean, rstd;
    row_stats(x, C, eps, &mean, &rstd);
    for (int64_t i = 0; i < C; i++) y[i] = (x[i] - mean) * rstd * weight[i] + bias[i];
  }
}

NL_CLONES void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* weight, int64_t N, int64_t C, float eps) {
  std::vector<double> dw(static_cast<size_t>(C), 0.0), db(static_cast<size_t>(C), 0.0);
  std::vector<float> xhat(static_cast<size_t>(C)), dxhat(static_cast<size_t>(C));
  for (int64_t r = 0; r < N; r++) {
    const float* x = inp + r * C;
    const float* dy = dout + r * C;
    float* dx = dinp + r * C;
    float mean, rstd;
    row_stats(x, C, eps, &mean, &rstd);
    for (int64_t i = 0; i < C; i++) {
      xhat[i] = (x[i] - mean) * rstd;
      dxhat[i] = dy[i] * weight[i];
      db[i] += dy[i];
      dw[i] += static_cast<double>(dy[i]) * xhat[i];
    }
    const float m1 = static_cast<float>(sum8(dxhat.data(), static_cast<size_t>(C)) / static_cast<double>(C));
    const float m2 = static_cast<float>(dot8(dxhat.data(), xhat.data(), static_cast<size_t>(C)) / static_cast<double>(C));
    for (int64_t i = 0; i < C; i++) dx[i] = rstd * (dxhat[i] - m1 - xhat[i] * m2);
  }
  for (int64_t i = 0; i < C; i++) { dweight[i] = static_cast<float>(dw[i]); dbias[i] = static_cast<float>(db[i]); }
}

namespace {

// layerNormForward(out, x, gamma, beta, N, C, eps)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  layernorm_forward(f32(info, 0), f32(info, 1), f32(info, 2), f32(info, 3), inum(info, 4), inum(info, 5),
                    static_cast<float>(num(info, 6)));
  return info.Env().Undefined();
}

// layerNormBackward(dx, dgamma, dbeta, dy, x, gamma, N, C, eps)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  layernorm_backward(f32(info, 0), f32(info, 1), f32(info, 2), f32(info, 3), f32(info, 4), f32(info, 5), inum(info, 6),
                     inum(info, 7), static_cast<float>(num(info, 8)));
  return info.Env().Undefined();
}

}  // namespace

void init_layernorm(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNormForward", Napi::Function::New(env, Forward));
  exports.Set("layerNormBackward", Napi::Function::New(env, Backward));
}

}  // namespace nl
