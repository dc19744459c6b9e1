// Elementwise ops: unary math and activations, Clip, binary arithmetic with multidirectional
// broadcasting, the variadic Max/Min/Sum/Mean, comparisons, Where and Cast.
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "kiln/support/strings.h"
#include "kiln/support/ieee_minmax.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// Broadcasting.

// out[i] = f(a[ia], b[ib]) over the broadcast of `a_dims` and `b_dims` to `out_dims`.
template <typename A, typename B, typename R, typename F>
void BroadcastBinary(const A* a, const Dims& a_dims, const B* b, const Dims& b_dims, R* out,
                     const Dims& out_dims, F f) {
  const int64_t n = NumElements(out_dims);
  if (n == 0) return;
  const int64_t na = NumElements(a_dims), nb = NumElements(b_dims);
  if (na == n && nb == n) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    return;
  }
  if (na == n && nb == 1) {
    const B bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
    return;
  }
  if (na == 1 && nb == n) {
    const A av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
    return;
  }
  const int r = static_cast<int>(out_dims.size());
  std::vector<int64_t> sa = BroadcastStrides(a_dims, out_dims), sb = BroadcastStrides(b_dims, out_dims);
  const int64_t inner = out_dims[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t off_a = 0, off_b = 0;
  for (int64_t o = 0; o < n; o += inner) {
    R* dst = out + o;
    for (int64_t j = 0; j < inner; ++j) dst[j] = f(a[off_a + j * ia], b[off_b + j * ib]);
    for (int d = r - 2; d >= 0; --d) {
      off_a += sa[d];
      off_b += sb[d];
      if (++idx[d] < out_dims[d]) break;
      off_a -= sa[d] * out_dims[d];
      off_b -= sb[d] * out_dims[d];
      idx[d] = 0;
    }
  }
}

