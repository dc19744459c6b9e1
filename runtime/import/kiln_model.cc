// Kiln's own model format: Graph <-> lib/proto/kiln_model.proto.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/model_format.h"
#include "kiln/runtime/op_registry.h"
#include "kiln/support/read_file.h"
#include "kiln/support/files.h"
#include "kiln/support/status.h"
#include "kiln_model.pb.h"
#include "runtime/import/graph_checks.h"

namespace kiln {
namespace {

namespace pb = ::kiln::model;

constexpr char kMagic[] = "kiln.model";
// Protobuf cannot serialize or parse a message of 2 GiB or more.
constexpr int64_t kMaxModelBytes = (int64_t{2} << 30) - 1;

// ---------------------------------------------------------------------------------------------
// Element types.

pb::DataType ToProto(DType dtype) {
  switch (dtype) {
    case DType::kF32: return pb::F32;
    case DType::kF16: return pb::F16;
    case DType::kBF16: return pb::BF16;
    case DType::kS8: return pb::S8;
    case DType::kU8: return pb::U8;
    case DType::kS32: return pb::S32;
    case DType::kS64: return pb::S64;
    case DType::kBool: return pb::BOOL;
    case DType::kF64: return pb::F64;
    case DType::kS16: return pb::S16;
    case DType::kU16: return pb::U16;
    case DType::kU32: return pb::U32;
    case DType::kU64: return pb::U64;
    case DType::kInvalid: break;
  }
  return pb::DATA_TYPE_INVALID;
}

// kInvalid for DATA_TYPE_INVALID and for values this reader does not know.
DType FromProto(int dtype) {
  switch (dtype) {
    case pb::F32: return DType::kF32;
    case pb::F16: return DType::kF16;
    case pb::BF16: return DType::kBF16;
    case pb::S8: return DType::kS8;
    case pb::U8: return DType::kU8;
    case pb::S32: return DType::kS32;
    case pb::S64: return DType::kS64;
    case pb::BOOL: return DType::kBool;
    case pb::F64: return DType::kF64;
    case pb::S16: return DType::kS16;
    case pb::U16: return DType::kU16;
    case pb::U32: return DType::kU32;
    case pb::U64: return DType::kU64;
    default: break;
  }
  return DType::kInvalid;
}

// ---------------------------------------------------------------------------------------------
// Saving.

absl::Status TensorToProto(const Tensor& tensor, std::string_view what, pb::Tensor* proto) {
  if (!tensor.valid()) return absl::InvalidArgumentError(kiln::StrCat(what, " is an absent (invalid) tensor"));
  const int64_t count = tensor.num_elements();
  if (count < 0) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " has invalid dims ", DimsToString(tensor.dims())));
  }
  proto->set_dtype(ToProto(tensor.dtype()));
  for (int64_t d : tensor.dims()) proto->add_dims(d);
  const size_t bytes = tensor.byte_size();
  if (bytes > static_cast<size_t>(kMaxModelBytes)) {
    return absl::InvalidArgumentError(
        kiln::StrCat(what, " holds ", bytes, " bytes; a .kiln file holds at most 2 GiB in all"));
  }
  if (bytes > 0 && tensor.raw_data() == nullptr) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " has no buffer"));
  }
  std::string* data = proto->mutable_data();
  data->assign(static_cast<const char*>(tensor.raw_data()), bytes);
  if (tensor.dtype() == DType::kBool) {
    for (char& c : *data) c = c != 0 ? 1 : 0;
  }
  return absl::OkStatus();
}

void ValueInfoToProto(const ValueInfo& info, pb::ValueInfo* proto) {
  proto->set_name(info.name);
  proto->set_dtype(ToProto(info.dtype));
  if (!info.has_shape) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : info.dims) proto->add_dims(d);
}

absl::Status GraphToProto(const Graph& graph, int depth, pb::Graph* proto);

