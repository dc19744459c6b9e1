// Mark for compilation: which runtime nodes the JIT may compile, and how they group into clusters.
// Private to jit/ (and its tests).
#ifndef KILN_JIT_MARK_FOR_COMPILATION_H_
#define KILN_JIT_MARK_FOR_COMPILATION_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/graph.h"
#include "kiln/runtime/op_registry.h"

namespace kiln::jit {

// The value of `value` when it is a compile-time constant at this auto_jit level, else nullopt.
//   level 1: an initializer that is not also a graph input (so cannot be fed), or the output of a
//            "Constant" node;
//   level 2: in addition, any value whose constant value shape inference folded (`types[value].value`),
//            e.g. a Reshape target computed by Shape -> Gather -> Concat from static dims.
std::optional<Tensor> StaticConstant(const Graph& graph, const std::map<std::string, TensorType>& types,
                                     const std::string& value, int auto_jit);

// For each node of `graph`, whether it may join a cluster: its op lowers to HLO for its static input
// types (a trial lowering of the node alone succeeds), the backend supports every instruction of that
// lowering, every output is f32 with fully known dims, and every input is either f32 with fully
// known dims or a static constant (see StaticConstant). Errors only for an unknown backend.
absl::StatusOr<std::vector<bool>> FindCompilableNodes(const Graph& graph,
                                                      const std::map<std::string, TensorType>& types,
                                                      const JitOptions& options);

// Why node `index` is not compilable ("" when it is); for `kiln info` and tests.
std::string ExplainNotCompilable(const Graph& graph, const std::map<std::string, TensorType>& types,
                                 const JitOptions& options, int index);

// Groups compilable nodes into clusters by contracting data and control edges between compilable
// nodes, merging a producer's cluster with a consumer's only when no other path joins them (which
// would go through a node outside both and so close a cycle). Returns the clusters with at least
// `min_cluster_size` nodes, each as node indices in topological order, the clusters ordered by
// their first node. Errors: the graph itself is malformed (see Graph::TopologicalOrder).
absl::StatusOr<std::vector<std::vector<int>>> FindClusters(const Graph& graph,
                                                           const std::vector<bool>& compilable,
                                                           int min_cluster_size);

}  // namespace kiln::jit

#endif  // KILN_JIT_MARK_FOR_COMPILATION_H_