// Shape function of an op whose outputs broadcast all inputs; `out_dtype` kInvalid means "the
// inputs' common dtype". With `same_dtype`, every input must have the dtype of input 0.
absl::Status BroadcastShape(InferenceContext& ctx, DType out_dtype, bool same_dtype, int first = 0) {
  TensorType out;
  out.dtype = out_dtype == DType::kInvalid ? ctx.input(first).dtype : out_dtype;
  bool first_input = true;
  for (int i = first; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error(kiln::StrCat("input ", i, " must be present"));
    const TensorType& t = ctx.input(i);
    if (same_dtype && t.dtype != ctx.input(first).dtype) {
      return ctx.Error(kiln::StrCat("inputs must share one element type; input ", first, " is ",
                                    DTypeName(ctx.input(first).dtype), " and input ", i, " is ",
                                    DTypeName(t.dtype)));
    }
    if (!t.rank_known) {
      out.rank_known = false;
      continue;
    }
    if (first_input) {
      out.dims = t.dims;
      first_input = false;
      continue;
    }
    absl::StatusOr<Dims> d = BroadcastDims(out.dims, t.dims);
    if (!d.ok()) return ctx.Error(FromAbsl(d.status().message()));
    out.dims = *d;
  }
  if (!out.rank_known) out.dims.clear();
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::StatusOr<Dims> RuntimeBroadcast(KernelContext& ctx, const Tensor& a, const Tensor& b) {
  absl::StatusOr<Dims> d = BroadcastDims(a.dims(), b.dims());
  if (!d.ok()) return ctx.Error(FromAbsl(d.status().message()));
  return d;
}

// ---------------------------------------------------------------------------------------------
// Unary ops.

struct UnaryParams {
  float alpha = 0, beta = 0, gamma = 0;
};

enum class UnaryKind {
  kRelu, kNeg, kAbs, kSign,  // Numeric (float and integer).
  kSigmoid, kTanh, kExp, kLog, kSqrt, kReciprocal, kFloor, kCeil, kRound, kErf, kLeakyRelu, kElu,
  kSelu, kHardSigmoid, kHardSwish, kSoftplus, kSoftsign, kSin, kCos, kGelu, kGeluTanh, kTan, kAsin, kAcos,
  kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh, kThresholdedRelu, kCelu, kShrink, kMish, kSwish,
  kCount  // not a kind: the number of kinds
};

bool IsNumericUnary(UnaryKind k) {
  return k == UnaryKind::kRelu || k == UnaryKind::kNeg || k == UnaryKind::kAbs || k == UnaryKind::kSign;
}

template <typename T>
inline __attribute__((always_inline)) T ApplyUnary(UnaryKind kind, T x, const UnaryParams& p) {
  switch (kind) {
    case UnaryKind::kRelu: return IeeeMaximum(x, T(0));  // Relu(NaN) = NaN, Relu(-0) = +0.
    case UnaryKind::kNeg: return WrapNeg<T>(x);  // The most negative integer stays itself.
    case UnaryKind::kAbs:
      if constexpr (std::is_unsigned_v<T>) return x;
      else if constexpr (std::is_floating_point_v<T>) return std::fabs(x);  // Abs(-0) = +0.
      else return x < T(0) ? WrapNeg<T>(x) : x;
    case UnaryKind::kSign: return x > T(0) ? T(1) : (x < T(0) ? static_cast<T>(-1) : T(0));
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (kind) {
      case UnaryKind::kSigmoid:
        return x >= 0 ? T(1.0) / (T(1.0) + std::exp(-x)) : std::exp(x) / (T(1.0) + std::exp(x));
      case UnaryKind::kTanh: return std::tanh(x);
      case UnaryKind::kExp: return std::exp(x);
      case UnaryKind::kLog: return std::log(x);
      case UnaryKind::kSqrt: return std::sqrt(x);
      case UnaryKind::kReciprocal: return T(1.0) / x;
      case UnaryKind::kFloor: return std::floor(x);
      case UnaryKind::kCeil: return std::ceil(x);
      case UnaryKind::kRound: return std::nearbyint(x);  // Ties to even (default rounding mode).
      case UnaryKind::kErf: return std::erf(x);
      case UnaryKind::kLeakyRelu: return x >= 0 ? x : static_cast<T>(p.alpha * x);
      case UnaryKind::kElu: return x >= 0 ? x : p.alpha * (std::exp(x) - T(1.0));
      case UnaryKind::kSelu: return x > 0 ? p.gamma * x : p.gamma * (p.alpha * std::exp(x) - p.alpha);
      case UnaryKind::kHardSigmoid: return IeeeClamp(static_cast<T>(p.alpha * x + p.beta), T(0.0), T(1.0));
      case UnaryKind::kHardSwish: return x * IeeeClamp(static_cast<T>(x / T(6.0) + T(0.5)), T(0.0), T(1.0));
      case UnaryKind::kSoftplus: return x > T(20.0) ? x : std::log1p(std::exp(x));
      case UnaryKind::kSoftsign: return x / (T(1.0) + std::fabs(x));
      case UnaryKind::kSin: return std::sin(x);
      case UnaryKind::kCos: return std::cos(x);
      case UnaryKind::kGelu: return T(0.5) * x * (T(1.0) + std::erf(x / std::sqrt(T(2.0))));
      case UnaryKind::kGeluTanh:
        return T(0.5) * x * (T(1.0) + std::tanh(std::sqrt(T(2.0) / T(3.14159265358979)) * (x + T(0.044715) * x * x * x)));
      case UnaryKind::kTan: return std::tan(x);
      case UnaryKind::kAsin: return std::asin(x);
      case UnaryKind::kAcos: return std::acos(x);
      case UnaryKind::kAtan: return std::atan(x);
      case UnaryKind::kSinh: return std::sinh(x);
      case UnaryKind::kCosh: return std::cosh(x);
      case UnaryKind::kAsinh: return std::asinh(x);
      case UnaryKind::kAcosh: return std::acosh(x);
      case UnaryKind::kAtanh: return std::atanh(x);
      case UnaryKind::kThresholdedRelu: return x > p.alpha ? x : T(0.0);
      case UnaryKind::kCelu:
        return IeeeMaximum(T(0.0), x) + IeeeMinimum(T(0.0), static_cast<T>(p.alpha * (std::exp(x / p.alpha) - T(1.0))));
      case UnaryKind::kShrink: return x < -p.alpha ? x + p.beta : (x > p.alpha ? x - p.beta : T(0.0));
      case UnaryKind::kMish: return x * std::tanh(x > T(20.0) ? x : std::log1p(std::exp(x)));
      case UnaryKind::kSwish: return x / (T(1.0) + std::exp(-p.alpha * x));
      default: break;
    }
  }
  return x;
}

// The loop of one kind: with the kind a constant, ApplyUnary's switch folds away and the loop
// vectorizes where the operation allows.
template <UnaryKind K, typename T>
void UnaryLoop(const T* src, T* dst, int64_t n, const UnaryParams& p) {
  for (int64_t i = 0; i < n; ++i) dst[i] = ApplyUnary<T>(K, src[i], p);
}

template <typename T, size_t... K>
constexpr auto UnaryLoops(std::index_sequence<K...>) {
  return std::array<void (*)(const T*, T*, int64_t, const UnaryParams&), sizeof...(K)>{
      &UnaryLoop<static_cast<UnaryKind>(K), T>...};
}

template <typename T>
void RunUnary(UnaryKind kind, const T* src, T* dst, int64_t n, const UnaryParams& p) {
  static constexpr auto kLoops = UnaryLoops<T>(std::make_index_sequence<static_cast<size_t>(UnaryKind::kCount)>());
  kLoops[static_cast<size_t>(kind)](src, dst, n, p);
}

void AddUnary(OpRegistry& registry, const std::string& name, UnaryKind kind) {
  auto shape_fn = [kind](InferenceContext& ctx) -> absl::Status {
    const TensorType& x = ctx.input(0);
    if (!IsFloatType(x.dtype) && x.dtype != DType::kF64 && !(IsNumericUnary(kind) && IsIntType(x.dtype))) {
      return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype), " is not supported (",
                                    IsNumericUnary(kind) ? "float, s8, u8, s32 or s64" : "f32, f16 or bf16", " expected)"));
    }
    if (ctx.node().op == "Gelu") {
      KILN_ASSIGN_OR_RETURN(std::string approx, ctx.node().GetString("approximate", "none"));
      if (approx != "none" && approx != "tanh") {
        return ctx.Error(kiln::StrCat("approximate='", approx, "' is not one of none, tanh"));
      }
    }
    TensorType out{x.dtype, x.dims, x.rank_known};
    ctx.set_output(0, std::move(out));
    return absl::OkStatus();
  };
  auto factory = [registered_kind = kind](const KernelConstruction& kc)
      -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    UnaryKind kind = registered_kind;
    UnaryParams p;
    const Node& node = kc.node;
    switch (kind) {
      case UnaryKind::kGelu: {
        KILN_ASSIGN_OR_RETURN(std::string approx, node.GetString("approximate", "none"));
        if (approx == "tanh") kind = UnaryKind::kGeluTanh;
        break;
      }
      case UnaryKind::kThresholdedRelu: { KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 1.0f)); break; }
      case UnaryKind::kCelu: { KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 1.0f)); break; }
      case UnaryKind::kShrink: {
        KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("lambd", 0.5f));
        KILN_ASSIGN_OR_RETURN(p.beta, node.GetFloat("bias", 0.0f));
        break;
      }
      case UnaryKind::kSwish: { KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 1.0f)); break; }
      case UnaryKind::kLeakyRelu: { KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 0.01f)); break; }
      case UnaryKind::kElu: { KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 1.0f)); break; }
      case UnaryKind::kSelu: {
        KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 1.67326319217681884765625f));
        KILN_ASSIGN_OR_RETURN(p.gamma, node.GetFloat("gamma", 1.05070102214813232421875f));
        break;
      }
      case UnaryKind::kHardSigmoid: {
        KILN_ASSIGN_OR_RETURN(p.alpha, node.GetFloat("alpha", 0.2f));
        KILN_ASSIGN_OR_RETURN(p.beta, node.GetFloat("beta", 0.5f));
        break;
      }
      default: break;
    }
    return MakeFunctionKernel([kind, p](KernelContext& ctx) -> absl::Status {
      const Tensor& x = ctx.input(0);
      KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
      return DispatchNumeric(x.dtype(), ctx.node().op, [&](auto tag) -> absl::Status {
        using T = decltype(tag);
        if (!std::is_floating_point_v<T> && !IsNumericUnary(kind)) {
          return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype()), " is not supported"));
        }
        const T* src = x.data<T>();
        T* dst = y->data<T>();
        const int64_t n = x.num_elements();
        RunUnary<T>(kind, src, dst, n, p);
        return absl::OkStatus();
      });
    });
  };
  AddOp(registry, MakeOpDef(name, 1, 1, shape_fn, factory), /*half_via_f32=*/true);
}

