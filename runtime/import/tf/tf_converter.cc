// The graph-level part of the TensorFlow translation: node order, Placeholders, Consts, outputs,
// and the typed emission of Kiln nodes.
#include "runtime/import/tf/tf_converter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "kiln/support/strings.h"
#include "kiln/support/status.h"
#include "runtime/import/tf/tf_tensor.h"

namespace kiln::tf_import {

// ---- NodeContext ---------------------------------------------------------------------------------

std::string NodeContext::out(int i) const {
  return i == 0 ? node_.name() : kiln::StrCat(node_.name(), ":", i);
}

const TensorType& NodeContext::input_type(int i) const { return converter_.Type(inputs_[i]); }

std::optional<Tensor> NodeContext::const_input(int i) const { return input_type(i).value; }

absl::StatusOr<std::vector<int64_t>> NodeContext::const_ints(int i, std::string_view what) const {
  std::optional<Tensor> t = const_input(i);
  if (!t || (t->dtype() != DType::kS32 && t->dtype() != DType::kS64)) {
    return Unsupported(kiln::StrCat(what, " (input ", i, ", '", inputs_[i],
                                    "') must be a constant int32/int64 tensor; Kiln cannot compute it at import"));
  }
  std::vector<int64_t> v(t->num_elements());
  for (int64_t k = 0; k < t->num_elements(); ++k) v[k] = t->GetAsInt64(k);
  return v;
}

namespace {
const tf::AttrValue* FindAttr(const tf::NodeDef& node, const std::string& name) {
  auto it = node.attr().find(name);
  return it == node.attr().end() ? nullptr : &it->second;
}
}  // namespace

absl::Status NodeContext::Error(std::string_view message) const {
  return absl::InvalidArgumentError(kiln::StrCat("node '", node_.name(), "' (", node_.op(), "): ", message));
}

absl::Status NodeContext::Unsupported(std::string_view message) const {
  return absl::UnimplementedError(kiln::StrCat("node '", node_.name(), "' (", node_.op(), "): ", message));
}

absl::StatusOr<int64_t> NodeContext::attr_int(const std::string& name, std::optional<int64_t> def) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  if (a == nullptr) {
    if (def) return *def;
    return Error(kiln::StrCat("attribute '", name, "' is missing"));
  }
  if (a->value_case() != tf::AttrValue::kI) return Error(kiln::StrCat("attribute '", name, "' is not an int"));
  return a->i();
}

absl::StatusOr<float> NodeContext::attr_float(const std::string& name, std::optional<float> def) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  if (a == nullptr || a->value_case() == tf::AttrValue::VALUE_NOT_SET) {
    if (def) return *def;
    return Error(kiln::StrCat("attribute '", name, "' is missing"));
  }
  if (a->value_case() != tf::AttrValue::kF) return Error(kiln::StrCat("attribute '", name, "' is not a float"));
  return a->f();
}

absl::StatusOr<bool> NodeContext::attr_bool(const std::string& name, std::optional<bool> def) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  // proto3 JSON omits false values: an attribute without a value is false.
  if (a == nullptr) {
    if (def) return *def;
    return Error(kiln::StrCat("attribute '", name, "' is missing"));
  }
  if (a->value_case() == tf::AttrValue::VALUE_NOT_SET) return false;
  if (a->value_case() != tf::AttrValue::kB) return Error(kiln::StrCat("attribute '", name, "' is not a bool"));
  return a->b();
}

absl::StatusOr<std::string> NodeContext::attr_string(const std::string& name, std::optional<std::string> def) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  if (a == nullptr) {
    if (def) return *def;
    return Error(kiln::StrCat("attribute '", name, "' is missing"));
  }
  if (a->value_case() == tf::AttrValue::VALUE_NOT_SET) return std::string();
  if (a->value_case() != tf::AttrValue::kS) return Error(kiln::StrCat("attribute '", name, "' is not a string"));
  return a->s();
}

