// Lowering of the static-shape data-movement ops of issue 9 (Squeeze, Unsqueeze, Cast of f32 to f32,
// nearest Resize by integer factors, ConvTranspose with kernel = stride, Slice, Expand): a
// one-node graph run with the JIT on (interpreter and CPU backends) must compile into one cluster that
// does not fall back and give exactly the runtime kernel's output (dims and bits; NaN, ±Inf and -0.0
// included).
#include <cmath>
#include <cstring>
#include <limits>

#include "gtest/gtest.h"
#include "kiln/support/strings.h"
#include "kiln/session/session.h"
#include "tests/jit/jit_test_util.h"

namespace kiln::jit {
namespace {

using ::kiln::jit::testing::MakeNode;
using ::kiln::jit::testing::RandomTensor;
using ::kiln::jit::testing::RunKernelsAndOneCompiledCluster;

struct ShapeCase {
  std::string name;
  std::string op;
  Dims x, y;
  std::map<std::string, AttrValue> attrs;
  std::vector<int64_t> axes_input;  // Given as a constant s64 input 1 when not empty.
  std::vector<float> scales_input;   // Resize: constant f32 input 2 (roi absent) when not empty.
  std::vector<int64_t> sizes_input;  // Resize: constant s64 input 3 when not empty.
};

std::vector<ShapeCase> AllCases() {
  using Ints = std::vector<int64_t>;
  return {
      {"SqueezeAxesInput", "Squeeze", {1, 3, 1, 4}, {3, 4}, {}, {0, -2}},
      {"SqueezeAxesAttr", "Squeeze", {2, 1, 4}, {2, 4}, {{"axes", Ints{1}}}, {}},
      {"SqueezeAll", "Squeeze", {1, 3, 1, 1}, {3}, {}, {}},
      {"UnsqueezeAxesInput", "Unsqueeze", {3, 4}, {1, 3, 4, 1}, {}, {0, -1}},
      {"UnsqueezeAxesAttr", "Unsqueeze", {2, 5}, {2, 1, 5}, {{"axes", Ints{1}}}, {}},
      {"UnsqueezeScalar", "Unsqueeze", {}, {1}, {}, {0}},
      {"CastF32ToF32", "Cast", {2, 3, 4}, {2, 3, 4}, {{"to", int64_t{1}}}, {}},
      // The detector's neck: nearest 2x, asymmetric coordinates, floor.
      {"ResizeNearest2x", "Resize", {1, 2, 3, 4}, {1, 2, 6, 8},
       {{"mode", std::string("nearest")}, {"coordinate_transformation_mode", std::string("asymmetric")},
        {"nearest_mode", std::string("floor")}}, {}, {1, 1, 2, 2}, {}},
      // ONNX's defaults (half_pixel, round_prefer_floor), by sizes, 3x on one axis and 1x on another.
      {"ResizeNearestSizes3x", "Resize", {2, 3, 4}, {2, 9, 4}, {{"mode", std::string("nearest")}}, {}, {}, {2, 9, 4}},
      // Only the last axis (opset 18 axes), 2x.
      {"ResizeNearestAxes", "Resize", {2, 3, 4}, {2, 3, 8}, {{"mode", std::string("nearest")}, {"axes", Ints{-1}}},
       {}, {2.0f}, {}},
  };
}

class ShapeOpLoweringTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ShapeOpLoweringTest, CompilesAndMatchesTheKernelExactly) {
  const auto& [case_name, backend] = GetParam();
  ShapeCase c;
  for (const ShapeCase& candidate : AllCases()) {
    if (candidate.name == case_name) c = candidate;
  }
  ASSERT_FALSE(c.name.empty());
  Graph graph;
  graph.name = c.name;
  graph.inputs.push_back(ValueInfo{"x", DType::kF32, c.x, true});
  std::vector<std::string> inputs = {"x"};
  if (!c.axes_input.empty()) {
    graph.initializers["axes"] =
        Tensor::FromVector<int64_t>({static_cast<int64_t>(c.axes_input.size())}, c.axes_input);
    inputs.push_back("axes");
  }
  if (!c.scales_input.empty()) {
    graph.initializers["scales"] = Tensor::FromVector<float>({static_cast<int64_t>(c.scales_input.size())}, c.scales_input);
    inputs.insert(inputs.end(), {"", "scales"});
  }
  if (!c.sizes_input.empty()) {
    graph.initializers["sizes"] = Tensor::FromVector<int64_t>({static_cast<int64_t>(c.sizes_input.size())}, c.sizes_input);
    inputs.insert(inputs.end(), {"", "", "sizes"});
  }
  graph.nodes.push_back(MakeNode("node", c.op, inputs, {"y"}, c.attrs));
  graph.outputs.push_back(ValueInfo{"y", DType::kF32, c.y, true});
  Tensor x = RandomTensor(c.x, 9);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), -0.0f};
  for (int64_t i = 0; i < x.num_elements() && i < 4; ++i) x.data<float>()[i] = specials[i];
  std::vector<Tensor> expected, actual;
  ASSERT_NO_FATAL_FAILURE(RunKernelsAndOneCompiledCluster(graph, {{"x", x}}, backend, &expected, &actual));
  ASSERT_EQ(actual[0].dims(), c.y);
  ASSERT_EQ(expected[0].dims(), c.y);
  EXPECT_EQ(std::memcmp(actual[0].raw_data(), expected[0].raw_data(), expected[0].byte_size()), 0)
      << c.name << ": the JIT's bytes differ from the kernel's";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ShapeOpLoweringTest,
    ::testing::Combine(::testing::Values("SqueezeAxesInput", "SqueezeAxesAttr", "SqueezeAll", "UnsqueezeAxesInput",
                                         "UnsqueezeAxesAttr", "UnsqueezeScalar", "CastF32ToF32", "ResizeNearest2x",
                                         "ResizeNearestSizes3x", "ResizeNearestAxes"),
                       ::testing::Values("interpreter", "cpu")),
    [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

// ConvTranspose with kernel = stride (UNet's 2x2 stride-2 upsampling) lowers to a dot, reshapes and
// a transpose; it compiles into one cluster on both backends and matches the runtime kernel (its
// sgemm sums in another order: 1e-5). A 3x3 stride-2 ConvTranspose (overlapping windows) is refused.
TEST(ConvTransposeLoweringTest, KernelEqualToStrideCompilesAndMatchesTheKernel) {
  for (const bool bias : {true, false}) {
    for (const std::string backend : {"interpreter", "cpu"}) {
      Graph graph;
      graph.name = "conv_transpose";
      graph.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 8, 5, 6}, true});
      graph.initializers["w"] = RandomTensor({8, 4, 2, 3}, 41);
      std::vector<std::string> inputs = {"x", "w"};
      if (bias) {
        graph.initializers["b"] = RandomTensor({4}, 42);
        inputs.push_back("b");
      }
      graph.nodes.push_back(MakeNode("node", "ConvTranspose", inputs, {"y"},
                                     {{"strides", std::vector<int64_t>{2, 3}}}));
      graph.outputs.push_back(ValueInfo{"y", DType::kF32, {2, 4, 10, 18}, true});
      Tensor x = RandomTensor({2, 8, 5, 6}, 43);
      x.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
      x.data<float>()[7] = std::numeric_limits<float>::infinity();
      std::vector<Tensor> expected, actual;
      ASSERT_NO_FATAL_FAILURE(RunKernelsAndOneCompiledCluster(graph, {{"x", x}}, backend, &expected, &actual));
      ASSERT_EQ(actual[0].dims(), expected[0].dims());
      for (int64_t i = 0; i < expected[0].num_elements(); ++i) {
        const float want = expected[0].data<float>()[i], got = actual[0].data<float>()[i];
        if (std::isnan(want)) {
          ASSERT_TRUE(std::isnan(got)) << backend << " element " << i;
        } else if (std::isinf(want)) {
          ASSERT_EQ(got, want) << backend << " element " << i;
        } else {
          ASSERT_NEAR(got, want, 1e-5f * (1.0f + std::fabs(want))) << backend << " element " << i;
        }
      }
    }
  }
  Graph overlapping;
  overlapping.name = "overlapping";
  overlapping.inputs.push_back(ValueInfo{"x", DType::kF32, {1, 8, 5, 5}, true});
  overlapping.initializers["w"] = RandomTensor({8, 4, 3, 3}, 44);
  overlapping.nodes.push_back(
      MakeNode("node", "ConvTranspose", {"x", "w"}, {"y"}, {{"strides", std::vector<int64_t>{2, 2}}}));
  overlapping.outputs.push_back(ValueInfo{"y", DType::kF32, {1, 4, 11, 11}, true});
  auto session = Session::Create(overlapping, testing::JitOptionsFor("cpu"));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ((*session)->stats().num_clusters, 0);
}

