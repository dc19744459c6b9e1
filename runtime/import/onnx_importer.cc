// The ONNX importer: ModelProto -> kiln::Graph in Kiln's op set (latest ONNX opset semantics).
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kiln/support/strings.h"
#include "google/protobuf/io/coded_stream.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/op_registry.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"
#include "onnx.pb.h"
#include "runtime/import/graph_checks.h"
#include "runtime/import/onnx/onnx_legacy.h"
#include "runtime/import/onnx/onnx_tensor.h"

namespace kiln {
namespace {

using onnx_import::DTypeFromOnnx;
using onnx_import::TensorFromProto;

bool IsDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Reads a model or tensor file (kiln/support/read_file.h: regular files only, at most 2 GiB).
absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  return ReadRegularFile(path, what,
                         {.too_large_advice = " (protobuf parses at most 2 GiB; save larger ONNX models with their "
                                              "tensors as external data: onnx.save_model(model, path, "
                                              "save_as_external_data=True))"});
}

// Parses a serialized message from `bytes`, rejecting trailing garbage and truncation.
template <typename Message>
bool ParseMessage(std::string_view bytes, Message* message) {
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  return message->ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
}

// The declared type of a value.
struct DeclaredType {
  DType dtype = DType::kInvalid;
  Dims dims;
  bool has_shape = false;
};

class OnnxImporter {
 public:
  // `model_dir`: the folder of the model file, where external tensor data is read from; none for a
  // model imported from bytes.
  OnnxImporter(std::string source, std::optional<std::string> model_dir)
      : source_(std::move(source)), model_dir_(std::move(model_dir)) {}

  absl::StatusOr<Graph> Import(std::string_view bytes) {
    onnx::ModelProto model;
    if (bytes.empty()) return Error(absl::InvalidArgumentError("the file is empty"));
    if (!ParseMessage(bytes, &model)) {
      return Error(absl::DataLossError(
          "is not a valid ONNX model: the protobuf is truncated or corrupt"));
    }
    if (!model.has_graph()) {
      return Error(absl::InvalidArgumentError(
          "has no graph (the protobuf parsed, but it is not an ONNX model or it is truncated)"));
    }
    bool found = false;
    for (const onnx::OperatorSetIdProto& opset : model.opset_import()) {
      if (IsDefaultDomain(opset.domain())) {
        opset_ = opset.version();
        found = true;
      }
    }
    if (!found && model.opset_import_size() == 0) {
      if (model.ir_version() >= 3 || model.ir_version() == 0) {
        return Error(absl::InvalidArgumentError(
            "declares no operator sets (opset_import is missing; the file may be truncated)"));
      }
      opset_ = 1;  // IR versions 1 and 2 predate opset_import and mean opset 1.
      found = true;
    }
    has_default_opset_ = found;
    if (found && (opset_ < kOnnxMinOpset || opset_ > kOnnxMaxOpset)) {
      return Error(absl::UnimplementedError(kiln::StrCat(
          "imports opset ", opset_, " of the default ONNX domain, but Kiln supports opsets ", kOnnxMinOpset, " to ",
          kOnnxMaxOpset, "; export the model with an opset in that range (torch.onnx.export's opset_version, or "
          "onnx.version_converter.convert_version)")));
    }
    RegisterStandardOps();
    absl::StatusOr<Graph> graph = ConvertGraph(model.graph(), /*outer_scope=*/{}, true);
    if (!graph.ok()) return Error(graph.status());
    if (graph->name.empty()) graph->name = "main";
    // Cycles, values produced twice, dangling control inputs, unknown ops in subgraphs.
    KILN_RETURN_IF_ERROR(Error(import_checks::CheckGraph(*graph)));
    return graph;
  }

 private:
  // Prefixes the model's name: "model 'x.onnx': ...".
  absl::Status Error(const absl::Status& status) const {
    return Annotate(status, kiln::StrCat("model '", source_, "'"));
  }

