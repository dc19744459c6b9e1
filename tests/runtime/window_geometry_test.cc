// The window geometry of ONNX convolution and pooling (kiln/runtime/window_geometry.h): auto_pad,
// ceil_mode, dilation, ConvTranspose's output extents, and the errors for inconsistent attributes.
#include "kiln/runtime/window_geometry.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using V = std::vector<int64_t>;

// One spatial dimension's attributes.
WindowAttributes Attrs1D(int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin, int64_t pad_end,
                         AutoPad auto_pad = AutoPad::kNotSet, bool ceil_mode = false) {
  WindowAttributes a;
  a.kernel = {kernel};
  a.strides = {stride};
  a.dilations = {dilation};
  a.pads = {pad_begin, pad_end};
  a.auto_pad = auto_pad;
  a.ceil_mode = ceil_mode;
  return a;
}

// The geometry of one dimension of extent `in`, which must resolve.
WindowGeometry Resolve1D(const WindowAttributes& a, int64_t in) {
  absl::StatusOr<WindowGeometry> g = ResolveWindow(a, {in});
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : WindowGeometry{};
}

void ExpectError(const absl::StatusOr<WindowGeometry>& g, const std::string& text) {
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(g.status().message()), HasSubstr(text));
}

TEST(WindowGeometryTest, ExplicitPadsStrideAndKernel) {
  // (5 + 1 + 1 - 3) / 2 + 1 = 3.
  WindowGeometry g = Resolve1D(Attrs1D(3, 2, 1, 1, 1), 5);
  EXPECT_EQ(g.spatial_rank, 1);
  EXPECT_THAT(g.in, ElementsAre(5));
  EXPECT_THAT(g.kernel, ElementsAre(3));
  EXPECT_THAT(g.strides, ElementsAre(2));
  EXPECT_THAT(g.pad_begin, ElementsAre(1));
  EXPECT_THAT(g.pad_end, ElementsAre(1));
  EXPECT_THAT(g.out, ElementsAre(3));
}

TEST(WindowGeometryTest, SameUpperPutsTheOddPadAtTheEndAndSameLowerAtTheBeginning) {
  // out = ceil(6 / 2) = 3; total = (3 - 1) * 2 + 3 - 6 = 1.
  WindowGeometry upper = Resolve1D(Attrs1D(3, 2, 1, 0, 0, AutoPad::kSameUpper), 6);
  EXPECT_THAT(upper.out, ElementsAre(3));
  EXPECT_THAT(upper.pad_begin, ElementsAre(0));
  EXPECT_THAT(upper.pad_end, ElementsAre(1));
  WindowGeometry lower = Resolve1D(Attrs1D(3, 2, 1, 0, 0, AutoPad::kSameLower), 6);
  EXPECT_THAT(lower.out, ElementsAre(3));
  EXPECT_THAT(lower.pad_begin, ElementsAre(1));
  EXPECT_THAT(lower.pad_end, ElementsAre(0));
  // Stride 1, kernel 4: total 3, split 1 + 2 (upper) and 2 + 1 (lower); explicit pads are ignored.
  WindowGeometry u4 = Resolve1D(Attrs1D(4, 1, 1, 7, 7, AutoPad::kSameUpper), 5);
  EXPECT_THAT(u4.out, ElementsAre(5));
  EXPECT_THAT(u4.pad_begin, ElementsAre(1));
  EXPECT_THAT(u4.pad_end, ElementsAre(2));
  WindowGeometry l4 = Resolve1D(Attrs1D(4, 1, 1, 7, 7, AutoPad::kSameLower), 5);
  EXPECT_THAT(l4.pad_begin, ElementsAre(2));
  EXPECT_THAT(l4.pad_end, ElementsAre(1));
}

TEST(WindowGeometryTest, SameNeverPadsNegatively) {
  // out = ceil(7 / 4) = 2; (2 - 1) * 4 + 1 - 7 < 0: no padding.
  WindowGeometry g = Resolve1D(Attrs1D(1, 4, 1, 0, 0, AutoPad::kSameUpper), 7);
  EXPECT_THAT(g.out, ElementsAre(2));
  EXPECT_THAT(g.pad_begin, ElementsAre(0));
  EXPECT_THAT(g.pad_end, ElementsAre(0));
}

