// Element-type dispatch and element conversions shared by literals, the interpreter and backends.
#ifndef KILN_HLO_NATIVE_TYPES_H_
#define KILN_HLO_NATIVE_TYPES_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kiln/hlo/literal.h"
#include "kiln/hlo/shape.h"

namespace kiln::hlo {

template <typename T>
inline constexpr bool kIsF16Like = std::is_same_v<T, F16> || std::is_same_v<T, BF16>;
template <typename T>
inline constexpr bool kIsFloat = kIsF16Like<T> || std::is_floating_point_v<T>;

// Calls f(T{}) with T the native type of `type` (an array type); aborts for other types.
template <typename F>
decltype(auto) DispatchArrayType(PrimitiveType type, F&& f) {
  switch (type) {
    case PrimitiveType::PRED: return f(bool{});
    case PrimitiveType::S8: return f(int8_t{});
    case PrimitiveType::U8: return f(uint8_t{});
    case PrimitiveType::S16: return f(int16_t{});
    case PrimitiveType::U16: return f(uint16_t{});
    case PrimitiveType::S32: return f(int32_t{});
    case PrimitiveType::U32: return f(uint32_t{});
    case PrimitiveType::S64: return f(int64_t{});
    case PrimitiveType::U64: return f(uint64_t{});
    case PrimitiveType::F16: return f(F16{});
    case PrimitiveType::BF16: return f(BF16{});
    case PrimitiveType::F32: return f(float{});
    case PrimitiveType::F64: return f(double{});
    default: break;
  }
  KILN_CHECK(false, std::string("DispatchArrayType: not an array type: ") +
                        std::string(PrimitiveTypeName(type)));
  return f(float{});
}

// The type arithmetic happens in: float for F16/BF16, else T itself.
template <typename T>
using ComputeType = std::conditional_t<kIsF16Like<T>, float, T>;

template <typename T>
inline ComputeType<T> ToCompute(T v) {
  if constexpr (std::is_same_v<T, F16>) return HalfToFloat(v);
  else if constexpr (std::is_same_v<T, BF16>) return BFloat16ToFloat(v);
  else return v;
}
// Rounds a compute value back to T (nearest even for F16/BF16).
template <typename T>
inline T FromCompute(ComputeType<T> v) {
  if constexpr (std::is_same_v<T, F16>) return FloatToHalf(v);
  else if constexpr (std::is_same_v<T, BF16>) return FloatToBFloat16(v);
  else return v;
}

// HLO `convert` of one element: integers wrap (two's complement truncation); floats to integers
// truncate toward zero and saturate at the integer type's range, NaN becomes 0; anything to PRED is
// `!= 0`; PRED to numbers is 0 or 1; float to float rounds to nearest even.
template <typename To, typename From>
inline To ConvertElement(From from) {
  if constexpr (std::is_same_v<To, From>) {
    return from;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (kIsF16Like<From>) return ToCompute(from) != 0.0f;
    else return from != From{0};
  } else if constexpr (kIsF16Like<From>) {
    return ConvertElement<To, float>(ToCompute(from));
  } else if constexpr (kIsF16Like<To>) {
    if constexpr (std::is_same_v<From, double>) {
      return FromCompute<To>(static_cast<float>(from));
    } else {
      return FromCompute<To>(static_cast<float>(from));
    }
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(from)) return To{0};
    // Limits as From; the upper limit of 64-bit types is not exactly representable, so compare
    // with >=.
    constexpr From lo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From hi = static_cast<From>(std::numeric_limits<To>::max());
    if (from <= lo) return std::numeric_limits<To>::min();
    if (from >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(from);
  } else {
    return static_cast<To>(from);
  }
}

}  // namespace kiln::hlo

#endif  // KILN_HLO_NATIVE_TYPES_H_
