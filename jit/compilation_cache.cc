#include "jit/compilation_cache.h"

namespace kiln::jit {

CompilationCache& CompilationCache::Global() {
  static CompilationCache* cache = new CompilationCache();
  return *cache;
}

std::shared_ptr<const CompiledCluster> CompilationCache::GetOrCompile(const std::string& key,
                                                                      const CompileFn& compile, Lookup* lookup) {
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      entry = it->second;
      ++stats_.hits;
      if (lookup != nullptr) *lookup = Lookup::kHit;
      ready_.wait(lock, [&] { return entry->ready; });
      return entry->value;
    }
    entry = std::make_shared<Entry>();
    entries_.emplace(key, entry);
    ++stats_.entries;
  }
  std::shared_ptr<const CompiledCluster> value = compile();
  {
    std::lock_guard<std::mutex> lock(mu_);
    entry->value = value;
    entry->ready = true;
    const bool compiled = value != nullptr && value->executable != nullptr;
    ++(compiled ? stats_.compilations : stats_.failures);
    if (lookup != nullptr) *lookup = compiled ? Lookup::kCompiled : Lookup::kFailed;
  }
  ready_.notify_all();
  return value;
}

void CompilationCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  stats_.entries = 0;
}

CacheStats CompilationCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace kiln::jit
