// Indexing and generator ops: CastLike, Dropout (inference), Range, Trilu, GatherElements,
// ScatterElements, ScatterND, CumSum, CumProd, ReverseSequence, TopK, OneHot, IsNaN, IsInf.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kiln/support/ieee_minmax.h"
#include "kiln/support/strings.h"
#include "kiln/support/stable_sort.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln::kernels {
namespace {

// Offset of element `i` along `axis` for an odometer index of a row-major tensor.
int64_t OffsetOf(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides[d];
  return off;
}

bool Advance(std::vector<int64_t>& idx, const Dims& dims) {
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

absl::Status DropoutShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.has_input(2)) {
    const TensorType& t = ctx.input(2);
    // A training_mode fed at run time is checked by the kernel (true works only with ratio 0).
    if (t.value && t.value->num_elements() > 0 && t.value->GetAsInt64(0) != 0 && !ctx.has_input(1)) {
      return Unsupported(ctx.node(), "training_mode=true drops values at random; Kiln runs inference only");
    }
  }
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  if (ctx.node().outputs.size() > 1) ctx.set_output(1, TensorType{DType::kBool, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status DropoutCompute(KernelContext& ctx) {
  if (ctx.has_input(2) && ctx.input(2).num_elements() > 0 && ctx.input(2).GetAsInt64(0) != 0) {
    // Training mode: with ratio 0 nothing is dropped (the output is the input, the mask all true);
    // any other ratio draws random numbers, which inference-only Kiln does not do.
    const bool zero_ratio = ctx.has_input(1) && ctx.input(1).num_elements() == 1 && ctx.input(1).GetAsDouble(0) == 0.0;
    if (!zero_ratio) return Unsupported(ctx.node(), "training_mode=true with a nonzero ratio drops values at random");
  }
  ctx.SetOutput(0, ctx.input(0));
  if (ctx.num_outputs() > 1 && !ctx.node().outputs[1].empty()) {
    KILN_ASSIGN_OR_RETURN(Tensor * mask, ctx.AllocateOutput(1, DType::kBool, ctx.input(0).dims()));
    std::fill(mask->data<bool>(), mask->data<bool>() + mask->num_elements(), true);
  }
  return absl::OkStatus();
}

// Range's element count from ceil((limit - start) / delta), which may be huge, infinite or NaN for
// extreme inputs (a plain cast to int64 would be undefined behaviour then).
absl::StatusOr<int64_t> RangeCount(const Node& node, double count) {
  if (!(count <= static_cast<double>(kMaxTensorElements))) {
    return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': start, limit and delta give ",
                                                   count, " elements, more than ", kMaxTensorElements));
  }
  return std::max<int64_t>(0, static_cast<int64_t>(count));
}

// Range(start, limit, delta).
absl::Status RangeShapeFn(InferenceContext& ctx) {
  const DType t = ctx.input(0).dtype;
  for (int i = 0; i < 3; ++i) {
    if (ctx.input(i).dtype != t || (ctx.input(i).rank_known && NumElements(ctx.input(i).dims) != 1)) {
      return ctx.Error(kiln::StrCat("start, limit and delta must be scalars of one type; input ", i, " is ",
                                    ctx.input(i).ToString()));
    }
  }
  if (!IsFloatType(t) && t != DType::kS32 && t != DType::kS64) {
    return ctx.Error(kiln::StrCat("element type ", DTypeName(t), " is not supported (float, s32, s64 expected)"));
  }
  ctx.set_output(0, TensorType{t, {-1}});
  if (ctx.input(0).value && ctx.input(1).value && ctx.input(2).value) {
    const double start = ctx.input(0).value->GetAsDouble(0), limit = ctx.input(1).value->GetAsDouble(0),
                 delta = ctx.input(2).value->GetAsDouble(0);
    if (delta == 0) return ctx.Error("delta must not be 0");
    KILN_ASSIGN_OR_RETURN(int64_t n, RangeCount(ctx.node(), std::ceil((limit - start) / delta)));
    ctx.outputs()[0].dims = {n};
  }
  return absl::OkStatus();
}

absl::Status RangeCompute(KernelContext& ctx) {
  const DType t = ctx.input(0).dtype();
  return DispatchNumeric(t, "Range", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    const T start = ctx.input(0).data<T>()[0], limit = ctx.input(1).data<T>()[0], delta = ctx.input(2).data<T>()[0];
    if (delta == T(0)) return ctx.Error("delta must not be 0");
    // Integers: the difference in double (limit - start may overflow T); exact below 2^53 as before.
    const double diff = std::is_integral_v<T> ? static_cast<double>(limit) - static_cast<double>(start)
                                              : static_cast<double>(limit - start);
    KILN_ASSIGN_OR_RETURN(int64_t n, RangeCount(ctx.node(), std::ceil(diff / static_cast<double>(delta))));
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, t, {n}));
    // Every element lies between start and limit, so the wrapping sum is the exact one.
    for (int64_t i = 0; i < n; ++i) y->data<T>()[i] = WrapAdd<T>(start, WrapMul<T>(static_cast<T>(i), delta));
    return absl::OkStatus();
  });
}

