// The vectorized float exp (kiln/support/vector_math.h) against std::exp.
#include "kiln/support/vector_math.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace kiln {
namespace {

TEST(VectorMathTest, ExpWithinTwoUlpOverItsRange) {
  std::vector<float> x;
  for (float v = -103.9f; v <= 88.7f; v += 0.001373f) x.push_back(v);
  for (float v = -1e-3f; v <= 1e-3f; v += 1.7e-7f) x.push_back(v);
  std::vector<float> y = x;
  ExpInPlace(y.data(), y.size());  // odd length: the vector loop's remainder runs too
  int64_t worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t d = UlpDistance(y[i], std::exp(x[i]));
    worst = std::max(worst, d);
    ASSERT_LE(d, 2) << "exp(" << x[i] << ") = " << y[i] << ", std::exp " << std::exp(x[i]);
  }
  EXPECT_GE(worst, 0);
}

TEST(VectorMathTest, ExpSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -0.0f, -inf, inf, std::nanf(""), -110.0f, 100.0f, 88.72f, -100.0f, 1.0f};
  ExpInPlace(x.data(), x.size());
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], 1.0f);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_EQ(x[3], inf);
  EXPECT_TRUE(std::isnan(x[4]));
  EXPECT_EQ(x[5], 0.0f);
  EXPECT_EQ(x[6], inf);
  EXPECT_TRUE(std::isfinite(x[7]));
  EXPECT_GT(x[7], 3e38f);
  EXPECT_LE(UlpDistance(x[8], std::exp(-100.0f)), 2);  // subnormal
  EXPECT_LT(x[8], std::numeric_limits<float>::min());
  EXPECT_LE(UlpDistance(x[9], std::exp(1.0f)), 2);
}

}  // namespace
}  // namespace kiln
