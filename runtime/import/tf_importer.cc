// The TensorFlow importers: frozen GraphDef files (.pb) and TensorFlow.js graph models
// (model.json + weight shards). Both translate through tf/tf_converter.
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/util/json_util.h"
#include "kiln/runtime/import.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"
#include "runtime/import/graph_checks.h"
#include "runtime/import/tf/tf_converter.h"
#include "runtime/import/tf/tf_tensor.h"
#include "tensorflow_graph.pb.h"

namespace kiln {
namespace {

// ---- TensorFlow.js weights -----------------------------------------------------------------------

// Bytes per stored element of a manifest entry (after quantization, when quantized).
absl::StatusOr<int64_t> StoredElementBytes(const tf::TfjsWeightEntry& w) {
  const std::string& stored = w.has_quantization() && !w.quantization().dtype().empty() ? w.quantization().dtype() : w.dtype();
  if (stored == "float32" || stored == "int32") return 4;
  if (stored == "uint16" || stored == "float16") return 2;
  if (stored == "uint8" || stored == "bool") return 1;
  return absl::UnimplementedError(kiln::StrCat("weight '", w.name(), "' is stored as '", stored,
                                               "'; Kiln reads float32, int32, bool, and uint8/uint16/float16 quantized weights"));
}

// Decodes one weight from `bytes` (exactly its stored size).
absl::StatusOr<Tensor> DecodeWeight(const tf::TfjsWeightEntry& w, const Dims& dims, const char* bytes) {
  const int64_t n = NumElements(dims);
  const bool quantized = w.has_quantization() && !w.quantization().dtype().empty();
  DType out_type;
  if (w.dtype() == "float32") {
    out_type = DType::kF32;
  } else if (w.dtype() == "int32") {
    out_type = DType::kS32;
  } else if (w.dtype() == "bool") {
    out_type = DType::kBool;
  } else {
    return absl::UnimplementedError(kiln::StrCat("weight '", w.name(), "' has dtype '", w.dtype(), "', which Kiln does not read"));
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(out_type, dims));
  if (!quantized) {
    if (n > 0) std::memcpy(t.raw_data(), bytes, t.byte_size());
    return t;
  }
  const std::string& q = w.quantization().dtype();
  if (out_type == DType::kBool) return absl::UnimplementedError(kiln::StrCat("weight '", w.name(), "': quantized bool"));
  std::vector<double> values(n);
  if (q == "float16") {
    for (int64_t i = 0; i < n; ++i) {
      Half h;
      std::memcpy(&h.bits, bytes + 2 * i, 2);
      values[i] = HalfToFloat(h);
    }
  } else if (q == "uint8" || q == "uint16") {
    // TensorFlow.js: value = q * scale + min.
    const double scale = w.quantization().scale(), min = w.quantization().min();
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v = 0;
      if (q == "uint8") {
        v = static_cast<uint8_t>(bytes[i]);
      } else {
        uint16_t u;
        std::memcpy(&u, bytes + 2 * i, 2);
        v = u;
      }
      values[i] = static_cast<double>(v) * scale + min;
    }
  } else {
    return absl::UnimplementedError(kiln::StrCat("weight '", w.name(), "' uses quantization dtype '", q, "'"));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (out_type == DType::kF32) {
      t.data<float>()[i] = static_cast<float>(values[i]);
    } else {
      t.data<int32_t>()[i] = static_cast<int32_t>(std::lround(values[i]));
    }
  }
  return t;
}

// The shapes the Const nodes of the topology declare for their values (where they declare one).
std::map<std::string, Dims> DeclaredConstShapes(const tf::GraphDef& topology) {
  std::map<std::string, Dims> shapes;
  for (const tf::NodeDef& n : topology.node()) {
    if (n.op() != "Const") continue;
    auto it = n.attr().find("value");
    if (it == n.attr().end() || !it->second.tensor().has_tensor_shape()) continue;
    const tf::TensorShapeProto& shape = it->second.tensor().tensor_shape();
    if (shape.unknown_rank()) continue;
    Dims dims;
    for (const tf::TensorShapeProto::Dim& d : shape.dim()) dims.push_back(d.size());
    shapes.emplace(n.name(), std::move(dims));
  }
  return shapes;
}

// Reads the weights of the manifest from the shards beside model.json (in `dir`). The manifest
// gives no offsets: each weight's bytes follow the previous weight's, sized by the manifest's shape
// and dtype. So a manifest shape is first checked against the shape its Const node declares,
// which names the weight that is wrong rather than a later one whose bytes no longer line up.
absl::StatusOr<std::map<std::string, Tensor>> LoadTfjsWeights(const tf::TfjsModel& model, const std::string& dir) {
  const std::map<std::string, Dims> declared = DeclaredConstShapes(model.model_topology());
  std::map<std::string, Tensor> weights;
  for (int g = 0; g < model.weights_manifest_size(); ++g) {
    const tf::TfjsWeightGroup& group = model.weights_manifest(g);
    const std::string group_name = kiln::StrCat("weight group ", g, " (", absl::StrJoin(group.paths(), ", "), ")");
    std::vector<int64_t> sizes;
    int64_t total = 0;
    for (const tf::TfjsWeightEntry& w : group.weights()) {
      Dims dims(w.shape().begin(), w.shape().end());
      const int64_t n = NumElements(dims);
      if (n < 0 || n > kMaxTensorElements) {
        return absl::InvalidArgumentError(kiln::StrCat("weight '", w.name(), "' has an invalid shape ", DimsToString(dims)));
      }
      auto node = declared.find(w.name());
      if (node != declared.end() && node->second != dims) {
        return absl::InvalidArgumentError(kiln::StrCat(
            "weight '", w.name(), "' has shape ", DimsToString(dims), " in the manifest of ", group_name,
            ", but its Const node declares ", DimsToString(node->second),
            "; the weights after it would be read from the wrong bytes, so fix this manifest entry"));
      }
      KILN_ASSIGN_OR_RETURN(int64_t esize, StoredElementBytes(w));
      sizes.push_back(n * esize);
      total += n * esize;  // At most 2^34 per weight, and under 2^27 entries fit a 2 GiB model.json.
    }
    std::string data;
    for (const std::string& shard : group.paths()) {
      absl::StatusOr<std::string> path = ResolvePathInside(dir, shard, "weight shard");
      if (!path.ok()) return Annotate(path.status(), kiln::StrCat("weight group ", g));
      KILN_ASSIGN_OR_RETURN(std::string bytes, ReadRegularFile(*path, "weight shard"));
      if (bytes.size() > static_cast<size_t>(kMaxFileBytes) - data.size()) {
        return absl::InvalidArgumentError(kiln::StrCat("the shards of ", group_name, " hold more than ",
                                                       kMaxFileBytes, " bytes, more than Kiln reads"));
      }
      data += bytes;
    }
    int64_t offset = 0;
    for (int i = 0; i < group.weights_size(); ++i) {
      const tf::TfjsWeightEntry& w = group.weights(i);
      const int64_t size = sizes[i];
      if (offset + size > static_cast<int64_t>(data.size())) {
        return absl::DataLossError(kiln::StrCat(
            "weight '", w.name(), "' needs bytes ", offset, " to ", offset + size, " of ", group_name,
            ", but its shards hold only ", data.size(), " bytes; the manifest describes ", total,
            " bytes in all (a truncated or wrong shard, or a wrong shape or dtype of this or an earlier weight "
            "of the group)"));
      }
      KILN_ASSIGN_OR_RETURN(Tensor t, DecodeWeight(w, Dims(w.shape().begin(), w.shape().end()), data.data() + offset));
      offset += size;
      if (!weights.emplace(w.name(), std::move(t)).second) {
        return absl::InvalidArgumentError(kiln::StrCat("weight '", w.name(), "' appears twice in the manifest"));
      }
    }
    if (offset != static_cast<int64_t>(data.size())) {
      return absl::DataLossError(kiln::StrCat("the shards of ", group_name, " hold ", data.size(),
                                              " bytes, but its manifest describes ", offset,
                                              " (a wrong or corrupt shard, or a wrong shape or dtype in the manifest)"));
    }
  }
  return weights;
}

// True when the TensorProto carries values of its own (not only a dtype and shape).
bool HasInlineValues(const tf::TensorProto& t) {
  return !t.tensor_content().empty() || t.float_val_size() || t.int_val_size() || t.int64_val_size() ||
         t.bool_val_size() || t.half_val_size() || t.double_val_size() || t.string_val_size();
}

}  // namespace

