// A CUDA emulator for testing kernels on a machine without a GPU: the same .cu sources compile with
// g++ -DNL_CUDA_EMU, and each launch runs its blocks one after another on the calling thread, every
// CUDA thread of a block a fiber (ucontext) with its own stack. The semantics the kernels rely on are
// kept: __syncthreads waits for every live thread of the block, warp shuffles and __syncwarp for
// every live lane of the warp, shared memory is shared by the block's threads, and a barrier that
// can never be passed (a __syncthreads some threads skip, a shuffle in a divergent warp) stops the
// program with the threads' states instead of hanging. Of the tensor cores, the one mma shape the
// kernels use (nlemu::mma_m16n8k16_bf16). What a GPU refuses, the emulator refuses too: launch
// configurations over the limits (check_config), and with test/run_tests.sh's flags, float4 access
// off 16-byte alignment (-fsanitize=alignment) and, in its emu-asan mode, any access past a
// cudaMalloc'd buffer (AddressSanitizer). Not emulated: memory ordering within a phase between
// barriers (one fiber runs at a time; NLEMU_ORDER=reverse flips the order of threads and of blocks,
// see run_block and launch), static __shared__ arrays' limits, register limits (nvcc -Xptxas -v
// reports them), streams (all work is synchronous), timing. Where a GPU gives undefined values, the
// emulator gives garbage: shared memory at every block's start, cudaMalloc'd memory, and a shuffle
// from a lane that has exited (garbage_byte).
#pragma once

#include <sys/mman.h>
#include <ucontext.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

// AddressSanitizer (test/run_tests.sh emu-asan) must be told of every switch between the fibers'
// stacks, else it takes one fiber's frames for overflows of another's.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define NLEMU_ASAN 1
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __shared__ static  // one block runs at a time, so a static is the block's shared memory
#define __constant__
#define __launch_bounds__(...)
#define __CUDA_ARCH__EMU 1

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

inline dim3 threadIdx, blockIdx, blockDim, gridDim;  // set by the scheduler before each switch
constexpr int warpSize = 32;

namespace nlemu {

// A fiber's saved context. On x86-64 a hand-written switch (callee-saved registers, the stack
// pointer, MXCSR and the x87 control word: what the SysV ABI says survives a call), which makes
// no system call; elsewhere ucontext (swapcontext saves the signal mask with a system call per
// switch, several times slower).
#if defined(__x86_64__) && defined(__linux__)
#define NLEMU_FAST_SWITCH 1
extern "C" void nlemu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .weak nlemu_switch
  .hidden nlemu_switch
  .type nlemu_switch, @function
nlemu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size nlemu_switch, .-nlemu_switch
)");
struct Context { void* sp = nullptr; };
#else
struct Context { ucontext_t uc; };
#endif

struct Fiber {
  Context ctx;
  enum State { Ready, AtBlockBarrier, AtWarpBarrier, Done } state = Ready;
  dim3 tid;
  char* stack = nullptr;  // its stack: bytes from stack
  size_t bytes = 0;
  void* fake = nullptr;   // AddressSanitizer's fake stack while the fiber is switched out
};

struct Scheduler {
  std::vector<Fiber> fibers;
  Context main;
  int cur = -1;
  const std::function<void()>* body = nullptr;
  char* stacks = nullptr;
  size_t stackBytes = 256 * 1024, stackCount = 0;
  std::vector<uint64_t> exchange;  // one slot per thread for shuffles and ballots
  std::vector<uint32_t> fragments;  // six words per thread: the operands of a warp's mma
  std::vector<unsigned char> smem; // dynamic shared memory of the running block
  uint64_t blockSerial = 0;        // blocks run so far, over all launches
  std::map<const void*, uint64_t> staticSharedBlock;  // static __shared__ array -> block that last filled it
  std::string fault;               // set when a fiber throws
  std::map<const void*, size_t> smemOptIn;  // kernel -> cudaFuncAttributeMaxDynamicSharedMemorySize
  const void* mainBottom = nullptr;         // the scheduler's stack, for AddressSanitizer
  size_t mainSize = 0;
  void* mainFake = nullptr;
};

