#include "kiln/runtime/op_registry.h"

#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "absl/strings/match.h"
#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"

namespace kiln {

std::string TensorType::ToString() const {
  if (!rank_known) return kiln::StrCat(DTypeName(dtype), "[?]");
  std::vector<std::string> parts;
  for (int64_t d : dims) parts.push_back(d < 0 ? "?" : kiln::StrCat(d));
  return kiln::StrCat(DTypeName(dtype), "[", absl::StrJoin(parts, ","), "]");
}

namespace {

// "<op> node '<name>': <message>", or `message` itself when it already starts with "<op> node '<name>'"
// (an error of a Node attribute getter or of a helper that named the node): one prefix, however many
// layers pass the message on.
absl::Status NodeError(const Node& node, std::string_view message) {
  const std::string prefix = kiln::StrCat(node.op, " node '", node.name, "'");
  if (absl::StartsWith(AsAbsl(message), prefix)) return absl::InvalidArgumentError(AsAbsl(message));
  return absl::InvalidArgumentError(kiln::StrCat(prefix, ": ", message));
}

}  // namespace

absl::Status InferenceContext::Error(std::string_view message) const { return NodeError(node_, message); }

absl::Status CheckInferredType(const Node& node, int output, const TensorType& type) {
  if (!type.rank_known) return absl::OkStatus();
  int64_t known = 1;  // Product of the known dims, capped above kMaxTensorElements.
  for (int64_t d : type.dims) {
    if (d < -1) {
      return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': output ", output,
                                                     " would have a negative dimension, ", d,
                                                     "; check the node's attributes and shape inputs"));
    }
    if (d >= 0) known = d == 0 || known == 0 ? 0 : SatMul(known, d);
  }
  // One dim over the limit is refused even when another is 0 (an empty tensor): shape functions and
  // kernels then see every dim in [-1, kMaxTensorElements].
  bool dim_too_big = false;
  for (int64_t d : type.dims) dim_too_big = dim_too_big || d > kMaxTensorElements;
  if (known > kMaxTensorElements || dim_too_big) {
    std::vector<std::string> parts;
    for (int64_t d : type.dims) parts.push_back(d < 0 ? "?" : kiln::StrCat(d));
    return absl::InvalidArgumentError(kiln::StrCat(
        node.op, " node '", node.name, "': output ", output, " would have shape [", absl::StrJoin(parts, ","),
        "], more than the ", kMaxTensorElements,
        " elements Kiln allows in one tensor (or a dimension that large, or a size that overflows)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor*> KernelContext::AllocateOutput(int i, DType dtype, Dims dims) {
  if (i < 0 || i >= static_cast<int>(outputs_->size())) {
    return Error(kiln::StrCat("output ", i, " does not exist"));
  }
  // The run-time side of CheckInferredType's dim bound (an empty tensor may otherwise carry a huge dim).
  for (int64_t d : dims) {
    if (d > kMaxTensorElements) {
      return Error(kiln::StrCat("output ", i, " would have dims ", DimsToString(dims), ", a dimension over ",
                                kMaxTensorElements));
    }
  }
  absl::StatusOr<Tensor> t =
      allocator_ != nullptr ? allocator_->Allocate(i, dtype, dims) : Tensor::CreateUninitialized(dtype, std::move(dims));
  if (!t.ok()) return Error(FromAbsl(t.status().message()));
  (*outputs_)[i] = *std::move(t);
  return &(*outputs_)[i];
}

absl::StatusOr<Tensor*> KernelContext::AllocateZeroedOutput(int i, DType dtype, Dims dims) {
  KILN_ASSIGN_OR_RETURN(Tensor * t, AllocateOutput(i, dtype, std::move(dims)));
  if (t->byte_size() > 0) std::memset(t->raw_data(), 0, t->byte_size());
  return t;
}

absl::Status KernelContext::Error(std::string_view message) const { return NodeError(node_, message); }

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = new OpRegistry();
  return *registry;
}

absl::Status OpRegistry::Register(OpDef def) {
  std::string name = def.name;
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (!ops_.emplace(name, std::move(def)).second) {
    return absl::AlreadyExistsError(kiln::StrCat("op '", name, "' is already registered"));
  }
  return absl::OkStatus();
}

const OpDef* OpRegistry::Find(const std::string& op) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = ops_.find(op);
  return it == ops_.end() ? nullptr : &it->second;  // std::map nodes never move.
}

