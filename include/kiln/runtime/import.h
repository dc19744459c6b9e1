// Model importers: each translates a file format into a runtime Graph in Kiln's op set.
#ifndef KILN_RUNTIME_IMPORT_H_
#define KILN_RUNTIME_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"

namespace kiln {

// Imports a model file, choosing the importer by extension: .onnx (ONNX), .pb (TensorFlow frozen
// GraphDef), .json (TensorFlow.js graph model), .kiln (Kiln's own format: LoadKilnModel in
// kiln/runtime/model_format.h). Errors name the file. Only regular files are read (a folder is
// InvalidArgument, "is a directory", with a hint when it holds a model.json; a missing or unreadable
// path is "cannot be opened: <reason>" with errno's code).
absl::StatusOr<Graph> ImportModel(const std::string& path);

// The opsets of the default ONNX domain ('' or 'ai.onnx') that the ONNX importer reads: nodes of older
// opsets are rewritten into the latest forms (runtime/import/onnx/onnx_legacy.h).
inline constexpr int64_t kOnnxMinOpset = 1;
inline constexpr int64_t kOnnxMaxOpset = 27;

// ONNX, default-domain opsets kOnnxMinOpset to kOnnxMaxOpset (others are Unimplemented, naming the
// range); a node of another domain (ai.onnx.ml, com.microsoft, ...) is Unimplemented, naming the domain.
// `source_name` names the model in error messages.
// ImportOnnxFile reads tensors stored as external data (TensorProto data_location EXTERNAL) from
// files beside the model: each `location` must stay inside the model's folder, and its `offset` and
// `length` inside that regular file (docs/security.md); ImportOnnxBytes has no folder and refuses
// external data (FailedPrecondition, naming the tensor and the file).
absl::StatusOr<Graph> ImportOnnxFile(const std::string& path);
absl::StatusOr<Graph> ImportOnnxBytes(std::string_view bytes, std::string_view source_name);

// TensorFlow frozen GraphDef (docs/importers.md lists the ops). Placeholders become the graph's
// inputs; `outputs` are TensorFlow tensor names ("node" or "node:N"), or, when empty, every output
// of a node that no other node reads. `source_name` names the model in error messages.
absl::StatusOr<Graph> ImportTfGraphDefFile(const std::string& path, const std::vector<std::string>& outputs = {});
absl::StatusOr<Graph> ImportTfGraphDefBytes(std::string_view bytes, std::string_view source_name,
                                            const std::vector<std::string>& outputs = {});

// TensorFlow.js graph model: model.json with its weight shards beside it (float32, int32, and
// uint8 / uint16 / float16 quantized weights). Outputs are the signature's, in name order. Shard
// paths must stay inside the folder of model.json (after `..` and symlinks), and each manifest
// shape must equal the shape its Const node declares (InvalidArgument, naming the weight).
absl::StatusOr<Graph> ImportTfjsModel(const std::string& model_json_path);

// Reads a serialized onnx.TensorProto file (the conformance suite's input_N.pb / output_N.pb);
// external data is read from beside it, under ImportOnnxFile's rules.
absl::StatusOr<Tensor> ReadOnnxTensorFile(const std::string& path);

}  // namespace kiln

#endif  // KILN_RUNTIME_IMPORT_H_