absl::Status AttrToProto(const Node& node, const std::string& key, const AttrValue& value, int depth,
                         pb::Attribute* proto) {
  proto->set_name(key);
  const std::string what = kiln::StrCat("node '", node.name, "' (", node.op, ") attribute '", key, "'");
  if (const auto* v = std::get_if<int64_t>(&value)) {
    proto->set_i(*v);
  } else if (const auto* v = std::get_if<float>(&value)) {
    proto->set_f(*v);
  } else if (const auto* v = std::get_if<std::string>(&value)) {
    proto->set_s(*v);
  } else if (const auto* v = std::get_if<std::vector<int64_t>>(&value)) {
    proto->mutable_ints()->mutable_values()->Add(v->begin(), v->end());
  } else if (const auto* v = std::get_if<std::vector<float>>(&value)) {
    proto->mutable_floats()->mutable_values()->Add(v->begin(), v->end());
  } else if (const auto* v = std::get_if<std::vector<std::string>>(&value)) {
    pb::Strings* strings = proto->mutable_strings();  // Set even when empty: an empty list is a value.
    for (const std::string& s : *v) strings->add_values(s);
  } else if (const auto* v = std::get_if<Tensor>(&value)) {
    KILN_RETURN_IF_ERROR(TensorToProto(*v, what, proto->mutable_tensor()));
  } else if (const auto* v = std::get_if<std::shared_ptr<const Graph>>(&value)) {
    if (*v == nullptr) return absl::InvalidArgumentError(kiln::StrCat(what, " holds no graph"));
    KILN_RETURN_IF_ERROR(Annotate(GraphToProto(**v, depth + 1, proto->mutable_graph()), what));
  } else {
    return absl::InternalError(kiln::StrCat(what, " has an attribute type the .kiln writer does not know"));
  }
  return absl::OkStatus();
}

absl::Status GraphToProto(const Graph& graph, int depth, pb::Graph* proto) {
  if (depth > import_checks::kMaxSubgraphDepth) {
    return absl::InvalidArgumentError(
        kiln::StrCat("subgraphs are nested more than ", import_checks::kMaxSubgraphDepth, " deep"));
  }
  proto->set_name(graph.name);
  for (const Node& node : graph.nodes) {
    pb::Node* n = proto->add_nodes();
    n->set_name(node.name);
    n->set_op(node.op);
    for (const std::string& s : node.inputs) n->add_inputs(s);
    for (const std::string& s : node.outputs) n->add_outputs(s);
    for (const std::string& s : node.control_inputs) n->add_control_inputs(s);
    for (const auto& [key, value] : node.attrs) {  // std::map: sorted by name.
      KILN_RETURN_IF_ERROR(AttrToProto(node, key, value, depth, n->add_attributes()));
    }
  }
  for (const ValueInfo& in : graph.inputs) ValueInfoToProto(in, proto->add_inputs());
  for (const ValueInfo& out : graph.outputs) ValueInfoToProto(out, proto->add_outputs());
  for (const auto& [name, tensor] : graph.initializers) {  // Sorted by name.
    pb::Initializer* init = proto->add_initializers();
    init->set_name(name);
    KILN_RETURN_IF_ERROR(TensorToProto(tensor, kiln::StrCat("initializer '", name, "'"), init->mutable_tensor()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Loading.

absl::StatusOr<Tensor> TensorFromProto(const pb::Tensor& proto, std::string_view what) {
  const DType dtype = FromProto(proto.dtype());
  if (dtype == DType::kInvalid) {
    return absl::InvalidArgumentError(
        kiln::StrCat(what, " has element type ", proto.dtype(), ", which this version of Kiln does not know"));
  }
  Dims dims(proto.dims().begin(), proto.dims().end());
  // Check the declared size against the data before allocating anything.
  int64_t count = 1;
  bool zero = false, too_big = false;
  for (int64_t d : dims) {
    if (d < 0) {
      return absl::InvalidArgumentError(kiln::StrCat(what, " has a negative dimension in ", DimsToString(dims)));
    }
    if (d == 0) zero = true;
    if (d != 0 && count > kMaxTensorElements / d) too_big = true;
    if (!too_big) count *= d;
  }
  if (zero) count = 0;
  if (!zero && too_big) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " declares dims ", DimsToString(dims), ", more than the ",
                                                   kMaxTensorElements,
                                                   " elements Kiln accepts for one tensor; the file is probably corrupt"));
  }
  const size_t expected = static_cast<size_t>(count) * DTypeSize(dtype);
  if (proto.data().size() != expected) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " has ", proto.data().size(), " bytes of data, but its dims ",
                                                   DimsToString(dims), " and type ", DTypeName(dtype), " need ",
                                                   expected, " bytes"));
  }
  absl::StatusOr<Tensor> created = Tensor::Create(dtype, std::move(dims));
  if (!created.ok()) return Annotate(created.status(), what);
  Tensor tensor = *std::move(created);
  if (expected > 0) std::memcpy(tensor.raw_data(), proto.data().data(), expected);
  if (dtype == DType::kBool) {
    uint8_t* b = tensor.data<uint8_t>();
    for (int64_t i = 0; i < count; ++i) b[i] = b[i] != 0;
  }
  return tensor;
}

