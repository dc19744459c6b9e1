// Session: load a model, optionally JIT-compile its clusters, run it.
#ifndef KILN_SESSION_SESSION_H_
#define KILN_SESSION_SESSION_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/runtime/executor.h"
#include "kiln/runtime/graph.h"

namespace kiln {

struct SessionOptions {
  // -1 takes the value from KILN_FLAGS (--auto_jit); 0 off; 1 and 2 on.
  int auto_jit = -1;
  // Empty strings and -1 likewise take KILN_FLAGS' values.
  std::string dump_to;
  std::string backend;
  int min_cluster_size = -1;
  // Threads that run independent nodes at once (ExecutorOptions::inter_op_threads); -1 takes
  // KILN_FLAGS' --inter_op_threads.
  int inter_op_threads = -1;
  // Plan activation memory in a reused arena (ExecutorOptions::memory_plan).
  bool memory_plan = true;
  // Fold constant subgraphs into initializers before clustering (FoldConstantNodes); -1 takes
  // KILN_FLAGS' --fold_constants, 0 off, 1 on.
  int fold_constants = -1;
  // After a cluster compiles, time it against the runtime kernels on the first call and keep the
  // faster (JitOptions::measure_choice); -1 takes KILN_FLAGS' --measure_choice, 0 off, 1 on.
  int measure_choice = -1;
};

// This session's own JIT counters: lookups of the process-wide compilation cache by its launch
// nodes. A second session of the same model finds the first one's executables: hits, no compilations.
struct SessionStats {
  int num_clusters = 0;        // Launch nodes in the executed graph.
  int folded_nodes = 0;        // Nodes that load-time folding removed (constant nodes, BatchNormalizations
                               // folded into their Conv).
  int64_t compilations = 0;    // Cluster compilations this session caused (cache misses).
  int64_t cache_hits = 0;      // Lookups that found an executable.
  int64_t failures = 0;        // Lookups whose cluster runs on the kernels: its lowering or compilation
                               // failed, in this call or in an earlier one (remembered).
  double compile_ms = 0;       // Wall time of those compilations: lowering and compiling, in ms.
  int64_t kernels_chosen = 0;  // Compiled signatures that measured slower than the runtime kernels,
                               // which therefore run them (SessionOptions::measure_choice).
  int compiled_in_parallel = 0;  // Clusters the first Run compiled at once, before running any node
                                 // (jit::CompileClustersInParallel); 0 before the first Run.
  double parallel_compile_ms = 0;  // Wall time of that phase (compile_ms sums each cluster's own time).
};

class Session {
 public:
  // Checks the graph's types and shapes and, with the JIT on, forms its clusters. Errors: a malformed
  // KILN_FLAGS (InvalidArgument naming the flag, see EnvFlags); a dump folder (dump_to, with the JIT
  // on) that cannot be created or written; type and shape errors starting "<op> node '<name>': ".
  static absl::StatusOr<std::unique_ptr<Session>> Create(Graph graph, const SessionOptions& options = {});
  // Imports the model file (format from its extension/contents) and creates a session. Errors about
  // the model, from the importer or from Create's checks, start with "model '<path>': ".
  static absl::StatusOr<std::unique_ptr<Session>> Load(const std::string& path,
                                                       const SessionOptions& options = {});

  // Runs the graph; `fetches` empty means every graph output. Thread-safe.
  absl::StatusOr<std::vector<Tensor>> Run(const Feeds& feeds,
                                          const std::vector<std::string>& fetches = {}) const;

  // The graph as imported, and as executed (after clustering when the JIT is on).
  const Graph& graph() const { return *original_; }
  const Graph& executed_graph() const { return executor_->graph(); }
  SessionStats stats() const;

 private:
  Session() = default;
  std::shared_ptr<const Graph> original_;
  std::unique_ptr<Executor> executor_;
  int folded_nodes_ = 0;
  bool jit_ = false;
  // The first Run compiles the clusters whose input types are known in parallel
  // (jit::CompileClustersInParallel) before running; concurrent first Runs wait for it.
  mutable std::once_flag compile_clusters_;
  mutable std::atomic<int> compiled_in_parallel_{0};
  mutable std::atomic<int64_t> parallel_compile_ns_{0};
};

}  // namespace kiln

#endif  // KILN_SESSION_SESSION_H_