inline Scheduler& sched() {
  static Scheduler s;
  return s;
}

// Around a switch of stacks: leave before it (fake: where to keep this stack's fake frames, nullptr
// when it is never resumed; bottom, size: the stack switched to), arrive after it, on the new stack.
inline void asan_leave(void** fake, const void* bottom, size_t size) {
#ifdef NLEMU_ASAN
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}
inline void asan_arrive(void* fake, const void** fromBottom, size_t* fromSize) {
#ifdef NLEMU_ASAN
  __sanitizer_finish_switch_fiber(fake, fromBottom, fromSize);
#else
  (void)fake, (void)fromBottom, (void)fromSize;
#endif
}

inline void switch_to(Context& save, Context& load) {
#ifdef NLEMU_FAST_SWITCH
  nlemu_switch(&save.sp, load.sp);
#else
  swapcontext(&save.uc, &load.uc);
#endif
}

inline void yield_to_scheduler(Fiber::State st) {
  Scheduler& s = sched();
  Fiber& f = s.fibers[s.cur];
  f.state = st;
  asan_leave(&f.fake, s.mainBottom, s.mainSize);
  switch_to(f.ctx, s.main);
  asan_arrive(f.fake, &s.mainBottom, &s.mainSize);
}

inline void fiber_entry() {
  Scheduler& s = sched();
  asan_arrive(nullptr, &s.mainBottom, &s.mainSize);
  try {
    (*s.body)();
  } catch (const std::exception& e) {
    if (s.fault.empty()) s.fault = e.what();
  }
  s.fibers[s.cur].state = Fiber::Done;
  asan_leave(nullptr, s.mainBottom, s.mainSize);  // this stack's frames are gone
#ifdef NLEMU_FAST_SWITCH
  Context dead;
  switch_to(dead, s.main);  // never resumed
  std::abort();
#endif  // ucontext: uc_link returns to the scheduler
}

// A fresh fiber's stack: the first switch into it "returns" into fiber_entry with the stack
// aligned as after a call, the saved registers zero and the caller's MXCSR and x87 control word.
inline void make_fiber(Fiber& f, char* stack, size_t bytes, Context& link) {
  f.stack = stack;
  f.bytes = bytes;
  f.fake = nullptr;
#ifdef NLEMU_ASAN
  ASAN_UNPOISON_MEMORY_REGION(stack, bytes);  // the last fiber on it never returned from its frames
#endif
#ifdef NLEMU_FAST_SWITCH
  (void)link;
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t{15};
  uint64_t* sp = reinterpret_cast<uint64_t*>(top);
  *--sp = 0;                                             // fiber_entry's return address: never used
  *--sp = reinterpret_cast<uint64_t>(&fiber_entry);      // popped by ret
  for (int r = 0; r < 6; r++) *--sp = 0;                 // rbp, rbx, r12..r15
  uint32_t csr[2];
  __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr[0]), "=m"(csr[1]));
  *--sp = (static_cast<uint64_t>(csr[1] & 0xffff) << 32) | csr[0];
  f.ctx.sp = sp;
#else
  getcontext(&f.ctx.uc);
  f.ctx.uc.uc_stack.ss_sp = stack;
  f.ctx.uc.uc_stack.ss_size = bytes;
  f.ctx.uc.uc_link = &link.uc;
  makecontext(&f.ctx.uc, fiber_entry, 0);
#endif
}

[[noreturn]] inline void deadlock(const char* why) {
  Scheduler& s = sched();
  std::fprintf(stderr, "cuda_emu: %s in block (%u,%u,%u):", why, blockIdx.x, blockIdx.y, blockIdx.z);
  const char* names[] = {"ready", "__syncthreads", "warp barrier", "done"};
  for (size_t i = 0; i < s.fibers.size() && i < 96; i++) std::fprintf(stderr, " t%zu:%s", i, names[s.fibers[i].state]);
  std::fprintf(stderr, "\n");
  std::abort();
}

