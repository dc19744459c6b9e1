#include "kiln/runtime/constant_folding.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "kiln/runtime/op_registry.h"
#include "kiln/support/status.h"

namespace kiln {

namespace {

bool IsRandomOp(const std::string& op) {
  static const std::set<std::string> kRandom = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                                                "RandomUniformLike", "Multinomial",   "Bernoulli"};
  return kRandom.count(op) > 0;
}

bool HasSubgraph(const Node& node) {
  for (const auto& [key, value] : node.attrs) {
    if (std::holds_alternative<std::shared_ptr<const Graph>>(value)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ConstantFoldingStats> FoldConstantNodes(Graph* graph, const ConstantFoldingOptions& options) {
  ConstantFoldingStats stats;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph->TopologicalOrder());
  KILN_ASSIGN_OR_RETURN(auto types, InferTypes(*graph));
  std::set<std::string> fed;
  for (const ValueInfo& in : graph->inputs) fed.insert(in.name);
  std::set<std::string> control_targets;
  for (const Node& node : graph->nodes) {
    for (const std::string& c : node.control_inputs) control_targets.insert(c);
  }
  const OpRegistry& registry = OpRegistry::Global();
  std::vector<bool> folded(graph->nodes.size(), false);
  std::set<std::string> read_by_folded;
  // Values known only from shape inference, added as initializers for the node that reads them; those
  // whose producer is not folded are removed again at the end.
  std::set<std::string> inferred;
  for (int index : order) {
    const Node& node = graph->nodes[index];
    if (IsRandomOp(node.op) || HasSubgraph(node) || !node.control_inputs.empty() ||
        control_targets.count(node.name) || node.outputs.empty()) {
      continue;
    }
    const OpDef* def = registry.Find(node.op);
    if (def == nullptr || !def->kernel_factory) continue;
    bool constant = true;
    std::vector<const Tensor*> inputs;
    std::vector<TensorType> input_types(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size() && constant; ++i) {
      const std::string& name = node.inputs[i];
      if (name.empty()) continue;
      if (fed.count(name)) {
        constant = false;
        break;
      }
      auto init = graph->initializers.find(name);
      if (init != graph->initializers.end()) {
        input_types[i] = TensorType{init->second.dtype(), init->second.dims(), true, init->second};
        continue;
      }
      // A value shape inference knows (Shape of an input with static dims, and what folds from it).
      auto type = types.find(name);
      if (type == types.end() || !type->second.value.has_value()) {
        constant = false;
        break;
      }
      input_types[i] = type->second;
      graph->initializers[name] = *type->second.value;
      inferred.insert(name);
    }
    if (!constant) continue;
    std::vector<const TensorType*> input_type_ptrs;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const bool present = !node.inputs[i].empty();
      input_type_ptrs.push_back(present ? &input_types[i] : nullptr);
      inputs.push_back(present ? &graph->initializers.at(node.inputs[i]) : nullptr);
    }
    std::vector<TensorType> output_types;
    bool sized = true;
    for (const std::string& out : node.outputs) {
      auto it = types.find(out);
      if (out.empty() || it == types.end()) {
        output_types.emplace_back();
        continue;
      }
      output_types.push_back(it->second);
      const TensorType& t = it->second;
      if (!t.fully_defined() ||
          SatMul(NumElements(t.dims), static_cast<int64_t>(DTypeSize(t.dtype))) > options.max_output_bytes) {
        sized = false;
      }
    }
    if (!sized) continue;
    KernelConstruction construction{node, input_type_ptrs, &output_types};
    absl::StatusOr<std::unique_ptr<OpKernel>> kernel = def->kernel_factory(construction);
    if (!kernel.ok()) continue;
    std::vector<Tensor> results(node.outputs.size());
    KernelContext context(node, inputs, &results);
    if (!(*kernel)->Compute(context).ok()) continue;
    int64_t bytes = 0;
    bool usable = true;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      if (!results[i].valid()) {
        usable = false;
        break;
      }
      bytes += static_cast<int64_t>(results[i].byte_size());
    }
    if (!usable || stats.folded_bytes + bytes > options.max_total_bytes) continue;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      // A folded result may be a view of an input initializer; its own copy keeps the initializer
      // independent of the inputs, which may be removed below.
      graph->initializers[node.outputs[i]] = results[i].Clone();
    }
    for (const std::string& in : node.inputs) {
      if (!in.empty()) read_by_folded.insert(in);
    }
    folded[index] = true;
    ++stats.folded_nodes;
    stats.folded_bytes += bytes;
  }
  for (const std::string& name : inferred) {
    const int producer = graph->FindProducer(name);
    if (producer >= 0 && !folded[producer]) graph->initializers.erase(name);
  }
  if (stats.folded_nodes == 0) return stats;
  std::vector<Node> kept;
  kept.reserve(graph->nodes.size() - stats.folded_nodes);
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    if (!folded[i]) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);
  // Initializers that only folded nodes read, and that are neither graph inputs nor outputs, go.
  std::set<std::string> still_used(fed);
  for (const ValueInfo& out : graph->outputs) still_used.insert(out.name);
  for (const Node& node : graph->nodes) {
    for (const std::string& in : node.inputs) still_used.insert(in);
  }
  for (const std::string& name : read_by_folded) {
    if (!still_used.count(name)) graph->initializers.erase(name);
  }
  return stats;
}

}  // namespace kiln