// Clip(X, min?, max?): min/max are scalars (absent: no bound).
absl::Status ClipCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.input(i).dtype() != x.dtype() || ctx.input(i).num_elements() != 1) {
      return ctx.Error(kiln::StrCat(i == 1 ? "min" : "max", " must be a scalar of the input's type ",
                                    DTypeName(x.dtype()), "; got ", ctx.input(i).TypeString()));
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
  return DispatchNumeric(x.dtype(), "Clip", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    // An absent bound is -inf / +inf for floats (Clip(+inf) = +inf), the type's range for integers.
    constexpr bool kFloat = std::is_floating_point_v<T>;
    T lo = ctx.has_input(1) ? ctx.input(1).data<T>()[0]
                            : (kFloat ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest());
    T hi = ctx.has_input(2) ? ctx.input(2).data<T>()[0]
                            : (kFloat ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max());
    const T* src = x.data<T>();
    T* dst = y->data<T>();
    const int64_t n = x.num_elements();
    for (int64_t i = 0; i < n; ++i) dst[i] = IeeeClamp(src[i], lo, hi);  // NaN stays NaN.
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// Binary arithmetic.

enum class BinaryKind { kAdd, kSub, kMul, kDiv, kMax, kMin, kMod, kPRelu };

template <typename T>
absl::Status ApplyBinary(KernelContext& ctx, BinaryKind kind, const T* a, const Dims& ad, const T* b,
                         const Dims& bd, T* out, const Dims& od, bool fmod) {
  switch (kind) {
    // Integers wrap around on overflow (WrapAdd etc.), as numpy does.
    case BinaryKind::kAdd: BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return WrapAdd<T>(x, y); }); break;
    case BinaryKind::kSub: BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return WrapSub<T>(x, y); }); break;
    case BinaryKind::kMul: BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return WrapMul<T>(x, y); }); break;
    case BinaryKind::kPRelu:
      BroadcastBinary(a, ad, b, bd, out, od, [](T x, T slope) { return x < T(0) ? WrapMul<T>(x, slope) : x; });
      break;
    case BinaryKind::kMax:
      BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return IeeeMaximum(x, y); });
      break;
    case BinaryKind::kMin:
      BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return IeeeMinimum(x, y); });
      break;
    case BinaryKind::kDiv:
    case BinaryKind::kMod:
      if constexpr (std::is_integral_v<T>) {
        const int64_t nb = NumElements(bd);
        for (int64_t i = 0; i < nb; ++i) {
          if (b[i] == 0) return ctx.Error("integer division by zero");
        }
        if (kind == BinaryKind::kDiv) {
          // C++ integer division truncates toward zero, as ONNX specifies. Dividing by -1 negates
          // (wrapping: the most negative value over -1 overflows, undefined behaviour in C++).
          BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) {
            if constexpr (std::is_signed_v<T>) { if (y == T(-1)) return WrapNeg<T>(x); }
            return static_cast<T>(x / y);
          });
        } else if (fmod) {
          BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) {
            if constexpr (std::is_signed_v<T>) { if (y == T(-1)) return T(0); }
            return static_cast<T>(x % y);
          });
        } else {
          // Python-style modulus: the result takes the sign of the divisor.
          BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) {
            if constexpr (std::is_signed_v<T>) { if (y == T(-1)) return T(0); }
            T r = static_cast<T>(x % y);
            if (r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
            return r;
          });
        }
      } else {
        if (kind == BinaryKind::kDiv) {
          BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return x / y; });
        } else if (fmod) {
          BroadcastBinary(a, ad, b, bd, out, od, [](T x, T y) { return std::fmod(x, y); });
        } else {
          return ctx.Error("Mod of floating-point values requires fmod=1");
        }
      }
      break;
  }
  return absl::OkStatus();
}

