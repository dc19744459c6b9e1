// Reference interpreter tests. Every expected value is derived by hand from XLA's operation
// semantics (docs/operation_semantics.md); comments show the derivation where it is not obvious.
#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/hlo/builder.h"
#include "kiln/hlo/evaluator.h"

namespace kiln::hlo {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

Shape F32(std::vector<int64_t> dims) { return ShapeUtil::MakeShape(PrimitiveType::F32, dims); }
Shape S32(std::vector<int64_t> dims) { return ShapeUtil::MakeShape(PrimitiveType::S32, dims); }

// Builds with `root`, evaluates on `args`.
Literal Eval(Builder& b, Op root, std::vector<Literal> args) {
  absl::StatusOr<std::unique_ptr<Module>> m = b.Build(root);
  KILN_CHECK(m.ok(), std::string(m.status().message()));
  absl::StatusOr<Literal> r = hlo::Evaluate(**m, args);
  KILN_CHECK(r.ok(), std::string(r.status().message()));
  return *std::move(r);
}

template <typename T>
std::vector<T> Values(const Literal& l) {
  auto d = l.data<T>();
  return std::vector<T>(d.begin(), d.end());
}

TEST(InterpreterTest, AddWithBroadcasts) {
  Builder b("add");
  Op x = b.Parameter(0, F32({2, 3}), "x");
  Op v = b.Parameter(1, F32({3}), "v");
  Op y = b.Add(b.Add(x, v, {1}), b.ConstantR0<float>(0.5f));
  Literal r = Eval(b, y, {Literal::CreateR2<float>({{1, 2, 3}, {4, 5, 6}}),
                         Literal::CreateR1<float>({10, 20, 30})});
  EXPECT_EQ(r.ToString(), "f32[2,3] {{11.5, 22.5, 33.5}, {14.5, 25.5, 36.5}}");
}

TEST(InterpreterTest, DegenerateBroadcast) {
  Builder b("outer");
  Op x = b.Parameter(0, F32({2, 1}), "x");
  Op y = b.Parameter(1, F32({1, 3}), "y");
  Literal r = Eval(b, b.Mul(x, y), {Literal::CreateR2<float>({{1}, {2}}),
                                   Literal::CreateR2<float>({{1, 10, 100}})});
  EXPECT_THAT(Values<float>(r), ElementsAre(1, 10, 100, 2, 20, 200));
}

TEST(InterpreterTest, RankZero) {
  Builder b("scalar");
  Op x = b.Parameter(0, F32({}), "x");
  Literal r = Eval(b, b.Mul(x, b.Sqrt(x)), {Literal::CreateR0<float>(4.0f)});
  EXPECT_EQ(r.ToString(), "f32[] 8");
}

TEST(InterpreterTest, ZeroElementShapes) {
  Builder b("empty");
  Op x = b.Parameter(0, F32({0, 3}), "x");
  Op e = b.Exp(x);
  Op s = b.Reduce(e, b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32), {0});
  Op t = b.Tuple({e, s, b.ConcatInDim({x, x}, 0)});
  Literal r = Eval(b, t, {Literal(F32({0, 3}))});
  ASSERT_EQ(r.tuple_elements().size(), 3u);
  EXPECT_EQ(r.tuple_elements()[0].shape().ToString(false), "f32[0,3]");
  // Reducing zero elements gives the init value.
  EXPECT_THAT(Values<float>(r.tuple_elements()[1]), ElementsAre(0, 0, 0));
  EXPECT_EQ(r.tuple_elements()[2].element_count(), 0);
}

TEST(InterpreterTest, IntegerDivisionAndRemainderEdgeCases) {
  // XLA: x / 0 = -1, INT_MIN / -1 = INT_MIN; x % 0 = x, INT_MIN % -1 = 0; truncating division.
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  Builder b("div");
  Op x = b.Parameter(0, S32({5}), "x");
  Op y = b.Parameter(1, S32({5}), "y");
  Literal r = Eval(b, b.Tuple({b.Div(x, y), b.Rem(x, y)}),
                  {Literal::CreateR1<int32_t>({7, -7, kMin, -7, 7}),
                   Literal::CreateR1<int32_t>({0, 0, -1, 2, -2})});
  EXPECT_THAT(Values<int32_t>(r.tuple_elements()[0]), ElementsAre(-1, -1, kMin, -3, -3));
  EXPECT_THAT(Values<int32_t>(r.tuple_elements()[1]), ElementsAre(7, -7, 0, -1, 1));
}

