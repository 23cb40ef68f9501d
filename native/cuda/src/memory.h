// Device memory of the CUDA backend: one stream for all work, and a caching allocator in front of
// cudaMalloc (which is slow and, with cudaFree, synchronises the device). Every kernel runs on the
// one stream, so a block freed while kernels that use it are still queued can be handed out again
// at once: later work on the same stream runs after them.
#pragma once

#include <cstddef>

#include "compat.h"

namespace nlc {

cudaStream_t stream();

// Device memory of at least `bytes` (256-byte aligned), from the cache when a free block fits.
// Throws CudaError when the device is out of memory even after the cache is emptied.
void* device_alloc(size_t bytes);
void device_free(void* p);
// Gives every cached (free) block back to the driver.
void release_cache();

struct MemoryStats {
  size_t in_use, cached, peak, allocs;  // bytes handed out, bytes kept free, peak of in_use, cudaMalloc calls
};
MemoryStats memory_stats();

// RAII device buffer from the cache, for scratch memory inside one operation.
struct DeviceBuffer {
  void* p = nullptr;
  explicit DeviceBuffer(size_t bytes) : p(bytes ? device_alloc(bytes) : nullptr) {}
  ~DeviceBuffer() { if (p) device_free(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

}  // namespace nlc