void AddBinary(OpRegistry& registry, const std::string& name, BinaryKind kind) {
  auto shape_fn = [](InferenceContext& ctx) -> absl::Status {
    if (!IsF64OrInt(ctx.input(0).dtype) && !IsFloatType(ctx.input(0).dtype)) {
      return ctx.Error(kiln::StrCat("element type ", DTypeName(ctx.input(0).dtype), " is not supported"));
    }
    return BroadcastShape(ctx, DType::kInvalid, /*same_dtype=*/true);
  };
  auto factory = [kind](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    KILN_ASSIGN_OR_RETURN(int64_t fmod, kc.node.GetInt("fmod", 0));
    return MakeFunctionKernel([kind, fmod](KernelContext& ctx) -> absl::Status {
      const Tensor& a = ctx.input(0);
      const Tensor& b = ctx.input(1);
      if (a.dtype() != b.dtype()) {
        return ctx.Error(kiln::StrCat("inputs must share one element type; got ", a.TypeString(), " and ",
                                      b.TypeString()));
      }
      KILN_ASSIGN_OR_RETURN(Dims od, RuntimeBroadcast(ctx, a, b));
      KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), od));
      return DispatchNumeric(a.dtype(), ctx.node().op, [&](auto tag) -> absl::Status {
        using T = decltype(tag);
        return ApplyBinary<T>(ctx, kind, a.data<T>(), a.dims(), b.data<T>(), b.dims(), y->data<T>(), od,
                              fmod != 0);
      });
    });
  };
  AddOp(registry, MakeOpDef(name, 2, 2, shape_fn, factory), /*half_via_f32=*/true);
}

