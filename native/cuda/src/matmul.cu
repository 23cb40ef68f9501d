// Matrix multiplication (matmul.h): cuBLASLt when it loaded, else the tiled SIMT kernel below.
//
// Row-major through column-major cuBLASLt: a row-major (R x C) matrix is a column-major (C x R) one,
// so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T in column-major terms: cuBLASLt's "A" is
// our B, its "B" is our A, its m = N, n = M, k = K, and D is N x M with ld N. A bias over our
// columns is then a bias over cuBLASLt's rows, which is what its BIAS epilogue broadcasts.
//
// Determinism: cuBLASLt gives the same bits for the same algorithm on the same GPU, so each
// problem (shape, transposes, batch strides, precision, epilogue, pointer alignment) gets its
// algorithm from the heuristic once and keeps it (Plan cache). The SIMT kernel sums k in order
// 0..K-1 with one fmaf per term in every thread, so it is deterministic by construction.
#include "matmul.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cublas_loader.h"
#include "memory.h"
#include "mma.cuh"

namespace nlc {
namespace {

// ---------------------------------------------------------------------------------------------
// SIMT kernel: a 64 x 64 tile of C per block of 256 threads, k in slices of 16 through shared
// memory. Thread (tx, ty) = (tid % 16, tid / 16) owns rows i0 + ty + 16 m and columns
// j0 + tx + 16 n (m, n < 4): strided, so shared-memory reads are broadcasts or consecutive and
// stores to C are 16 consecutive floats per row. Operands are rounded as they go to shared memory.

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;
constexpr int kRoundNone = 0, kRoundTF32 = 1, kRoundBF16 = 2;

template <int R>
__device__ __forceinline__ float round_operand(float x) {
  if constexpr (R == kRoundBF16) {
    return __bfloat162float(__float2bfloat16(x));  // round to nearest even
  } else if constexpr (R == kRoundTF32) {
    // 10-bit mantissa, round to nearest with ties away from zero (cvt.rna.tf32.f32); inf and NaN kept.
    unsigned u = __float_as_uint(x);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u = (u + 0x1000u) & 0xffffe000u;
    return __uint_as_float(u);
  } else {
    return x;
  }
}

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// In: the operands' storage, float or __nv_bfloat16 (bf16 copies, already rounded: R is then kRoundNone).
template <int R, typename In>
__global__ void __launch_bounds__(kThreads)
    sgemm_tiled(float* __restrict__ C, const In* __restrict__ A, const In* __restrict__ B,
                const float* __restrict__ bias, int relu, int64_t M, int64_t N, int64_t K, int transA, int transB,
                int64_t batch, int64_t strideA, int64_t strideB, int64_t strideC) {
  __shared__ float As[kBK][kBM + 1];  // As[k][i] = op(A)(i0 + i, k0 + k)
  __shared__ float Bs[kBK][kBN + 1];  // Bs[k][j] = op(B)(k0 + k, j0 + j)
  NL_SHARED_GARBAGE(As);
  NL_SHARED_GARBAGE(Bs);
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t tilesM = (M + kBM - 1) / kBM;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kBN;
  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const In* Ab = A + b * strideA;
    const In* Bb = B + b * strideB;
    float* Cb = C + b * strideC;
    for (int64_t tm = blockIdx.y; tm < tilesM; tm += gridDim.y) {
      const int64_t i0 = tm * kBM;
      float acc[4][4];
#pragma unroll
      for (int m = 0; m < 4; m++)
#pragma unroll
        for (int n = 0; n < 4; n++) acc[m][n] = 0.f;
      for (int64_t k0 = 0; k0 < K; k0 += kBK) {
        // Each thread loads 4 of the 64 x 16 A slice and 4 of the 16 x 64 B slice, consecutive
        // threads along the dimension that is contiguous in memory; zeros outside the matrices.
#pragma unroll
        for (int r = 0; r < 4; r++) {
          const int ii = transA ? tid % 64 : tid / 16 + 16 * r;
          const int kk = transA ? tid / 64 + 4 * r : tid % 16;
          const int64_t i = i0 + ii, k = k0 + kk;
          float v = 0.f;
          if (i < M && k < K) v = to_float(transA ? Ab[k * M + i] : Ab[i * K + k]);
          As[kk][ii] = round_operand<R>(v);
        }
#pragma unroll
        for (int r = 0; r < 4; r++) {
          const int jj = transB ? tid / 16 + 16 * r : tid % 64;
          const int kk = transB ? tid % 16 : tid / 64 + 4 * r;
          const int64_t j = j0 + jj, k = k0 + kk;
          float v = 0.f;
          if (j < N && k < K) v = to_float(transB ? Bb[j * K + k] : Bb[k * N + j]);
          Bs[kk][jj] = round_operand<R>(v);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kBK; kk++) {
          float a[4], bv[4];
#pragma unroll
          for (int m = 0; m < 4; m++) a[m] = As[kk][ty + 16 * m];
#pragma unroll
          for (int n = 0; n < 4; n++) bv[n] = Bs[kk][tx + 16 * n];
#pragma unroll
          for (int m = 0; m < 4; m++)
#pragma unroll
            for (int n = 0; n < 4; n++) acc[m][n] = fmaf(a[m], bv[n], acc[m][n]);
        }
        __syncthreads();
      }
#pragma unroll
      for (int m = 0; m < 4; m++) {
        const int64_t i = i0 + ty + 16 * m;
        if (i >= M) continue;
#pragma unroll
        for (int n = 0; n < 4; n++) {
          const int64_t j = j0 + tx + 16 * n;
          if (j >= N) continue;
          float v = acc[m][n];
          if (bias) v = v + bias[j];
          if (relu) v = v > 0.f ? v : 0.f;
          Cb[i * N + j] = v;
        }
      }
    }
  }
}

// C[b][i][j] = relu?(C[b][i][j] + bias[j]) after a cuBLASLt matmul without a fused epilogue.
__global__ void bias_relu(float* __restrict__ C, const float* __restrict__ bias, int relu, int64_t M, int64_t N,
                          int64_t batch, int64_t strideC) {
  const int64_t mn = M * N, total = mn * batch;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = idx / mn, r = idx - b * mn;
    float* c = C + b * strideC + r;
    float v = *c;
    if (bias) v = v + bias[r % N];
    if (relu) v = v > 0.f ? v : 0.f;
    *c = v;
  }
}