// Runs one block to completion: every ready fiber runs until it waits or ends; then a warp whose
// live lanes all wait at a warp barrier goes on, else, when every live thread waits at
// __syncthreads, they all go on. Threads run in index order, or in reverse with
// NLEMU_ORDER=reverse: a kernel that reads shared memory another thread writes without a barrier
// in between gets the value in one order and not in the other, so running the tests both ways
// finds missing barriers (test/run_tests.sh does).
inline bool reverse_order() {
  static const bool reverse = [] {
    const char* o = std::getenv("NLEMU_ORDER");
    return o && std::string(o) == "reverse";
  }();
  return reverse;
}

inline void run_block(int n) {
  Scheduler& s = sched();
  for (int i = 0; i < n; i++) {
    Fiber& f = s.fibers[i];
    f.state = Fiber::Ready;
    make_fiber(f, s.stacks + static_cast<size_t>(i) * s.stackBytes, s.stackBytes, s.main);
  }
  const bool reverse = reverse_order();
  for (;;) {
    for (int k = 0; k < n; k++) {
      const int i = reverse ? n - 1 - k : k;
      if (s.fibers[i].state != Fiber::Ready) continue;
      s.cur = i;
      threadIdx = s.fibers[i].tid;
      asan_leave(&s.mainFake, s.fibers[i].stack, s.fibers[i].bytes);
      switch_to(s.main, s.fibers[i].ctx);
      asan_arrive(s.mainFake, nullptr, nullptr);
    }
    s.cur = -1;
    int live = 0, atBlock = 0;
    bool released = false;
    for (int w = 0; w < n; w += 32) {
      int waiting = 0, liveLanes = 0;
      for (int i = w; i < n && i < w + 32; i++) {
        if (s.fibers[i].state == Fiber::Done) continue;
        liveLanes++;
        waiting += s.fibers[i].state == Fiber::AtWarpBarrier;
      }
      if (waiting > 0 && waiting == liveLanes) {
        for (int i = w; i < n && i < w + 32; i++) {
          if (s.fibers[i].state == Fiber::AtWarpBarrier) s.fibers[i].state = Fiber::Ready;
        }
        released = true;
      }
    }
    if (released) continue;
    for (int i = 0; i < n; i++) {
      if (s.fibers[i].state == Fiber::Done) continue;
      live++;
      atBlock += s.fibers[i].state == Fiber::AtBlockBarrier;
    }
    if (live == 0) return;
    if (atBlock == live) {
      for (int i = 0; i < n; i++) {
        if (s.fibers[i].state == Fiber::AtBlockBarrier) s.fibers[i].state = Fiber::Ready;
      }
      continue;
    }
    deadlock("a barrier no thread can pass (divergent __syncthreads or warp operation)");
  }
}

constexpr size_t kSmemDefault = 48 * 1024, kSmemOptInMax = 227 * 1024;  // sm_90's limits per block

// A launch configuration a GPU would refuse (cudaErrorInvalidValue / InvalidConfiguration), so
// that the emulated tests fail where the GPU's launch would: block and grid limits, and dynamic
// shared memory over 48 KB without cudaFuncSetAttribute(kernel, MaxDynamicSharedMemorySize, >=
// bytes) first. Not checked: static shared memory and registers (nvcc's -Xptxas -v tells them).
inline void check_config(const void* kernel, dim3 grid, dim3 block, size_t smemBytes) {
  const size_t n = static_cast<size_t>(block.x) * block.y * block.z;
  if (n == 0 || n > 1024 || block.z > 64)
    throw std::runtime_error("cuda_emu: a block needs 1..1024 threads (z at most 64), got " + std::to_string(block.x) + "x" +
                             std::to_string(block.y) + "x" + std::to_string(block.z));
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) throw std::runtime_error("cuda_emu: empty grid");
  if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    throw std::runtime_error("cuda_emu: grid " + std::to_string(grid.x) + "x" + std::to_string(grid.y) + "x" +
                             std::to_string(grid.z) + " over the limits (2^31 - 1, 65535, 65535)");
  if (smemBytes > kSmemDefault) {
    const auto it = sched().smemOptIn.find(kernel);
    const size_t allowed = it == sched().smemOptIn.end() ? kSmemDefault : it->second;
    if (smemBytes > allowed)
      throw std::runtime_error("cuda_emu: " + std::to_string(smemBytes) + " bytes of dynamic shared memory, " +
                               std::to_string(allowed) + " allowed for this kernel (over 48 KB needs " +
                               "cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes) first)");
  }
}

