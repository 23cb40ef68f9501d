// The N-API module of the CUDA backend (native/cuda/binding.ts types it). Device pointers cross
// into JS as numbers (user-space addresses are below 2^48, exact in a double); every kernel is
// queued on the backend's one stream and only download() and sync() wait for it. Built twice: by
// nvcc + g++ for the GPU (build/nanolab_cuda.node) and by g++ alone with -DNL_CUDA_EMU for the
// emulator (build/nanolab_cuda_emu.node, what the tests on machines without a GPU load).
#include <napi.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/attention.h"
#include "src/block.h"
#include "src/compat.h"
#include "src/matmul.h"
#include "src/memory.h"
#include "src/rowwise.h"
#include "src/tensor_ops.h"

namespace {

using Info = Napi::CallbackInfo;

double num(const Info& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
int64_t inum(const Info& info, size_t i) { return static_cast<int64_t>(num(info, i)); }
uint32_t u32(const Info& info, size_t i) { return static_cast<uint32_t>(num(info, i)); }
bool flag(const Info& info, size_t i) { return info[i].ToBoolean().Value(); }
template <class T = float>
T* ptr(const Info& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return reinterpret_cast<T*>(static_cast<uintptr_t>(num(info, i)));
}
Napi::Value undef(const Info& info) { return info.Env().Undefined(); }

// Bytes and address of a typed array's view.
struct HostView { void* data; size_t bytes; };
HostView view(const Info& info, size_t i) {
  Napi::TypedArray t = info[i].As<Napi::TypedArray>();
  return {static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset(), t.ByteLength()};
}

nlc::Precision g_precision = nlc::Precision::FP32;

// ---- device, memory, transfers ----

Napi::Value DeviceInfo(const Info& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  o.Set("deviceCount", e == cudaSuccess ? count : 0);
  if (e != cudaSuccess) {
    o.Set("error", cudaGetErrorString(e));
    cudaGetLastError();
    return o;
  }
#ifdef NL_CUDA_EMU
  o.Set("emulated", true);
#else
  o.Set("emulated", false);
#endif
  if (count > 0) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) {
      o.Set("name", std::string(p.name));
      o.Set("computeCapability", std::to_string(p.major) + "." + std::to_string(p.minor));
      o.Set("multiprocessors", p.multiProcessorCount);
      o.Set("memoryBytes", static_cast<double>(p.totalGlobalMem));
    }
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    o.Set("driverVersion", driver);
    o.Set("runtimeVersion", runtime);
  }
  o.Set("gemm", nlc::cublas_status());
  o.Set("bf16Gemm", nlc::bf16_gemm_name());
  o.Set("cublas", nlc::cublas_available());
  return o;
}

Napi::Value Alloc(const Info& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(nlc::device_alloc(static_cast<size_t>(num(info, 0))))));
}
Napi::Value Free(const Info& info) { nlc::device_free(ptr<void>(info, 0)); return undef(info); }
Napi::Value ReleaseCache(const Info& info) { nlc::release_cache(); return undef(info); }

Napi::Value Memory(const Info& info) {
  const nlc::MemoryStats s = nlc::memory_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("inUse", static_cast<double>(s.in_use));
  o.Set("cached", static_cast<double>(s.cached));
  o.Set("peak", static_cast<double>(s.peak));
  o.Set("allocs", static_cast<double>(s.allocs));
  return o;
}

// upload(dst, typedArray): the host array is staged before this returns, so JS may reuse it.
Napi::Value Upload(const Info& info) {
  const HostView h = view(info, 1);
  if (h.bytes) NL_CUDA_CHECK(cudaMemcpyAsync(ptr<void>(info, 0), h.data, h.bytes, cudaMemcpyHostToDevice, nlc::stream()));
  return undef(info);
}

// download(src, typedArray): waits for the queued work, then copies the array's length of bytes.
Napi::Value Download(const Info& info) {
  const HostView h = view(info, 1);
  if (h.bytes) NL_CUDA_CHECK(cudaMemcpyAsync(h.data, ptr<void>(info, 0), h.bytes, cudaMemcpyDeviceToHost, nlc::stream()));
  NL_CUDA_CHECK(cudaStreamSynchronize(nlc::stream()));
  return undef(info);
}

