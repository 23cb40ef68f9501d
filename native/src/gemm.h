// nanolab fp32 GEMM: packed, cache-blocked, multi-threaded, with run-time ISA dispatch
// (AVX-512 FMA, AVX2 FMA, portable C++). See gemm.cc for the design notes.
#pragma once

namespace nanolab {

// C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C   (row-major; lda/ldb/ldc are row strides in elements)
// op(A) = A^T when transA (then A is stored K x M), same for B.
// beta == 0 overwrites C without reading it; K == 0 or alpha == 0 gives C = beta * C.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha,
           const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);

// Batched: batch independent GEMMs with element strides between consecutive A, B, C matrices
// (a stride of 0 broadcasts that operand). Parallelised across batch and/or tiles.
void sgemm_batched(int batch, bool transA, bool transB, int M, int N, int K, float alpha,
                   const float* A, int lda, long long strideA, const float* B, int ldb, long long strideB,
                   float beta, float* C, int ldc, long long strideC);

// What to do with each finished element of C, fused into the GEMM while C is still in cache
// (fields may be null): C[i][j] += bias[j], then relu_out[i * ld_relu + j] = max(C[i][j], 0)
// (relu_out may be C itself), then C[i][j] *= step(step_of[i * ld_step + j]) (ReLU's gradient:
// 1 where step_of > 0, else 0). The same float operations as the separate element-wise ops after
// the product, so the same bits.
struct GemmEpilogue {
  const float* bias = nullptr;
  float* relu_out = nullptr;
  long long ld_relu = 0;
  const float* step_of = nullptr;
  long long ld_step = 0;
  bool any() const { return bias || relu_out || step_of; }
};

// sgemm, then the epilogue on every element of C.
void sgemm_epilogue(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, const GemmEpilogue& ep);

// Persistent thread pool. Default size: NANOLAB_THREADS if set, else std::thread::hardware_concurrency().
// sgemm* may be called from several threads at once (one call at a time uses the pool, the
// others compute on their own thread); set_num_threads must not run concurrently with them.
// Results are bit-identical for a given input whatever the thread count.
void set_num_threads(int n);
int get_num_threads();

// Runs fn(ctx, task) for task in [0, ntasks) on the same pool (the caller works too; inline when
// the pool is busy or this is already a pool thread, so sgemm calls inside a task stay serial).
// For kernels whose independent pieces (heads, rows) are worth spreading over the cores.
void parallel_tasks(int ntasks, void (*fn)(void* ctx, int task), void* ctx);

// Micro-kernel chosen at run time, e.g. "avx512-fma 6x64". NANOLAB_GEMM_ISA=avx512|avx2|portable
// restricts the choice (never beyond what the CPU supports); useful for testing the fallbacks.
const char* gemm_kernel_name();

// Matmul precision. "fp32" (default): everything above is exact fp32 FMA. "bf16": GEMMs big
// enough to pay for it (see gemm.cc use_bf16) round A and B to bf16 and multiply them on the AMX
// tile unit with fp32 accumulation and fp32 C (gemm_amx.cc); smaller ones stay fp32. Returns
// false and changes nothing when the CPU or OS cannot do it (gemm_bf16_available()).
bool set_gemm_precision(const char* precision);
const char* gemm_precision();
bool gemm_bf16_available();
bool gemm_uses_bf16(int M, int N, int K);  // whether precision bf16 takes the AMX path for this shape

}  // namespace nanolab

#ifdef NANOLAB_GEMM_INTERNAL
#include <cstddef>
#include <cstdint>
#include <cstdlib>
// ---------------------------------------------------------------------------------------------
// Internal interface between gemm.cc (blocking, packing, threading) and the per-ISA translation
// units (micro-kernels). Not part of the public API.
namespace nanolab {
namespace gemm_detail {

// One cache block for the micro-kernel loops: C[m,n] = alpha * A[m,k] @ B[k,n] + beta * C.
// A element (i,p) is a[i*ars + p*acs]: packed slivers use ars=1, acs=MR (sliver s at a + s*MR*k,
// so a_sliver = MR*k); unpacked row-major A uses ars=lda, acs=1; unpacked A^T uses ars=1, acs=lda.
// B element (p,j) of sliver t is b[t*b_sliver + p*bs + j]: packed bs=NR, b_sliver=NR*k;
// unpacked row-major B uses bs=ldb, b_sliver=NR (columns past n are never read).
struct Block {
  int m, n, k;
  bool packed;  // A and B both packed (formats above): no row clamping or column masks needed
  const float* a;
  long long ars, acs, a_sliver;
  const float* b;
  long long bs, b_sliver;
  float* c;
  long long ldc;
  float alpha, beta;
};

struct Isa {
  const char* name;
  int mr, nr;                    // micro-tile (packing formats use these)
  void (*block)(const Block&);   // loops over micro-tiles of one block
  // Optional fast packers (nullptr: use the generic ones in gemm.cc). Same formats as the
  // generic ones: A -> MR-row slivers [p*MR + i], B -> NR-column slivers [p*NR + j], zero
  // padded (B only up to the next multiple of the kernel's vector width: columns past that
  // are never read).
  void (*pack_a)(bool transA, const float* A, long long lda, int m, int k, float* dst);
  void (*pack_b)(bool transB, const float* B, long long ldb, int k, int n, float* dst);
};

const Isa* isa_avx512();  // nullptr when not built for x86-64
const Isa* isa_avx2();
}  // namespace gemm_detail

class ThreadPool;

namespace gemm_detail {
// Per-thread scratch for packed operands: grows, never shrinks, aligned to a cache line
// (std::aligned_alloc is not on MSVC). Pool threads are persistent, so it is allocated once each.
template <class T>
struct Scratch {
  void* raw = nullptr;
  T* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(raw); }
  T* get(size_t n) {
    if (n > cap) {
      std::free(raw);
      cap = (n + 1023) & ~size_t(1023);
      raw = std::malloc(cap * sizeof(T) + 64);
      if (!raw) std::abort();
      p = reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(raw) + 63) & ~uintptr_t(63));
    }
    return p;
  }
};

// Runs fn(ctx, t, tid) for t in [0, n): on tp when there is one and it is free, otherwise
// inline on this thread.
void parallel_for(ThreadPool* tp, int n, void (*fn)(void* ctx, int task, int tid), void* ctx);

// gemm_amx.cc: whether AMX-BF16 can run here (asks Linux for the tile state once), and one
// bf16 GEMM with fp32 accumulation, rows of C split over tp's threads (tp may be null).
bool amx_usable();
void amx_gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, long long lda,
              const float* B, long long ldb, float beta, float* C, long long ldc, ThreadPool* tp, int nthreads);

}  // namespace gemm_detail
}  // namespace nanolab
#endif
