// Extreme attribute and constant-input values (INT64_MAX, INT64_MIN, 2^62, huge or NaN floats) in
// shape functions and the kernels that recompute shapes: each gives a clear InvalidArgument (or,
// where the values are valid, the right result), never undefined behaviour. The sanitizer build
// (KILN_SANITIZE=ON) runs these under UBSan, which aborts on any signed overflow or bad float cast.
#include <cmath>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "tests/runtime/kernels_test_util.h"

namespace kiln::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t k2p62 = int64_t{1} << 62;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Shape inference of the single node `op` (constant inputs fold, so kernels run here too).
absl::Status Infer(const std::string& op, const std::vector<OpInput>& inputs,
                   std::map<std::string, AttrValue> attrs = {}, int num_outputs = 1) {
  RegisterStandardOps();
  return InferTypes(*SingleNodeGraph(op, inputs, std::move(attrs), num_outputs)).status();
}

// Runs the node with every fed input declared with unknown dims (the kernel meets the values at run time).
absl::StatusOr<std::vector<Tensor>> RunDynamic(const std::string& op, const std::vector<OpInput>& inputs,
                                               std::map<std::string, AttrValue> attrs = {}, int num_outputs = 1) {
  return RunOp(op, inputs, std::move(attrs), num_outputs, /*unknown_dims=*/true);
}

Tensor Zeros(DType dtype, Dims dims) { return *Tensor::Create(dtype, std::move(dims)); }

// ---- Shape ops ------------------------------------------------------------------------------------

TEST(ShapeOverflowTest, TileRepeatsNearInt64Max) {
  ExpectInvalid(Infer("Tile", {In(Zeros(DType::kF32, {2})), Const(S64({1}, {k2p62}))}), {"Tile node 'n'", "out"});
  ExpectInvalid(RunDynamic("Tile", {In(Zeros(DType::kF32, {2})), In(S64({1}, {k2p62}))}).status(), {"tiling"});
}

TEST(ShapeOverflowTest, ReshapeHugeTargetValues) {
  ExpectInvalid(Infer("Reshape", {In(Zeros(DType::kF32, {4})), Const(S64({3}, {-1, k2p62, k2p62}))}),
                {"Reshape node 'n'", "cannot reshape"});
  ExpectInvalid(RunDynamic("Reshape", {In(Zeros(DType::kF32, {4})), In(S64({3}, {-1, kMax, kMax}))}).status(),
                {"cannot reshape"});
}

TEST(ShapeOverflowTest, EmptyTensorsWithHugeDims) {
  // No elements, but a dimension over 2^32 is refused too: strides over it would overflow.
  ExpectInvalid(Infer("Reshape", {In(Zeros(DType::kF32, {0})), Const(S64({2}, {0, k2p62}))},
                      {{"allowzero", int64_t{1}}}),
                {"Reshape node 'n'", "out"});
  ExpectInvalid(RunDynamic("Reshape", {In(Zeros(DType::kF32, {0})), In(S64({3}, {0, k2p62, k2p62}))},
                           {{"allowzero", int64_t{1}}})
                    .status(),
                {"dimension over"});
  ExpectInvalid(RunDynamic("ConstantOfShape", {In(S64({2}, {0, k2p62}))}).status(), {"dimension over"});
}

TEST(ShapeOverflowTest, SplitSizesSumOverflows) {
  ExpectInvalid(Infer("Split", {In(Zeros(DType::kF32, {4})), Const(S64({2}, {kMax, kMax}))}, {}, 2),
                {"Split node 'n'", "split sizes sum to"});
  ExpectInvalid(RunDynamic("Split", {In(Zeros(DType::kF32, {4})), In(S64({2}, {kMax, 5}))}, {}, 2).status(),
                {"split sizes sum to"});
}

TEST(ShapeOverflowTest, SplitWithoutOutputs) {
  ExpectInvalid(Infer("Split", {In(Zeros(DType::kF32, {4}))}, {}, 0), {"Split node 'n'", "at least one output"});
}

