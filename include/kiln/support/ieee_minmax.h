// Kiln's one definition of maximum, minimum and clamp on floating-point values: IEEE 754-2019
// `maximum` and `minimum` (as XLA's max/min and LLVM's llvm.maximum/llvm.minimum): a NaN operand gives
// NaN, and +0 is larger than -0. Every implementation of the ops built on them (the runtime kernels'
// Relu, Clip, Max, Min, HardSigmoid..., the reference interpreter, the CPU backend's loops and its
// epilogues after oneDNN primitives) uses these functions or code with the same results, so JIT on
// and JIT off agree bit for bit on NaN, Inf and -0.0 (docs/operation_semantics.md).
// Integers: the larger / smaller value.
#ifndef KILN_SUPPORT_IEEE_MINMAX_H_
#define KILN_SUPPORT_IEEE_MINMAX_H_

#include <cmath>
#include <cstddef>
#include <type_traits>

namespace kiln {

template <typename T>
constexpr T IeeeMaximum(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return std::signbit(a) ? b : a;  // max(-0, +0) = +0.
  }
  return a > b ? a : b;
}

template <typename T>
constexpr T IeeeMinimum(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return std::signbit(a) ? a : b;  // min(-0, +0) = -0.
  }
  return a < b ? a : b;
}

// clamp(x, lo, hi) = minimum(maximum(x, lo), hi): NaN in x (or a bound) gives NaN.
template <typename T>
constexpr T IeeeClamp(T x, T lo, T hi) {
  return IeeeMinimum(IeeeMaximum(x, lo), hi);
}

// IeeeClamp over n floats in place (the CPU backend's and the NHWC convolution kernel's epilogue
// after a oneDNN primitive; oneDNN's own clip and relu post-ops turn NaN into the lower bound).
// `lo` and `hi` must not be NaN. Vectorized for the host's widest vector ISA (lib/support).
void IeeeClampInPlace(float* x, size_t n, float lo, float hi);

}  // namespace kiln

#endif  // KILN_SUPPORT_IEEE_MINMAX_H_
