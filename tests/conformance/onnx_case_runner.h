// Shared pieces of the ONNX backend conformance runners (../shared/data/onnx-backend-tests): running
// one case folder (model.onnx + test_data_set_N/{input,output}_M.pb) or one "light" model
// (light_X.onnx + light_X_output_0.pb, inputs made as ONNX's runner makes them), comparing outputs
// with a tolerance, and the per-case / per-op report held to the checked-in expected-pass and
// expected-compiled lists (docs/conformance.md, "Expected lists").
//
// A case is "unsupported" when Kiln answers Unimplemented (an op or element type it lacks); anything
// else that goes wrong is a failure. How a graph runs (Executor, Session with or without the JIT) is
// the caller's choice through `Prepare`.
#ifndef KILN_TESTS_CONFORMANCE_ONNX_CASE_RUNNER_H_
#define KILN_TESTS_CONFORMANCE_ONNX_CASE_RUNNER_H_

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/support/strings.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "kiln/runtime/executor.h"
#include "kiln/runtime/import.h"
#include "onnx.pb.h"

namespace kiln::conformance {

namespace fs = std::filesystem;

enum class Outcome { kPass, kFail, kUnsupported };

inline const char* OutcomeName(Outcome o) {
  return o == Outcome::kPass ? "PASS" : o == Outcome::kFail ? "FAIL" : "UNSUPPORTED";
}

struct CaseResult {
  Outcome outcome = Outcome::kPass;
  std::string detail;  // Why it failed or is unsupported.
};

// |actual - expected| <= atol + rtol * |expected| for floats; integers and bools exactly.
struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-5;
};

// Runs a prepared graph: feeds in, the graph outputs (in graph order) out.
using RunFn = std::function<absl::StatusOr<std::vector<Tensor>>(const Feeds&)>;
// Prepares an imported graph for running (Executor, or Session with the JIT on).
using PrepareFn = std::function<absl::StatusOr<RunFn>(Graph)>;

inline bool IsFloatingDType(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16 || dtype == DType::kF64;
}

// Empty when `actual` matches `expected`, else a description of the mismatch.
inline std::string Compare(const Tensor& actual, const Tensor& expected, const Tolerance& tol) {
  if (!actual.valid()) return "no output tensor";
  if (actual.dtype() != expected.dtype() || actual.dims() != expected.dims()) {
    return kiln::StrCat("got ", actual.TypeString(), ", expected ", expected.TypeString());
  }
  const int64_t n = expected.num_elements();
  int64_t mismatches = 0;
  std::string first;
  for (int64_t i = 0; i < n; ++i) {
    bool ok;
    if (IsFloatingDType(expected.dtype())) {
      double a = actual.GetAsDouble(i), e = expected.GetAsDouble(i);
      if (std::isnan(e)) {
        ok = std::isnan(a);
      } else if (std::isinf(e)) {
        ok = a == e;
      } else {
        ok = std::fabs(a - e) <= tol.atol + tol.rtol * std::fabs(e);
      }
      if (!ok && first.empty()) first = kiln::StrCat("element ", i, ": got ", a, ", expected ", e);
    } else {
      int64_t a = actual.GetAsInt64(i), e = expected.GetAsInt64(i);
      ok = a == e;
      if (!ok && first.empty()) first = kiln::StrCat("element ", i, ": got ", a, ", expected ", e);
    }
    mismatches += !ok;
  }
  if (mismatches == 0) return "";
  return kiln::StrCat(mismatches, " of ", n, " elements differ; ", first);
}

inline std::vector<std::string> NumberedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / kiln::StrCat(prefix, i, ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p.string());
  }
  return files;
}

inline CaseResult FromStatus(const absl::Status& status, std::string_view stage) {
  if (status.code() == absl::StatusCode::kUnimplemented) {
    return {Outcome::kUnsupported, std::string(status.message())};
  }
  return {Outcome::kFail, kiln::StrCat(stage, ": ", status.ToString())};
}

// The distinct op types of the model's main graph ("?" when the file does not parse).
inline std::vector<std::string> ModelOps(const fs::path& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  kiln::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) return {"?"};
  std::set<std::string> ops;
  for (const auto& node : model.graph().node()) {
    ops.insert(node.domain().empty() || node.domain() == "ai.onnx" ? node.op_type()
                                                                     : node.domain() + "." + node.op_type());
  }
  return {ops.begin(), ops.end()};
}