absl::StatusOr<Graph> ImportTfGraphDefBytes(std::string_view bytes, std::string_view source_name,
                                            const std::vector<std::string>& outputs) {
  const std::string where = kiln::StrCat("model '", source_name, "'");
  if (bytes.empty()) return absl::InvalidArgumentError(kiln::StrCat(where, ": the file is empty"));
  tf::GraphDef graph_def;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  if (!graph_def.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return absl::DataLossError(kiln::StrCat(where, ": is not a valid TensorFlow GraphDef: the protobuf is truncated or corrupt"));
  }
  if (graph_def.node_size() == 0) {
    return absl::InvalidArgumentError(kiln::StrCat(where, ": the GraphDef has no nodes (not a frozen graph, or truncated)"));
  }
  tf_import::ConvertOptions options;
  options.outputs = outputs;
  absl::StatusOr<Graph> graph = tf_import::ConvertGraphDef(graph_def, options);
  if (!graph.ok()) return Annotate(graph.status(), where);
  KILN_RETURN_IF_ERROR(Annotate(import_checks::CheckGraph(*graph), where));  // The checks every importer applies.
  return graph;
}

absl::StatusOr<Graph> ImportTfGraphDefFile(const std::string& path, const std::vector<std::string>& outputs) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadRegularFile(path, "model"));
  return ImportTfGraphDefBytes(bytes, path, outputs);
}

