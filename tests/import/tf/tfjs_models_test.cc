// The four TensorFlow.js graph models of ../shared/data/tfjs end to end, with the JIT off and with
// auto_jit=2, against the outputs TensorFlow.js's CPU backend computed (reference/output_N.npy).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/npy.h"
#include "kiln/runtime/import.h"
#include "kiln/session/session.h"

namespace kiln {
namespace {

const std::string kTfjs = std::string(KILN_SHARED_DATA) + "/tfjs/";

struct TfjsCase {
  std::string dir;
  std::string input;       // Placeholder name.
  std::string input_file;  // Under reference/.
  std::vector<std::string> outputs;  // Output node names; output_N.npy holds outputs[N].
};

// Names and files as each reference/meta.json lists them.
const std::vector<TfjsCase>& Cases() {
  static const auto* cases = new std::vector<TfjsCase>{
      {"blazeface-front", "input", "input_input.npy", {"Identity_1", "Identity_2", "Identity_3", "Identity"}},
      {"emotion", "input_1", "input_input_1.npy", {"Identity"}},
      {"movenet-lightning", "input", "input_input.npy", {"Identity"}},
      {"nsfwjs_mobilenet_v2_mid", "input", "input_input.npy", {"Identity"}},
  };
  return *cases;
}

struct Param {
  int model;
  int auto_jit;
};

std::string ParamName(const testing::TestParamInfo<Param>& info) {
  std::string name = Cases()[info.param.model].dir + (info.param.auto_jit ? "_jit" : "_nojit");
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

// Keeps ctest's test names readable (gtest would print the struct's bytes).
void PrintTo(const Param& p, std::ostream* os) { *os << Cases()[p.model].dir << " auto_jit=" << p.auto_jit; }

class TfjsModelTest : public testing::TestWithParam<Param> {};

TEST_P(TfjsModelTest, MatchesTensorFlowJs) {
  const TfjsCase& c = Cases()[GetParam().model];
  const std::string dir = kTfjs + c.dir;
  absl::StatusOr<Graph> graph = ImportModel(dir + "/model.json");
  ASSERT_TRUE(graph.ok()) << graph.status();
  // NHWC graphs run without inserted transposes.
  for (const Node& node : graph->nodes) EXPECT_NE(node.op, "Transpose") << node.name;
  SessionOptions options;
  options.auto_jit = GetParam().auto_jit;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*std::move(graph), options);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<Tensor> input = ReadNpyFile(dir + "/reference/" + c.input_file);
  ASSERT_TRUE(input.ok()) << input.status();
  absl::StatusOr<std::vector<Tensor>> out = (*session)->Run({{c.input, *input}}, c.outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), c.outputs.size());
  double max_err = 0, max_scaled = 0;
  for (size_t k = 0; k < c.outputs.size(); ++k) {
    absl::StatusOr<Tensor> ref = ReadNpyFile(dir + "/reference/output_" + std::to_string(k) + ".npy");
    ASSERT_TRUE(ref.ok()) << ref.status();
    const Tensor& got = (*out)[k];
    ASSERT_EQ(got.dims(), ref->dims()) << c.outputs[k];
    ASSERT_EQ(got.dtype(), DType::kF32) << c.outputs[k];
    int bad = 0;
    for (int64_t i = 0; i < got.num_elements(); ++i) {
      const double want = ref->GetAsDouble(i), have = got.GetAsDouble(i);
      const double err = std::abs(want - have);
      max_err = std::max(max_err, err);
      max_scaled = std::max(max_scaled, err / std::max(1.0, std::abs(want)));
      if (!(err <= 1e-4 * std::max(1.0, std::abs(want))) && bad++ < 5) {
        ADD_FAILURE() << c.outputs[k] << "[" << i << "]: got " << have << ", TensorFlow.js " << want;
      }
    }
  }
  // A second run, timed (the first one compiled the clusters when the JIT is on).
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*session)->Run({{c.input, *input}}, c.outputs).ok());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s (auto_jit=%d): max abs error %.3g (max error / max(1, |reference|) %.3g), %d clusters, %.1f ms/run\n",
              c.dir.c_str(), GetParam().auto_jit, max_err, max_scaled, (*session)->stats().num_clusters, ms);
}

INSTANTIATE_TEST_SUITE_P(All, TfjsModelTest,
                         testing::Values(Param{0, 0}, Param{1, 0}, Param{2, 0}, Param{3, 0}, Param{0, 2}, Param{1, 2},
                                         Param{2, 2}, Param{3, 2}),
                         ParamName);

}  // namespace
}  // namespace kiln
