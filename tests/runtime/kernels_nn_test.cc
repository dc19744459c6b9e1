// Conv, pooling, Gemm, MatMul, Softmax and BatchNormalization against values derived by hand from
// the ONNX operator definitions, and the oneDNN convolution against the reference loops.
#include <cmath>
#include <random>
#include <thread>

#include "runtime/kernels/conv.h"
#include "tests/runtime/kernels_test_util.h"

namespace kiln {
namespace {

using testing::Absent;
using testing::Const;
using testing::ExpectInvalid;
using testing::ExpectValues;
using testing::F32;
using testing::In;
using testing::Iota;
using testing::RunOne;
using testing::RunOp;
using testing::S32;
using Attrs = std::map<std::string, AttrValue>;
using Ints = std::vector<int64_t>;

// ---------------------------------------------------------------------------------------------
// Conv.

TEST(ConvTest, Basic2DWithAndWithoutBias) {
  // X = 0..8 as 3x3; W = [[1,0],[0,1]]: y[i][j] = x[i][j] + x[i+1][j+1].
  Tensor x = F32({1, 1, 3, 3}, Iota(9));
  Tensor w = F32({1, 1, 2, 2}, {1, 0, 0, 1});
  ExpectValues(RunOne("Conv", {In(x), Const(w)}), {1, 1, 2, 2}, {4, 6, 10, 12});
  ExpectValues(RunOne("Conv", {In(x), Const(w), Const(F32({1}, {1}))}), {1, 1, 2, 2}, {5, 7, 11, 13});
  // Weights fed at run time (not constant) take the same path through a per-call reorder.
  ExpectValues(RunOne("Conv", {In(x), In(w), In(F32({1}, {1}))}), {1, 1, 2, 2}, {5, 7, 11, 13});
}

TEST(ConvTest, PadsAndStrides) {
  // 3x3 ones kernel, pads 1, stride 2 over X = 0..8: each output sums the in-bounds part of its window.
  Tensor x = F32({1, 1, 3, 3}, Iota(9));
  Tensor w = F32({1, 1, 3, 3}, std::vector<float>(9, 1));
  Tensor y = RunOne("Conv", {In(x), Const(w)}, {{"pads", Ints{1, 1, 1, 1}}, {"strides", Ints{2, 2}},
                                                {"kernel_shape", Ints{3, 3}}});
  ExpectValues(y, {1, 1, 2, 2}, {0 + 1 + 3 + 4, 1 + 2 + 4 + 5, 3 + 4 + 6 + 7, 4 + 5 + 7 + 8});
  // Asymmetric pads: top 1, left 0, bottom 0, right 1 with a 2x2 ones kernel over 3x3 -> 3x3.
  Tensor w2 = F32({1, 1, 2, 2}, std::vector<float>(4, 1));
  y = RunOne("Conv", {In(x), Const(w2)}, {{"pads", Ints{1, 0, 0, 1}}});
  ExpectValues(y, {1, 1, 3, 3}, {0 + 1, 1 + 2, 2, 0 + 1 + 3 + 4, 1 + 2 + 4 + 5, 2 + 5, 3 + 4 + 6 + 7, 4 + 5 + 7 + 8, 5 + 8});
}

TEST(ConvTest, AutoPad) {
  // 5x5 input 0..24, 2x2 ones kernel, stride 1: SAME gives 5x5 with one pad row/column.
  Tensor x = F32({1, 1, 5, 5}, Iota(25));
  Tensor w = F32({1, 1, 2, 2}, std::vector<float>(4, 1));
  Tensor upper = RunOne("Conv", {In(x), Const(w)}, {{"auto_pad", std::string("SAME_UPPER")}});
  ASSERT_EQ(DimsToString(upper.dims()), "[1,1,5,5]");
  EXPECT_FLOAT_EQ(upper.data<float>()[0], 0 + 1 + 5 + 6);  // Padding after: window at (0,0) is inside.
  EXPECT_FLOAT_EQ(upper.data<float>()[24], 24);            // Bottom-right window is mostly padding.
  Tensor lower = RunOne("Conv", {In(x), Const(w)}, {{"auto_pad", std::string("SAME_LOWER")}});
  EXPECT_FLOAT_EQ(lower.data<float>()[0], 0);
  EXPECT_FLOAT_EQ(lower.data<float>()[24], 18 + 19 + 23 + 24);
  Tensor valid = RunOne("Conv", {In(x), Const(w)}, {{"auto_pad", std::string("VALID")}, {"strides", Ints{2, 2}}});
  ExpectValues(valid, {1, 1, 2, 2}, {0 + 1 + 5 + 6, 2 + 3 + 7 + 8, 10 + 11 + 15 + 16, 12 + 13 + 17 + 18});
  // SAME with stride 2 on 5: ceil(5/2) = 3 outputs.
  Tensor strided = RunOne("Conv", {In(x), Const(w)}, {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}});
  ASSERT_EQ(DimsToString(strided.dims()), "[1,1,3,3]");
}

TEST(ConvTest, DepthwiseAndGroups) {
  // Two channels, group 2, 1x1 weights [2, -1]: each channel scaled by its own weight.
  Tensor x = F32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor w = F32({2, 1, 1, 1}, {2, -1});
  ExpectValues(RunOne("Conv", {In(x), Const(w), Const(F32({2}, {0, 10}))}, {{"group", int64_t{2}}}),
               {1, 2, 2, 2}, {2, 4, 6, 8, 5, 4, 3, 2});
  // Group 2 with 2 input channels per group and 1 output each: y_g = x_{2g} + 10 x_{2g+1}.
  Tensor x4 = F32({1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor w4 = F32({2, 2, 1, 1}, {1, 10, 1, 10});
  ExpectValues(RunOne("Conv", {In(x4), Const(w4)}, {{"group", int64_t{2}}}), {1, 2, 1, 1}, {21, 43});
}

TEST(ConvTest, OneAndThreeSpatialDims) {
  // 1-D, dilation 2: y[i] = x[i] + x[i+2].
  Tensor y = RunOne("Conv", {In(F32({1, 1, 5}, {1, 2, 3, 4, 5})), Const(F32({1, 1, 2}, {1, 1}))},
                    {{"dilations", Ints{2}}});
  ExpectValues(y, {1, 1, 3}, {4, 6, 8});
  // 3-D: a 2x2x2 ones kernel sums all of a 2x2x2 input, with two output channels.
  std::vector<float> w(16, 1);
  for (int i = 8; i < 16; ++i) w[i] = -1;
  y = RunOne("Conv", {In(F32({1, 1, 2, 2, 2}, Iota(8, 1))), Const(F32({2, 1, 2, 2, 2}, w))});
  ExpectValues(y, {1, 2, 1, 1, 1}, {36, -36});
  // Batch 2 over the 2-D path: the second image is the first plus 1.
  std::vector<float> xb = Iota(9);
  for (int i = 0; i < 9; ++i) xb.push_back(i + 1);
  y = RunOne("Conv", {In(F32({2, 1, 3, 3}, xb)), Const(F32({1, 1, 2, 2}, {1, 0, 0, 1}))});
  ExpectValues(y, {2, 1, 2, 2}, {4, 6, 10, 12, 6, 8, 12, 14});
}

TEST(ConvTest, ErrorsNameNodeAndProblem) {
  Tensor x = F32({1, 3, 4, 4}, std::vector<float>(48));
  absl::Status s = RunOp("Conv", {In(x), Const(F32({2, 2, 1, 1}, std::vector<float>(4)))}).status();
  ExpectInvalid(s, {"Conv node 'n'", "input channels 3"});
  s = RunOp("Conv", {In(x), Const(F32({2, 3, 1, 1}, std::vector<float>(6)))}, {{"auto_pad", std::string("SAME")}}).status();
  ExpectInvalid(s, {"Conv node 'n'", "auto_pad 'SAME'"});
  s = RunOp("Conv", {In(x), Const(F32({2, 3, 5, 5}, std::vector<float>(150)))}).status();
  ExpectInvalid(s, {"Conv node 'n'", "larger than the padded input"});
  s = RunOp("Conv", {In(x), Const(F32({2, 3, 1, 1}, std::vector<float>(6))), Const(F32({3}, {1, 2, 3}))}).status();
  ExpectInvalid(s, {"Conv node 'n'", "bias"});
  s = RunOp("Conv", {In(x), Const(F32({2, 3, 1, 1}, std::vector<float>(6)))}, {{"strides", Ints{1}}}).status();
  ExpectInvalid(s, {"Conv node 'n'", "strides"});
}

struct ConvCase {
  Dims x, w;
  int64_t group;
  Ints strides, pads, dilations;
  bool bias;
};

// Runs the Conv kernel directly, with oneDNN or with the reference loops.
Tensor RunConvKernel(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b, bool onednn,
                     bool const_weights) {
  Node node;
  node.name = "conv";
  node.op = "Conv";
  node.inputs = {"x", "w"};
  if (c.bias) node.inputs.push_back("b");
  node.outputs = {"y"};
  node.attrs = {{"group", c.group}, {"strides", c.strides}, {"pads", c.pads}, {"dilations", c.dilations}};
  TensorType xt{DType::kF32, x.dims()}, wt{DType::kF32, w.dims()}, bt{DType::kF32, b.dims()};
  if (const_weights) {
    wt.value = w;
    bt.value = b;
  }
  KernelConstruction kc{node, {&xt, &wt}, nullptr};
  if (c.bias) kc.input_types.push_back(&bt);
  kernels::ConvKernelOptions options;
  options.use_onednn = onednn;
  absl::StatusOr<std::unique_ptr<OpKernel>> kernel = kernels::MakeConvKernel(kc, options);
  EXPECT_TRUE(kernel.ok()) << kernel.status();
  if (!kernel.ok()) return Tensor();
  std::vector<const Tensor*> inputs = {&x, &w};
  if (c.bias) inputs.push_back(&b);
  std::vector<Tensor> outputs(1);
  KernelContext ctx(node, inputs, &outputs);
  absl::Status s = (*kernel)->Compute(ctx);
  EXPECT_TRUE(s.ok()) << s;
  return outputs[0];
}

TEST(ConvTest, OneDnnMatchesReferenceLoops) {
  const ConvCase cases[] = {
      {{1, 3, 9, 9}, {8, 3, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, true},
      {{2, 8, 10, 7}, {8, 1, 3, 3}, 8, {2, 2}, {1, 1, 1, 1}, {1, 1}, true},  // Depthwise, strided.
      {{1, 6, 11, 11}, {4, 3, 3, 2}, 2, {2, 1}, {0, 1, 2, 0}, {2, 3}, false},  // Groups, dilations.
      {{1, 16, 7, 7}, {24, 16, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, true},  // Pointwise.
      {{1, 4, 13}, {6, 2, 5}, 2, {3}, {2, 1}, {2}, true},                      // 1-D.
      {{1, 2, 5, 6, 4}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 0, 1, 1, 1, 0}, {1, 1, 2}, true},  // 3-D.
  };
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto random = [&](Dims d) {
    std::vector<float> v(NumElements(d));
    for (float& f : v) f = dist(rng);
    return F32(d, v);
  };
  for (const ConvCase& c : cases) {
    Tensor x = random(c.x), w = random(c.w), b = random({c.w[0]});
    Tensor ref = RunConvKernel(c, x, w, b, /*onednn=*/false, /*const_weights=*/true);
    for (bool const_weights : {true, false}) {
      Tensor got = RunConvKernel(c, x, w, b, /*onednn=*/true, const_weights);
      ASSERT_TRUE(got.valid() && ref.valid());
      ASSERT_EQ(got.dims(), ref.dims()) << DimsToString(c.x);
      double max_diff = 0;
      for (int64_t i = 0; i < ref.num_elements(); ++i) {
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(got.data<float>()[i] - ref.data<float>()[i])));
      }
      EXPECT_LT(max_diff, 1e-4) << "X " << DimsToString(c.x) << " W " << DimsToString(c.w);
    }
  }
}

TEST(ConvTest, ConcurrentComputeAgrees) {
  RegisterStandardOps();
  std::vector<float> wv(16 * 8 * 9);
  for (size_t i = 0; i < wv.size(); ++i) wv[i] = static_cast<float>((i * 7) % 13) / 13.0f - 0.5f;
  auto g = testing::SingleNodeGraph("Conv", {In(F32({1, 8, 12, 12}, std::vector<float>(1152))), Const(F32({16, 8, 3, 3}, wv))},
                                    {{"pads", Ints{1, 1, 1, 1}}}, 1);
  auto ex = Executor::Create(g);
  ASSERT_TRUE(ex.ok()) << ex.status();
  std::vector<float> xv(1152);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i % 17) / 17.0f;
  Tensor x = F32({1, 8, 12, 12}, xv);
  auto first = (*ex)->Run({{"in0", x}}, {"out0"});
  ASSERT_TRUE(first.ok()) << first.status();
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto out = (*ex)->Run({{"in0", x}}, {"out0"});
        if (!out.ok() || !(*out)[0].BitEqual((*first)[0])) ++mismatches;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// Pooling.

TEST(PoolTest, MaxPool) {
  Tensor x = F32({1, 1, 4, 4}, Iota(16));
  ExpectValues(RunOne("MaxPool", {In(x)}, {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}}), {1, 1, 2, 2},
               {5, 7, 13, 15});
  // With the Indices output: flat indices into X, equal to the values here.
  auto out = RunOp("MaxPool", {In(x)}, {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}}, 2);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)[1].dtype(), DType::kS64);
  ExpectValues((*out)[1], {1, 1, 2, 2}, {5, 7, 13, 15});
  // Padding never wins, even against negative values.
  Tensor neg = F32({1, 1, 2, 2}, {-4, -3, -2, -1});
  ExpectValues(RunOne("MaxPool", {In(neg)}, {{"kernel_shape", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}), {1, 1, 3, 3},
               {-4, -3, -3, -2, -1, -1, -2, -1, -1});
}