absl::StatusOr<std::vector<int64_t>> NodeContext::attr_ints(const std::string& name,
                                                            std::optional<std::vector<int64_t>> def) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  if (a == nullptr) {
    if (def) return *def;
    return Error(kiln::StrCat("attribute '", name, "' is missing"));
  }
  if (a->value_case() == tf::AttrValue::VALUE_NOT_SET) return std::vector<int64_t>{};
  if (a->value_case() != tf::AttrValue::kList) return Error(kiln::StrCat("attribute '", name, "' is not a list"));
  return std::vector<int64_t>(a->list().i().begin(), a->list().i().end());
}

absl::StatusOr<std::vector<std::string>> NodeContext::attr_strings(const std::string& name) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  if (a == nullptr || a->value_case() == tf::AttrValue::VALUE_NOT_SET) return std::vector<std::string>{};
  if (a->value_case() != tf::AttrValue::kList) return Error(kiln::StrCat("attribute '", name, "' is not a list"));
  return std::vector<std::string>(a->list().s().begin(), a->list().s().end());
}

absl::StatusOr<DType> NodeContext::attr_dtype(const std::string& name) const {
  const tf::AttrValue* a = FindAttr(node_, name);
  if (a == nullptr) return Error(kiln::StrCat("attribute '", name, "' is missing"));
  if (a->value_case() != tf::AttrValue::kType && a->value_case() != tf::AttrValue::VALUE_NOT_SET) {
    return Error(kiln::StrCat("attribute '", name, "' is not a type"));
  }
  absl::StatusOr<DType> d = DTypeFromTf(a->type());
  if (!d.ok()) return Unsupported(kiln::StrCat("attribute '", name, "': ", d.status().message()));
  return *d;
}

// ---- Converter -----------------------------------------------------------------------------------

std::string Converter::FreshName(const std::string& hint) {
  std::string name = hint;
  for (int i = 1; used_.count(name); ++i) name = kiln::StrCat(hint, "_", i);
  used_.insert(name);
  return name;
}

std::string Converter::AddConst(const std::string& hint, Tensor value) {
  std::string name = FreshName(hint);
  types_[name] = TensorType{value.dtype(), value.dims(), true, value};
  graph_.initializers.emplace(name, std::move(value));
  return name;
}

const TensorType& Converter::Type(const std::string& value) const {
  static const TensorType* unknown = new TensorType{DType::kInvalid, {}, false};
  auto it = types_.find(value);
  return it == types_.end() ? *unknown : it->second;
}

absl::StatusOr<std::vector<std::string>> Converter::Emit(const std::string& op, const std::string& hint,
                                                         std::vector<std::string> inputs,
                                                         std::map<std::string, AttrValue> attrs,
                                                         std::vector<std::string> outputs, int num_outputs) {
  const OpDef* def = OpRegistry::Global().Find(op);
  if (def == nullptr) {
    return absl::UnimplementedError(kiln::StrCat("Kiln has no '", op, "' op (needed for '", hint, "')"));
  }
  Node node;
  node.op = op;
  node.name = hint;
  for (int i = 1; node_names_.count(node.name); ++i) node.name = kiln::StrCat(hint, "_", i);
  node_names_.insert(node.name);
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  if (outputs.empty()) {
    for (int i = 0; i < num_outputs; ++i) outputs.push_back(FreshName(kiln::StrCat(hint, "/", op)));
  }
  node.outputs = outputs;
  std::vector<const TensorType*> in_types;
  for (const std::string& in : node.inputs) in_types.push_back(in.empty() ? nullptr : &Type(in));
  InferenceContext ctx(node, in_types);
  absl::Status s = def->shape_fn(ctx);
  if (!s.ok()) return Annotate(s, kiln::StrCat("Kiln ", op, " node '", node.name, "'"));
  for (size_t i = 0; i < outputs.size() && i < ctx.outputs().size(); ++i) {
    KILN_RETURN_IF_ERROR(CheckInferredType(node, static_cast<int>(i), ctx.outputs()[i]));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    types_[outputs[i]] = i < ctx.outputs().size() ? ctx.outputs()[i] : TensorType{DType::kInvalid, {}, false};
  }
  graph_.nodes.push_back(std::move(node));
  return outputs;
}