TEST(InterpreterTest, UnsignedDivisionByZeroIsAllOnes) {
  Builder b("udiv");
  Op x = b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::U8, {2}), "x");
  Op y = b.Parameter(1, ShapeUtil::MakeShape(PrimitiveType::U8, {2}), "y");
  Literal r = Eval(b, b.Div(x, y), {Literal::CreateR1<uint8_t>({9, 200}), Literal::CreateR1<uint8_t>({0, 7})});
  EXPECT_THAT(Values<uint8_t>(r), ElementsAre(255, 28));
}

TEST(InterpreterTest, IntegerOverflowWraps) {
  Builder b("wrap");
  Op x = b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::S8, {3}), "x");
  Literal r = Eval(b, b.Tuple({b.Add(x, x), b.Neg(x), b.Abs(x)}),
                  {Literal::CreateR1<int8_t>({100, -128, 5})});
  EXPECT_THAT(Values<int8_t>(r.tuple_elements()[0]), ElementsAre(-56, 0, 10));
  EXPECT_THAT(Values<int8_t>(r.tuple_elements()[1]), ElementsAre(-100, -128, -5));
  EXPECT_THAT(Values<int8_t>(r.tuple_elements()[2]), ElementsAre(100, -128, 5));
}

TEST(InterpreterTest, Shifts) {
  // Shift amounts >= 32 give 0 (logical) or the sign (arithmetic).
  Builder b("shift");
  Op x = b.Parameter(0, S32({3}), "x");
  Op s = b.Parameter(1, S32({3}), "s");
  Literal r = Eval(b, b.Tuple({b.ShiftLeft(x, s), b.ShiftRightArithmetic(x, s), b.ShiftRightLogical(x, s)}),
                  {Literal::CreateR1<int32_t>({1, -8, -8}), Literal::CreateR1<int32_t>({32, 1, 28})});
  EXPECT_THAT(Values<int32_t>(r.tuple_elements()[0]), ElementsAre(0, -16, -2147483648));
  EXPECT_THAT(Values<int32_t>(r.tuple_elements()[1]), ElementsAre(0, -4, -1));
  EXPECT_THAT(Values<int32_t>(r.tuple_elements()[2]), ElementsAre(0, 2147483644, 15));
}

TEST(InterpreterTest, ConvertSaturatesAndMapsNanToZero) {
  Builder b("convert");
  Op x = b.Parameter(0, F32({5}), "x");
  Literal r = Eval(b, b.ConvertElementType(x, PrimitiveType::S8),
                  {Literal::CreateR1<float>({1.9f, -1.9f, 300.0f, -300.0f, std::nanf("")})});
  EXPECT_THAT(Values<int8_t>(r), ElementsAre(1, -1, 127, -128, 0));
}

TEST(InterpreterTest, NegativeAndInteriorPadding) {
  // Interior 1: [1,0,2,0,3,0,4,0,5]; low -1 drops the leading 1; high 2 appends two 9s.
  Builder b("pad");
  Op x = b.Parameter(0, F32({5}), "x");
  Literal r = Eval(b, b.Pad(x, b.ConstantR0<float>(9.0f), {{-1, 2, 1}}),
                  {Literal::CreateR1<float>({1, 2, 3, 4, 5})});
  EXPECT_THAT(Values<float>(r), ElementsAre(9, 2, 9, 3, 9, 4, 9, 5, 9, 9));
}

TEST(InterpreterTest, Pad2D) {
  Builder b("pad");
  Op x = b.Parameter(0, F32({2, 2}), "x");
  Literal r = Eval(b, b.Pad(x, b.ConstantR0<float>(0.0f), {{1, 0, 0}, {0, -1, 0}}),
                  {Literal::CreateR2<float>({{1, 2}, {3, 4}})});
  EXPECT_EQ(r.ToString(), "f32[3,1] {{0}, {1}, {3}}");
}

