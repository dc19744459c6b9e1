// Elementwise kernels against values derived by hand from the ONNX operator definitions.
#include <cmath>
#include <cstring>

#include "tests/runtime/kernels_test_util.h"

namespace kiln {
namespace {

using testing::Const;
using testing::ExpectInvalid;
using testing::ExpectValues;
using testing::F32;
using testing::In;
using testing::RunOne;
using testing::RunOp;
using testing::S32;
using testing::S64;

TEST(ElementwiseTest, AddBroadcastsMultidirectionally) {
  // [2,1] + [1,3] -> [2,3]: row value plus column value.
  Tensor y = RunOne("Add", {In(F32({2, 1}, {10, 20})), In(F32({1, 3}, {1, 2, 3}))});
  ExpectValues(y, {2, 3}, {11, 12, 13, 21, 22, 23});
  // [2,3] + [3] (trailing alignment).
  y = RunOne("Add", {In(F32({2, 3}, {0, 1, 2, 3, 4, 5})), Const(F32({3}, {100, 200, 300}))});
  ExpectValues(y, {2, 3}, {100, 201, 302, 103, 204, 305});
  // Scalar on either side.
  y = RunOne("Sub", {In(F32({}, {1})), In(F32({3}, {1, 2, 3}))});
  ExpectValues(y, {3}, {0, -1, -2});
  y = RunOne("Mul", {In(F32({2, 2}, {1, 2, 3, 4})), In(F32({}, {-2}))});
  ExpectValues(y, {2, 2}, {-2, -4, -6, -8});
  // Rank 3 with a middle broadcast: [2,1,2] * [3,1] -> [2,3,2].
  y = RunOne("Mul", {In(F32({2, 1, 2}, {1, 2, 3, 4})), In(F32({3, 1}, {1, 10, 100}))});
  ExpectValues(y, {2, 3, 2}, {1, 2, 10, 20, 100, 200, 3, 4, 30, 40, 300, 400});
}

TEST(ElementwiseTest, IntegerArithmetic) {
  Tensor y = RunOne("Div", {In(S32({4}, {7, -7, 7, -7})), In(S32({4}, {2, 2, -2, -2}))});
  ASSERT_EQ(y.dtype(), DType::kS32);
  ExpectValues(y, {4}, {3, -3, -3, 3});  // Truncation toward zero.
  y = RunOne("Add", {In(S64({2}, {1, 2})), In(S64({1}, {1000000000000}))});
  ASSERT_EQ(y.dtype(), DType::kS64);
  EXPECT_EQ(y.data<int64_t>()[1], 1000000000002);
  y = RunOne("Mul", {In(Tensor::FromVector<uint8_t>({2}, {3, 4})), In(Tensor::FromVector<uint8_t>({2}, {5, 6}))});
  ExpectValues(y, {2}, {15, 24});
  absl::Status s = RunOp("Div", {In(S32({2}, {1, 2})), In(S32({2}, {1, 0}))}).status();
  ExpectInvalid(s, {"Div node 'n'", "division by zero"});
}

TEST(ElementwiseTest, FloatDivision) {
  Tensor y = RunOne("Div", {In(F32({3}, {1, -3, 1})), In(F32({3}, {4, 2, 0}))});
  EXPECT_FLOAT_EQ(y.data<float>()[0], 0.25f);
  EXPECT_FLOAT_EQ(y.data<float>()[1], -1.5f);
  EXPECT_TRUE(std::isinf(y.data<float>()[2]));
}

TEST(ElementwiseTest, BroadcastAndTypeErrorsNameTheNode) {
  absl::Status s = RunOp("Add", {In(F32({2, 3}, std::vector<float>(6))), In(F32({2}, {1, 2}))}).status();
  ExpectInvalid(s, {"Add node 'n'", "[2,3]", "[2]", "broadcast"});
  s = RunOp("Mul", {In(F32({2}, {1, 2})), In(S32({2}, {1, 2}))}).status();
  ExpectInvalid(s, {"Mul node 'n'", "element type"});
  s = RunOp("Relu", {In(Tensor::FromVector<bool>({1}, {true}))}).status();
  ExpectInvalid(s, {"Relu node 'n'", "bool"});
}

TEST(ElementwiseTest, ReluAndActivations) {
  ExpectValues(RunOne("Relu", {In(F32({4}, {-1, 0, 2, -0.5f}))}), {4}, {0, 0, 2, 0});
  ExpectValues(RunOne("Relu", {In(S32({3}, {-5, 0, 5}))}), {3}, {0, 0, 5});
  ExpectValues(RunOne("LeakyRelu", {In(F32({2}, {-2, 3}))}, {{"alpha", 0.1f}}), {2}, {-0.2, 3});
  ExpectValues(RunOne("LeakyRelu", {In(F32({1}, {-1}))}), {1}, {-0.01});  // Default alpha.
  ExpectValues(RunOne("Sigmoid", {In(F32({3}, {0, 100, -100}))}), {3}, {0.5, 1, 0});
  ExpectValues(RunOne("Tanh", {In(F32({2}, {0, 1}))}), {2}, {0, std::tanh(1.0)});
  ExpectValues(RunOne("Exp", {In(F32({2}, {0, 1}))}), {2}, {1, std::exp(1.0)});
  ExpectValues(RunOne("Log", {In(F32({2}, {1, std::exp(2.0f)}))}), {2}, {0, 2});
  ExpectValues(RunOne("Sqrt", {In(F32({2}, {4, 2.25f}))}), {2}, {2, 1.5});
  ExpectValues(RunOne("Neg", {In(S64({2}, {3, -4}))}), {2}, {-3, 4});
  ExpectValues(RunOne("Abs", {In(F32({2}, {-3, 4}))}), {2}, {3, 4});
  ExpectValues(RunOne("HardSigmoid", {In(F32({3}, {-10, 0, 1}))}), {3}, {0, 0.5, 0.7});
}

// Kiln's maximum/minimum are IEEE 754-2019's (docs/operation_semantics.md, "Special values"): NaN
// propagates through Relu, Clip, Max, Min, HardSigmoid and the max reductions and pools, and +0 is
// larger than -0, as in the JIT's HLO (maximum/minimum/clamp).
TEST(ElementwiseTest, SpecialValuesFollowIeeeMaximumAndMinimum) {
  const float nan = std::nanf(""), inf = INFINITY;
  auto bits = [](const Tensor& t, int64_t i) {
    uint32_t b;
    std::memcpy(&b, t.data<float>() + i, 4);
    return b;
  };
  Tensor relu = RunOne("Relu", {In(F32({4}, {nan, -0.0f, -inf, inf}))});
  EXPECT_TRUE(std::isnan(relu.data<float>()[0]));
  EXPECT_EQ(bits(relu, 1), 0u);  // Relu(-0) = +0.
  EXPECT_EQ(relu.data<float>()[2], 0.0f);
  EXPECT_EQ(relu.data<float>()[3], inf);
  Tensor clip = RunOne("Clip", {In(F32({3}, {nan, -0.0f, inf})), Const(F32({}, {0})), Const(F32({}, {6}))});
  EXPECT_TRUE(std::isnan(clip.data<float>()[0]));
  EXPECT_EQ(bits(clip, 1), 0u);
  EXPECT_EQ(clip.data<float>()[2], 6.0f);
  Tensor max = RunOne("Max", {In(F32({3}, {1, nan, -0.0f})), In(F32({3}, {nan, 1, 0.0f}))});
  EXPECT_TRUE(std::isnan(max.data<float>()[0]));
  EXPECT_TRUE(std::isnan(max.data<float>()[1]));
  EXPECT_EQ(bits(max, 2), 0u);
  Tensor min = RunOne("Min", {In(F32({2}, {nan, 0.0f})), In(F32({2}, {1, -0.0f}))});
  EXPECT_TRUE(std::isnan(min.data<float>()[0]));
  EXPECT_EQ(bits(min, 1), 0x80000000u);
  EXPECT_TRUE(std::isnan(RunOne("HardSigmoid", {In(F32({1}, {nan}))}).data<float>()[0]));
  Tensor neg = RunOne("Neg", {In(F32({2}, {0.0f, -0.0f}))});  // Negation flips the sign bit of zeros too.
  EXPECT_EQ(bits(neg, 0), 0x80000000u);
  EXPECT_EQ(bits(neg, 1), 0u);
  Tensor abs = RunOne("Abs", {In(F32({1}, {-0.0f}))});
  EXPECT_EQ(bits(abs, 0), 0u);
  Tensor reduce = RunOne("ReduceMax", {In(F32({2, 3}, {1, nan, 2, 3, 4, 5}))}, {{"axes", std::vector<int64_t>{1}}});
  EXPECT_TRUE(std::isnan(reduce.data<float>()[0]));
  EXPECT_EQ(reduce.data<float>()[1], 5.0f);
  // The NaN after the first tap of the window wins too (the pool used to keep the first value).
  Tensor pool = RunOne("MaxPool", {In(F32({1, 1, 1, 4}, {1, nan, 3, -0.0f}))},
                       {{"kernel_shape", std::vector<int64_t>{1, 2}}, {"strides", std::vector<int64_t>{1, 2}}});
  EXPECT_TRUE(std::isnan(pool.data<float>()[0]));
  EXPECT_EQ(pool.data<float>()[1], 3.0f);
}

TEST(ElementwiseTest, ClipWithOptionalBounds) {
  Tensor x = F32({5}, {-2, -1, 0, 3, 7});
  ExpectValues(RunOne("Clip", {In(x), Const(F32({}, {0})), Const(F32({}, {6}))}), {5}, {0, 0, 0, 3, 6});
  ExpectValues(RunOne("Clip", {In(x), testing::Absent(), Const(F32({}, {1}))}), {5}, {-2, -1, 0, 1, 1});
  ExpectValues(RunOne("Clip", {In(x), Const(F32({}, {-1}))}), {5}, {-1, -1, 0, 3, 7});
  ExpectValues(RunOne("Clip", {In(x)}), {5}, {-2, -1, 0, 3, 7});
  ExpectValues(RunOne("Clip", {In(S32({3}, {-9, 5, 9})), Const(S32({}, {-3})), Const(S32({}, {3}))}), {3},
               {-3, 3, 3});
  absl::Status s = RunOp("Clip", {In(x), Const(F32({2}, {0, 1}))}).status();
  ExpectInvalid(s, {"Clip node 'n'", "min must be a scalar"});
}

TEST(ElementwiseTest, PowMaxMinSumMean) {
  ExpectValues(RunOne("Pow", {In(F32({3}, {2, 3, 4})), In(F32({1}, {2}))}), {3}, {4, 9, 16});
  ExpectValues(RunOne("Pow", {In(F32({2}, {2, 9})), In(S64({2}, {3, 0}))}), {2}, {8, 1});
  ExpectValues(RunOne("Max", {In(F32({3}, {1, 5, 3})), In(F32({1}, {2})), In(F32({3}, {0, 0, 4}))}), {3}, {2, 5, 4});
  ExpectValues(RunOne("Min", {In(F32({2, 1}, {1, 5})), In(F32({2}, {2, 3}))}), {2, 2}, {1, 1, 2, 3});
  ExpectValues(RunOne("Sum", {In(F32({2}, {1, 2})), In(F32({2}, {10, 20})), In(F32({2}, {100, 200}))}), {2},
               {111, 222});
  ExpectValues(RunOne("Mean", {In(F32({2}, {1, 2})), In(F32({2}, {3, 6}))}), {2}, {2, 4});
  ExpectValues(RunOne("Sum", {In(F32({2}, {1, 2}))}), {2}, {1, 2});
}

TEST(ElementwiseTest, ComparisonsAndWhere) {
  Tensor lt = RunOne("Less", {In(F32({3}, {1, 2, 3})), In(F32({}, {2}))});
  ASSERT_EQ(lt.dtype(), DType::kBool);
  ExpectValues(lt, {3}, {1, 0, 0});
  Tensor w = RunOne("Where", {In(Tensor::FromVector<bool>({2, 1}, {true, false})), In(F32({2}, {1, 2})),
                              In(F32({}, {-1}))});
  ExpectValues(w, {2, 2}, {1, 2, -1, -1});
}

TEST(ElementwiseTest, Cast) {
  auto to = [](int64_t t) { return std::map<std::string, AttrValue>{{"to", t}}; };
  Tensor y = RunOne("Cast", {In(F32({4}, {2.7f, -2.7f, 0, 1e3f}))}, to(6));  // FLOAT -> INT32.
  ASSERT_EQ(y.dtype(), DType::kS32);
  ExpectValues(y, {4}, {2, -2, 0, 1000});
  y = RunOne("Cast", {In(S64({2}, {-3, 5}))}, to(1));
  ASSERT_EQ(y.dtype(), DType::kF32);
  ExpectValues(y, {2}, {-3, 5});
  y = RunOne("Cast", {In(F32({3}, {0, 0.5f, -2}))}, to(9));  // -> BOOL.
  ASSERT_EQ(y.dtype(), DType::kBool);
  ExpectValues(y, {3}, {0, 1, 1});
  y = RunOne("Cast", {In(F32({2}, {1.5f, -0.25f}))}, to(10));  // -> FLOAT16, exact values.
  ASSERT_EQ(y.dtype(), DType::kF16);
  ExpectValues(y, {2}, {1.5, -0.25});
  y = RunOne("Cast", {In(F32({2}, {1.5f, -0.25f}))}, to(11));  // -> DOUBLE.
  ASSERT_EQ(y.dtype(), DType::kF64);
  ExpectValues(y, {2}, {1.5, -0.25});
  y = RunOne("Cast", {In(F32({3}, {-1.0f, 70000.0f, 2.75f}))}, to(4));  // -> UINT16 saturates, truncates.
  ASSERT_EQ(y.dtype(), DType::kU16);
  ExpectValues(y, {3}, {0, 65535, 2});
  absl::Status s = RunOp("Cast", {In(F32({1}, {1}))}, to(14)).status();  // COMPLEX64.
  EXPECT_NE(s.message().find("Cast node 'n'"), std::string_view::npos) << s;
}

}  // namespace
}  // namespace kiln
