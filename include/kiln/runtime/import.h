// Model importers: each translates a file format into a runtime Graph in Kiln's op set.
#ifndef KILN_RUNTIME_IMPORT_H_
#define KILN_RUNTIME_IMPORT_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"

namespace kiln {

// Imports a model file, choosing the importer by extension (.onnx). Errors name the file.
absl::StatusOr<Graph> ImportModel(const std::string& path);

// ONNX (opset 7 and up). `source_name` names the model in error messages.
absl::StatusOr<Graph> ImportOnnxFile(const std::string& path);
absl::StatusOr<Graph> ImportOnnxBytes(absl::string_view bytes, absl::string_view source_name);

// Reads a serialized onnx.TensorProto file (the conformance suite's input_N.pb / output_N.pb).
absl::StatusOr<Tensor> ReadOnnxTensorFile(const std::string& path);

}  // namespace kiln

#endif  // KILN_RUNTIME_IMPORT_H_
