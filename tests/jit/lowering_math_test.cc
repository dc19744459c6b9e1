// Lowering of the elementwise and variadic math ops of issue 9 (Sum, Mean, Min, Max, Reciprocal, Pow,
// Mod, HardSigmoid, HardSwish, Erf, Log, Gelu): a small graph run with the JIT on (interpreter and CPU
// backends) must compile into one cluster that does not fall back, and match the runtime kernels (JIT
// off) over a dense range plus NaN, ±Inf and -0.0: NaN where the kernel gives NaN, the same infinity, the
// same sign of zero, otherwise within 4 ulp-ish (2e-6 relative, 1e-6 absolute).
#include <cmath>
#include <cstring>
#include <limits>

#include "gtest/gtest.h"
#include "kiln/jit/jit.h"
#include "kiln/session/session.h"
#include "tests/jit/jit_test_util.h"

namespace kiln::jit {
namespace {

using ::kiln::jit::testing::JitOptionsFor;
using ::kiln::jit::testing::MakeNode;
using ::kiln::jit::testing::RandomTensor;
using ::kiln::jit::testing::RunKernelsAndOneCompiledCluster;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// -8 ... 8 in steps of 1/64, then the special values.
std::vector<float> DenseWithSpecials() {
  std::vector<float> v;
  for (int i = -512; i <= 512; ++i) v.push_back(static_cast<float>(i) / 64.0f);
  for (float s : {kNaN, kInf, -kInf, -0.0f, 0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f, 100.0f, -100.0f}) v.push_back(s);
  return v;
}

struct MathCase {
  std::string name;
  Graph graph;
  Feeds feeds;
};

// One node `op` reading f32 inputs x0, x1, ... (given values, all of the same dims) producing "y".
MathCase Elementwise(std::string name, std::string op, std::vector<std::vector<float>> inputs,
                     std::map<std::string, AttrValue> attrs = {}) {
  MathCase c;
  c.name = std::move(name);
  c.graph.name = c.name;
  std::vector<std::string> names;
  const Dims dims{static_cast<int64_t>(inputs[0].size())};
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string in = "x" + std::to_string(i);
    c.graph.inputs.push_back(ValueInfo{in, DType::kF32, dims, true});
    c.feeds.emplace_back(in, Tensor::FromVector<float>(dims, inputs[i]));
    names.push_back(in);
  }
  c.graph.nodes.push_back(MakeNode("node", std::move(op), names, {"y"}, std::move(attrs)));
  c.graph.outputs.push_back(ValueInfo{"y", DType::kF32, dims, true});
  return c;
}

// One node `op` reading random f32 inputs of the given dims (broadcasting), producing "y" of `out`.
MathCase Broadcasting(std::string name, std::string op, std::vector<Dims> in_dims, Dims out) {
  MathCase c;
  c.name = std::move(name);
  c.graph.name = c.name;
  std::vector<std::string> names;
  for (size_t i = 0; i < in_dims.size(); ++i) {
    std::string in = "x" + std::to_string(i);
    c.graph.inputs.push_back(ValueInfo{in, DType::kF32, in_dims[i], true});
    c.feeds.emplace_back(in, RandomTensor(in_dims[i], 7 + 13 * static_cast<uint32_t>(i), -4.0f, 4.0f));
    names.push_back(in);
  }
  c.graph.nodes.push_back(MakeNode("node", std::move(op), names, {"y"}));
  c.graph.outputs.push_back(ValueInfo{"y", DType::kF32, std::move(out), true});
  return c;
}

// Pairs (a, b) of every value of `values` with every other: the two inputs of a binary op.
std::pair<std::vector<float>, std::vector<float>> AllPairs(const std::vector<float>& values) {
  std::vector<float> a, b;
  for (float x : values) {
    for (float y : values) {
      a.push_back(x);
      b.push_back(y);
    }
  }
  return {a, b};
}

std::vector<MathCase> AllCases() {
  std::vector<MathCase> cases;
  const std::vector<float> dense = DenseWithSpecials();
  for (const char* op : {"Reciprocal", "Erf", "Log", "HardSwish", "Neg", "Abs", "Sqrt", "Exp", "Tanh"}) {
    cases.push_back(Elementwise(op, op, {dense}));
  }
  cases.push_back(Elementwise("HardSigmoid", "HardSigmoid", {dense}));
  cases.push_back(Elementwise("HardSigmoidAlphaBeta", "HardSigmoid", {dense}, {{"alpha", 0.3f}, {"beta", 0.25f}}));
  cases.push_back(Elementwise("Gelu", "Gelu", {dense}));
  cases.push_back(Elementwise("GeluTanh", "Gelu", {dense}, {{"approximate", std::string("tanh")}}));
  const std::vector<float> few = {kNaN, kInf, -kInf, -0.0f, 0.0f, 1.0f, -1.0f, 0.5f, -2.5f, 3.0f, 1e-3f, 7.25f};
  auto [a, b] = AllPairs(few);
  cases.push_back(Elementwise("Pow", "Pow", {a, b}));
  cases.push_back(Elementwise("ModFmod", "Mod", {a, b}, {{"fmod", int64_t{1}}}));
  cases.push_back(Elementwise("SumSpecials", "Sum", {a, b}));
  cases.push_back(Elementwise("MeanSpecials", "Mean", {a, b}));
  cases.push_back(Elementwise("MaxSpecials", "Max", {a, b}));
  cases.push_back(Elementwise("MinSpecials", "Min", {a, b}));
  cases.push_back(Broadcasting("SumThreeBroadcast", "Sum", {{2, 3, 4}, {3, 1}, {4}}, {2, 3, 4}));
  cases.push_back(Broadcasting("MeanThreeBroadcast", "Mean", {{3, 1}, {2, 3, 4}, {1}}, {2, 3, 4}));
  cases.push_back(Broadcasting("MaxThreeBroadcast", "Max", {{2, 1, 4}, {3, 1}, {2, 3, 4}}, {2, 3, 4}));
  cases.push_back(Broadcasting("MinThreeBroadcast", "Min", {{4}, {2, 3, 4}, {2, 3, 1}}, {2, 3, 4}));
  cases.push_back(Broadcasting("SumOne", "Sum", {{5, 2}}, {5, 2}));
  cases.push_back(Broadcasting("MeanOne", "Mean", {{5, 2}}, {5, 2}));
  return cases;
}

// True when `actual` stands for the same value as `expected`: both NaN, equal infinities, equal zeros
// with the same sign, or finite and close.
bool SameValue(float actual, float expected) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  if (expected == 0.0f) return actual == 0.0f ? std::signbit(actual) == std::signbit(expected)
                                              : std::fabs(actual) <= 1e-6f;
  return std::fabs(actual - expected) <= 1e-6f + 2e-6f * std::fabs(expected);
}