absl::StatusOr<Graph> ImportTfjsModel(const std::string& model_json_path) {
  const std::string where = kiln::StrCat("model '", model_json_path, "'");
  KILN_ASSIGN_OR_RETURN(std::string json, ReadRegularFile(model_json_path, "model"));
  tf::TfjsModel model;
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = true;
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &model, parse_options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(kiln::StrCat(where, ": is not a valid TensorFlow.js model.json: ",
                                                   std::string(parsed.message().data(), parsed.message().size())));
  }
  if (!model.format().empty() && model.format() != "graph-model") {
    return absl::UnimplementedError(kiln::StrCat(where, ": format '", model.format(),
                                                 "'; Kiln imports TensorFlow.js graph models (format 'graph-model')"));
  }
  if (model.model_topology().node_size() == 0) {
    return absl::InvalidArgumentError(kiln::StrCat(where, ": modelTopology has no nodes"));
  }
  const std::string dir = std::filesystem::path(model_json_path).parent_path().string();
  absl::StatusOr<std::map<std::string, Tensor>> weights = LoadTfjsWeights(model, dir);
  if (!weights.ok()) return Annotate(weights.status(), where);
  for (const tf::NodeDef& n : model.model_topology().node()) {
    if (n.op() != "Const" || weights->count(n.name())) continue;
    auto it = n.attr().find("value");
    if (it == n.attr().end() || !HasInlineValues(it->second.tensor())) {
      return absl::InvalidArgumentError(kiln::StrCat(where, ": Const node '", n.name(),
                                                     "' has no weight in the manifest (a missing weight group?)"));
    }
  }
  tf_import::ConvertOptions options;
  options.constants = *std::move(weights);
  const tf::TfjsSignature& sig = model.has_signature() ? model.signature() : model.user_defined_metadata().signature();
  for (const auto& [key, info] : sig.outputs()) options.outputs.push_back(info.name().empty() ? key : info.name());
  std::sort(options.outputs.begin(), options.outputs.end());
  absl::StatusOr<Graph> graph = tf_import::ConvertGraphDef(model.model_topology(), options);
  if (!graph.ok()) return Annotate(graph.status(), where);
  KILN_RETURN_IF_ERROR(Annotate(import_checks::CheckGraph(*graph), where));  // The checks every importer applies.
  return graph;
}

}  // namespace kiln
