// Checks of the emulator itself (native/cuda/emu/cuda_emu.h): the block and warp primitives the
// kernels use give CUDA's results, and a barrier some threads skip is reported, not hung.
// Built for the GPU too (nvcc), where the same checks hold.
#include <cstdio>
#include <vector>

#include "../src/compat.h"

__global__ void block_sum(float* out, const float* x, int n) {
  __shared__ float partial[32];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  float s = 0.f;
  for (int i = blockIdx.x * blockDim.x + tid; i < n; i += gridDim.x * blockDim.x) s += x[i];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (lane == 0) partial[warp] = s;
  __syncthreads();
  if (warp == 0) {
    s = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) out[blockIdx.x] = s;
  }
}

__global__ void lanes(int* out) {
  const int lane = threadIdx.x % 32;
  const int up = __shfl_up_sync(0xffffffffu, lane, 1);
  const int bcast = __shfl_sync(0xffffffffu, lane * 10, 5);
  const unsigned odd = __ballot_sync(0xffffffffu, lane & 1);
  out[threadIdx.x * 3 + 0] = up;
  out[threadIdx.x * 3 + 1] = bcast;
  out[threadIdx.x * 3 + 2] = static_cast<int>(odd == 0xaaaaaaaau);
}

__global__ void reverse(float* out, const float* x, int n) {
  NL_DYNAMIC_SMEM(float, buf);
  const int t = threadIdx.x;
  buf[t] = x[t];
  __syncthreads();
  out[t] = buf[n - 1 - t];
}

// Reads its neighbour's shared-memory slot without the barrier between write and read.
__global__ void racy_neighbour(float* out, int step) {
  NL_DYNAMIC_SMEM(float, buf);
  const int t = threadIdx.x, n = blockDim.x;
  buf[t] = static_cast<float>(t);
  const int j = t + step < 0 || t + step >= n ? t : t + step;
  out[t] = buf[j];  // missing __syncthreads() before this read
}

int main() {
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
  };
  const int n = 1000, blocks = 3;
  std::vector<float> x(n);
  double want = 0;
  for (int i = 0; i < n; i++) { x[i] = static_cast<float>(i % 7) - 2.5f; want += x[i]; }
  float *dx, *dout;
  NL_CUDA_CHECK(cudaMalloc(&dx, n * sizeof(float)));
  NL_CUDA_CHECK(cudaMalloc(&dout, n * sizeof(float)));
  NL_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  NL_LAUNCH(block_sum, blocks, 256, 0, nullptr, dout, dx, n);
  std::vector<float> got(n);
  NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, blocks * sizeof(float), cudaMemcpyDeviceToHost));
  expect(std::fabs(got[0] + got[1] + got[2] - want) < 1e-3, "block reduction with shared memory and shuffles");

  int* di;
  NL_CUDA_CHECK(cudaMalloc(&di, 64 * 3 * sizeof(int)));
  NL_LAUNCH(lanes, 1, 64, 0, nullptr, di);
  std::vector<int> li(64 * 3);
  NL_CUDA_CHECK(cudaMemcpy(li.data(), di, li.size() * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int t = 0; t < 64; t++) {
    const int lane = t % 32;
    ok &= li[t * 3] == (lane == 0 ? 0 : lane - 1) && li[t * 3 + 1] == 50 && li[t * 3 + 2] == 1;
  }
  expect(ok, "shfl_up, shfl, ballot per warp");

  NL_LAUNCH(reverse, 1, 100, 100 * sizeof(float), nullptr, dout, dx, 100);
  NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 100 * sizeof(float), cudaMemcpyDeviceToHost));
  ok = true;
  for (int t = 0; t < 100; t++) ok &= got[t] == x[99 - t];
  expect(ok, "dynamic shared memory");
#ifdef NL_CUDA_EMU
  // Threads run in one order (index, or reverse with NLEMU_ORDER=reverse): a read of the next
  // thread's slot is stale in index order, of the previous one's in reverse, so of the two racy
  // kernels exactly one gives the barrier-free answer in either order.
  int right = 0;
  for (int step : {1, -1}) {
    NL_LAUNCH(racy_neighbour, 1, 64, 64 * sizeof(float), nullptr, dout, step);
    NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 64 * sizeof(float), cudaMemcpyDeviceToHost));
    bool correct = true;
    for (int t = 0; t < 64; t++) correct &= got[t] == static_cast<float>(t + step < 0 || t + step >= 64 ? t : t + step);
    right += correct;
  }
  expect(right == 1, "a missing barrier gives a wrong result in one thread order");
#endif
  cudaFree(dx); cudaFree(dout); cudaFree(di);
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