// Slice with constant starts/ends/axes/steps (negative indices, clamping, steps > 1), Expand with
// a constant shape (both sides broadcasting), Tile with constant repeats and inference Dropout compile into one cluster on both backends and give the
// kernel's bytes; a negative step stays with the kernel.
TEST(DataMovementLoweringTest, ConstantOperandsCompileAndMatchTheKernelExactly) {
  using Ints = std::vector<int64_t>;
  struct Case {
    std::string op;
    Dims x;
    std::vector<Ints> operands;  // Constant s64 inputs 1, 2, ...
    Dims y;
    bool lowers = true;
  };
  const std::vector<Case> cases = {
      {"Slice", {4, 6, 5}, {{1, -4}, {100, -1}}, {3, 3, 5}},
      {"Slice", {4, 6, 5}, {{0, 1}, {5, 6}, {2, 1}, {2, 2}}, {4, 3, 3}},
      {"Slice", {4, 6, 5}, {{-100}, {2}, {-1}}, {4, 6, 2}},
      {"Slice", {4, 6, 5}, {{4}, {0}, {1}, {-2}}, {4, 3, 5}, false},
      {"Expand", {3, 1}, {{2, 1, 4}}, {2, 3, 4}},
      {"Expand", {1, 5}, {{5}}, {1, 5}},
      {"Tile", {2, 3}, {{3, 2}}, {6, 6}},
      {"Tile", {2, 1, 3}, {{1, 4, 1}}, {2, 4, 3}},
      {"Dropout", {2, 3}, {}, {2, 3}},
  };
  for (const Case& c : cases) {
    for (const std::string backend : {"interpreter", "cpu"}) {
      Graph graph;
      graph.name = c.op;
      graph.inputs.push_back(ValueInfo{"x", DType::kF32, c.x, true});
      std::vector<std::string> inputs = {"x"};
      for (size_t i = 0; i < c.operands.size(); ++i) {
        const std::string name = kiln::StrCat("c", i);
        graph.initializers[name] = Tensor::FromVector<int64_t>({static_cast<int64_t>(c.operands[i].size())}, c.operands[i]);
        inputs.push_back(name);
      }
      graph.nodes.push_back(MakeNode("node", c.op, inputs, {"y"}));
      graph.outputs.push_back(ValueInfo{"y", DType::kF32, c.y, true});
      if (!c.lowers) {
        auto session = Session::Create(graph, testing::JitOptionsFor(backend));
        ASSERT_TRUE(session.ok()) << session.status();
        EXPECT_EQ((*session)->stats().num_clusters, 0) << c.op << " " << DimsToString(c.y);
        continue;
      }
      Tensor x = RandomTensor(c.x, 12);
      x.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
      x.data<float>()[1] = -0.0f;
      std::vector<Tensor> expected, actual;
      ASSERT_NO_FATAL_FAILURE(RunKernelsAndOneCompiledCluster(graph, {{"x", x}}, backend, &expected, &actual));
      ASSERT_EQ(actual[0].dims(), c.y);
      ASSERT_EQ(expected[0].dims(), c.y);
      EXPECT_EQ(std::memcmp(actual[0].raw_data(), expected[0].raw_data(), expected[0].byte_size()), 0)
          << c.op << " " << DimsToString(c.y) << " on " << backend;
    }
  }
}

