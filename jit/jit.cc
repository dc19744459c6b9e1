#include "kiln/jit/jit.h"

#include <algorithm>

#include "jit/compilation_cache.h"
#include "jit/encapsulate.h"
#include "jit/mark_for_compilation.h"
#include "kiln/support/status.h"

namespace kiln::jit {

absl::StatusOr<int> MarkAndEncapsulate(Graph& graph, const std::map<std::string, TensorType>& types,
                                       const JitOptions& options) {
  if (options.auto_jit <= 0) return 0;
  KILN_ASSIGN_OR_RETURN(std::vector<bool> compilable, FindCompilableNodes(graph, types, options));
  KILN_ASSIGN_OR_RETURN(std::vector<std::vector<int>> clusters,
                   FindClusters(graph, compilable, std::max(1, options.min_cluster_size)));
  if (clusters.empty()) return 0;
  RegisterJitOps();
  return EncapsulateClusters(graph, clusters, types, options);
}

absl::StatusOr<ClusteringReport> ExplainClustering(const Graph& graph,
                                                   const std::map<std::string, TensorType>& types,
                                                   const JitOptions& options) {
  JitOptions effective = options;
  if (effective.auto_jit <= 0) effective.auto_jit = 2;
  ClusteringReport report;
  KILN_ASSIGN_OR_RETURN(std::vector<bool> compilable, FindCompilableNodes(graph, types, effective));
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (compilable[i]) continue;
    report.not_compilable.emplace_back(graph.nodes[i].name,
                                       ExplainNotCompilable(graph, types, effective, static_cast<int>(i)));
  }
  Graph copy = graph;
  KILN_ASSIGN_OR_RETURN(std::vector<std::vector<int>> clusters,
                   FindClusters(copy, compilable, std::max(1, effective.min_cluster_size)));
  KILN_RETURN_IF_ERROR(EncapsulateClusters(copy, clusters, types, effective).status());
  for (const Node& node : copy.nodes) {
    if (node.op != kLaunchOp) continue;
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Graph> cluster, node.GetGraph("cluster"));
    ClusterSummary summary;
    summary.name = node.name;
    KILN_ASSIGN_OR_RETURN(summary.fingerprint, node.GetString("fingerprint"));
    for (const Node& member : cluster->nodes) ++summary.op_counts[member.op];
    summary.num_ops = static_cast<int>(cluster->nodes.size());
    summary.num_inputs = static_cast<int>(cluster->inputs.size());
    summary.num_outputs = static_cast<int>(cluster->outputs.size());
    report.clusters.push_back(std::move(summary));
  }
  return report;
}

CacheStats GetCacheStats() { return CompilationCache::Global().stats(); }

void ClearCompilationCache() { CompilationCache::Global().Clear(); }

}  // namespace kiln::jit
