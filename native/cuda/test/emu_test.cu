// Checks of the emulator itself (native/cuda/emu/cuda_emu.h): the block and warp primitives the
// kernels use give CUDA's results, and a barrier some threads skip is reported, not hung.
// Built for the GPU too (nvcc), where the same checks hold: there the mma checks confirm that the
// fragment layouts of mma.cuh (which the emulator implements) are the hardware's.
#include <cstdio>
#include <vector>

#include "../src/compat.h"
#include "../src/mma.cuh"

__global__ void block_sum(float* out, const float* x, int n) {
  __shared__ float partial[32];
  NL_SHARED_GARBAGE(partial);
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

// Each block writes its slot (b + 1, over zeros), then reads a neighbour block's, with nothing to
// order the blocks of one launch.
__global__ void racy_neighbour_block(float* out, float* slots, int step) {
  if (threadIdx.x != 0) return;
  const int b = blockIdx.x, n = gridDim.x;
  slots[b] = b + 1.f;
  const int j = b + step < 0 || b + step >= n ? b : b + step;
  out[b] = slots[j];  // another block's write: there or not, by the order the blocks ran in
}

// Lanes 16-31 exit; lanes 0-15 then read a live lane (xor 1) and an exited one (down 16), whose
// value a GPU leaves undefined.
__global__ void shuffle_from_exited(float* out) {
  const int lane = threadIdx.x;
  if (lane >= 16) return;
  const float live = __shfl_xor_sync(0x0000ffffu, lane + 1.f, 1);
  const float gone = __shfl_down_sync(0x0000ffffu, lane + 1.f, 16);
  out[2 * lane] = live;
  out[2 * lane + 1] = gone;
}

// Block 0 writes a static and a dynamic shared slot; every block reads them. Only in block 0 are
// they written: a GPU gives the other blocks garbage, which the emulator makes huge.
__global__ void read_unwritten_shared(float* out) {
  __shared__ float kept[1];
  NL_SHARED_GARBAGE(kept);
  NL_DYNAMIC_SMEM(float, dyn);
  if (blockIdx.x == 0 && threadIdx.x == 0) { kept[0] = 1.f; dyn[0] = 1.f; }
  __syncthreads();
  if (threadIdx.x == 0) { out[2 * blockIdx.x] = kept[0]; out[2 * blockIdx.x + 1] = dyn[0]; }
}

// One warp: D (16 x 8) = C + A (16 x 16) B (16 x 8), fragments built as mma.cuh documents them;
// then E (16 x 8) = D2 B2 with D2 = [A B | A B'] (16 x 16) fed from the accumulators as an A operand.
// A, B, B2, C row-major (B: k rows of 8 columns; Bp = B' beside it).
__global__ void mma_product(float* d, float* e, const float* A, const float* B, const float* Bp, const float* B2,
                            const float* C) {
  const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  auto a_at = [&](int r, int k) { return A[r * 16 + k]; };
  const uint32_t a[4] = {nlc::pack_bf16(a_at(g, 2 * t), a_at(g, 2 * t + 1)),
                         nlc::pack_bf16(a_at(g + 8, 2 * t), a_at(g + 8, 2 * t + 1)),
                         nlc::pack_bf16(a_at(g, 2 * t + 8), a_at(g, 2 * t + 9)),
                         nlc::pack_bf16(a_at(g + 8, 2 * t + 8), a_at(g + 8, 2 * t + 9))};
  auto b_of = [&](const float* M, uint32_t& b0, uint32_t& b1) {
    b0 = nlc::pack_bf16(M[(2 * t) * 8 + g], M[(2 * t + 1) * 8 + g]);
    b1 = nlc::pack_bf16(M[(2 * t + 8) * 8 + g], M[(2 * t + 9) * 8 + g]);
  };
  uint32_t b0, b1;
  b_of(B, b0, b1);
  float acc[4] = {C[g * 8 + 2 * t], C[g * 8 + 2 * t + 1], C[(g + 8) * 8 + 2 * t], C[(g + 8) * 8 + 2 * t + 1]};
  nlc::mma_bf16(acc, a, b0, b1);
  d[g * 8 + 2 * t] = acc[0];
  d[g * 8 + 2 * t + 1] = acc[1];
  d[(g + 8) * 8 + 2 * t] = acc[2];
  d[(g + 8) * 8 + 2 * t + 1] = acc[3];

  float left[4] = {0.f, 0.f, 0.f, 0.f}, right[4] = {0.f, 0.f, 0.f, 0.f};  // A B, A B'
  nlc::mma_bf16(left, a, b0, b1);
  b_of(Bp, b0, b1);
  nlc::mma_bf16(right, a, b0, b1);
  const uint32_t a2[4] = {nlc::pack_bf16(left[0], left[1]), nlc::pack_bf16(left[2], left[3]),
                          nlc::pack_bf16(right[0], right[1]), nlc::pack_bf16(right[2], right[3])};
  b_of(B2, b0, b1);
  float out[4] = {0.f, 0.f, 0.f, 0.f};
  nlc::mma_bf16(out, a2, b0, b1);
  e[g * 8 + 2 * t] = out[0];
  e[g * 8 + 2 * t + 1] = out[1];
  e[(g + 8) * 8 + 2 * t] = out[2];
  e[(g + 8) * 8 + 2 * t + 1] = out[3];
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
  {  // launches a GPU refuses fail here too (the emulator checks the same limits)
    auto refused = [&](auto launch) {
      try {
        launch();
      } catch (const std::exception&) {
        return true;
      }
      return false;
    };
    const size_t big = 64 * 1024;  // over the 48 KB a kernel gets without opting in
    expect(refused([&] { NL_LAUNCH(reverse, 1, 100, big, nullptr, dout, dx, 100); }),
           "over 48 KB of dynamic shared memory without cudaFuncSetAttribute: refused");
    NL_CUDA_CHECK(cudaFuncSetAttribute(reverse, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(big)));
    const bool launched = !refused([&] { NL_LAUNCH(reverse, 1, 100, big, nullptr, dout, dx, 100); });
    NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 100 * sizeof(float), cudaMemcpyDeviceToHost));
    ok = launched;
    for (int t = 0; t < 100; t++) ok &= got[t] == x[99 - t];
    expect(ok, "64 KB after cudaFuncSetAttribute: launched and right");
    expect(refused([&] { NL_LAUNCH(reverse, 1, 100, big + 4, nullptr, dout, dx, 100); }),
           "more than the kernel's cudaFuncSetAttribute limit: refused");
    expect(refused([&] { NL_LAUNCH(reverse, 1, 1025, 0, nullptr, dout, dx, 100); }), "1025 threads a block: refused");
    expect(refused([&] { NL_LAUNCH(reverse, dim3(1, 65536), 32, 0, nullptr, dout, dx, 100); }),
           "grid.y = 65536: refused");
  }
  {  // mma: small integers, exact in bf16 and in every fp32 sum, so the results must be exact
    std::vector<float> A(256), B(128), Bp(128), B2(128), C(128);
    for (int i = 0; i < 256; i++) A[i] = static_cast<float>((i * 7 + 3) % 5 - 2);
    for (int i = 0; i < 128; i++) {
      B[i] = static_cast<float>((i * 5 + 1) % 5 - 2);
      Bp[i] = static_cast<float>((i * 3 + 2) % 5 - 2);
      B2[i] = static_cast<float>((i * 11 + 4) % 5 - 2);
      C[i] = static_cast<float>(i % 9) - 4.f;
    }
    std::vector<float> wantD(128), wantE(128), AB(256);
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 8; c++) {
        float x = C[r * 8 + c], y = 0.f, z = 0.f;
        for (int k = 0; k < 16; k++) { x += A[r * 16 + k] * B[k * 8 + c]; y += A[r * 16 + k] * B[k * 8 + c]; z += A[r * 16 + k] * Bp[k * 8 + c]; }
        wantD[r * 8 + c] = x;
        AB[r * 16 + c] = y;
        AB[r * 16 + 8 + c] = z;
      }
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 8; c++) {
        float x = 0.f;
        for (int k = 0; k < 16; k++) x += AB[r * 16 + k] * B2[k * 8 + c];
        wantE[r * 8 + c] = x;
      }
    float* buf;
    NL_CUDA_CHECK(cudaMalloc(&buf, (256 + 4 * 128 + 2 * 128) * sizeof(float)));
    float *mA = buf, *mB = mA + 256, *mBp = mB + 128, *mB2 = mBp + 128, *mC = mB2 + 128, *mD = mC + 128, *mE = mD + 128;
    NL_CUDA_CHECK(cudaMemcpy(mA, A.data(), 256 * sizeof(float), cudaMemcpyHostToDevice));
    NL_CUDA_CHECK(cudaMemcpy(mB, B.data(), 128 * sizeof(float), cudaMemcpyHostToDevice));
    NL_CUDA_CHECK(cudaMemcpy(mBp, Bp.data(), 128 * sizeof(float), cudaMemcpyHostToDevice));
    NL_CUDA_CHECK(cudaMemcpy(mB2, B2.data(), 128 * sizeof(float), cudaMemcpyHostToDevice));
    NL_CUDA_CHECK(cudaMemcpy(mC, C.data(), 128 * sizeof(float), cudaMemcpyHostToDevice));
    NL_LAUNCH(mma_product, 1, 32, 0, nullptr, mD, mE, mA, mB, mBp, mB2, mC);
    std::vector<float> gotD(128), gotE(128);
    NL_CUDA_CHECK(cudaMemcpy(gotD.data(), mD, 128 * sizeof(float), cudaMemcpyDeviceToHost));
    NL_CUDA_CHECK(cudaMemcpy(gotE.data(), mE, 128 * sizeof(float), cudaMemcpyDeviceToHost));
    expect(gotD == wantD, "mma m16n8k16 bf16: D = C + A B with mma.cuh's fragment layouts");
    expect(gotE == wantE, "mma accumulators packed as the next A operand: (A [B B']) B2");
    cudaFree(buf);
  }