  absl::StatusOr<ValueInfo> ConvertValueInfo(const onnx::ValueInfoProto& proto,
                                             std::string_view kind, bool require_type) {
    ValueInfo info;
    info.name = proto.name();
    info.has_shape = false;
    if (info.name.empty()) {
      return absl::InvalidArgumentError(kiln::StrCat("a graph ", kind, " has no name"));
    }
    if (!proto.has_type()) {
      if (require_type) {
        return absl::InvalidArgumentError(
            kiln::StrCat("graph ", kind, " '", info.name, "' declares no type"));
      }
      return info;
    }
    if (!proto.type().has_tensor_type()) {
      return absl::UnimplementedError(kiln::StrCat(
          "graph ", kind, " '", info.name,
          "' is not a tensor (sequence, map, optional and sparse values are not supported)"));
    }
    const onnx::TypeProto::Tensor& tensor_type = proto.type().tensor_type();
    if (tensor_type.elem_type() == 0) {
      if (require_type) {
        return absl::InvalidArgumentError(
            kiln::StrCat("graph ", kind, " '", info.name, "' declares no element type"));
      }
    } else {
      absl::StatusOr<DType> dtype = DTypeFromOnnx(tensor_type.elem_type());
      if (!dtype.ok()) {
        return Annotate(dtype.status(), kiln::StrCat("graph ", kind, " '", info.name, "'"));
      }
      info.dtype = *dtype;
    }
    if (tensor_type.has_shape()) {
      info.has_shape = true;
      for (const onnx::TensorShapeProto::Dimension& dim : tensor_type.shape().dim()) {
        if (dim.has_dim_value()) {
          if (dim.dim_value() < 0) {
            return absl::InvalidArgumentError(kiln::StrCat(
                "graph ", kind, " '", info.name, "' has a negative dimension ", dim.dim_value()));
          }
          info.dims.push_back(dim.dim_value());
        } else {
          info.dims.push_back(-1);  // dim_param or unset: unknown extent.
        }
      }
      // Absurd declared extents (a corrupt file) are refused here, before anything sizes buffers by them.
      Dims known;
      for (int64_t d : info.dims) known.push_back(d < 0 ? 1 : d);
      KILN_RETURN_IF_ERROR(
          onnx_import::CheckedElementCount(known, kiln::StrCat("graph ", kind, " '", info.name, "'")).status());
    }
    return info;
  }

  absl::StatusOr<AttrValue> ConvertAttribute(const onnx::AttributeProto& attr, const Node& node,
                                             const std::set<std::string>& scope) {
    using A = onnx::AttributeProto;
    auto where = [&]() {
      return kiln::StrCat("node '", node.name, "' (", node.op, ") attribute '", attr.name(), "'");
    };
    if (!attr.ref_attr_name().empty()) {
      return absl::UnimplementedError(kiln::StrCat(
          where(), " refers to a function attribute; ONNX functions are not supported"));
    }
    int type = attr.type();
    if (type == A::UNDEFINED) {
      // IR version 1 had no type field: infer it from the field that is set.
      if (attr.has_f()) type = A::FLOAT;
      else if (attr.has_i()) type = A::INT;
      else if (attr.has_s()) type = A::STRING;
      else if (attr.has_t()) type = A::TENSOR;
      else if (attr.has_g()) type = A::GRAPH;
      else if (attr.floats_size() > 0) type = A::FLOATS;
      else if (attr.ints_size() > 0) type = A::INTS;
      else if (attr.strings_size() > 0) type = A::STRINGS;
      else return absl::InvalidArgumentError(kiln::StrCat(where(), " has no value"));
    }
    switch (type) {
      case A::FLOAT: return AttrValue(attr.f());
      case A::INT: return AttrValue(attr.i());
      case A::STRING: return AttrValue(attr.s());
      case A::FLOATS:
        return AttrValue(std::vector<float>(attr.floats().begin(), attr.floats().end()));
      case A::INTS:
        return AttrValue(std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
      case A::STRINGS:
        return AttrValue(std::vector<std::string>(attr.strings().begin(), attr.strings().end()));
      case A::TENSOR: {
        absl::StatusOr<Tensor> t = TensorFromProto(attr.t(), where(), model_dir_);
        if (!t.ok()) return t.status();
        return AttrValue(*std::move(t));
      }
      case A::GRAPH: {
        KILN_ASSIGN_OR_RETURN(Graph sub, ConvertGraph(attr.g(), scope, false));
        if (sub.name.empty()) sub.name = kiln::StrCat(node.name, "_", attr.name());
        return AttrValue(std::shared_ptr<const Graph>(std::make_shared<Graph>(std::move(sub))));
      }
      default:
        break;
    }
    return absl::UnimplementedError(kiln::StrCat(
        where(), " has attribute type ",
        A::AttributeType_IsValid(type)
            ? A::AttributeType_Name(static_cast<A::AttributeType>(type))
            : kiln::StrCat(type),
        ", which Kiln does not support"));
  }

  // One node before its upgrade: a unique name ("<op>_<index>" for an unnamed or duplicate-named
  // node), the default domain checked, inputs (trailing empty ones dropped), outputs and attributes.
  absl::StatusOr<Node> ConvertNode(const onnx::NodeProto& n, int index, const std::set<std::string>& scope,
                                   std::set<std::string>& node_names, std::set<std::string>& used_names) {
    Node node;
    node.op = n.op_type();
    node.name = n.name();
    if (node.name.empty() || node_names.count(node.name)) {
      // Unnamed (or duplicate-named) nodes get "<op>_<index>", made unique.
      std::string base = kiln::StrCat(node.op.empty() ? "node" : node.op, "_", index);
      node.name = base;
      for (int i = 1; node_names.count(node.name) || used_names.count(node.name); ++i) {
        node.name = kiln::StrCat(base, "_", i);
      }
    }
    node_names.insert(node.name);
    used_names.insert(node.name);
    if (node.op.empty()) {
      return absl::InvalidArgumentError(kiln::StrCat("node '", node.name, "' has no op_type"));
    }
    if (!IsDefaultDomain(n.domain())) {
      return absl::UnimplementedError(kiln::StrCat(
          "node '", node.name, "' has op '", node.op, "' from domain '", n.domain(),
          "'; Kiln implements only the default ONNX domain ('' or 'ai.onnx'), so the model cannot run "
          "until that node is replaced by default-domain ops"));
    }
    if (!has_default_opset_) {
      return absl::InvalidArgumentError(kiln::StrCat(
          "node '", node.name, "' has op '", node.op,
          "' from the default ONNX domain, but the model imports no opset of that domain"));
    }
    node.inputs.assign(n.input().begin(), n.input().end());
    while (!node.inputs.empty() && node.inputs.back().empty()) node.inputs.pop_back();
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const onnx::AttributeProto& attr : n.attribute()) {
      if (attr.name().empty()) {
        return absl::InvalidArgumentError(
            kiln::StrCat("node '", node.name, "' has an attribute without a name"));
      }
      KILN_ASSIGN_OR_RETURN(AttrValue value, ConvertAttribute(attr, node, scope));
      node.attrs[attr.name()] = std::move(value);
    }
    return node;
  }