// Trilu(input, k?): keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims.
absl::Status TriluCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.Error(kiln::StrCat("input must have rank 2 or more; got ", x.TypeString()));
  KILN_ASSIGN_OR_RETURN(int64_t upper, ctx.node().GetInt("upper", 1));
  if (ctx.has_input(1) && ctx.input(1).num_elements() != 1) return ctx.Error("k must be a scalar");
  const int64_t k = ctx.has_input(1) ? ctx.input(1).GetAsInt64(0) : 0;
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateZeroedOutput(0, x.dtype(), x.dims()));
  const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  const int64_t mats = rows * cols == 0 ? 0 : x.num_elements() / (rows * cols);
  const size_t es = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(y->raw_data());
  for (int64_t m = 0; m < mats; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const bool keep = upper ? j - i >= k : j - i <= k;
        if (keep) {
          const int64_t at = (m * rows + i) * cols + j;
          std::memcpy(dst + at * es, src + at * es, es);
        }
      }
    }
  }
  return absl::OkStatus();
}

// GatherElements(data, indices): out[i] = data[i with axis coordinate replaced by indices[i]].
absl::Status GatherElementsCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  if (ind.rank() != x.rank()) return ctx.Error("data and indices must have the same rank");
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), ind.dims()));
  const std::vector<int64_t> strides = Strides(x.dims());
  const size_t es = DTypeSize(x.dtype());
  std::vector<int64_t> idx(ind.rank(), 0);
  const int64_t extent = x.dim(*axis);
  for (int64_t i = 0; i < ind.num_elements(); ++i) {
    int64_t j = ind.GetAsInt64(i);
    if (j < -extent || j >= extent) return ctx.Error(kiln::StrCat("index ", j, " is out of range for extent ", extent));
    if (j < 0) j += extent;
    std::vector<int64_t> src = idx;
    src[*axis] = j;
    std::memcpy(static_cast<char*>(y->raw_data()) + i * es,
                static_cast<const char*>(x.raw_data()) + OffsetOf(src, strides) * es, es);
    Advance(idx, ind.dims());
  }
  return absl::OkStatus();
}

// ScatterElements(data, indices, updates) with reduction none/add/mul/max/min.
absl::Status ScatterElementsCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  KILN_ASSIGN_OR_RETURN(std::string reduction, ctx.node().GetString("reduction", "none"));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  if (ind.dims() != upd.dims() || ind.rank() != x.rank() || upd.dtype() != x.dtype()) {
    return ctx.Error("indices and updates must have one shape, of the rank of data, and updates data's type");
  }
  Tensor y = x.Clone();
  const std::vector<int64_t> strides = Strides(x.dims());
  std::vector<int64_t> idx(ind.rank(), 0);
  const int64_t extent = x.dim(*axis);
  auto run = [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    T* yp = y.data<T>();
    for (int64_t i = 0; i < ind.num_elements(); ++i) {
      int64_t j = ind.GetAsInt64(i);
      if (j < -extent || j >= extent) return ctx.Error(kiln::StrCat("index ", j, " is out of range for extent ", extent));
      if (j < 0) j += extent;
      std::vector<int64_t> dst = idx;
      dst[*axis] = j;
      T& target = yp[OffsetOf(dst, strides)];
      const T v = upd.data<T>()[i];
      if (reduction == "add") target = WrapAdd<T>(target, v);
      else if (reduction == "mul") target = WrapMul<T>(target, v);
      else if (reduction == "max") target = IeeeMaximum(target, v);
      else if (reduction == "min") target = IeeeMinimum(target, v);
      else target = v;
      Advance(idx, ind.dims());
    }
    return absl::OkStatus();
  };
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min") {
    return ctx.Error(kiln::StrCat("reduction '", reduction, "' is not one of none, add, mul, max, min"));
  }
  KILN_RETURN_IF_ERROR(DispatchNumeric(x.dtype(), "ScatterElements", run));
  ctx.SetOutput(0, y);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// ScatterND(data, indices, updates; reduction).