// Max, Min, Sum, Mean over one or more inputs, broadcast together.
void AddVariadic(OpRegistry& registry, const std::string& name, BinaryKind kind, bool mean) {
  auto shape_fn = [mean](InferenceContext& ctx) -> absl::Status {
    DType t = ctx.input(0).dtype;
    if (!IsFloatType(t) && (mean || !IsF64OrInt(t))) {
      return ctx.Error(kiln::StrCat("element type ", DTypeName(t), " is not supported"));
    }
    return BroadcastShape(ctx, DType::kInvalid, /*same_dtype=*/true);
  };
  auto compute = [kind, mean](KernelContext& ctx) -> absl::Status {
    const DType dtype = ctx.input(0).dtype();
    Tensor acc = ctx.input(0);
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      const Tensor& b = ctx.input(i);
      if (b.dtype() != dtype) return ctx.Error("inputs must share one element type");
      KILN_ASSIGN_OR_RETURN(Dims od, RuntimeBroadcast(ctx, acc, b));
      KILN_ASSIGN_OR_RETURN(Tensor next, Tensor::Create(dtype, od));
      KILN_RETURN_IF_ERROR(DispatchNumeric(dtype, ctx.node().op, [&](auto tag) -> absl::Status {
        using T = decltype(tag);
        return ApplyBinary<T>(ctx, kind, acc.data<T>(), acc.dims(), b.data<T>(), b.dims(), next.data<T>(), od,
                              false);
      }));
      acc = next;
    }
    if (ctx.num_inputs() == 1) acc = acc.Clone();
    if (mean) {
      float* p = acc.data<float>();
      const float n = static_cast<float>(ctx.num_inputs());
      for (int64_t i = 0; i < acc.num_elements(); ++i) p[i] /= n;
    }
    ctx.SetOutput(0, acc);
    return absl::OkStatus();
  };
  AddOp(registry, StatelessOpDef(name, 1, -1, shape_fn, compute), /*half_via_f32=*/true);
}

// Converts `t` elementwise into a vector of T.
template <typename T>
std::vector<T> ConvertToVector(const Tensor& t) {
  std::vector<T> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      v[i] = static_cast<T>(t.GetAsDouble(i));
    } else {
      v[i] = IsFloatType(t.dtype()) ? SaturatingCast<T>(t.GetAsDouble(i)) : static_cast<T>(t.GetAsInt64(i));
    }
  }
  return v;
}

// Pow(X, Y): the result has X's type; Y may be any numeric type.
absl::Status PowCompute(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(Dims od, RuntimeBroadcast(ctx, a, b));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), od));
  if (!IsIntType(b.dtype()) && b.dtype() != DType::kF32) {
    return ctx.Error(kiln::StrCat("exponent type ", DTypeName(b.dtype()), " is not supported"));
  }
  return DispatchNumeric(a.dtype(), "Pow", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    std::vector<double> e = ConvertToVector<double>(b);
    if constexpr (std::is_same_v<T, float>) {
      if (b.dtype() == DType::kF32) {
        BroadcastBinary(a.data<float>(), a.dims(), b.data<float>(), b.dims(), y->data<float>(), od,
                        [](float x, float p) { return std::pow(x, p); });
        return absl::OkStatus();
      }
    }
    BroadcastBinary(a.data<T>(), a.dims(), e.data(), b.dims(), y->data<T>(), od, [](T x, double p) {
      if constexpr (std::is_integral_v<T>) {
        return SaturatingCast<T>(std::pow(static_cast<double>(x), p));  // Out of range: saturates, not UB.
      } else {
        return static_cast<T>(std::pow(static_cast<double>(x), p));
      }
    });
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// Comparisons, logic and Where.

enum class CompareKind { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual };

void AddCompare(OpRegistry& registry, const std::string& name, CompareKind kind) {
  auto shape_fn = [](InferenceContext& ctx) -> absl::Status {
    return BroadcastShape(ctx, DType::kBool, /*same_dtype=*/true);
  };
  auto compute = [kind](KernelContext& ctx) -> absl::Status {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype()) return ctx.Error("inputs must share one element type");
    KILN_ASSIGN_OR_RETURN(Dims od, RuntimeBroadcast(ctx, a, b));
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kBool, od));
    auto run = [&](auto tag) -> absl::Status {
      using T = decltype(tag);
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      bool* out = y->data<bool>();
      switch (kind) {
        case CompareKind::kEqual: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](T x, T y) { return x == y; }); break;
        case CompareKind::kLess: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](T x, T y) { return x < y; }); break;
        case CompareKind::kGreater: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](T x, T y) { return x > y; }); break;
        case CompareKind::kLessOrEqual: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](T x, T y) { return x <= y; }); break;
        case CompareKind::kGreaterOrEqual: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](T x, T y) { return x >= y; }); break;
      }
      return absl::OkStatus();
    };
    if (a.dtype() == DType::kBool) return run(bool{});
    return DispatchNumeric(a.dtype(), ctx.node().op, run);
  };
  AddOp(registry, StatelessOpDef(name, 2, 2, shape_fn, compute), /*half_via_f32=*/true);
}

