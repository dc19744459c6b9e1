// The process-wide cache of compiled clusters, keyed by a cluster's compilation signature.
// Private to jit/.
#ifndef KILN_JIT_COMPILATION_CACHE_H_
#define KILN_JIT_COMPILATION_CACHE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "kiln/backends/backend.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/executor.h"

namespace kiln::jit {

// The outcome of compiling one cluster for one signature: an executable, or (when lowering or
// compilation failed) the failure and an executor that runs the cluster with the runtime kernels.
struct CompiledCluster {
  std::unique_ptr<backends::Executable> executable;
  absl::Status failure;
  std::unique_ptr<Executor> fallback;
};

class CompilationCache {
 public:
  // The cache shared by every session of the process.
  static CompilationCache& Global();

  using CompileFn = std::function<std::shared_ptr<const CompiledCluster>()>;
  // What one GetOrCompile call did.
  enum class Lookup { kHit, kCompiled, kFailed };

  // The entry for `key`. On a miss the calling thread runs `compile` (outside the lock) and stores
  // its result, failures included, so a failed signature is not compiled again; other threads
  // asking for the same key meanwhile wait for that result instead of compiling twice. Never null
  // when `compile` never returns null. Thread-safe.
  // `lookup` (nullable) receives what this call did.
  std::shared_ptr<const CompiledCluster> GetOrCompile(const std::string& key, const CompileFn& compile,
                                                      Lookup* lookup = nullptr);

  CacheStats stats() const;

  // Forgets every entry; compilations in flight finish and hand their result to their waiters
  // but are not kept. Counters stay; `entries` drops to zero.
  void Clear();

 private:
  struct Entry {
    bool ready = false;
    std::shared_ptr<const CompiledCluster> value;
  };
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  CacheStats stats_;
};

}  // namespace kiln::jit

#endif  // KILN_JIT_COMPILATION_CACHE_H_