absl::Status ScatterNDCompute(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(std::string reduction, ctx.node().GetString("reduction", "none"));
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min") {
    return ctx.Error(kiln::StrCat("reduction '", reduction, "' is not one of none, add, mul, max, min"));
  }
  if (indices.rank() < 1) return ctx.Error("indices must have rank 1 or more");
  const int64_t k = indices.dims().back();
  if (k > data.rank()) return ctx.Error("indices' last dimension exceeds data's rank");
  Dims want(indices.dims().begin(), indices.dims().end() - 1);
  for (int64_t d = k; d < data.rank(); ++d) want.push_back(data.dims()[d]);
  if (updates.dims() != want) {
    return ctx.Error(kiln::StrCat("updates ", updates.TypeString(), " must have dims ", DimsToString(want)));
  }
  if (updates.dtype() != data.dtype()) return ctx.Error("updates must have data's type");
  Tensor out = data.Clone();
  int64_t slice = 1;
  for (int64_t d = k; d < data.rank(); ++d) slice *= data.dims()[d];
  const std::vector<int64_t> strides = Strides(data.dims());
  const int64_t groups = k > 0 ? indices.num_elements() / k : indices.num_elements();
  const std::vector<int64_t> idx = ToInt64Vector(indices);
  std::vector<int64_t> offsets(groups);
  for (int64_t g = 0; g < groups; ++g) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = idx[g * k + j];
      if (v < 0) v += data.dims()[j];
      if (v < 0 || v >= data.dims()[j]) return ctx.Error(kiln::StrCat("index ", idx[g * k + j], " is out of range"));
      off += v * strides[j];
    }
    offsets[g] = off;
  }
  if (reduction == "none") {
    const size_t es = DTypeSize(data.dtype());
    for (int64_t g = 0; g < groups; ++g) {
      std::memcpy(static_cast<char*>(out.raw_data()) + offsets[g] * es,
                  static_cast<const char*>(updates.raw_data()) + g * slice * es, slice * es);
    }
  } else {
    KILN_RETURN_IF_ERROR(DispatchNumeric(data.dtype(), "ScatterND", [&](auto tag) -> absl::Status {
      using T = decltype(tag);
      T* o = out.data<T>();
      const T* u = updates.data<T>();
      for (int64_t g = 0; g < groups; ++g) {
        for (int64_t s = 0; s < slice; ++s) {
          T& dst = o[offsets[g] + s];
          const T src = u[g * slice + s];
          if (reduction == "add") dst = WrapAdd<T>(dst, src);
          else if (reduction == "mul") dst = WrapMul<T>(dst, src);
          else if (reduction == "max") dst = IeeeMaximum(dst, src);
          else dst = IeeeMinimum(dst, src);
        }
      }
      return absl::OkStatus();
    }));
  }
  ctx.SetOutput(0, out);
  return absl::OkStatus();
}

