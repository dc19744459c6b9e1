// Private to hlo/evaluator: scalar semantics of the elementwise binary opcodes, selected
// once per loop (no per-element dispatch).
#ifndef KILN_HLO_EVALUATOR_SCALAR_OPS_H_
#define KILN_HLO_EVALUATOR_SCALAR_OPS_H_

#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kiln/support/ieee_minmax.h"
#include "kiln/hlo/native_types.h"
#include "kiln/hlo/opcode.h"

namespace kiln::hlo::evaluator {

template <typename T>
using U = std::make_unsigned_t<T>;

// Integer division as XLA defines it: x / 0 = -1 (all bits set), INT_MIN / -1 = INT_MIN.
template <typename T>
T IntDiv(T a, T b) {
  if (b == 0) return static_cast<T>(-1);
  if constexpr (std::is_signed_v<T>) {
    if (a == std::numeric_limits<T>::min() && b == -1) return a;
  }
  return static_cast<T>(a / b);
}
// x % 0 = x, INT_MIN % -1 = 0; the sign follows the dividend.
template <typename T>
T IntRem(T a, T b) {
  if (b == 0) return a;
  if constexpr (std::is_signed_v<T>) {
    if (a == std::numeric_limits<T>::min() && b == -1) return 0;
  }
  return static_cast<T>(a % b);
}
// Integer power with wrap-around; negative exponents give 0 except for bases 1 and -1.
template <typename T>
T IntPow(T base, T exp) {
  if constexpr (std::is_signed_v<T>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exp & 1) ? -1 : 1;
      return 0;
    }
  }
  U<T> result = 1, b = static_cast<U<T>>(base);
  U<T> e = static_cast<U<T>>(exp);
  while (e != 0) {
    if (e & 1) result = static_cast<U<T>>(result * b);
    b = static_cast<U<T>>(b * b);
    e >>= 1;
  }
  return static_cast<T>(result);
}

// Calls f(fn) where fn(a, b) computes `opcode` on two values of ComputeType<T> (for PRED, bool).
// Returns false when the opcode is not defined for T.
template <typename T, typename F>
bool WithBinaryFn(hlo::Opcode opcode, F&& f) {
  using C = hlo::ComputeType<T>;
  using hlo::Opcode;
  if constexpr (std::is_same_v<T, bool>) {
    switch (opcode) {
      case Opcode::kAnd: case Opcode::kMinimum: f([](C a, C b) -> C { return a && b; }); return true;
      case Opcode::kOr: case Opcode::kMaximum: f([](C a, C b) -> C { return a || b; }); return true;
      case Opcode::kXor: f([](C a, C b) -> C { return a != b; }); return true;
      default: return false;
    }
  } else if constexpr (std::is_floating_point_v<C>) {
    switch (opcode) {
      case Opcode::kAdd: f([](C a, C b) -> C { return a + b; }); return true;
      case Opcode::kSubtract: f([](C a, C b) -> C { return a - b; }); return true;
      case Opcode::kMultiply: f([](C a, C b) -> C { return a * b; }); return true;
      case Opcode::kDivide: f([](C a, C b) -> C { return a / b; }); return true;
      case Opcode::kRemainder: f([](C a, C b) -> C { return std::fmod(a, b); }); return true;
      // IEEE 754-2019 maximum/minimum (kiln/support/ieee_minmax.h): NaN propagates; max(-0, +0) = +0.
      case Opcode::kMaximum: f([](C a, C b) -> C { return IeeeMaximum(a, b); }); return true;
      case Opcode::kMinimum: f([](C a, C b) -> C { return IeeeMinimum(a, b); }); return true;
      case Opcode::kPower: f([](C a, C b) -> C { return std::pow(a, b); }); return true;
      case Opcode::kAtan2: f([](C a, C b) -> C { return std::atan2(a, b); }); return true;
      default: return false;
    }
  } else {
    constexpr int kBits = sizeof(T) * 8;
    switch (opcode) {
      case Opcode::kAdd:
        f([](C a, C b) -> C { return static_cast<C>(static_cast<U<C>>(a) + static_cast<U<C>>(b)); });
        return true;
      case Opcode::kSubtract:
        f([](C a, C b) -> C { return static_cast<C>(static_cast<U<C>>(a) - static_cast<U<C>>(b)); });
        return true;
      case Opcode::kMultiply:
        // Widen to at least unsigned int first: uint16_t operands would promote to (signed) int,
        // whose product can overflow.
        f([](C a, C b) -> C {
          using W = std::common_type_t<U<C>, unsigned>;
          return static_cast<C>(static_cast<W>(static_cast<U<C>>(a)) * static_cast<W>(static_cast<U<C>>(b)));
        });
        return true;
      case Opcode::kDivide: f([](C a, C b) -> C { return IntDiv(a, b); }); return true;
      case Opcode::kRemainder: f([](C a, C b) -> C { return IntRem(a, b); }); return true;
      case Opcode::kMaximum: f([](C a, C b) -> C { return a > b ? a : b; }); return true;
      case Opcode::kMinimum: f([](C a, C b) -> C { return a < b ? a : b; }); return true;
      case Opcode::kPower: f([](C a, C b) -> C { return IntPow(a, b); }); return true;
      case Opcode::kAnd: f([](C a, C b) -> C { return a & b; }); return true;
      case Opcode::kOr: f([](C a, C b) -> C { return a | b; }); return true;
      case Opcode::kXor: f([](C a, C b) -> C { return a ^ b; }); return true;
      // Shift amounts are read as unsigned; amounts >= the bit width give 0 (or the sign fill).
      case Opcode::kShiftLeft:
        f([](C a, C b) -> C {
          U<C> s = static_cast<U<C>>(b);
          return s >= kBits ? C{0} : static_cast<C>(static_cast<U<C>>(a) << s);
        });
        return true;
      case Opcode::kShiftRightLogical:
        f([](C a, C b) -> C {
          U<C> s = static_cast<U<C>>(b);
          return s >= kBits ? C{0} : static_cast<C>(static_cast<U<C>>(a) >> s);
        });
        return true;
      case Opcode::kShiftRightArithmetic:
        f([](C a, C b) -> C {
          U<C> s = static_cast<U<C>>(b);
          using S = std::make_signed_t<C>;
          S sa = static_cast<S>(a);
          if (s >= kBits) return static_cast<C>(sa < 0 ? S{-1} : S{0});
          return static_cast<C>(sa >> s);
        });
        return true;
      default: return false;
    }
  }
}

}  // namespace kiln::hlo::evaluator

#endif  // KILN_HLO_EVALUATOR_SCALAR_OPS_H_
