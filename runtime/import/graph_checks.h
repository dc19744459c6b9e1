// Checks every importer applies to the Graph it built (private to runtime/import).
#ifndef KILN_RUNTIME_IMPORT_GRAPH_CHECKS_H_
#define KILN_RUNTIME_IMPORT_GRAPH_CHECKS_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "kiln/runtime/graph.h"

namespace kiln::import_checks {

// Subgraphs nested deeper than this are refused (a corrupt or hostile file).
inline constexpr int kMaxSubgraphDepth = 32;
// Declared input and output shapes over this many elements (2^32) are refused as corrupt.
inline constexpr int64_t kMaxDeclaredElements = kMaxTensorElements;

// Checks an imported graph, and recursively every graph attribute (whose nodes may also read the
// values of the graphs that enclose them, `outer_scope`):
//   - declared input and output shapes hold at most kMaxDeclaredElements elements;
//   - node names are unique and every node has an op that the global OpRegistry knows
//     (`check_ops`; call RegisterStandardOps first);
//   - no value is produced twice, or produced by a node and also a graph input or initializer;
//   - every value a node reads, and every graph output, is a node output, a graph input, an
//     initializer or (subgraphs) a value of an enclosing graph;
//   - control inputs name nodes of the same graph;
//   - the nodes form no cycle (through data or control edges).
// InvalidArgument (Unimplemented for an unknown op), naming the graph, the node and the value.
// The caller prefixes the model's name.
absl::Status CheckGraph(const Graph& graph, bool check_ops = true,
                        const std::set<std::string>& outer_scope = {}, int depth = 0);

}  // namespace kiln::import_checks

#endif  // KILN_RUNTIME_IMPORT_GRAPH_CHECKS_H_