  // Converts one graph. `outer_scope` holds the values visible from enclosing graphs (empty for
  // the main graph). `is_main`: graph inputs must declare their types.
  absl::StatusOr<Graph> ConvertGraph(const onnx::GraphProto& proto,
                                     const std::set<std::string>& outer_scope, bool is_main) {
    Graph graph;
    graph.name = proto.name();
    if (proto.sparse_initializer_size() > 0) {
      return absl::UnimplementedError(kiln::StrCat(
          "graph '", proto.name(), "' has sparse initializers ('",
          proto.sparse_initializer(0).values().name(), "'), which are not supported"));
    }

    // Every name in use, so that generated names never collide.
    std::set<std::string> used_names = outer_scope;
    std::map<std::string, DeclaredType> declared;
    for (const onnx::TensorProto& init : proto.initializer()) {
      if (init.name().empty()) {
        return absl::InvalidArgumentError("an initializer has no name");
      }
      if (graph.initializers.count(init.name())) {
        return absl::InvalidArgumentError(
            kiln::StrCat("initializer '", init.name(), "' is defined twice"));
      }
      KILN_ASSIGN_OR_RETURN(Tensor t,
                       TensorFromProto(init, kiln::StrCat("initializer '", init.name(), "'"), model_dir_));
      declared[init.name()].dtype = t.dtype();
      used_names.insert(init.name());
      graph.initializers.emplace(init.name(), std::move(t));
    }
    std::set<std::string> input_names;
    for (const onnx::ValueInfoProto& in : proto.input()) {
      // Before IR version 4 initializers were also listed as inputs: they stay constants.
      if (graph.initializers.count(in.name())) continue;
      KILN_ASSIGN_OR_RETURN(ValueInfo info, ConvertValueInfo(in, "input", is_main));
      if (!input_names.insert(info.name).second) {
        return absl::InvalidArgumentError(
            kiln::StrCat("graph input '", info.name, "' is declared twice"));
      }
      declared[info.name] = {info.dtype, info.dims, info.has_shape};
      used_names.insert(info.name);
      graph.inputs.push_back(std::move(info));
    }
    for (const onnx::ValueInfoProto& out : proto.output()) {
      KILN_ASSIGN_OR_RETURN(ValueInfo info, ConvertValueInfo(out, "output", false));
      declared.emplace(info.name, DeclaredType{info.dtype, info.dims, info.has_shape});
      graph.outputs.push_back(std::move(info));
    }
    for (const onnx::ValueInfoProto& vi : proto.value_info()) {
      if (!vi.has_type() || !vi.type().has_tensor_type()) continue;
      absl::StatusOr<DType> dtype = DTypeFromOnnx(vi.type().tensor_type().elem_type());
      if (dtype.ok()) declared.emplace(vi.name(), DeclaredType{*dtype, {}, false});
    }
    for (const onnx::NodeProto& n : proto.node()) {
      used_names.insert(n.name());
      for (const std::string& v : n.output()) used_names.insert(v);
      for (const std::string& v : n.input()) used_names.insert(v);
    }

    // Values available inside this graph: enclosing scopes, inputs, initializers, node outputs.
    std::set<std::string> scope = outer_scope;
    for (const ValueInfo& in : graph.inputs) scope.insert(in.name);
    for (const auto& [name, t] : graph.initializers) scope.insert(name);
    for (const onnx::NodeProto& n : proto.node()) {
      for (const std::string& v : n.output()) {
        if (!v.empty()) scope.insert(v);
      }
    }

    onnx_import::UpgradeContext upgrade;
    upgrade.opset = opset_;
    upgrade.add_constant = [&](const std::string& hint, Tensor value) {
      std::string name = hint;
      for (int i = 1; used_names.count(name); ++i) name = kiln::StrCat(hint, "_", i);
      used_names.insert(name);
      graph.initializers.emplace(name, std::move(value));
      return name;
    };
    upgrade.value_dtype = [&](const std::string& value) {
      auto it = declared.find(value);
      return it == declared.end() ? DType::kInvalid : it->second.dtype;
    };
    upgrade.value_rank = [&](const std::string& value) -> int64_t {
      if (auto init = graph.initializers.find(value); init != graph.initializers.end()) return init->second.rank();
      auto it = declared.find(value);
      return it == declared.end() || !it->second.has_shape ? -1 : static_cast<int64_t>(it->second.dims.size());
    };
    upgrade.add_node = [&](const std::string& hint, const std::string& op, std::vector<std::string> inputs) {
      Node extra;
      extra.op = op;
      extra.name = hint;
      for (int i = 1; used_names.count(extra.name); ++i) extra.name = kiln::StrCat(hint, "_", i);
      used_names.insert(extra.name);
      std::string out = extra.name + "_out";
      for (int i = 1; used_names.count(out); ++i) out = kiln::StrCat(extra.name, "_out_", i);
      used_names.insert(out);
      scope.insert(out);
      extra.inputs = std::move(inputs);
      extra.outputs = {out};
      graph.nodes.push_back(std::move(extra));
      return out;
    };
    upgrade.constant = [&](const std::string& value) -> const Tensor* {
      auto it = graph.initializers.find(value);
      return it == graph.initializers.end() ? nullptr : &it->second;
    };

    std::set<std::string> node_names;
    const OpRegistry& registry = OpRegistry::Global();
    for (int index = 0; index < proto.node_size(); ++index) {
      KILN_ASSIGN_OR_RETURN(Node node, ConvertNode(proto.node(index), index, scope, node_names, used_names));
      KILN_RETURN_IF_ERROR(onnx_import::UpgradeNode(&node, upgrade));
      if (registry.Find(node.op) == nullptr) {
        return absl::UnimplementedError(kiln::StrCat("node '", node.name, "' has op '", node.op,
                                                     "' that Kiln does not implement"));
      }
      for (const std::string& in : node.inputs) {
        if (in.empty() || scope.count(in) || graph.initializers.count(in)) continue;
        return absl::InvalidArgumentError(kiln::StrCat(
            "node '", node.name, "' (", node.op, ") reads '", in,
            "', which no node, graph input or initializer provides (a missing initializer?)"));
      }
      graph.nodes.push_back(std::move(node));
    }
    for (const ValueInfo& out : graph.outputs) {
      if (scope.count(out.name) || graph.initializers.count(out.name)) continue;
      return absl::InvalidArgumentError(kiln::StrCat(
          "graph output '", out.name, "' is not produced by any node, input or initializer"));
    }
    return graph;
  }

  std::string source_;
  std::optional<std::string> model_dir_;
  int64_t opset_ = 0;
  bool has_default_opset_ = false;
};

}  // namespace

absl::StatusOr<Graph> ImportOnnxBytes(std::string_view bytes, std::string_view source_name) {
  OnnxImporter importer(std::string(source_name), std::nullopt);
  return importer.Import(bytes);
}

absl::StatusOr<Graph> ImportOnnxFile(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, "model"));
  OnnxImporter importer(path, std::filesystem::path(path).parent_path().string());
  return importer.Import(bytes);
}

absl::StatusOr<Tensor> ReadOnnxTensorFile(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, "tensor file"));
  onnx::TensorProto proto;
  if (!ParseMessage(bytes, &proto)) {
    return absl::DataLossError(kiln::StrCat(
        "tensor file '", path, "' is not a valid ONNX TensorProto (truncated or corrupt)"));
  }
  const std::string what = kiln::StrCat("tensor file '", path, "'");
  return TensorFromProto(proto, what, std::filesystem::path(path).parent_path().string());
}

}  // namespace kiln
