// Shared helpers for the kernels of the native backend: typed-array access, the shared dims
// buffer, run-time ISA clones and JS number semantics. Every kernel file includes this.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../src/clones.h"

namespace nl {


// Element type of a typed array (what the bytes are, which is not always the tensor's dtype:
// tfjs' cpu Cast int32 -> float32 keeps the Int32Array).
enum class ET : int { F32, I32, U8, Other };

struct Arr {
  void* data = nullptr;
  size_t len = 0;  // elements
  ET et = ET::Other;
  float* f() const { return static_cast<float*>(data); }
  int32_t* i() const { return static_cast<int32_t*>(data); }
  uint8_t* u() const { return static_cast<uint8_t*>(data); }
};

// Raw N-API: the hot path of every kernel call, so no wrapper objects.
inline Arr arr(napi_env env, napi_value v) {
  Arr a;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &a.len, &a.data, &ab, &off) != napi_ok) {
    throw Napi::TypeError::New(env, "nanolab native: expected a typed array");
  }
  switch (t) {
    case napi_float32_array: a.et = ET::F32; break;
    case napi_int32_array: a.et = ET::I32; break;
    case napi_uint8_array: a.et = ET::U8; break;
    default: a.et = ET::Other;
  }
  return a;
}
inline Arr arr(const Napi::CallbackInfo& info, size_t i) { return arr(info.Env(), info[i]); }

inline float* f32(const Napi::CallbackInfo& info, size_t i) {
  Arr a = arr(info, i);
  if (a.et != ET::F32) throw Napi::TypeError::New(info.Env(), "nanolab native: expected a Float32Array");
  return a.f();
}
inline double num(const Napi::CallbackInfo& info, size_t i) {
  double d;
  napi_get_value_double(info.Env(), info[i], &d);
  return d;
}
inline int64_t inum(const Napi::CallbackInfo& info, size_t i) { return static_cast<int64_t>(num(info, i)); }
inline uint32_t u32(const Napi::CallbackInfo& info, size_t i) { return static_cast<uint32_t>(inum(info, i)); }

// Shapes, strides and permutations travel in one Int32Array shared with JS (created in addon.cc):
// the TS side writes them right before the call, which saves building arrays per call.
extern int32_t* g_dims;
constexpr int kDimsLen = 1024;

// Read element i of any typed array as a JS number would see it.
inline double load(const Arr& a, size_t i) {
  switch (a.et) {
    case ET::F32: return a.f()[i];
    case ET::I32: return a.i()[i];
    case ET::U8: return a.u()[i];
    default: return 0;
  }
}

// ECMAScript ToInt32 / ToUint8: what storing a JS number into an Int32Array / Uint8Array does.
inline uint32_t to_uint32_js(double d) {
  if (!std::isfinite(d)) return 0;
  double t = std::trunc(d);
  double m = std::fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<uint32_t>(m);
}
inline int32_t to_int32_js(double d) { return static_cast<int32_t>(to_uint32_js(d)); }

// Store a JS number into element i, with the conversion the typed array would apply.
inline void store(const Arr& a, size_t i, double d) {
  switch (a.et) {
    case ET::F32: a.f()[i] = static_cast<float>(d); break;
    case ET::I32: a.i()[i] = to_int32_js(d); break;
    case ET::U8: a.u()[i] = static_cast<uint8_t>(to_uint32_js(d)); break;
    default: break;
  }
}

inline size_t elem_size(ET et) { return et == ET::U8 ? 1 : 4; }

// Odometer over an n-d index space (outer dims of a strided loop), innermost dim last.
struct Odometer {
  int rank;
  const int64_t* shape;
  int64_t idx[16] = {0};
  explicit Odometer(int r, const int64_t* s) : rank(r), shape(s) {}
  // Advances; returns the dimension that was incremented (-1 when done).
  int next() {
    for (int d = rank - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) return d;
      idx[d] = 0;
    }
    return -1;
  }
};

void init_unary(Napi::Env env, Napi::Object exports);
void init_binary(Napi::Env env, Napi::Object exports);
void init_cast(Napi::Env env, Napi::Object exports);
void init_transpose(Napi::Env env, Napi::Object exports);
void init_tile(Napi::Env env, Napi::Object exports);
void init_concat(Napi::Env env, Napi::Object exports);
void init_slice(Napi::Env env, Napi::Object exports);
void init_gather(Napi::Env env, Napi::Object exports);
void init_reduce(Napi::Env env, Napi::Object exports);
void init_softmax(Napi::Env env, Napi::Object exports);
void init_matmul(Napi::Env env, Napi::Object exports);
void init_multinomial(Napi::Env env, Napi::Object exports);
void init_layernorm(Napi::Env env, Napi::Object exports);
void init_attention(Napi::Env env, Napi::Object exports);
void init_cross_entropy(Napi::Env env, Napi::Object exports);
void init_dropout(Napi::Env env, Napi::Object exports);
void init_gelu(Napi::Env env, Napi::Object exports);
void init_adamw(Napi::Env env, Napi::Object exports);
void init_block(Napi::Env env, Napi::Object exports);

}  // namespace nl