TEST(ShapeOverflowTest, PadValuesOutOfRange) {
  ExpectInvalid(Infer("Pad", {In(Zeros(DType::kF32, {3})), Const(S64({2}, {kMax, kMax}))}), {"Pad node 'n'", "pads"});
  ExpectInvalid(Infer("Pad", {In(Zeros(DType::kF32, {3})), Const(S64({2}, {kMin, 0}))}), {"Pad node 'n'", "pads"});
  // Removing exactly one more than the dimension holds is an error, not an unknown (-1) extent.
  ExpectInvalid(Infer("Pad", {In(Zeros(DType::kF32, {3})), Const(S64({2}, {-2, -2}))}), {"remove more than"});
  ExpectInvalid(RunDynamic("Pad", {In(Zeros(DType::kF32, {3})), In(S64({2}, {kMin, kMax}))}).status(), {"pads"});
}

TEST(ShapeOverflowTest, PadReflectOfOneElementShifted) {
  // numpy.pad([5], (1, 0), 'reflect') is [5, 5]; the end pad of -1 then drops the last element.
  ExpectValues(RunOne("Pad", {Const(F32({1}, {5})), Const(S64({2}, {1, -1}))}, {{"mode", std::string("reflect")}}),
               {1}, {5});
}

TEST(ShapeOverflowTest, ExpandNegativeShape) {
  ExpectInvalid(Infer("Expand", {In(Zeros(DType::kF32, {1})), Const(S64({1}, {-5}))}), {"Expand node 'n'", "negative"});
  ExpectInvalid(Infer("Expand", {In(Zeros(DType::kF32, {1})), Const(S64({1}, {kMin}))}), {"negative"});
}

// ---- Windows (Conv, pooling) ---------------------------------------------------------------------

TEST(ShapeOverflowTest, ConvGroupTimesChannelsOverflows) {
  ExpectInvalid(Infer("Conv", {In(Zeros(DType::kF32, {1, 2, 3})), Const(Zeros(DType::kF32, {1, 2, 1}))},
                      {{"group", k2p62}}),
                {"Conv node 'n'", "group"});
}

TEST(ShapeOverflowTest, PoolKernelStridesDilationsPadsNearInt64Max) {
  const Tensor x = Zeros(DType::kF32, {1, 1, 5});
  using V = std::vector<int64_t>;
  ExpectInvalid(Infer("MaxPool", {In(x)}, {{"kernel_shape", V{kMax}}}), {"MaxPool node 'n'", "too large"});
  ExpectInvalid(Infer("MaxPool", {In(x)}, {{"kernel_shape", V{2}}, {"dilations", V{kMax}}}), {"too large"});
  ExpectInvalid(Infer("MaxPool", {In(x)}, {{"kernel_shape", V{1}}, {"pads", V{kMax, kMax}}}), {"too large"});
  ExpectInvalid(Infer("AveragePool", {In(x)},
                      {{"kernel_shape", std::vector<int64_t>{1}}, {"pads", std::vector<int64_t>{kMin, 0}}}),
                {"pads must not be negative"});
  ExpectInvalid(Infer("Conv", {In(x), Const(Zeros(DType::kF32, {1, 1, 1}))}, {{"strides", std::vector<int64_t>{kMin}}}),
                {"strides"});
}

TEST(ShapeOverflowTest, PoolCeilModeWithHugeStride) {
  // ceil((5 - 1) / s) + 1 = 2 windows, but the second would start past the input: one remains.
  const Tensor x = F32({1, 1, 5}, {1, 2, 3, 4, 5});
  using V = std::vector<int64_t>;
  ExpectValues(
      RunOne("MaxPool", {Const(x)}, {{"kernel_shape", V{1}}, {"strides", V{kMax}}, {"ceil_mode", int64_t{1}}}),
      {1, 1, 1}, {1});
  ExpectValues(RunOne("AveragePool", {In(x)},
                      {{"kernel_shape", V{1}}, {"strides", V{kMax}}, {"auto_pad", std::string("SAME_UPPER")}}),
               {1, 1, 1}, {1});
}

