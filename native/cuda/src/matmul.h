// Matrix multiplication for the CUDA backend: cuBLASLt (loaded at run time, cublas_loader.h) when
// it is there, else a tiled SIMT kernel of our own (always under the emulator). Row-major, like
// native/src/gemm.h and native/kernels/matmul.cc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "compat.h"

namespace nlc {

// How the products are formed; accumulation, inputs and output are fp32 in every mode.
//   FP32: true fp32 products (CUBLAS_COMPUTE_32F: no TF32).
//   TF32: operands rounded to TF32 (10-bit mantissa) on the tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32).
//   BF16: operands rounded to bf16 (CUBLAS_COMPUTE_32F_FAST_16BF), fp32 accumulate: nanolab's "bf16
//         with fp32 master weights", with no conversion kernels.
// The SIMT kernel rounds the operands the same way as it loads them (bf16: round to nearest even,
// __float2bfloat16; TF32: round to nearest, ties away from zero, as cvt.rna.tf32.f32) and then
// multiplies in fp32, so the emulator tests the rounding semantics.
enum class Precision { FP32, TF32, BF16 };

// C[b] (M x N) = op(A[b]) (M x K) @ op(B[b]) (K x N) for b in [0, batch), all row-major, C overwritten
// (never read). A[b] is stored (M, K) when !transA, (K, M) when transA; B[b] (K, N) when !transB,
// (N, K) when transB; densely (row stride K / M / N / K). strideA/B/C are the element distances
// between consecutive batch entries; 0 broadcasts that operand (not C when batch > 1). K == 0 gives
// zeros. workspace: nullptr (the process's cuBLASLt workspace is used), or matmul_workspace_bytes()
// of device memory to use instead (for callers running matmuls on several streams at once).
// Deterministic: the same inputs give the same bits on every call (cuBLASLt algorithms are chosen
// once per shape, precision and pointer alignment, and reused).
void matmul(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
            int64_t batch, int64_t strideA, int64_t strideB, int64_t strideC, Precision p, float* workspace,
            cudaStream_t stream);

// matmul, then C[b][i][j] = C[b][i][j] + bias[j] when bias (N floats, shared by all batch entries) is
// not null, then C = C > 0 ? C : 0 when relu (NaN becomes 0, as native/src/gemm.cc's fused epilogue).
// cuBLASLt epilogue (BIAS / RELU / RELU_BIAS) when cuBLASLt has an algorithm for it, else matmul
// and a small element-wise kernel; fused into the SIMT kernel.
void matmul_bias(float* C, const float* A, const float* B, const float* bias, bool relu, int64_t M, int64_t N,
                 int64_t K, bool transA, bool transB, int64_t batch, int64_t strideA, int64_t strideB,
                 int64_t strideC, Precision p, float* workspace, cudaStream_t stream);

// Bytes of workspace a caller-provided matmul workspace must have (0 when the SIMT kernel runs).
size_t matmul_workspace_bytes();

// Whether matmuls go to cuBLASLt: it loaded (cublas_loader.h) and is not switched off by
// NANOLAB_CUDA_GEMM=simt or set_gemm_force_simt(true). The first call loads cuBLASLt.
bool cublas_available();
// A human string: "cuBLASLt 13.0.2 (libcublasLt.so.13) loaded", "emulator: cuBLAS not used",
// "cuBLASLt not available: libcublasLt.so.13: cannot open shared object file ...; ...", or
// "SIMT kernel forced (NANOLAB_CUDA_GEMM=simt)...".
const char* cublas_status();
// Routes every later matmul to the SIMT kernel (true) or back to cuBLASLt when it loads (false).
// The initial value is NANOLAB_CUDA_GEMM=simt. For tests comparing the two on a GPU.
void set_gemm_force_simt(bool force);
// "cublaslt" or "simt": what the next matmul uses.
const char* gemm_impl_name();

// How Precision::BF16 operands reach the GEMM. Both give every product of the operands rounded to
// bf16 (nearest even) with fp32 accumulation; they differ in memory traffic and in the library's
// kernels (so in the order of the sums, not in what is summed):
//   RoundInGemm: fp32 operands, CUBLAS_COMPUTE_32F_FAST_16BF (cuBLASLt rounds them as it loads).
//   Bf16Copies:  both operands first rounded into bf16 scratch copies (one kernel each, 6 bytes
//                of traffic per element), then a bf16 x bf16 -> fp32 GEMM, CUBLAS_COMPUTE_32F.
// Which is faster depends on the GPU and cuBLAS's kernels for each: the device benchmark times
// both. Chosen by NANOLAB_CUDA_BF16_GEMM=round-in-gemm (default) | bf16-copies, read at the first
// bf16 matmul (any other value throws), or by set_bf16_gemm. Fixed for a run, so that a seed gives
// the same bits.
enum class Bf16Gemm { RoundInGemm, Bf16Copies };
void set_bf16_gemm(Bf16Gemm mode);
Bf16Gemm bf16_gemm();
const char* bf16_gemm_name();  // "round-in-gemm" or "bf16-copies"
// The mode of one of those names; false (mode untouched) for any other.
bool bf16_gemm_from_name(const char* name, Bf16Gemm* mode);

}  // namespace nlc
