// Softmax, LogSoftmax, the Reduce* family and ArgMax/ArgMin.
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "kiln/support/ieee_minmax.h"
#include "kiln/support/strings.h"
#include "kiln/support/vector_math.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// Softmax and LogSoftmax.

// Splits `dims` into (outer, n, inner) for a softmax along `axis`; with `coerce_2d` (opset < 13
// semantics) the input is flattened to 2-D at `axis` and normalised over the second dimension.
struct SoftmaxSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

absl::StatusOr<SoftmaxSplit> SplitForSoftmax(const Node& node, const Dims& dims) {
  KILN_ASSIGN_OR_RETURN(int64_t coerce_2d, node.GetInt("coerce_2d", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.GetInt("axis", coerce_2d ? 1 : -1));
  const int64_t r = static_cast<int64_t>(dims.size());
  KILN_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis, r == 0 ? 1 : r, /*inclusive_end=*/coerce_2d != 0));
  SoftmaxSplit s;
  for (int64_t d = 0; d < r; ++d) {
    if (d < axis) {
      s.outer *= dims[d];
    } else if (d == axis || coerce_2d) {
      s.n *= dims[d];
    } else {
      s.inner *= dims[d];
    }
  }
  return s;
}

absl::Status SoftmaxShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsFloatType(x.dtype) && x.dtype != DType::kF64) {
    return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype), " is not supported (f32, f64, f16 or bf16 expected)"));
  }
  if (x.rank_known) {
    absl::StatusOr<SoftmaxSplit> s = SplitForSoftmax(ctx.node(), x.dims);
    if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  }
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

// The maximum of a row. NaN never wins it (as in the general loop); the softmax is NaN through its
// exponential.
KILN_VECTOR_CLONES float RowMaximum(const float* src, int64_t n) {
  constexpr int kLanes = 16;
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -std::numeric_limits<float>::infinity());
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] = src[k + l] > lanes[l] ? src[k + l] : lanes[l];
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (; k < n; ++k) mx = src[k] > mx ? src[k] : mx;
  for (float l : lanes) mx = l > mx ? l : mx;
  return mx;
}

// Softmax or LogSoftmax of one contiguous f32 row: the exponentials and their sum in one vectorized pass (ExpShiftedSum), the sum
// in double.
KILN_VECTOR_CLONES void SoftmaxRow(const float* src, float* dst, int64_t n, bool log) {
  const float mx = RowMaximum(src, n);
  const double sum = ExpShiftedSum(src, mx, dst, static_cast<size_t>(n));
  if (log) {
    const float lse = static_cast<float>(std::log(sum));
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j] - mx - lse;
  } else {
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < n; ++j) dst[j] *= inv;
  }
}

