// Frozen TensorFlow graphs (tests/import/tf/data, written by generate.py with TensorFlow's CPU
// outputs) imported and run by Kiln, with the JIT off and with auto_jit=2.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/npy.h"
#include "kiln/runtime/import.h"
#include "kiln/session/session.h"

namespace kiln {
namespace {

const std::string kData = std::string(KILN_SOURCE_DIR) + "/tests/import/tf/data/";

struct GraphCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> inputs, outputs;  // (tensor name, .npy file)
  int auto_jit = 0;
};

// Reads data/cases.txt: "<case> in <name> <file> ... out <name> <file> ...".
std::vector<GraphCase> ReadCases() {
  std::vector<GraphCase> cases;
  std::ifstream in(kData + "cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    GraphCase c;
    std::string word, section;
    if (!(words >> c.name)) continue;
    while (words >> word) {
      if (word == "in" || word == "out") {
        section = word;
        continue;
      }
      std::string file;
      words >> file;
      (section == "in" ? c.inputs : c.outputs).emplace_back(word, file);
    }
    for (int jit : {0, 2}) {
      c.auto_jit = jit;
      cases.push_back(c);
    }
  }
  return cases;
}

void PrintTo(const GraphCase& c, std::ostream* os) { *os << c.name << " auto_jit=" << c.auto_jit; }

std::string CaseName(const testing::TestParamInfo<GraphCase>& info) {
  return info.param.name + (info.param.auto_jit ? "_jit" : "_nojit");
}

class TfGraphDefTest : public testing::TestWithParam<GraphCase> {};

TEST_P(TfGraphDefTest, MatchesTensorFlow) {
  const GraphCase& c = GetParam();
  std::vector<std::string> fetches;
  for (const auto& [name, file] : c.outputs) fetches.push_back(name);
  absl::StatusOr<Graph> graph = ImportTfGraphDefFile(kData + c.name + ".pb", fetches);
  ASSERT_TRUE(graph.ok()) << graph.status();
  for (const Node& node : graph->nodes) {
    // NHWC convolutions, pools and resizes need no layout transposes.
    if (c.name != "matmul" && c.name != "shape_ops") EXPECT_NE(node.op, "Transpose") << node.name;
  }
  SessionOptions options;
  options.auto_jit = c.auto_jit;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*std::move(graph), options);
  ASSERT_TRUE(session.ok()) << session.status();
  Feeds feeds;
  for (const auto& [name, file] : c.inputs) {
    absl::StatusOr<Tensor> t = ReadNpyFile(kData + file);
    ASSERT_TRUE(t.ok()) << t.status();
    feeds.emplace_back(name, *t);
  }
  absl::StatusOr<std::vector<Tensor>> out = (*session)->Run(feeds, fetches);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), fetches.size());
  for (size_t k = 0; k < fetches.size(); ++k) {
    absl::StatusOr<Tensor> ref = ReadNpyFile(kData + c.outputs[k].second);
    ASSERT_TRUE(ref.ok()) << ref.status();
    const Tensor& got = (*out)[k];
    ASSERT_EQ(got.dims(), ref->dims()) << fetches[k];
    const bool is_float = ref->dtype() == DType::kF32;
    if (!is_float) {
      EXPECT_EQ(got.dtype(), ref->dtype()) << fetches[k];
    }
    int bad = 0;
    for (int64_t i = 0; i < got.num_elements() && bad < 5; ++i) {
      const double want = ref->GetAsDouble(i), have = got.GetAsDouble(i);
      const double tol = is_float ? 1e-5 * std::max(1.0, std::abs(want)) : 0.0;
      if (!(std::abs(want - have) <= tol)) {
        ++bad;
        ADD_FAILURE() << fetches[k] << "[" << i << "]: Kiln " << have << ", TensorFlow " << want;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Generated, TfGraphDefTest, testing::ValuesIn(ReadCases()), CaseName);

TEST(TfGraphDefCases, AllPresent) { EXPECT_EQ(ReadCases().size(), 2u * 11u); }

}  // namespace
}  // namespace kiln