TEST(InterpreterTest, DataMovement) {
  Builder b("moves");
  Op x = b.Parameter(0, F32({2, 3}), "x");
  Op t = b.Tuple({b.Transpose(x, {1, 0}), b.Slice(x, {0, 0}, {2, 3}, {1, 2}), b.Reverse(x, {1}),
                  b.ConcatInDim({x, b.Slice(x, {0, 0}, {2, 1}, {1, 1})}, 1),
                  b.Reshape(x, {3, 2}), b.Broadcast(b.Slice(x, {0, 0}, {1, 2}, {1, 1}), {2}),
                  b.Iota(S32({2, 3}), 1)});
  Literal r = Eval(b, t, {Literal::CreateR2<float>({{1, 2, 3}, {4, 5, 6}})});
  const auto& e = r.tuple_elements();
  EXPECT_EQ(e[0].ToString(), "f32[3,2] {{1, 4}, {2, 5}, {3, 6}}");
  EXPECT_EQ(e[1].ToString(), "f32[2,2] {{1, 3}, {4, 6}}");
  EXPECT_EQ(e[2].ToString(), "f32[2,3] {{3, 2, 1}, {6, 5, 4}}");
  EXPECT_EQ(e[3].ToString(), "f32[2,4] {{1, 2, 3, 1}, {4, 5, 6, 4}}");
  EXPECT_EQ(e[4].ToString(), "f32[3,2] {{1, 2}, {3, 4}, {5, 6}}");
  EXPECT_EQ(e[5].ToString(), "f32[2,1,2] {{{1, 2}}, {{1, 2}}}");
  EXPECT_EQ(e[6].ToString(), "s32[2,3] {{0, 1, 2}, {0, 1, 2}}");
}

TEST(InterpreterTest, DynamicSliceClampsStartIndices) {
  Builder b("ds");
  Op x = b.Parameter(0, F32({5}), "x");
  Op i = b.Parameter(1, S32({}), "i");
  Op u = b.ConstantR1<float>(std::vector<float>{7, 8});
  Literal r = Eval(b, b.Tuple({b.DynamicSlice(x, {i}, {2}), b.DynamicUpdateSlice(x, u, {i})}),
                  {Literal::CreateR1<float>({1, 2, 3, 4, 5}), Literal::CreateR0<int32_t>(10)});
  // Start 10 is clamped to 5 - 2 = 3.
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(4, 5));
  EXPECT_THAT(Values<float>(r.tuple_elements()[1]), ElementsAre(1, 2, 3, 7, 8));
}

TEST(InterpreterTest, CompareSelectClamp) {
  Builder b("csc");
  Op x = b.Parameter(0, F32({4}), "x");
  Op zero = b.ConstantR0<float>(0.0f);
  Op relu = b.Select(b.Gt(x, b.Broadcast(zero, {4})), x, b.Broadcast(zero, {4}));
  Op clip = b.Clamp(zero, x, b.ConstantR0<float>(6.0f));
  Literal r = Eval(b, b.Tuple({relu, clip, b.Max(x, zero)}), {Literal::CreateR1<float>({-1, 2, 7, 0})});
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(0, 2, 7, 0));
  EXPECT_THAT(Values<float>(r.tuple_elements()[1]), ElementsAre(0, 2, 6, 0));
  EXPECT_THAT(Values<float>(r.tuple_elements()[2]), ElementsAre(0, 2, 7, 0));
}

TEST(InterpreterTest, MaxPropagatesNan) {
  Builder b("nan");
  Op x = b.Parameter(0, F32({2}), "x");
  Literal r = Eval(b, b.Max(x, b.ConstantR0<float>(1.0f)), {Literal::CreateR1<float>({std::nanf(""), 0})});
  EXPECT_TRUE(std::isnan(r.data<float>()[0]));
  EXPECT_EQ(r.data<float>()[1], 1.0f);
}

TEST(InterpreterTest, DotMatrixAndBatched) {
  Builder b("dot");
  Op x = b.Parameter(0, F32({2, 3}), "x");
  Op y = b.Parameter(1, F32({3, 2}), "y");
  DotDimensionNumbers d;  // x^T x: contract dimension 0 of both -> [3,3].
  d.lhs_contracting_dimensions = {0};
  d.rhs_contracting_dimensions = {0};
  Literal r = Eval(b, b.Tuple({b.Dot(x, y), b.DotGeneral(x, x, d)}),
                  {Literal::CreateR2<float>({{1, 2, 3}, {4, 5, 6}}),
                   Literal::CreateR2<float>({{1, 0}, {0, 1}, {1, 1}})});
  // [1*1+3*1, 2*1+3*1] = [4, 5]; [4+6, 5+6] = [10, 11].
  EXPECT_EQ(r.tuple_elements()[0].ToString(), "f32[2,2] {{4, 5}, {10, 11}}");
  // (x^T x)[i][j] = x[0][i] x[0][j] + x[1][i] x[1][j].
  EXPECT_EQ(r.tuple_elements()[1].ToString(),
            "f32[3,3] {{17, 22, 27}, {22, 29, 36}, {27, 36, 45}}");
}

