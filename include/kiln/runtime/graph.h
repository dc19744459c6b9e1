// The runtime graph: nodes in Kiln's op set (ONNX operator semantics), connected by named values
// (data edges) and by control edges.
#ifndef KILN_RUNTIME_GRAPH_H_
#define KILN_RUNTIME_GRAPH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

struct Graph;

// An attribute value. Graph attributes carry subgraphs (a JIT launch node's cluster, control flow).
using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor, std::shared_ptr<const Graph>>;

struct Node {
  std::string name;
  std::string op;                       // Kiln op type, e.g. "Conv".
  std::vector<std::string> inputs;      // Value names; "" marks an absent optional input.
  std::vector<std::string> outputs;     // Value names produced, in output order.
  std::vector<std::string> control_inputs;  // Names of nodes that must finish before this one.
  std::map<std::string, AttrValue> attrs;

  bool HasAttr(const std::string& key) const { return attrs.count(key) > 0; }
  // Typed getters: the default when the attribute is absent; InvalidArgument (naming node and
  // attribute) when it is present with another type.
  absl::StatusOr<int64_t> GetInt(const std::string& key, std::optional<int64_t> def = {}) const;
  absl::StatusOr<float> GetFloat(const std::string& key, std::optional<float> def = {}) const;
  absl::StatusOr<std::string> GetString(const std::string& key,
                                        std::optional<std::string> def = {}) const;
  absl::StatusOr<std::vector<int64_t>> GetInts(const std::string& key,
                                               std::optional<std::vector<int64_t>> def = {}) const;
  absl::StatusOr<std::vector<float>> GetFloats(const std::string& key,
                                               std::optional<std::vector<float>> def = {}) const;
  absl::StatusOr<Tensor> GetTensor(const std::string& key) const;
  absl::StatusOr<std::shared_ptr<const Graph>> GetGraph(const std::string& key) const;

  // Number of inputs that are present (non-empty names) counting from the front.
  int num_inputs() const { return static_cast<int>(inputs.size()); }
  bool has_input(int i) const { return i < num_inputs() && !inputs[i].empty(); }
};

// Declared type of a graph input or output; -1 marks an unknown (symbolic) dimension.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kInvalid;
  Dims dims;
  bool has_shape = true;  // False when the rank itself is unknown.
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // Any order; TopologicalOrder() gives an execution order.
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::map<std::string, Tensor> initializers;  // Constant values, by name.

  // Indices into `nodes` in an order where every producer (data or control) precedes its users.
  // Errors: a value used but neither produced, fed nor an initializer; a value produced twice; a
  // control input naming no node; a cycle (the message names a node on it).
  absl::StatusOr<std::vector<int>> TopologicalOrder() const;
  // Index of the node producing `value`, or -1 (graph input, initializer or unknown).
  int FindProducer(const std::string& value) const;
  const ValueInfo* FindInput(const std::string& name) const;
  // A name not used by any node, value or initializer, starting with `prefix`.
  std::string UniqueName(const std::string& prefix) const;
};

}  // namespace kiln

#endif  // KILN_RUNTIME_GRAPH_H_
