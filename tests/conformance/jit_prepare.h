// A conformance PrepareFn that runs graphs through Session with the JIT on (auto_jit=2, cpu
// backend, min_cluster_size 1), counting how many prepared graphs had at least one compiled cluster.
#ifndef KILN_TESTS_CONFORMANCE_JIT_PREPARE_H_
#define KILN_TESTS_CONFORMANCE_JIT_PREPARE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kiln/runtime/session.h"
#include "tests/conformance/onnx_case_runner.h"

namespace kiln::conformance {

struct JitCounters {
  int graphs = 0;         // Graphs prepared.
  int with_clusters = 0;  // Of those, graphs with at least one `_KilnLaunch` node.
};

inline PrepareFn SessionPrepare(int auto_jit, JitCounters* counters) {
  return [auto_jit, counters](Graph graph) -> absl::StatusOr<RunFn> {
    SessionOptions options;
    options.auto_jit = auto_jit;
    options.backend = "cpu";
    options.min_cluster_size = 1;  // Single-op cases compile too, so every lowering is exercised.
    std::vector<std::string> fetches;
    for (const ValueInfo& out : graph.outputs) fetches.push_back(out.name);
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(std::move(graph), options);
    if (!session.ok()) return session.status();
    if (counters != nullptr) {
      ++counters->graphs;
      if ((*session)->stats().num_clusters > 0) ++counters->with_clusters;
    }
    std::shared_ptr<Session> s = std::move(*session);
    return RunFn([s, fetches](const Feeds& feeds) { return s->Run(feeds, fetches); });
  };
}

}  // namespace kiln::conformance

#endif  // KILN_TESTS_CONFORMANCE_JIT_PREPARE_H_
