// Entry point of the nanolab native addon: creates the shared dims buffer and registers the
// functions of every kernel file (native/kernels/*.cc). native/binding.ts types what it exports.
#include "../kernels/common.h"
#include "gemm.h"

namespace nl {

int32_t* g_dims = nullptr;

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemmKernel", nanolab::gemm_kernel_name());
  o.Set("threads", nanolab::get_num_threads());
  o.Set("bf16", nanolab::gemm_bf16_available());
  o.Set("precision", nanolab::gemm_precision());
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  o.Set("isa", __builtin_cpu_supports("avx512f") ? "avx512" : __builtin_cpu_supports("avx2") ? "avx2" : "baseline");
#else
  o.Set("isa", "portable");
#endif
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  nanolab::set_num_threads(static_cast<int>(inum(info, 0)));
  return info.Env().Undefined();
}

// setPrecision('fp32' | 'bf16'): false (nothing changed) when bf16 cannot run on this CPU
Napi::Value SetPrecision(const Napi::CallbackInfo& info) {
  const std::string p = info[0].As<Napi::String>().Utf8Value();
  return Napi::Boolean::New(info.Env(), nanolab::set_gemm_precision(p.c_str()));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Created here (not in JS) so the backing store is off-heap and never moves: C++ keeps the
  // pointer, and the exports object (cached by require) keeps the buffer alive.
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kDimsLen * sizeof(int32_t));
  g_dims = static_cast<int32_t*>(ab.Data());
  exports.Set("dims", Napi::Int32Array::New(env, kDimsLen, ab, 0));
  exports.Set("version", NANOLAB_NATIVE_VERSION);
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setPrecision", Napi::Function::New(env, SetPrecision));
  init_unary(env, exports);
  init_binary(env, exports);
  init_cast(env, exports);
  init_transpose(env, exports);
  init_tile(env, exports);
  init_concat(env, exports);
  init_slice(env, exports);
  init_gather(env, exports);
  init_reduce(env, exports);
  init_softmax(env, exports);
  init_matmul(env, exports);
  init_multinomial(env, exports);
  init_layernorm(env, exports);
  init_attention(env, exports);
  init_cross_entropy(env, exports);
  init_dropout(env, exports);
  init_gelu(env, exports);
  init_adamw(env, exports);
  init_block(env, exports);
  return exports;
}

}  // namespace nl

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return nl::Init(env, exports); }

NODE_API_MODULE(nanolab_native, InitAddon)
