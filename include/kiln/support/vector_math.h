// Float math over arrays that vectorizes for the host's widest vector ISA (one clone per ISA, picked
// at load time): what the runtime kernels use where a libm call per element would dominate.
#ifndef KILN_SUPPORT_VECTOR_MATH_H_
#define KILN_SUPPORT_VECTOR_MATH_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kiln/support/build_config.h"  // KILN_VECTOR_CLONES, for the kernels' own vector loops

namespace kiln {

// x[i] = exp(x[i]). Within 2 ulp of std::exp for x in [-103.97, 88.72] (subnormal results
// included); 0 below (-inf included); +inf above; NaN stays NaN. The CPU backend's compiled exp
// computes the same.
void ExpInPlace(float* x, size_t n);

// x[i] = 1 / (1 + exp(-x[i])) and x[i] = tanh(x[i]), within 3 ulp of libm (through the exp above);
// NaN stays NaN, -0.0 stays -0.0 in tanh.
void SigmoidInPlace(float* x, size_t n);
void TanhInPlace(float* x, size_t n);
// x[i] = x[i] * sigmoid(x[i]) (SiLU), the sigmoid as SigmoidInPlace's.
void SwishInPlace(float* x, size_t n);
// x[i] = x[i] * IeeeClamp(x[i] / divisor + offset, 0, 1) (HardSwish with divisor 6 and offset 0.5),
// rounded step by step as the CPU backend's compiled HardSwish.
void HardSwishInPlace(float* x, size_t n, float divisor, float offset);

// The sum of x[i], and of (x[i] - mean)^2, accumulated in double (in 8 partial sums, combined at the
// end): the statistics of the normalizations and softmax.
double SumAsDouble(const float* x, size_t n);
// y[i] = exp(x[i] - shift) for x[i] - shift <= 0 (shift is the maximum of x; NaN stays NaN), and
// returns their sum as SumAsDouble's (x and y may be the same array): softmax's exponentials and
// normalizer in one pass. Normal results equal ExpInPlace's; results below the smallest normal
// float (x[i] - shift under -87.34) are 0 (positive differences are taken as 0).
double ExpShiftedSum(const float* x, float shift, float* y, size_t n);
double SumSquaredDeviations(const float* x, size_t n, double mean);

// The number of floats between a and b (0 for two NaNs, INT64_MAX for a NaN and a number; +0 and -0
// are 0 apart): how the accuracy of the functions above is stated and tested.
inline int64_t UlpDistance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof(ia));
  std::memcpy(&ib, &b, sizeof(ib));
  // Sign-magnitude bit patterns onto a monotonic integer line.
  const int64_t la = ia < 0 ? -static_cast<int64_t>(ia & 0x7fffffff) : ia;
  const int64_t lb = ib < 0 ? -static_cast<int64_t>(ib & 0x7fffffff) : ib;
  return la > lb ? la - lb : lb - la;
}

}  // namespace kiln

#endif  // KILN_SUPPORT_VECTOR_MATH_H_
