// ImportModel: picks the importer for a model file by its extension.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kiln/runtime/import.h"

namespace kiln {

absl::StatusOr<Graph> ImportModel(const std::string& path) {
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".onnx")) return ImportOnnxFile(path);
  return absl::InvalidArgumentError(absl::StrCat(
      "model '", path, "': unknown model format (Kiln imports ONNX models, which end in .onnx)"));
}

}  // namespace kiln
