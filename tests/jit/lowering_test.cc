// Lowering of each runtime op to HLO: a one-op graph run with the JIT (on the reference interpreter
// and on the CPU backend) must match the runtime kernels within 1e-5, and a few cases match values
// worked out by hand from the ONNX operator definitions.
#include <functional>

#include "gtest/gtest.h"
#include "kiln/jit/jit.h"
#include "kiln/session/session.h"
#include "tests/jit/jit_test_util.h"

namespace kiln::jit {
namespace {

using ::kiln::jit::testing::JitOptionsFor;
using ::kiln::jit::testing::MakeNode;
using ::kiln::jit::testing::MaxAbsDiff;
using ::kiln::jit::testing::NoJit;
using ::kiln::jit::testing::RandomTensor;

struct OpCase {
  std::string name;
  Graph graph;
  Feeds feeds;
};

// A graph with one node `op` reading f32 inputs `in_dims` (named x0, x1, ...) and `constants`
// (initializers), producing "y".
OpCase OneOp(std::string name, std::string op, std::vector<Dims> in_dims, Dims out_dims,
             std::map<std::string, AttrValue> attrs = {}, std::vector<std::pair<std::string, Tensor>> constants = {},
             uint32_t seed = 1, float lo = -1.0f, float hi = 1.0f) {
  OpCase c;
  c.name = std::move(name);
  c.graph.name = c.name;
  std::vector<std::string> inputs;
  for (size_t i = 0; i < in_dims.size(); ++i) {
    std::string in = "x" + std::to_string(i);
    c.graph.inputs.push_back(ValueInfo{in, DType::kF32, in_dims[i], true});
    c.feeds.emplace_back(in, RandomTensor(in_dims[i], seed + 17 * static_cast<uint32_t>(i), lo, hi));
    inputs.push_back(in);
  }
  for (auto& [cname, tensor] : constants) {
    if (!cname.empty()) c.graph.initializers[cname] = tensor;
    inputs.push_back(cname);
  }
  c.graph.nodes.push_back(MakeNode("node", std::move(op), inputs, {"y"}, std::move(attrs)));
  c.graph.outputs.push_back(ValueInfo{"y", DType::kF32, std::move(out_dims), true});
  return c;
}

std::vector<OpCase> AllCases() {
  using Ints = std::vector<int64_t>;
  std::vector<OpCase> cases;
  cases.push_back(OneOp("AddBroadcast", "Add", {{2, 3, 4}, {3, 1}}, {2, 3, 4}));
  cases.push_back(OneOp("SubRowVector", "Sub", {{2, 3}, {3}}, {2, 3}));
  cases.push_back(OneOp("MulChannels", "Mul", {{1, 3, 1, 1}, {2, 3, 4, 5}}, {2, 3, 4, 5}));
  cases.push_back(OneOp("DivPositive", "Div", {{2, 5}, {2, 5}}, {2, 5}, {}, {}, 3, 0.5f, 2.0f));
  cases.push_back(OneOp("Relu", "Relu", {{2, 3, 4, 5}}, {2, 3, 4, 5}));
  cases.push_back(OneOp("Sigmoid", "Sigmoid", {{4, 6}}, {4, 6}, {}, {}, 1, -6.0f, 6.0f));
  cases.push_back(OneOp("Tanh", "Tanh", {{4, 6}}, {4, 6}, {}, {}, 1, -3.0f, 3.0f));
  cases.push_back(OneOp("Exp", "Exp", {{4, 6}}, {4, 6}));
  cases.push_back(OneOp("Clip", "Clip", {{2, 8}}, {2, 8}, {},
                        {{"lo", Tensor::Scalar<float>(-0.25f)}, {"hi", Tensor::Scalar<float>(0.5f)}}));
  cases.push_back(OneOp("ClipMaxOnly", "Clip", {{2, 8}}, {2, 8}, {},
                        {{"", Tensor()}, {"hi", Tensor::Scalar<float>(0.1f)}}));
  cases.push_back(OneOp("ConvPadStrideBias", "Conv", {{1, 4, 9, 9}}, {1, 6, 5, 5},
                        {{"pads", Ints{1, 1, 1, 1}}, {"strides", Ints{2, 2}}, {"kernel_shape", Ints{3, 3}}},
                        {{"w", RandomTensor({6, 4, 3, 3}, 5)}, {"b", RandomTensor({6}, 6)}}));
  cases.push_back(OneOp("ConvDepthwiseAsymmetricPads", "Conv", {{1, 4, 8, 8}}, {1, 4, 4, 4},
                        {{"group", int64_t{4}}, {"pads", Ints{0, 0, 1, 1}}, {"strides", Ints{2, 2}}},
                        {{"w", RandomTensor({4, 1, 3, 3}, 7)}, {"b", RandomTensor({4}, 8)}}));
  cases.push_back(OneOp("ConvDilatedNoBias", "Conv", {{2, 3, 10, 10}}, {2, 5, 6, 6},
                        {{"dilations", Ints{2, 2}}},
                        {{"w", RandomTensor({5, 3, 3, 3}, 9)}}));
  cases.push_back(OneOp("ConvSameUpper", "Conv", {{1, 2, 7, 7}}, {1, 3, 4, 4},
                        {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}},
                        {{"w", RandomTensor({3, 2, 2, 2}, 10)}}));
  cases.push_back(OneOp("ConvPointwise", "Conv", {{1, 16, 5, 5}}, {1, 8, 5, 5}, {},
                        {{"w", RandomTensor({8, 16, 1, 1}, 11)}, {"b", RandomTensor({8}, 12)}}));
  cases.push_back(OneOp("GemmTransBAlphaBeta", "Gemm", {{3, 5}}, {3, 4},
                        {{"transB", int64_t{1}}, {"alpha", 0.5f}, {"beta", 2.0f}},
                        {{"b", RandomTensor({4, 5}, 13)}, {"c", RandomTensor({4}, 14)}}));
  cases.push_back(OneOp("GemmTransA", "Gemm", {{5, 3}, {5, 4}}, {3, 4}, {{"transA", int64_t{1}}}));
  cases.push_back(OneOp("MatMulBatched", "MatMul", {{2, 3, 4}, {4, 5}}, {2, 3, 5}));
  cases.push_back(OneOp("MatMulVector", "MatMul", {{4}, {4, 5}}, {5}));
  cases.push_back(OneOp("MaxPoolPadded", "MaxPool", {{1, 3, 9, 9}}, {1, 3, 5, 5},
                        {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}));
  cases.push_back(OneOp("MaxPoolCeil", "MaxPool", {{1, 2, 8, 8}}, {1, 2, 4, 4},
                        {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}}));
  cases.push_back(OneOp("AveragePoolExcludePad", "AveragePool", {{1, 3, 7, 7}}, {1, 3, 4, 4},
                        {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}));
  cases.push_back(OneOp("AveragePoolIncludePad", "AveragePool", {{1, 3, 7, 7}}, {1, 3, 4, 4},
                        {{"kernel_shape", Ints{3, 3}},
                         {"strides", Ints{2, 2}},
                         {"pads", Ints{1, 1, 1, 1}},
                         {"count_include_pad", int64_t{1}}}));
  cases.push_back(OneOp("GlobalAveragePool", "GlobalAveragePool", {{2, 8, 7, 7}}, {2, 8, 1, 1}));
  cases.push_back(OneOp("ReshapeCopyAndInfer", "Reshape", {{2, 3, 4}}, {2, 12}, {},
                        {{"shape", Tensor::FromVector<int64_t>({2}, {0, -1})}}));
  cases.push_back(OneOp("FlattenAxis2", "Flatten", {{2, 3, 4, 5}}, {6, 20}, {{"axis", int64_t{2}}}));
  cases.push_back(OneOp("SoftmaxLastAxis", "Softmax", {{2, 3, 5}}, {2, 3, 5}, {{"axis", int64_t{-1}}}, {}, 1,
                        -4.0f, 4.0f));
  cases.push_back(OneOp("SoftmaxCoerce2d", "Softmax", {{2, 3, 5}}, {2, 3, 5},
                        {{"axis", int64_t{1}}, {"coerce_2d", int64_t{1}}}, {}, 1, -4.0f, 4.0f));
  cases.push_back(OneOp("ConcatChannels", "Concat", {{1, 2, 3, 3}, {1, 4, 3, 3}}, {1, 6, 3, 3},
                        {{"axis", int64_t{1}}}));
  cases.push_back(OneOp("TransposeNhwc", "Transpose", {{1, 2, 3, 4}}, {1, 3, 4, 2},
                        {{"perm", Ints{0, 2, 3, 1}}}));
  cases.push_back(OneOp("BatchNormalization", "BatchNormalization", {{2, 3, 4, 4}}, {2, 3, 4, 4},
                        {{"epsilon", 1e-3f}},
                        {{"scale", RandomTensor({3}, 20)},
                         {"bias", RandomTensor({3}, 21)},
                         {"mean", RandomTensor({3}, 22)},
                         {"var", RandomTensor({3}, 23, 0.5f, 2.0f)}}));
  cases.push_back(OneOp("PadConstant", "Pad", {{1, 2, 3, 3}}, {1, 2, 5, 6}, {},
                        {{"pads", Tensor::FromVector<int64_t>({8}, {0, 0, 1, 2, 0, 0, 1, 1})},
                         {"value", Tensor::Scalar<float>(0.5f)}}));
  cases.push_back(OneOp("ReduceMeanKeepDims", "ReduceMean", {{2, 3, 4}}, {2, 1, 4},
                        {{"axes", Ints{1}}, {"keepdims", int64_t{1}}}));
  // Identity after Relu (an Identity alone would make the cluster's result its own parameter).
  OpCase identity = OneOp("ReluIdentity", "Relu", {{3, 4}}, {3, 4});
  identity.graph.nodes[0].outputs = {"r"};
  identity.graph.nodes.push_back(MakeNode("id", "Identity", {"r"}, {"y"}));
  cases.push_back(std::move(identity));
  return cases;
}

