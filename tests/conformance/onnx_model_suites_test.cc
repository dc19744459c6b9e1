// The ONNX backend conformance model suites under ../shared/data/onnx-backend-tests other than
// `node`: `simple`, `pytorch-converted`, `pytorch-operator` (case folders like the node cases) and
// `light` (real networks with their float initializers replaced by ConstantOfShape; inputs made as
// ONNX's runner makes them, see RunLightModel). Each suite runs with the JIT off (Executor) and with
// auto_jit=2 (Session), prints one line per case, a per-op table and the totals, and holds the cases
// to tests/conformance/expected/<suite>.txt (pass, in both modes) and, with the JIT,
// <suite>_jit_compiled.txt (at least one cluster compiled), both as ratchets (docs/conformance.md).
//
// Tolerance: ONNX's loader defaults for model tests, rtol 1e-3 and atol 1e-7 (no data.json in these
// suites overrides them).
#include <chrono>
#include <cstdio>
#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "kiln/runtime/op_registry.h"
#include "tests/conformance/jit_prepare.h"

namespace kiln {
namespace {

namespace fs = conformance::fs;

const std::string kSuites = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests";

class OnnxModelSuiteTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(OnnxModelSuiteTest, ListedCasesPass) {
  RegisterStandardOps();
  const auto& [suite, auto_jit] = GetParam();
  const std::string dir = kSuites + "/" + suite;
  const std::string lists_dir = std::string(KILN_SOURCE_DIR) + "/tests/conformance/expected/";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  conformance::JitCounters counters;
  conformance::ExpectedLists lists = conformance::ReadExpectedLists(
      lists_dir + suite + ".txt", auto_jit > 0 ? lists_dir + suite + "_jit_compiled.txt" : "");
  lists.last_case_compiled = [&counters] { return counters.TakeLastCompiled(); };
  conformance::PrepareFn prepare =
      auto_jit > 0 ? conformance::SessionPrepare(auto_jit, &counters) : conformance::ExecutorPrepare();
  const conformance::Tolerance tol{1e-3, 1e-7};
  const std::string title = "ONNX " + suite + " (" + (auto_jit > 0 ? "auto_jit=2" : "JIT off") + ")";
  if (suite != "light") {
    conformance::RunSuite(dir, lists, prepare, tol, title);
  } else {
    conformance::Report report;
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".onnx") names.push_back(entry.path().stem().string());
    }
    std::sort(names.begin(), names.end());
    conformance::ExpectListedCasesExist(lists, names, dir);
    for (const std::string& name : names) {
      const fs::path model = fs::path(dir) / (name + ".onnx");
      const auto start = std::chrono::steady_clock::now();
      conformance::CaseResult r = conformance::RunLightModel(model, prepare, tol);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s: %.0f ms (import, prepare%s, one run)\n", name.c_str(), ms, auto_jit > 0 ? ", compile" : "");
      report.Add(name, conformance::ModelOps(model), r);
      conformance::CheckCase(name, r, lists);
    }
    report.Print(title);
  }
  if (auto_jit > 0) {
    std::printf("%d of %d prepared models had at least one JIT cluster\n", counters.with_clusters, counters.graphs);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Suites, OnnxModelSuiteTest,
    ::testing::Combine(::testing::Values("simple", "pytorch-converted", "pytorch-operator", "light"),
                       ::testing::Values(0, 2)),
    [](const ::testing::TestParamInfo<std::tuple<std::string, int>>& info) {
      std::string name = std::get<0>(info.param);
      for (char& c : name) c = c == '-' ? '_' : c;
      return name + (std::get<1>(info.param) > 0 ? "_jit" : "_nojit");
    });

}  // namespace
}  // namespace kiln