Napi::Value CopyDevice(const Info& info) {
  const size_t bytes = static_cast<size_t>(num(info, 2));
  if (bytes) NL_CUDA_CHECK(cudaMemcpyAsync(ptr<void>(info, 0), ptr<void>(info, 1), bytes, cudaMemcpyDeviceToDevice, nlc::stream()));
  return undef(info);
}

Napi::Value Memset(const Info& info) {
  const size_t bytes = static_cast<size_t>(num(info, 2));
  if (bytes) NL_CUDA_CHECK(cudaMemsetAsync(ptr<void>(info, 0), static_cast<int>(num(info, 1)), bytes, nlc::stream()));
  return undef(info);
}

Napi::Value Sync(const Info& info) {
  NL_CUDA_CHECK(cudaStreamSynchronize(nlc::stream()));
  return undef(info);
}

// setPrecision('fp32' | 'tf32' | 'bf16'): the compute type of every matmul that follows.
Napi::Value SetPrecision(const Info& info) {
  const std::string p = info[0].As<Napi::String>().Utf8Value();
  bool ok = true;
  if (p == "fp32") g_precision = nlc::Precision::FP32;
  else if (p == "tf32") g_precision = nlc::Precision::TF32;
  else if (p == "bf16") g_precision = nlc::Precision::BF16;
  else ok = false;
  return Napi::Boolean::New(info.Env(), ok);
}

// setBf16Gemm('round-in-gemm' | 'bf16-copies'): how bf16 matmuls that follow get their operands
// (matmul.h: Bf16Gemm; NANOLAB_CUDA_BF16_GEMM sets the first value).
Napi::Value SetBf16Gemm(const Info& info) {
  nlc::Bf16Gemm mode;
  const bool ok = nlc::bf16_gemm_from_name(info[0].As<Napi::String>().Utf8Value().c_str(), &mode);
  if (ok) nlc::set_bf16_gemm(mode);
  return Napi::Boolean::New(info.Env(), ok);
}


// ---- kernels: arguments as native/cuda/binding.ts documents them ----

double* g_dims = nullptr;  // the shared dims buffer (Float64Array in JS)
constexpr size_t kDimsLen = 1024;

nlc::DType dt(const Info& info, size_t i) { return static_cast<nlc::DType>(inum(info, i)); }

nlc::Shape shape_from_dims(int rank, size_t at) {
  if (rank < 0 || rank > nlc::kMaxRank) throw std::invalid_argument("cuda: rank above 8");
  nlc::Shape s;
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.d[i] = static_cast<int64_t>(g_dims[at + i]);
  return s;
}
std::vector<int64_t> dims_i64(size_t at, size_t n) {
  std::vector<int64_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<int64_t>(g_dims[at + i]);
  return v;
}
std::vector<void*> ptr_list(const Info& info, size_t i) {
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<void*> v(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) v[k] = reinterpret_cast<void*>(static_cast<uintptr_t>(a.Get(k).As<Napi::Number>().DoubleValue()));
  return v;
}
nlc::DropoutKey key_from(const Info& info, size_t at) {  // rate, seedLo, seedHi, callLo, callHi
  return nlc::dropout_key(num(info, at), u32(info, at + 1), u32(info, at + 2), u32(info, at + 3), u32(info, at + 4));
}

