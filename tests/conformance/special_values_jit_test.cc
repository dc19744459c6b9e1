// Special values through the JIT: every listed ONNX node case (../shared/data/onnx-backend-tests/node,
// tests/import/onnx_node_expected_pass.txt) whose graph the JIT clusters and compiles is run with NaN, +Inf, -Inf
// and -0.0 written into its float inputs, once on the runtime kernels (JIT off) and once with
// auto_jit=2 (cpu backend), and the two results must agree:
//   - NaN exactly where the other has NaN (any NaN equals any NaN),
//   - the same infinity where either has one,
//   - the same sign where both are zero,
//   - other finite values within the conformance tolerance (convolutions and transcendental functions
//     round differently in the kernels and in compiled code, by a few ulps),
//   - integer and bool outputs exactly; an error on one side only is a difference.
// No fusion or lowering may change special values (docs/operation_semantics.md, "Special values").
// A case that may legitimately differ would be listed in tests/conformance/expected/special_values_differ.txt;
// each listed case is checked to still differ, so the list cannot go stale.
// KILN_NODE_CASES_FILTER=substring limits the run to matching case names.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kiln/support/strings.h"
#include "gtest/gtest.h"
#include "kiln/runtime/op_registry.h"
#include "tests/conformance/jit_prepare.h"

namespace kiln {
namespace {

using conformance::fs::path;

struct Variant {
  const char* name;
  float value;
};

// The values injected, one variant per run: each replaces the elements at indices 0, 3, 10, 17, ...
// (i % 7 == 3, and the first), so most elements keep their data and both the special and the
// ordinary paths of each op are taken.
const Variant kVariants[] = {
    {"NaN", std::nanf("")},
    {"+Inf", INFINITY},
    {"-Inf", -INFINITY},
    {"-0.0", -0.0f},
};

Feeds Inject(const Feeds& feeds, float value) {
  Feeds out;
  for (const auto& [name, tensor] : feeds) {
    Tensor t = tensor.Clone();
    if (t.dtype() == DType::kF32) {
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        if (i == 0 || i % 7 == 3) p[i] = value;
      }
    }
    out.emplace_back(name, std::move(t));
  }
  return out;
}

// Empty when the two agree as the file comment says, else the first difference: the conformance
// runners' comparison (NaN meets NaN, infinities exactly, the tolerance, integers exactly) with JIT off
// as the expected side, then the sign of zeros where both give zero.
std::string Difference(const Tensor& off, const Tensor& on) {
  std::string diff = conformance::Compare(on, off, conformance::Tolerance{});
  if (!diff.empty() || !conformance::IsFloatingDType(off.dtype())) return diff;
  for (int64_t i = 0; i < off.num_elements(); ++i) {
    const double a = off.GetAsDouble(i), b = on.GetAsDouble(i);
    if (a == 0 && b == 0 && std::signbit(a) != std::signbit(b)) {
      return kiln::StrCat("element ", i, ": JIT off ", std::signbit(a) ? "-0" : "0", ", JIT on ",
                          std::signbit(b) ? "-0" : "0");
    }
  }
  return "";
}

struct CaseOutcome {
  bool compared = false;  // The JIT clustered the graph and both sides ran.
  bool compiled = false;  // The JIT session compiled its clusters (no fallback to the kernels).
  std::string difference;  // Empty when JIT on and off agree for every variant.
};

CaseOutcome RunCase(const path& dir) {
  CaseOutcome outcome;
  absl::StatusOr<Graph> graph = ImportOnnxFile((dir / "model.onnx").string());
  if (!graph.ok()) return outcome;
  std::vector<std::string> input_names;
  for (const ValueInfo& in : graph->inputs) input_names.push_back(in.name);
  conformance::JitCounters counters;
  absl::StatusOr<conformance::RunFn> jit_on = conformance::SessionPrepare(2, &counters)(*graph);
  absl::StatusOr<conformance::RunFn> jit_off = conformance::ExecutorPrepare()(*std::move(graph));
  if (!jit_on.ok() || !jit_off.ok() || counters.with_clusters == 0) return outcome;

  const path data_dir = dir / "test_data_set_0";
  std::vector<std::string> files = conformance::NumberedFiles(data_dir, "input_");
  if (files.size() > input_names.size()) return outcome;
  Feeds feeds;
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StatusOr<Tensor> t = ReadOnnxTensorFile(files[i]);
    if (!t.ok()) return outcome;
    feeds.emplace_back(input_names[i], *std::move(t));
  }
  outcome.compared = true;
  for (const Variant& v : kVariants) {
    const Feeds injected = Inject(feeds, v.value);
    absl::StatusOr<std::vector<Tensor>> off = (*jit_off)(injected);
    absl::StatusOr<std::vector<Tensor>> on = (*jit_on)(injected);
    std::string diff;
    if (off.ok() != on.ok()) {
      diff = off.ok() ? kiln::StrCat("only JIT on fails: ", on.status().ToString())
                      : kiln::StrCat("only JIT off fails: ", off.status().ToString());
    } else if (off.ok()) {
      for (size_t o = 0; o < off->size() && diff.empty(); ++o) {
        diff = Difference((*off)[o], (*on)[o]);
        if (!diff.empty()) diff = kiln::StrCat("output ", o, ": ", diff);
      }
    }
    if (!diff.empty()) {
      outcome.difference = kiln::StrCat(v.name, " injected: ", diff);
      break;
    }
  }
  outcome.compiled = counters.TakeLastCompiled();
  return outcome;
}