// CumSum(x, axis) with exclusive and reverse.
absl::Status CumSumCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (ctx.input(1).num_elements() != 1) return ctx.Error("axis must be a scalar");
  absl::StatusOr<int64_t> axis = NormalizeAxis(ctx.input(1).GetAsInt64(0), x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  KILN_ASSIGN_OR_RETURN(int64_t exclusive, ctx.node().GetInt("exclusive", 0));
  KILN_ASSIGN_OR_RETURN(int64_t reverse, ctx.node().GetInt("reverse", 0));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= x.dim(d);
  for (int d = *axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t n = x.dim(*axis);
  return DispatchNumeric(x.dtype(), "CumSum", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        T acc = 0;
        for (int64_t s = 0; s < n; ++s) {
          const int64_t k = reverse ? n - 1 - s : s;
          const int64_t at = (o * n + k) * inner + i;
          const T v = x.data<T>()[at];
          if (exclusive) {
            y->data<T>()[at] = acc;
            acc = WrapAdd<T>(acc, v);
          } else {
            acc = WrapAdd<T>(acc, v);
            y->data<T>()[at] = acc;
          }
        }
      }
    }
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// CumProd(x, axis; exclusive, reverse).

absl::Status CumProdCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t exclusive, ctx.node().GetInt("exclusive", 0));
  KILN_ASSIGN_OR_RETURN(int64_t reverse, ctx.node().GetInt("reverse", 0));
  if (ctx.input(1).num_elements() != 1) return ctx.Error("axis must be a scalar");
  absl::StatusOr<int64_t> axis = NormalizeAxis(ctx.input(1).GetAsInt64(0), x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
  int64_t outer = 1, inner = 1;
  const int64_t len = x.dims()[*axis];
  for (int64_t d = 0; d < *axis; ++d) outer *= x.dims()[d];
  for (int64_t d = *axis + 1; d < x.rank(); ++d) inner *= x.dims()[d];
  return DispatchNumeric(x.dtype(), "CumProd", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = y->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        T acc = T(1);
        for (int64_t s = 0; s < len; ++s) {
          const int64_t k = reverse ? len - 1 - s : s;
          const int64_t off = (o * len + k) * inner + i;
          if (exclusive) {
            dst[off] = acc;
            acc = WrapMul<T>(acc, src[off]);
          } else {
            acc = WrapMul<T>(acc, src[off]);
            dst[off] = acc;
          }
        }
      }
    }
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// ReverseSequence(input, sequence_lens; batch_axis, time_axis).

absl::Status ReverseSequenceCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t batch_axis, ctx.node().GetInt("batch_axis", 1));
  KILN_ASSIGN_OR_RETURN(int64_t time_axis, ctx.node().GetInt("time_axis", 0));
  if (x.rank() < 2 || (batch_axis != 0 && batch_axis != 1) || (time_axis != 0 && time_axis != 1) ||
      batch_axis == time_axis) {
    return ctx.Error("input must have rank 2 or more and batch_axis, time_axis must be 0 and 1");
  }
  const std::vector<int64_t> lens = ToInt64Vector(ctx.input(1));
  const int64_t nb = x.dims()[batch_axis], nt = x.dims()[time_axis];
  if (static_cast<int64_t>(lens.size()) != nb) return ctx.Error("sequence_lens must have one value per batch");
  Tensor out = x.Clone();
  const size_t es = DTypeSize(x.dtype());
  int64_t inner = 1;
  for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dims()[d];
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  const int64_t d1 = x.dims()[1];
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t len = lens[b];
    if (len < 0 || len > nt) return ctx.Error(kiln::StrCat("sequence length ", len, " is outside [0, ", nt, "]"));
    for (int64_t t = 0; t < len; ++t) {
      const int64_t from_t = len - 1 - t;
      auto off = [&](int64_t tt) {
        const int64_t i0 = time_axis == 0 ? tt : b, i1 = time_axis == 0 ? b : tt;
        return (i0 * d1 + i1) * inner;
      };
      std::memcpy(dst + off(t) * es, src + off(from_t) * es, inner * es);
    }
  }
  ctx.SetOutput(0, out);
  return absl::OkStatus();
}

// TopK(X, K) -> Values, Indices along `axis`; ties keep the lower index first.
absl::Status TopKShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  TensorType values{x.dtype, x.dims, x.rank_known};
  if (x.rank_known) {
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
    absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, static_cast<int64_t>(x.dims.size()));
    if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
    values.dims[*axis] = -1;
    if (const std::optional<Tensor>& k = ctx.input(1).value) {
      if (k->num_elements() != 1) return ctx.Error("K must hold one value");
      const int64_t kv = k->GetAsInt64(0), n = x.dims[*axis];
      if (kv < 0 || (n >= 0 && kv > n)) return ctx.Error(kiln::StrCat("K = ", kv, " must lie in [0, ", n, "]"));
      values.dims[*axis] = kv;
    }
  }
  TensorType indices = values;
  indices.dtype = DType::kS64;
  ctx.set_output(0, values);
  ctx.set_output(1, indices);
  return absl::OkStatus();
}