inline CaseResult CheckOutputs(const absl::StatusOr<std::vector<Tensor>>& outputs,
                               const std::vector<Tensor>& expected, const std::vector<std::string>& names,
                               const Tolerance& tol, const std::string& where) {
  if (!outputs.ok()) return FromStatus(outputs.status(), "run");
  if (outputs->size() != expected.size()) {
    return {Outcome::kFail, kiln::StrCat("run returned ", outputs->size(), " outputs, expected ", expected.size())};
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    std::string diff = Compare((*outputs)[i], expected[i], tol);
    if (!diff.empty()) {
      return {Outcome::kFail, kiln::StrCat(where, "output '", i < names.size() ? names[i] : "?", "': ", diff)};
    }
  }
  return {Outcome::kPass, ""};
}

// One case folder: model.onnx and test_data_set_N folders; input_M.pb feeds the M-th graph input
// (initializers are not inputs).
inline CaseResult RunCaseDir(const fs::path& case_dir, const PrepareFn& prepare, const Tolerance& tol) {
  std::vector<std::string> output_names;
  absl::StatusOr<Graph> graph = ImportOnnxFile((case_dir / "model.onnx").string());
  if (!graph.ok()) return FromStatus(graph.status(), "import");
  std::vector<std::string> input_names;
  for (const ValueInfo& in : graph->inputs) input_names.push_back(in.name);
  for (const ValueInfo& out : graph->outputs) output_names.push_back(out.name);
  absl::StatusOr<RunFn> run = prepare(*std::move(graph));
  if (!run.ok()) return FromStatus(run.status(), "prepare");

  int data_sets = 0;
  for (int set = 0;; ++set) {
    fs::path data_dir = case_dir / kiln::StrCat("test_data_set_", set);
    if (!fs::is_directory(data_dir)) break;
    ++data_sets;
    std::vector<std::string> input_files = NumberedFiles(data_dir, "input_");
    std::vector<std::string> output_files = NumberedFiles(data_dir, "output_");
    if (input_files.size() > input_names.size()) {
      return {Outcome::kFail,
              kiln::StrCat(input_files.size(), " input files for ", input_names.size(), " graph inputs")};
    }
    if (output_files.size() != output_names.size()) {
      return {Outcome::kFail,
              kiln::StrCat(output_files.size(), " output files for ", output_names.size(), " graph outputs")};
    }
    Feeds feeds;
    for (size_t i = 0; i < input_files.size(); ++i) {
      absl::StatusOr<Tensor> t = ReadOnnxTensorFile(input_files[i]);
      if (!t.ok()) return FromStatus(t.status(), "input");
      feeds.emplace_back(input_names[i], *std::move(t));
    }
    std::vector<Tensor> expected;
    for (const std::string& file : output_files) {
      absl::StatusOr<Tensor> t = ReadOnnxTensorFile(file);
      if (!t.ok()) return FromStatus(t.status(), "expected output");
      expected.push_back(*std::move(t));
    }
    CaseResult r = CheckOutputs((*run)(feeds), expected, output_names, tol, kiln::StrCat("data set ", set, " "));
    if (r.outcome != Outcome::kPass) return r;
  }
  if (data_sets == 0) return {Outcome::kFail, "no test_data_set_0 folder"};
  return {Outcome::kPass, ""};
}

