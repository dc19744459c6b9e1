// Elementwise opcodes: unary, binary, compare, select, clamp, convert, bitcast-convert,
// reduce-precision.
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <type_traits>

#include "hlo/evaluator/evaluator.h"
#include "hlo/evaluator/scalar_ops.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"

namespace kiln::hlo::evaluator {
namespace {

using hlo::ComputeType;
using hlo::Literal;
using hlo::Opcode;
using hlo::PrimitiveType;

absl::Status Unsupported(const hlo::Instruction& instr, PrimitiveType t) {
  return absl::UnimplementedError(kiln::StrCat("interpreter: ", hlo::OpcodeString(instr.opcode()),
                                      " is not defined for ", hlo::PrimitiveTypeName(t)));
}

template <typename T, typename F>
void MapInto(const Literal& in, Literal& out, F f) {
  auto src = in.data<T>();
  auto dst = out.data<T>();
  for (size_t i = 0; i < src.size(); ++i) {
    dst[i] = hlo::FromCompute<T>(static_cast<ComputeType<T>>(f(hlo::ToCompute(src[i]))));
  }
}

template <typename T>
absl::StatusOr<Literal> Unary(const hlo::Instruction& instr, const Literal& in) {
  using C = ComputeType<T>;
  Opcode op = instr.opcode();
  if (op == Opcode::kCopy) return in;
  if (op == Opcode::kIsFinite) {
    Literal out(instr.shape());
    if constexpr (hlo::kIsFloat<T>) {
      auto src = in.data<T>();
      auto dst = out.data<bool>();
      for (size_t i = 0; i < src.size(); ++i) dst[i] = std::isfinite(hlo::ToCompute(src[i]));
      return out;
    }
    return Unsupported(instr, in.shape().element_type());
  }
  Literal out(in.shape());
  if constexpr (std::is_same_v<T, bool>) {
    if (op == Opcode::kNot) {
      MapInto<T>(in, out, [](C a) { return !a; });
      return out;
    }
    return Unsupported(instr, PrimitiveType::PRED);
  } else if constexpr (std::is_floating_point_v<C>) {
    switch (op) {
      case Opcode::kAbs: MapInto<T>(in, out, [](C a) { return std::fabs(a); }); break;
      case Opcode::kCeil: MapInto<T>(in, out, [](C a) { return std::ceil(a); }); break;
      case Opcode::kFloor: MapInto<T>(in, out, [](C a) { return std::floor(a); }); break;
      case Opcode::kRound: MapInto<T>(in, out, [](C a) { return std::round(a); }); break;
      case Opcode::kRoundNearestEven: MapInto<T>(in, out, [](C a) { return std::nearbyint(a); }); break;
      case Opcode::kCos: MapInto<T>(in, out, [](C a) { return std::cos(a); }); break;
      case Opcode::kSin: MapInto<T>(in, out, [](C a) { return std::sin(a); }); break;
      case Opcode::kTan: MapInto<T>(in, out, [](C a) { return std::tan(a); }); break;
      case Opcode::kTanh: MapInto<T>(in, out, [](C a) { return std::tanh(a); }); break;
      case Opcode::kExp: MapInto<T>(in, out, [](C a) { return std::exp(a); }); break;
      case Opcode::kExpm1: MapInto<T>(in, out, [](C a) { return std::expm1(a); }); break;
      case Opcode::kLog: MapInto<T>(in, out, [](C a) { return std::log(a); }); break;
      case Opcode::kLog1p: MapInto<T>(in, out, [](C a) { return std::log1p(a); }); break;
      case Opcode::kLogistic: MapInto<T>(in, out, [](C a) { return C(1) / (C(1) + std::exp(-a)); }); break;
      case Opcode::kNegate: MapInto<T>(in, out, [](C a) { return -a; }); break;
      case Opcode::kRsqrt: MapInto<T>(in, out, [](C a) { return C(1) / std::sqrt(a); }); break;
      case Opcode::kSqrt: MapInto<T>(in, out, [](C a) { return std::sqrt(a); }); break;
      case Opcode::kCbrt: MapInto<T>(in, out, [](C a) { return std::cbrt(a); }); break;
      case Opcode::kErf: MapInto<T>(in, out, [](C a) { return std::erf(a); }); break;
      case Opcode::kSign:
        MapInto<T>(in, out, [](C a) -> C {
          if (std::isnan(a) || a == C(0)) return a;
          return a > 0 ? C(1) : C(-1);
        });
        break;
      default: return Unsupported(instr, in.shape().element_type());
    }
    return out;
  } else {
    using UC = U<C>;
    switch (op) {
      case Opcode::kAbs:
        MapInto<T>(in, out, [](C a) -> C {
          if constexpr (std::is_signed_v<C>) return a < 0 ? static_cast<C>(UC(0) - static_cast<UC>(a)) : a;
          return a;
        });
        break;
      case Opcode::kNegate:
        MapInto<T>(in, out, [](C a) -> C { return static_cast<C>(UC(0) - static_cast<UC>(a)); });
        break;
      case Opcode::kNot: MapInto<T>(in, out, [](C a) -> C { return static_cast<C>(~a); }); break;
      case Opcode::kPopulationCount:
        MapInto<T>(in, out, [](C a) -> C { return static_cast<C>(std::popcount(static_cast<UC>(a))); });
        break;
      case Opcode::kClz:
        MapInto<T>(in, out, [](C a) -> C { return static_cast<C>(std::countl_zero(static_cast<UC>(a))); });
        break;
      case Opcode::kSign:
        MapInto<T>(in, out, [](C a) -> C {
          if constexpr (std::is_signed_v<C>) return a > 0 ? 1 : (a < 0 ? -1 : 0);
          return a > 0 ? 1 : 0;
        });
        break;
      default: return Unsupported(instr, in.shape().element_type());
    }
    return out;
  }
}

template <typename T>
absl::StatusOr<Literal> Binary(const hlo::Instruction& instr, const Literal& a, const Literal& b) {
  using C = ComputeType<T>;
  Literal out(instr.shape());
  auto x = a.data<T>();
  auto y = b.data<T>();
  if (instr.opcode() == Opcode::kCompare) {
    auto dst = out.data<bool>();
    // Compares key(x[i]) with key(y[i]) in the instruction's direction.
    auto run = [&](auto key) {
      auto go = [&](auto cmp) {
        for (size_t i = 0; i < x.size(); ++i) dst[i] = cmp(key(x[i]), key(y[i]));
      };
      switch (instr.comparison_direction()) {
        case hlo::ComparisonDirection::kEq: go(std::equal_to<>()); break;
        case hlo::ComparisonDirection::kNe: go(std::not_equal_to<>()); break;
        case hlo::ComparisonDirection::kGe: go(std::greater_equal<>()); break;
        case hlo::ComparisonDirection::kGt: go(std::greater<>()); break;
        case hlo::ComparisonDirection::kLe: go(std::less_equal<>()); break;
        case hlo::ComparisonDirection::kLt: go(std::less<>()); break;
      }
    };
    if constexpr (hlo::kIsFloat<T>) {
      if (instr.comparison_type() == hlo::ComparisonType::kTotalOrder) {
        // Total order: the sign-magnitude bits read as a two's complement integer, with the
        // magnitude bits of negative values flipped.
        run([](T v) -> int64_t {
          using S = std::conditional_t<sizeof(T) == 2, int16_t,
                                       std::conditional_t<sizeof(T) == 4, int32_t, int64_t>>;
          S s;
          std::memcpy(&s, &v, sizeof(T));
          return s < 0 ? static_cast<int64_t>(s ^ std::numeric_limits<S>::max()) : s;
        });
        return out;
      }
    }
    run([](T v) -> C { return hlo::ToCompute(v); });
    return out;
  }
  auto dst = out.data<T>();
  bool ok = WithBinaryFn<T>(instr.opcode(), [&](auto fn) {
    for (size_t i = 0; i < x.size(); ++i) {
      dst[i] = hlo::FromCompute<T>(fn(hlo::ToCompute(x[i]), hlo::ToCompute(y[i])));
    }
  });
  if (!ok) return Unsupported(instr, a.shape().element_type());
  return out;
}

template <typename T>
Literal Select(const hlo::Instruction& instr, const Literal& p, const Literal& t, const Literal& f) {
  Literal out(instr.shape());
  auto pred = p.data<bool>();
  auto a = t.data<T>();
  auto b = f.data<T>();
  auto dst = out.data<T>();
  bool scalar = pred.size() == 1 && dst.size() != 1;
  for (size_t i = 0; i < dst.size(); ++i) dst[i] = pred[scalar ? 0 : i] ? a[i] : b[i];
  return out;
}

template <typename T>
Literal Clamp(const hlo::Instruction& instr, const Literal& lo, const Literal& x, const Literal& hi) {
  using C = ComputeType<T>;
  Literal out(instr.shape());
  auto l = lo.data<T>();
  auto v = x.data<T>();
  auto h = hi.data<T>();
  auto dst = out.data<T>();
  bool ls = l.size() == 1, hs = h.size() == 1;
  bool ok = WithBinaryFn<T>(Opcode::kMaximum, [&](auto max_fn) {
    WithBinaryFn<T>(Opcode::kMinimum, [&](auto min_fn) {
      for (size_t i = 0; i < dst.size(); ++i) {
        C m = max_fn(hlo::ToCompute(v[i]), hlo::ToCompute(l[ls ? 0 : i]));
        dst[i] = hlo::FromCompute<T>(min_fn(m, hlo::ToCompute(h[hs ? 0 : i])));
      }
    });
  });
  (void)ok;
  return out;
}

// XLA's reduce-precision on the bits of an IEEE value with `kMant` mantissa and `kExp` exponent
// bits: round the mantissa to nearest even, then overflow to infinity / underflow to zero.
template <typename F, typename Bits, int kMant, int kExp>
F ReducePrecisionBits(F value, int exponent_bits, int mantissa_bits) {
  Bits x = std::bit_cast<Bits>(value);
  const Bits sign_mask = Bits(1) << (kMant + kExp);
  const Bits exp_mask = ((Bits(1) << kExp) - 1) << kMant;
  if (std::isnan(value)) {
    if (mantissa_bits > 0) return value;
    return std::bit_cast<F>(static_cast<Bits>((x & sign_mask) | exp_mask));
  }
  if (mantissa_bits < kMant) {
    Bits last_bit_mask = Bits(1) << (kMant - mantissa_bits);
    Bits base_bias = (last_bit_mask >> 1) - 1;
    Bits last_bit = (x & last_bit_mask) >> (kMant - mantissa_bits);
    Bits truncation_mask = ~(last_bit_mask - 1);
    x = (x + last_bit + base_bias) & truncation_mask;
  }
  if (exponent_bits < kExp) {
    Bits sign = x & sign_mask;
    Bits exp = x & exp_mask;
    const int64_t bias = (int64_t(1) << (kExp - 1)) - 1;
    const int64_t reduced_max = bias + ((int64_t(1) << (exponent_bits - 1)) - 1);
    const int64_t reduced_min = bias - ((int64_t(1) << (exponent_bits - 1)) - 2);
    if (exp > (static_cast<Bits>(reduced_max) << kMant)) {
      x = sign | exp_mask;
    } else if (exp <= (static_cast<Bits>(reduced_min) << kMant)) {
      x = sign;
    }
  }
  return std::bit_cast<F>(x);
}

template <typename T>
Literal ReducePrecision(const hlo::Instruction& instr, const Literal& in) {
  Literal out(in.shape());
  int e = static_cast<int>(instr.exponent_bits()), m = static_cast<int>(instr.mantissa_bits());
  auto src = in.data<T>();
  auto dst = out.data<T>();
  for (size_t i = 0; i < src.size(); ++i) {
    if constexpr (std::is_same_v<T, double>) {
      dst[i] = ReducePrecisionBits<double, uint64_t, 52, 11>(src[i], e, m);
    } else if constexpr (hlo::kIsFloat<T>) {
      dst[i] = hlo::FromCompute<T>(
          ReducePrecisionBits<float, uint32_t, 23, 8>(hlo::ToCompute(src[i]), e, m));
    }
  }
  return out;
}

absl::StatusOr<Literal> BitcastConvert(const hlo::Instruction& instr, const Literal& in) {
  Literal out(instr.shape());
  if (out.size_bytes() != in.size_bytes()) {
    return absl::InternalError("bitcast-convert: byte sizes differ");
  }
  if (in.size_bytes() > 0) std::memcpy(out.untyped_data(), in.untyped_data(), in.size_bytes());
  return out;
}

}  // namespace

absl::StatusOr<Literal> EvalElementwise(const hlo::Instruction& instr, Operands ops) {
  Opcode op = instr.opcode();
  PrimitiveType t = ops[0]->shape().element_type();
  if (hlo::IsElementwiseUnary(op)) {
    return hlo::DispatchArrayType(t, [&](auto tag) { return Unary<decltype(tag)>(instr, *ops[0]); });
  }
  if (hlo::IsElementwiseBinary(op)) {
    return hlo::DispatchArrayType(
        t, [&](auto tag) { return Binary<decltype(tag)>(instr, *ops[0], *ops[1]); });
  }
  switch (op) {
    case Opcode::kSelect:
      return hlo::DispatchArrayType(ops[1]->shape().element_type(), [&](auto tag) {
        return Select<decltype(tag)>(instr, *ops[0], *ops[1], *ops[2]);
      });
    case Opcode::kClamp:
      return hlo::DispatchArrayType(t, [&](auto tag) {
        return Clamp<decltype(tag)>(instr, *ops[0], *ops[1], *ops[2]);
      });
    case Opcode::kConvert:
      return ops[0]->Convert(instr.shape().element_type());
    case Opcode::kBitcastConvert:
      return BitcastConvert(instr, *ops[0]);
    case Opcode::kReducePrecision:
      return hlo::DispatchArrayType(
          t, [&](auto tag) { return ReducePrecision<decltype(tag)>(instr, *ops[0]); });
    default:
      return absl::InternalError(kiln::StrCat("EvalElementwise: unexpected ", hlo::OpcodeString(op)));
  }
}

}  // namespace kiln::hlo::evaluator
