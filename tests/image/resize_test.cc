// Pillow-compatible antialiased bilinear resizing and float preprocessing.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kDev = fs::path(KILN_SHARED_DATA) / "imagenet-sample" / "dev";

Tensor Row(const std::vector<uint8_t>& values) {
  return Tensor::FromVector<uint8_t>({1, static_cast<int64_t>(values.size()), 1}, values);
}

std::vector<uint8_t> Values(const Tensor& t) {
  return std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + t.num_elements());
}

// Expected values below are worked by hand from the filter's definition (see image.h): output i
// has centre c = (i + 0.5) * in / out; input j weighs tri((j + 0.5 - c) / max(in / out, 1)).
TEST(ResizeTest, DownscaleByTwoUsesTheWidenedTriangle) {
  // Output 0: c = 1, weights .75 .75 .25 over inputs 0..2 -> (0 + 52.5 + 35) / 1.75 = 50.
  // Output 1: c = 3, weights .25 .75 .75 over inputs 1..3 -> (17.5 + 105 + 157.5) / 1.75 = 160.
  absl::StatusOr<Tensor> out = ResizeBilinear(Row({0, 70, 140, 210}), 1, 2);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->TypeString(), "u8[1,2,1]");
  EXPECT_EQ(Values(*out), (std::vector<uint8_t>{50, 160}));
}

TEST(ResizeTest, UpscaleByTwoInterpolatesAndClampsAtEdges) {
  // Centres .25 .75 1.25 1.75: edge outputs see one input; inner ones weigh .75/.25.
  absl::StatusOr<Tensor> out = ResizeBilinear(Row({0, 100}), 1, 4);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values(*out), (std::vector<uint8_t>{0, 25, 75, 100}));
}

TEST(ResizeTest, VerticalPassAndChannelsAreIndependent) {
  // A 4x1 column with two channels: channel 0 as above, channel 1 constant.
  Tensor column = Tensor::FromVector<uint8_t>({4, 1, 2}, {0, 9, 70, 9, 140, 9, 210, 9});
  absl::StatusOr<Tensor> out = ResizeBilinear(column, 2, 1);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->TypeString(), "u8[2,1,2]");
  EXPECT_EQ(Values(*out), (std::vector<uint8_t>{50, 9, 160, 9}));
}

TEST(ResizeTest, RoundsHalfUp) {
  // 2 -> 1: c = 1, weights tri(-.25) = tri(.25) = .75 each -> (3 + 4) / 2 = 3.5 -> 4.
  absl::StatusOr<Tensor> out = ResizeBilinear(Row({3, 4}), 1, 1);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Values(*out), (std::vector<uint8_t>{4}));
}

TEST(ResizeTest, SameSizeIsACopy) {
  Tensor in = Row({1, 2, 3});
  absl::StatusOr<Tensor> out = ResizeBilinear(in, 1, 3);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->BitEqual(in));
  EXPECT_NE(out->raw_data(), in.raw_data());
}

