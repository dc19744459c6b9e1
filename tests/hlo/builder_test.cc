// Builder, shape inference, printer and verifier tests. Expected shapes and text follow XLA's
// operation semantics and HLO text format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/hlo/builder.h"
#include "kiln/hlo/shape.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

using ::testing::HasSubstr;

Shape F32(std::vector<int64_t> dims) { return ShapeUtil::MakeShape(PrimitiveType::F32, dims); }

TEST(ShapeTest, PrintsAsXla) {
  EXPECT_EQ(F32({2, 3}).ToString(), "f32[2,3]{1,0}");
  EXPECT_EQ(F32({}).ToString(), "f32[]");
  EXPECT_EQ(ShapeUtil::MakeShapeWithDynamic(PrimitiveType::F32, {10}, {true}).ToString(),
            "f32[<=10]{0}");
  EXPECT_EQ(ShapeUtil::MakeTupleShape({F32({2}), ShapeUtil::MakeScalarShape(PrimitiveType::S32)})
                .ToString(),
            "(f32[2]{0}, s32[])");
  EXPECT_EQ(ShapeUtil::MakeShapeWithLayout(PrimitiveType::BF16, {2, 3}, {0, 1}).ToString(),
            "bf16[2,3]{0,1}");
  EXPECT_EQ(ShapeUtil::ByteSizeOf(F32({2, 3})), 24);
  EXPECT_EQ(ShapeUtil::ElementsIn(F32({})), 1);
  EXPECT_EQ(ShapeUtil::ElementsIn(F32({0, 5})), 0);
}

TEST(ShapeTest, ParsesWhatItPrints) {
  for (const char* text : {"f32[2,3]{1,0}", "f32[2,3]{0,1}", "f32[<=10]{0}", "(f32[2]{0}, s32[])",
                           "pred[]", "u8[1,2,3]{2,1,0}", "f32[256,256]{1,0:T(8,128)}",
                           "((f32[], s8[4]{0}), f64[])"}) {
    absl::StatusOr<Shape> s = ParseShape(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status();
    EXPECT_EQ(s->ToString(), text);
  }
  EXPECT_EQ(ParseShape("f32[2,3]")->ToString(), "f32[2,3]{1,0}");
  EXPECT_FALSE(ParseShape("f33[2]").ok());
  EXPECT_FALSE(ParseShape("f32[2,3]{0}").ok());
}

TEST(BuilderTest, ScalarBroadcastsImplicitly) {
  Builder b("main");
  Op x = b.Parameter(0, F32({2, 3}), "x");
  Op y = b.Add(x, b.ConstantR0<float>(1.0f));
  EXPECT_EQ(y.shape().ToString(false), "f32[2,3]");
  auto m = b.Build(y);
  ASSERT_TRUE(m.ok()) << m.status();
  std::string text = (*m)->ToString();
  EXPECT_THAT(text, HasSubstr("HloModule main, entry_computation_layout={(f32[2,3]{1,0})->f32[2,3]{1,0}}"));
  EXPECT_THAT(text, HasSubstr("ENTRY %main (x: f32[2,3]) -> f32[2,3] {"));
  EXPECT_THAT(text, HasSubstr("%x = f32[2,3]{1,0} parameter(0)"));
  EXPECT_THAT(text, HasSubstr("f32[] constant(1)"));
  EXPECT_THAT(text, HasSubstr("broadcast(f32[] %constant), dimensions={}"));
  EXPECT_THAT(text, HasSubstr("ROOT %add = f32[2,3]{1,0} add(f32[2,3]{1,0} %x, f32[2,3]{1,0} %broadcast)"));
}

TEST(BuilderTest, RankPromotionNeedsBroadcastDimensions) {
  {
    Builder b("bad");
    Op x = b.Parameter(0, F32({2, 3}), "x");
    Op v = b.Parameter(1, F32({3}), "v");
    Op y = b.Add(x, v);
    EXPECT_FALSE(y.valid());
    auto m = b.Build(y);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr("add(f32[2,3], f32[3])"));
    EXPECT_THAT(m.status().message(), HasSubstr("broadcast_dimensions"));
  }
  {
    Builder b("good");
    Op x = b.Parameter(0, F32({2, 3}), "x");
    Op v = b.Parameter(1, F32({3}), "v");
    Op y = b.Add(x, v, {1});
    ASSERT_TRUE(y.valid());
    EXPECT_EQ(y.shape().ToString(false), "f32[2,3]");
    auto m = b.Build(y);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_THAT((*m)->ToString(), HasSubstr("broadcast(f32[3]{0} %v), dimensions={1}"));
  }
}