TEST(PoolTest, MaxPoolCeilMode) {
  Tensor x = F32({1, 1, 5, 5}, Iota(25));
  Attrs attrs = {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}};
  ExpectValues(RunOne("MaxPool", {In(x)}, attrs), {1, 1, 2, 2}, {6, 8, 16, 18});
  attrs["ceil_mode"] = int64_t{1};
  ExpectValues(RunOne("MaxPool", {In(x)}, attrs), {1, 1, 3, 3}, {6, 8, 9, 16, 18, 19, 21, 23, 24});
  // 1-D, extent 3, kernel 2, stride 2, pads 1: a third window would start in the end padding and
  // is dropped: windows [-1,0] and [1,2].
  Tensor y = RunOne("MaxPool", {In(F32({1, 1, 3}, {1, 2, 3}))},
                    {{"kernel_shape", Ints{2}}, {"strides", Ints{2}}, {"pads", Ints{1, 1}}, {"ceil_mode", int64_t{1}}});
  ExpectValues(y, {1, 1, 2}, {1, 3});
}

TEST(PoolTest, AveragePoolCountIncludePad) {
  // 3x3 input 0..8, kernel 2, pads 1 -> 4x4.
  Tensor x = F32({1, 1, 3, 3}, Iota(9));
  Attrs attrs = {{"kernel_shape", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}};
  Tensor excl = RunOne("AveragePool", {In(x)}, attrs);
  ASSERT_EQ(DimsToString(excl.dims()), "[1,1,4,4]");
  EXPECT_FLOAT_EQ(excl.data<float>()[0], 0);                  // Only x00.
  EXPECT_FLOAT_EQ(excl.data<float>()[1], (0 + 1) / 2.0f);     // x00, x01.
  EXPECT_FLOAT_EQ(excl.data<float>()[5], (0 + 1 + 3 + 4) / 4.0f);
  EXPECT_FLOAT_EQ(excl.data<float>()[15], 8);
  attrs["count_include_pad"] = int64_t{1};
  Tensor incl = RunOne("AveragePool", {In(x)}, attrs);
  EXPECT_FLOAT_EQ(incl.data<float>()[0], 0);
  EXPECT_FLOAT_EQ(incl.data<float>()[1], 1 / 4.0f);
  EXPECT_FLOAT_EQ(incl.data<float>()[5], 2);
  EXPECT_FLOAT_EQ(incl.data<float>()[15], 8 / 4.0f);
  // Strided without padding.
  ExpectValues(RunOne("AveragePool", {In(F32({1, 1, 4, 4}, Iota(16)))}, {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}}),
               {1, 1, 2, 2}, {2.5, 4.5, 10.5, 12.5});
  // ceil_mode: 1-D extent 5, kernel 2, stride 2 -> windows [0,1], [2,3], [4] (partial, averaged over 1).
  ExpectValues(RunOne("AveragePool", {In(F32({1, 1, 5}, {1, 2, 3, 4, 5}))},
                      {{"kernel_shape", Ints{2}}, {"strides", Ints{2}}, {"ceil_mode", int64_t{1}}}),
               {1, 1, 3}, {1.5, 3.5, 5});
}

