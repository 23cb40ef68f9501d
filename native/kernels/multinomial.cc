// Multinomial exactly as tfjs' cpu kernel: softmax (unless normalized), a float32 running cdf,
// and for every batch row a fresh Alea generator (seedrandom's alea, reimplemented here in the
// same double arithmetic) seeded with String(seed).
#include <string>

#include "softmax.h"

namespace nl {
namespace {

class Alea {
 public:
  explicit Alea(const std::u16string& seed) {
    s0_ = mash(u" "); s1_ = mash(u" "); s2_ = mash(u" ");
    s0_ -= mash(seed); if (s0_ < 0) s0_ += 1;
    s1_ -= mash(seed); if (s1_ < 0) s1_ += 1;
    s2_ -= mash(seed); if (s2_ < 0) s2_ += 1;
  }
  double next() {
    const double t = 2091639 * s0_ + c_ * 2.3283064365386963e-10;
    s0_ = s1_; s1_ = s2_;
    c_ = to_int32_js(t);
    return s2_ = t - c_;
  }

 private:
  double mash(const std::u16string& data) {
    for (char16_t ch : data) {
      n_ += ch;
      double h = 0.02519603282416938 * n_;
      n_ = to_uint32_js(h);
      h -= n_;
      h *= n_;
      n_ = to_uint32_js(h);
      h -= n_;
      n_ += h * 4294967296.0;
    }
    return to_uint32_js(n_) * 2.3283064365386963e-10;
  }
  double n_ = 0xefc8249d;
  double c_ = 1, s0_ = 0, s1_ = 0, s2_ = 0;
};

// multinomial(x, out, batch, events, numSamples, seedString, normalized)
Napi::Value Multinomial(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  int32_t* out = arr(info, 1).i();
  const int64_t batch = inum(info, 2), events = inum(info, 3), ns = inum(info, 4);
  const std::u16string seed = info[5].As<Napi::String>().Utf16Value();
  const bool normalized = info[6].ToBoolean();
  std::vector<float> probs;
  const float* p = x;
  if (!normalized) {
    probs.resize(static_cast<size_t>(batch * events));
    if (batch > 0 && events > 0) softmax_rows(probs.data(), x, batch, events);
    p = probs.data();
  }
  std::vector<float> cdf(events > 1 ? static_cast<size_t>(events - 1) : 0);
  for (int64_t b = 0; b < batch; b++) {
    const float* pr = p + b * events;
    if (!cdf.empty()) {
      cdf[0] = pr[0];
      for (size_t e = 1; e < cdf.size(); e++) cdf[e] = cdf[e - 1] + pr[e];
    }
    Alea rng(seed);
    for (int64_t s = 0; s < ns; s++) {
      const double r = rng.next();
      int32_t pick = static_cast<int32_t>(cdf.size());
      for (size_t e = 0; e < cdf.size(); e++) if (r < cdf[e]) { pick = static_cast<int32_t>(e); break; }
      out[b * ns + s] = pick;
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void init_multinomial(Napi::Env env, Napi::Object exports) {
  exports.Set("multinomial", Napi::Function::New(env, Multinomial));
}

}  // namespace nl