TEST(SpecialValuesJitTest, JitOnAgreesWithJitOffOnNanInfAndNegativeZero) {
  RegisterStandardOps();
  const std::string suite = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests/node";
  const std::string list = std::string(KILN_SOURCE_DIR) + "/tests/import/onnx_node_expected_pass.txt";
  const std::string differ_list =
      std::string(KILN_SOURCE_DIR) + "/tests/conformance/expected/special_values_differ.txt";
  ASSERT_TRUE(conformance::fs::is_directory(suite)) << suite;
  const std::set<std::string> cases = conformance::ReadNameList(list);
  const std::set<std::string> may_differ = conformance::ReadNameList(differ_list);
  // A cluster that fails to compile runs on the kernels, and JIT on then trivially equals JIT off:
  // only compiled cases count, and every case expected to compile must.
  const std::set<std::string> must_compile = conformance::ReadNameList(
      std::string(KILN_SOURCE_DIR) + "/tests/conformance/expected/node_jit_compiled.txt");
  const char* filter = std::getenv("KILN_NODE_CASES_FILTER");
  int compared = 0, differ = 0;
  for (const std::string& name : cases) {
    if (filter != nullptr && name.find(filter) == std::string::npos) continue;
    CaseOutcome r = RunCase(path(suite) / name);
    EXPECT_TRUE(r.compiled || !must_compile.count(name))
        << name << " is expected to compile (node_jit_compiled.txt) but ran on the kernels";
    if (!r.compared || !r.compiled) {
      EXPECT_FALSE(may_differ.count(name)) << name << " is listed as differing but was not compared";
      continue;
    }
    ++compared;
    if (!r.difference.empty()) {
      ++differ;
      std::printf("DIFFER %s: %s\n", name.c_str(), r.difference.c_str());
    }
    if (may_differ.count(name)) {
      EXPECT_FALSE(r.difference.empty()) << name << " is listed in " << differ_list
                                         << " but JIT on and off now agree: remove it from the list";
    } else {
      EXPECT_TRUE(r.difference.empty()) << name << ": " << r.difference;
    }
  }
  std::printf("special values: %d compiled cases compared with NaN, +Inf, -Inf and -0.0 injected; %d differ\n",
              compared, differ);
  if (filter == nullptr) EXPECT_GT(compared, 100) << "too few cases were clustered to mean anything";
}

}  // namespace
}  // namespace kiln