TEST(PoolTest, GlobalPools) {
  Tensor x = F32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  ExpectValues(RunOne("GlobalAveragePool", {In(x)}), {1, 2, 1, 1}, {2.5, 6.5});
  ExpectValues(RunOne("GlobalMaxPool", {In(x)}), {1, 2, 1, 1}, {4, 8});
  absl::Status s = RunOp("MaxPool", {In(x)}).status();
  ExpectInvalid(s, {"MaxPool node 'n'", "kernel_shape"});
}

// ---------------------------------------------------------------------------------------------
// Gemm and MatMul.

TEST(GemmTest, AlphaBetaTransposesAndBroadcastC) {
  // A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]] -> AB = [[4,5],[10,11]].
  Tensor a = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = F32({3, 2}, {1, 0, 0, 1, 1, 1});
  ExpectValues(RunOne("Gemm", {In(a), Const(b)}), {2, 2}, {4, 5, 10, 11});
  Attrs attrs = {{"alpha", 2.0f}, {"beta", 0.5f}};
  ExpectValues(RunOne("Gemm", {In(a), Const(b), Const(F32({2}, {1, 2}))}, attrs), {2, 2}, {8.5, 11, 20.5, 23});
  ExpectValues(RunOne("Gemm", {In(a), Const(b), Const(F32({2, 1}, {2, 4}))}, attrs), {2, 2}, {9, 11, 22, 24});
  ExpectValues(RunOne("Gemm", {In(a), Const(b), Const(F32({}, {2}))}, attrs), {2, 2}, {9, 11, 21, 23});
  Tensor at = F32({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor bt = F32({2, 3}, {1, 0, 1, 0, 1, 1});
  ExpectValues(RunOne("Gemm", {In(at), Const(bt)}, {{"transA", int64_t{1}}, {"transB", int64_t{1}}}), {2, 2},
               {4, 5, 10, 11});
  ExpectValues(RunOne("Gemm", {In(S32({2, 3}, {1, 2, 3, 4, 5, 6})), In(S32({3, 2}, {1, 0, 0, 1, 1, 1})),
                               In(S32({2}, {1, 1}))}),
               {2, 2}, {5, 6, 11, 12});
  absl::Status s = RunOp("Gemm", {In(a), Const(F32({2, 2}, {1, 2, 3, 4}))}).status();
  ExpectInvalid(s, {"Gemm node 'n'", "inner dimensions"});
  s = RunOp("Gemm", {In(a), Const(b), Const(F32({3}, {1, 2, 3}))}).status();
  ExpectInvalid(s, {"Gemm node 'n'", "C"});
}

TEST(MatMulTest, BatchedBroadcastingAndVectors) {
  // A[0] = I, A[1] = 2I; B shared.
  Tensor a = F32({2, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2});
  Tensor b = F32({2, 2}, {1, 2, 3, 4});
  ExpectValues(RunOne("MatMul", {In(a), Const(b)}), {2, 2, 2}, {1, 2, 3, 4, 2, 4, 6, 8});
  // Vector on the left and on the right.
  ExpectValues(RunOne("MatMul", {In(F32({3}, {1, 2, 3})), In(F32({3, 2}, {1, 0, 0, 1, 1, 1}))}), {2}, {4, 5});
  ExpectValues(RunOne("MatMul", {In(F32({2, 3}, {1, 2, 3, 4, 5, 6})), In(F32({3}, {1, 1, 1}))}), {2}, {6, 15});
  ExpectValues(RunOne("MatMul", {In(F32({3}, {1, 2, 3})), In(F32({3}, {4, 5, 6}))}), {}, {32});
  // [2,1,1,2] x [3,2,1] -> [2,3,1,1]: A_i = [a, b], B_j = [j, 1]^T -> a*j + b.
  Tensor a4 = F32({2, 1, 1, 2}, {1, 2, 3, 4});
  Tensor b3 = F32({3, 2, 1}, {0, 1, 1, 1, 2, 1});
  ExpectValues(RunOne("MatMul", {In(a4), In(b3)}), {2, 3, 1, 1}, {2, 3, 4, 4, 7, 10});
  ExpectValues(RunOne("MatMul", {In(S32({2, 2}, {1, 2, 3, 4})), In(S32({2, 2}, {1, 0, 0, -1}))}), {2, 2},
               {1, -2, 3, -4});
  absl::Status s = RunOp("MatMul", {In(F32({2, 3}, std::vector<float>(6))), In(F32({2, 3}, std::vector<float>(6)))}).status();
  ExpectInvalid(s, {"MatMul node 'n'", "inner dimensions"});
}

// ---------------------------------------------------------------------------------------------
// Softmax and BatchNormalization.

TEST(SoftmaxTest, AxisAndCoerce2D) {
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), e4 = std::exp(4.0);
  // Default axis -1 over [2,2].
  Tensor x = F32({2, 2}, {1, 2, 3, 4});
  ExpectValues(RunOne("Softmax", {In(x)}), {2, 2}, {e1 / (e1 + e2), e2 / (e1 + e2), e3 / (e3 + e4), e4 / (e3 + e4)});
  // axis 0: columns.
  ExpectValues(RunOne("Softmax", {In(x)}, {{"axis", int64_t{0}}}), {2, 2},
               {e1 / (e1 + e3), e2 / (e2 + e4), e3 / (e1 + e3), e4 / (e2 + e4)});
  // [1,2,2], axis 1: opset-13 semantics normalise along dimension 1 only...
  Tensor x3 = F32({1, 2, 2}, {1, 2, 3, 4});
  ExpectValues(RunOne("Softmax", {In(x3)}, {{"axis", int64_t{1}}}), {1, 2, 2},
               {e1 / (e1 + e3), e2 / (e2 + e4), e3 / (e1 + e3), e4 / (e2 + e4)});
  // ...while the legacy form flattens to [1, 4] and normalises over all four.
  const double s = e1 + e2 + e3 + e4;
  ExpectValues(RunOne("Softmax", {In(x3)}, {{"axis", int64_t{1}}, {"coerce_2d", int64_t{1}}}), {1, 2, 2},
               {e1 / s, e2 / s, e3 / s, e4 / s});
  // Large values do not overflow.
  ExpectValues(RunOne("Softmax", {In(F32({2}, {1000, 1000}))}), {2}, {0.5, 0.5});
  ExpectValues(RunOne("LogSoftmax", {In(F32({2}, {0, 0}))}), {2}, {std::log(0.5), std::log(0.5)});
  absl::Status st = RunOp("Softmax", {In(x)}, {{"axis", int64_t{2}}}).status();
  ExpectInvalid(st, {"Softmax node 'n'", "axis 2"});
}

TEST(BatchNormTest, Inference) {
  // ch0: (x - 1) / 2; ch1: 2 (x - 2) / 0.5 + 1.
  Tensor y = RunOne("BatchNormalization",
                    {In(F32({1, 2, 1, 2}, {1, 2, 3, 4})), Const(F32({2}, {1, 2})), Const(F32({2}, {0, 1})),
                     Const(F32({2}, {1, 2})), Const(F32({2}, {4, 0.25f}))},
                    {{"epsilon", 0.0f}});
  ExpectValues(y, {1, 2, 1, 2}, {0, 0.5, 5, 9});
}

// ConvTranspose with a kernel equal to its stride (UNet's upsampling) runs as one sgemm and a
// scatter; the same model in f64 runs the reference loops, which these values must match. With and
// without bias, one and two images, a 2x2 and a 3x2 kernel.
TEST(ConvTransposeTest, KernelEqualToStrideMatchesTheReference) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  struct Case {
    int64_t batch, c, m, h, w, kh, kw;
    bool bias;
  };
  for (const Case& k : {Case{1, 5, 3, 4, 6, 2, 2, true}, Case{2, 4, 7, 3, 5, 3, 2, false}}) {
    std::vector<float> xv(k.batch * k.c * k.h * k.w), wv(k.c * k.m * k.kh * k.kw), bv(k.m);
    for (float& v : xv) v = u(rng);
    for (float& v : wv) v = u(rng);
    for (float& v : bv) v = u(rng);
    auto f64 = [](const Dims& d, const std::vector<float>& v) {
      return Tensor::FromVector<double>(d, std::vector<double>(v.begin(), v.end()));
    };
    const Dims xd{k.batch, k.c, k.h, k.w}, wd{k.c, k.m, k.kh, k.kw};
    const Attrs attrs = {{"strides", Ints{k.kh, k.kw}}};
    std::vector<testing::OpInput> in32 = {In(F32(xd, xv)), Const(F32(wd, wv))};
    std::vector<testing::OpInput> in64 = {In(f64(xd, xv)), Const(f64(wd, wv))};
    if (k.bias) {
      in32.push_back(Const(F32({k.m}, bv)));
      in64.push_back(Const(f64({k.m}, bv)));
    }
    const Tensor fast = RunOne("ConvTranspose", in32, attrs);
    const Tensor ref = RunOne("ConvTranspose", in64, attrs);
    ASSERT_EQ(DimsToString(fast.dims()), DimsToString(Dims{k.batch, k.m, k.h * k.kh, k.w * k.kw}));
    std::vector<double> want(ref.num_elements());
    for (int64_t i = 0; i < ref.num_elements(); ++i) want[i] = ref.data<double>()[i];
    ExpectValues(fast, ref.dims(), want, 1e-5);
  }
}

}  // namespace
}  // namespace kiln
