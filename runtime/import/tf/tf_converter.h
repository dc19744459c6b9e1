// GraphDef -> kiln::Graph translation shared by the .pb and TensorFlow.js importers (private to
// runtime/import). ConvertGraphDef is the entry point; the rest is the interface between the
// graph-level driver (tf_converter.cc) and the per-op translations (tf_ops.cc).
#ifndef KILN_RUNTIME_IMPORT_TF_TF_CONVERTER_H_
#define KILN_RUNTIME_IMPORT_TF_TF_CONVERTER_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"
#include "kiln/runtime/op_registry.h"
#include "tensorflow_graph.pb.h"

namespace kiln::tf_import {

struct ConvertOptions {
  // Values of Const nodes by node name; they replace the node's own `value` (TensorFlow.js keeps
  // weights outside the graph).
  std::map<std::string, Tensor> constants;
  // Graph outputs as TensorFlow tensor names ("node" or "node:N"). Empty: every output of a node
  // that no other node reads (Const and NoOp nodes excluded).
  std::vector<std::string> outputs;
};

// Translates `graph` into Kiln's op set. Only the nodes the outputs depend on are translated.
// Errors name the TensorFlow node and op (unknown ops are Unimplemented).
absl::StatusOr<Graph> ConvertGraphDef(const tf::GraphDef& graph, const ConvertOptions& options);

class Converter;

// What a translation sees of one TensorFlow node.
class NodeContext {
 public:
  NodeContext(Converter& converter, const tf::NodeDef& node, std::vector<std::string> inputs)
      : converter_(converter), node_(node), inputs_(std::move(inputs)) {}
  const tf::NodeDef& node() const { return node_; }
  Converter& converter() { return converter_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // The Kiln value name of data input i.
  const std::string& input(int i) const { return inputs_[i]; }
  // The Kiln value name that TensorFlow output i must have ("node", "node:1", ...).
  std::string out(int i) const;
  // The inferred type of data input i, and its value when it is a known constant.
  const TensorType& input_type(int i) const;
  std::optional<Tensor> const_input(int i) const;
  // Constant integer input i as int64 values; InvalidArgument naming the node when not constant.
  absl::StatusOr<std::vector<int64_t>> const_ints(int i, std::string_view what) const;

  // Attributes: `def` when absent; InvalidArgument naming the node when of another kind.
  absl::StatusOr<int64_t> attr_int(const std::string& name, std::optional<int64_t> def = {}) const;
  absl::StatusOr<float> attr_float(const std::string& name, std::optional<float> def = {}) const;
  absl::StatusOr<bool> attr_bool(const std::string& name, std::optional<bool> def = {}) const;
  absl::StatusOr<std::string> attr_string(const std::string& name, std::optional<std::string> def = {}) const;
  absl::StatusOr<std::vector<int64_t>> attr_ints(const std::string& name,
                                                 std::optional<std::vector<int64_t>> def = {}) const;
  absl::StatusOr<std::vector<std::string>> attr_strings(const std::string& name) const;
  absl::StatusOr<DType> attr_dtype(const std::string& name) const;

  // InvalidArgument / Unimplemented naming the node and op.
  absl::Status Error(std::string_view message) const;
  absl::Status Unsupported(std::string_view message) const;

 private:
  Converter& converter_;
  const tf::NodeDef& node_;
  std::vector<std::string> inputs_;
};

// Builds the Kiln graph, inferring each value's type as nodes are added (with constant folding of
// small values), so translations can read ranks and constant operands.
class Converter {
 public:
  Graph& graph() { return graph_; }
  // Adds an initializer named after `hint` (made unique) and returns its name.
  std::string AddConst(const std::string& hint, Tensor value);
  // Adds a node computing `op` and returns its output names: `outputs` where given (a name per
  // output), otherwise `num_outputs` fresh names derived from `hint`. Runs the op's shape function;
  // errors name the Kiln op and the TensorFlow node.
  absl::StatusOr<std::vector<std::string>> Emit(const std::string& op, const std::string& hint,
                                                std::vector<std::string> inputs,
                                                std::map<std::string, AttrValue> attrs,
                                                std::vector<std::string> outputs, int num_outputs = 1);
  // One-output shorthand: emits into `output` (or a fresh name when empty).
  absl::StatusOr<std::string> Emit1(const std::string& op, const std::string& hint, std::vector<std::string> inputs,
                                    std::map<std::string, AttrValue> attrs = {}, const std::string& output = "");
  const TensorType& Type(const std::string& value) const;
  void SetType(const std::string& value, TensorType type) { types_[value] = std::move(type); }
  std::string FreshName(const std::string& hint);
  void Reserve(const std::string& name) { used_.insert(name); }

 private:
  Graph graph_;
  std::map<std::string, TensorType> types_;
  std::set<std::string> used_;
  std::set<std::string> node_names_;
};

// Translation of one TensorFlow op type.
using TranslateFn = std::function<absl::Status(NodeContext&)>;
// op type -> translation (tf_ops.cc).
const std::map<std::string, TranslateFn>& TranslationTable();

}  // namespace kiln::tf_import

#endif  // KILN_RUNTIME_IMPORT_TF_TF_CONVERTER_H_