TEST(ShapeOverflowTest, PoolWindowsOfHugeKernelsVisitOnlyTheInput) {
  // kernel 2^40 with 2^40 of leading padding: 5 windows, each over at most the 4 inputs. The loops
  // visit only taps inside the input, so this finishes at once (it used to loop 2^40 times per window).
  const Tensor x = F32({1, 1, 4}, {1, 2, 3, 4});
  using V = std::vector<int64_t>;
  const int64_t k = int64_t{1} << 40;
  const std::map<std::string, AttrValue> attrs = {{"kernel_shape", V{k}}, {"pads", V{k, 0}}};
  ExpectValues(RunOne("AveragePool", {In(x)}, attrs), {1, 1, 5}, {0, 1, 1.5, 2, 2.5});
  ExpectValues(RunOne("MaxPool", {Const(x)}, {{"kernel_shape", V{k}}, {"pads", V{k - 1, 0}}}), {1, 1, 4}, {1, 2, 3, 4});
  ExpectValues(RunOne("LpPool", {In(x)}, {{"kernel_shape", V{k}}, {"pads", V{k, 0}}, {"p", int64_t{1}}}), {1, 1, 5},
               {0, 1, 3, 6, 10});
  std::map<std::string, AttrValue> with_pad = attrs;
  with_pad["count_include_pad"] = int64_t{1};
  // Every window lies inside the padded extent: the divisor is the kernel size.
  ExpectValues(RunOne("AveragePool", {In(x)}, with_pad), {1, 1, 5},
               {0, 1.0f / k, 3.0f / k, 6.0f / k, 10.0f / k});
}

TEST(ShapeOverflowTest, ConvTransposeExtremeAttributes) {
  const Tensor x = Zeros(DType::kF32, {1, 1, 3});
  const Tensor w = Zeros(DType::kF32, {1, 1, 1});
  ExpectInvalid(Infer("ConvTranspose", {In(x), Const(w)}, {{"output_padding", std::vector<int64_t>{kMin}}}),
                {"ConvTranspose node 'n'", "output_padding"});
  ExpectInvalid(Infer("ConvTranspose", {In(x), Const(w)}, {{"pads", std::vector<int64_t>{kMin, kMin}}}),
                {"within 2^40"});
  // No input channels: any group divides them, and W's 2 channels times 2^62 overflow.
  ExpectInvalid(Infer("ConvTranspose", {In(Zeros(DType::kF32, {1, 0, 3})), Const(Zeros(DType::kF32, {0, 2, 1}))},
                      {{"group", k2p62}}),
                {"ConvTranspose node 'n'"});
}

// ---- Attention -----------------------------------------------------------------------------------

TEST(ShapeOverflowTest, AttentionHugeHeadCount) {
  // Q's hidden size 0 is a multiple of any head count.
  ExpectInvalid(Infer("Attention", {In(Zeros(DType::kF32, {1, 1, 0})), In(Zeros(DType::kF32, {1, 1, 0})),
                                    In(Zeros(DType::kF32, {1, 1, 4}))},
                      {{"q_num_heads", k2p62}, {"kv_num_heads", int64_t{1}}}),
                {"q_num_heads"});
}

TEST(ShapeOverflowTest, AttentionNonpadSeqlenOutOfRange) {
  const Tensor t = F32({1, 1, 1, 1}, {1});
  for (int64_t len : {kMin, kMax, int64_t{-1}, int64_t{2}}) {
    absl::StatusOr<std::vector<Tensor>> r =
        RunOp("Attention", {Const(t), Const(t), Const(t), Absent(), Absent(), Absent(), Const(S64({1}, {len}))},
              {{"is_causal", int64_t{1}}, {"left_window_size", int64_t{0}}});
    ExpectInvalid(r.status(), {"nonpad_kv_seqlen"});
  }
}

// ---- Other shape functions -----------------------------------------------------------------------

TEST(ShapeOverflowTest, EyeLikeHugeDiagonalOffset) {
  for (int64_t k : {kMax, kMin}) {
    ExpectValues(RunOne("EyeLike", {Const(Zeros(DType::kF32, {2, 2}))}, {{"k", k}}), {2, 2}, {0, 0, 0, 0});
  }
}

