#include "kiln/support/vector_math.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kiln/support/ieee_minmax.h"

namespace kiln {

// exp(x) = 2^k * exp(r) with k = round(x / ln 2) and r = x - k ln 2 in [-ln2/2, ln2/2]; ln 2 is split
// in two parts (the first exact in a float with few mantissa bits) so that r is exact enough; exp(r)
// is a degree-6 polynomial (Taylor coefficients adjusted for the interval, as in the Cephes
// library's expf); 2^k is applied as two normal factors 2^(k/2) and 2^(k - k/2), so that results
// down to the smallest subnormal round once. Out-of-range and NaN inputs are handled by selects
// after the arithmetic, which keeps the loop free of branches. The CPU backend emits the same
// computation in IR (KernelBuilder::EmitExp): the JIT and the kernels agree.
namespace {

constexpr float kLog2e = 1.44269504088896341f;

// exp(c - k ln 2) for k = round(c / ln 2): the polynomial on [-ln2/2, ln2/2].
inline float ExpOfReduced(float c, float k) {
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  const float r = (c - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r) + r + 1.0f;
}

inline float ExpF(float v) {
  constexpr float kHi = 88.7228317f;   // exp overflows above
  constexpr float kLo = -103.972084f;  // exp is below half the smallest subnormal below
  float c = v == v ? v : 0.0f;
  c = c > kHi ? kHi : c;
  c = c < kLo ? kLo : c;
  const float k = std::floor(c * kLog2e + 0.5f);
  const float p = ExpOfReduced(c, k);
  // k is in [-150, 128]: both factors are normal floats.
  const int32_t ki = static_cast<int32_t>(k);
  const int32_t half = ki >> 1;
  const uint32_t b1 = static_cast<uint32_t>(half + 127) << 23;
  const uint32_t b2 = static_cast<uint32_t>(ki - half + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof(s1));
  std::memcpy(&s2, &b2, sizeof(s2));
  float e = p * s1 * s2;
  e = v > kHi ? INFINITY : e;
  e = v < kLo ? 0.0f : e;
  return v == v ? e : v;
}

// ExpF for v <= 0 (and NaN), as softmax needs after subtracting the row maximum: one scale factor
// instead of two and no overflow handling, with results below the smallest normal float (v under
// -87.34) flushed to 0. The same polynomial, so normal results equal ExpF's.
inline float ExpNonPositiveF(float v) {
  constexpr float kLo = -87.3365479f;  // exp(kLo) is the smallest normal float
  float c = v == v ? v : 0.0f;
  c = c < kLo ? kLo : c;
  c = c > 0.0f ? 0.0f : c;
  const float k = std::floor(c * kLog2e + 0.5f);  // In [-126, 0].
  const float p = ExpOfReduced(c, k);
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  float e = p * scale;
  e = v < kLo ? 0.0f : e;
  return v == v ? e : v;
}

// 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: no overflow, subnormal results kept.
inline float SigmoidF(float v) {
  const float e = ExpF(-std::fabs(v));
  const float d = 1.0f + e;
  return v >= 0.0f ? 1.0f / d : e / d;
}

}  // namespace

KILN_VECTOR_CLONES void ExpInPlace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = ExpF(x[i]);
}

KILN_VECTOR_CLONES void SigmoidInPlace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = SigmoidF(x[i]);
}

KILN_VECTOR_CLONES void SwishInPlace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] * SigmoidF(x[i]);
}

KILN_VECTOR_CLONES void HardSwishInPlace(float* x, size_t n, float divisor, float offset) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] * IeeeClamp(x[i] / divisor + offset, 0.0f, 1.0f);
}

// For |x| < 0.625 x (1 + x^2 P(x^2)) (the Cephes library's tanhf coefficients), else 1 - 2 / (e^2|x|
// + 1) with the sign of x; as the CPU backend's compiled tanh.
KILN_VECTOR_CLONES void TanhInPlace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float z = v * v;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = v * (1.0f + p * z);
    const float a = std::fabs(v);
    const float large = std::copysign(1.0f - 2.0f / (ExpF(2.0f * a) + 1.0f), v);
    x[i] = a < 0.625f ? small : large;
  }
}

namespace {
constexpr size_t kLanes = 8;

double Combine(const double* lanes, double tail) {
  double sum = 0;
  for (size_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum + tail;
}
}  // namespace

KILN_VECTOR_CLONES double ExpShiftedSum(const float* x, float shift, float* y, size_t n) {
  // Blocks of exponentials into a local array first: x and y may be the same array, which would
  // otherwise keep the loop from vectorizing.
  constexpr size_t kBlock = 8 * kLanes;
  double lanes[kLanes] = {};
  float e[kBlock];
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    for (size_t j = 0; j < kBlock; ++j) e[j] = ExpNonPositiveF(x[i + j] - shift);
    for (size_t j = 0; j < kBlock; j += kLanes) {
      for (size_t l = 0; l < kLanes; ++l) lanes[l] += e[j + l];
    }
    std::memcpy(y + i, e, sizeof(e));
  }
  double tail = 0;
  for (; i < n; ++i) {
    y[i] = ExpNonPositiveF(x[i] - shift);
    tail += y[i];
  }
  return Combine(lanes, tail);
}

KILN_VECTOR_CLONES double SumAsDouble(const float* x, size_t n) {
  double lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  }
  double tail = 0;
  for (; i < n; ++i) tail += x[i];
  return Combine(lanes, tail);
}

KILN_VECTOR_CLONES double SumSquaredDeviations(const float* x, size_t n, double mean) {
  double lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const double d = x[i + l] - mean;
      lanes[l] += d * d;
    }
  }
  double tail = 0;
  for (; i < n; ++i) tail += (x[i] - mean) * (x[i] - mean);
  return Combine(lanes, tail);
}

}  // namespace kiln