TEST(WindowGeometryTest, ValidIgnoresThePads) {
  WindowGeometry g = Resolve1D(Attrs1D(3, 2, 1, 5, 5, AutoPad::kValid), 7);
  EXPECT_THAT(g.pad_begin, ElementsAre(0));
  EXPECT_THAT(g.pad_end, ElementsAre(0));
  EXPECT_THAT(g.out, ElementsAre(3));
}

TEST(WindowGeometryTest, CeilModeRoundsUp) {
  // ONNX maxpool_2d_ceil: 4 wide, kernel 3, stride 2: floor gives 1, ceil 2 (the second window
  // starts at 2, inside the input, and runs past it).
  EXPECT_THAT(Resolve1D(Attrs1D(3, 2, 1, 0, 0), 4).out, ElementsAre(1));
  EXPECT_THAT(Resolve1D(Attrs1D(3, 2, 1, 0, 0, AutoPad::kNotSet, /*ceil_mode=*/true), 4).out, ElementsAre(2));
}

TEST(WindowGeometryTest, CeilModeDropsALastWindowThatStartsInTheEndPadding) {
  // 5 wide, kernel 2, stride 2, pads 1 + 1: ceil((7 - 2) / 2) + 1 = 4, but the fourth window would
  // start at padded position 6 >= 5 + 1, in the end padding: 3 (as ONNX and PyTorch).
  EXPECT_THAT(Resolve1D(Attrs1D(2, 2, 1, 1, 1, AutoPad::kNotSet, true), 5).out, ElementsAre(3));
  // Kernel 1, stride 2, end pad 1: ceil(5 / 2) + 1 = 4, the fourth starts at 6 >= 5: 3.
  EXPECT_THAT(Resolve1D(Attrs1D(1, 2, 1, 0, 1, AutoPad::kNotSet, true), 5).out, ElementsAre(3));
}

TEST(WindowGeometryTest, CeilModeKeepsALastWindowThatStartsInTheInputOrTheLeftPadding) {
  // 1 wide, begin pad 2, kernel 1, stride 2: the windows start at padded 0 (left padding) and 2
  // (the input's only element), 2 < 1 + 2: both stay.
  EXPECT_THAT(Resolve1D(Attrs1D(1, 2, 1, 2, 0, AutoPad::kNotSet, true), 1).out, ElementsAre(2));
  // 4 wide, begin pad 1, kernel 2, stride 3: ceil(3 / 3) + 1 = 2, the second starts at 3 < 5.
  EXPECT_THAT(Resolve1D(Attrs1D(2, 3, 1, 1, 0, AutoPad::kNotSet, true), 4).out, ElementsAre(2));
}

TEST(WindowGeometryTest, CeilModeDoesNotChangeSame) {
  WindowGeometry g = Resolve1D(Attrs1D(1, 4, 1, 0, 0, AutoPad::kSameLower, true), 6);
  EXPECT_THAT(g.out, ElementsAre(2));
}

TEST(WindowGeometryTest, DilationWidensTheWindow) {
  // Kernel 3 with dilation 2 covers 5: (7 - 5) / 1 + 1 = 3.
  WindowGeometry g = Resolve1D(Attrs1D(3, 1, 2, 0, 0), 7);
  EXPECT_THAT(g.dilations, ElementsAre(2));
  EXPECT_THAT(g.out, ElementsAre(3));
  // SAME_UPPER with the dilated extent 5: total 4, split 2 + 2.
  WindowGeometry same = Resolve1D(Attrs1D(3, 1, 2, 0, 0, AutoPad::kSameUpper), 7);
  EXPECT_THAT(same.out, ElementsAre(7));
  EXPECT_THAT(same.pad_begin, ElementsAre(2));
  EXPECT_THAT(same.pad_end, ElementsAre(2));
}