// The reductions with constant axes (opset 18 inputs), with and without keepdims: one cluster on both
// backends, the kernel's values within float rounding of a different summation order, NaN where the
// kernel has NaN.
TEST(ReduceLoweringTest, ConstantAxesCompileAndMatchTheKernel) {
  for (const std::string op : {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1",
                               "ReduceL2"}) {
    for (const int64_t keepdims : {0, 1}) {
      for (const std::string backend : {"interpreter", "cpu"}) {
        Graph graph;
        graph.name = op;
        graph.inputs.push_back(ValueInfo{"x", DType::kF32, {3, 4, 5}, true});
        graph.initializers["axes"] = Tensor::FromVector<int64_t>({2}, {-1, 0});
        graph.nodes.push_back(MakeNode("node", op, {"x", "axes"}, {"y"}, {{"keepdims", keepdims}}));
        const Dims out = keepdims ? Dims{1, 4, 1} : Dims{4};
        graph.outputs.push_back(ValueInfo{"y", DType::kF32, out, true});
        Tensor x = RandomTensor({3, 4, 5}, 21);
        x.data<float>()[6] = std::numeric_limits<float>::quiet_NaN();  // Row 1 of the kept axis.
        std::vector<Tensor> expected, actual;
        ASSERT_NO_FATAL_FAILURE(RunKernelsAndOneCompiledCluster(graph, {{"x", x}}, backend, &expected, &actual));
        ASSERT_EQ(actual[0].dims(), out);
        for (int64_t i = 0; i < 4; ++i) {
          const float want = expected[0].data<float>()[i], got = actual[0].data<float>()[i];
          if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(got)) << op << " on " << backend << ", element " << i;
          } else {
            EXPECT_NEAR(got, want, 1e-5f * (1.0f + std::fabs(want))) << op << " on " << backend << ", element " << i;
          }
        }
        EXPECT_TRUE(std::isnan(expected[0].data<float>()[1])) << op;
      }
    }
  }
}