absl::Status TopKCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
  KILN_ASSIGN_OR_RETURN(int64_t largest, ctx.node().GetInt("largest", 1));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  if (ctx.input(1).num_elements() != 1) return ctx.Error("K must hold one value");
  const int64_t k = ctx.input(1).GetAsInt64(0), n = x.dim(*axis);
  if (k < 0 || k > n) return ctx.Error(kiln::StrCat("K = ", k, " must lie in [0, ", n, "]"));
  Dims out = x.dims();
  out[*axis] = k;
  KILN_ASSIGN_OR_RETURN(Tensor * values, ctx.AllocateOutput(0, x.dtype(), out));
  KILN_ASSIGN_OR_RETURN(Tensor * indices, ctx.AllocateOutput(1, DType::kS64, out));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= x.dim(d);
  for (int d = *axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  return DispatchNumeric(x.dtype(), "TopK", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    std::vector<int64_t> order(n);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* src = x.data<T>() + o * n * inner + i;
        std::iota(order.begin(), order.end(), 0);
        StableSort(order, [&](int64_t a, int64_t b) {
          return largest ? src[a * inner] > src[b * inner] : src[a * inner] < src[b * inner];
        });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t at = (o * k + j) * inner + i;
          values->data<T>()[at] = src[order[j] * inner];
          indices->data<int64_t>()[at] = order[j];
        }
      }
    }
    return absl::OkStatus();
  });
}

// OneHot's depth (a scalar of any numeric type, truncated): positive, at most kMaxTensorElements.
absl::StatusOr<int64_t> OneHotDepth(const Tensor& t) {
  if (t.num_elements() != 1) return absl::InvalidArgumentError("depth must hold one value");
  const double v = t.GetAsDouble(0);
  if (!(v >= 1 && v < static_cast<double>(kMaxTensorElements) + 1)) {
    return absl::InvalidArgumentError(kiln::StrCat("depth must be in [1, ", kMaxTensorElements, "], got ", v));
  }
  return static_cast<int64_t>(v);
}

// OneHot(indices, depth, values[off, on]) with the new axis at `axis`.
absl::Status OneHotShapeFn(InferenceContext& ctx) {
  const TensorType& ind = ctx.input(0);
  const DType dtype = ctx.input(2).dtype;
  if (!ind.rank_known) {
    ctx.set_output(0, UnknownRank(dtype));
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
  const int64_t r = static_cast<int64_t>(ind.dims.size()) + 1;
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, r);
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  Dims out = ind.dims;
  int64_t depth = -1;
  if (ctx.input(1).value) {
    absl::StatusOr<int64_t> d = OneHotDepth(*ctx.input(1).value);
    if (!d.ok()) return ctx.Error(FromAbsl(d.status().message()));
    depth = *d;
  }
  out.insert(out.begin() + *axis, depth);
  ctx.set_output(0, TensorType{dtype, out});
  return absl::OkStatus();
}

