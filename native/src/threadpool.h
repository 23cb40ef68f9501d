// Persistent fork-join thread pool for nanolab's CPU kernels.
// Threads are created once and parked between jobs (short spin, then a condition variable), so a
// parallel call costs a wake-up, not a thread spawn.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace nanolab {

class ThreadPool {
 public:
  typedef void (*TaskFn)(void* ctx, int task, int tid);

  explicit ThreadPool(int nthreads);  // total threads, the calling thread included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return nthreads_; }

  // Runs fn(ctx, task, tid) for every task in [0, ntasks): tasks are claimed dynamically, the
  // caller works as tid 0, workers as 1..size()-1. Returns after all tasks finished.
  // Returns false without running anything when the pool is already busy (another caller thread,
  // or a nested call from inside a task); the caller should then run the tasks itself.
  bool run(int ntasks, TaskFn fn, void* ctx);

  // True on a thread that is currently executing pool tasks (used to avoid nested parallelism).
  static bool in_worker();

 private:
  void worker_main(int tid);
  void work(int tid);

  int nthreads_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time

  std::mutex m_;
  std::condition_variable wake_cv_, done_cv_;
  std::atomic<unsigned> generation_{0};  // bumped once per job; workers wait for a change
  bool stop_ = false;
  int sleepers_ = 0;        // workers blocked on wake_cv_ (guarded by m_)
  bool caller_waiting_ = false;  // guarded by m_

  // current job
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int ntasks_ = 0;
  std::atomic<int> next_task_{0};
  std::atomic<int> pending_{0};  // workers that have not finished the current job
};

}  // namespace nanolab