// What a GPU leaves in memory nobody wrote, as a byte to fill with: one that makes every type the
// kernels keep huge (float, double, bf16, int32), positive on odd turns (0x7F7F...), negative on
// even ones (0xFEFE...). A sum, a max or a min over a slot nobody wrote then goes wrong on one turn
// or the next, where zeros or the last user's values could pass.
inline unsigned char garbage_byte(uint64_t turn) { return (turn & 1) ? 0x7F : 0xFE; }

// Shared memory: each block is a turn (a GPU's starts each block holding whatever was there).
inline unsigned char shared_garbage() { return garbage_byte(sched().blockSerial); }

// A static __shared__ array is a function static here: the first thread of a block to reach its
// declaration fills it (NL_SHARED_GARBAGE in compat.h, after every such declaration).
inline void fill_static_shared(const void* p, size_t bytes) {
  Scheduler& s = sched();
  uint64_t& filled = s.staticSharedBlock[p];
  if (filled == s.blockSerial) return;
  filled = s.blockSerial;
  std::memset(const_cast<void*>(p), shared_garbage(), bytes);
}

// NLEMU_SKIP=1: every launch returns at once, so a program runs only its host side (what the
// CPU does around the kernels: bench/cuda_host.bench.ts times it). Results are meaningless then.
inline void launch(const void* kernel, dim3 grid, dim3 block, size_t smemBytes, const std::function<void()>& body) {
  static const bool skip = std::getenv("NLEMU_SKIP") != nullptr;
  if (skip) return;
  Scheduler& s = sched();
  if (s.cur >= 0) throw std::runtime_error("cuda_emu: a launch from inside a kernel");
  check_config(kernel, grid, block, smemBytes);
  const size_t n = static_cast<size_t>(block.x) * block.y * block.z;
  if (s.stackCount < n) {
    if (s.stacks) munmap(s.stacks, s.stackCount * s.stackBytes);
    void* p = mmap(nullptr, 1024 * s.stackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("cuda_emu: no memory for fiber stacks");
    s.stacks = static_cast<char*>(p);
    s.stackCount = 1024;
  }
  s.fibers.assign(n, Fiber{});
  s.exchange.assign(n, 0);
  s.fragments.assign(6 * n, 0);
  s.smem.resize(smemBytes + 16);
  for (unsigned z = 0, i = 0; z < block.z; z++)
    for (unsigned y = 0; y < block.y; y++)
      for (unsigned x = 0; x < block.x; x++) s.fibers[i++].tid = dim3(x, y, z);
  s.body = &body;
  s.fault.clear();
  blockDim = block;
  gridDim = grid;
  // Blocks in index order, or all in reverse with NLEMU_ORDER=reverse: on a GPU they run in any
  // order, so a block that reads what another block of the same launch writes is wrong in one.
  const bool reverse = reverse_order();
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        blockIdx = reverse ? dim3(grid.x - 1 - bx, grid.y - 1 - by, grid.z - 1 - bz) : dim3(bx, by, bz);
        s.blockSerial++;
        std::memset(s.smem.data(), shared_garbage(), s.smem.size());
        run_block(static_cast<int>(n));
        if (!s.fault.empty()) throw std::runtime_error("cuda_emu: kernel threw: " + s.fault);
      }
  s.body = nullptr;
}

inline void* dynamic_smem() { return sched().smem.data(); }

inline int linear_tid() {
  return static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
}

inline void warp_barrier() { yield_to_scheduler(Fiber::AtWarpBarrier); }

