// Load-time constant folding (FoldConstantNodes): which nodes fold, and that a folded graph computes
// what the unfolded one does (the runtime kernels on the original graph are the oracle).
#include "kiln/runtime/constant_folding.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/runtime/executor.h"
#include "kiln/runtime/op_registry.h"

namespace kiln {
namespace {

Node MakeNode(std::string name, std::string op, std::vector<std::string> inputs, std::vector<std::string> outputs,
              std::map<std::string, AttrValue> attrs = {}) {
  Node n;
  n.name = std::move(name);
  n.op = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attrs = std::move(attrs);
  return n;
}

// x: f32[1,3,4,4] fed.
//   ConstantOfShape([2,3,3,3], 0.25) -> w;  Conv(x, w) -> conv
//   Shape(x) -> s; Gather(s, 0) -> b; Unsqueeze(b, [0]) -> bu; Concat(bu, [-1]) -> shp; Reshape(conv, shp) -> flat
//   DequantizeLinear(q int8[32,2], scale, zp) -> dq; MatMul(flat, dq) -> mm
//   Add(c1, c2) -> const_out (a graph output that is constant)
Graph TestGraph() {
  Graph g;
  g.name = "folding";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {1, 3, 4, 4}});
  g.initializers["w_shape"] = Tensor::FromVector<int64_t>({4}, {2, 3, 3, 3});
  g.nodes.push_back(MakeNode("cos", "ConstantOfShape", {"w_shape"}, {"w"},
                             {{"value", Tensor::FromVector<float>({1}, {0.25f})}}));
  g.nodes.push_back(MakeNode("conv", "Conv", {"x", "w"}, {"conv"}));
  g.nodes.push_back(MakeNode("shape", "Shape", {"x"}, {"s"}));
  g.initializers["zero"] = Tensor::Scalar<int64_t>(0);
  g.initializers["axes0"] = Tensor::FromVector<int64_t>({1}, {0});
  g.initializers["minus1"] = Tensor::FromVector<int64_t>({1}, {-1});
  g.nodes.push_back(MakeNode("gather", "Gather", {"s", "zero"}, {"b"}));
  g.nodes.push_back(MakeNode("unsq", "Unsqueeze", {"b", "axes0"}, {"bu"}));
  g.nodes.push_back(MakeNode("concat", "Concat", {"bu", "minus1"}, {"shp"}, {{"axis", int64_t{0}}}));
  g.nodes.push_back(MakeNode("reshape", "Reshape", {"conv", "shp"}, {"flat"}));
  std::vector<int8_t> q(8 * 2);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 256) - 128);
  g.initializers["q"] = Tensor::FromVector<int8_t>({8, 2}, q);
  g.initializers["scale"] = Tensor::Scalar<float>(0.03125f);
  g.initializers["zp"] = Tensor::Scalar<int8_t>(3);
  g.nodes.push_back(MakeNode("dq", "DequantizeLinear", {"q", "scale", "zp"}, {"dq"}));
  g.nodes.push_back(MakeNode("mm", "MatMul", {"flat", "dq"}, {"mm"}));
  g.initializers["c1"] = Tensor::FromVector<float>({2}, {1.5f, -2.0f});
  g.initializers["c2"] = Tensor::FromVector<float>({2}, {0.25f, 4.0f});
  g.nodes.push_back(MakeNode("add", "Add", {"c1", "c2"}, {"const_out"}));
  g.outputs.push_back(ValueInfo{"mm", DType::kF32, {1, 2}});
  g.outputs.push_back(ValueInfo{"const_out", DType::kF32, {2}});
  return g;
}

std::vector<Tensor> RunGraph(Graph g, const Tensor& x) {
  absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(std::make_shared<const Graph>(std::move(g)));
  EXPECT_TRUE(ex.ok()) << ex.status();
  if (!ex.ok()) return {};
  absl::StatusOr<std::vector<Tensor>> out = (*ex)->Run({{"x", x}}, {"mm", "const_out"});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Tensor>{};
}

bool HasNode(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes) if (n.name == name) return true;
  return false;
}