#ifdef NL_CUDA_EMU
  // Threads run in one order: index, or reverse with NLEMU_ORDER=reverse. A read of the next
  // thread's slot is stale in index order, of the previous one's in reverse, so each racy kernel
  // gives the barrier-free answer in one order only, and the order decides which.
  const int freshStep = nlemu::reverse_order() ? 1 : -1;  // the neighbour that has already run
  int right = 0;
  for (int step : {1, -1}) {
    NL_LAUNCH(racy_neighbour, 1, 64, 64 * sizeof(float), nullptr, dout, step);
    NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 64 * sizeof(float), cudaMemcpyDeviceToHost));
    bool correct = true;
    for (int t = 0; t < 64; t++) correct &= got[t] == static_cast<float>(t + step < 0 || t + step >= 64 ? t : t + step);
    right += correct == (step == freshStep);
  }
  expect(right == 2, "a missing barrier gives a wrong result in one thread order (the one run here decides which)");
  right = 0;  // the same between blocks: blocks run in index order, or all in reverse
  for (int step : {1, -1}) {
    NL_CUDA_CHECK(cudaMemset(dx, 0, 16 * sizeof(float)));
    NL_LAUNCH(racy_neighbour_block, 16, 32, 0, nullptr, dout, dx, step);
    NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 16 * sizeof(float), cudaMemcpyDeviceToHost));
    bool correct = true;
    for (int b = 0; b < 16; b++) correct &= got[b] == static_cast<float>(b + step < 0 || b + step >= 16 ? b + 1 : b + step + 1);
    right += correct == (step == freshStep);
  }
  expect(right == 2, "a read of another block's writes in the same launch gives a wrong result in one block order (likewise)");
  {  // shared memory starts each block as garbage: huge, of either sign by turns, never the last block's
    NL_LAUNCH(read_unwritten_shared, 4, 32, sizeof(float), nullptr, dout);
    NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 8 * sizeof(float), cudaMemcpyDeviceToHost));
    bool garbage = got[0] == 1.f && got[1] == 1.f;
    for (int i = 2; i < 8; i++) garbage &= std::fabs(got[i]) > 1e38f;
    for (int i = 4; i < 8; i++) garbage &= (got[i] > 0) != (got[i - 2] > 0);  // sign turns block by block
    std::printf("     unwritten shared slots in blocks 1-3: %g %g, %g %g, %g %g\n", got[2], got[3], got[4], got[5], got[6], got[7]);
    expect(garbage, "static and dynamic shared memory start each block as garbage (huge, alternating sign)");
  }
  {  // a shuffle from a lane that has exited reads garbage, from a live one its value
    NL_LAUNCH(shuffle_from_exited, 1, 32, 0, nullptr, dout);
    NL_CUDA_CHECK(cudaMemcpy(got.data(), dout, 32 * sizeof(float), cudaMemcpyDeviceToHost));
    bool ok = true;
    for (int l = 0; l < 16; l++) ok &= got[2 * l] == static_cast<float>((l ^ 1) + 1) && std::fabs(got[2 * l + 1]) > 1e38f;
    expect(ok, "a shuffle reads garbage from an exited lane, the value from a live one");
  }
  {  // so does cudaMalloc's memory, even where the host's fresh pages are zeros
    float *a, *b;
    const size_t big = size_t(64) << 20;  // large enough for mmap'd, zeroed pages
    NL_CUDA_CHECK(cudaMalloc(&a, big));
    NL_CUDA_CHECK(cudaMalloc(&b, big));
    float ends[4];
    NL_CUDA_CHECK(cudaMemcpy(&ends[0], a, sizeof(float), cudaMemcpyDeviceToHost));
    NL_CUDA_CHECK(cudaMemcpy(&ends[1], a + big / sizeof(float) - 1, sizeof(float), cudaMemcpyDeviceToHost));
    NL_CUDA_CHECK(cudaMemcpy(&ends[2], b, sizeof(float), cudaMemcpyDeviceToHost));
    NL_CUDA_CHECK(cudaMemcpy(&ends[3], b + big / sizeof(float) - 1, sizeof(float), cudaMemcpyDeviceToHost));
    bool garbage = (ends[0] > 0) != (ends[2] > 0);
    for (float v : ends) garbage &= std::fabs(v) > 1e38f;
    expect(garbage, "cudaMalloc'd memory starts as garbage (huge, alternating sign by allocation)");
    cudaFree(a); cudaFree(b);
  }
#endif
  cudaFree(dx); cudaFree(dout); cudaFree(di);
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