TEST(ShapeOverflowTest, SpaceToDepthOfManyEmptyChannels) {
  // 2^31 channels (no elements: the batch is 0) times blocksize^2 = 2^32 overflows.
  ExpectInvalid(Infer("DepthToSpace", {In(Zeros(DType::kF32, {0, int64_t{1} << 31, 1, 1}))},
                      {{"blocksize", int64_t{65536}}}),
                {"DepthToSpace node 'n'"});
  ExpectInvalid(Infer("SpaceToDepth", {In(Zeros(DType::kF32, {0, int64_t{1} << 31, 65536, 65536}))},
                      {{"blocksize", int64_t{65536}}}),
                {"SpaceToDepth node 'n'"});
}

TEST(ShapeOverflowTest, WindowSizeValues) {
  ExpectInvalid(Infer("HannWindow", {Const(S64({}, {-5}))}), {"HannWindow node 'n'", "negative"});
  ExpectInvalid(Infer("HannWindow", {Const(S64({0}, {}))}), {"scalar"});
  ExpectInvalid(Infer("HammingWindow", {Const(S64({}, {kMax}))}), {"HammingWindow node 'n'"});
}

TEST(ShapeOverflowTest, CenterCropPadAffineGridCol2ImNegativeShapes) {
  ExpectInvalid(Infer("CenterCropPad", {In(Zeros(DType::kF32, {4})), Const(S64({1}, {-3}))}), {"negative"});
  ExpectInvalid(Infer("AffineGrid", {In(Zeros(DType::kF32, {1, 2, 3})), Const(S64({4}, {-1, 1, 2, 2}))}), {"negative"});
  ExpectInvalid(Infer("Col2Im", {In(Zeros(DType::kF32, {1, 1, 1})), Const(S64({1}, {-4})), Const(S64({1}, {1}))}),
                {"image_shape"});
  ExpectInvalid(RunOp("Col2Im", {Const(Zeros(DType::kF32, {1, 1, 1})), Const(S64({1}, {1})), Const(S64({1}, {1}))},
                      {{"pads", std::vector<int64_t>{kMin, kMin}}})
                    .status(),
                {"within 2^40"});
}

TEST(ShapeOverflowTest, BlockedDequantizeWithHugeBlock) {
  // One block covers each row: x[i, j] * scale[i].
  const Tensor x = Tensor::FromVector<int8_t>({2, 2}, {1, 2, 3, 4});
  ExpectValues(RunOne("DequantizeLinear", {Const(x), Const(F32({2, 1}, {10, 100}))},
                      {{"axis", int64_t{1}}, {"block_size", kMax}}),
               {2, 2}, {10, 20, 300, 400});
}

TEST(ShapeOverflowTest, RangeWithHugeCount) {
  ExpectInvalid(Infer("Range", {Const(S64({}, {kMin})), Const(S64({}, {kMax})), Const(S64({}, {1}))}),
                {"Range node 'n'", "elements"});
  ExpectInvalid(Infer("Range", {Const(F32({}, {-3e38f})), Const(F32({}, {3e38f})), Const(F32({}, {1e-38f}))}),
                {"elements"});
  ExpectInvalid(Infer("Range", {Const(F32({}, {0})), Const(F32({}, {1})), Const(F32({}, {kNaN}))}), {"elements"});
  ExpectInvalid(RunDynamic("Range", {In(S64({}, {kMin})), In(S64({}, {kMax})), In(S64({}, {3}))}).status(),
                {"elements"});
}

TEST(ShapeOverflowTest, RangeAcrossTheWholeInt64Line) {
  // ceil((2^63 - 1 - (-2^63)) / 2^62) = 4 values, each start + i * 2^62.
  Tensor y = RunOne("Range", {Const(S64({}, {kMin})), Const(S64({}, {kMax})), Const(S64({}, {k2p62}))});
  ASSERT_EQ(DimsToString(y.dims()), "[4]");
  const int64_t* v = y.data<int64_t>();
  EXPECT_EQ(v[0], kMin);
  EXPECT_EQ(v[1], kMin + k2p62);
  EXPECT_EQ(v[2], 0);
  EXPECT_EQ(v[3], k2p62);
}