TEST(WindowGeometryTest, UnknownInputExtentGivesUnknownOutput) {
  WindowAttributes a;
  a.kernel = {3, 3};
  a.strides = {1, 2};
  a.dilations = {1, 1};
  a.pads = {1, 0, 1, 0};
  absl::StatusOr<WindowGeometry> g = ResolveWindow(a, {-1, 9});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(g->out, ElementsAre(-1, 4));
  EXPECT_THAT(g->pad_begin, ElementsAre(1, 0));
  EXPECT_THAT(g->pad_end, ElementsAre(1, 0));
}

TEST(WindowGeometryTest, NonPositiveKernelStrideOrDilationFails) {
  ExpectError(ResolveWindow(Attrs1D(0, 1, 1, 0, 0), {5}), "must be positive (got kernel 0");
  ExpectError(ResolveWindow(Attrs1D(3, 0, 1, 0, 0), {5}), "stride 0");
  ExpectError(ResolveWindow(Attrs1D(3, 1, -1, 0, 0), {5}), "dilation -1");
}

TEST(WindowGeometryTest, AttributesOfTheWrongLengthFail) {
  WindowAttributes pads = Attrs1D(3, 1, 1, 0, 0);
  pads.pads = {0, 0, 0};
  ExpectError(ResolveWindow(pads, {5}), "pads (3) must have 1, 1 and 2 values");
  WindowAttributes strides = Attrs1D(3, 1, 1, 0, 0);
  strides.strides = {1, 1};
  ExpectError(ResolveWindow(strides, {5}), "strides (2 values)");
  ExpectError(ResolveWindow(Attrs1D(3, 1, 1, 0, 0), {5, 5}), "kernel_shape has 1 values; the input has 2");
}

TEST(WindowGeometryTest, NegativePadsFail) {
  ExpectError(ResolveWindow(Attrs1D(3, 1, 1, -1, 0), {5}), "pads must not be negative");
}

TEST(WindowGeometryTest, AWindowLargerThanThePaddedInputFails) {
  ExpectError(ResolveWindow(Attrs1D(4, 1, 1, 0, 0), {3}), "fewer than 1 element");
  ExpectError(ResolveWindow(Attrs1D(3, 1, 2, 0, 0), {4}), "larger than the padded input (4)");
}

TEST(WindowGeometryTest, ValuesThatWouldOverflowFail) {
  ExpectError(ResolveWindow(Attrs1D(int64_t{1} << 40, 1, int64_t{1} << 40, 0, 0), {5}), "are too large");
}

TEST(WindowGeometryTest, UnknownAutoPadTextIsNamed) {
  EXPECT_EQ(*ParseAutoPad("SAME_LOWER"), AutoPad::kSameLower);
  absl::StatusOr<AutoPad> same = ParseAutoPad("SAME");
  ASSERT_FALSE(same.ok());
  EXPECT_THAT(std::string(same.status().message()), HasSubstr("auto_pad 'SAME' is not one of"));
  EXPECT_FALSE(ParseAutoPad("").ok());

  Node node;
  node.op = "Conv";
  node.attrs["auto_pad"] = std::string("same_upper");
  ExpectError(ComputeWindow(node, {5}, {3}, /*pooling=*/false), "auto_pad 'same_upper'");
  ExpectError(ComputeTransposedWindow(node, {5}, {3}), "auto_pad 'same_upper'");
}

TEST(WindowGeometryTest, ReadsTheNodesAttributesWithOnnxDefaults) {
  Node node;
  node.op = "MaxPool";
  absl::StatusOr<WindowGeometry> plain = ComputeWindow(node, {6, 5}, {2, 2}, /*pooling=*/true);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_THAT(plain->out, ElementsAre(5, 4));
  EXPECT_THAT(plain->strides, ElementsAre(1, 1));
  EXPECT_THAT(plain->dilations, ElementsAre(1, 1));

  node.attrs["strides"] = V{2, 2};
  node.attrs["pads"] = V{0, 1, 0, 1};
  node.attrs["ceil_mode"] = int64_t{1};
  absl::StatusOr<WindowGeometry> pool = ComputeWindow(node, {5, 5}, {2, 2}, /*pooling=*/true);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_THAT(pool->out, ElementsAre(3, 3));
  // Convolution ignores ceil_mode: (5 - 2) / 2 + 1 = 2 and (5 + 2 - 2) / 2 + 1 = 3.
  absl::StatusOr<WindowGeometry> conv = ComputeWindow(node, {5, 5}, {2, 2}, /*pooling=*/false);
  ASSERT_TRUE(conv.ok()) << conv.status();
  EXPECT_THAT(conv->out, ElementsAre(2, 3));
}