TEST(BuilderTest, DegenerateDimensionsStretch) {
  Builder b("deg");
  Op x = b.Parameter(0, F32({2, 1}), "x");
  Op y = b.Parameter(1, F32({1, 3}), "y");
  Op z = b.Mul(x, y);
  ASSERT_TRUE(z.valid());
  EXPECT_EQ(z.shape().ToString(false), "f32[2,3]");
  ASSERT_TRUE(b.Build(z).ok());
}

TEST(BuilderTest, MismatchedDimensionsAreErrors) {
  Builder b("mismatch");
  Op x = b.Parameter(0, F32({2, 3}), "x");
  Op y = b.Parameter(1, F32({3, 2}), "y");
  Op z = b.Sub(x, y);
  Op w = b.Neg(z);  // Invalid operand: no new error.
  auto m = b.Build(w);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("subtract(f32[2,3], f32[3,2])"));
  EXPECT_THAT(m.status().message(), HasSubstr("dimension 0 differs (2 vs 3)"));
}

TEST(BuilderTest, ElementTypeMismatchIsError) {
  Builder b("types");
  Op x = b.Parameter(0, F32({2}), "x");
  Op y = b.Parameter(1, ShapeUtil::MakeShape(PrimitiveType::S32, {2}), "y");
  auto m = b.Build(b.Add(x, y));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("element types differ"));
}

TEST(BuilderTest, DepthwiseConvolutionShapeAndText) {
  Builder b("conv");
  Op x = b.Parameter(0, F32({1, 32, 112, 112}), "x");
  Op w = b.Parameter(1, F32({32, 1, 3, 3}), "w");
  Op y = b.ConvGeneralDilated(x, w, {2, 2}, {{1, 1}, {1, 1}}, {}, {},
                              ConvolutionDimensionNumbers::Nchw(2), /*feature_group_count=*/32);
  ASSERT_TRUE(y.valid()) << b.first_error();
  EXPECT_EQ(y.shape().ToString(false), "f32[1,32,56,56]");
  auto m = b.Build(y);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT((*m)->ToString(),
              HasSubstr("convolution(f32[1,32,112,112]{3,2,1,0} %x, f32[32,1,3,3]{3,2,1,0} %w), "
                        "window={size=3x3 stride=2x2 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, "
                        "feature_group_count=32"));
}

TEST(BuilderTest, ConvolutionFeatureMismatchIsError) {
  Builder b("conv");
  Op x = b.Parameter(0, F32({1, 3, 8, 8}), "x");
  Op w = b.Parameter(1, F32({4, 2, 3, 3}), "w");
  auto m = b.Build(b.ConvGeneralDilated(x, w, {}, {}, {}, {}, ConvolutionDimensionNumbers::Nchw(2)));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("convolution(f32[1,3,8,8], f32[4,2,3,3])"));
  EXPECT_THAT(m.status().message(), HasSubstr("input features (3)"));
}

TEST(BuilderTest, DilatedConvolutionShape) {
  // Spatial 10, kernel 3 dilated by 2 (extent 5), lhs dilation 2 (extent 19), pad 0, stride 3:
  // (19 - 5) / 3 + 1 = 5.
  Builder b("conv");
  Op x = b.Parameter(0, F32({2, 4, 10}), "x");
  Op w = b.Parameter(1, F32({6, 4, 3}), "w");
  Op y = b.ConvGeneralDilated(x, w, {3}, {{0, 0}}, {2}, {2}, ConvolutionDimensionNumbers::Nchw(1));
  ASSERT_TRUE(y.valid()) << b.first_error();
  EXPECT_EQ(y.shape().ToString(false), "f32[2,6,5]");
}

TEST(BuilderTest, DotGeneralShapeAndText) {
  Builder b("dot");
  Op x = b.Parameter(0, F32({5, 2, 3}), "x");
  Op y = b.Parameter(1, F32({5, 3, 4}), "y");
  DotDimensionNumbers d;
  d.lhs_batch_dimensions = {0};
  d.rhs_batch_dimensions = {0};
  d.lhs_contracting_dimensions = {2};
  d.rhs_contracting_dimensions = {1};
  Op z = b.DotGeneral(x, y, d);
  EXPECT_EQ(z.shape().ToString(false), "f32[5,2,4]");
  auto m = b.Build(z);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT((*m)->ToString(), HasSubstr("lhs_batch_dims={0}, lhs_contracting_dims={2}, "
                                          "rhs_batch_dims={0}, rhs_contracting_dims={1}"));
}