TEST(ConstantFoldingTest, FoldsConstantChainsAndKeepsResults) {
  RegisterStandardOps();
  std::vector<float> xv(48);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i % 7) - 3.0f;
  const Tensor x = Tensor::FromVector<float>({1, 3, 4, 4}, xv);
  const std::vector<Tensor> reference = RunGraph(TestGraph(), x);
  ASSERT_EQ(reference.size(), 2u);

  Graph folded = TestGraph();
  absl::StatusOr<ConstantFoldingStats> stats = FoldConstantNodes(&folded);
  ASSERT_TRUE(stats.ok()) << stats.status();
  // ConstantOfShape, Gather, Unsqueeze, Concat, DequantizeLinear, Add.
  EXPECT_EQ(stats->folded_nodes, 6);
  for (const char* name : {"cos", "gather", "unsq", "concat", "dq", "add"}) {
    EXPECT_FALSE(HasNode(folded, name)) << name;
  }
  for (const char* name : {"conv", "reshape", "mm"}) EXPECT_TRUE(HasNode(folded, name)) << name;
  EXPECT_TRUE(folded.initializers.count("w"));
  EXPECT_TRUE(folded.initializers.count("dq"));
  EXPECT_TRUE(folded.initializers.count("const_out"));
  EXPECT_FALSE(folded.initializers.count("q")) << "an initializer only folded nodes read is removed";
  EXPECT_FALSE(folded.initializers.count("s")) << "Shape stays a node; its inferred value is not kept";

  const std::vector<Tensor> got = RunGraph(folded, x);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].BitEqual(reference[0]));
  EXPECT_TRUE(got[1].BitEqual(reference[1]));
  EXPECT_FLOAT_EQ(got[1].data<float>()[0], 1.75f);
  EXPECT_FLOAT_EQ(got[1].data<float>()[1], 2.0f);

  // Folding a folded graph finds nothing more.
  absl::StatusOr<ConstantFoldingStats> again = FoldConstantNodes(&folded);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->folded_nodes, 0);
}

// Kiln implements no random op; this test registers a stand-in "RandomNormal" (f32[2], a new value
// each call) to check that the pass never evaluates an op of that name.
std::atomic<int> g_random_calls{0};

void RegisterStandInRandomNormal() {
  static bool done = [] {
    OpDef def;
    def.name = "RandomNormal";
    def.shape_fn = [](InferenceContext& ctx) {
      ctx.set_output(0, TensorType{DType::kF32, {2}});
      return absl::OkStatus();
    };
    def.kernel_factory = [](const KernelConstruction&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
      return MakeFunctionKernel([](KernelContext& ctx) -> absl::Status {
        const int call = ++g_random_calls;
        absl::StatusOr<Tensor*> y = ctx.AllocateOutput(0, DType::kF32, {2});
        if (!y.ok()) return y.status();
        (*y)->data<float>()[0] = static_cast<float>(call);
        (*y)->data<float>()[1] = static_cast<float>(-call);
        return absl::OkStatus();
      });
    };
    EXPECT_TRUE(OpRegistry::Global().Register(def).ok());
    return true;
  }();
  (void)done;
}

TEST(ConstantFoldingTest, RandomOpsAndFedInitializersDoNotFold) {
  RegisterStandardOps();
  RegisterStandInRandomNormal();
  Graph g;
  g.nodes.push_back(MakeNode("rand", "RandomNormal", {}, {"r"},
                             {{"shape", std::vector<int64_t>{2}}, {"seed", 1.0f}}));
  g.initializers["c"] = Tensor::FromVector<float>({2}, {1.0f, 2.0f});
  g.initializers["d"] = Tensor::FromVector<float>({2}, {3.0f, 4.0f});
  // "d" is also a graph input (an ONNX input with a default), so it may be fed: not a constant.
  g.inputs.push_back(ValueInfo{"d", DType::kF32, {2}});
  g.nodes.push_back(MakeNode("add_r", "Add", {"r", "c"}, {"y"}));
  g.nodes.push_back(MakeNode("add_d", "Add", {"d", "c"}, {"z"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {2}});
  g.outputs.push_back(ValueInfo{"z", DType::kF32, {2}});
  absl::StatusOr<ConstantFoldingStats> stats = FoldConstantNodes(&g);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->folded_nodes, 0);
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g_random_calls.load(), 0);
}

TEST(ConstantFoldingTest, OutputSizeBoundKeepsNode) {
  RegisterStandardOps();
  Graph g;
  g.initializers["shape"] = Tensor::FromVector<int64_t>({1}, {1024});
  g.nodes.push_back(MakeNode("cos", "ConstantOfShape", {"shape"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {1024}});
  ConstantFoldingOptions options;
  options.max_output_bytes = 1024;  // The f32[1024] result is 4096 bytes.
  absl::StatusOr<ConstantFoldingStats> stats = FoldConstantNodes(&g, options);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->folded_nodes, 0);
  EXPECT_EQ(g.nodes.size(), 1u);
  options.max_output_bytes = 4096;
  stats = FoldConstantNodes(&g, options);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->folded_nodes, 1);
  EXPECT_TRUE(g.nodes.empty());
  ASSERT_TRUE(g.initializers.count("y"));
  EXPECT_EQ(g.initializers.at("y").num_elements(), 1024);
}