TEST(ResizeTest, BadArguments) {
  EXPECT_EQ(ResizeBilinear(Row({1}), 0, 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResizeBilinear(Tensor::FromVector<float>({1, 1, 1}, {1.0f}), 2, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResizeBilinear(Tensor::FromVector<uint8_t>({2, 2}, {1, 2, 3, 4}), 2, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The largest number of pixel levels (out of 128*128*3 per photo) allowed to differ from the
// references made with Pillow. The filter above is Pillow's, so the expectation is 0.
constexpr int64_t kMaxDifferingLevels = 0;

TEST(ResizeTest, DevPhotosMatchPillowAt128) {
  int photos = 0;
  int64_t differing = 0;
  int max_abs = 0;
  std::map<int, int64_t> histogram;  // |difference| -> count.
  for (const auto& entry : fs::directory_iterator(kDev / "exact")) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = "_128_u8.npy";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string synset = name.substr(0, name.size() - suffix.size());
    SCOPED_TRACE(synset);
    absl::StatusOr<Tensor> image = ReadImageFile((kDev / (synset + ".jpg")).string());
    ASSERT_TRUE(image.ok()) << image.status();
    absl::StatusOr<Tensor> resized = ResizeBilinear(*image, 128, 128);
    ASSERT_TRUE(resized.ok()) << resized.status();
    absl::StatusOr<Tensor> expected = ReadNpyFile(entry.path().string());
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(resized->TypeString(), expected->TypeString());
    for (int64_t i = 0; i < resized->num_elements(); ++i) {
      const int d = std::abs(int{resized->data<uint8_t>()[i]} - int{expected->data<uint8_t>()[i]});
      if (d == 0) continue;
      ++differing;
      ++histogram[d];
      max_abs = std::max(max_abs, d);
    }
    ++photos;
  }
  ASSERT_GE(photos, 10);
  std::printf("resize 224->128 vs Pillow: %d photos, %lld of %lld pixel levels differ, max |diff| %d\n",
              photos, static_cast<long long>(differing), static_cast<long long>(photos) * 128 * 128 * 3,
              max_abs);
  for (const auto& [d, count] : histogram) std::printf("  |diff| %d: %lld\n", d, static_cast<long long>(count));
  EXPECT_LE(differing, kMaxDifferingLevels);
}

TEST(PreprocessTest, NchwAndNhwcWithOffsetAndScale) {
  // A 1x2 RGB image: pixels (0, 128, 255) and (64, 192, 32).
  Tensor image = Tensor::FromVector<uint8_t>({1, 2, 3}, {0, 128, 255, 64, 192, 32});
  absl::StatusOr<Tensor> nchw = ImageToTensor(image);
  ASSERT_TRUE(nchw.ok()) << nchw.status();
  EXPECT_EQ(nchw->TypeString(), "f32[1,3,1,2]");
  const std::vector<float> expected_nchw = {-1.0f, -0.5f, 0.0f, 0.5f, 127.0f / 128, -0.75f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(nchw->data<float>()[i], expected_nchw[i]) << i;

  absl::StatusOr<Tensor> nhwc = ImageToTensor(image, {.offset = 0.0f, .scale = 255.0f, .layout = Layout::kNHWC});
  ASSERT_TRUE(nhwc.ok()) << nhwc.status();
  EXPECT_EQ(nhwc->TypeString(), "f32[1,1,2,3]");
  const std::vector<uint8_t> pixels = {0, 128, 255, 64, 192, 32};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(nhwc->data<float>()[i], pixels[i] / 255.0f) << i;

  EXPECT_FALSE(ImageToTensor(image, {.scale = 0.0f}).ok());
  EXPECT_FALSE(ImageToTensor(Tensor::FromVector<float>({1, 1, 1}, {0.0f})).ok());
}

TEST(PreprocessTest, NonFiniteScaleOrOffsetIsRefused) {
  Tensor image = Tensor::FromVector<uint8_t>({1, 1, 3}, {0, 1, 2});
  absl::StatusOr<Tensor> nan = ImageToTensor(image, {.scale = std::nanf("")});
  EXPECT_EQ(nan.status().message(), "ImageToTensor: scale (nan) must be finite and not 0, and offset (128) finite");
  EXPECT_FALSE(ImageToTensor(image, {.offset = -INFINITY}).ok());
  EXPECT_FALSE(ImageToTensor(image, {.scale = INFINITY}).ok());
}

TEST(PreprocessTest, ParseLayout) {
  EXPECT_EQ(*ParseLayout("NCHW"), Layout::kNCHW);
  EXPECT_EQ(*ParseLayout("nhwc"), Layout::kNHWC);
  absl::StatusOr<Layout> bad = ParseLayout("chw");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("chw"), std::string::npos);
}

}  // namespace
}  // namespace kiln
