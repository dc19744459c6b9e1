#include "kiln/runtime/executor.h"

#include <exception>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"

namespace kiln {

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(std::shared_ptr<const Graph> graph) {
  std::unique_ptr<Executor> ex(new Executor());
  ex->graph_ = graph;
  ASSIGN_OR_RETURN(ex->order_, graph->TopologicalOrder());
  ASSIGN_OR_RETURN(ex->types_, InferTypes(*graph));

  auto slot_of = [&](const std::string& name) {
    auto [it, inserted] = ex->value_index_.emplace(name, static_cast<int>(ex->value_index_.size()));
    return it->second;
  };
  for (const ValueInfo& in : graph->inputs) slot_of(in.name);
  for (const auto& [name, value] : graph->initializers) slot_of(name);
  const int n = static_cast<int>(graph->nodes.size());
  ex->node_inputs_.resize(n);
  ex->node_outputs_.resize(n);
  ex->kernels_.resize(n);
  for (const Node& node : graph->nodes) {
    for (const std::string& out : node.outputs) {
      if (!out.empty()) slot_of(out);
    }
  }
  ex->last_use_.assign(ex->value_index_.size(), -1);
  const OpRegistry& registry = OpRegistry::Global();
  for (int pos = 0; pos < n; ++pos) {
    int i = ex->order_[pos];
    const Node& node = graph->nodes[i];
    KernelConstruction kc{node, {}, nullptr};
    std::vector<TensorType> output_types;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        ex->node_inputs_[i].push_back(-1);
        kc.input_types.push_back(nullptr);
        continue;
      }
      int slot = ex->value_index_.at(in);
      ex->node_inputs_[i].push_back(slot);
      ex->last_use_[slot] = pos;
      kc.input_types.push_back(&ex->types_.at(in));
    }
    for (const std::string& out : node.outputs) {
      ex->node_outputs_[i].push_back(out.empty() ? -1 : ex->value_index_.at(out));
      output_types.push_back(out.empty() ? TensorType{} : ex->types_.at(out));
    }
    kc.output_types = &output_types;
    const OpDef* def = registry.Find(node.op);  // InferTypes checked that it exists.
    if (!def->kernel_factory) {
      return absl::UnimplementedError(
          absl::StrCat(node.op, " node '", node.name, "': op has no CPU kernel"));
    }
    absl::StatusOr<std::unique_ptr<OpKernel>> kernel;
    try {
      kernel = def->kernel_factory(kc);
    } catch (const std::exception& e) {
      kernel = absl::InternalError(absl::StrCat(node.op, " node '", node.name, "': ", e.what()));
    }
    if (!kernel.ok()) return kernel.status();
    ex->kernels_[i] = *std::move(kernel);
  }
  return ex;
}

