// Encapsulation: each cluster becomes one "_KilnLaunch" node that carries the cluster as a subgraph.
// Private to jit/ (and its tests).
#ifndef KILN_JIT_ENCAPSULATE_H_
#define KILN_JIT_ENCAPSULATE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/graph.h"
#include "kiln/runtime/op_registry.h"

namespace kiln::jit {

inline constexpr char kLaunchOp[] = "_KilnLaunch";

// A text form of `graph` that depends only on its structure: value and node names are replaced by
// positional ids, graph inputs appear by dtype and rank (their dims belong to the compilation
// signature instead), initializers by dtype, dims and a hash of their bytes, attributes sorted by key.
std::string CanonicalText(const Graph& graph);

// 16 lowercase hex digits of a 64-bit hash of CanonicalText(graph); stable across processes.
std::string Fingerprint(const Graph& graph);

// Stable 64-bit hash of bytes (used for tensor contents and canonical texts).
uint64_t StableHash(const void* data, size_t size, uint64_t seed = 0);

// Replaces each cluster (node indices of `graph`, as FindClusters returns them) by one node of op
// "_KilnLaunch" whose attributes are
//   "cluster":     std::shared_ptr<const Graph>, the cluster's nodes; its inputs are the values
//                  flowing in (f32, dims from `types`), its outputs the values read outside the
//                  cluster or fetched as graph outputs; constants the cluster reads (initializers,
//                  Constant outputs, and at auto_jit=2 folded values) are copied in as initializers;
//   "backend":     options.backend;
//   "fingerprint": Fingerprint(cluster);
//   "dump_to":     options.dump_to (only when set).
// Value names are kept, so nodes outside the clusters are unchanged except that control inputs
// naming a clustered node now name its launch node. Initializers and Constant nodes that nothing
// reads any more are removed. A cluster whose values nobody reads is left as it is.
// Returns the number of launch nodes created.
absl::StatusOr<int> EncapsulateClusters(Graph& graph, const std::vector<std::vector<int>>& clusters,
                                        const std::map<std::string, TensorType>& types,
                                        const JitOptions& options);

}  // namespace kiln::jit

#endif  // KILN_JIT_ENCAPSULATE_H_
