// What every .cu file of the CUDA backend includes first. Built by nvcc it is the CUDA runtime;
// built by g++ with -DNL_CUDA_EMU it is native/cuda/emu/cuda_emu.h, which runs the same kernels on
// the CPU (tests on machines without a GPU, CI included). Kernels launch through NL_LAUNCH and take
// dynamic shared memory through NL_DYNAMIC_SMEM so both builds read the same source. Every static
// __shared__ array is followed by NL_SHARED_GARBAGE(name): on a GPU nothing, under the emulator it
// fills the array with garbage at each block's start, as a GPU leaves it (test/cuda_kernels.test.ts
// checks that none is missing).
#pragma once

#ifdef NL_CUDA_EMU
#include "../emu/cuda_emu.h"
#else
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#endif

#include <cstdint>
#include <stdexcept>
#include <string>

// NL_LAUNCH(kernel, grid, block, smem bytes, stream, args...); a template kernel goes in parentheses:
// NL_LAUNCH((softmax_rows<128>), grid, 128, 0, stream, out, x, n).
#ifdef NL_CUDA_EMU
#define NL_LAUNCH(K, G, B, S, ST, ...)                                                                \
  do {                                                                                                \
    auto nl_kernel_ = K;                                                                              \
    (void)(ST);                                                                                       \
    nlemu::launch(reinterpret_cast<const void*>(nl_kernel_), dim3(G), dim3(B), (S),                   \
                  [&] { nl_kernel_(__VA_ARGS__); });                                                  \
  } while (0)
#define NL_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(nlemu::dynamic_smem())
#define NL_SHARED_GARBAGE(name) nlemu::fill_static_shared(&(name), sizeof(name))
#else
#define NL_LAUNCH(K, G, B, S, ST, ...)                   \
  do {                                                   \
    auto nl_kernel_ = K;                                 \
    nl_kernel_<<<(G), (B), (S), (ST)>>>(__VA_ARGS__);    \
    nlc::check_launch(#K, __FILE__, __LINE__);           \
  } while (0)
#define NL_DYNAMIC_SMEM(T, name)                                    \
  extern __shared__ __align__(16) unsigned char nl_dyn_smem_[];     \
  T* name = reinterpret_cast<T*>(nl_dyn_smem_)
#define NL_SHARED_GARBAGE(name) ((void)0)
#endif

namespace nlc {

// A CUDA error as a C++ exception with where it happened; the addon turns it into a JS Error.
struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) {
    throw CudaError(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e) + " (" + file + ":" + std::to_string(line) + ")");
  }
}

inline void check_launch(const char* kernel, const char* file, int line) {
  check(cudaGetLastError(), kernel, file, line);
}

inline unsigned blocks_for(int64_t n, int per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}

}  // namespace nlc

#define NL_CUDA_CHECK(expr) nlc::check((expr), #expr, __FILE__, __LINE__)