Napi::Value Unary(const Info& info) {
  nlc::unary(static_cast<int>(inum(info, 0)), dt(info, 1), dt(info, 2), ptr<void>(info, 3), ptr<void>(info, 4), inum(info, 5),
             static_cast<float>(num(info, 6)), nlc::stream());
  return undef(info);
}
// binary(op, adt, bdt, odt, a, b, out, rank); dims: out shape, a strides, b strides
Napi::Value Binary(const Info& info) {
  const int rank = static_cast<int>(inum(info, 7));
  const nlc::Shape s = shape_from_dims(rank, 0);
  const std::vector<int64_t> as = dims_i64(rank, rank), bs = dims_i64(2 * rank, rank);
  nlc::binary(static_cast<int>(inum(info, 0)), dt(info, 1), dt(info, 2), dt(info, 3), ptr<void>(info, 4), ptr<void>(info, 5),
              ptr<void>(info, 6), s, as.data(), bs.data(), nlc::stream());
  return undef(info);
}
Napi::Value Cast(const Info& info) {
  nlc::cast(dt(info, 0), dt(info, 1), ptr<void>(info, 2), ptr<void>(info, 3), inum(info, 4), nlc::stream());
  return undef(info);
}
Napi::Value Select(const Info& info) {
  nlc::select(ptr<uint8_t>(info, 0), dt(info, 1), ptr<void>(info, 2), ptr<void>(info, 3), ptr<void>(info, 4), inum(info, 5), nlc::stream());
  return undef(info);
}
// dims: shape, perm
Napi::Value Transpose(const Info& info) {
  const int rank = static_cast<int>(inum(info, 3));
  const nlc::Shape s = shape_from_dims(rank, 0);
  int perm[nlc::kMaxRank];
  for (int i = 0; i < rank; i++) perm[i] = static_cast<int>(g_dims[rank + i]);
  nlc::transpose(dt(info, 0), ptr<void>(info, 1), ptr<void>(info, 2), s, perm, nlc::stream());
  return undef(info);
}
Napi::Value Tile(const Info& info) {
  const int rank = static_cast<int>(inum(info, 3));
  const std::vector<int64_t> reps = dims_i64(rank, rank);
  nlc::tile(dt(info, 0), ptr<void>(info, 1), ptr<void>(info, 2), shape_from_dims(rank, 0), reps.data(), nlc::stream());
  return undef(info);
}
Napi::Value Slice(const Info& info) {
  const int rank = static_cast<int>(inum(info, 3));
  const std::vector<int64_t> begin = dims_i64(rank, rank), size = dims_i64(2 * rank, rank);
  nlc::slice(dt(info, 0), ptr<void>(info, 1), ptr<void>(info, 2), shape_from_dims(rank, 0), begin.data(), size.data(), nlc::stream());
  return undef(info);
}
Napi::Value Pad(const Info& info) {
  const int rank = static_cast<int>(inum(info, 3));
  const std::vector<int64_t> before = dims_i64(rank, rank), after = dims_i64(2 * rank, rank);
  nlc::pad(dt(info, 0), ptr<void>(info, 1), ptr<void>(info, 2), shape_from_dims(rank, 0), before.data(), after.data(), num(info, 4),
           nlc::stream());
  return undef(info);
}
// concat(dt, xs, out, outer); dims: widths
Napi::Value Concat(const Info& info) {
  const std::vector<void*> xs = ptr_list(info, 1);
  const std::vector<int64_t> widths = dims_i64(0, xs.size());
  std::vector<const void*> cx(xs.begin(), xs.end());
  nlc::concat(dt(info, 0), cx.data(), widths.data(), static_cast<int>(xs.size()), ptr<void>(info, 2), inum(info, 3), nlc::stream());
  return undef(info);
}
Napi::Value Split(const Info& info) {
  std::vector<void*> outs = ptr_list(info, 2);
  const std::vector<int64_t> widths = dims_i64(0, outs.size());
  nlc::split(dt(info, 0), ptr<void>(info, 1), outs.data(), widths.data(), static_cast<int>(outs.size()), inum(info, 3), nlc::stream());
  return undef(info);
}
Napi::Value Gather(const Info& info) {
  nlc::gather(dt(info, 0), ptr<void>(info, 1), ptr<int32_t>(info, 2), ptr<void>(info, 3), inum(info, 4), inum(info, 5), inum(info, 6),
              inum(info, 7), inum(info, 8), nlc::stream());
  return undef(info);
}
// gatherCheck(indices, n, dim): the first index outside [0, dim) as {at, value}, or null. Waits for
// the device (GatherV2 throws on a bad index, as the CPU backend does; never on the training path).
Napi::Value GatherCheck(const Info& info) {
  const int64_t n = inum(info, 1), dim = inum(info, 2);
  if (n == 0) return info.Env().Null();
  nlc::DeviceBuffer first(sizeof(unsigned long long));
  auto* d = static_cast<unsigned long long*>(first.p);
  nlc::index_find_invalid(ptr<int32_t>(info, 0), n, dim, d, nlc::stream());
  unsigned long long at = 0;
  NL_CUDA_CHECK(cudaMemcpyAsync(&at, d, sizeof at, cudaMemcpyDeviceToHost, nlc::stream()));
  NL_CUDA_CHECK(cudaStreamSynchronize(nlc::stream()));
  if (at == ~0ull) return info.Env().Null();
  int32_t value = 0;
  NL_CUDA_CHECK(cudaMemcpy(&value, ptr<int32_t>(info, 0) + at, sizeof value, cudaMemcpyDeviceToHost));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("at", static_cast<double>(at));
  o.Set("value", value);
  return o;
}

