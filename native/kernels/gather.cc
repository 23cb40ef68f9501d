// GatherV2 (embedding lookup) and UnsortedSegmentSum (its gradient: scatter-add of rows).
#include "common.h"

namespace nl {
namespace {

// gather(x, indices, out, batch, outer, dimSize, sliceSize): viewing x as (batch, outer, dim,
// slice) and indices as (batch, n): out[b, o, i, :] = x[b, o, indices[b, i], :]
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Arr x = arr(info, 0), idx = arr(info, 1), o = arr(info, 2);
  const int64_t batch = inum(info, 3), outer = inum(info, 4), dim = inum(info, 5), slice = inum(info, 6);
  const int64_t n = batch > 0 ? static_cast<int64_t>(idx.len) / batch : 0;
  for (size_t i = 0; i < idx.len; i++) {
    const double v = load(idx, i);
    if (!(v <= dim - 1 && v >= 0)) {
      char msg[128];
      snprintf(msg, sizeof msg, "GatherV2: the index value %.17g is not in [0, %lld]", v, static_cast<long long>(dim - 1));
      throw Napi::Error::New(env, msg);
    }
  }
  const size_t es = elem_size(x.et);
  const char* src = static_cast<const char*>(x.data);
  char* dst = static_cast<char*>(o.data);
  const size_t row = static_cast<size_t>(slice) * es;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t q = 0; q < outer; q++) {
      const char* base = src + ((b * outer + q) * dim) * row;
      for (int64_t i = 0; i < n; i++) {
        const int64_t k = idx.et == ET::I32 ? idx.i()[b * n + i] : static_cast<int64_t>(load(idx, b * n + i));
        std::memcpy(dst, base + k * row, row);
        dst += row;
      }
    }
  }
  return env.Undefined();
}

NL_CLONES void add_row(float* o, const float* x, size_t n) {
  for (size_t i = 0; i < n; i++) o[i] += x[i];
}

// segmentSum(x, ids, out, inner, numSegments): x (n, inner), ids (n), out (numSegments, inner)
// zero-filled. Rows whose id is outside [0, numSegments) are dropped, as in tfjs.
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  const Arr x = arr(info, 0), ids = arr(info, 1), o = arr(info, 2);
  const int64_t inner = inum(info, 3), segs = inum(info, 4);
  const size_t n = ids.len;
  for (size_t r = 0; r < n; r++) {
    const double id = load(ids, r);
    if (!(id >= 0 && id < segs) || id != std::floor(id)) continue;
    const int64_t k = static_cast<int64_t>(id);
    if (x.et == ET::F32 && o.et == ET::F32) {
      add_row(o.f() + k * inner, x.f() + r * inner, static_cast<size_t>(inner));
    } else {
      for (int64_t j = 0; j < inner; j++) store(o, k * inner + j, load(o, k * inner + j) + load(x, r * inner + j));
    }
  }
  return info.Env().Undefined();
}

// oneHot(indices, out, depth, on, off)
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  const Arr idx = arr(info, 0), o = arr(info, 1);
  const int64_t depth = inum(info, 2);
  const double on = num(info, 3), off = num(info, 4);
  if (off != 0 || std::signbit(off) || off != off) for (size_t i = 0; i < o.len; i++) store(o, i, off);
  for (size_t e = 0; e < idx.len; e++) {
    const double v = load(idx, e);
    if (v >= 0 && v < depth) store(o, e * depth + static_cast<int64_t>(v), on);
  }
  return info.Env().Undefined();
}

// range(out, start, step): out[0] = start, out[i] = out[i-1] + step (read back from the array,
// so float32 accumulates the rounding exactly as tfjs' loop does)
Napi::Value Range(const Napi::CallbackInfo& info) {
  const Arr o = arr(info, 0);
  const double start = num(info, 1), step = num(info, 2);
  if (o.len == 0) return info.Env().Undefined();
  store(o, 0, start);
  for (size_t i = 1; i < o.len; i++) store(o, i, load(o, i - 1) + step);
  return info.Env().Undefined();
}

}  // namespace

void init_gather(Napi::Env env, Napi::Object exports) {
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("segmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("oneHot", Napi::Function::New(env, OneHot));
  exports.Set("range", Napi::Function::New(env, Range));
}

}  // namespace nl
