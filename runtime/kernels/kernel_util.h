// Helpers shared by the standard kernels (private to runtime/kernels and their tests; the JIT's
// launch op is built with MakeOpDef too).
#ifndef KILN_RUNTIME_KERNELS_KERNEL_UTIL_H_
#define KILN_RUNTIME_KERNELS_KERNEL_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kiln/support/strings.h"
#include "kiln/runtime/op_registry.h"
#include "kiln/tensor/tensor.h"
#include "kiln/runtime/window_geometry.h"
#include "kiln/support/status.h"

namespace kiln::kernels {

// Registration of each family of ops (one per source file); RegisterStandardOps calls them all.
// `AddOp` registers one OpDef, adding constant folding of small all-constant inputs (see
// register.cc). With `half_via_f32`, f16 and bf16 inputs are converted to f32, the kernel runs in
// f32 and its f32 outputs are converted back to the half type (for arithmetic kernels written for
// f32 only).
void AddOp(OpRegistry& registry, OpDef def, bool half_via_f32 = false);
void RegisterElementwiseOps(OpRegistry& registry);
void RegisterConvOps(OpRegistry& registry);
void RegisterMatMulOps(OpRegistry& registry);
void RegisterPoolOps(OpRegistry& registry);
void RegisterShapeOps(OpRegistry& registry);
void RegisterReduceOps(OpRegistry& registry);
void RegisterNormalizationOps(OpRegistry& registry);
void RegisterIndexOps(OpRegistry& registry);
// Conformance additions (loss_ops.cc, attention.cc, bitwise_ops.cc, generator_ops.cc,
// selection_ops.cc, quantize_ops.cc, image_ops.cc, linalg_ops.cc, resize.cc, conv_transpose.cc,
// recurrent.cc).
void RegisterLossOps(OpRegistry& registry);
void RegisterAttentionOps(OpRegistry& registry);
void RegisterBitwiseOps(OpRegistry& registry);
void RegisterGeneratorOps(OpRegistry& registry);
void RegisterSelectionOps(OpRegistry& registry);
void RegisterQuantizeOps(OpRegistry& registry);
void RegisterImageOps(OpRegistry& registry);
void RegisterLinalgOps(OpRegistry& registry);
void RegisterResizeOps(OpRegistry& registry);
void RegisterConvTransposeOps(OpRegistry& registry);
void RegisterRecurrentOps(OpRegistry& registry);
void RegisterNhwcOps(OpRegistry& registry);  // nhwc_ops.cc; registered last (see GatherND there).

// A kernel factory for a stateless op whose kernel is the plain function `fn`.
inline KernelFactory StatelessKernel(std::function<absl::Status(KernelContext&)> fn) {
  return [fn](const KernelConstruction&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    return MakeFunctionKernel(fn);
  };
}

// An OpDef of `name` taking `min_inputs` to `max_inputs` inputs (-1: variadic) and giving
// `num_outputs` outputs, with its shape function and kernel factory.
inline OpDef MakeOpDef(std::string_view name, int min_inputs, int max_inputs, ShapeFn shape_fn, KernelFactory factory,
                       int num_outputs = 1) {
  OpDef def;
  def.name = std::string(name);
  def.min_inputs = min_inputs;
  def.max_inputs = max_inputs;
  def.num_outputs = num_outputs;
  def.shape_fn = std::move(shape_fn);
  def.kernel_factory = std::move(factory);
  return def;
}

// As MakeOpDef, for an op whose kernel is the stateless function `fn`.
inline OpDef StatelessOpDef(std::string_view name, int min_inputs, int max_inputs, ShapeFn shape_fn,
                            std::function<absl::Status(KernelContext&)> fn, int num_outputs = 1) {
  return MakeOpDef(name, min_inputs, max_inputs, std::move(shape_fn), StatelessKernel(std::move(fn)), num_outputs);
}

// A value of type `dtype` whose rank is not known.
inline TensorType UnknownRank(DType dtype) {
  TensorType t;
  t.dtype = dtype;
  t.rank_known = false;
  return t;
}

// Shape function of an op whose output 0 has the type and shape of input 0.
inline absl::Status SameAsInput(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

// The DType of the ONNX TensorProto data type in integer attribute `attr` of `node` (`def` when
// absent); Unimplemented, naming the node, for a type Kiln does not have (defined in register.cc).
absl::StatusOr<DType> OutputDataType(const Node& node, const char* attr, int64_t def);

// Advances the row-major odometer `idx` over `dims`; false when it wraps around to all zeros.
inline bool NextIndex(std::vector<int64_t>& idx, const Dims& dims) {
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// Converts `src` elementwise into `dst` (same element count, any two dtypes; floats to integers
// truncate toward zero, NaN becomes 0, nonzero becomes true).
absl::Status CastInto(const Tensor& src, Tensor* dst);

// Unimplemented (a valid model that Kiln does not support), naming the node and op.
inline absl::Status Unsupported(const Node& node, std::string_view message) {
  return absl::UnimplementedError(kiln::StrCat(node.op, " node '", node.name, "': ", message));
}

// Normalizes `axis` in [-rank, rank) (or [-rank, rank] when `inclusive_end`) to [0, rank).
inline absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, bool inclusive_end = false) {
  const int64_t hi = inclusive_end ? rank : rank - 1;
  if (axis < -rank || axis > hi) {
    return absl::InvalidArgumentError(kiln::StrCat("axis ", axis, " is out of range for rank ", rank,
                                                   " (valid: ", -rank, " to ", hi, ")"));
  }
  return axis < 0 ? axis + rank : axis;
}

// Multidirectional (numpy) broadcasting of two shapes; -1 marks an unknown extent.
inline absl::StatusOr<Dims> BroadcastDims(const Dims& a, const Dims& b) {
  const size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = da < 0 ? db : da;
    } else if (da == db) {
      out[i] = da;
    } else {
      return absl::InvalidArgumentError(kiln::StrCat("shapes ", DimsToString(a), " and ", DimsToString(b),
                                                     " cannot be broadcast together"));
    }
  }
  return out;
}