Napi::Value OneHot(const Info& info) {
  nlc::oneHot(ptr<int32_t>(info, 0), ptr<void>(info, 1), inum(info, 2), inum(info, 3), num(info, 4), num(info, 5), dt(info, 6),
              nlc::stream());
  return undef(info);
}
Napi::Value Range(const Info& info) {
  nlc::range(ptr<void>(info, 0), inum(info, 1), num(info, 2), num(info, 3), dt(info, 4), nlc::stream());
  return undef(info);
}
Napi::Value Fill(const Info& info) {
  nlc::fill(ptr<void>(info, 0), inum(info, 1), num(info, 2), dt(info, 3), nlc::stream());
  return undef(info);
}
Napi::Value Reduce(const Info& info) {
  const int64_t outer = inum(info, 5), inner = inum(info, 6);
  nlc::DeviceBuffer ws(nlc::reduce_workspace_bytes(outer, inner));
  nlc::reduce(static_cast<int>(inum(info, 0)), dt(info, 1), dt(info, 2), ptr<void>(info, 3), ptr<void>(info, 4), ws.f(), outer, inner,
              nlc::stream());
  return undef(info);
}
Napi::Value Softmax(const Info& info) {
  nlc::softmax_rows(ptr(info, 0), ptr(info, 1), inum(info, 2), inum(info, 3), nlc::stream());
  return undef(info);
}
// matmul(out, a, b, transA, transB, M, N, K, batch, strideA, strideB, strideC)
Napi::Value Matmul(const Info& info) {
  nlc::matmul(ptr(info, 0), ptr(info, 1), ptr(info, 2), inum(info, 5), inum(info, 6), inum(info, 7), flag(info, 3), flag(info, 4),
              inum(info, 8), inum(info, 9), inum(info, 10), inum(info, 11), g_precision, nullptr, nlc::stream());
  return undef(info);
}
// matmulBias(out, a, b, bias | null, relu, transA, transB, M, N, K)
Napi::Value MatmulBias(const Info& info) {
  nlc::matmul_bias(ptr(info, 0), ptr(info, 1), ptr(info, 2), ptr(info, 3), flag(info, 4), inum(info, 7), inum(info, 8), inum(info, 9),
                   flag(info, 5), flag(info, 6), 1, 0, 0, 0, g_precision, nullptr, nlc::stream());
  return undef(info);
}

Napi::Value LayerNormForward(const Info& info) {
  nlc::layernorm_forward(ptr(info, 0), nullptr, nullptr, ptr(info, 1), ptr(info, 2), ptr(info, 3), inum(info, 4), inum(info, 5),
                         static_cast<float>(num(info, 6)), nlc::stream());
  return undef(info);
}
// layerNormBackward(dx, dgamma, dbeta, dy, x, gamma, N, C, eps)
Napi::Value LayerNormBackward(const Info& info) {
  const int64_t N = inum(info, 6), C = inum(info, 7);
  nlc::DeviceBuffer ws(nlc::layernorm_backward_workspace_bytes(N, C));
  nlc::layernorm_backward(ptr(info, 0), ptr(info, 1), ptr(info, 2), ws.f(), ptr(info, 3), ptr(info, 4), ptr(info, 5), nullptr, nullptr,
                          N, C, static_cast<float>(num(info, 8)), nlc::stream());
  return undef(info);
}

nlc::AttentionDims contiguous_attention(const Info& info, size_t at) {  // B, H, T, D, then the dropout key
  nlc::AttentionDims d;
  d.B = static_cast<int>(inum(info, at)); d.H = static_cast<int>(inum(info, at + 1));
  d.T = static_cast<int>(inum(info, at + 2)); d.D = static_cast<int>(inum(info, at + 3));
  d.scale = 1.0f / std::sqrt(static_cast<float>(d.D));
  d.key = key_from(info, at + 4);
  d.drop = num(info, at + 4) > 0;
  d.qkv = d.out = nlc::heads_contiguous(d.H, d.T, d.D);
  d.bf16 = g_precision == nlc::Precision::BF16;
  return d;
}
Napi::Value AttentionForward(const Info& info) {
  nlc::attention_forward(ptr(info, 0), nullptr, ptr(info, 1), ptr(info, 2), ptr(info, 3), contiguous_attention(info, 4), nlc::stream());
  return undef(info);
}
// attentionBackward(dq, dk, dv, dout, q, k, v, B, H, T, D, rate, seedLo, seedHi, callLo, callHi): out and lse recomputed
Napi::Value AttentionBackward(const Info& info) {
  const nlc::AttentionDims d = contiguous_attention(info, 7);
  nlc::DeviceBuffer ws(nlc::attention_backward_workspace_bytes(d));
  nlc::attention_backward(ptr(info, 0), ptr(info, 1), ptr(info, 2), ws.f(), ptr(info, 3), nullptr, nullptr, ptr(info, 4), ptr(info, 5),
                          ptr(info, 6), d, nlc::stream());
  return undef(info);
}

