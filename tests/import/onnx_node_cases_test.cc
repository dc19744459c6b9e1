// The ONNX backend conformance suite's single-operator cases
// (../shared/data/onnx-backend-tests/node) through the importer and the Executor.
//
// Every case whose model imports is run on each of its test data sets and compared with the
// suite's expected outputs (floats: |actual - expected| <= 1e-5 + 1e-3 * |expected|; integers and
// bools exactly). A case is "unsupported" when the importer answers Unimplemented (an op Kiln does
// not register, an element type or value kind it lacks); anything else that goes wrong is a
// failure.
// The test prints one line per case and the totals, and asserts that every case listed in
// tests/import/onnx_node_expected_pass.txt passes, so that a regression in the importer or a kernel
// shows up here. KILN_NODE_CASES_FILTER=substring limits the run to matching case names.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "kiln/runtime/executor.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/op_registry.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const std::string kNodeCases = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests/node";
const std::string kExpectedPassList =
    std::string(KILN_SOURCE_DIR) + "/tests/import/onnx_node_expected_pass.txt";

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-5;

enum class Outcome { kPass, kFail, kUnsupported };

struct CaseResult {
  Outcome outcome = Outcome::kPass;
  std::string detail;  // Why it failed or is unsupported.
};

bool IsFloat(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

// Empty when `actual` matches `expected`, else a description of the first mismatch.
std::string Compare(const Tensor& actual, const Tensor& expected) {
  if (!actual.valid()) return "no output tensor";
  if (actual.dtype() != expected.dtype() || actual.dims() != expected.dims()) {
    return absl::StrCat("got ", actual.TypeString(), ", expected ", expected.TypeString());
  }
  const int64_t n = expected.num_elements();
  int64_t mismatches = 0;
  std::string first;
  for (int64_t i = 0; i < n; ++i) {
    bool ok;
    if (IsFloat(expected.dtype())) {
      double a = actual.GetAsDouble(i), e = expected.GetAsDouble(i);
      if (std::isnan(e)) {
        ok = std::isnan(a);
      } else if (std::isinf(e)) {
        ok = a == e;
      } else {
        ok = std::fabs(a - e) <= kAtol + kRtol * std::fabs(e);
      }
      if (!ok && first.empty()) first = absl::StrCat("element ", i, ": got ", a, ", expected ", e);
    } else {
      int64_t a = actual.GetAsInt64(i), e = expected.GetAsInt64(i);
      ok = a == e;
      if (!ok && first.empty()) first = absl::StrCat("element ", i, ": got ", a, ", expected ", e);
    }
    mismatches += !ok;
  }
  if (mismatches == 0) return "";
  return absl::StrCat(mismatches, " of ", n, " elements differ; ", first);
}

std::vector<std::string> SortedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / absl::StrCat(prefix, i, ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p.string());
  }
  return files;
}