// A "light" model (light/light_X.onnx with light_X_output_0.pb): as ONNX's backend test runner
// does, every float graph input that is not an initializer is fed arange(n) / n in its shape
// (unknown dims taken as 1), and the outputs are compared with the stored ones.
inline CaseResult RunLightModel(const fs::path& model_path, const PrepareFn& prepare, const Tolerance& tol) {
  absl::StatusOr<Graph> graph = ImportOnnxFile(model_path.string());
  if (!graph.ok()) return FromStatus(graph.status(), "import");
  Feeds feeds;
  for (const ValueInfo& in : graph->inputs) {
    if (in.dtype != DType::kF32) {
      return {Outcome::kFail, kiln::StrCat("input '", in.name, "' is not float; the light runner feeds floats")};
    }
    Dims dims = in.dims;
    for (int64_t& d : dims) d = d < 0 ? 1 : d;
    absl::StatusOr<Tensor> t = Tensor::Create(DType::kF32, dims);
    if (!t.ok()) return FromStatus(t.status(), "input");
    const int64_t n = t->num_elements();
    float* p = t->data<float>();
    // numpy: (arange(n) / n) in float64, then cast to float32.
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(static_cast<double>(i) / static_cast<double>(n));
    feeds.emplace_back(in.name, *std::move(t));
  }
  std::vector<std::string> output_names;
  for (const ValueInfo& out : graph->outputs) output_names.push_back(out.name);
  std::string stem = model_path.stem().string();
  std::vector<Tensor> expected;
  for (size_t i = 0; i < output_names.size(); ++i) {
    fs::path file = model_path.parent_path() / kiln::StrCat(stem, "_output_", i, ".pb");
    absl::StatusOr<Tensor> t = ReadOnnxTensorFile(file.string());
    if (!t.ok()) return FromStatus(t.status(), "expected output");
    expected.push_back(*std::move(t));
  }
  absl::StatusOr<RunFn> run = prepare(*std::move(graph));
  if (!run.ok()) return FromStatus(run.status(), "prepare");
  return CheckOutputs((*run)(feeds), expected, output_names, tol, "");
}

// Case names listed in an expected-pass file (one per line, '#' comments).
inline std::set<std::string> ReadNameList(const std::string& path) {
  std::set<std::string> names;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view s = FromAbsl(absl::StripAsciiWhitespace(line));
    if (s.empty() || s[0] == '#') continue;
    names.insert(std::string(s));
  }
  return names;
}

// Totals per outcome and per op (a case counts once for each distinct op of its model).
class Report {
 public:
  void Add(const std::string& name, const std::vector<std::string>& ops, const CaseResult& r) {
    ++totals_[r.outcome];
    for (const std::string& op : ops) ++per_op_[op][r.outcome];
    std::printf("%s %s%s%s\n", OutcomeName(r.outcome), name.c_str(), r.detail.empty() ? "" : ": ", r.detail.c_str());
  }
  int count(Outcome o) const {
    auto it = totals_.find(o);
    return it == totals_.end() ? 0 : it->second;
  }
  // Per-op table, then the totals line "<title>: P pass, F fail, U unsupported (of N)".
  void Print(const std::string& title) const {
    std::printf("%-36s %6s %6s %6s\n", "op", "pass", "fail", "unsup");
    for (const auto& [op, counts] : per_op_) {
      auto get = [&counts](Outcome o) {
        auto it = counts.find(o);
        return it == counts.end() ? 0 : it->second;
      };
      std::printf("%-36s %6d %6d %6d\n", op.c_str(), get(Outcome::kPass), get(Outcome::kFail),
                  get(Outcome::kUnsupported));
    }
    std::printf("%s: %d pass, %d fail, %d unsupported (of %d)\n", title.c_str(), count(Outcome::kPass),
                count(Outcome::kFail), count(Outcome::kUnsupported),
                count(Outcome::kPass) + count(Outcome::kFail) + count(Outcome::kUnsupported));
  }

 private:
  std::map<Outcome, int> totals_;
  std::map<std::string, std::map<Outcome, int>> per_op_;
};

