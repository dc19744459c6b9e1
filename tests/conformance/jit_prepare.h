// A conformance PrepareFn that runs graphs through Session with the JIT on (auto_jit=2, cpu
// backend, min_cluster_size 1), counting how many prepared graphs formed at least one cluster and
// telling whether the last case really ran a compiled one (a cluster that fails to compile runs on
// the runtime kernels, and its case still passes).
#ifndef KILN_TESTS_CONFORMANCE_JIT_PREPARE_H_
#define KILN_TESTS_CONFORMANCE_JIT_PREPARE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kiln/session/session.h"
#include "tests/conformance/onnx_case_runner.h"

namespace kiln::conformance {

struct JitCounters {
  int graphs = 0;         // Graphs prepared.
  int with_clusters = 0;  // Of those, graphs with at least one `_KilnLaunch` node.
  std::shared_ptr<const Session> last;  // The last prepared session.

  // Whether the last prepared session ran at least one cluster as compiled code: it compiled it, or
  // found an executable an earlier case compiled (a remembered failure counts as a failure, not a
  // hit: Session::stats). Forgets that session, so a case that fails before its prepare does not see
  // the previous case's answer.
  bool TakeLastCompiled() {
    const bool compiled = last != nullptr && last->stats().compilations + last->stats().cache_hits > 0;
    last.reset();
    return compiled;
  }
};

inline PrepareFn SessionPrepare(int auto_jit, JitCounters* counters) {
  return [auto_jit, counters](Graph graph) -> absl::StatusOr<RunFn> {
    SessionOptions options;
    options.auto_jit = auto_jit;
    options.backend = "cpu";
    options.min_cluster_size = 1;  // Single-op cases compile too, so every lowering is exercised.
    // Constant subgraphs stay in the graph for the JIT to lower (load-time folding would evaluate
    // them with the runtime kernels and leave, for example, test_constant nothing to compile); the
    // JIT-off suites run with folding on, its default, against the same reference outputs.
    options.fold_constants = 0;
    // Every run checks the compiled code: no cluster may switch to the kernels by measurement.
    options.measure_choice = 0;
    std::vector<std::string> fetches;
    for (const ValueInfo& out : graph.outputs) fetches.push_back(out.name);
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(std::move(graph), options);
    if (!session.ok()) return session.status();
    if (counters != nullptr) {
      ++counters->graphs;
      if ((*session)->stats().num_clusters > 0) ++counters->with_clusters;
    }
    std::shared_ptr<Session> s = std::move(*session);
    if (counters != nullptr) counters->last = s;
    return RunFn([s, fetches](const Feeds& feeds) { return s->Run(feeds, fetches); });
  };
}

}  // namespace kiln::conformance

#endif  // KILN_TESTS_CONFORMANCE_JIT_PREPARE_H_