// One shuffle: every lane publishes v, the warp meets, each reads lane src(lane), the warp meets again
// (so no slot is overwritten before every lane has read it). A source lane that has exited, or that
// the block does not have (a partial last warp), gives an undefined value on a GPU: garbage here.
template <class T, class Src>
T shuffle(T v, Src src) {
  static_assert(sizeof(T) <= 8, "cuda_emu: shuffles move at most 8 bytes");
  Scheduler& s = sched();
  const int me = linear_tid(), lane = me % 32, base = me - lane;
  std::memcpy(&s.exchange[me], &v, sizeof(T));
  warp_barrier();
  const int from = base + src(lane);
  T r = v;
  if (from >= 0 && static_cast<size_t>(from) < s.fibers.size() && s.fibers[from].state != Fiber::Done) {
    std::memcpy(&r, &s.exchange[from], sizeof(T));
  } else if (from != me) {
    std::memset(&r, garbage_byte(s.blockSerial), sizeof(T));
  }
  warp_barrier();
  return r;
}

}  // namespace nlemu

inline void __syncthreads() { nlemu::yield_to_scheduler(nlemu::Fiber::AtBlockBarrier); }
inline void __syncwarp(unsigned = 0xffffffffu) { nlemu::warp_barrier(); }

template <class T>
T __shfl_sync(unsigned, T v, int srcLane, int width = 32) {
  return nlemu::shuffle(v, [=](int l) { return (l & ~(width - 1)) + (srcLane & (width - 1)); });
}
template <class T>
T __shfl_xor_sync(unsigned, T v, int laneMask, int width = 32) {
  return nlemu::shuffle(v, [=](int l) {
    const int src = l ^ laneMask;
    return src < ((l & ~(width - 1)) + width) ? src : l;
  });
}
template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  return nlemu::shuffle(v, [=](int l) {
    const int src = l + static_cast<int>(delta);
    return src < ((l & ~(width - 1)) + width) ? src : l;
  });
}
template <class T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  return nlemu::shuffle(v, [=](int l) {
    const int src = l - static_cast<int>(delta);
    return src >= (l & ~(width - 1)) ? src : l;
  });
}
inline unsigned __ballot_sync(unsigned, int pred) {
  nlemu::Scheduler& s = nlemu::sched();
  const int me = nlemu::linear_tid(), base = me - me % 32;
  s.exchange[me] = pred != 0;
  nlemu::warp_barrier();
  unsigned bits = 0;
  for (int l = 0; l < 32 && static_cast<size_t>(base + l) < s.fibers.size(); l++) {
    if (s.fibers[base + l].state != nlemu::Fiber::Done && s.exchange[base + l]) bits |= 1u << l;
  }
  nlemu::warp_barrier();
  return bits;
}
inline int __any_sync(unsigned m, int pred) { return __ballot_sync(m, pred) != 0; }
inline int __all_sync(unsigned m, int pred) {
  nlemu::Scheduler& s = nlemu::sched();
  const int me = nlemu::linear_tid(), base = me - me % 32;
  unsigned live = 0;
  for (int l = 0; l < 32 && static_cast<size_t>(base + l) < s.fibers.size(); l++) {
    if (s.fibers[base + l].state != nlemu::Fiber::Done) live |= 1u << l;
  }
  return __ballot_sync(m, pred) == live;
}

// Atomics: one fiber runs at a time, so a plain read-modify-write is atomic.
template <class T>
T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <class T>
T atomicMax(T* p, T v) { T old = *p; if (v > old) *p = v; return old; }
template <class T>
T atomicMin(T* p, T v) { T old = *p; if (v < old) *p = v; return old; }
template <class T>
T atomicExch(T* p, T v) { T old = *p; *p = v; return old; }
inline int atomicCAS(int* p, int cmp, int v) { int old = *p; if (old == cmp) *p = v; return old; }
inline unsigned atomicCAS(unsigned* p, unsigned cmp, unsigned v) { unsigned old = *p; if (old == cmp) *p = v; return old; }