// In = __nv_bfloat16: the operands are bf16 copies (Bf16Gemm::Bf16Copies), multiplied as stored.
template <typename In>
void launch_simt(float* C, const In* A, const In* B, const float* bias, bool relu, int64_t M, int64_t N, int64_t K,
                 bool transA, bool transB, int64_t batch, int64_t strideA, int64_t strideB, int64_t strideC,
                 Precision p, cudaStream_t stream) {
  const int64_t tilesN = (N + kBN - 1) / kBN, tilesM = (M + kBM - 1) / kBM;
  if (tilesN > 0x7fffffff) throw std::invalid_argument("matmul: N too large for the SIMT kernel");
  const dim3 grid(static_cast<unsigned>(tilesN), static_cast<unsigned>(tilesM < 65535 ? tilesM : 65535),
                  static_cast<unsigned>(batch < 65535 ? batch : 65535));
  const int ta = transA ? 1 : 0, tb = transB ? 1 : 0, rl = relu ? 1 : 0;
  if constexpr (!std::is_same_v<In, float>) p = Precision::FP32;  // already rounded: no rounding at the load
  switch (p) {
    case Precision::FP32:
      NL_LAUNCH((sgemm_tiled<kRoundNone, In>), grid, kThreads, 0, stream, C, A, B, bias, rl, M, N, K, ta, tb, batch,
                strideA, strideB, strideC);
      break;
    case Precision::TF32:
      NL_LAUNCH((sgemm_tiled<kRoundTF32, In>), grid, kThreads, 0, stream, C, A, B, bias, rl, M, N, K, ta, tb, batch,
                strideA, strideB, strideC);
      break;
    case Precision::BF16:
      NL_LAUNCH((sgemm_tiled<kRoundBF16, In>), grid, kThreads, 0, stream, C, A, B, bias, rl, M, N, K, ta, tb, batch,
                strideA, strideB, strideC);
      break;
  }
}