struct Param {
  std::string op_case;
  std::string backend;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.op_case << " on " << p.backend; }

class LoweringTest : public ::testing::TestWithParam<Param> {};

TEST_P(LoweringTest, MatchesRuntimeKernels) {
  OpCase c;
  for (OpCase& candidate : AllCases()) {
    if (candidate.name == GetParam().op_case) c = std::move(candidate);
  }
  ASSERT_FALSE(c.name.empty());
  auto reference = Session::Create(c.graph, NoJit());
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto expected = (*reference)->Run(c.feeds);
  ASSERT_TRUE(expected.ok()) << expected.status();

  auto jit = Session::Create(c.graph, JitOptionsFor(GetParam().backend));
  ASSERT_TRUE(jit.ok()) << jit.status();
  ASSERT_EQ((*jit)->stats().num_clusters, 1)
      << c.name << " was not clustered on backend " << GetParam().backend;
  for (const Node& node : (*jit)->executed_graph().nodes) EXPECT_EQ(node.op, "_KilnLaunch");
  const int64_t failures_before = GetCacheStats().failures;
  auto actual = (*jit)->Run(c.feeds);
  ASSERT_TRUE(actual.ok()) << actual.status();
  EXPECT_EQ(GetCacheStats().failures, failures_before) << "the cluster fell back to the runtime kernels";
  ASSERT_EQ(actual->size(), expected->size());
  for (size_t i = 0; i < actual->size(); ++i) {
    const Tensor& a = (*actual)[i];
    const Tensor& e = (*expected)[i];
    ASSERT_EQ(a.dims(), e.dims());
    for (int64_t k = 0; k < a.num_elements(); ++k) {
      float want = e.data<float>()[k];
      ASSERT_NEAR(a.data<float>()[k], want, 1e-5 * (1.0 + std::fabs(want))) << c.name << " element " << k;
    }
  }
}

