// The JIT: clustering of supported runtime ops, encapsulation of each cluster into one launch node,
// and the process-wide compilation cache used by the launch kernels.
#ifndef KILN_JIT_JIT_H_
#define KILN_JIT_JIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"
#include "kiln/runtime/op_registry.h"

namespace kiln::jit {

struct JitOptions {
  int auto_jit = 0;            // 0 leaves the graph alone.
  int min_cluster_size = 2;
  std::string dump_to;         // Folder for each compiled cluster's HLO text ("" = none).
  std::string backend = "cpu";
  // After a cluster compiles for a signature, time the compiled code against the runtime kernels on
  // that call's inputs and keep the faster (docs/jit.md, "Measured choice"). Tests that check what
  // the compiled code computes turn it off.
  bool measure_choice = true;
};

// Registers the launch op ("_KilnLaunch") with the op registry. Idempotent.
void RegisterJitOps();

// Marks cycle-free clusters of ops that lower to HLO and that the backend supports, and replaces
// each cluster by one "_KilnLaunch" node carrying the cluster as a subgraph attribute. `types` are
// the statically inferred types of the graph's values. Returns the number of clusters formed.
absl::StatusOr<int> MarkAndEncapsulate(Graph& graph, const std::map<std::string, TensorType>& types,
                                       const JitOptions& options);

// What clustering does to a graph, for `kiln info` and debugging.
struct ClusterSummary {
  std::string name;          // The launch node's name.
  std::string fingerprint;
  std::map<std::string, int> op_counts;  // Runtime op -> how many of the cluster's nodes have it.
  int num_ops = 0;
  int num_inputs = 0;
  int num_outputs = 0;
};
struct ClusteringReport {
  std::vector<ClusterSummary> clusters;
  // Nodes that may not join any cluster, with the reason (op without lowering, dynamic shape, ...).
  std::vector<std::pair<std::string, std::string>> not_compilable;
};
// Runs clustering on a copy of `graph` (the graph is unchanged). With options.auto_jit == 0 the
// report shows what auto_jit=2 would form, so tools can show what the JIT would do.
absl::StatusOr<ClusteringReport> ExplainClustering(const Graph& graph,
                                                   const std::map<std::string, TensorType>& types,
                                                   const JitOptions& options);

struct CacheStats {
  int64_t compilations = 0;  // Cache misses that compiled an executable.
  int64_t hits = 0;
  int64_t entries = 0;
  int64_t failures = 0;      // Misses whose lowering or compilation failed (run on the kernels).
  double compile_ms = 0;     // Wall time of the lookups that compiled (lowering and compilation);
                             // filled by LaunchKernelStats, 0 from GetCacheStats.
  int64_t kernels_chosen = 0;  // Signatures whose compiled code measured slower than the kernels, so
                               // the kernels run them (LaunchKernelStats only).
};
// Counters of the process-wide compilation cache.
CacheStats GetCacheStats();
// The cache lookups of one launch node's kernel (`entries` stays 0); zeros for any other kernel.
CacheStats LaunchKernelStats(const OpKernel& kernel);
// Compiles, on up to one thread per hardware thread, every launch node among `kernels` whose input
// types the graph's shape inference knows, so that a model's independent clusters compile at once
// instead of one after another as the first run reaches them; each launch node then finds its
// executable on its first execution (a failed compilation is remembered the same way). Counters
// (LaunchKernelStats) read as if each node had compiled on its first execution. Does nothing with
// fewer than two such nodes. Returns the number of nodes compiled. Session::Run calls it once, before
// the first run.
int CompileClustersInParallel(const std::vector<const OpKernel*>& kernels);
// Drops every cached executable (counters stay); later launches compile again. For benchmarks that
// measure first-run latency.
void ClearCompilationCache();

}  // namespace kiln::jit

#endif  // KILN_JIT_JIT_H_
