// The per-op shape functions of kiln/hlo/shape_inference.h called directly with shapes and
// attributes (no Instruction), including the errors they report.
#include "kiln/hlo/shape_inference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "kiln/hlo/module.h"
#include "kiln/hlo/parser.h"
#include "kiln/hlo/shape.h"

namespace kiln::hlo {
namespace {

using ::testing::HasSubstr;

Shape F32(std::vector<int64_t> dims) { return ShapeUtil::MakeShape(PrimitiveType::F32, dims); }
Shape S32(std::vector<int64_t> dims) { return ShapeUtil::MakeShape(PrimitiveType::S32, dims); }

std::string Text(const absl::StatusOr<Shape>& s) {
  return s.ok() ? s->ToString(false) : std::string(s.status().message());
}

TEST(ShapeInferenceTest, ElementwiseUnaryAndBinary) {
  EXPECT_EQ(Text(InferUnaryOpShape(Opcode::kExp, F32({2, 3}))), "f32[2,3]");
  EXPECT_EQ(Text(InferUnaryOpShape(Opcode::kIsFinite, F32({4}))), "pred[4]");
  EXPECT_EQ(Text(InferUnaryOpShape(Opcode::kExp, S32({2}))), "needs a floating-point type");
  EXPECT_EQ(Text(InferBinaryOpShape(Opcode::kCompare, F32({2}), F32({2}))), "pred[2]");
  EXPECT_EQ(Text(InferBinaryOpShape(Opcode::kAdd, F32({2}), F32({3}))),
            "operand dimensions differ (broadcast them first)");
  EXPECT_EQ(Text(InferBinaryOpShape(Opcode::kAdd, F32({2}), S32({2}))),
            "binary op: element types differ (f32 vs s32)");
  EXPECT_EQ(Text(InferBinaryOpShape(Opcode::kShiftLeft, F32({2}), F32({2}))),
            "needs an integer type");
}

TEST(ShapeInferenceTest, ImplicitBroadcast) {
  EXPECT_EQ(Text(InferBroadcastShape(F32({2, 1}), F32({1, 3}), {})), "f32[2,3]");
  EXPECT_EQ(Text(InferBroadcastShape(F32({3}), F32({2, 3}), {1})), "f32[2,3]");
  EXPECT_EQ(Text(InferBroadcastShape(F32({2}), F32({3}), {})),
            "dimension 0 differs (2 vs 3) and neither is 1 (degenerate)");
}

TEST(ShapeInferenceTest, ShapeManipulation) {
  EXPECT_EQ(Text(InferBroadcastInDimShape(F32({3}), F32({2, 3}), {1})), "f32[2,3]");
  EXPECT_EQ(Text(InferBroadcastInDimShape(F32({3}), F32({2, 3}), {0})),
            "operand dimension 0 (3) != result dimension 0 (2)");
  EXPECT_EQ(Text(InferTransposeShape(F32({2, 3, 4}), {2, 0, 1})), "f32[4,2,3]");
  EXPECT_EQ(Text(InferTransposeShape(F32({2, 3}), {0, 0})), "permutation {0,0} invalid for rank 2");
  EXPECT_EQ(Text(InferSliceShape(F32({10, 4}), {1, 0}, {8, 4}, {3, 1})), "f32[3,4]");
  EXPECT_EQ(Text(InferSliceShape(F32({10}), {2}, {11}, {1})),
            "slice [2:11:1] invalid for dimension 0 of size 10");
  Shape a = F32({2, 3}), b = F32({2, 5});
  EXPECT_EQ(Text(InferConcatenateShape({&a, &b}, {1})), "f32[2,8]");
  EXPECT_EQ(Text(InferConcatenateShape({&a, &b}, {0})),
            "operands differ in non-concatenated dimension 1");
  EXPECT_EQ(Text(InferConcatenateShape({}, {0})), "needs at least one operand");
  Shape zero = F32({});
  EXPECT_EQ(Text(InferPadShape(F32({3}), zero, {{1, 2, 1}})), "f32[8]");
  EXPECT_EQ(Text(InferPadShape(F32({3}), zero, {{-4, 0, 0}})),
            "padding makes dimension 0 negative (-1)");
  EXPECT_EQ(Text(InferReshapeShape(F32({2, 3}), F32({6}))), "f32[6]");
  EXPECT_EQ(Text(InferReshapeShape(F32({2, 3}), F32({5}))), "element count changes (6 vs 5)");
  Shape index = S32({});
  EXPECT_EQ(Text(InferDynamicSliceShape(F32({8}), {&index}, {3})), "f32[3]");
  EXPECT_EQ(Text(InferDynamicSliceShape(F32({8}), {}, {3})), "needs one start index per dimension");
  EXPECT_EQ(Text(InferBitcastConvertShape(F32({2}), PrimitiveType::U8)), "u8[2,4]");
}

TEST(ShapeInferenceTest, DotAndConvolution) {
  DotDimensionNumbers matmul;
  matmul.lhs_contracting_dimensions = {1};
  matmul.rhs_contracting_dimensions = {0};
  EXPECT_EQ(Text(InferDotShape(F32({2, 3}), F32({3, 4}), matmul, std::nullopt)), "f32[2,4]");
  EXPECT_EQ(Text(InferDotShape(F32({2, 3}), F32({5, 4}), matmul, std::nullopt)),
            "contracting dimension sizes differ: lhs dimension 1 (3) vs rhs dimension 0 (5)");
  EXPECT_EQ(Text(InferDotShape(F32({2, 3}), S32({3, 4}), matmul, std::nullopt)),
            "dot: element types differ (f32 vs s32)");
  // A declared result type allows mixed operand types.
  EXPECT_EQ(Text(InferDotShape(S32({2, 3}), S32({3, 4}), matmul, PrimitiveType::F32)), "f32[2,4]");

  ConvolutionDimensionNumbers nchw = ConvolutionDimensionNumbers::Nchw(2);
  Window window;
  window.dimensions.resize(2);
  for (WindowDimension& w : window.dimensions) w.size = 3;
  auto conv = [&](const Shape& kernel, int64_t feature_group_count) {
    return Text(InferConvolveShape(F32({1, 4, 8, 8}), kernel, feature_group_count, 1, window, nchw,
                                   std::nullopt));
  };
  EXPECT_EQ(conv(F32({16, 4, 3, 3}), 1), "f32[1,16,6,6]");
  EXPECT_EQ(conv(F32({16, 2, 3, 3}), 2), "f32[1,16,6,6]");
  EXPECT_EQ(conv(F32({16, 3, 3, 3}), 1),
            "input features (4) != kernel input features (3) * feature_group_count (1)");
  EXPECT_EQ(conv(F32({16, 4, 3, 3}), 0), "group counts must be >= 1");
}

TEST(ShapeInferenceTest, Gather) {
  GatherDimensionNumbers rows;  // Gathers whole rows of a [5,4] table.
  rows.offset_dims = {1};
  rows.collapsed_slice_dims = {0};
  rows.start_index_map = {0};
  rows.index_vector_dim = 1;
  EXPECT_EQ(Text(InferGatherShape(F32({5, 4}), S32({3, 1}), rows, {1, 4})), "f32[3,4]");
  EXPECT_EQ(Text(InferGatherShape(F32({5, 4}), F32({3, 1}), rows, {1, 4})),
            "start indices must be integers");
  EXPECT_EQ(Text(InferGatherShape(F32({5, 4}), S32({3, 1}), rows, {2, 4})),
            "collapsed slice dimension 0 has size > 1");
}

constexpr char kComputations[] = R"(
HloModule computations

%add (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %sum = f32[] add(f32[] %a, f32[] %b)
}

ENTRY %main (x: f32[4,6]) -> f32[4,6] {
  ROOT %x = f32[4,6] parameter(0)
}
)";

TEST(ShapeInferenceTest, ReduceAndMapWithComputation) {
  absl::StatusOr<std::unique_ptr<Module>> module = ParseModule(kComputations);
  ASSERT_TRUE(module.ok()) << module.status();
  const Computation* add = (*module)->GetComputationWithName("add");
  ASSERT_NE(add, nullptr);
  Shape x = F32({4, 6}), init = F32({});
  EXPECT_EQ(Text(InferReduceShape({&x, &init}, {1}, add)), "f32[4]");
  EXPECT_EQ(Text(InferReduceShape({&x, &init}, {2}, add)),
            "reduce dimension 2 out of range for rank 2");
  EXPECT_EQ(Text(InferReduceShape({&x, &init}, {1}, nullptr)), "needs to_apply");
  EXPECT_EQ(Text(InferReduceShape({&x}, {1}, add)), "needs N operands and N inits");
  EXPECT_EQ(Text(InferReduceShape({&x, &x, &init, &init}, {1}, add)),
            "reduce: computation %add takes 2 parameters, expected 4");
  EXPECT_EQ(Text(InferMapShape({&x, &x}, add)), "f32[4,6]");
  EXPECT_EQ(Text(InferMapShape({&x}, add)), "map: computation %add takes 2 parameters, expected 1");

  Window window;
  window.dimensions.resize(2);
  window.dimensions[1].size = 2;
  window.dimensions[1].stride = 2;
  EXPECT_EQ(Text(InferReduceWindowShape({&x, &init}, window, add)), "f32[4,3]");
  window.dimensions[0].stride = 0;
  EXPECT_EQ(Text(InferReduceWindowShape({&x, &init}, window, add)),
            "window sizes must be >= 0 and strides/dilations >= 1");
}

}  // namespace
}  // namespace kiln::hlo
