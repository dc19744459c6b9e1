// A fixed pool of threads running queued tasks (private to runtime/).
#ifndef KILN_RUNTIME_THREAD_POOL_H_
#define KILN_RUNTIME_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
 public:
  // Starts `threads` threads (at least 1); each first calls `thread_init` (when set), then runs
  // tasks in the order they were scheduled.
  ThreadPool(int threads, std::function<void()> thread_init);
  // Runs the tasks still queued, then joins the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Thread-safe; may be called from a task.
  void Schedule(std::function<void()> task);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void WorkerLoop();

  std::function<void()> thread_init_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Limits the calling thread's OpenMP parallel regions (oneDNN's threads) to `share` of the
// process-wide OpenMP thread count, at least 1, by calling omp_set_num_threads when an OpenMP
// runtime is loaded in the process (looked up at run time; a no-op otherwise).
void LimitOpenMpThreadsOfThisThread(int share);

}  // namespace kiln

#endif  // KILN_RUNTIME_THREAD_POOL_H_