TEST(ShapeOverflowTest, TopKExtremeK) {
  const Tensor x = Zeros(DType::kF32, {3});
  ExpectInvalid(Infer("TopK", {In(x), Const(S64({1}, {-1}))}, {}, 2), {"TopK node 'n'", "K = -1"});
  ExpectInvalid(Infer("TopK", {In(x), Const(S64({1}, {kMax}))}, {}, 2), {"K = "});
  ExpectInvalid(Infer("TopK", {In(x), Const(S64({0}, {}))}, {}, 2), {"one value"});
}

TEST(ShapeOverflowTest, FloatShapeValuesSaturate) {
  // Float tensors read as int64 saturate (NaN reads as 0) instead of an undefined cast.
  ExpectInvalid(Infer("TopK", {In(Zeros(DType::kF32, {3})), Const(F32({1}, {1e30f}))}, {}, 2),
                {"K = 9223372036854775807"});
  ExpectInvalid(Infer("Split", {In(Zeros(DType::kF32, {4})), Const(F32({2}, {kNaN, -1e30f}))}, {}, 2),
                {"must not be negative"});
}

TEST(ShapeOverflowTest, OneHotExtremeDepthAndIndices) {
  const Tensor values = F32({2}, {0, 1});
  for (float depth : {1e30f, -1e30f, kNaN, std::numeric_limits<float>::infinity(), 0.0f}) {
    ExpectInvalid(Infer("OneHot", {In(Zeros(DType::kS64, {2})), Const(F32({}, {depth})), Const(values)}),
                  {"OneHot node 'n'", "depth"});
  }
  ExpectInvalid(Infer("OneHot", {In(Zeros(DType::kS64, {2})), Const(S64({}, {kMax})), Const(values)}), {"depth"});
  // Indices far outside [-depth, depth) select nothing.
  ExpectValues(RunOne("OneHot", {Const(F32({3}, {1e30f, kNaN, 1})), Const(S64({}, {3})), Const(values)}), {3, 3},
               {0, 0, 0, 0, 0, 0, 0, 1, 0});
}

TEST(ShapeOverflowTest, DropoutEmptyTrainingMode) {
  EXPECT_TRUE(Infer("Dropout", {In(Zeros(DType::kF32, {2})), Absent(), Const(Zeros(DType::kBool, {0}))}).ok());
}

// ---- Integer arithmetic on constant values (folded during shape inference) -----------------------

TEST(ShapeOverflowTest, IntegerArithmeticWrapsLikeNumpy) {
  auto s64 = [](const Tensor& t, int64_t i) { return t.data<int64_t>()[i]; };
  EXPECT_EQ(s64(RunOne("Add", {Const(S64({1}, {kMax})), Const(S64({1}, {1}))}), 0), kMin);
  EXPECT_EQ(s64(RunOne("Sub", {Const(S64({1}, {kMin})), Const(S64({1}, {1}))}), 0), kMax);
  EXPECT_EQ(s64(RunOne("Mul", {Const(S64({1}, {k2p62})), Const(S64({1}, {4}))}), 0), 0);
  EXPECT_EQ(s64(RunOne("Neg", {Const(S64({1}, {kMin}))}), 0), kMin);
  EXPECT_EQ(s64(RunOne("Abs", {Const(S64({1}, {kMin}))}), 0), kMin);
  EXPECT_EQ(s64(RunOne("Div", {Const(S64({1}, {kMin})), Const(S64({1}, {-1}))}), 0), kMin);
  EXPECT_EQ(s64(RunOne("Mod", {Const(S64({1}, {kMin})), Const(S64({1}, {-1}))}), 0), 0);
  EXPECT_EQ(s64(RunOne("Mod", {Const(S64({1}, {kMin})), Const(S64({1}, {-1}))}, {{"fmod", int64_t{1}}}), 0), 0);
  EXPECT_EQ(RunOne("Mul", {Const(S32({1}, {65536})), Const(S32({1}, {65536}))}).data<int32_t>()[0], 0);
  const Tensor u16 = Tensor::FromVector<uint16_t>({1}, {65535});
  EXPECT_EQ(RunOne("Mul", {Const(u16), Const(u16)}).data<uint16_t>()[0], 1);
  Tensor cum = RunOne("CumSum", {Const(S64({2}, {kMax, 1})), Const(S64({}, {0}))});
  EXPECT_EQ(s64(cum, 1), kMin);
  Tensor prod = RunOne("CumProd", {Const(S64({2}, {k2p62, 4})), Const(S64({}, {0}))});
  EXPECT_EQ(s64(prod, 1), 0);
  EXPECT_EQ(s64(RunOne("ReduceSum", {Const(S64({2}, {kMax, 1}))}, {{"keepdims", int64_t{0}}}), 0), kMin);
  EXPECT_EQ(s64(RunOne("ReduceL1", {Const(S64({1}, {kMin}))}, {{"keepdims", int64_t{0}}}), 0), kMin);
  EXPECT_EQ(s64(RunOne("Einsum", {Const(S64({2}, {k2p62, 4})), Const(S64({2}, {4, 1}))},
                       {{"equation", std::string("i,i->")}}),
                0),
            4);  // 2^64 + 4 wraps to 4.
}

