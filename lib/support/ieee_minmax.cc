#include "kiln/support/ieee_minmax.h"

#include <cmath>

#include "kiln/support/build_config.h"

namespace kiln {
namespace {

// x[i] = IeeeClamp(x[i], lo, hi) for bounds that are not NaN, written as selects that vectorize. The
// comparisons are false for a NaN x, so NaN stays. At x == lo the IEEE maximum is lo unless x is +0
// and lo is -0: `<` keeps x exactly when lo is negative (or -0), `<=` replaces it otherwise; likewise
// for hi.
template <bool kLoNegative, bool kHiNegative>
inline void ClampLoop(float* x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; ++i) {
    float v = x[i];
    v = (kLoNegative ? (v < lo) : (v <= lo)) ? lo : v;
    v = (kHiNegative ? (v >= hi) : (v > hi)) ? hi : v;
    x[i] = v;
  }
}

}  // namespace

KILN_VECTOR_CLONES void IeeeClampInPlace(float* x, size_t n, float lo, float hi) {
  const bool lo_neg = std::signbit(lo), hi_neg = std::signbit(hi);
  if (lo_neg && hi_neg) return ClampLoop<true, true>(x, n, lo, hi);
  if (lo_neg) return ClampLoop<true, false>(x, n, lo, hi);
  if (hi_neg) return ClampLoop<false, true>(x, n, lo, hi);
  ClampLoop<false, false>(x, n, lo, hi);
}

}  // namespace kiln
