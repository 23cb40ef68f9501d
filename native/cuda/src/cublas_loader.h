// cuBLASLt loaded at run time: dlopen by soname (libcublasLt.so.13, then .12), dlsym of only the
// functions matmul.cu calls, so building needs neither cuBLAS headers nor cuBLAS libraries, and a
// machine without cuBLAS still runs (matmul.cu then uses its SIMT kernel). The few types, enum
// values and signatures used are declared here; the values are cuBLAS's public ABI (cublasLt.h,
// cublas_api.h, library_types.h), see the comments.
//
// Built with -DNL_CUDA_EMU (the CPU emulator) this is a stub: nothing is loaded and the status says
// "emulator: cuBLAS not used".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "compat.h"

namespace nlc {
namespace lt {

// cublasStatus_t (cublas_api.h): 0 is CUBLAS_STATUS_SUCCESS.
using Status = int;
constexpr Status STATUS_SUCCESS = 0;

// Opaque handles: only ever used through pointers.
struct HandleOpaque;
struct MatmulDescOpaque;
struct MatrixLayoutOpaque;
struct MatmulPreferenceOpaque;
using Handle = HandleOpaque*;                      // cublasLtHandle_t
using MatmulDesc = MatmulDescOpaque*;              // cublasLtMatmulDesc_t
using MatrixLayout = MatrixLayoutOpaque*;          // cublasLtMatrixLayout_t
using MatmulPreference = MatmulPreferenceOpaque*;  // cublasLtMatmulPreference_t

// cublasLtMatmulAlgo_t and cublasLtMatmulHeuristicResult_t are passed by value / as arrays, so their
// layout matters: { uint64_t data[8]; } and { algo; size_t workspaceSize; cublasStatus_t state;
// float wavesCount; int reserved[4]; } (cublasLt.h, unchanged since CUDA 11).
struct MatmulAlgo {
  uint64_t data[8];
};
struct MatmulHeuristicResult {
  MatmulAlgo algo;
  size_t workspaceSize;
  Status state;
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(MatmulAlgo) == 64, "cublasLtMatmulAlgo_t is 64 bytes");
static_assert(sizeof(MatmulHeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

// cudaDataType_t (library_types.h).
constexpr int32_t R_32F = 0;    // CUDA_R_32F
constexpr int32_t R_16BF = 14;  // CUDA_R_16BF
// cublasComputeType_t (cublas_api.h).
constexpr int32_t COMPUTE_32F = 68;            // CUBLAS_COMPUTE_32F: fp32 products, no TF32
constexpr int32_t COMPUTE_32F_FAST_16BF = 75;  // CUBLAS_COMPUTE_32F_FAST_16BF
constexpr int32_t COMPUTE_32F_FAST_TF32 = 77;  // CUBLAS_COMPUTE_32F_FAST_TF32
// cublasOperation_t (cublas_api.h).
constexpr int32_t OP_N = 0;  // CUBLAS_OP_N
constexpr int32_t OP_T = 1;  // CUBLAS_OP_T
// cublasLtMatmulDescAttributes_t (cublasLt.h), with the attribute's C type.
constexpr int DESC_TRANSA = 3;        // int32_t
constexpr int DESC_TRANSB = 4;        // int32_t
constexpr int DESC_EPILOGUE = 7;      // uint32_t
constexpr int DESC_BIAS_POINTER = 8;  // const void*
// cublasLtEpilogue_t (cublasLt.h).
constexpr uint32_t EPILOGUE_DEFAULT = 1;
constexpr uint32_t EPILOGUE_RELU = 2;
constexpr uint32_t EPILOGUE_BIAS = 4;
constexpr uint32_t EPILOGUE_RELU_BIAS = 6;
// cublasLtMatrixLayoutAttribute_t (cublasLt.h).
constexpr int LAYOUT_BATCH_COUNT = 5;           // int32_t
constexpr int LAYOUT_STRIDED_BATCH_OFFSET = 6;  // int64_t, elements
// cublasLtMatmulPreferenceAttributes_t (cublasLt.h).
constexpr int PREF_MAX_WORKSPACE_BYTES = 1;    // uint64_t
constexpr int PREF_MIN_ALIGNMENT_A_BYTES = 5;  // uint32_t
constexpr int PREF_MIN_ALIGNMENT_B_BYTES = 6;
constexpr int PREF_MIN_ALIGNMENT_C_BYTES = 7;
constexpr int PREF_MIN_ALIGNMENT_D_BYTES = 8;

// The functions, as in cublasLt.h (enums are passed as int).
using GetVersionFn = size_t (*)();
using CreateFn = Status (*)(Handle*);
using MatmulDescCreateFn = Status (*)(MatmulDesc*, int32_t computeType, int32_t scaleType);
using MatmulDescDestroyFn = Status (*)(MatmulDesc);
using MatmulDescSetAttributeFn = Status (*)(MatmulDesc, int attr, const void* buf, size_t bytes);
using MatrixLayoutCreateFn = Status (*)(MatrixLayout*, int32_t type, uint64_t rows, uint64_t cols, int64_t ld);
using MatrixLayoutDestroyFn = Status (*)(MatrixLayout);
using MatrixLayoutSetAttributeFn = Status (*)(MatrixLayout, int attr, const void* buf, size_t bytes);
using MatmulPreferenceCreateFn = Status (*)(MatmulPreference*);
using MatmulPreferenceDestroyFn = Status (*)(MatmulPreference);
using MatmulPreferenceSetAttributeFn = Status (*)(MatmulPreference, int attr, const void* buf, size_t bytes);
using MatmulAlgoGetHeuristicFn = Status (*)(Handle, MatmulDesc, MatrixLayout Adesc, MatrixLayout Bdesc,
                                            MatrixLayout Cdesc, MatrixLayout Ddesc, MatmulPreference,
                                            int requestedAlgoCount, MatmulHeuristicResult* results,
                                            int* returnAlgoCount);
using MatmulFn = Status (*)(Handle, MatmulDesc, const void* alpha, const void* A, MatrixLayout Adesc,
                            const void* B, MatrixLayout Bdesc, const void* beta, const void* C,
                            MatrixLayout Cdesc, void* D, MatrixLayout Ddesc, const MatmulAlgo* algo,
                            void* workspace, size_t workspaceBytes, cudaStream_t stream);

// The loaded library: one per process, created on first use, never unloaded (the handle and the
// workspace live until exit; freeing them from a static destructor races the driver's teardown).
struct Api {
  Handle handle = nullptr;
  void* workspace = nullptr;     // device memory, workspace_bytes long, for every cuBLASLt call
  size_t workspace_bytes = 0;
  int version = 0;               // cublasLtGetVersion(): major * 10000 + minor * 100 + patch
  MatmulDescCreateFn matmulDescCreate = nullptr;
  MatmulDescDestroyFn matmulDescDestroy = nullptr;
  MatmulDescSetAttributeFn matmulDescSetAttribute = nullptr;
  MatrixLayoutCreateFn matrixLayoutCreate = nullptr;
  MatrixLayoutDestroyFn matrixLayoutDestroy = nullptr;
  MatrixLayoutSetAttributeFn matrixLayoutSetAttribute = nullptr;
  MatmulPreferenceCreateFn matmulPreferenceCreate = nullptr;
  MatmulPreferenceDestroyFn matmulPreferenceDestroy = nullptr;
  MatmulPreferenceSetAttributeFn matmulPreferenceSetAttribute = nullptr;
  MatmulAlgoGetHeuristicFn matmulAlgoGetHeuristic = nullptr;
  MatmulFn matmul = nullptr;
};

// The size of the per-process cuBLASLt workspace (the heuristic may pick algorithms using up to it).
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

// Loads cuBLASLt on the first call (thread-safe; dlopen, dlsym, cublasLtCreate and one cudaMalloc of
// kWorkspaceBytes on the current device); nullptr when it cannot be used, load_status() says why.
// Always nullptr under NL_CUDA_EMU.
const Api* load();
// "cuBLASLt 13.0.2 loaded (libcublasLt.so.13)", or why loading failed (every soname tried, with
// dlerror()), or "not loaded" before the first load().
const char* load_status();
// A status code as text ("CUBLAS_STATUS_NOT_SUPPORTED (15)").
std::string status_string(Status s);

}  // namespace lt
}  // namespace nlc
