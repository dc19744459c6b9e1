// Lowering of NhwcConv (the TensorFlow importers' NHWC convolution with fused bias and activation): a
// one-node graph run with the JIT on (interpreter and CPU backends) must compile into one cluster that
// does not fall back and match the runtime kernel (JIT off), NaN, ±Inf and -0.0 inputs included.
#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "kiln/jit/jit.h"
#include "kiln/session/session.h"
#include "tests/jit/jit_test_util.h"

namespace kiln::jit {
namespace {

using ::kiln::jit::testing::MakeNode;
using ::kiln::jit::testing::RandomTensor;
using ::kiln::jit::testing::RunKernelsAndOneCompiledCluster;

struct NhwcCase {
  std::string name;
  Dims x, w, y;
  bool bias = true;
  std::map<std::string, AttrValue> attrs;
};

std::vector<NhwcCase> AllCases() {
  using Ints = std::vector<int64_t>;
  return {
      {"Plain", {1, 7, 7, 3}, {3, 3, 3, 4}, {1, 5, 5, 4}, false, {}},
      {"SameStrideBiasRelu", {2, 9, 9, 4}, {3, 3, 4, 6}, {2, 5, 5, 6}, true,
       {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}, {"activation", std::string("Relu")}}},
      {"PadsDilationsRelu6", {1, 10, 8, 2}, {3, 2, 2, 5}, {1, 8, 8, 5}, true,
       {{"pads", Ints{1, 0, 1, 1}}, {"dilations", Ints{2, 1}}, {"activation", std::string("Relu6")}}},
      {"DepthwiseMultiplierElu", {1, 8, 8, 4}, {3, 3, 1, 8}, {1, 6, 6, 8}, true,
       {{"group", int64_t{4}}, {"activation", std::string("Elu")}}},
      {"DepthwiseLeakyRelu", {1, 6, 6, 3}, {3, 3, 1, 3}, {1, 6, 6, 3}, true,
       {{"group", int64_t{3}}, {"pads", Ints{1, 1, 1, 1}}, {"activation", std::string("LeakyRelu")},
        {"alpha", 0.3f}}},
      {"GroupedSigmoid", {1, 5, 5, 4}, {1, 1, 2, 6}, {1, 5, 5, 6}, true,
       {{"group", int64_t{2}}, {"activation", std::string("Sigmoid")}}},
      {"PointwiseTanh", {2, 4, 4, 8}, {1, 1, 8, 3}, {2, 4, 4, 3}, true, {{"activation", std::string("Tanh")}}},
  };
}

bool SameValue(float actual, float expected) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  return std::fabs(actual - expected) <= 1e-5f + 1e-5f * std::fabs(expected);
}

class NhwcConvLoweringTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(NhwcConvLoweringTest, CompilesAndMatchesTheKernel) {
  const auto& [case_name, backend] = GetParam();
  NhwcCase c;
  for (const NhwcCase& candidate : AllCases()) {
    if (candidate.name == case_name) c = candidate;
  }
  ASSERT_FALSE(c.name.empty());
  Graph graph;
  graph.name = c.name;
  graph.inputs.push_back(ValueInfo{"x", DType::kF32, c.x, true});
  graph.initializers["w"] = RandomTensor(c.w, 3);
  std::vector<std::string> inputs = {"x", "w"};
  if (c.bias) {
    graph.initializers["b"] = RandomTensor({c.w[3]}, 4);
    inputs.push_back("b");
  }
  graph.nodes.push_back(MakeNode("conv", "NhwcConv", inputs, {"y"}, c.attrs));
  graph.outputs.push_back(ValueInfo{"y", DType::kF32, c.y, true});
  Tensor x = RandomTensor(c.x, 5, -2.0f, 2.0f);
  // Special values in the first image: they reach the windows that cover them.
  float* xd = x.data<float>();
  xd[0] = std::numeric_limits<float>::quiet_NaN();
  xd[c.x[3] * 3] = std::numeric_limits<float>::infinity();
  xd[x.num_elements() / 2] = -std::numeric_limits<float>::infinity();
  xd[x.num_elements() / 3] = -0.0f;
  const Feeds feeds = {{"x", x}};

  std::vector<Tensor> expected, actual;
  ASSERT_NO_FATAL_FAILURE(RunKernelsAndOneCompiledCluster(graph, feeds, backend, &expected, &actual));
  const Tensor& got = actual[0];
  const Tensor& want = expected[0];
  ASSERT_EQ(got.dims(), want.dims());
  int mismatches = 0, nans = 0;
  for (int64_t k = 0; k < got.num_elements() && mismatches < 10; ++k) {
    nans += std::isnan(want.data<float>()[k]);
    if (SameValue(got.data<float>()[k], want.data<float>()[k])) continue;
    ++mismatches;
    ADD_FAILURE() << c.name << " element " << k << ": JIT " << got.data<float>()[k] << ", kernel "
                  << want.data<float>()[k];
  }
  EXPECT_GT(nans, 0) << "the NaN input reached no output";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NhwcConvLoweringTest,
    ::testing::Combine(::testing::Values("Plain", "SameStrideBiasRelu", "PadsDilationsRelu6", "DepthwiseMultiplierElu",
                                         "DepthwiseLeakyRelu", "GroupedSigmoid", "PointwiseTanh"),
                       ::testing::Values("interpreter", "cpu")),
    [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

}  // namespace
}  // namespace kiln::jit