std::vector<Param> AllParams() {
  std::vector<Param> params;
  for (const std::string backend : {"interpreter", "cpu"}) {
    for (const OpCase& c : AllCases()) params.push_back({c.name, backend});
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(Ops, LoweringTest, ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return info.param.op_case + "_" + info.param.backend;
                         });

// Values worked out by hand from the ONNX definitions.
class HandComputedTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::vector<float> RunJit(OpCase c) {
    auto session = Session::Create(c.graph, JitOptionsFor(GetParam()));
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return {};
    EXPECT_EQ((*session)->stats().num_clusters, 1);
    auto out = (*session)->Run(c.feeds);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return {};
    const Tensor& t = (*out)[0];
    return std::vector<float>(t.data<float>(), t.data<float>() + t.num_elements());
  }
};

TEST_P(HandComputedTest, Gemm) {
  // A = [[1,2],[3,4]], B^T given as [[1,0],[1,1],[0,2]] (transB), C = [1,2,3], alpha = 2, beta = 1:
  // A*B = [[1,3,4],[3,7,8]], 2*A*B + C = [[3,8,11],[7,16,19]].
  OpCase c = OneOp("Gemm", "Gemm", {{2, 2}}, {2, 3}, {{"transB", int64_t{1}}, {"alpha", 2.0f}},
                   {{"b", Tensor::FromVector<float>({3, 2}, {1, 0, 1, 1, 0, 2})},
                    {"c", Tensor::FromVector<float>({3}, {1, 2, 3})}});
  c.feeds[0].second = Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(RunJit(c), (std::vector<float>{3, 8, 11, 7, 16, 19}));
}