absl::StatusOr<ValueInfo> ValueInfoFromProto(const pb::ValueInfo& proto, std::string_view kind) {
  ValueInfo info;
  info.name = proto.name();
  if (info.name.empty()) return absl::InvalidArgumentError(kiln::StrCat("a graph ", kind, " has no name"));
  info.dtype = FromProto(proto.dtype());
  if (info.dtype == DType::kInvalid && proto.dtype() != pb::DATA_TYPE_INVALID) {
    return absl::InvalidArgumentError(kiln::StrCat("graph ", kind, " '", info.name, "' has element type ",
                                                   proto.dtype(), ", which this version of Kiln does not know"));
  }
  info.has_shape = !proto.unknown_rank();
  if (proto.unknown_rank() && proto.dims_size() > 0) {
    return absl::InvalidArgumentError(
        kiln::StrCat("graph ", kind, " '", info.name, "' has an unknown rank but lists dimensions"));
  }
  int64_t known = 1;
  for (int64_t d : proto.dims()) {
    if (d < -1) {
      return absl::InvalidArgumentError(
          kiln::StrCat("graph ", kind, " '", info.name, "' has a negative dimension ", d, " (-1 marks unknown)"));
    }
    info.dims.push_back(d);
    if (d >= 0) known = (d == 0 || known == 0) ? 0 : (known > kMaxTensorElements / d ? kMaxTensorElements + 1 : known * d);
  }
  if (known > kMaxTensorElements) {
    return absl::InvalidArgumentError(kiln::StrCat("graph ", kind, " '", info.name, "' declares dims ",
                                                   DimsToString(info.dims), ", more than the ", kMaxTensorElements,
                                                   " elements Kiln accepts for one tensor; the file is probably corrupt"));
  }
  return info;
}

absl::StatusOr<Graph> GraphFromProto(const pb::Graph& proto, int depth);

absl::StatusOr<AttrValue> AttrFromProto(const pb::Attribute& proto, const Node& node, int depth) {
  const std::string what = kiln::StrCat("node '", node.name, "' (", node.op, ") attribute '", proto.name(), "'");
  switch (proto.value_case()) {
    case pb::Attribute::kI: return AttrValue(proto.i());
    case pb::Attribute::kF: return AttrValue(proto.f());
    case pb::Attribute::kS: return AttrValue(proto.s());
    case pb::Attribute::kInts:
      return AttrValue(std::vector<int64_t>(proto.ints().values().begin(), proto.ints().values().end()));
    case pb::Attribute::kFloats:
      return AttrValue(std::vector<float>(proto.floats().values().begin(), proto.floats().values().end()));
    case pb::Attribute::kStrings:
      return AttrValue(std::vector<std::string>(proto.strings().values().begin(), proto.strings().values().end()));
    case pb::Attribute::kTensor: {
      KILN_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(proto.tensor(), what));
      return AttrValue(std::move(t));
    }
    case pb::Attribute::kGraph: {
      if (depth + 1 > import_checks::kMaxSubgraphDepth) {
        return absl::InvalidArgumentError(
            kiln::StrCat(what, ": subgraphs are nested more than ", import_checks::kMaxSubgraphDepth, " deep"));
      }
      absl::StatusOr<Graph> sub = GraphFromProto(proto.graph(), depth + 1);
      if (!sub.ok()) return Annotate(sub.status(), what);
      return AttrValue(std::shared_ptr<const Graph>(std::make_shared<Graph>(*std::move(sub))));
    }
    case pb::Attribute::VALUE_NOT_SET: break;
  }
  return absl::InvalidArgumentError(kiln::StrCat(what, " has no value (or one of a kind this version of Kiln does "
                                                       "not know)"));
}