struct Param {
  std::string op_case;
  std::string backend;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.op_case << " on " << p.backend; }

class LoweringMathTest : public ::testing::TestWithParam<Param> {};

TEST_P(LoweringMathTest, CompilesAndMatchesRuntimeKernels) {
  MathCase c;
  for (MathCase& candidate : AllCases()) {
    if (candidate.name == GetParam().op_case) c = std::move(candidate);
  }
  ASSERT_FALSE(c.name.empty());
  std::vector<Tensor> expected, actual;
  ASSERT_NO_FATAL_FAILURE(
      RunKernelsAndOneCompiledCluster(c.graph, c.feeds, GetParam().backend, &expected, &actual));
  ASSERT_EQ(actual.size(), 1u);
  const Tensor& got = actual[0];
  const Tensor& want = expected[0];
  ASSERT_EQ(got.dims(), want.dims());
  int mismatches = 0;
  for (int64_t k = 0; k < got.num_elements() && mismatches < 10; ++k) {
    const float g = got.data<float>()[k];
    const float w = want.data<float>()[k];
    if (SameValue(g, w)) continue;
    ++mismatches;
    std::string args;
    for (const auto& [name, t] : c.feeds) args += " " + name + "=" + std::to_string(t.data<float>()[k]);
    ADD_FAILURE() << c.name << " element " << k << " (" << args << " ): JIT " << g << ", kernel " << w;
  }
}

std::vector<Param> AllParams() {
  std::vector<Param> params;
  for (const std::string backend : {"interpreter", "cpu"}) {
    for (const MathCase& c : AllCases()) params.push_back({c.name, backend});
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(Ops, LoweringMathTest, ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return info.param.op_case + "_" + info.param.backend;
                         });

TEST(LoweringMathSupportTest, ModWithoutFmodIsNotLowered) {
  MathCase c = Elementwise("ModInt", "Mod", {{1.0f}, {2.0f}});
  auto jit = Session::Create(c.graph, JitOptionsFor("cpu"));
  ASSERT_TRUE(jit.ok()) << jit.status();
  EXPECT_EQ((*jit)->stats().num_clusters, 0);
}

}  // namespace
}  // namespace kiln::jit