absl::StatusOr<std::vector<Tensor>> Executor::Run(const Feeds& feeds,
                                                  const std::vector<std::string>& fetches) const {
  const Graph& graph = *graph_;
  std::vector<Tensor> values(value_index_.size());
  std::vector<bool> fed(value_index_.size(), false);
  for (const auto& [name, value] : graph.initializers) values[value_index_.at(name)] = value;

  for (const auto& [name, tensor] : feeds) {
    const ValueInfo* info = graph.FindInput(name);
    if (info == nullptr) {
      std::vector<std::string> names;
      for (const ValueInfo& v : graph.inputs) names.push_back(v.name);
      return absl::InvalidArgumentError(absl::StrCat("feed '", name, "' is not an input of the model; its inputs are: ",
                                                     absl::StrJoin(names, ", ")));
    }
    if (!tensor.valid()) {
      return absl::InvalidArgumentError(absl::StrCat("feed '", name, "' is an empty tensor"));
    }
    if (tensor.dtype() != info->dtype) {
      return absl::InvalidArgumentError(absl::StrCat("feed '", name, "' has dtype ", DTypeName(tensor.dtype()),
                                                     "; the model expects ", DTypeName(info->dtype)));
    }
    if (info->has_shape) {
      bool ok = tensor.rank() == static_cast<int>(info->dims.size());
      for (int d = 0; ok && d < tensor.rank(); ++d) {
        ok = info->dims[d] < 0 || info->dims[d] == tensor.dim(d);
      }
      if (!ok) {
        TensorType expected{info->dtype, info->dims};
        return absl::InvalidArgumentError(absl::StrCat("feed '", name, "' has shape ",
                                                       DimsToString(tensor.dims()), "; the model expects ",
                                                       expected.ToString(), " (? = any size)"));
      }
    }
    int slot = value_index_.at(name);
    values[slot] = tensor;
    fed[slot] = true;
  }

  // The nodes the fetches need, found backwards from them.
  std::set<int> fetch_slots;
  std::vector<bool> needed(graph.nodes.size(), false);
  std::vector<int> stack;
  std::vector<int> producer(value_index_.size(), -1);
  for (int i = 0; i < static_cast<int>(graph.nodes.size()); ++i) {
    for (int s : node_outputs_[i]) {
      if (s >= 0) producer[s] = i;
    }
  }
  auto need_value = [&](int slot, const std::string& name, const std::string& reader) -> absl::Status {
    if (producer[slot] >= 0) {
      if (!needed[producer[slot]]) {
        needed[producer[slot]] = true;
        stack.push_back(producer[slot]);
      }
      return absl::OkStatus();
    }
    if (!fed[slot] && !values[slot].valid()) {
      return absl::InvalidArgumentError(absl::StrCat("input '", name, "' is not fed (needed by ", reader, ")"));
    }
    return absl::OkStatus();
  };
  for (const std::string& f : fetches) {
    auto it = value_index_.find(f);
    if (it == value_index_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("fetch '", f, "' names no value of the model"));
    }
    fetch_slots.insert(it->second);
    RETURN_IF_ERROR(need_value(it->second, f, absl::StrCat("fetch '", f, "'")));
  }
  while (!stack.empty()) {
    int i = stack.back();
    stack.pop_back();
    const Node& node = graph.nodes[i];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (node_inputs_[i][k] < 0) continue;
      RETURN_IF_ERROR(need_value(node_inputs_[i][k], node.inputs[k], absl::StrCat("node '", node.name, "'")));
    }
    for (const std::string& c : node.control_inputs) {
      for (int j = 0; j < static_cast<int>(graph.nodes.size()); ++j) {
        if (graph.nodes[j].name == c && !needed[j]) {
          needed[j] = true;
          stack.push_back(j);
        }
      }
    }
  }

  std::vector<const Tensor*> inputs;
  std::vector<Tensor> outputs;
  for (int pos = 0; pos < static_cast<int>(order_.size()); ++pos) {
    int i = order_[pos];
    if (!needed[i]) continue;
    const Node& node = graph.nodes[i];
    inputs.clear();
    for (int s : node_inputs_[i]) inputs.push_back(s < 0 ? nullptr : &values[s]);
    outputs.assign(node.outputs.size(), Tensor());
    KernelContext ctx(node, inputs, &outputs);
    absl::Status status;
    try {
      status = kernels_[i]->Compute(ctx);
    } catch (const std::exception& e) {
      status = absl::InternalError(absl::StrCat(node.op, " node '", node.name, "': ", e.what()));
    }
    if (!status.ok()) return status;
    for (size_t k = 0; k < outputs.size(); ++k) {
      int s = node_outputs_[i][k];
      if (s < 0) continue;
      if (!outputs[k].valid()) {
        return absl::InternalError(absl::StrCat(node.op, " node '", node.name, "' produced no output ", k));
      }
      values[s] = std::move(outputs[k]);
    }
    // Release values whose last reader just ran, so their buffers return to the allocator.
    for (int s : node_inputs_[i]) {
      if (s >= 0 && last_use_[s] == pos && !fetch_slots.count(s) && producer[s] >= 0) values[s] = Tensor();
    }
  }

  std::vector<Tensor> result;
  result.reserve(fetches.size());
  for (const std::string& f : fetches) result.push_back(values[value_index_.at(f)]);
  return result;
}

}  // namespace kiln
