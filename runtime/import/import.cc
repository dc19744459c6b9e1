// ImportModel: picks the importer for a model file by its extension.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/model_format.h"

namespace kiln {

absl::StatusOr<Graph> ImportModel(const std::string& path) {
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".onnx")) return ImportOnnxFile(path);
  if (absl::EndsWith(lower, ".kiln")) return LoadKilnModel(path);
  if (absl::EndsWith(lower, ".pb")) return ImportTfGraphDefFile(path);
  if (absl::EndsWith(lower, ".json")) return ImportTfjsModel(path);
  return absl::InvalidArgumentError(absl::StrCat(
      "model '", path, "': unknown model format (Kiln imports ONNX models (.onnx), TensorFlow frozen "
      "graphs (.pb), TensorFlow.js graph models (model.json) and Kiln models (.kiln))"));
}

}  // namespace kiln