TEST(InterpreterTest, ConvolutionValidAndPaddedStrided) {
  Builder b("conv");
  Op x = b.Parameter(0, F32({1, 1, 3, 3}), "x");
  Op w = b.Parameter(1, F32({1, 1, 2, 2}), "w");
  auto dn = ConvolutionDimensionNumbers::Nchw(2);
  Op valid = b.ConvGeneralDilated(x, w, {1, 1}, {}, {}, {}, dn);
  Op padded = b.ConvGeneralDilated(x, w, {2, 2}, {{1, 1}, {1, 1}}, {}, {}, dn);
  Literal r = Eval(b, b.Tuple({valid, padded}),
                  {Literal::CreateFromVector<float>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
                   Literal::CreateFromVector<float>({1, 1, 2, 2}, {1, 1, 1, 1})});
  // 2x2 window sums: 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9.
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(12, 16, 24, 28));
  // Windows start at (-1,-1), (-1,1), (1,-1), (1,1): 1; 2+3; 4+7; 5+6+8+9.
  EXPECT_THAT(Values<float>(r.tuple_elements()[1]), ElementsAre(1, 5, 11, 28));
}

TEST(InterpreterTest, DepthwiseAndDilatedConvolution) {
  Builder b("conv");
  Op x = b.Parameter(0, F32({1, 2, 3}), "x");
  Op w = b.Parameter(1, F32({2, 1, 2}), "w");
  auto dn = ConvolutionDimensionNumbers::Nchw(1);
  Op depthwise = b.ConvGeneralDilated(x, w, {}, {}, {}, {}, dn, /*feature_group_count=*/2);
  Op dilated = b.ConvGeneralDilated(x, w, {}, {}, {}, {2}, dn, 2);
  Op lhs_dilated = b.ConvGeneralDilated(x, w, {}, {}, {2}, {}, dn, 2);
  Literal r = Eval(b, b.Tuple({depthwise, dilated, lhs_dilated}),
                  {Literal::CreateFromVector<float>({1, 2, 3}, {1, 2, 3, 10, 20, 30}),
                   Literal::CreateFromVector<float>({2, 1, 2}, {1, 2, 3, 4})});
  // Channel 0: [1*1+2*2, 2*1+3*2] = [5, 8]; channel 1: [10*3+20*4, 20*3+30*4] = [110, 180].
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(5, 8, 110, 180));
  // Kernel taps 2 apart: [1*1+3*2] = 7; [10*3+30*4] = 150.
  EXPECT_THAT(Values<float>(r.tuple_elements()[1]), ElementsAre(7, 150));
  // Input dilated to [1,0,2,0,3]: [1, 4, 2, 6]; [30, 80, 60, 120].
  EXPECT_THAT(Values<float>(r.tuple_elements()[2]), ElementsAre(1, 4, 2, 6, 30, 80, 60, 120));
}

TEST(InterpreterTest, ReduceAndPools) {
  Builder b("pool");
  Op x = b.Parameter(0, F32({1, 1, 2, 2}), "x");
  Computation* add = b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32);
  Computation* max = b.ScalarComputation(Opcode::kMaximum, PrimitiveType::F32);
  Op sum_pool = b.ReduceWindow(x, b.ConstantR0<float>(0.0f), add, {1, 1, 2, 2}, {1, 1, 1, 1},
                               {{0, 0}, {0, 0}, {1, 1}, {1, 1}});
  Op max_pool = b.ReduceWindow(x, b.ConstantR0<float>(-INFINITY), max, {1, 1, 2, 2}, {1, 1, 2, 2}, {});
  Op row_sums = b.Reduce(x, b.ConstantR0<float>(0.0f), add, {0, 1, 3});
  Literal r = Eval(b, b.Tuple({sum_pool, max_pool, row_sums}),
                  {Literal::CreateFromVector<float>({1, 1, 2, 2}, {1, 2, 3, 4})});
  // Padded 2x2 windows over [[1,2],[3,4]] (padding is skipped).
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(1, 3, 2, 4, 10, 6, 3, 7, 4));
  EXPECT_THAT(Values<float>(r.tuple_elements()[1]), ElementsAre(4));
  EXPECT_THAT(Values<float>(r.tuple_elements()[2]), ElementsAre(3, 7));
}