// out = bf16(in), round to nearest even (n elements; out holds whole words: (n + 3) / 4 * 2 of them).
// Four elements per thread: one 16-byte load when `in` is 16-byte aligned, two words stored.
__global__ void round_to_bf16(uint32_t* __restrict__ out, const float* __restrict__ in, int64_t n, int aligned16) {
  const int64_t quads = (n + 3) / 4;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < quads;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = 4 * q;
    float v[4];
    if (aligned16 && i + 4 <= n) {
      const float4 f = *reinterpret_cast<const float4*>(in + i);
      v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
    } else {
#pragma unroll
      for (int r = 0; r < 4; r++) v[r] = i + r < n ? in[i + r] : 0.f;
    }
    out[2 * q] = pack_bf16(v[0], v[1]);
    out[2 * q + 1] = pack_bf16(v[2], v[3]);
  }
}

void launch_bias_relu(float* C, const float* bias, bool relu, int64_t M, int64_t N, int64_t batch, int64_t strideC,
                      cudaStream_t stream) {
  const int64_t total = M * N * batch;
  const int64_t blocks = (total + 255) / 256;
  NL_LAUNCH(bias_relu, static_cast<unsigned>(blocks < 65535 ? blocks : 65535), 256, 0, stream, C, bias, relu ? 1 : 0,
            M, N, batch, strideC);
}

// ---------------------------------------------------------------------------------------------
// Which implementation: NANOLAB_CUDA_GEMM=simt (read once) or set_gemm_force_simt.

std::atomic<int> g_force{-1};  // -1: not read yet; 0: cuBLASLt when it loads; 1: SIMT
std::atomic<bool> g_force_by_env{false};

bool force_simt() {
  int f = g_force.load();
  if (f < 0) {
    const char* e = std::getenv("NANOLAB_CUDA_GEMM");
    const int want = e && std::strcmp(e, "simt") == 0 ? 1 : 0;
    int expected = -1;
    if (g_force.compare_exchange_strong(expected, want) && want) g_force_by_env = true;
    f = g_force.load();
  }
  return f == 1;
}

const lt::Api* cublas_api() { return force_simt() ? nullptr : lt::load(); }

// How bf16 operands reach the GEMM: NANOLAB_CUDA_BF16_GEMM=round-in-gemm | bf16-copies (read once)
// or set_bf16_gemm.
std::atomic<int> g_bf16_gemm{-1};  // -1: not read yet, else a Bf16Gemm

Bf16Gemm bf16_gemm_mode() {
  int m = g_bf16_gemm.load();
  if (m < 0) {
    const char* e = std::getenv("NANOLAB_CUDA_BF16_GEMM");
    Bf16Gemm want = Bf16Gemm::RoundInGemm;
    if (e && *e && !bf16_gemm_from_name(e, &want)) {
      throw std::invalid_argument(std::string("NANOLAB_CUDA_BF16_GEMM=") + e + ": expected round-in-gemm or bf16-copies");
    }
    int expected = -1;
    g_bf16_gemm.compare_exchange_strong(expected, static_cast<int>(want));
    m = g_bf16_gemm.load();
  }
  return static_cast<Bf16Gemm>(m);
}

// ---------------------------------------------------------------------------------------------
// cuBLASLt plans: descriptors, layouts and the heuristic's algorithm per problem, made once.

struct PlanKey {
  int64_t M, N, K, batch, strideA, strideB, strideC;
  int32_t transA, transB, precision;
  uint32_t epilogue, alignA, alignB, alignC, alignBias;
  uint32_t operandBytes, unused;  // 4: fp32 operands; 2: bf16 copies (Bf16Gemm::Bf16Copies)
  bool operator<(const PlanKey& o) const { return std::memcmp(this, &o, sizeof(PlanKey)) < 0; }
};
static_assert(sizeof(PlanKey) == 7 * 8 + 10 * 4, "PlanKey has no padding (compared with memcmp)");

struct Plan {
  bool ok = false;
  lt::MatmulDesc desc = nullptr;
  lt::MatrixLayout a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A (our B), B (our A), C = D
  lt::MatmulAlgo algo{};
};