// Row-major strides of `dims` in elements.
inline std::vector<int64_t> Strides(const Dims& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

// Strides of `in` (right-aligned) broadcast to `out`: 0 along broadcast dimensions.
inline std::vector<int64_t> BroadcastStrides(const Dims& in, const Dims& out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> own = Strides(in);
  const size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[i + off] = in[i] == 1 ? 0 : own[i];
  return s;
}

inline bool IsFloatType(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }
// Float types whose kernels may run in f32 (f64 is separate: kernels dispatch it explicitly).
inline bool IsIntType(DType t);
inline bool IsF64OrInt(DType t) { return t == DType::kF64 || IsIntType(t); }
inline bool IsIntType(DType t) {
  return t == DType::kS8 || t == DType::kU8 || t == DType::kS32 || t == DType::kS64 || t == DType::kS16 ||
         t == DType::kU16 || t == DType::kU32 || t == DType::kU64;
}

// Calls `fn(T{})` with the C++ type of `dtype` among the numeric types f32, f64, s8, u8, s16, u16,
// s32, u32, s64, u64; Unimplemented for other types. `what` names the op in the error.
template <typename Fn>
absl::Status DispatchNumeric(DType dtype, const std::string& what, Fn&& fn) {
  switch (dtype) {
    case DType::kF32: return fn(float{});
    case DType::kS8: return fn(int8_t{});
    case DType::kU8: return fn(uint8_t{});
    case DType::kS32: return fn(int32_t{});
    case DType::kS64: return fn(int64_t{});
    case DType::kF64: return fn(double{});
    case DType::kS16: return fn(int16_t{});
    case DType::kU16: return fn(uint16_t{});
    case DType::kU32: return fn(uint32_t{});
    case DType::kU64: return fn(uint64_t{});
    default:
      return absl::UnimplementedError(
          kiln::StrCat(what, ": element type ", DTypeName(dtype), " is not supported"));
  }
}

// Integer arithmetic on tensor VALUES wraps around (two's complement, as numpy and ONNX Runtime
// do) instead of overflowing, which is undefined behaviour in C++; float types compute as usual.
// The unsigned type is at least `unsigned` so that narrow types do not promote to signed int.
template <typename T>
using WrapUnsigned = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <typename T>
T WrapAdd(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapUnsigned<T>>(x) + static_cast<WrapUnsigned<T>>(y));
  } else {
    return x + y;
  }
}
template <typename T>
T WrapSub(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapUnsigned<T>>(x) - static_cast<WrapUnsigned<T>>(y));
  } else {
    return x - y;
  }
}
template <typename T>
T WrapMul(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrapUnsigned<T>>(x) * static_cast<WrapUnsigned<T>>(y));
  } else {
    return x * y;
  }
}
// Integers wrap (the most negative stays itself); floats flip the sign bit: -(+0) = -0, -(NaN) is NaN.
template <typename T>
T WrapNeg(T x) {
  if constexpr (std::is_floating_point_v<T>) return -x;
  return WrapSub<T>(T(0), x);
}