enum class LogicKind { kAnd, kOr, kXor };

void AddLogic(OpRegistry& registry, const std::string& name, LogicKind kind) {
  auto shape_fn = [](InferenceContext& ctx) -> absl::Status {
    if (ctx.input(0).dtype != DType::kBool) return ctx.Error("inputs must be bool");
    return BroadcastShape(ctx, DType::kBool, /*same_dtype=*/true);
  };
  auto compute = [kind](KernelContext& ctx) -> absl::Status {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != DType::kBool || b.dtype() != DType::kBool) return ctx.Error("inputs must be bool");
    KILN_ASSIGN_OR_RETURN(Dims od, RuntimeBroadcast(ctx, a, b));
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kBool, od));
    const bool* pa = a.data<bool>();
    const bool* pb = b.data<bool>();
    bool* out = y->data<bool>();
    switch (kind) {
      case LogicKind::kAnd: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](bool x, bool y) { return x && y; }); break;
      case LogicKind::kOr: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](bool x, bool y) { return x || y; }); break;
      case LogicKind::kXor: BroadcastBinary(pa, a.dims(), pb, b.dims(), out, od, [](bool x, bool y) { return x != y; }); break;
    }
    return absl::OkStatus();
  };
  AddOp(registry, StatelessOpDef(name, 2, 2, shape_fn, compute));
}

absl::Status NotCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kBool) return ctx.Error("input must be bool");
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kBool, x.dims()));
  for (int64_t i = 0; i < x.num_elements(); ++i) y->data<bool>()[i] = !x.data<bool>()[i];
  return absl::OkStatus();
}

// Where(cond, X, Y): element size based, any dtype for X and Y.
absl::Status WhereCompute(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype() != DType::kBool) return ctx.Error("condition must be bool");
  if (x.dtype() != y.dtype()) return ctx.Error("X and Y must share one element type");
  KILN_ASSIGN_OR_RETURN(Dims xy, RuntimeBroadcast(ctx, x, y));
  absl::StatusOr<Dims> broadcast = BroadcastDims(c.dims(), xy);
  if (!broadcast.ok()) return ctx.Error(FromAbsl(broadcast.status().message()));
  const Dims od = *broadcast;
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, x.dtype(), od));
  const int r = static_cast<int>(od.size());
  std::vector<int64_t> sc = BroadcastStrides(c.dims(), od), sx = BroadcastStrides(x.dims(), od),
                       sy = BroadcastStrides(y.dims(), od);
  const size_t es = DTypeSize(x.dtype());
  const int64_t n = NumElements(od);
  std::vector<int64_t> idx(r, 0);
  const char* px = static_cast<const char*>(x.raw_data());
  const char* py = static_cast<const char*>(y.raw_data());
  char* po = static_cast<char*>(out->raw_data());
  for (int64_t i = 0; i < n; ++i) {
    int64_t oc = 0, ox = 0, oy = 0;
    for (int d = 0; d < r; ++d) {
      oc += idx[d] * sc[d];
      ox += idx[d] * sx[d];
      oy += idx[d] * sy[d];
    }
    std::memcpy(po + i * es, c.data<bool>()[oc] ? px + ox * es : py + oy * es, es);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < od[d]) break;
      idx[d] = 0;
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Cast.

absl::StatusOr<DType> DTypeFromOnnx(int64_t onnx_type) {
  switch (onnx_type) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kS8;
    case 6: return DType::kS32;
    case 7: return DType::kS64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 16: return DType::kBF16;
    case 11: return DType::kF64;
    case 5: return DType::kS16;
    case 4: return DType::kU16;
    case 12: return DType::kU32;
    case 13: return DType::kU64;
    default:
      return absl::UnimplementedError(kiln::StrCat("target type ", onnx_type,
                                                   " (ONNX DataType) is not supported"));
  }
}

