// The executor: runs a graph's nodes in topological order with their kernels.
#ifndef KILN_RUNTIME_EXECUTOR_H_
#define KILN_RUNTIME_EXECUTOR_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"
#include "kiln/runtime/op_registry.h"

namespace kiln {

using Feeds = std::vector<std::pair<std::string, Tensor>>;

class Executor {
 public:
  // Validates the graph (topological order, known ops, shape inference) and builds one kernel per
  // node. Errors name the node and problem.
  static absl::StatusOr<std::unique_ptr<Executor>> Create(std::shared_ptr<const Graph> graph);

  // Runs the nodes needed for `fetches`. Every graph input the fetches depend on must be fed; a
  // feed's dtype and rank must match the declared input and each known dimension must agree
  // (InvalidArgument naming the input otherwise). Thread-safe: each call has its own values.
  absl::StatusOr<std::vector<Tensor>> Run(const Feeds& feeds,
                                          const std::vector<std::string>& fetches) const;

  const Graph& graph() const { return *graph_; }
  // Static types inferred from the declared inputs.
  const std::map<std::string, TensorType>& types() const { return types_; }

 private:
  Executor() = default;
  std::shared_ptr<const Graph> graph_;
  std::vector<int> order_;
  std::vector<std::unique_ptr<OpKernel>> kernels_;  // Indexed like graph_->nodes.
  std::map<std::string, TensorType> types_;
  std::map<std::string, int> value_index_;          // Value name -> slot.
  std::vector<std::vector<int>> node_inputs_;       // Per node: slots (-1 = absent).
  std::vector<std::vector<int>> node_outputs_;
  std::vector<int> last_use_;                       // Per slot: position in order_ of last reader.
};

}  // namespace kiln

#endif  // KILN_RUNTIME_EXECUTOR_H_
