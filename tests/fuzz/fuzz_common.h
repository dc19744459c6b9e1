// The check every importer fuzz target applies to one import result (private to tests/fuzz).
//
// Whatever the bytes, the importer must return. An error must name the model (`source`). A graph
// it returns must pass the import checks again, save to the .kiln format and load back to an
// equal graph, and survive shape and dtype inference over the whole graph (OK or an error; the
// runtime does the same in Session::Create). Anything else aborts, which libFuzzer reports.
#ifndef KILN_TESTS_FUZZ_FUZZ_COMMON_H_
#define KILN_TESTS_FUZZ_FUZZ_COMMON_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "kiln/runtime/graph.h"
#include "kiln/support/strings.h"
#include "kiln/runtime/model_format.h"
#include "kiln/runtime/op_registry.h"

namespace kiln::fuzz {

[[noreturn]] inline void Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "fuzz check failed: %s: %s\n", std::string(what).c_str(), status.ToString().c_str());
  std::abort();
}

inline std::string_view Bytes(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

inline int CheckImport(const absl::StatusOr<Graph>& graph, std::string_view source) {
  if (!graph.ok()) {
    if (!absl::StrContains(graph.status().message(), AsAbsl(source))) Fail("the error does not name the model", graph.status());
    return 0;
  }
  absl::StatusOr<std::string> saved = SerializeKilnModel(*graph);
  if (!saved.ok()) Fail("an imported graph does not save as .kiln", saved.status());
  absl::StatusOr<Graph> loaded = LoadKilnModelBytes(*saved, "roundtrip.kiln");
  if (!loaded.ok()) Fail("a saved graph does not load back", loaded.status());
  absl::Status same = CompareGraphs(*graph, *loaded);
  if (!same.ok()) Fail("the loaded graph differs from the saved one", same);
  absl::StatusOr<std::map<std::string, TensorType>> types = InferTypes(*graph);
  (void)types;  // Either outcome is fine; it must return.
  return 0;
}

}  // namespace kiln::fuzz

#endif  // KILN_TESTS_FUZZ_FUZZ_COMMON_H_