template <typename T>
double LoadAsDouble(const T& v) {
  if constexpr (std::is_same_v<T, Half>) return HalfToFloat(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16ToFloat(v);
  else return static_cast<double>(v);
}

template <typename To, typename From>
To ConvertValue(const From& v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, Half>) {
    return FloatToHalf(static_cast<float>(LoadAsDouble(v)));
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return FloatToBFloat16(static_cast<float>(LoadAsDouble(v)));
  } else if constexpr (std::is_same_v<To, bool>) {
    return LoadAsDouble(v) != 0;
  } else if constexpr (std::is_integral_v<To> && std::is_integral_v<From>) {
    return static_cast<To>(v);
  } else if constexpr (std::is_same_v<To, float> && std::is_same_v<From, int64_t>) {
    return static_cast<float>(v);
  } else if constexpr (std::is_integral_v<To>) {
    // Out-of-range values saturate (ONNX leaves them undefined; C++ would make them UB).
    const double d = LoadAsDouble(v);
    if (std::isnan(d)) return To(0);
    if (d <= static_cast<double>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (d >= static_cast<double>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(d);
  } else {
    return static_cast<To>(LoadAsDouble(v));
  }
}

template <typename Fn>
absl::Status DispatchAll(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kF32: return fn(float{});
    case DType::kF16: return fn(Half{});
    case DType::kBF16: return fn(BFloat16{});
    case DType::kS8: return fn(int8_t{});
    case DType::kU8: return fn(uint8_t{});
    case DType::kS32: return fn(int32_t{});
    case DType::kS64: return fn(int64_t{});
    case DType::kBool: return fn(bool{});
    case DType::kF64: return fn(double{});
    case DType::kS16: return fn(int16_t{});
    case DType::kU16: return fn(uint16_t{});
    case DType::kU32: return fn(uint32_t{});
    case DType::kU64: return fn(uint64_t{});
    default: return absl::InvalidArgumentError("invalid element type");
  }
}

}  // namespace

absl::Status CastInto(const Tensor& src, Tensor* dst) {
  return DispatchAll(src.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    return DispatchAll(dst->dtype(), [&](auto to_tag) {
      using To = decltype(to_tag);
      const From* s = src.data<From>();
      To* d = dst->data<To>();
      for (int64_t i = 0; i < src.num_elements(); ++i) d[i] = ConvertValue<To, From>(s[i]);
      return absl::OkStatus();
    });
  });
}