TEST(InterpreterTest, ReduceWithGeneralComputation) {
  // to_apply = (a, x) -> a + 2x is not a plain binary op: the general path runs it per element.
  Builder b("reduce");
  auto sub = b.CreateSubBuilder("a_plus_2x");
  Op a = sub->Parameter(0, F32({}), "a");
  Op e = sub->Parameter(1, F32({}), "e");
  Computation* f = sub->BuildSubComputation(sub->Add(a, sub->Mul(e, sub->ConstantR0<float>(2.0f))));
  Op x = b.Parameter(0, F32({2, 2}), "x");
  Literal r = Eval(b, b.Reduce(x, b.ConstantR0<float>(1.0f), f, {1}),
                  {Literal::CreateR2<float>({{1, 2}, {3, 4}})});
  EXPECT_THAT(Values<float>(r), ElementsAre(7, 15));
}

TEST(InterpreterTest, SortWithComparatorAndTwoOperands) {
  Builder b("sort");
  auto sub = b.CreateSubBuilder("less");
  Op l = sub->Parameter(0, F32({}), "l");
  Op rr = sub->Parameter(1, F32({}), "r");
  sub->Parameter(2, S32({}), "li");
  sub->Parameter(3, S32({}), "ri");
  Computation* less = sub->BuildSubComputation(sub->Lt(l, rr));
  Op keys = b.Parameter(0, F32({4}), "k");
  Op vals = b.Iota(S32({4}), 0);
  Literal r = Eval(b, b.Sort({keys, vals}, less, 0, true), {Literal::CreateR1<float>({3, 1, 2, 1})});
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(1, 1, 2, 3));
  EXPECT_THAT(Values<int32_t>(r.tuple_elements()[1]), ElementsAre(1, 3, 2, 0));
}

TEST(InterpreterTest, WhileLoopCountsToTen) {
  Builder b("loop");
  auto cond_b = b.CreateSubBuilder("cond");
  Op c = cond_b->Parameter(0, S32({}), "i");
  Computation* cond = cond_b->BuildSubComputation(cond_b->Lt(c, cond_b->ConstantR0<int32_t>(10)));
  auto body_b = b.CreateSubBuilder("body");
  Op i = body_b->Parameter(0, S32({}), "i");
  Computation* body = body_b->BuildSubComputation(body_b->Add(i, body_b->ConstantR0<int32_t>(3)));
  Op init = b.Parameter(0, S32({}), "init");
  Literal r = Eval(b, b.While(cond, body, init), {Literal::CreateR0<int32_t>(1)});
  EXPECT_EQ(r.ToString(), "s32[] 10");
}

TEST(InterpreterTest, BatchNormInferenceAndQuantization) {
  Builder b("bn");
  Op x = b.Parameter(0, F32({1, 2}), "x");
  Op scale = b.ConstantR1<float>(std::vector<float>{2, 1});
  Op offset = b.ConstantR1<float>(std::vector<float>{1, 0});
  Op mean = b.ConstantR1<float>(std::vector<float>{1, 2});
  Op var = b.ConstantR1<float>(std::vector<float>{4, 0.25f});
  // (3-1)/sqrt(4)*2+1 = 3; (3-2)/sqrt(0.25)*1+0 = 2 (epsilon 0).
  Op bn = b.BatchNormInference(x, scale, offset, mean, var, 0.0f, 1);
  QuantizationParams q;
  q.scales = {0.5};
  q.zero_points = {10};
  // 3 / 0.5 + 10 = 16, 2 / 0.5 + 10 = 14; back: 0.5 * (16 - 10) = 3.
  Op quant = b.UniformQuantize(bn, PrimitiveType::S8, q);
  Op deq = b.UniformDequantize(quant, PrimitiveType::F32, q);
  Literal r = Eval(b, b.Tuple({bn, quant, deq}), {Literal::CreateR2<float>({{3, 3}})});
  EXPECT_THAT(Values<float>(r.tuple_elements()[0]), ElementsAre(3, 2));
  EXPECT_THAT(Values<int8_t>(r.tuple_elements()[1]), ElementsAre(16, 14));
  EXPECT_THAT(Values<float>(r.tuple_elements()[2]), ElementsAre(3, 2));
}

TEST(InterpreterTest, QuantizeRoundsHalfToEvenAndSaturates) {
  Builder b("q");
  Op x = b.Parameter(0, F32({4}), "x");
  QuantizationParams q;
  q.scales = {1.0};
  q.zero_points = {0};
  Literal r = Eval(b, b.UniformQuantize(x, PrimitiveType::S8, q), {Literal::CreateR1<float>({0.5f, 1.5f, 1000, -1000})});
  EXPECT_THAT(Values<int8_t>(r), ElementsAre(0, 2, 127, -128));
}

}  // namespace
}  // namespace kiln::hlo