// x -> Conv(w, b) -> BatchNormalization -> y; a second Conv whose output is also a graph output keeps
// its BN. The fused graph computes what the unfused one does (the runtime kernels are the oracle).
Graph ConvBnGraph(bool conv_bias) {
  Graph g;
  g.name = "conv_bn";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {1, 3, 5, 5}});
  std::vector<float> w(4 * 3 * 3 * 3), v4(4);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(std::sin(0.7 * i));
  g.initializers["w"] = Tensor::FromVector<float>({4, 3, 3, 3}, w);
  g.initializers["b"] = Tensor::FromVector<float>({4}, {0.5f, -0.25f, 1.0f, 0.0f});
  g.initializers["scale"] = Tensor::FromVector<float>({4}, {1.5f, 0.5f, -2.0f, 1.0f});
  g.initializers["shift"] = Tensor::FromVector<float>({4}, {0.1f, 0.2f, -0.3f, 0.4f});
  g.initializers["mean"] = Tensor::FromVector<float>({4}, {0.3f, -0.6f, 0.0f, 2.0f});
  g.initializers["var"] = Tensor::FromVector<float>({4}, {1.0f, 0.25f, 4.0f, 0.01f});
  std::vector<std::string> conv_in = {"x", "w"};
  if (conv_bias) conv_in.push_back("b");
  g.nodes.push_back(MakeNode("conv", "Conv", conv_in, {"c"}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
  g.nodes.push_back(MakeNode("bn", "BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"},
                             {{"epsilon", 1e-3f}}));
  g.nodes.push_back(MakeNode("conv2", "Conv", {"x", "w"}, {"c2"}));
  g.nodes.push_back(MakeNode("bn2", "BatchNormalization", {"c2", "scale", "shift", "mean", "var"}, {"y2"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {1, 4, 5, 5}});
  g.outputs.push_back(ValueInfo{"y2", DType::kF32, {1, 4, 3, 3}});
  g.outputs.push_back(ValueInfo{"c2", DType::kF32, {1, 4, 3, 3}});
  return g;
}

std::vector<Tensor> RunConvBn(Graph g, const Tensor& x) {
  absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(std::make_shared<const Graph>(std::move(g)));
  EXPECT_TRUE(ex.ok()) << ex.status();
  if (!ex.ok()) return {};
  absl::StatusOr<std::vector<Tensor>> out = (*ex)->Run({{"x", x}}, {"y", "y2", "c2"});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Tensor>{};
}

TEST(ConvBatchNormFusionTest, FusesOnlyASoleReaderAndKeepsResults) {
  RegisterStandardOps();
  std::vector<float> xv(75);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(std::cos(0.3 * i)) * 2;
  const Tensor x = Tensor::FromVector<float>({1, 3, 5, 5}, xv);
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "conv with bias" : "conv without bias");
    Graph g = ConvBnGraph(bias);
    const std::vector<Tensor> want = RunConvBn(g, x);
    absl::StatusOr<int> fused = FuseConvBatchNorm(&g);
    ASSERT_TRUE(fused.ok()) << fused.status();
    EXPECT_EQ(*fused, 1);
    EXPECT_FALSE(HasNode(g, "bn"));
    EXPECT_TRUE(HasNode(g, "bn2"));  // conv2's output is also a graph output
    EXPECT_TRUE(g.initializers.count("w"));  // conv2 still reads it
    if (bias) EXPECT_FALSE(g.initializers.count("b"));  // only the fused conv read it
    const std::vector<Tensor> got = RunConvBn(g, x);
    ASSERT_EQ(got.size(), want.size());
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(got[o].num_elements(), want[o].num_elements());
      for (int64_t i = 0; i < got[o].num_elements(); ++i) {
        const float w = want[o].data<float>()[i];
        EXPECT_NEAR(got[o].data<float>()[i], w, 1e-5 * (1 + std::fabs(w))) << "output " << o << " element " << i;
      }
    }
  }
}

// A BN that another node names as a control input stays: removing it would leave the edge dangling.
TEST(ConvBatchNormFusionTest, KeepsABatchNormThatIsAControlTarget) {
  RegisterStandardOps();
  Graph g = ConvBnGraph(true);
  g.nodes.push_back(MakeNode("after", "Identity", {"y"}, {"y_copy"}));
  g.nodes.back().control_inputs.push_back("bn");
  absl::StatusOr<int> fused = FuseConvBatchNorm(&g);
  ASSERT_TRUE(fused.ok()) << fused.status();
  EXPECT_EQ(*fused, 0);
  EXPECT_TRUE(HasNode(g, "bn"));
  EXPECT_TRUE(g.TopologicalOrder().ok());
}

}  // namespace
}  // namespace kiln