TEST_P(HandComputedTest, AveragePoolCounts) {
  // All-ones 3x3 input, 3x3 window, stride 1, pads 1: excluding pads every average is 1; including
  // them the corners see 4 of 9 taps, the edges 6 of 9, the centre 9 of 9.
  Tensor ones = Tensor::FromVector<float>({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  OpCase exclude = OneOp("AvgExclude", "AveragePool", {{1, 1, 3, 3}}, {1, 1, 3, 3},
                         {{"kernel_shape", std::vector<int64_t>{3, 3}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  exclude.feeds[0].second = ones;
  std::vector<float> got = RunJit(exclude);
  ASSERT_EQ(got.size(), 9u);
  for (float v : got) EXPECT_FLOAT_EQ(v, 1.0f);
  OpCase include = exclude;
  include.graph.nodes[0].attrs["count_include_pad"] = int64_t{1};
  got = RunJit(include);
  ASSERT_EQ(got.size(), 9u);
  const float c = 4.0f / 9, e = 6.0f / 9;
  std::vector<float> want = {c, e, c, e, 1.0f, e, c, e, c};
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST_P(HandComputedTest, SoftmaxOfEqualLogitsIsUniform) {
  OpCase c = OneOp("Softmax", "Softmax", {{2, 4}}, {2, 4}, {{"axis", int64_t{1}}});
  c.feeds[0].second = Tensor::FromVector<float>({2, 4}, {3, 3, 3, 3, 0, 0, 0, std::log(3.0f)});
  std::vector<float> got = RunJit(c);
  ASSERT_EQ(got.size(), 8u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(got[i], 0.25f, 1e-6);
  // exp(0) = 1 three times and exp(log 3) = 3: 1/6, 1/6, 1/6, 1/2.
  for (int i = 4; i < 7; ++i) EXPECT_NEAR(got[i], 1.0f / 6, 1e-6);
  EXPECT_NEAR(got[7], 0.5f, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Backends, HandComputedTest, ::testing::Values("interpreter", "cpu"));

TEST(LoweringSupportTest, DynamicDimsStayWithTheKernels) {
  // x has an unknown batch dim: nothing is clustered, and the graph still runs on the kernels.
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {-1, 3}, true});
  g.nodes.push_back(MakeNode("r1", "Relu", {"x"}, {"r"}));
  g.nodes.push_back(MakeNode("r2", "Relu", {"r"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {-1, 3}, true});
  auto session = Session::Create(g, JitOptionsFor("cpu", 1));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ((*session)->stats().num_clusters, 0);
  auto out = (*session)->Run({{"x", Tensor::FromVector<float>({2, 3}, {-1, 2, -3, 4, -5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(std::vector<float>((*out)[0].data<float>(), (*out)[0].data<float>() + 6),
            (std::vector<float>{0, 2, 0, 4, 0, 6}));
}

TEST(LoweringSupportTest, ExplainClusteringReportsClustersAndReasons) {
  RegisterStandardOps();
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 3}, true});
  g.inputs.push_back(ValueInfo{"z", DType::kF32, {-1, 3}, true});
  g.initializers["w"] = RandomTensor({3}, 31);
  g.nodes.push_back(MakeNode("relu", "Relu", {"x"}, {"r"}));
  g.nodes.push_back(MakeNode("add", "Add", {"r", "w"}, {"y"}));
  g.nodes.push_back(MakeNode("dynamic", "Relu", {"z"}, {"u"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {2, 3}, true});
  g.outputs.push_back(ValueInfo{"u", DType::kF32, {-1, 3}, true});
  auto types = InferTypes(g);
  ASSERT_TRUE(types.ok()) << types.status();
  JitOptions options;  // auto_jit = 0: the report shows what level 2 would do.
  auto report = ExplainClustering(g, *types, options);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->clusters.size(), 1u);
  EXPECT_EQ(report->clusters[0].num_ops, 2);
  EXPECT_EQ(report->clusters[0].op_counts, (std::map<std::string, int>{{"Add", 1}, {"Relu", 1}}));
  EXPECT_EQ(report->clusters[0].num_inputs, 1);
  EXPECT_EQ(report->clusters[0].num_outputs, 1);
  ASSERT_EQ(report->not_compilable.size(), 1u);
  EXPECT_EQ(report->not_compilable[0].first, "dynamic");
  EXPECT_NE(report->not_compilable[0].second.find("static dims"), std::string::npos)
      << report->not_compilable[0].second;
  EXPECT_EQ(g.nodes.size(), 3u);  // The graph itself is untouched.
}

TEST(LoweringSupportTest, Level2AlsoUsesFoldedConstants) {
  // y = Relu(Reshape(Relu(x), Shape(x))): the Reshape target is a value shape inference folds.
  // auto_jit=1 leaves the Reshape to the kernels (two clusters around it); auto_jit=2 copies the
  // folded shape into the cluster and compiles all three ops together.
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 3, 4}, true});
  g.nodes.push_back(MakeNode("relu1", "Relu", {"x"}, {"a"}));
  g.nodes.push_back(MakeNode("shape", "Shape", {"x"}, {"s"}));
  g.nodes.push_back(MakeNode("reshape", "Reshape", {"a", "s"}, {"b"}));
  g.nodes.push_back(MakeNode("relu2", "Relu", {"b"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {2, 3, 4}, true});
  Feeds feeds = {{"x", RandomTensor({2, 3, 4}, 41)}};
  auto reference = Session::Create(g, NoJit());
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto expected = (*reference)->Run(feeds);
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (int level : {1, 2}) {
    SessionOptions options = JitOptionsFor("cpu", 1);
    options.auto_jit = level;
    auto session = Session::Create(g, options);
    ASSERT_TRUE(session.ok()) << session.status();
    EXPECT_EQ((*session)->stats().num_clusters, level == 1 ? 2 : 1) << "auto_jit=" << level;
    bool reshape_outside = false;
    for (const Node& node : (*session)->executed_graph().nodes) reshape_outside |= node.op == "Reshape";
    EXPECT_EQ(reshape_outside, level == 1) << "auto_jit=" << level;
    auto out = (*session)->Run(feeds);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(MaxAbsDiff((*out)[0], (*expected)[0]), 0.0) << "auto_jit=" << level;
  }
}

TEST(LoweringSupportTest, UnknownBackendIsAClearError) {
  OpCase c = OneOp("Relu", "Relu", {{2}}, {2});
  auto session = Session::Create(c.graph, JitOptionsFor("no_such_backend"));
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().message().find("no_such_backend"), std::string::npos) << session.status();
}

}  // namespace
}  // namespace kiln::jit