// Resizes whose outputs do not each repeat inputs equally stay with the kernel: linear
// interpolation, nearest downsampling, and nearest 1.5x (uneven repeats).
TEST(ResizeLoweringTest, InterpolationAndUnevenPicksAreNotClustered) {
  const std::vector<std::pair<std::map<std::string, AttrValue>, std::vector<float>>> refused = {
      {{{"mode", std::string("linear")}}, {1, 1, 2, 2}},
      {{{"mode", std::string("nearest")}}, {1, 1, 0.5f, 0.5f}},
      {{{"mode", std::string("nearest")}}, {1, 1, 1.5f, 1.5f}},
  };
  for (const auto& [attrs, scales] : refused) {
    Graph graph;
    graph.name = "refused";
    graph.inputs.push_back(ValueInfo{"x", DType::kF32, {1, 2, 4, 4}, true});
    graph.initializers["scales"] = Tensor::FromVector<float>({4}, scales);
    graph.nodes.push_back(MakeNode("node", "Resize", {"x", "", "scales"}, {"y"}, attrs));
    const int64_t out = static_cast<int64_t>(4 * scales[2]);
    graph.outputs.push_back(ValueInfo{"y", DType::kF32, {1, 2, out, out}, true});
    auto session = Session::Create(graph, testing::JitOptionsFor("cpu"));
    ASSERT_TRUE(session.ok()) << session.status();
    EXPECT_EQ((*session)->stats().num_clusters, 0) << "scale " << scales[2];
  }
}

}  // namespace
}  // namespace kiln::jit