absl::StatusOr<Graph> GraphFromProto(const pb::Graph& proto, int depth) {
  Graph graph;
  graph.name = proto.name();
  for (const pb::Initializer& init : proto.initializers()) {
    if (init.name().empty()) return absl::InvalidArgumentError("an initializer has no name");
    const std::string what = kiln::StrCat("initializer '", init.name(), "'");
    if (graph.initializers.count(init.name())) return absl::InvalidArgumentError(kiln::StrCat(what, " is defined twice"));
    KILN_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init.tensor(), what));
    graph.initializers.emplace(init.name(), std::move(t));
  }
  for (const pb::ValueInfo& in : proto.inputs()) {
    KILN_ASSIGN_OR_RETURN(ValueInfo info, ValueInfoFromProto(in, "input"));
    graph.inputs.push_back(std::move(info));
  }
  for (const pb::ValueInfo& out : proto.outputs()) {
    KILN_ASSIGN_OR_RETURN(ValueInfo info, ValueInfoFromProto(out, "output"));
    graph.outputs.push_back(std::move(info));
  }
  graph.nodes.reserve(proto.nodes_size());
  for (int index = 0; index < proto.nodes_size(); ++index) {
    const pb::Node& n = proto.nodes(index);
    Node node;
    node.name = n.name();
    node.op = n.op();
    if (node.name.empty()) {
      return absl::InvalidArgumentError(kiln::StrCat("node number ", index, " (", node.op, ") has no name"));
    }
    if (node.op.empty()) return absl::InvalidArgumentError(kiln::StrCat("node '", node.name, "' has no op"));
    node.inputs.assign(n.inputs().begin(), n.inputs().end());
    node.outputs.assign(n.outputs().begin(), n.outputs().end());
    node.control_inputs.assign(n.control_inputs().begin(), n.control_inputs().end());
    for (const pb::Attribute& attr : n.attributes()) {
      if (attr.name().empty()) {
        return absl::InvalidArgumentError(kiln::StrCat("node '", node.name, "' has an attribute without a name"));
      }
      if (node.attrs.count(attr.name())) {
        return absl::InvalidArgumentError(
            kiln::StrCat("node '", node.name, "' has attribute '", attr.name(), "' twice"));
      }
      KILN_ASSIGN_OR_RETURN(AttrValue value, AttrFromProto(attr, node, depth));
      node.attrs.emplace(attr.name(), std::move(value));
    }
    graph.nodes.push_back(std::move(node));
  }
  return graph;
}

absl::StatusOr<std::string> ReadModelFile(const std::string& path) {
  return ReadRegularFile(path, "model",
                         {.max_bytes = kMaxModelBytes, .too_large_advice = " (the .kiln format's limit)"});
}

// ---------------------------------------------------------------------------------------------
// Comparison.

std::string AttrText(const AttrValue& v) {
  struct Printer {
    std::string operator()(int64_t x) const { return kiln::StrCat("int ", x); }
    std::string operator()(float x) const { return kiln::StrCat("float ", x); }
    std::string operator()(const std::string& x) const { return kiln::StrCat("string '", x, "'"); }
    std::string operator()(const std::vector<int64_t>& x) const {
      return kiln::StrCat("ints [", absl::StrJoin(x, ","), "]");
    }
    std::string operator()(const std::vector<float>& x) const {
      return kiln::StrCat("floats [", absl::StrJoin(x, ","), "]");
    }
    std::string operator()(const std::vector<std::string>& x) const {
      return kiln::StrCat("strings [", absl::StrJoin(x, ","), "]");
    }
    std::string operator()(const Tensor& x) const { return kiln::StrCat("tensor ", x.TypeString()); }
    std::string operator()(const std::shared_ptr<const Graph>& x) const {
      return kiln::StrCat("graph '", x ? x->name : "(null)", "'");
    }
  };
  return std::visit(Printer{}, v);
}

// Bit equality of floats (so that NaN attributes compare equal to themselves).
bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

absl::Status Differ(std::string_view where, std::string_view expected, std::string_view actual) {
  return absl::FailedPreconditionError(kiln::StrCat(where, ": expected ", expected, ", got ", actual));
}

std::string ValueInfoText(const ValueInfo& v) {
  return kiln::StrCat("'", v.name, "' ", DTypeName(v.dtype), v.has_shape ? DimsToString(v.dims) : "[unknown rank]");
}