Napi::Value CrossEntropyForward(const Info& info) {
  const int64_t N = inum(info, 3), V = inum(info, 4);
  nlc::DeviceBuffer ws(nlc::cross_entropy_workspace_bytes(N, V));
  nlc::cross_entropy_forward(ptr(info, 0), ws.f(), ptr(info, 1), ptr<int32_t>(info, 2), N, V, nlc::stream());
  return undef(info);
}
Napi::Value CrossEntropyBackward(const Info& info) {
  nlc::cross_entropy_backward(ptr(info, 0), ptr(info, 1), ptr<int32_t>(info, 2), ptr(info, 3), inum(info, 4), inum(info, 5), nlc::stream());
  return undef(info);
}
Napi::Value EmbeddingForward(const Info& info) {
  nlc::embedding_forward(ptr(info, 0), ptr(info, 1), ptr<int32_t>(info, 2), inum(info, 3), inum(info, 4), inum(info, 5), nlc::stream());
  return undef(info);
}
// embeddingBackward(dtable, ids, dout, N, V, C)
Napi::Value EmbeddingBackward(const Info& info) {
  const int64_t N = inum(info, 3), V = inum(info, 4), C = inum(info, 5);
  nlc::DeviceBuffer ws(nlc::embedding_backward_workspace_bytes(N, V, C));
  nlc::embedding_backward(ptr(info, 0), ws.f(), ptr<int32_t>(info, 1), ptr(info, 2), N, V, C, nlc::stream());
  return undef(info);
}
Napi::Value Dropout(const Info& info) {
  nlc::dropout_forward(ptr(info, 0), ptr(info, 1), inum(info, 2), key_from(info, 3), nlc::stream());
  return undef(info);
}
Napi::Value GeluForward(const Info& info) {
  nlc::gelu_forward(ptr(info, 0), ptr(info, 1), inum(info, 2), nlc::stream());
  return undef(info);
}
Napi::Value GeluBackward(const Info& info) {
  nlc::gelu_backward(ptr(info, 0), ptr(info, 1), ptr(info, 2), inum(info, 3), nlc::stream());
  return undef(info);
}
// adamw(params, grads, m, v, sizes, decay, decayFactor, b1, 1 - b1, b2, 1 - b2, sqrt(bc2), eps, stepSize)
Napi::Value AdamW(const Info& info) {
  const std::vector<void*> p = ptr_list(info, 0), g = ptr_list(info, 1), m = ptr_list(info, 2), v = ptr_list(info, 3);
  Napi::Array sizesArr = info[4].As<Napi::Array>();
  const HostView decay = view(info, 5);
  const size_t n = p.size();
  if (g.size() != n || m.size() != n || v.size() != n || sizesArr.Length() != n || decay.bytes != n) {
    throw std::invalid_argument("adamw: one parameter, gradient, moment pair, size and decay flag per entry");
  }
  std::vector<int64_t> sizes(n);
  for (uint32_t i = 0; i < n; i++) sizes[i] = static_cast<int64_t>(sizesArr.Get(i).As<Napi::Number>().DoubleValue());
  nlc::AdamWHyper h;
  h.decay = static_cast<float>(num(info, 6));
  h.b1 = static_cast<float>(num(info, 7)); h.omb1 = static_cast<float>(num(info, 8));
  h.b2 = static_cast<float>(num(info, 9)); h.omb2 = static_cast<float>(num(info, 10));
  h.sqrt_bc2 = static_cast<float>(num(info, 11)); h.eps = static_cast<float>(num(info, 12));
  h.step_size = static_cast<float>(num(info, 13));
  nlc::DeviceBuffer ws(nlc::adamw_workspace_bytes(static_cast<int>(n)));
  nlc::adamw(reinterpret_cast<float* const*>(p.data()), reinterpret_cast<const float* const*>(g.data()),
             reinterpret_cast<float* const*>(m.data()), reinterpret_cast<float* const*>(v.data()), sizes.data(),
             static_cast<const uint8_t*>(decay.data), static_cast<int>(n), h, ws.f(), nlc::stream());
  return undef(info);
}

