// IEEE 754-2019 maximum/minimum/clamp (kiln/support/ieee_minmax.h), and the vectorizable in-place clamp
// that must agree with them on every pair of special and ordinary values.
#include "kiln/support/ieee_minmax.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace kiln {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

uint32_t Bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

// Same value, NaN meeting any NaN and zeros compared with their sign.
bool Same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || Bits(a) == Bits(b); }

TEST(IeeeMinMaxTest, NanPropagatesFromEitherSide) {
  const float nan = std::nanf("");
  EXPECT_TRUE(std::isnan(IeeeMaximum(nan, 1.0f)));
  EXPECT_TRUE(std::isnan(IeeeMaximum(1.0f, nan)));
  EXPECT_TRUE(std::isnan(IeeeMinimum(nan, -kInf)));
  EXPECT_TRUE(std::isnan(IeeeMinimum(-kInf, nan)));
  EXPECT_TRUE(std::isnan(IeeeClamp(nan, 0.0f, 6.0f)));
}

TEST(IeeeMinMaxTest, PositiveZeroIsLargerThanNegativeZero) {
  EXPECT_EQ(Bits(IeeeMaximum(-0.0f, 0.0f)), Bits(0.0f));
  EXPECT_EQ(Bits(IeeeMaximum(0.0f, -0.0f)), Bits(0.0f));
  EXPECT_EQ(Bits(IeeeMinimum(-0.0f, 0.0f)), Bits(-0.0f));
  EXPECT_EQ(Bits(IeeeMinimum(0.0f, -0.0f)), Bits(-0.0f));
  EXPECT_EQ(Bits(IeeeClamp(-0.0f, 0.0f, 6.0f)), Bits(0.0f));  // Relu6(-0) = +0.
}

TEST(IeeeMinMaxTest, IntegersAndInfinities) {
  EXPECT_EQ(IeeeMaximum(-3, 2), 2);
  EXPECT_EQ(IeeeMinimum<int64_t>(-3, 2), -3);
  EXPECT_EQ(IeeeClamp(kInf, 0.0f, 6.0f), 6.0f);
  EXPECT_EQ(IeeeClamp(-kInf, 0.0f, 6.0f), 0.0f);
}

TEST(IeeeMinMaxTest, InPlaceClampAgreesWithIeeeClamp) {
  const std::vector<float> values = {std::nanf(""), -std::nanf(""), kInf, -kInf, 0.0f, -0.0f, 1.0f, -1.0f,
                                     6.0f, 7.5f, -0.25f, 1e-45f, -1e-45f, 3.4e38f, -3.4e38f};
  const std::vector<float> bounds = {-kInf, -1.0f, -0.25f, -0.0f, 0.0f, 1e-45f, 0.5f, 6.0f, kInf};
  for (float lo : bounds) {
    for (float hi : bounds) {
      if (lo > hi) continue;
      std::vector<float> x = values;
      IeeeClampInPlace(x.data(), x.size(), lo, hi);
      for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_TRUE(Same(x[i], IeeeClamp(values[i], lo, hi)))
            << "clamp(" << values[i] << ", " << lo << ", " << hi << "): in place " << x[i] << ", IeeeClamp "
            << IeeeClamp(values[i], lo, hi);
      }
    }
  }
}

}  // namespace
}  // namespace kiln
