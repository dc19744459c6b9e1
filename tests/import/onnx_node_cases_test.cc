// The ONNX backend conformance suite's single-operator cases
// (../shared/data/onnx-backend-tests/node) through the importer and the Executor (every op on the
// runtime kernels; tests/conformance/onnx_node_cases_jit_test.cc runs the same cases with the JIT).
//
// Every case whose model imports is run on each of its test data sets and compared with the
// suite's expected outputs (floats: |actual - expected| <= 1e-5 + 1e-3 * |expected|; integers and
// bools exactly). A case is "unsupported" when Kiln answers Unimplemented (an op Kiln does not
// register, an element type or value kind it lacks); anything else that goes wrong is a failure.
// The test prints one line per case, a per-op table and the totals, and holds the cases to
// tests/import/onnx_node_expected_pass.txt both ways: a listed case must pass (a regression in the
// importer or a kernel shows up here), an unlisted one that passes must be added, and no case may
// fail, listed or not (docs/conformance.md, "Expected lists"). KILN_NODE_CASES_FILTER=substring limits the run to matching case names.
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "kiln/runtime/op_registry.h"
#include "tests/conformance/onnx_case_runner.h"

namespace kiln {
namespace {

TEST(OnnxNodeCasesTest, ListedCasesPass) {
  RegisterStandardOps();
  const std::string suite = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests/node";
  const std::string list = std::string(KILN_SOURCE_DIR) + "/tests/import/onnx_node_expected_pass.txt";
  ASSERT_TRUE(conformance::fs::is_directory(suite)) << suite;
  const char* filter = std::getenv("KILN_NODE_CASES_FILTER");
  conformance::RunSuite(suite, conformance::ReadExpectedLists(list), conformance::ExecutorPrepare(),
                        conformance::Tolerance{1e-3, 1e-5}, "ONNX node cases (JIT off)", filter ? filter : "");
}

}  // namespace
}  // namespace kiln
