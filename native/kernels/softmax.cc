// Softmax over the last dim, one pass per row over data that stays in cache: max, exp(x - max)
// (stored), sum in double (as tfjs' Sum), then one division per element (as tfjs' RealDiv).
#include "softmax.h"

namespace nl {

NL_CLONES void softmax_rows(float* out, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* orow = out + r * cols;
    const float mx = max16(xr, static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; j++) orow[j] = exp_f(xr[j] - mx);
    const float s = static_cast<float>(sum8(orow, static_cast<size_t>(cols)));
    for (int64_t j = 0; j < cols; j++) orow[j] = orow[j] / s;
  }
}

namespace {

// softmax(x, out, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  float* o = f32(info, 1);
  const int64_t rows = inum(info, 2), cols = inum(info, 3);
  if (rows > 0 && cols > 0) softmax_rows(o, x, rows, cols);
  return info.Env().Undefined();
}

}  // namespace

void init_softmax(Napi::Env env, Napi::Object exports) {
  exports.Set("softmax", Napi::Function::New(env, Softmax));
}

}  // namespace nl
