#include "kiln/runtime/constant_folding.h"

#include <cmath>
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

namespace {

// The f32 initializer `name` (not a graph input), or nullptr.
const Tensor* F32Initializer(const Graph& g, const std::set<std::string>& fed, const std::string& name) {
  if (name.empty() || fed.count(name)) return nullptr;
  auto it = g.initializers.find(name);
  if (it == g.initializers.end() || it->second.dtype() != DType::kF32) return nullptr;
  return &it->second;
}

}  // namespace

absl::StatusOr<int> FuseConvBatchNorm(Graph* graph) {
  KILN_RETURN_IF_ERROR(graph->TopologicalOrder().status());
  // Subgraphs (control flow) may read outer values by name without listing them as inputs: a graph
  // with any is left as it is rather than risk renaming a value one of them reads.
  std::set<std::string> control_targets;
  for (const Node& n : graph->nodes) {
    if (HasSubgraph(n)) return 0;
    for (const std::string& c : n.control_inputs) control_targets.insert(c);
  }
  std::set<std::string> fed, outputs;
  for (const ValueInfo& in : graph->inputs) fed.insert(in.name);
  for (const ValueInfo& out : graph->outputs) outputs.insert(out.name);
  std::map<std::string, int> readers;
  std::map<std::string, int> producer;
  for (int i = 0; i < static_cast<int>(graph->nodes.size()); ++i) {
    const Node& n = graph->nodes[i];
    for (const std::string& in : n.inputs) {
      if (!in.empty()) ++readers[in];
    }
    for (const std::string& out : n.outputs) {
      if (!out.empty()) producer[out] = i;
    }
  }
  std::set<int> removed;
  int fused = 0;
  for (int bi = 0; bi < static_cast<int>(graph->nodes.size()); ++bi) {
    const Node& bn = graph->nodes[bi];
    if (bn.op != "BatchNormalization" || bn.inputs.size() != 5 || bn.outputs.empty() || bn.outputs[0].empty() ||
        !bn.control_inputs.empty() || control_targets.count(bn.name)) {
      continue;
    }
    bool extra_outputs = false;
    for (size_t i = 1; i < bn.outputs.size(); ++i) extra_outputs = extra_outputs || !bn.outputs[i].empty();
    absl::StatusOr<int64_t> training = bn.GetInt("training_mode", 0);
    absl::StatusOr<float> epsilon = bn.GetFloat("epsilon", 1e-5f);
    if (extra_outputs || !training.ok() || *training != 0 || !epsilon.ok()) continue;
    const std::string& conv_out = bn.inputs[0];
    auto p = producer.find(conv_out);
    if (p == producer.end() || readers[conv_out] != 1 || outputs.count(conv_out)) continue;
    Node& conv = graph->nodes[p->second];
    if (conv.op != "Conv" || conv.inputs.size() < 2 || conv.outputs.size() != 1 || !conv.control_inputs.empty()) {
      continue;
    }
    const Tensor* w = F32Initializer(*graph, fed, conv.inputs[1]);
    const Tensor* b = conv.inputs.size() > 2 ? F32Initializer(*graph, fed, conv.inputs[2]) : nullptr;
    const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
    const Tensor* stats[4];
    bool ok = w != nullptr && w->rank() >= 3 && (!has_bias || b != nullptr);
    for (int i = 0; i < 4 && ok; ++i) {
      stats[i] = F32Initializer(*graph, fed, bn.inputs[i + 1]);
      ok = stats[i] != nullptr && stats[i]->num_elements() == w->dim(0);
    }
    if (!ok || (has_bias && b->num_elements() != w->dim(0))) continue;
    const int64_t m = w->dim(0), per = w->num_elements() / (m == 0 ? 1 : m);
    Tensor nw = w->Clone();
    Tensor nb = *Tensor::Create(DType::kF32, {m});
    const float* scale = stats[0]->data<float>();
    const float* shift = stats[1]->data<float>();
    const float* mean = stats[2]->data<float>();
    const float* var = stats[3]->data<float>();
    for (int64_t o = 0; o < m; ++o) {
      const double s = static_cast<double>(scale[o]) / std::sqrt(static_cast<double>(var[o]) + *epsilon);
      float* row = nw.data<float>() + o * per;
      for (int64_t i = 0; i < per; ++i) row[i] = static_cast<float>(row[i] * s);
      const double bias = has_bias ? b->data<float>()[o] : 0.0;
      nb.data<float>()[o] = static_cast<float>((bias - mean[o]) * s + shift[o]);
    }
    const std::string w_name = bn.name + "/fused_conv_weights", b_name = bn.name + "/fused_conv_bias";
    if (graph->initializers.count(w_name) || graph->initializers.count(b_name) || fed.count(w_name) ||
        fed.count(b_name) || producer.count(w_name) || producer.count(b_name)) {
      continue;
    }
    for (int i = 1; i < static_cast<int>(conv.inputs.size()); ++i) {
      if (!conv.inputs[i].empty()) --readers[conv.inputs[i]];
    }
    for (int i = 1; i < 5; ++i) --readers[bn.inputs[i]];
    graph->initializers[w_name] = std::move(nw);
    graph->initializers[b_name] = std::move(nb);
    conv.inputs.resize(3);
    conv.inputs[1] = w_name;
    conv.inputs[2] = b_name;
    conv.outputs[0] = bn.outputs[0];
    producer[bn.outputs[0]] = p->second;
    readers[w_name] = readers[b_name] = 1;
    removed.insert(bi);
    ++fused;
  }
  if (fused == 0) return 0;
  std::vector<Node> kept;
  for (int i = 0; i < static_cast<int>(graph->nodes.size()); ++i) {
    if (!removed.count(i)) kept.push_back(std::move(graph->nodes[i]));
  }
  graph->nodes = std::move(kept);
  for (auto it = graph->initializers.begin(); it != graph->initializers.end();) {
    auto r = readers.find(it->first);
    const bool unread = r != readers.end() && r->second <= 0 && !outputs.count(it->first) && !fed.count(it->first);
    it = unread ? graph->initializers.erase(it) : std::next(it);
  }
  return fused;
}

}  // namespace kiln
