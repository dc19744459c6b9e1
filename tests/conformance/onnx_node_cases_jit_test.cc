// The ONNX backend conformance node cases (../shared/data/onnx-backend-tests/node) through Session
// with the JIT on (auto_jit=2: every f32 op with a lowering and static shapes is clustered, lowered
// to HLO and compiled by the cpu backend; the rest runs on the kernels). It checks the same
// expected-pass list as the kernel-only run (tests/import/onnx_node_cases_test.cc), with the same
// tolerance, so a lowering that gives a wrong answer fails here; and each case listed in
// tests/conformance/expected/node_jit_compiled.txt must compile at least one cluster (a failed compile
// falls back to the kernels and would pass unseen). Both lists are ratchets (docs/conformance.md).
// KILN_NODE_CASES_FILTER=substring limits the run to matching case names.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "kiln/runtime/op_registry.h"
#include "tests/conformance/jit_prepare.h"

namespace kiln {
namespace {

TEST(OnnxNodeCasesJitTest, ListedCasesPassWithAutoJit2) {
  RegisterStandardOps();
  const std::string suite = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests/node";
  const std::string list = std::string(KILN_SOURCE_DIR) + "/tests/import/onnx_node_expected_pass.txt";
  ASSERT_TRUE(conformance::fs::is_directory(suite)) << suite;
  const char* filter = std::getenv("KILN_NODE_CASES_FILTER");
  conformance::JitCounters counters;
  conformance::ExpectedLists lists = conformance::ReadExpectedLists(
      list, std::string(KILN_SOURCE_DIR) + "/tests/conformance/expected/node_jit_compiled.txt");
  lists.last_case_compiled = [&counters] { return counters.TakeLastCompiled(); };
  conformance::RunSuite(suite, lists, conformance::SessionPrepare(2, &counters),
                        conformance::Tolerance{1e-3, 1e-5}, "ONNX node cases (auto_jit=2)", filter ? filter : "");
  std::printf("%d of %d prepared cases had at least one JIT cluster\n", counters.with_clusters, counters.graphs);
}

}  // namespace
}  // namespace kiln