std::vector<std::string> OpRegistry::OpNames() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, def] : ops_) names.push_back(name);
  return names;
}

namespace {

class FunctionKernel : public OpKernel {
 public:
  explicit FunctionKernel(std::function<absl::Status(KernelContext&)> fn) : fn_(std::move(fn)) {}
  absl::Status Compute(KernelContext& ctx) const override { return fn_(ctx); }

 private:
  std::function<absl::Status(KernelContext&)> fn_;
};

}  // namespace

std::unique_ptr<OpKernel> MakeFunctionKernel(std::function<absl::Status(KernelContext&)> fn) {
  return std::make_unique<FunctionKernel>(std::move(fn));
}

absl::StatusOr<std::map<std::string, TensorType>> InferTypes(
    const Graph& graph, const std::map<std::string, TensorType>& input_overrides) {
  std::map<std::string, TensorType> types;
  for (const ValueInfo& in : graph.inputs) {
    auto it = input_overrides.find(in.name);
    if (it != input_overrides.end()) {
      types[in.name] = it->second;
      continue;
    }
    TensorType t;
    t.dtype = in.dtype;
    t.dims = in.dims;
    t.rank_known = in.has_shape;
    types[in.name] = std::move(t);
  }
  for (const auto& [name, value] : graph.initializers) {
    if (graph.FindInput(name) != nullptr && types.count(name)) continue;  // Fed value overrides.
    TensorType t;
    t.dtype = value.dtype();
    t.dims = value.dims();
    t.value = value;
    types[name] = std::move(t);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  const OpRegistry& registry = OpRegistry::Global();
  for (int index : order) {
    const Node& node = graph.nodes[index];
    const OpDef* def = registry.Find(node.op);
    if (def == nullptr) {
      return absl::UnimplementedError(kiln::StrCat("node '", node.name, "' has op '", node.op,
                                                   "', which Kiln does not implement"));
    }
    int present = static_cast<int>(node.inputs.size());
    if (present < def->min_inputs || (def->max_inputs >= 0 && present > def->max_inputs)) {
      return absl::InvalidArgumentError(kiln::StrCat(
          node.op, " node '", node.name, "' has ", present, " inputs; ", node.op, " takes ",
          def->min_inputs, def->max_inputs == def->min_inputs ? "" : kiln::StrCat(" to ", def->max_inputs)));
    }
    if (def->num_outputs >= 0 && static_cast<int>(node.outputs.size()) > def->num_outputs) {
      return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "' has ",
                                                     node.outputs.size(), " outputs; ", node.op,
                                                     " produces at most ", def->num_outputs));
    }
    // Shape functions and kernels read inputs below min_inputs without checking for absence.
    for (int i = 0; i < def->min_inputs && i < present; ++i) {
      if (node.inputs[i].empty()) {
        return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': input ", i,
                                                       " is required but absent (an empty name)"));
      }
    }
    std::vector<const TensorType*> inputs;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      auto it = types.find(in);
      if (it == types.end()) {
        return absl::InvalidArgumentError(
            kiln::StrCat(node.op, " node '", node.name, "' reads '", in, "', whose type is unknown"));
      }
      inputs.push_back(&it->second);
    }
    InferenceContext ctx(node, std::move(inputs));
    if (!def->shape_fn) {
      return absl::InternalError(kiln::StrCat("op ", node.op, " has no shape function"));
    }
    KILN_RETURN_IF_ERROR(def->shape_fn(ctx));
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      if (i >= ctx.outputs().size() || ctx.outputs()[i].dtype == DType::kInvalid) {
        return absl::InternalError(kiln::StrCat(node.op, " node '", node.name,
                                                "': shape function gave no type for output ", i));
      }
      KILN_RETURN_IF_ERROR(CheckInferredType(node, static_cast<int>(i), ctx.outputs()[i]));
      types[node.outputs[i]] = std::move(ctx.outputs()[i]);
    }
  }
  return types;
}

}  // namespace kiln