// ---- ConvTranspose ----

TransposedWindowAttributes Transposed1D(int64_t kernel, int64_t stride, AutoPad auto_pad = AutoPad::kNotSet) {
  TransposedWindowAttributes a;
  a.window = Attrs1D(kernel, stride, 1, 0, 0, auto_pad);
  a.output_padding = {0};
  return a;
}

TEST(TransposedWindowTest, FullExtentWithPadsAndOutputPadding) {
  // stride * (in - 1) + output_padding + extent - pads = 3 * 2 + 1 + 3 - 2 = 8.
  TransposedWindowAttributes a = Transposed1D(3, 3);
  a.window.pads = {1, 1};
  a.output_padding = {1};
  absl::StatusOr<WindowGeometry> g = ResolveTransposedWindow(a, {3});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(g->out, ElementsAre(8));
  EXPECT_THAT(g->pad_begin, ElementsAre(1));
  EXPECT_THAT(g->pad_end, ElementsAre(1));
}

TEST(TransposedWindowTest, SameUpperAndSameLowerTargetInTimesStride) {
  // Full extent 2 * 2 + 3 = 7, target 6: one padding element, at the end (upper) or the beginning.
  absl::StatusOr<WindowGeometry> upper = ResolveTransposedWindow(Transposed1D(3, 2, AutoPad::kSameUpper), {3});
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_THAT(upper->out, ElementsAre(6));
  EXPECT_THAT(upper->pad_begin, ElementsAre(0));
  EXPECT_THAT(upper->pad_end, ElementsAre(1));
  absl::StatusOr<WindowGeometry> lower = ResolveTransposedWindow(Transposed1D(3, 2, AutoPad::kSameLower), {3});
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_THAT(lower->pad_begin, ElementsAre(1));
  EXPECT_THAT(lower->pad_end, ElementsAre(0));
}

TEST(TransposedWindowTest, OutputShapeWinsAndMayCarryBatchAndChannels) {
  // ONNX convtranspose_output_shape: full extent 3 * 2 + 3 = 9, output_shape 10: total -1.
  TransposedWindowAttributes a = Transposed1D(3, 3);
  a.window.pads = {4, 4};
  a.output_shape = {1, 2, 10};
  absl::StatusOr<WindowGeometry> g = ResolveTransposedWindow(a, {3});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(g->out, ElementsAre(10));
  EXPECT_THAT(g->pad_begin, ElementsAre(0));
  EXPECT_THAT(g->pad_end, ElementsAre(-1));
}

TEST(TransposedWindowTest, InconsistentAttributesFail) {
  TransposedWindowAttributes out_pad = Transposed1D(3, 1);
  out_pad.output_padding = {0, 0};
  ExpectError(ResolveTransposedWindow(out_pad, {3}), "output_padding (2) must match 1");
  TransposedWindowAttributes out_shape = Transposed1D(3, 1);
  out_shape.output_shape = {4, 4};
  ExpectError(ResolveTransposedWindow(out_shape, {3}), "output_shape must have one value per spatial dimension");
  ExpectError(ResolveTransposedWindow(Transposed1D(3, 0), {3}), "must be in [1, 2^20]");
  TransposedWindowAttributes negative = Transposed1D(3, 1);
  negative.window.pads = {3, 3};
  ExpectError(ResolveTransposedWindow(negative, {1}), "negative extent");
}

}  // namespace
}  // namespace kiln