// dims: B, T, C, H, F, gelu, eps, seedLo, seedHi, then rate, callLo, callHi of the attention
// weights', the projection's and the feed-forward's dropout
nlc::BlockDims block_dims(const Info& info, size_t at) {
  nlc::BlockDims d;
  d.B = inum(info, at); d.T = inum(info, at + 1); d.C = inum(info, at + 2); d.H = inum(info, at + 3); d.F = inum(info, at + 4);
  d.gelu = inum(info, at + 5) != 0;
  d.eps = static_cast<float>(num(info, at + 6));
  const uint32_t seedLo = u32(info, at + 7), seedHi = u32(info, at + 8);
  nlc::DropoutKey* keys[3] = {&d.attn, &d.proj, &d.ff};
  bool* on[3] = {&d.attnDrop, &d.projDrop, &d.ffDrop};
  for (int i = 0; i < 3; i++) {
    const size_t k = at + 9 + 3 * i;
    *keys[i] = nlc::dropout_key(num(info, k), seedLo, seedHi, u32(info, k + 1), u32(info, k + 2));
    *on[i] = num(info, k) > 0;
  }
  d.precision = g_precision;
  if (d.H < 1 || d.C % d.H != 0) throw std::invalid_argument("transformerBlock: width not divisible by the heads");
  return d;
}
Napi::Value BlockForward(const Info& info) {
  float* a[18];
  for (int i = 0; i < 18; i++) a[i] = ptr(info, static_cast<size_t>(i));
  nlc::block_forward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17],
                     block_dims(info, 18), nlc::stream());
  return undef(info);
}
Napi::Value BlockBackward(const Info& info) {
  float* a[27];
  for (int i = 0; i < 27; i++) a[i] = ptr(info, static_cast<size_t>(i));
  nlc::block_backward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16],
                      a[17], a[18], a[19], a[20], a[21], a[22], a[23], a[24], a[25], a[26], block_dims(info, 27), nlc::stream());
  return undef(info);
}

void register_kernels(Napi::Env env, Napi::Object exports) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kDimsLen * sizeof(double));
  g_dims = static_cast<double*>(ab.Data());
  exports.Set("dims", Napi::Float64Array::New(env, kDimsLen, ab, 0));
  const std::pair<const char*, Napi::Value (*)(const Info&)> fns[] = {
      {"unary", Unary}, {"binary", Binary}, {"cast", Cast}, {"select", Select}, {"transpose", Transpose}, {"tile", Tile},
      {"slice", Slice}, {"pad", Pad}, {"concat", Concat}, {"split", Split}, {"gather", Gather}, {"gatherCheck", GatherCheck}, {"oneHot", OneHot},
      {"range", Range}, {"fill", Fill}, {"reduce", Reduce}, {"softmax", Softmax}, {"matmul", Matmul}, {"matmulBias", MatmulBias},
      {"layerNormForward", LayerNormForward}, {"layerNormBackward", LayerNormBackward}, {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward}, {"crossEntropyForward", CrossEntropyForward},
      {"crossEntropyBackward", CrossEntropyBackward}, {"embeddingForward", EmbeddingForward},
      {"embeddingBackward", EmbeddingBackward}, {"dropout", Dropout}, {"geluForward", GeluForward}, {"geluBackward", GeluBackward},
      {"adamw", AdamW}, {"transformerBlockForward", BlockForward}, {"transformerBlockBackward", BlockBackward},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace


static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", NANOLAB_NATIVE_VERSION);
  exports.Set("info", Napi::Function::New(env, DeviceInfo));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("releaseCache", Napi::Function::New(env, ReleaseCache));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("upload", Napi::Function::New(env, Upload));
  exports.Set("download", Napi::Function::New(env, Download));
  exports.Set("copyDevice", Napi::Function::New(env, CopyDevice));
  exports.Set("memset", Napi::Function::New(env, Memset));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("setPrecision", Napi::Function::New(env, SetPrecision));
  exports.Set("setBf16Gemm", Napi::Function::New(env, SetBf16Gemm));
  register_kernels(env, exports);
  return exports;
}

NODE_API_MODULE(nanolab_cuda, Init)
