// The caching allocator of memory.h: free blocks kept by size; a request takes the smallest
// free block that fits and is not more than twice (or 1 MB over) the request.
#include "memory.h"

#include <map>
#include <mutex>
#include <unordered_map>

namespace nlc {
namespace {

struct Cache {
  std::mutex mu;
  std::unordered_map<void*, size_t> size_of;  // every block from cudaMalloc, by address
  std::multimap<size_t, void*> free_blocks;   // the free ones, by size
  MemoryStats stats{0, 0, 0, 0};
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be freed during process exit
  return *c;
}

size_t round_size(size_t bytes) {
  const size_t unit = bytes < (size_t{1} << 20) ? 512 : (size_t{1} << 20);
  return (bytes + unit - 1) / unit * unit;
}

void release_locked(Cache& c) {
  for (auto& [size, p] : c.free_blocks) {
    cudaFree(p);
    c.size_of.erase(p);
    c.stats.cached -= size;
  }
  c.free_blocks.clear();
}

}  // namespace

cudaStream_t stream() {
  static cudaStream_t s = [] {
    cudaStream_t st;
    NL_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    return st;
  }();
  return s;
}

void* device_alloc(size_t bytes) {
  Cache& c = cache();
  const size_t want = round_size(bytes == 0 ? 1 : bytes);
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.free_blocks.lower_bound(want);
  if (it != c.free_blocks.end() && (it->first <= 2 * want || it->first <= want + (size_t{1} << 20))) {
    void* p = it->second;
    c.stats.cached -= it->first;
    c.stats.in_use += it->first;
    c.free_blocks.erase(it);
    if (c.stats.in_use > c.stats.peak) c.stats.peak = c.stats.in_use;
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, want);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free allocation error, then retry with the cache emptied
    cudaStreamSynchronize(stream());
    release_locked(c);
    e = cudaMalloc(&p, want);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    throw CudaError("CUDA: out of memory allocating " + std::to_string(want >> 20) + " MB (" + std::to_string(free >> 20) +
                    " MB of " + std::to_string(total >> 20) + " MB free)");
  }
  c.size_of[p] = want;
  c.stats.in_use += want;
  c.stats.allocs++;
  if (c.stats.in_use > c.stats.peak) c.stats.peak = c.stats.in_use;
  return p;
}

void device_free(void* p) {
  if (!p) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.size_of.find(p);
  if (it == c.size_of.end()) throw CudaError("CUDA: device_free of a pointer this allocator did not hand out");
  c.stats.in_use -= it->second;
  c.stats.cached += it->second;
  c.free_blocks.emplace(it->second, p);
}

void release_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  cudaStreamSynchronize(stream());
  release_locked(c);
}

MemoryStats memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

}  // namespace nlc