absl::Status CompareAttr(const std::string& where, const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return Differ(where, AttrText(a), AttrText(b));
  if (const auto* x = std::get_if<float>(&a)) {
    if (!SameBits(*x, std::get<float>(b))) return Differ(where, AttrText(a), AttrText(b));
    return absl::OkStatus();
  }
  if (const auto* x = std::get_if<std::vector<float>>(&a)) {
    const auto& y = std::get<std::vector<float>>(b);
    bool same = x->size() == y.size();
    for (size_t i = 0; same && i < x->size(); ++i) same = SameBits((*x)[i], y[i]);
    if (!same) return Differ(where, AttrText(a), AttrText(b));
    return absl::OkStatus();
  }
  if (const auto* x = std::get_if<Tensor>(&a)) {
    if (!x->BitEqual(std::get<Tensor>(b))) {
      return Differ(where, AttrText(a), kiln::StrCat(AttrText(b), " (or different contents)"));
    }
    return absl::OkStatus();
  }
  if (const auto* x = std::get_if<std::shared_ptr<const Graph>>(&a)) {
    const auto& y = std::get<std::shared_ptr<const Graph>>(b);
    if (*x == nullptr || y == nullptr) {
      if (*x != y) return Differ(where, AttrText(a), AttrText(b));
      return absl::OkStatus();
    }
    return Annotate(CompareGraphs(**x, *y), where);
  }
  bool same = false;
  if (const auto* x = std::get_if<int64_t>(&a)) same = *x == std::get<int64_t>(b);
  if (const auto* x = std::get_if<std::string>(&a)) same = *x == std::get<std::string>(b);
  if (const auto* x = std::get_if<std::vector<int64_t>>(&a)) same = *x == std::get<std::vector<int64_t>>(b);
  if (const auto* x = std::get_if<std::vector<std::string>>(&a)) same = *x == std::get<std::vector<std::string>>(b);
  if (!same) return Differ(where, AttrText(a), AttrText(b));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SerializeKilnModel(const Graph& graph, const SaveOptions& options) {
  pb::Model model;
  model.set_magic(kMagic);
  model.set_version(kKilnModelVersion);
  model.set_producer(options.producer);
  KILN_RETURN_IF_ERROR(GraphToProto(graph, 0, model.mutable_graph()));
  const size_t size = model.ByteSizeLong();
  if (size > static_cast<size_t>(kMaxModelBytes)) {
    return absl::InvalidArgumentError(kiln::StrCat("graph '", graph.name, "' serializes to ", size,
                                                   " bytes; a .kiln file holds at most 2 GiB"));
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!model.SerializeToCodedStream(&coded)) {
      return absl::InternalError(kiln::StrCat("graph '", graph.name, "' could not be serialized"));
    }
  }
  return bytes;
}

absl::Status SaveKilnModel(const Graph& graph, const std::string& path, const SaveOptions& options) {
  absl::StatusOr<std::string> bytes = SerializeKilnModel(graph, options);
  if (!bytes.ok()) return Annotate(bytes.status(), kiln::StrCat("model '", path, "'"));
  return WriteFileBytes(path, *bytes, "model");
}

absl::StatusOr<Graph> LoadKilnModelBytes(std::string_view bytes, std::string_view source_name) {
  const std::string where = kiln::StrCat("model '", source_name, "'");
  if (bytes.empty()) return absl::InvalidArgumentError(kiln::StrCat(where, ": the file is empty"));
  if (bytes.size() > static_cast<size_t>(kMaxModelBytes)) {
    return absl::InvalidArgumentError(kiln::StrCat(where, ": over 2 GiB"));
  }
  pb::Model model;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  // Each nesting level of subgraphs is three message levels (Graph, Node, Attribute); allow a few
  // more than kMaxSubgraphDepth so that the loader, not protobuf, reports deep nesting.
  stream.SetRecursionLimit(3 * import_checks::kMaxSubgraphDepth + 24);
  if (!model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return absl::DataLossError(
        kiln::StrCat(where, " is not a valid Kiln model: the protobuf is truncated or corrupt (or nested too deeply)"));
  }
  if (model.magic() != kMagic) {
    return absl::InvalidArgumentError(kiln::StrCat(
        where, " is not a Kiln model (it lacks the 'kiln.model' identifier; an ONNX or other model renamed "
               ".kiln? Convert it with `kiln convert`)"));
  }
  if (model.version() == 0 || model.version() > static_cast<uint32_t>(kKilnModelVersion)) {
    return absl::InvalidArgumentError(kiln::StrCat(where, " has format version ", model.version(),
                                                   "; this build of Kiln reads versions 1 to ", kKilnModelVersion,
                                                   " (a newer Kiln wrote it?)"));
  }
  if (!model.has_graph()) return absl::InvalidArgumentError(kiln::StrCat(where, " has no graph"));
  RegisterStandardOps();
  absl::StatusOr<Graph> graph = GraphFromProto(model.graph(), 0);
  if (!graph.ok()) return Annotate(graph.status(), where);
  KILN_RETURN_IF_ERROR(Annotate(import_checks::CheckGraph(*graph), where));
  return graph;
}