// T is float or double (f16 and bf16 run as f32).
template <typename T>
absl::Status SoftmaxTyped(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  absl::StatusOr<SoftmaxSplit> s = SplitForSoftmax(ctx.node(), x.dims());
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  const bool log = ctx.node().op == "LogSoftmax";
  const bool hard = ctx.node().op == "Hardmax";
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
  const T* xp = x.data<T>();
  T* yp = y->data<T>();
  const int64_t n = s->n, inner = s->inner;
  if constexpr (std::is_same_v<T, float>) {
    if (inner == 1 && !hard) {
      for (int64_t o = 0; o < s->outer; ++o) SoftmaxRow(xp + o * n, yp + o * n, n, log);
      return absl::OkStatus();
    }
  }
  for (int64_t o = 0; o < s->outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* src = xp + o * n * inner + i;
      T* dst = yp + o * n * inner + i;
      T mx = -std::numeric_limits<T>::infinity();
      int64_t arg = 0;
      for (int64_t k = 0; k < n; ++k) {
        if (src[k * inner] > mx) {
          mx = src[k * inner];
          arg = k;
        }
      }
      if (hard) {
        for (int64_t k = 0; k < n; ++k) dst[k * inner] = k == arg ? T(1) : T(0);
        continue;
      }
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        const T e = std::exp(src[k * inner] - mx);
        if (!log) dst[k * inner] = e;
        sum += e;
      }
      if (log) {
        const T lse = static_cast<T>(std::log(sum));
        for (int64_t k = 0; k < n; ++k) dst[k * inner] = src[k * inner] - mx - lse;
      } else {
        const T inv = static_cast<T>(1.0 / sum);
        for (int64_t k = 0; k < n; ++k) dst[k * inner] *= inv;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SoftmaxCompute(KernelContext& ctx) {
  const DType t = ctx.input(0).dtype();
  if (t == DType::kF32) return SoftmaxTyped<float>(ctx);
  if (t == DType::kF64) return SoftmaxTyped<double>(ctx);
  return ctx.Error(kiln::StrCat("element type ", DTypeName(t), " is not supported"));
}

// ---------------------------------------------------------------------------------------------
// Reduce*.

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kSumSquare, kL1, kL2, kLogSum, kLogSumExp };

// The reduced axes (normalised, sorted) or nullopt for "all"; `noop` when the op is an identity.
struct ReduceAxes {
  std::set<int64_t> axes;
  bool all = false;
  bool noop = false;
};

absl::StatusOr<ReduceAxes> ResolveAxes(const Node& node, const std::optional<std::vector<int64_t>>& axes_in,
                                       int64_t rank) {
  ReduceAxes r;
  KILN_ASSIGN_OR_RETURN(int64_t noop_with_empty, node.GetInt("noop_with_empty_axes", 0));
  std::vector<int64_t> axes;
  if (axes_in) {
    axes = *axes_in;
  } else if (node.HasAttr("axes")) {
    KILN_ASSIGN_OR_RETURN(axes, node.GetInts("axes"));
  }
  if (axes.empty()) {
    if (noop_with_empty) {
      r.noop = true;
    } else {
      r.all = true;
      for (int64_t d = 0; d < rank; ++d) r.axes.insert(d);
    }
    return r;
  }
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, rank));
    r.axes.insert(n);
  }
  return r;
}

Dims ReducedDims(const Dims& in, const ReduceAxes& axes, bool keepdims) {
  if (axes.noop) return in;
  Dims out;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d) {
    if (!axes.axes.count(d)) {
      out.push_back(in[d]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

absl::Status ReduceShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const bool min_max = ctx.node().op == "ReduceMax" || ctx.node().op == "ReduceMin";
  if (!IsFloatType(x.dtype) && !IsF64OrInt(x.dtype) && !(min_max && x.dtype == DType::kBool)) {
    return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype), " is not supported"));
  }
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(1)) {
    if (!ctx.input(1).value) {
      ctx.set_output(0, TensorType{x.dtype, {}, false});
      return absl::OkStatus();
    }
    axes = ToInt64Vector(*ctx.input(1).value);
  }
  if (!x.rank_known) {
    ctx.set_output(0, TensorType{x.dtype, {}, false});
    return absl::OkStatus();
  }
  absl::StatusOr<ReduceAxes> r = ResolveAxes(ctx.node(), axes, static_cast<int64_t>(x.dims.size()));
  if (!r.ok()) return ctx.Error(FromAbsl(r.status().message()));
  ctx.set_output(0, TensorType{x.dtype, ReducedDims(x.dims, *r, keepdims != 0)});
  return absl::OkStatus();
}