void RegisterElementwiseOps(OpRegistry& registry) {
  const std::pair<const char*, UnaryKind> unary[] = {
      {"Relu", UnaryKind::kRelu},           {"Neg", UnaryKind::kNeg},
      {"Abs", UnaryKind::kAbs},             {"Sign", UnaryKind::kSign},
      {"Sigmoid", UnaryKind::kSigmoid},     {"Tanh", UnaryKind::kTanh},
      {"Exp", UnaryKind::kExp},             {"Log", UnaryKind::kLog},
      {"Sqrt", UnaryKind::kSqrt},           {"Reciprocal", UnaryKind::kReciprocal},
      {"Floor", UnaryKind::kFloor},         {"Ceil", UnaryKind::kCeil},
      {"Round", UnaryKind::kRound},         {"Erf", UnaryKind::kErf},
      {"LeakyRelu", UnaryKind::kLeakyRelu}, {"Elu", UnaryKind::kElu},
      {"Selu", UnaryKind::kSelu},           {"HardSigmoid", UnaryKind::kHardSigmoid},
      {"HardSwish", UnaryKind::kHardSwish}, {"Softplus", UnaryKind::kSoftplus},
      {"Softsign", UnaryKind::kSoftsign},   {"Sin", UnaryKind::kSin},
      {"Cos", UnaryKind::kCos},             {"Gelu", UnaryKind::kGelu},
      {"Tan", UnaryKind::kTan},             {"Asin", UnaryKind::kAsin},
      {"Acos", UnaryKind::kAcos},           {"Atan", UnaryKind::kAtan},
      {"Sinh", UnaryKind::kSinh},           {"Cosh", UnaryKind::kCosh},
      {"Asinh", UnaryKind::kAsinh},         {"Acosh", UnaryKind::kAcosh},
      {"Atanh", UnaryKind::kAtanh},         {"ThresholdedRelu", UnaryKind::kThresholdedRelu},
      {"Celu", UnaryKind::kCelu},           {"Shrink", UnaryKind::kShrink},
      {"Mish", UnaryKind::kMish},           {"Swish", UnaryKind::kSwish},
  };
  for (const auto& [name, kind] : unary) AddUnary(registry, name, kind);

  AddBinary(registry, "Add", BinaryKind::kAdd);
  AddBinary(registry, "Sub", BinaryKind::kSub);
  AddBinary(registry, "Mul", BinaryKind::kMul);
  AddBinary(registry, "Div", BinaryKind::kDiv);
  AddBinary(registry, "Mod", BinaryKind::kMod);
  AddBinary(registry, "PRelu", BinaryKind::kPRelu);
  AddVariadic(registry, "Max", BinaryKind::kMax, false);
  AddVariadic(registry, "Min", BinaryKind::kMin, false);
  AddVariadic(registry, "Sum", BinaryKind::kAdd, false);
  AddVariadic(registry, "Mean", BinaryKind::kAdd, true);
  AddCompare(registry, "Equal", CompareKind::kEqual);
  AddCompare(registry, "Less", CompareKind::kLess);
  AddCompare(registry, "Greater", CompareKind::kGreater);
  AddCompare(registry, "LessOrEqual", CompareKind::kLessOrEqual);
  AddCompare(registry, "GreaterOrEqual", CompareKind::kGreaterOrEqual);
  AddLogic(registry, "And", LogicKind::kAnd);
  AddLogic(registry, "Or", LogicKind::kOr);
  AddLogic(registry, "Xor", LogicKind::kXor);

  AddOp(registry, StatelessOpDef("Not", 1, 1, SameAsInput, NotCompute));
  AddOp(registry, StatelessOpDef("Pow", 2, 2, [](InferenceContext& ctx) -> absl::Status {
    if (!IsFloatType(ctx.input(0).dtype) && !IsF64OrInt(ctx.input(0).dtype)) {
      return ctx.Error(kiln::StrCat("element type ", DTypeName(ctx.input(0).dtype), " is not supported"));
    }
    return BroadcastShape(ctx, ctx.input(0).dtype, /*same_dtype=*/false);
  }, PowCompute), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("Where", 3, 3, [](InferenceContext& ctx) -> absl::Status {
    if (ctx.input(0).dtype != DType::kBool) return ctx.Error("condition must be bool");
    if (ctx.input(1).dtype != ctx.input(2).dtype) return ctx.Error("X and Y must share one element type");
    return BroadcastShape(ctx, ctx.input(1).dtype, /*same_dtype=*/false);
  }, WhereCompute));
  AddOp(registry, StatelessOpDef("Clip", 1, 3, [](InferenceContext& ctx) -> absl::Status {
    if (!IsFloatType(ctx.input(0).dtype) && !IsF64OrInt(ctx.input(0).dtype)) {
      return ctx.Error(kiln::StrCat("element type ", DTypeName(ctx.input(0).dtype), " is not supported"));
    }
    for (int i = 1; i <= 2; ++i) {
      if (!ctx.has_input(i)) continue;
      const TensorType& t = ctx.input(i);
      if (t.dtype != ctx.input(0).dtype || (t.rank_known && NumElements(t.dims) > 1)) {
        return ctx.Error(kiln::StrCat(i == 1 ? "min" : "max", " must be a scalar of type ",
                                      DTypeName(ctx.input(0).dtype), "; got ", t.ToString()));
      }
    }
    return SameAsInput(ctx);
  }, ClipCompute), /*half_via_f32=*/true);

  auto cast_shape_fn = [](InferenceContext& ctx) -> absl::Status {
    KILN_ASSIGN_OR_RETURN(int64_t to, ctx.node().GetInt("to"));
    absl::StatusOr<DType> dtype = DTypeFromOnnx(to);
    if (!dtype.ok()) return Unsupported(ctx.node(), FromAbsl(dtype.status().message()));
    const TensorType& x = ctx.input(0);
    ctx.set_output(0, TensorType{*dtype, x.dims, x.rank_known});
    return absl::OkStatus();
  };
  auto cast_factory = [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    KILN_ASSIGN_OR_RETURN(int64_t to, kc.node.GetInt("to"));
    KILN_ASSIGN_OR_RETURN(DType dtype, DTypeFromOnnx(to));
    return MakeFunctionKernel([dtype](KernelContext& ctx) -> absl::Status {
      const Tensor& x = ctx.input(0);
      if (x.dtype() == dtype) {
        ctx.SetOutput(0, x);
        return absl::OkStatus();
      }
      KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, dtype, x.dims()));
      return CastInto(x, y);
    });
  };
  AddOp(registry, MakeOpDef("Cast", 1, 1, cast_shape_fn, cast_factory));
}

}  // namespace kiln::kernels
