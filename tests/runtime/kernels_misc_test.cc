// Normalizations, indexing and generator ops, and the f16 path, against values derived by hand
// from the ONNX operator definitions.
#include <cmath>
#include <limits>

#include "tests/runtime/kernels_test_util.h"

namespace kiln {
namespace {

using testing::Const;
using testing::ExpectInvalid;
using testing::ExpectValues;
using testing::F32;
using testing::In;
using testing::Iota;
using testing::RunOne;
using testing::RunOp;
using testing::S64;

TEST(NormalizationTest, LayerAndRmsNormalization) {
  // mean 2.5, variance 1.25: y = (x - 2.5) / sqrt(1.25) * 2 + 1.
  const double inv = 1 / std::sqrt(1.25);
  Tensor y = RunOne("LayerNormalization", {In(F32({1, 4}, {1, 2, 3, 4})), Const(F32({1}, {2})), Const(F32({1}, {1}))},
                    {{"epsilon", 0.0f}});
  ExpectValues(y, {1, 4}, {-1.5 * inv * 2 + 1, -0.5 * inv * 2 + 1, 0.5 * inv * 2 + 1, 1.5 * inv * 2 + 1});
  // Normalising over the last two axes of [1,2,2]: all four values together.
  y = RunOne("LayerNormalization", {In(F32({1, 2, 2}, {1, 2, 3, 4})), Const(F32({2, 2}, {1, 1, 1, 1}))},
             {{"axis", int64_t{-2}}, {"epsilon", 0.0f}});
  ExpectValues(y, {1, 2, 2}, {-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv});
  // RMS: mean square of [3, 4] is 12.5.
  y = RunOne("RMSNormalization", {In(F32({2}, {3, 4})), Const(F32({2}, {1, 2}))}, {{"epsilon", 0.0f}});
  ExpectValues(y, {2}, {3 / std::sqrt(12.5), 8 / std::sqrt(12.5)});
}

TEST(NormalizationTest, BatchNormTrainingMode) {
  // Batch mean 2, population variance 1; running stats blend 0.9 old + 0.1 batch.
  auto out = RunOp("BatchNormalization",
                   {In(F32({2, 1}, {1, 3})), Const(F32({1}, {1})), Const(F32({1}, {0})), Const(F32({1}, {0})),
                    Const(F32({1}, {1}))},
                   {{"epsilon", 0.0f}, {"training_mode", int64_t{1}}}, 3);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectValues((*out)[0], {2, 1}, {-1, 1});
  ExpectValues((*out)[1], {1}, {0.2});
  ExpectValues((*out)[2], {1}, {1});
  ExpectInvalid(RunOp("BatchNormalization",
                      {In(F32({2, 1}, {1, 3})), Const(F32({1}, {1})), Const(F32({1}, {0})), Const(F32({1}, {0})),
                       Const(F32({1}, {1}))},
                      {}, 2)
                    .status(),
                {"BatchNormalization node 'n'", "training_mode"});
}

TEST(IndexOpsTest, RangeTriluCumSum) {
  ExpectValues(RunOne("Range", {In(S64({}, {1})), In(S64({}, {10})), In(S64({}, {3}))}), {3}, {1, 4, 7});
  ExpectValues(RunOne("Range", {Const(F32({}, {0})), Const(F32({}, {1})), Const(F32({}, {0.25f}))}), {4},
               {0, 0.25, 0.5, 0.75});
  ExpectValues(RunOne("Range", {In(S64({}, {5})), In(S64({}, {1})), In(S64({}, {-2}))}), {2}, {5, 3});
  Tensor m = F32({3, 3}, Iota(9));
  ExpectValues(RunOne("Trilu", {In(m)}), {3, 3}, {0, 1, 2, 0, 4, 5, 0, 0, 8});
  ExpectValues(RunOne("Trilu", {In(m), Const(S64({}, {-1}))}, {{"upper", int64_t{0}}}), {3, 3},
               {0, 0, 0, 3, 0, 0, 6, 7, 0});
  Tensor v = F32({3}, {1, 2, 3});
  ExpectValues(RunOne("CumSum", {In(v), Const(S64({}, {0}))}), {3}, {1, 3, 6});
  ExpectValues(RunOne("CumSum", {In(v), Const(S64({}, {0}))}, {{"exclusive", int64_t{1}}}), {3}, {0, 1, 3});
  ExpectValues(RunOne("CumSum", {In(v), Const(S64({}, {0}))}, {{"reverse", int64_t{1}}}), {3}, {6, 5, 3});
}

TEST(IndexOpsTest, TopKGatherElementsPReluDropout) {
  auto top = RunOp("TopK", {In(F32({4}, {1, 3, 2, 3})), Const(S64({1}, {2}))}, {}, 2);
  ASSERT_TRUE(top.ok()) << top.status();
  ExpectValues((*top)[0], {2}, {3, 3});
  ExpectValues((*top)[1], {2}, {1, 3});  // Ties: the lower index first.
  top = RunOp("TopK", {In(F32({4}, {1, 3, 2, 3})), Const(S64({1}, {2}))}, {{"largest", int64_t{0}}}, 2);
  ASSERT_TRUE(top.ok()) << top.status();
  ExpectValues((*top)[0], {2}, {1, 2});
  ExpectValues((*top)[1], {2}, {0, 2});
  ExpectValues(RunOne("GatherElements", {In(F32({2, 2}, {1, 2, 3, 4})), In(S64({2, 2}, {0, 0, 1, 0}))},
                      {{"axis", int64_t{1}}}),
               {2, 2}, {1, 1, 4, 3});
  ExpectValues(RunOne("PRelu", {In(F32({2, 2}, {-2, 3, -4, 5})), Const(F32({2, 1}, {0.5f, 0.25f}))}), {2, 2},
               {-1, 3, -1, 5});
  auto drop = RunOp("Dropout", {In(F32({2}, {1, 2})), Const(F32({}, {0.5f}))}, {}, 2);
  ASSERT_TRUE(drop.ok()) << drop.status();
  ExpectValues((*drop)[0], {2}, {1, 2});
  ExpectValues((*drop)[1], {2}, {1, 1});
}

TEST(HalfTest, ArithmeticRunsThroughF32) {
  auto half = [](std::vector<float> v) {
    std::vector<Half> h;
    for (float f : v) h.push_back(FloatToHalf(f));
    return Tensor::FromVector<Half>({static_cast<int64_t>(v.size())}, h);
  };
  Tensor y = RunOne("Add", {In(half({1.5f, -2})), In(half({2.25f, 0.5f}))});
  ASSERT_EQ(y.dtype(), DType::kF16);
  ExpectValues(y, {2}, {3.75, -1.5});
  y = RunOne("Relu", {In(half({-1, 2}))});
  ASSERT_EQ(y.dtype(), DType::kF16);
  ExpectValues(y, {2}, {0, 2});
  y = RunOne("Softmax", {In(half({0, 0}))});
  ExpectValues(y, {2}, {0.5, 0.5});
}

// Resize's image fast path (f32/f64, only the last two axes resized) against the general per-axis
// path, which a trailing axis of 1 selects: the same taps in the same order give the same bits.
TEST(ResizeTest, ImagePathMatchesGeneralPath) {
  std::vector<float> v(2 * 3 * 5 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * static_cast<float>(i)) * 10;
  const Tensor x4 = F32({2, 3, 5, 7}, v);
  const Tensor x5 = F32({2, 3, 5, 7, 1}, v);
  struct Case {
    std::string mode, ctm;
    std::vector<float> roi;
  };
  const std::vector<Case> cases = {{"linear", "half_pixel", {}},
                                   {"cubic", "align_corners", {}},
                                   {"nearest", "asymmetric", {}},
                                   {"linear", "tf_crop_and_resize", {-0.2f, 0.1f, 0.9f, 1.3f}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode + " " + c.ctm);
    std::map<std::string, AttrValue> attrs = {{"mode", c.mode},
                                              {"coordinate_transformation_mode", c.ctm},
                                              {"axes", std::vector<int64_t>{2, 3}},
                                              {"extrapolation_value", 5.5f}};
    const testing::OpInput roi = c.roi.empty() ? testing::Absent() : Const(F32({4}, c.roi));
    const Tensor fast = RunOne("Resize", {In(x4), roi, testing::Absent(), Const(S64({2}, {9, 4}))}, attrs);
    const Tensor general = RunOne("Resize", {In(x5), roi, testing::Absent(), Const(S64({2}, {9, 4}))}, attrs);
    ASSERT_TRUE(fast.valid() && general.valid());
    ASSERT_EQ(DimsToString(fast.dims()), "[2,3,9,4]");
    ASSERT_EQ(fast.num_elements(), general.num_elements());
    for (int64_t i = 0; i < fast.num_elements(); ++i) {
      ASSERT_EQ(fast.data<float>()[i], general.data<float>()[i]) << "element " << i;
    }
  }
}

// Nearest resizing picks its input as it is: a neighbour's Inf does not turn into NaN through a
// zero weight, and -0.0 stays -0.0 (on both paths).
TEST(ResizeTest, NearestPicksSpecialValuesUnchanged) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> v = {-0.0f, inf, -inf, 2.0f};
  for (const Dims& dims : {Dims{1, 1, 2, 2}, Dims{1, 2, 2, 1}}) {
    SCOPED_TRACE(DimsToString(dims));
    const bool image = dims.back() == 2;
    const Dims out = image ? Dims{1, 1, 4, 4} : Dims{1, 4, 4, 1};
    const Tensor y = RunOne("Resize", {In(F32(dims, v)), testing::Absent(), testing::Absent(), Const(S64({4}, out))},
                            {{"mode", std::string("nearest")},
                             {"coordinate_transformation_mode", std::string("asymmetric")},
                             {"nearest_mode", std::string("floor")}});
    ASSERT_EQ(DimsToString(y.dims()), DimsToString(out));
    for (int64_t oy = 0; oy < 4; ++oy) {
      for (int64_t ox = 0; ox < 4; ++ox) {
        const float want = v[(oy / 2) * 2 + ox / 2];
        const float got = y.data<float>()[oy * 4 + ox];
        EXPECT_EQ(std::signbit(got), std::signbit(want)) << oy << "," << ox;
        EXPECT_EQ(got, want) << oy << "," << ox;
      }
    }
  }
}

}  // namespace
}  // namespace kiln