TEST(BuilderTest, ReduceAndReduceWindowText) {
  Builder b("pool");
  Op x = b.Parameter(0, F32({1, 8, 4, 4}), "x");
  Computation* add = b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32);
  Computation* max = b.ScalarComputation(Opcode::kMaximum, PrimitiveType::F32);
  Op pooled = b.ReduceWindow(x, b.ConstantR0<float>(-1e30f), max, {1, 1, 2, 2}, {1, 1, 2, 2}, {});
  EXPECT_EQ(pooled.shape().ToString(false), "f32[1,8,2,2]");
  Op sum = b.Reduce(pooled, b.ConstantR0<float>(0.0f), add, {2, 3});
  EXPECT_EQ(sum.shape().ToString(false), "f32[1,8]");
  auto m = b.Build(sum);
  ASSERT_TRUE(m.ok()) << m.status();
  std::string text = (*m)->ToString();
  EXPECT_THAT(text, HasSubstr("window={size=1x1x2x2 stride=1x1x2x2}, to_apply=%maximum_f32"));
  EXPECT_THAT(text, HasSubstr("dimensions={2,3}, to_apply=%add_f32"));
  EXPECT_THAT(text, HasSubstr("%add_f32 (x.1: f32[], y: f32[]) -> f32[] {"));
  // Callees are printed before the entry.
  EXPECT_LT(text.find("%add_f32 ("), text.find("ENTRY"));
}

TEST(BuilderTest, PadWithNegativeAndInteriorPadding) {
  Builder b("pad");
  Op x = b.Parameter(0, F32({5}), "x");
  PaddingConfig p = {{-1, 2, 1}};
  Op y = b.Pad(x, b.ConstantR0<float>(0.0f), p);
  // -1 + 2 + 5 + 4 * 1 = 10.
  EXPECT_EQ(y.shape().ToString(false), "f32[10]");
  auto m = b.Build(y);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT((*m)->ToString(), HasSubstr("padding=-1_2_1"));
  Builder b2("pad");
  Op x2 = b2.Parameter(0, F32({2}), "x");
  EXPECT_FALSE(b2.Build(b2.Pad(x2, b2.ConstantR0<float>(0.0f), {{-2, -1, 0}})).ok());
}

TEST(BuilderTest, ShapeOpsInference) {
  Builder b("ops");
  Op x = b.Parameter(0, F32({2, 3, 4}), "x");
  EXPECT_EQ(b.Transpose(x, {2, 0, 1}).shape().ToString(false), "f32[4,2,3]");
  EXPECT_EQ(b.Reshape(x, {6, 4}).shape().ToString(false), "f32[6,4]");
  EXPECT_EQ(b.Slice(x, {0, 1, 0}, {2, 3, 4}, {1, 1, 3}).shape().ToString(false), "f32[2,2,2]");
  EXPECT_EQ(b.ConcatInDim({x, x}, 1).shape().ToString(false), "f32[2,6,4]");
  EXPECT_EQ(b.BroadcastInDim(b.Parameter(1, F32({3}), "v"), {2, 3, 4}, {1}).shape().ToString(false),
            "f32[2,3,4]");
  EXPECT_EQ(b.Broadcast(x, {5}).shape().ToString(false), "f32[5,2,3,4]");
  EXPECT_EQ(b.ConvertElementType(x, PrimitiveType::S8).shape().ToString(false), "s8[2,3,4]");
  EXPECT_EQ(b.Gt(x, x).shape().ToString(false), "pred[2,3,4]");
  EXPECT_EQ(b.Iota(ShapeUtil::MakeShape(PrimitiveType::S32, {3, 2}), 1).shape().ToString(false),
            "s32[3,2]");
  Op t = b.Tuple({x, b.ConstantR0<int32_t>(3)});
  EXPECT_EQ(t.shape().ToString(false), "(f32[2,3,4], s32[])");
  EXPECT_EQ(b.GetTupleElement(t, 1).shape().ToString(false), "s32[]");
  EXPECT_TRUE(b.first_error().ok()) << b.first_error();
  Op bad = b.Reshape(x, {5, 5});
  EXPECT_FALSE(bad.valid());
  EXPECT_THAT(std::string(b.first_error().message()), HasSubstr("reshape to [5,5](f32[2,3,4])"));
}

TEST(VerifierTest, CatchesWrongShape) {
  Builder b("v");
  Op x = b.Parameter(0, F32({2}), "x");
  Op y = b.Add(x, x);
  auto m = b.Build(y);
  ASSERT_TRUE(m.ok());
  *(*m)->entry_computation()->root_instruction()->mutable_shape() = F32({3});
  absl::Status s = VerifyModule(**m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("%add"));
  EXPECT_THAT(s.message(), HasSubstr("differs from the inferred f32[2]"));
}

}  // namespace
}  // namespace kiln::hlo