TEST(ShapeOverflowTest, FloatToIntegerResultsSaturate) {
  // Out-of-range float results converted to integers saturate (a plain cast would be undefined).
  EXPECT_EQ(RunOne("Pow", {Const(S64({1}, {10})), Const(F32({1}, {30}))}).data<int64_t>()[0], kMax);
  EXPECT_EQ(RunOne("Gemm", {Const(S64({1, 1}, {1})), Const(S64({1, 1}, {1}))}, {{"alpha", 1e30f}}).data<int64_t>()[0],
            kMax);
  // The mean over no elements is NaN, which becomes 0.
  EXPECT_EQ(RunOne("ReduceMean", {Const(Zeros(DType::kS32, {0, 2}))}, {{"axes", std::vector<int64_t>{0}}})
                .data<int32_t>()[1],
            0);
  EXPECT_TRUE(RunOp("ReduceLogSumExp", {Const(S64({2}, {kMax, kMin}))}).ok());
}

TEST(ShapeOverflowTest, ResizeCropWithExtremeRoi) {
  const Tensor x = F32({1, 1, 2, 2}, {1, 2, 3, 4});
  for (float bound : {1e30f, kNaN}) {
    ExpectValues(RunOne("Resize",
                        {Const(x), Const(F32({8}, {0, 0, -bound, -bound, 1, 1, bound, bound})), Absent(),
                         Const(S64({4}, {1, 1, 2, 2}))},
                        {{"mode", std::string("linear")},
                         {"coordinate_transformation_mode", std::string("tf_crop_and_resize")},
                         {"extrapolation_value", 7.0f}}),
                 {1, 1, 2, 2}, {7, 7, 7, 7});
  }
}

TEST(ShapeOverflowTest, GridSampleExtremeGridValues) {
  const Tensor x = F32({1, 1, 1, 2}, {1, 2});
  const Tensor grid = F32({1, 1, 3, 2}, {1e30f, 0, kNaN, 0, -std::numeric_limits<float>::infinity(), 0});
  for (const char* padding : {"zeros", "border", "reflection"}) {
    for (const char* mode : {"nearest", "linear", "cubic"}) {
      for (int64_t align : {0, 1}) {  // align_corners=1: the extent-1 dimension reflects onto one point.
        EXPECT_TRUE(RunOp("GridSample", {Const(x), Const(grid)},
                          {{"padding_mode", std::string(padding)},
                           {"mode", std::string(mode)},
                           {"align_corners", align}})
                        .ok())
            << padding << " " << mode << " " << align;
      }
    }
  }
}

TEST(ShapeOverflowTest, RecurrentClipMustBeNonNegative) {
  const Tensor x = Zeros(DType::kF32, {1, 1, 1});
  const Tensor w = Zeros(DType::kF32, {1, 1, 1});
  for (float clip : {-1.0f, kNaN}) {
    ExpectInvalid(Infer("RNN", {In(x), Const(w), Const(w)}, {{"hidden_size", int64_t{1}}, {"clip", clip}}), {"clip"});
  }
}

}  // namespace
}  // namespace kiln::testing