// The _rn intrinsics: one rounding each, never fused with a neighbouring multiply or add into an
// FMA. test/run_tests.sh builds the kernels here with FMA contraction on, as nvcc does by default,
// so a plain a * b + c fuses here as on a GPU while these do not: every operand and result passes
// through an empty asm the compiler cannot see into.
namespace nlemu {
template <class T>
inline T opaque(T x) {
#if defined(__x86_64__)
  asm("" : "+x"(x));
#elif defined(__aarch64__)
  asm("" : "+w"(x));
#else
  volatile T v = x;
  x = v;
#endif
  return x;
}
}  // namespace nlemu
inline float __fadd_rn(float a, float b) { return nlemu::opaque(nlemu::opaque(a) + nlemu::opaque(b)); }
inline float __fsub_rn(float a, float b) { return nlemu::opaque(nlemu::opaque(a) - nlemu::opaque(b)); }
inline float __fmul_rn(float a, float b) { return nlemu::opaque(nlemu::opaque(a) * nlemu::opaque(b)); }
inline float __fdiv_rn(float a, float b) { return nlemu::opaque(nlemu::opaque(a) / nlemu::opaque(b)); }
inline float __fsqrt_rn(float a) { return nlemu::opaque(std::sqrt(nlemu::opaque(a))); }
inline double __dadd_rn(double a, double b) { return nlemu::opaque(nlemu::opaque(a) + nlemu::opaque(b)); }
inline double __dmul_rn(double a, double b) { return nlemu::opaque(nlemu::opaque(a) * nlemu::opaque(b)); }

// Intrinsics with their host meaning (the fast-math ones at full precision).
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int u; std::memcpy(&u, &x, 4); return u; }
inline float __int_as_float(int u) { float x; std::memcpy(&x, &u, 4); return x; }
inline long long __double_as_longlong(double x) { long long u; std::memcpy(&u, &x, 8); return u; }
inline double __longlong_as_double(long long u) { double x; std::memcpy(&x, &u, 8); return x; }
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
template <class T>
T __ldg(const T* p) { return *p; }
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline float min(float a, float b) { return std::fmin(a, b); }

// The vector type of cuda_runtime.h the kernels load and store 16 bytes at a time with.
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// bf16 as cuda_bf16.h: the upper half of a float, rounded to nearest even.
struct __nv_bfloat16 {
  unsigned short __x;
};
inline __nv_bfloat16 __float2bfloat16(float f) {
  unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {static_cast<unsigned short>((u >> 16) | 0x40)};  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return {static_cast<unsigned short>(u >> 16)};
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __float2bfloat16(f); }
inline float __bfloat162float(__nv_bfloat16 b) { return __uint_as_float(static_cast<unsigned>(b.__x) << 16); }

namespace nlemu {

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 of one warp: d (16 x 8) += a (16 x 16) b (16 x 8)
// with the PTX ISA's fragment layouts (g = lane / 4, t = lane % 4; the low half of a word is the
// first element): a[0] = A[g][2t, 2t+1], a[1] = A[g+8][2t, 2t+1], a[2] = A[g][2t+8, 2t+9],
// a[3] = A[g+8][2t+8, 2t+9]; b0 = B[2t, 2t+1][g], b1 = B[2t+8, 2t+9][g]; d[0..1] = D[g][2t, 2t+1],
// d[2..3] = D[g+8][2t, 2t+1]. Products of bf16 are exact in fp32; the sum runs over k in order
// (the hardware's order is unspecified, so a test allows for rounding in the accumulation).
inline float bf16_half(uint32_t w, int hi) { return __uint_as_float(hi ? w & 0xffff0000u : w << 16); }
inline void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  Scheduler& s = sched();
  const int me = linear_tid(), lane = me % 32, base = me - lane, g = lane >> 2, t = lane & 3;
  uint32_t* mine = &s.fragments[static_cast<size_t>(me) * 6];
  for (int r = 0; r < 4; r++) mine[r] = a[r];
  mine[4] = b0;
  mine[5] = b1;
  warp_barrier();
  float out[4];
  for (int r = 0; r < 2; r++) {    // rows g, g + 8
    for (int c = 0; c < 2; c++) {  // columns 2t, 2t + 1
      const int n = 2 * t + c;
      float acc = d[2 * r + c];
      for (int k = 0; k < 16; k++) {
        const uint32_t* fa = &s.fragments[static_cast<size_t>(base + 4 * g + (k & 7) / 2) * 6];
        const uint32_t* fb = &s.fragments[static_cast<size_t>(base + 4 * n + (k & 7) / 2) * 6];
        acc += bf16_half(fa[(k >= 8 ? 2 : 0) + r], k & 1) * bf16_half(fb[4 + (k >= 8)], k & 1);
      }
      out[2 * r + c] = acc;
    }
  }
  warp_barrier();  // every lane has read the fragments before any lane writes its next ones
  for (int i = 0; i < 4; i++) d[i] = out[i];
}

}  // namespace nlemu


