// The process-wide cache of compiled clusters, keyed by what the compiled code depends on: the
// canonical HLO module, the backend, its target and Kiln's version (CompilationKey). Private to jit/.
#ifndef KILN_JIT_COMPILATION_CACHE_H_
#define KILN_JIT_COMPILATION_CACHE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "kiln/backends/backend.h"
#include "kiln/hlo/module.h"
#include "kiln/jit/jit.h"

namespace kiln::jit {

// `module` printed as its HLO text with canonical names: the module "m", the entry computation
// "main", other computations "c0", "c1", ... and instructions "v0", "v1", ... in post order, so that
// clusters lowering to the same HLO under other names print alike. Array constants appear as their
// shape and a hash of their bytes rather than their values. The names are set on `module` while it
// prints and restored before it returns (a clone would copy every weight).
std::string CanonicalModuleText(hlo::Module& module);

// The cache key of `module` compiled by `backend`: a 64-bit fingerprint of CanonicalModuleText,
// the backend's name, its TargetDescription() (options, target CPU name and features) and
// KILN_VERSION.
std::string CompilationKey(hlo::Module& module, const backends::Backend& backend);

// The outcome of compiling one module: an executable, or the failure of lowering or compilation
// (the launch node then runs its cluster with the runtime kernels).
struct CompiledCluster {
  std::unique_ptr<backends::Executable> executable;
  absl::Status failure;
};

class CompilationCache {
 public:
  // The cache shared by every session of the process.
  static CompilationCache& Global();

  using CompileFn = std::function<std::shared_ptr<const CompiledCluster>()>;
  // What one GetOrCompile call did.
  enum class Lookup { kHit, kCompiled, kFailed };

  // The entry for `key`. On a miss the calling thread runs `compile` (outside the lock) and stores
  // its result, failures included, so a failed key is not compiled again; other threads
  // asking for the same key meanwhile wait for that result instead of compiling twice. Never null
  // when `compile` never returns null. Thread-safe.
  // `lookup` (nullable) receives what this call did.
  std::shared_ptr<const CompiledCluster> GetOrCompile(const std::string& key, const CompileFn& compile,
                                                      Lookup* lookup = nullptr);

  // Counts a hit found without GetOrCompile: a launch node's own memo of an entry it looked up.
  void CountHit();

  CacheStats stats() const;

  // Forgets every entry; compilations in flight finish and hand their result to their waiters
  // but are not kept. Counters stay; `entries` drops to zero; generation() grows.
  void Clear();
  // How many times Clear has run: launch nodes drop what they memoized in an earlier generation.
  int64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  struct Entry {
    bool ready = false;
    std::shared_ptr<const CompiledCluster> value;
  };
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  CacheStats stats_;
  std::atomic<int64_t> generation_{0};
};

}  // namespace kiln::jit

#endif  // KILN_JIT_COMPILATION_CACHE_H_
