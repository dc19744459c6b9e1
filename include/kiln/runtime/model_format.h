// Kiln's own model format (.kiln, schema lib/proto/kiln_model.proto): a runtime Graph saved as it
// is in memory, with every attribute (subgraphs included), the initializers and the typed inputs
// and outputs. Any graph an importer produces saves and loads back to an equal graph.
// docs/model_format.md describes the format and its versioning.
#ifndef KILN_RUNTIME_MODEL_FORMAT_H_
#define KILN_RUNTIME_MODEL_FORMAT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/runtime/graph.h"

namespace kiln {

// The format version this build writes; it reads every version up to this one.
inline constexpr int kKilnModelVersion = 1;

struct SaveOptions {
  // Free text stored in the file (Model.producer), e.g. "kiln convert model.onnx".
  std::string producer = "kiln";
};

// Serializes `graph` (deterministic bytes for equal graphs). InvalidArgument when the graph holds
// something the format cannot represent (an invalid tensor, an attribute whose subgraph is null)
// or when the result would exceed protobuf's 2 GiB message limit.
absl::StatusOr<std::string> SerializeKilnModel(const Graph& graph, const SaveOptions& options = {});
// Writes SerializeKilnModel's bytes to `path` (errors name the file and give the OS's reason).
absl::Status SaveKilnModel(const Graph& graph, const std::string& path, const SaveOptions& options = {});

// Reads a .kiln file and checks it as the other importers check theirs: tensor data sizes against
// dims and dtype, absurd dims (before allocating), duplicate names, values read but never defined,
// cycles, ops Kiln does not implement. Errors name the file, the node and the problem.
absl::StatusOr<Graph> LoadKilnModel(const std::string& path);
// The same for bytes in memory; `source_name` names the model in error messages.
absl::StatusOr<Graph> LoadKilnModelBytes(std::string_view bytes, std::string_view source_name);

// Structural equality of two graphs: names, ops, inputs, outputs, control inputs, attributes
// (subgraphs compared recursively, tensors bit for bit), initializers, declared inputs and
// outputs. Node order matters. OK when equal; otherwise FailedPrecondition describing the first
// difference ("node 'conv1' attribute 'pads': ...").
absl::Status CompareGraphs(const Graph& expected, const Graph& actual);

}  // namespace kiln

#endif  // KILN_RUNTIME_MODEL_FORMAT_H_