absl::StatusOr<std::string> Converter::Emit1(const std::string& op, const std::string& hint,
                                             std::vector<std::string> inputs, std::map<std::string, AttrValue> attrs,
                                             const std::string& output) {
  std::vector<std::string> outs;
  if (!output.empty()) outs.push_back(output);
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> r, Emit(op, hint, std::move(inputs), std::move(attrs), outs, 1));
  return r[0];
}

// ---- ConvertGraphDef -----------------------------------------------------------------------------

namespace {

// "node:N" -> ("node", N); "node" -> ("node", 0).
absl::StatusOr<std::pair<std::string, int>> SplitTensorName(const std::string& name) {
  const size_t colon = name.rfind(':');
  if (colon == std::string::npos) return std::make_pair(name, 0);
  int index = 0;
  if (!absl::SimpleAtoi(name.substr(colon + 1), &index) || index < 0) {
    return absl::InvalidArgumentError(kiln::StrCat("'", name, "' is not a tensor name (node or node:N)"));
  }
  return std::make_pair(name.substr(0, colon), index);
}

std::string KilnValueName(const std::string& node, int index) {
  return index == 0 ? node : kiln::StrCat(node, ":", index);
}

}  // namespace

// Just over 150 lines: one pass over the GraphDef (index nodes, translate each, wire inputs, choose
// outputs) whose steps share the name maps.
absl::StatusOr<Graph> ConvertGraphDef(const tf::GraphDef& graph_def, const ConvertOptions& options) {
  RegisterStandardOps();
  std::map<std::string, int> by_name;
  for (int i = 0; i < graph_def.node_size(); ++i) {
    const tf::NodeDef& n = graph_def.node(i);
    if (n.name().empty()) return absl::InvalidArgumentError(kiln::StrCat("node #", i, " (", n.op(), ") has no name"));
    if (!by_name.emplace(n.name(), i).second) {
      return absl::InvalidArgumentError(kiln::StrCat("node '", n.name(), "' is defined twice"));
    }
  }
  // Data inputs of each node as (producer, output index); control inputs are dropped (the graphs
  // Kiln imports have no side effects to order).
  std::vector<std::vector<std::pair<std::string, int>>> data_inputs(graph_def.node_size());
  std::set<std::string> consumed;
  for (int i = 0; i < graph_def.node_size(); ++i) {
    const tf::NodeDef& n = graph_def.node(i);
    for (const std::string& in : n.input()) {
      if (absl::StartsWith(in, "^")) continue;
      absl::StatusOr<std::pair<std::string, int>> split = SplitTensorName(in);
      if (!split.ok()) return Annotate(split.status(), kiln::StrCat("node '", n.name(), "' (", n.op(), ")"));
      if (!by_name.count(split->first)) {
        return absl::InvalidArgumentError(kiln::StrCat("node '", n.name(), "' (", n.op(), ") reads '", in,
                                                       "', which no node of the graph produces"));
      }
      data_inputs[i].push_back(*split);
      consumed.insert(split->first);
    }
  }
  std::vector<std::pair<std::string, int>> outputs;
  for (const std::string& name : options.outputs) {
    KILN_ASSIGN_OR_RETURN(auto split, SplitTensorName(name));
    if (!by_name.count(split.first)) {
      return absl::InvalidArgumentError(kiln::StrCat("output '", name, "' names no node of the graph"));
    }
    outputs.push_back(split);
  }
  if (options.outputs.empty()) {
    for (const tf::NodeDef& n : graph_def.node()) {
      if (consumed.count(n.name()) || n.op() == "Const" || n.op() == "NoOp" || n.op() == "Placeholder") continue;
      outputs.emplace_back(n.name(), 0);
    }
  }
  if (outputs.empty()) return absl::InvalidArgumentError("the graph has no outputs");

  // The nodes the outputs depend on, in an order where producers come first (iterative DFS).
  std::vector<int> order;
  std::vector<int> state(graph_def.node_size(), 0);  // 0 new, 1 on the stack, 2 done.
  std::vector<int> stack;
  for (const auto& [name, index] : outputs) stack.push_back(by_name[name]);
  while (!stack.empty()) {
    const int i = stack.back();
    if (state[i] == 2) {
      stack.pop_back();
      continue;
    }
    if (state[i] == 0) {
      state[i] = 1;
      for (const auto& [producer, idx] : data_inputs[i]) {
        const int p = by_name[producer];
        if (state[p] == 1) {
          return absl::UnimplementedError(kiln::StrCat(
              "node '", graph_def.node(i).name(), "' (", graph_def.node(i).op(),
              ") is on a cycle; graphs with control flow (loops) are not supported"));
        }
        if (state[p] == 0) stack.push_back(p);
      }
      continue;
    }
    state[i] = 2;
    order.push_back(i);
    stack.pop_back();
  }

  Converter conv;
  for (const tf::NodeDef& n : graph_def.node()) {
    conv.Reserve(n.name());
    for (int k = 1; k < 8; ++k) conv.Reserve(KilnValueName(n.name(), k));
  }
  const std::map<std::string, TranslateFn>& table = TranslationTable();
  for (int i : order) {
    const tf::NodeDef& n = graph_def.node(i);
    const std::string where = kiln::StrCat("node '", n.name(), "' (", n.op(), ")");
    if (n.op() == "Placeholder" || n.op() == "PlaceholderWithDefault") {
      if (n.op() == "PlaceholderWithDefault") {
        return absl::UnimplementedError(kiln::StrCat(where, ": PlaceholderWithDefault is not supported"));
      }
      NodeContext c(conv, n, {});
      KILN_ASSIGN_OR_RETURN(DType dtype, c.attr_dtype("dtype"));
      ValueInfo info;
      info.name = n.name();
      info.dtype = dtype;
      info.has_shape = false;
      auto it = n.attr().find("shape");
      if (it != n.attr().end() && it->second.value_case() == tf::AttrValue::kShape) {
        bool rank_known = true;
        KILN_ASSIGN_OR_RETURN(info.dims, DimsFromTf(it->second.shape(), &rank_known, where));
        info.has_shape = rank_known;
      }
      conv.SetType(info.name, TensorType{dtype, info.dims, info.has_shape});
      conv.graph().inputs.push_back(std::move(info));
      continue;
    }
    if (n.op() == "Const") {
      Tensor value;
      auto given = options.constants.find(n.name());
      if (given != options.constants.end()) {
        value = given->second;
      } else {
        auto it = n.attr().find("value");
        if (it == n.attr().end() || it->second.value_case() != tf::AttrValue::kTensor) {
          return absl::InvalidArgumentError(kiln::StrCat(where, " has no value (a missing weight?)"));
        }
        KILN_ASSIGN_OR_RETURN(value, TensorFromTf(it->second.tensor(), where));
      }
      conv.SetType(n.name(), TensorType{value.dtype(), value.dims(), true, value});
      conv.graph().initializers.emplace(n.name(), std::move(value));
      continue;
    }
    auto fn = table.find(n.op());
    if (fn == table.end()) {
      return absl::UnimplementedError(
          kiln::StrCat(where, ": op '", n.op(), "' is not supported by Kiln's TensorFlow importer"));
    }
    std::vector<std::string> inputs;
    for (const auto& [producer, idx] : data_inputs[i]) {
      const std::string value = KilnValueName(producer, idx);
      if (conv.Type(value).dtype == DType::kInvalid && !conv.graph().initializers.count(value)) {
        return absl::InvalidArgumentError(kiln::StrCat(where, " reads output ", idx, " of '", producer,
                                                       "', which has no such output"));
      }
      inputs.push_back(value);
    }
    NodeContext c(conv, n, std::move(inputs));
    KILN_RETURN_IF_ERROR(fn->second(c));
  }
  for (const auto& [name, index] : outputs) {
    ValueInfo info;
    info.name = KilnValueName(name, index);
    const TensorType& t = conv.Type(info.name);
    if (t.dtype == DType::kInvalid) {
      return absl::InvalidArgumentError(kiln::StrCat("output '", info.name, "' is not produced by the graph"));
    }
    info.dtype = t.dtype;
    info.dims = t.dims;
    info.has_shape = t.rank_known;
    conv.graph().outputs.push_back(std::move(info));
  }
  Graph graph = std::move(conv.graph());
  graph.name = "main";
  return graph;
}

}  // namespace kiln::tf_import