absl::StatusOr<Graph> LoadKilnModel(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadModelFile(path));
  return LoadKilnModelBytes(bytes, path);
}

absl::Status CompareGraphs(const Graph& expected, const Graph& actual) {
  const Graph& a = expected;
  const Graph& b = actual;
  const std::string g = kiln::StrCat("graph '", a.name, "'");
  if (a.name != b.name) return Differ("graph name", kiln::StrCat("'", a.name, "'"), kiln::StrCat("'", b.name, "'"));
  if (a.inputs.size() != b.inputs.size()) {
    return Differ(kiln::StrCat(g, " inputs"), kiln::StrCat(a.inputs.size()), kiln::StrCat(b.inputs.size()));
  }
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const ValueInfo &x = a.inputs[i], &y = b.inputs[i];
    if (x.name != y.name || x.dtype != y.dtype || x.has_shape != y.has_shape || x.dims != y.dims) {
      return Differ(kiln::StrCat(g, " input ", i), ValueInfoText(x), ValueInfoText(y));
    }
  }
  if (a.outputs.size() != b.outputs.size()) {
    return Differ(kiln::StrCat(g, " outputs"), kiln::StrCat(a.outputs.size()), kiln::StrCat(b.outputs.size()));
  }
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    const ValueInfo &x = a.outputs[i], &y = b.outputs[i];
    if (x.name != y.name || x.dtype != y.dtype || x.has_shape != y.has_shape || x.dims != y.dims) {
      return Differ(kiln::StrCat(g, " output ", i), ValueInfoText(x), ValueInfoText(y));
    }
  }
  if (a.initializers.size() != b.initializers.size()) {
    return Differ(kiln::StrCat(g, " initializers"), kiln::StrCat(a.initializers.size()),
                  kiln::StrCat(b.initializers.size()));
  }
  for (auto x = a.initializers.begin(), y = b.initializers.begin(); x != a.initializers.end(); ++x, ++y) {
    if (x->first != y->first) {
      return Differ(kiln::StrCat(g, " initializer names"), kiln::StrCat("'", x->first, "'"),
                    kiln::StrCat("'", y->first, "'"));
    }
    if (!x->second.BitEqual(y->second)) {
      return Differ(kiln::StrCat(g, " initializer '", x->first, "'"), x->second.TypeString(),
                    kiln::StrCat(y->second.TypeString(), " (or different contents)"));
    }
  }
  if (a.nodes.size() != b.nodes.size()) {
    return Differ(kiln::StrCat(g, " node count"), kiln::StrCat(a.nodes.size()), kiln::StrCat(b.nodes.size()));
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    const std::string where = kiln::StrCat(g, " node ", i, " '", x.name, "'");
    if (x.name != y.name || x.op != y.op) {
      return Differ(where, kiln::StrCat("'", x.name, "' (", x.op, ")"), kiln::StrCat("'", y.name, "' (", y.op, ")"));
    }
    if (x.inputs != y.inputs) {
      return Differ(kiln::StrCat(where, " inputs"), absl::StrJoin(x.inputs, ","), absl::StrJoin(y.inputs, ","));
    }
    if (x.outputs != y.outputs) {
      return Differ(kiln::StrCat(where, " outputs"), absl::StrJoin(x.outputs, ","), absl::StrJoin(y.outputs, ","));
    }
    if (x.control_inputs != y.control_inputs) {
      return Differ(kiln::StrCat(where, " control inputs"), absl::StrJoin(x.control_inputs, ","),
                    absl::StrJoin(y.control_inputs, ","));
    }
    if (x.attrs.size() != y.attrs.size()) {
      std::vector<std::string> xs, ys;
      for (const auto& [k, v] : x.attrs) xs.push_back(k);
      for (const auto& [k, v] : y.attrs) ys.push_back(k);
      return Differ(kiln::StrCat(where, " attributes"), absl::StrJoin(xs, ","), absl::StrJoin(ys, ","));
    }
    for (auto p = x.attrs.begin(), q = y.attrs.begin(); p != x.attrs.end(); ++p, ++q) {
      if (p->first != q->first) {
        return Differ(kiln::StrCat(where, " attribute names"), p->first, q->first);
      }
      KILN_RETURN_IF_ERROR(CompareAttr(kiln::StrCat(where, " attribute '", p->first, "'"), p->second, q->second));
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln
