#include "threadpool.h"

#include <cstdlib>

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax() { __asm__ __volatile__("yield"); }
#else
static inline void cpu_relax() {}
#endif

namespace nanolab {

namespace {
thread_local bool t_in_worker = false;

// How long a parked thread spins before sleeping. Back-to-back GEMMs (a training step issues
// hundreds) then skip the futex wake-up, which costs several microseconds (more in a VM);
// short, because a spinning thread steals issue slots from its hyperthread sibling and CPU
// time from other processes.
// NANOLAB_SPIN_US overrides it (tuning).
std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds t = [] {
    const char* s = std::getenv("NANOLAB_SPIN_US");
    return std::chrono::microseconds(s && *s ? std::atoi(s) : 30);
  }();
  return t;
}

// Spins until done() or kSpin elapsed; returns done().
template <class F>
bool spin_until(F done) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + spin_time();
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      cpu_relax();
      if (done()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}
}  // namespace

bool ThreadPool::in_worker() { return t_in_worker; }

ThreadPool::ThreadPool(int nthreads) : nthreads_(nthreads < 1 ? 1 : nthreads) {
  workers_.reserve(nthreads_ - 1);
  for (int t = 1; t < nthreads_; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(int tid) {
  const bool was = t_in_worker;
  t_in_worker = true;
  for (;;) {
    const int t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= ntasks_) break;
    fn_(ctx_, t, tid);
  }
  t_in_worker = was;
}

void ThreadPool::worker_main(int tid) {
  unsigned seen = 0;
  for (;;) {
    // Wait for a new generation: spin a little, then sleep.
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      std::unique_lock<std::mutex> lk(m_);
      ++sleepers_;
      wake_cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      --sleepers_;
    }
    seen = generation_.load(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> lk(m_);
      if (stop_) return;
    }
    work(tid);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(m_);
      if (caller_waiting_) done_cv_.notify_one();
    }
  }
}

bool ThreadPool::run(int ntasks, TaskFn fn, void* ctx) {
  if (ntasks <= 0) return true;
  if (t_in_worker) return false;  // nested: would deadlock waiting on ourselves
  std::unique_lock<std::mutex> job(run_mutex_, std::try_to_lock);
  if (!job.owns_lock()) return false;

  fn_ = fn;
  ctx_ = ctx;
  ntasks_ = ntasks;
  next_task_.store(0, std::memory_order_relaxed);
  pending_.store(nthreads_ - 1, std::memory_order_relaxed);
  bool notify;
  {
    // Bump under the mutex so a worker that is about to sleep cannot miss it.
    std::lock_guard<std::mutex> lk(m_);
    generation_.fetch_add(1, std::memory_order_release);
    notify = sleepers_ > 0;
  }
  if (notify) wake_cv_.notify_all();

  work(0);

  // Wait for the workers: spin briefly (they usually finish together with us), then sleep.
  if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock<std::mutex> lk(m_);
    caller_waiting_ = true;
    done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    caller_waiting_ = false;
  }
  return true;
}

}  // namespace nanolab