template <typename T>
void ReduceTyped(ReduceKind kind, const T* x, const Dims& in, const ReduceAxes& axes, T* y, int64_t out_n) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double,
                                 std::conditional_t<std::is_same_v<T, uint64_t>, uint64_t, int64_t>>;
  std::vector<Acc> acc(out_n);
  Acc init = 0;
  if (kind == ReduceKind::kMax) init = std::is_floating_point_v<T> ? -std::numeric_limits<double>::infinity() : static_cast<Acc>(std::numeric_limits<T>::lowest());
  if (kind == ReduceKind::kMin) init = std::is_floating_point_v<T> ? std::numeric_limits<double>::infinity() : static_cast<Acc>(std::numeric_limits<T>::max());
  if (kind == ReduceKind::kProd) init = 1;
  std::fill(acc.begin(), acc.end(), init);
  // Log-sum-exp subtracts the maximum first for stability.
  std::vector<Acc> mx;
  const int r = static_cast<int>(in.size());
  std::vector<int64_t> ostride(r, 0);
  {
    int64_t s = 1;
    for (int d = r - 1; d >= 0; --d) {
      if (!axes.axes.count(d)) {
        ostride[d] = s;
        s *= in[d];
      }
    }
  }
  const int64_t n = NumElements(in);
  auto visit = [&](auto fn) {
    std::vector<int64_t> idx(r, 0);
    int64_t o = 0;
    for (int64_t i = 0; i < n; ++i) {
      fn(o, static_cast<Acc>(x[i]));
      for (int d = r - 1; d >= 0; --d) {
        o += ostride[d];
        if (++idx[d] < in[d]) break;
        o -= ostride[d] * in[d];
        idx[d] = 0;
      }
    }
  };
  if (kind == ReduceKind::kLogSumExp) {
    // -inf for floats; an integer accumulator starts at its lowest value (-inf does not convert).
    mx.assign(out_n, std::is_floating_point_v<Acc> ? static_cast<Acc>(-std::numeric_limits<double>::infinity())
                                                   : std::numeric_limits<Acc>::lowest());
    visit([&](int64_t o, Acc v) { mx[o] = std::max(mx[o], v); });
  }
  visit([&](int64_t o, Acc v) {
    switch (kind) {
      // Integer accumulators wrap around on overflow (WrapAdd etc.) instead of undefined behaviour.
      case ReduceKind::kSum: case ReduceKind::kMean: case ReduceKind::kLogSum: acc[o] = WrapAdd<Acc>(acc[o], v); break;
      case ReduceKind::kMax: acc[o] = IeeeMaximum(acc[o], v); break;  // NaN propagates.
      case ReduceKind::kMin: acc[o] = IeeeMinimum(acc[o], v); break;
      case ReduceKind::kProd: acc[o] = WrapMul<Acc>(acc[o], v); break;
      case ReduceKind::kSumSquare: case ReduceKind::kL2: acc[o] = WrapAdd<Acc>(acc[o], WrapMul<Acc>(v, v)); break;
      case ReduceKind::kL1: acc[o] = WrapAdd<Acc>(acc[o], v < 0 ? WrapNeg<Acc>(v) : v); break;
      case ReduceKind::kLogSumExp:
        acc[o] += static_cast<Acc>(std::exp(static_cast<double>(v) - static_cast<double>(mx[o])));
        break;
    }
  });
  const int64_t count = out_n == 0 ? 0 : n / out_n;
  for (int64_t o = 0; o < out_n; ++o) {
    double v = static_cast<double>(acc[o]);
    switch (kind) {
      case ReduceKind::kMean: v = count > 0 ? v / count : std::nan(""); break;
      case ReduceKind::kL2: v = std::sqrt(v); break;
      case ReduceKind::kLogSum: v = std::log(v); break;
      case ReduceKind::kLogSumExp: v = std::log(v) + static_cast<double>(mx[o]); break;
      default: break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      y[o] = static_cast<T>(v);
    } else {
      // The double results may be NaN or out of T's range: saturate (a plain cast would be UB).
      y[o] = kind == ReduceKind::kMean || kind == ReduceKind::kL2 || kind == ReduceKind::kLogSum ||
                     kind == ReduceKind::kLogSumExp
                 ? SaturatingCast<T>(v)
                 : static_cast<T>(acc[o]);
    }
  }
}