CaseResult RunCase(const fs::path& case_dir) {
  absl::StatusOr<Graph> graph = ImportOnnxFile((case_dir / "model.onnx").string());
  if (!graph.ok()) {
    if (graph.status().code() == absl::StatusCode::kUnimplemented) {
      return {Outcome::kUnsupported, std::string(graph.status().message())};
    }
    return {Outcome::kFail, absl::StrCat("import: ", graph.status().ToString())};
  }
  auto shared = std::make_shared<const Graph>(*std::move(graph));
  absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Create(shared);
  if (!executor.ok()) {
    return {Outcome::kFail, absl::StrCat("executor: ", executor.status().ToString())};
  }
  std::vector<std::string> fetches;
  for (const ValueInfo& out : shared->outputs) fetches.push_back(out.name);

  int data_sets = 0;
  for (int set = 0;; ++set) {
    fs::path data_dir = case_dir / absl::StrCat("test_data_set_", set);
    if (!fs::is_directory(data_dir)) break;
    ++data_sets;
    std::vector<std::string> input_files = SortedFiles(data_dir, "input_");
    std::vector<std::string> output_files = SortedFiles(data_dir, "output_");
    // input_N.pb feeds the N-th graph input (initializers are not inputs).
    if (input_files.size() > shared->inputs.size()) {
      return {Outcome::kFail, absl::StrCat(input_files.size(), " input files for ",
                                           shared->inputs.size(), " graph inputs")};
    }
    if (output_files.size() != fetches.size()) {
      return {Outcome::kFail, absl::StrCat(output_files.size(), " output files for ",
                                           fetches.size(), " graph outputs")};
    }
    Feeds feeds;
    for (size_t i = 0; i < input_files.size(); ++i) {
      absl::StatusOr<Tensor> t = ReadOnnxTensorFile(input_files[i]);
      if (!t.ok()) {
        Outcome o = t.status().code() == absl::StatusCode::kUnimplemented ? Outcome::kUnsupported
                                                                          : Outcome::kFail;
        return {o, std::string(t.status().message())};
      }
      feeds.emplace_back(shared->inputs[i].name, *std::move(t));
    }
    std::vector<Tensor> expected;
    for (const std::string& file : output_files) {
      absl::StatusOr<Tensor> t = ReadOnnxTensorFile(file);
      if (!t.ok()) {
        Outcome o = t.status().code() == absl::StatusCode::kUnimplemented ? Outcome::kUnsupported
                                                                          : Outcome::kFail;
        return {o, std::string(t.status().message())};
      }
      expected.push_back(*std::move(t));
    }
    absl::StatusOr<std::vector<Tensor>> outputs = (*executor)->Run(feeds, fetches);
    if (!outputs.ok()) return {Outcome::kFail, absl::StrCat("run: ", outputs.status().ToString())};
    if (outputs->size() != expected.size()) {
      return {Outcome::kFail, absl::StrCat("run returned ", outputs->size(), " outputs")};
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string diff = Compare((*outputs)[i], expected[i]);
      if (!diff.empty()) {
        return {Outcome::kFail,
                absl::StrCat("data set ", set, " output '", fetches[i], "': ", diff)};
      }
    }
  }
  if (data_sets == 0) return {Outcome::kFail, "no test_data_set_0 folder"};
  return {Outcome::kPass, ""};
}

std::set<std::string> ReadExpectedPass() {
  std::set<std::string> names;
  std::ifstream in(kExpectedPassList);
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view s = absl::StripAsciiWhitespace(line);
    if (s.empty() || s[0] == '#') continue;
    names.insert(std::string(s));
  }
  return names;
}

TEST(OnnxNodeCasesTest, ListedCasesPass) {
  RegisterStandardOps();
  ASSERT_TRUE(fs::is_directory(kNodeCases)) << kNodeCases;
  ASSERT_TRUE(fs::exists(kExpectedPassList)) << kExpectedPassList;
  const std::set<std::string> expected_pass = ReadExpectedPass();
  const char* filter_env = std::getenv("KILN_NODE_CASES_FILTER");
  const std::string filter = filter_env ? filter_env : "";

  std::vector<std::string> cases;
  for (const fs::directory_entry& entry : fs::directory_iterator(kNodeCases)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) {
      cases.push_back(entry.path().filename().string());
    }
  }
  std::sort(cases.begin(), cases.end());
  for (const std::string& name : expected_pass) {
    EXPECT_TRUE(std::binary_search(cases.begin(), cases.end(), name))
        << "listed case '" << name << "' is not in the suite";
  }

  std::map<Outcome, int> totals;
  for (const std::string& name : cases) {
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    CaseResult result = RunCase(fs::path(kNodeCases) / name);
    ++totals[result.outcome];
    const char* tag = result.outcome == Outcome::kPass   ? "PASS"
                      : result.outcome == Outcome::kFail ? "FAIL"
                                                         : "UNSUPPORTED";
    std::printf("%s %s%s%s\n", tag, name.c_str(), result.detail.empty() ? "" : ": ",
                result.detail.c_str());
    if (expected_pass.count(name)) {
      EXPECT_EQ(result.outcome, Outcome::kPass)
          << name << " is listed in onnx_node_expected_pass.txt but did not pass: "
          << result.detail;
    }
  }
  std::printf("ONNX node cases: %d pass, %d fail, %d unsupported (of %zu)\n",
              totals[Outcome::kPass], totals[Outcome::kFail], totals[Outcome::kUnsupported],
              cases.size());
}

}  // namespace
}  // namespace kiln