// The runtime API the backend uses, on host memory. Every call is synchronous.
enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidValue = 1, cudaErrorNoDevice = 100 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
struct CUstream_st {};
using cudaStream_t = CUstream_st*;
struct CUevent_st { std::chrono::steady_clock::time_point t; };
using cudaEvent_t = CUevent_st*;
struct cudaDeviceProp {
  char name[256];
  int major, minor, multiProcessorCount;
  size_t totalGlobalMem, sharedMemPerBlockOptin;
};

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "invalid argument";
  }
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaPeekAtLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaDriverGetVersion(int* v) { *v = 0; return cudaSuccess; }
inline cudaError_t cudaRuntimeGetVersion(int* v) { *v = 0; return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "cuda_emu (CPU)");
  p->major = 9; p->minor = 0; p->multiProcessorCount = 2;
  p->totalGlobalMem = size_t{1} << 32;
  p->sharedMemPerBlockOptin = 227 * 1024;
  return cudaSuccess;
}
// cudaMalloc's memory holds whatever was there: here garbage (nlemu::garbage_byte, each allocation a
// turn), where aligned_alloc's fresh pages would be zeros.
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  static std::atomic<uint64_t> allocations{0};
  const size_t padded = (bytes + 255) / 256 * 256 + 256;
  *p = std::aligned_alloc(256, padded);
  if (!*p) return cudaErrorMemoryAllocation;
  std::memset(*p, nlemu::garbage_byte(allocations++), bytes);
#ifdef NLEMU_ASAN
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(*p) + bytes, padded - bytes);  // past the end: an error
#endif
  return cudaSuccess;
}
template <class T>
cudaError_t cudaMalloc(T** p, size_t bytes) { return cudaMalloc(reinterpret_cast<void**>(p), bytes); }
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMallocHost(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t cudaFreeHost(void* p) { return cudaFree(p); }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { if (n) std::memmove(d, s, n); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind k, cudaStream_t = nullptr) { return cudaMemcpy(d, s, n, k); }
inline cudaError_t cudaMemset(void* d, int v, size_t n) { if (n) std::memset(d, v, n); return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t = nullptr) { return cudaMemset(d, v, n); }
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { static CUstream_st one; *s = &one; return cudaSuccess; }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { return cudaStreamCreate(s); }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaMemGetInfo(size_t* free, size_t* total) { *free = *total = size_t{1} << 32; return cudaSuccess; }
constexpr int cudaFuncAttributeMaxDynamicSharedMemorySize = 8;
// Records a kernel's dynamic shared memory limit (what launches check), up to sm_90's 227 KB.
inline cudaError_t cudaFuncSetAttribute(const void* kernel, int attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;
  if (value < 0 || static_cast<size_t>(value) > nlemu::kSmemOptInMax) return cudaErrorInvalidValue;
  nlemu::sched().smemOptIn[kernel] = static_cast<size_t>(value);
  return cudaSuccess;
}
template <class F>
cudaError_t cudaFuncSetAttribute(F* kernel, int attr, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), attr, value);
}
constexpr unsigned cudaStreamNonBlocking = 1;
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { *e = new CUevent_st{}; return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) { delete e; return cudaSuccess; }
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t = nullptr) { e->t = std::chrono::steady_clock::now(); return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  *ms = std::chrono::duration<float, std::milli>(b->t - a->t).count();
  return cudaSuccess;
}