absl::Status ReduceCompute(ReduceKind kind, KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(1)) axes = ToInt64Vector(ctx.input(1));
  absl::StatusOr<ReduceAxes> r = ResolveAxes(ctx.node(), axes, x.rank());
  if (!r.ok()) return ctx.Error(FromAbsl(r.status().message()));
  if (r->noop) {
    ctx.SetOutput(0, x);
    return absl::OkStatus();
  }
  const Dims out = ReducedDims(x.dims(), *r, keepdims != 0);
  if (x.dtype() == DType::kBool) {
    // Max is "any", Min is "all": reduce the values as u8.
    if (kind != ReduceKind::kMax && kind != ReduceKind::kMin) return ctx.Error("bool input needs ReduceMax or ReduceMin");
    KILN_ASSIGN_OR_RETURN(Tensor bytes, Tensor::Create(DType::kU8, x.dims()));
    KILN_RETURN_IF_ERROR(CastInto(x, &bytes));
    KILN_ASSIGN_OR_RETURN(Tensor reduced, Tensor::Create(DType::kU8, out));
    ReduceTyped<uint8_t>(kind, bytes.data<uint8_t>(), x.dims(), *r, reduced.data<uint8_t>(), reduced.num_elements());
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kBool, out));
    return CastInto(reduced, y);
  }
  // An empty reduction gives the identity of the operation (-inf for Max, +inf for Min, 0 for Sum).
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out));
  return DispatchNumeric(x.dtype(), ctx.node().op, [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    ReduceTyped<T>(kind, x.data<T>(), x.dims(), *r, y->data<T>(), y->num_elements());
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// ArgMax / ArgMin.

absl::Status ArgShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.rank_known) {
    ctx.set_output(0, TensorType{DType::kS64, {}, false});
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.dims.size()));
  if (!a.ok()) return ctx.Error(FromAbsl(a.status().message()));
  ReduceAxes r;
  r.axes.insert(*a);
  ctx.set_output(0, TensorType{DType::kS64, ReducedDims(x.dims, r, keepdims != 0)});
  return absl::OkStatus();
}

absl::Status ArgCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, ctx.node().GetInt("keepdims", 1));
  KILN_ASSIGN_OR_RETURN(int64_t last, ctx.node().GetInt("select_last_index", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  ReduceAxes r;
  r.axes.insert(*axis);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kS64, ReducedDims(x.dims(), r, keepdims != 0)));
  const bool is_max = ctx.node().op == "ArgMax";
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= x.dim(d);
  for (int d = *axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t n = x.dim(*axis);
  if (n == 0 && y->num_elements() > 0) return ctx.Error("cannot take the arg max/min of an empty axis");
  return DispatchNumeric(x.dtype(), ctx.node().op, [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    int64_t* yp = y->data<int64_t>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* src = xp + o * n * inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < n; ++k) {
          const T v = src[k * inner], b = src[best * inner];
          const bool better = is_max ? (v > b || (last && v == b)) : (v < b || (last && v == b));
          if (better) best = k;
        }
        yp[o * inner + i] = best;
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterReduceOps(OpRegistry& registry) {
  for (const char* name : {"Softmax", "LogSoftmax", "Hardmax"}) {
    AddOp(registry, StatelessOpDef(name, 1, 1, SoftmaxShapeFn, SoftmaxCompute), /*half_via_f32=*/true);
  }
  const std::pair<const char*, ReduceKind> reductions[] = {
      {"ReduceSum", ReduceKind::kSum},       {"ReduceMean", ReduceKind::kMean},
      {"ReduceMax", ReduceKind::kMax},       {"ReduceMin", ReduceKind::kMin},
      {"ReduceProd", ReduceKind::kProd},     {"ReduceSumSquare", ReduceKind::kSumSquare},
      {"ReduceL1", ReduceKind::kL1},         {"ReduceL2", ReduceKind::kL2},
      {"ReduceLogSum", ReduceKind::kLogSum}, {"ReduceLogSumExp", ReduceKind::kLogSumExp},
  };
  for (const auto& [name, kind] : reductions) {
    ReduceKind k = kind;
    AddOp(registry,
          StatelessOpDef(name, 1, 2, ReduceShapeFn, [k](KernelContext& ctx) { return ReduceCompute(k, ctx); }),
          /*half_via_f32=*/true);
  }
  for (const char* name : {"ArgMax", "ArgMin"}) {
    AddOp(registry, StatelessOpDef(name, 1, 1, ArgShapeFn, ArgCompute), /*half_via_f32=*/true);
  }
}

}  // namespace kiln::kernels