// Reads an int tensor (s32 or s64) into int64 values.
inline std::vector<int64_t> ToInt64Vector(const Tensor& t) {
  std::vector<int64_t> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.GetAsInt64(i);
  return v;
}

// The window taps i in [0, k) whose position start + i * dilation (dilation >= 1) lies in [lo, hi),
// as [first, last). Pooling loops visit only these, so their work is bounded by the input whatever
// the kernel size and padding (ResolveWindow bounds the values, so nothing here overflows).
struct TapRange {
  int64_t first = 0, last = 0;
  int64_t count() const { return last - first; }
};
inline TapRange TapsInRange(int64_t start, int64_t k, int64_t dilation, int64_t lo, int64_t hi) {
  auto ceil_div = [](int64_t a, int64_t d) { return a / d + (a % d > 0); };
  const int64_t first = std::max<int64_t>(0, ceil_div(lo - start, dilation));
  const int64_t last = std::min<int64_t>(k, ceil_div(hi - start, dilation));
  return {first, std::max(first, last)};
}

// `g` with leading unit dimensions added so that it has exactly 3 spatial dimensions (g has at
// most 3).
inline WindowGeometry ExpandTo3D(const WindowGeometry& g) {
  WindowGeometry e = g;
  const int add = 3 - g.spatial_rank;
  auto pad = [add](std::vector<int64_t>& v, int64_t fill) { v.insert(v.begin(), add, fill); };
  pad(e.kernel, 1);
  pad(e.strides, 1);
  pad(e.dilations, 1);
  pad(e.pad_begin, 0);
  pad(e.pad_end, 0);
  pad(e.in, 1);
  pad(e.out, 1);
  e.spatial_rank = 3;
  return e;
}

// Calls visit(pz, py, px) for each tap of the window of output (z, yy, xx) of a 3-D geometry (see
// ExpandTo3D) that lies inside the input, in row-major order.
template <typename Visit>
void ForEachTapInside(const WindowGeometry& g, int64_t z, int64_t yy, int64_t xx, Visit&& visit) {
  const int64_t s[3] = {z * g.strides[0] - g.pad_begin[0], yy * g.strides[1] - g.pad_begin[1],
                        xx * g.strides[2] - g.pad_begin[2]};
  TapRange r[3];
  for (int d = 0; d < 3; ++d) r[d] = TapsInRange(s[d], g.kernel[d], g.dilations[d], 0, g.in[d]);
  for (int64_t a = r[0].first; a < r[0].last; ++a) {
    const int64_t pz = s[0] + a * g.dilations[0];
    for (int64_t b = r[1].first; b < r[1].last; ++b) {
      const int64_t py = s[1] + b * g.dilations[1];
      for (int64_t c = r[2].first; c < r[2].last; ++c) visit(pz, py, s[2] + c * g.dilations[2]);
    }
  }
}

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_KERNEL_UTIL_H_