std::mutex g_plan_mutex;         // the cache, and each call's BIAS_POINTER + cublasLtMatmul
std::map<PlanKey, Plan> g_plans;
constexpr size_t kMaxPlans = 4096;  // beyond this, new problems get a plan per call (same algorithm)

// The largest power of two up to 16 dividing the byte address of every batch entry.
uint32_t alignment(const void* p, int64_t strideElems, int64_t batch, uint32_t elemBytes = sizeof(float)) {
  uint64_t bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
  if (batch > 1) bits |= static_cast<uint64_t>(strideElems) * elemBytes;
  uint32_t a = 16;
  while (a > elemBytes && (bits & (a - 1))) a >>= 1;
  return a;
}

void destroy_plan(const lt::Api* api, Plan& pl) {
  if (pl.a) api->matrixLayoutDestroy(pl.a);
  if (pl.b) api->matrixLayoutDestroy(pl.b);
  if (pl.c) api->matrixLayoutDestroy(pl.c);
  if (pl.desc) api->matmulDescDestroy(pl.desc);
  pl = Plan{};
}

// Builds the descriptors and asks the heuristic for its best algorithm; ok = false when cuBLASLt
// has none (the caller then falls back), throws on errors that are bugs (invalid values).
Plan make_plan(const lt::Api* api, const PlanKey& k, const float* bias) {
  Plan pl;
  auto check = [&](lt::Status s, const char* what) {
    if (s != lt::STATUS_SUCCESS) {
      destroy_plan(api, pl);
      throw CudaError(std::string("cuBLASLt: ") + what + ": " + lt::status_string(s));
    }
  };
  // bf16 copies are multiplied as stored (fp32 products of bf16 values are exact): plain COMPUTE_32F.
  const bool copies = k.operandBytes == 2;
  const int32_t compute = copies || k.precision == static_cast<int32_t>(Precision::FP32) ? lt::COMPUTE_32F
                          : k.precision == static_cast<int32_t>(Precision::TF32)         ? lt::COMPUTE_32F_FAST_TF32
                                                                                         : lt::COMPUTE_32F_FAST_16BF;
  const int32_t operandType = copies ? lt::R_16BF : lt::R_32F;
  check(api->matmulDescCreate(&pl.desc, compute, lt::R_32F), "cublasLtMatmulDescCreate");
  const int32_t opA = k.transB ? lt::OP_T : lt::OP_N, opB = k.transA ? lt::OP_T : lt::OP_N;
  check(api->matmulDescSetAttribute(pl.desc, lt::DESC_TRANSA, &opA, sizeof(opA)), "TRANSA");
  check(api->matmulDescSetAttribute(pl.desc, lt::DESC_TRANSB, &opB, sizeof(opB)), "TRANSB");
  if (k.epilogue != lt::EPILOGUE_DEFAULT) {
    check(api->matmulDescSetAttribute(pl.desc, lt::DESC_EPILOGUE, &k.epilogue, sizeof(k.epilogue)), "EPILOGUE");
    if (bias) {  // the heuristic reads its alignment from the pointer
      const void* bp = bias;
      check(api->matmulDescSetAttribute(pl.desc, lt::DESC_BIAS_POINTER, &bp, sizeof(bp)), "BIAS_POINTER");
    }
  }
  // Stored shapes in column-major terms: our B is (N x K) or, transposed, (K x N) with ld its rows.
  const uint64_t aRows = k.transB ? k.K : k.N, aCols = k.transB ? k.N : k.K;
  const uint64_t bRows = k.transA ? k.M : k.K, bCols = k.transA ? k.K : k.M;
  check(api->matrixLayoutCreate(&pl.a, operandType, aRows, aCols, static_cast<int64_t>(aRows)), "layout A");
  check(api->matrixLayoutCreate(&pl.b, operandType, bRows, bCols, static_cast<int64_t>(bRows)), "layout B");
  check(api->matrixLayoutCreate(&pl.c, lt::R_32F, k.N, k.M, k.N), "layout C");
  if (k.batch > 1) {
    const int32_t count = static_cast<int32_t>(k.batch);
    const lt::MatrixLayout layouts[3] = {pl.a, pl.b, pl.c};
    const int64_t strides[3] = {k.strideB, k.strideA, k.strideC};
    for (int i = 0; i < 3; i++) {
      check(api->matrixLayoutSetAttribute(layouts[i], lt::LAYOUT_BATCH_COUNT, &count, sizeof(count)), "BATCH_COUNT");
      check(api->matrixLayoutSetAttribute(layouts[i], lt::LAYOUT_STRIDED_BATCH_OFFSET, &strides[i], sizeof(int64_t)),
            "STRIDED_BATCH_OFFSET");
    }
  }
  lt::MatmulPreference pref = nullptr;
  check(api->matmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  const uint64_t wsBytes = api->workspace_bytes;
  // cuBLASLt's A is our B and vice versa; C and D are the same buffer.
  const uint32_t al[4] = {k.alignB, k.alignA, k.alignC, k.alignC};
  const int alAttr[4] = {lt::PREF_MIN_ALIGNMENT_A_BYTES, lt::PREF_MIN_ALIGNMENT_B_BYTES, lt::PREF_MIN_ALIGNMENT_C_BYTES,
                         lt::PREF_MIN_ALIGNMENT_D_BYTES};
  lt::Status s = api->matmulPreferenceSetAttribute(pref, lt::PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof(wsBytes));
  for (int i = 0; i < 4 && s == lt::STATUS_SUCCESS; i++) s = api->matmulPreferenceSetAttribute(pref, alAttr[i], &al[i], sizeof(uint32_t));
  lt::MatmulHeuristicResult result{};
  int found = 0;
  if (s == lt::STATUS_SUCCESS) {
    s = api->matmulAlgoGetHeuristic(api->handle, pl.desc, pl.a, pl.b, pl.c, pl.c, pref, 1, &result, &found);
    api->matmulPreferenceDestroy(pref);
  } else {
    api->matmulPreferenceDestroy(pref);
    check(s, "preference attributes");
  }
  // NOT_SUPPORTED (or no result) means no algorithm for this problem: the caller falls back.
  if (s != lt::STATUS_SUCCESS || found < 1 || result.state != lt::STATUS_SUCCESS || result.workspaceSize > wsBytes) {
    destroy_plan(api, pl);
    return pl;
  }
  pl.algo = result.algo;
  pl.ok = true;
  return pl;
}

// One cuBLASLt matmul with the given epilogue; false when cuBLASLt has no algorithm for it.
// A and B are fp32 (operandBytes 4) or bf16 copies (2).
bool run_cublaslt(const lt::Api* api, float* C, const void* A, const void* B, uint32_t operandBytes, const float* bias,
                  uint32_t epilogue, int64_t M, int64_t N, int64_t K, bool transA, bool transB, int64_t batch,
                  int64_t strideA, int64_t strideB, int64_t strideC, Precision p, float* workspace,
                  cudaStream_t stream) {
  PlanKey key;
  std::memset(&key, 0, sizeof(key));
  key.M = M; key.N = N; key.K = K; key.batch = batch;
  key.strideA = batch > 1 ? strideA : 0;
  key.strideB = batch > 1 ? strideB : 0;
  key.strideC = batch > 1 ? strideC : 0;
  key.transA = transA; key.transB = transB;
  key.precision = static_cast<int32_t>(p);
  key.epilogue = epilogue;
  key.operandBytes = operandBytes;
  key.alignA = alignment(A, strideA, batch, operandBytes);
  key.alignB = alignment(B, strideB, batch, operandBytes);
  key.alignC = alignment(C, strideC, batch);
  key.alignBias = bias ? alignment(bias, 0, 1) : 0;

  std::lock_guard<std::mutex> lock(g_plan_mutex);
  Plan local;
  Plan* pl;
  auto it = g_plans.find(key);
  if (it != g_plans.end()) {
    pl = &it->second;
  } else if (g_plans.size() < kMaxPlans) {
    pl = &g_plans.emplace(key, make_plan(api, key, bias)).first->second;
  } else {
    local = make_plan(api, key, bias);
    pl = &local;
  }
  if (!pl->ok) return false;
  lt::Status s = lt::STATUS_SUCCESS;
  if (bias) {
    const void* bp = bias;
    s = api->matmulDescSetAttribute(pl->desc, lt::DESC_BIAS_POINTER, &bp, sizeof(bp));
  }
  const float alpha = 1.f, beta = 0.f;
  if (s == lt::STATUS_SUCCESS) {
    s = api->matmul(api->handle, pl->desc, &alpha, B, pl->a, A, pl->b, &beta, C, pl->c, C, pl->c, &pl->algo,
                    workspace ? static_cast<void*>(workspace) : api->workspace, api->workspace_bytes, stream);
  }
  if (pl == &local) destroy_plan(api, local);
  if (s != lt::STATUS_SUCCESS) throw CudaError("cuBLASLt: cublasLtMatmul: " + lt::status_string(s));
  return true;
}

// cuBLASLt with the epilogue fused, else without it and then bias_relu; false when cuBLASLt has no
// algorithm either way (or the problem is outside its 32-bit sizes).
template <typename In>
bool try_cublaslt(const lt::Api* api, float* C, const In* A, const In* B, const float* bias, bool relu, int64_t M,
                  int64_t N, int64_t K, bool transA, bool transB, int64_t batch, int64_t strideA, int64_t strideB,
                  int64_t strideC, Precision p, float* workspace, cudaStream_t stream) {
  const int64_t i32 = 0x7fffffff;
  if (!api || K <= 0 || M > i32 || N > i32 || K > i32 || batch > i32 || strideA < 0 || strideB < 0) return false;
  const uint32_t bytes = sizeof(In);
  const uint32_t epi = bias ? (relu ? lt::EPILOGUE_RELU_BIAS : lt::EPILOGUE_BIAS)
                            : (relu ? lt::EPILOGUE_RELU : lt::EPILOGUE_DEFAULT);
  if (run_cublaslt(api, C, A, B, bytes, bias, epi, M, N, K, transA, transB, batch, strideA, strideB, strideC, p,
                   workspace, stream)) {
    return true;
  }
  if (epi != lt::EPILOGUE_DEFAULT && run_cublaslt(api, C, A, B, bytes, nullptr, lt::EPILOGUE_DEFAULT, M, N, K, transA,
                                                  transB, batch, strideA, strideB, strideC, p, workspace, stream)) {
    launch_bias_relu(C, bias, relu, M, N, batch, strideC, stream);
    return true;
  }
  return false;
}

// Elements from the first to the last one a batched operand addresses.
int64_t operand_span(int64_t batch, int64_t stride, int64_t one) { return batch > 1 ? (batch - 1) * stride + one : one; }

// A bf16 copy of n floats in a scratch buffer from the cache.
struct Bf16Copy {
  DeviceBuffer buf;
  Bf16Copy(const float* src, int64_t n, cudaStream_t stream) : buf(static_cast<size_t>((n + 3) / 4) * 8) {
    const int64_t quads = (n + 3) / 4;
    const int64_t blocks = std::min<int64_t>((quads + 255) / 256, 65535 * 8);
    const int aligned16 = reinterpret_cast<uintptr_t>(src) % 16 == 0 ? 1 : 0;
    NL_LAUNCH(round_to_bf16, static_cast<unsigned>(blocks), 256, 0, stream, static_cast<uint32_t*>(buf.p), src, n,
              aligned16);
  }
  const __nv_bfloat16* p() const { return static_cast<const __nv_bfloat16*>(buf.p); }
};

// Bf16Gemm::Bf16Copies: both operands rounded to bf16 copies first, then cuBLASLt on bf16 (or the
// SIMT kernel on them); the same products as RoundInGemm, so the same results up to summation order.
void run_bf16_copies(const lt::Api* api, float* C, const float* A, const float* B, const float* bias, bool relu,
                     int64_t M, int64_t N, int64_t K, bool transA, bool transB, int64_t batch, int64_t strideA,
                     int64_t strideB, int64_t strideC, float* workspace, cudaStream_t stream) {
  const Bf16Copy a(A, operand_span(batch, strideA, M * K), stream);
  const Bf16Copy b(B, operand_span(batch, strideB, K * N), stream);
  if (!try_cublaslt(api, C, a.p(), b.p(), bias, relu, M, N, K, transA, transB, batch, strideA, strideB, strideC,
                    Precision::BF16, workspace, stream)) {
    launch_simt(C, a.p(), b.p(), bias, relu, M, N, K, transA, transB, batch, strideA, strideB, strideC, Precision::BF16,
                stream);
  }
  // The copies go back to the cache as this returns. The cache hands memory out for work on
  // stream(), which runs after this work when it is queued on the same stream; any other stream
  // must finish with the copies first.
  if (stream != nlc::stream()) NL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void run(float* C, const float* A, const float* B, const float* bias, bool relu, int64_t M, int64_t N, int64_t K,
         bool transA, bool transB, int64_t batch, int64_t strideA, int64_t strideB, int64_t strideC, Precision p,
         float* workspace, cudaStream_t stream) {
  if (M < 0 || N < 0 || K < 0 || batch < 0) throw std::invalid_argument("matmul: negative size");
  if (M == 0 || N == 0 || batch == 0) return;
  if (batch > 1 && strideC < M * N) throw std::invalid_argument("matmul: batch entries of C overlap (strideC < M * N)");
  const lt::Api* api = cublas_api();
  if (p == Precision::BF16 && bf16_gemm_mode() == Bf16Gemm::Bf16Copies && K > 0 && strideA >= 0 && strideB >= 0) {
    run_bf16_copies(api, C, A, B, bias, relu, M, N, K, transA, transB, batch, strideA, strideB, strideC, workspace,
                    stream);
    return;
  }
  if (try_cublaslt(api, C, A, B, bias, relu, M, N, K, transA, transB, batch, strideA, strideB, strideC, p, workspace,
                   stream)) {
    return;
  }
  // The SIMT kernel: no cuBLASLt, K == 0 (C = the epilogue of zeros), or a problem cuBLASLt declines.
  launch_simt(C, A, B, bias, relu, M, N, K, transA, transB, batch, strideA, strideB, strideC, p, stream);
}

}  // namespace

void matmul(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
            int64_t batch, int64_t strideA, int64_t strideB, int64_t strideC, Precision p, float* workspace,
            cudaStream_t stream) {
  run(C, A, B, nullptr, false, M, N, K, transA, transB, batch, strideA, strideB, strideC, p, workspace, stream);
}

void matmul_bias(float* C, const float* A, const float* B, const float* bias, bool relu, int64_t M, int64_t N,
                 int64_t K, bool transA, bool transB, int64_t batch, int64_t strideA, int64_t strideB,
                 int64_t strideC, Precision p, float* workspace, cudaStream_t stream) {
  run(C, A, B, bias, relu, M, N, K, transA, transB, batch, strideA, strideB, strideC, p, workspace, stream);
}

size_t matmul_workspace_bytes() {
  const lt::Api* api = cublas_api();
  return api ? api->workspace_bytes : 0;
}

bool cublas_available() { return cublas_api() != nullptr; }

const char* cublas_status() {
  thread_local std::string s;
  if (force_simt()) {
    s = g_force_by_env ? "SIMT kernel forced by NANOLAB_CUDA_GEMM=simt" : "SIMT kernel forced by set_gemm_force_simt";
    s += " (cuBLASLt: ";
    s += lt::load_status();
    s += ")";
  } else {
    lt::load();
    s = lt::load_status();
  }
  return s.c_str();
}

void set_gemm_force_simt(bool force) {
  force_simt();  // read the environment first, so it does not override this later
  g_force = force ? 1 : 0;
  g_force_by_env = false;
}

const char* gemm_impl_name() { return cublas_available() ? "cublaslt" : "simt"; }

void set_bf16_gemm(Bf16Gemm mode) { g_bf16_gemm = static_cast<int>(mode); }  // the environment is then never read

Bf16Gemm bf16_gemm() { return bf16_gemm_mode(); }

const char* bf16_gemm_name() {
  return bf16_gemm_mode() == Bf16Gemm::Bf16Copies ? "bf16-copies" : "round-in-gemm";
}

bool bf16_gemm_from_name(const char* name, Bf16Gemm* mode) {
  if (std::strcmp(name, "round-in-gemm") == 0) *mode = Bf16Gemm::RoundInGemm;
  else if (std::strcmp(name, "bf16-copies") == 0) *mode = Bf16Gemm::Bf16Copies;
  else return false;
  return true;
}

}  // namespace nlc
