// ImportModel: picks the importer for a model file by its extension.
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "kiln/support/strings.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/model_format.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"

namespace kiln {

absl::StatusOr<Graph> ImportModel(const std::string& path) {
  // What the path is comes before its extension: a folder or a missing file is not a format problem.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    const std::filesystem::path json = std::filesystem::path(path) / "model.json";
    if (std::filesystem::is_regular_file(json, ec)) {
      return absl::InvalidArgumentError(
          kiln::StrCat("model '", path, "' is a directory (pass its model.json: '", json.string(), "')"));
    }
    return absl::InvalidArgumentError(kiln::StrCat(
        "model '", path, "' is a directory; pass a model file (.onnx, .pb, model.json or .kiln)"));
  }
  KILN_RETURN_IF_ERROR(CheckRegularFile(path, "model"));
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".onnx")) return ImportOnnxFile(path);
  if (absl::EndsWith(lower, ".kiln")) return LoadKilnModel(path);
  if (absl::EndsWith(lower, ".pb")) return ImportTfGraphDefFile(path);
  if (absl::EndsWith(lower, ".json")) return ImportTfjsModel(path);
  return absl::InvalidArgumentError(kiln::StrCat(
      "model '", path, "': unknown model format (Kiln imports ONNX models (.onnx), TensorFlow frozen "
      "graphs (.pb), TensorFlow.js graph models (model.json) and Kiln models (.kiln))"));
}

}  // namespace kiln