// Case folders (those holding model.onnx) under `suite_dir`, sorted.
inline std::vector<std::string> CaseFolders(const std::string& suite_dir) {
  std::vector<std::string> cases;
  for (const fs::directory_entry& entry : fs::directory_iterator(suite_dir)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) {
      cases.push_back(entry.path().filename().string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// A PrepareFn that runs the graph on the Executor (every op on the runtime kernels).
inline PrepareFn ExecutorPrepare() {
  return [](Graph graph) -> absl::StatusOr<RunFn> {
    auto shared = std::make_shared<const Graph>(std::move(graph));
    absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(shared);
    if (!ex.ok()) return ex.status();
    std::vector<std::string> fetches;
    for (const ValueInfo& out : shared->outputs) fetches.push_back(out.name);
    std::shared_ptr<Executor> executor = std::move(*ex);
    return RunFn([executor, fetches](const Feeds& feeds) { return executor->Run(feeds, fetches); });
  };
}

// The checked-in lists a run is held to, a ratchet in both directions: a listed case that stops
// passing (or compiling) fails, and so does an unlisted case that starts to, until it is added.
struct ExpectedLists {
  std::string pass_path;            // The expected-pass list.
  std::set<std::string> pass;
  std::string compiled_path;        // The expected-compiled list; "" when the run does not check one.
  std::set<std::string> compiled;
  std::function<bool()> last_case_compiled;  // Whether the case just run compiled a JIT cluster.
};

// Reads the expected-pass list and, when `compiled_path` is not empty, the expected-compiled one
// (then `last_case_compiled` must be set by the caller).
inline ExpectedLists ReadExpectedLists(const std::string& pass_path, const std::string& compiled_path = "") {
  ExpectedLists lists;
  EXPECT_TRUE(fs::exists(pass_path)) << pass_path;
  lists.pass_path = pass_path;
  lists.pass = ReadNameList(pass_path);
  if (!compiled_path.empty()) {
    EXPECT_TRUE(fs::exists(compiled_path)) << compiled_path;
    lists.compiled_path = compiled_path;
    lists.compiled = ReadNameList(compiled_path);
  }
  return lists;
}

// Every listed name must be one of `names` (sorted), the cases found in `where`.
inline void ExpectListedCasesExist(const ExpectedLists& lists, const std::vector<std::string>& names,
                                   const std::string& where) {
  for (const std::set<std::string>* list : {&lists.pass, &lists.compiled}) {
    for (const std::string& name : *list) {
      EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name))
          << "listed case '" << name << "' is not in " << where << "; remove it from the list";
    }
  }
}

// Holds one case's result to the lists: any failure (a wrong answer, or an error other than
// Unimplemented) fails, listed or not; a listed case must pass and an unlisted one must not; with an
// expected-compiled list, the same for "compiled at least one cluster". Call right after the case ran.
inline void CheckCase(const std::string& name, const CaseResult& r, const ExpectedLists& lists) {
  const bool listed = lists.pass.count(name) > 0;
  if (r.outcome == Outcome::kFail) {
    ADD_FAILURE() << name << " failed" << (listed ? " (listed as passing)" : "") << ": " << r.detail;
  } else if (listed && r.outcome != Outcome::kPass) {
    ADD_FAILURE() << name << " is listed as passing but is unsupported: " << r.detail;
  } else if (!listed && r.outcome == Outcome::kPass) {
    ADD_FAILURE() << name << " passes but is not in " << lists.pass_path << ": add it to the list";
  }
  if (lists.compiled_path.empty()) return;
  const bool compiled = lists.last_case_compiled();
  if (lists.compiled.count(name) && !compiled) {
    ADD_FAILURE() << name << " is listed in " << lists.compiled_path
                  << " but compiled no JIT cluster: none was formed, or each failed to compile and ran on the "
                     "runtime kernels (the log's 'JIT: cluster ... runs with the runtime kernels' warning says why)";
  } else if (!lists.compiled.count(name) && compiled) {
    ADD_FAILURE() << name << " compiles a JIT cluster but is not in " << lists.compiled_path << ": add it to the list";
  }
}

// Runs every case folder of `suite_dir` whose name contains `filter`, prints one line per case, the
// per-op table and the totals, and holds each case to `lists` (CheckCase; listed cases must exist).
inline Report RunSuite(const std::string& suite_dir, const ExpectedLists& lists, const PrepareFn& prepare,
                       const Tolerance& tol, const std::string& title, const std::string& filter = "") {
  Report report;
  std::vector<std::string> cases = CaseFolders(suite_dir);
  ExpectListedCasesExist(lists, cases, suite_dir);
  for (const std::string& name : cases) {
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    fs::path dir = fs::path(suite_dir) / name;
    CaseResult r = RunCaseDir(dir, prepare, tol);
    report.Add(name, ModelOps(dir / "model.onnx"), r);
    CheckCase(name, r, lists);
  }
  report.Print(title);
  return report;
}

}  // namespace kiln::conformance

#endif  // KILN_TESTS_CONFORMANCE_ONNX_CASE_RUNNER_H_