absl::Status OneHotCompute(KernelContext& ctx) {
  const Tensor& ind = ctx.input(0);
  const Tensor& vals = ctx.input(2);
  if (vals.num_elements() != 2) return ctx.Error("values must hold [off_value, on_value]");
  absl::StatusOr<int64_t> depth_or = OneHotDepth(ctx.input(1));
  if (!depth_or.ok()) return ctx.Error(FromAbsl(depth_or.status().message()));
  const int64_t depth = *depth_or;
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, ind.rank() + 1);
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  Dims out = ind.dims();
  out.insert(out.begin() + *axis, depth);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, vals.dtype(), out));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= ind.dim(d);
  for (int d = *axis; d < ind.rank(); ++d) inner *= ind.dim(d);
  const size_t es = DTypeSize(vals.dtype());
  const char* off = static_cast<const char*>(vals.raw_data());
  const char* on = off + es;
  char* dst = static_cast<char*>(y->raw_data());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t d = 0; d < depth; ++d) {
      for (int64_t i = 0; i < inner; ++i) {
        // Indices outside [-depth, depth) select nothing, whatever their size; so does NaN.
        const double dv = ind.GetAsDouble(o * inner + i);
        int64_t v = std::isnan(dv) ? depth : SaturatingCast<int64_t>(dv);
        if (v < 0) v += depth;
        std::memcpy(dst + ((o * depth + d) * inner + i) * es, v == d ? on : off, es);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status BoolLikeInput(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsFloatType(x.dtype)) return ctx.Error(kiln::StrCat("input must be a float tensor; got ", x.ToString()));
  ctx.set_output(0, TensorType{DType::kBool, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status IsNanInfCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32) return ctx.Error(kiln::StrCat("input must be a float tensor; got ", x.TypeString()));
  const bool nan = ctx.node().op == "IsNaN";
  KILN_ASSIGN_OR_RETURN(int64_t neg, ctx.node().GetInt("detect_negative", 1));
  KILN_ASSIGN_OR_RETURN(int64_t pos, ctx.node().GetInt("detect_positive", 1));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kBool, x.dims()));
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const float v = x.data<float>()[i];
    y->data<bool>()[i] = nan ? std::isnan(v) : (std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg)));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterIndexOps(OpRegistry& registry) {
  AddOp(registry, MakeOpDef("CastLike", 2, 2,
                            [](InferenceContext& ctx) {
                              const TensorType& x = ctx.input(0);
                              ctx.set_output(0, TensorType{ctx.input(1).dtype, x.dims, x.rank_known});
                              return absl::OkStatus();
                            },
                            StatelessKernel([](KernelContext& ctx) -> absl::Status {
                              const Tensor& x = ctx.input(0);
                              const DType to = ctx.input(1).dtype();
                              if (x.dtype() == to) {
                                ctx.SetOutput(0, x);
                                return absl::OkStatus();
                              }
                              KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, to, x.dims()));
                              return CastInto(x, y);
                            })));
  AddOp(registry, MakeOpDef("Dropout", 1, 3, DropoutShapeFn, StatelessKernel(DropoutCompute), 2));
  AddOp(registry, MakeOpDef("Range", 3, 3, RangeShapeFn, StatelessKernel(RangeCompute)), /*half_via_f32=*/true);
  AddOp(registry, MakeOpDef("Trilu", 1, 2, SameAsInput, StatelessKernel(TriluCompute)));
  AddOp(registry, MakeOpDef("GatherElements", 2, 2,
                            [](InferenceContext& ctx) {
                              ctx.set_output(0, TensorType{ctx.input(0).dtype, ctx.input(1).dims, ctx.input(1).rank_known});
                              return absl::OkStatus();
                            },
                            StatelessKernel(GatherElementsCompute)));
  AddOp(registry, MakeOpDef("ScatterElements", 3, 3, SameAsInput, StatelessKernel(ScatterElementsCompute)),
        /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("ScatterND", 3, 3, SameAsInput, ScatterNDCompute));
  AddOp(registry, MakeOpDef("CumSum", 2, 2, SameAsInput, StatelessKernel(CumSumCompute)), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("CumProd", 2, 2, [](InferenceContext& ctx) -> absl::Status {
    if (!IsFloatType(ctx.input(0).dtype) && !IsF64OrInt(ctx.input(0).dtype)) return ctx.Error("input must be numeric");
    return SameAsInput(ctx);
  }, CumProdCompute), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("ReverseSequence", 2, 2, SameAsInput, ReverseSequenceCompute));
  AddOp(registry, MakeOpDef("TopK", 2, 2, TopKShapeFn, StatelessKernel(TopKCompute), 2), /*half_via_f32=*/true);
  AddOp(registry, MakeOpDef("OneHot", 3, 3, OneHotShapeFn, StatelessKernel(OneHotCompute)));
  AddOp(registry, MakeOpDef("IsNaN", 1, 1, BoolLikeInput, StatelessKernel(IsNanInfCompute)), /*half_via_f32=*/true);
  AddOp(registry, MakeOpDef("IsInf", 1, 1, BoolLikeInput, StatelessKernel(IsNanInfCompute)), /*half_via_f32=*/true);
}

}  // namespace kiln::kernels
