// The vectorized float exp (kiln/support/vector_math.h) against std::exp.
#include "kiln/support/vector_math.h"

#include <algorithm>
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

// Softmax's exponentials: exp(x - shift) for differences <= 0, normal results within 2 ulp of
// std::exp, smaller ones flushed to 0, NaN kept, and the sum of what was written; in place too.
TEST(VectorMathTest, ExpShiftedSumOfNonPositiveDifferences) {
  const float shift = 3.5f;
  std::vector<float> x;
  for (float v = -110.0f; v <= 0.0f; v += 0.00731f) x.push_back(v + shift);
  x.push_back(shift);
  x.push_back(-std::numeric_limits<float>::infinity());
  std::vector<float> y(x.size());
  const double sum = ExpShiftedSum(x.data(), shift, y.data(), x.size());
  double want_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = x[i] - shift;
    const float want = std::exp(d);
    want_sum += y[i];
    if (want >= std::numeric_limits<float>::min()) {
      ASSERT_LE(UlpDistance(y[i], want), 2) << "exp(" << d << ") = " << y[i] << ", std::exp " << want;
    } else {
      ASSERT_LE(y[i], std::numeric_limits<float>::min()) << "exp(" << d << ")";
      ASSERT_GE(y[i], 0.0f) << "exp(" << d << ")";
    }
  }
  EXPECT_EQ(y[x.size() - 2], 1.0f);
  EXPECT_EQ(y.back(), 0.0f);
  EXPECT_NEAR(sum, want_sum, 1e-12 * want_sum);
  std::vector<float> in_place = x;
  EXPECT_EQ(ExpShiftedSum(in_place.data(), shift, in_place.data(), in_place.size()), sum);
  EXPECT_EQ(in_place, y);
  std::vector<float> nan = {shift, std::nanf(""), shift - 1.0f};
  EXPECT_TRUE(std::isnan(ExpShiftedSum(nan.data(), shift, nan.data(), nan.size())));
  EXPECT_TRUE(std::isnan(nan[1]));
}

TEST(VectorMathTest, SigmoidAndTanhWithinThreeUlp) {
  std::vector<float> x;
  for (float v = -110.0f; v <= 110.0f; v += 0.0113f) x.push_back(v);
  for (float v = -1.0f; v <= 1.0f; v += 1.1e-4f) x.push_back(v);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, inf, -inf, std::nanf(""), 1e-30f, -1e-30f, 0.625f, -0.625f}) x.push_back(v);
  std::vector<float> s = x, t = x;
  SigmoidInPlace(s.data(), s.size());
  TanhInPlace(t.data(), t.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float want_s = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x[i]))));
    ASSERT_LE(UlpDistance(s[i], want_s), 3) << "sigmoid(" << x[i] << ") = " << s[i] << ", want " << want_s;
    ASSERT_LE(UlpDistance(t[i], std::tanh(x[i])), 3) << "tanh(" << x[i] << ") = " << t[i];
    if (x[i] == 0.0f) EXPECT_EQ(std::signbit(t[i]), std::signbit(x[i]));
  }
}

}  // namespace
}  // namespace kiln
