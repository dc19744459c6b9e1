// Further ONNX ops, added for the conformance suite: bitwise ops and BitShift, the spectral
// windows (Hann, Hamming, Blackman), EyeLike, CumProd, DepthToSpace / SpaceToDepth, Compress,
// NonZero, ScatterND, ReverseSequence, the quantization ops (QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearMatMul, MatMulInteger), LpPool, GroupNormalization and
// MeanVarianceNormalization, BitCast, CenterCropPad, Det, Unique, Einsum, AffineGrid and Col2Im.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <cstring>
#include <limits>
#include <numbers>

#include "kiln/support/ieee_minmax.h"
#include "absl/strings/str_cat.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

TensorType Unknown(DType dtype) {
  TensorType t;
  t.dtype = dtype;
  t.rank_known = false;
  return t;
}

OpDef MakeDef(const char* name, int min_inputs, int max_inputs, ShapeFn shape_fn,
              std::function<absl::Status(KernelContext&)> fn, int num_outputs = 1) {
  OpDef def;
  def.name = name;
  def.min_inputs = min_inputs;
  def.max_inputs = max_inputs;
  def.num_outputs = num_outputs;
  def.shape_fn = std::move(shape_fn);
  def.kernel_factory = StatelessKernel(std::move(fn));
  return def;
}

bool NextIndex(std::vector<int64_t>& idx, const Dims& dims) {
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// Calls fn(out_index, a_offset, b_offset) for every element of the broadcast of a and b.
template <typename Fn>
void ForEachBroadcast(const Dims& a, const Dims& b, const Dims& out, Fn&& fn) {
  const std::vector<int64_t> sa = BroadcastStrides(a, out), sb = BroadcastStrides(b, out);
  const int64_t n = NumElements(out);
  std::vector<int64_t> idx(out.size(), 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, oa, ob);
    for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

template <typename Fn>
absl::Status DispatchInt(DType dtype, const std::string& what, Fn&& fn) {
  switch (dtype) {
    case DType::kS8: return fn(int8_t{});
    case DType::kU8: return fn(uint8_t{});
    case DType::kS16: return fn(int16_t{});
    case DType::kU16: return fn(uint16_t{});
    case DType::kS32: return fn(int32_t{});
    case DType::kU32: return fn(uint32_t{});
    case DType::kS64: return fn(int64_t{});
    case DType::kU64: return fn(uint64_t{});
    default:
      return absl::UnimplementedError(absl::StrCat(what, ": element type ", DTypeName(dtype), " is not supported"));
  }
}

absl::Status SameTypeBroadcastShape(InferenceContext& ctx, bool int_only) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if (a.dtype != b.dtype) return ctx.Error(absl::StrCat("inputs must share one type; got ", a.ToString(), " and ", b.ToString()));
  if (int_only && !IsIntType(a.dtype)) return ctx.Error(absl::StrCat("inputs must be integers; got ", a.ToString()));
  if (!a.rank_known || !b.rank_known) {
    ctx.set_output(0, Unknown(a.dtype));
    return absl::OkStatus();
  }
  absl::StatusOr<Dims> d = BroadcastDims(a.dims, b.dims);
  if (!d.ok()) return ctx.Error(d.status().message());
  ctx.set_output(0, TensorType{a.dtype, *d});
  return absl::OkStatus();
}

absl::Status SameShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Bitwise ops and BitShift.

enum class BitKind { kAnd, kOr, kXor, kShift };

absl::Status BitwiseCompute(KernelContext& ctx, BitKind kind) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(Dims od, BroadcastDims(a.dims(), b.dims()));
  if (a.dtype() != b.dtype()) return ctx.Error("inputs must share one type");
  bool left = true;
  if (kind == BitKind::kShift) {
    KILN_ASSIGN_OR_RETURN(std::string dir, ctx.node().GetString("direction"));
    if (dir != "LEFT" && dir != "RIGHT") return ctx.Error("direction must be LEFT or RIGHT");
    left = dir == "LEFT";
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, a.dtype(), od));
  return DispatchInt(a.dtype(), ctx.node().op, [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    using U = std::make_unsigned_t<T>;
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* py = y->data<T>();
    constexpr int bits = 8 * sizeof(T);
    ForEachBroadcast(a.dims(), b.dims(), od, [&](int64_t i, int64_t ia, int64_t ib) {
      const U x = static_cast<U>(pa[ia]), s = static_cast<U>(pb[ib]);
      U r = 0;
      switch (kind) {
        case BitKind::kAnd: r = x & s; break;
        case BitKind::kOr: r = x | s; break;
        case BitKind::kXor: r = x ^ s; break;
        case BitKind::kShift:
          r = s >= static_cast<U>(bits) ? U(0) : (left ? static_cast<U>(x << s) : static_cast<U>(x >> s));
          break;
      }
      py[i] = static_cast<T>(r);
    });
    return absl::OkStatus();
  });
}

absl::Status BitwiseNotCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
  return DispatchInt(x.dtype(), "BitwiseNot", [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    for (int64_t i = 0; i < x.num_elements(); ++i) y->data<T>()[i] = static_cast<T>(~x.data<T>()[i]);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// HannWindow, HammingWindow, BlackmanWindow (size; output_datatype, periodic).

enum class WindowKind { kHann, kHamming, kBlackman };

absl::StatusOr<DType> OutputDataType(const Node& node, const char* attr, int64_t def) {
  KILN_ASSIGN_OR_RETURN(int64_t t, node.GetInt(attr, def));
  switch (t) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kS8;
    case 4: return DType::kU16;
    case 5: return DType::kS16;
    case 6: return DType::kS32;
    case 7: return DType::kS64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 11: return DType::kF64;
    case 12: return DType::kU32;
    case 13: return DType::kU64;
    case 16: return DType::kBF16;
    default:
      return absl::UnimplementedError(absl::StrCat(node.op, " node '", node.name, "': ", attr, " ", t, " is not supported"));
  }
}

absl::Status WindowShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType dt, OutputDataType(ctx.node(), "output_datatype", 1));
  const TensorType& size = ctx.input(0);
  if (!IsIntType(size.dtype)) return ctx.Error("size must be an integer scalar");
  int64_t n = -1;
  if (size.value) {
    if (size.value->num_elements() != 1) return ctx.Error("size must be an integer scalar");
    n = size.value->GetAsInt64(0);
    if (n < 0) return ctx.Error(absl::StrCat("size ", n, " must not be negative"));
  }
  ctx.set_output(0, TensorType{dt, {n}});
  return absl::OkStatus();
}

absl::Status WindowCompute(KernelContext& ctx, WindowKind kind) {
  KILN_ASSIGN_OR_RETURN(DType dt, OutputDataType(ctx.node(), "output_datatype", 1));
  KILN_ASSIGN_OR_RETURN(int64_t periodic, ctx.node().GetInt("periodic", 1));
  if (ctx.input(0).num_elements() != 1) return ctx.Error("size must be an integer scalar");
  const int64_t size = ctx.input(0).GetAsInt64(0);
  if (size < 0) return ctx.Error("size must not be negative");
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {size}));
  const double n = periodic ? static_cast<double>(size) : static_cast<double>(size - 1);
  std::vector<double> v(size);
  const double pi = std::numbers::pi;
  for (int64_t i = 0; i < size; ++i) {
    const double x = n > 0 ? 2 * pi * static_cast<double>(i) / n : 0.0;
    switch (kind) {
      case WindowKind::kHann: v[i] = 0.5 - 0.5 * std::cos(x); break;
      case WindowKind::kHamming: v[i] = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(x); break;
      case WindowKind::kBlackman: v[i] = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2 * x); break;
    }
  }
  return WriteDoubles(ctx, 0, dt, {size}, v);
}

// ---------------------------------------------------------------------------------------------
// EyeLike(input; dtype, k).

absl::Status EyeLikeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  DType dt = x.dtype;
  if (ctx.node().HasAttr("dtype")) {
    KILN_ASSIGN_OR_RETURN(dt, OutputDataType(ctx.node(), "dtype", 1));
  }
  if (x.rank_known && x.dims.size() != 2) return ctx.Error("input must be 2-D");
  ctx.set_output(0, TensorType{dt, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status EyeLikeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  DType dt = x.dtype();
  if (ctx.node().HasAttr("dtype")) {
    KILN_ASSIGN_OR_RETURN(dt, OutputDataType(ctx.node(), "dtype", 1));
  }
  KILN_ASSIGN_OR_RETURN(int64_t k, ctx.node().GetInt("k", 0));
  if (x.rank() != 2) return ctx.Error("input must be 2-D");
  const int64_t r = x.dims()[0], c = x.dims()[1];
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, x.dims()));
  std::vector<double> v(r * c, 0.0);
  for (int64_t i = 0; i < r; ++i) {
    const int64_t j = SatAdd(i, k);  // k may be any int64.
    if (j >= 0 && j < c) v[i * c + j] = 1.0;
  }
  return WriteDoubles(ctx, 0, dt, x.dims(), v);
}

// ---------------------------------------------------------------------------------------------
// CumProd(x, axis; exclusive, reverse).

absl::Status CumProdCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t exclusive, ctx.node().GetInt("exclusive", 0));
  KILN_ASSIGN_OR_RETURN(int64_t reverse, ctx.node().GetInt("reverse", 0));
  if (ctx.input(1).num_elements() != 1) return ctx.Error("axis must be a scalar");
  absl::StatusOr<int64_t> axis = NormalizeAxis(ctx.input(1).GetAsInt64(0), x.rank());
  if (!axis.ok()) return ctx.Error(axis.status().message());
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
// DepthToSpace / SpaceToDepth (blocksize; mode DCR or CRD for DepthToSpace), any element type.

absl::Status SpaceDepthShape(InferenceContext& ctx, bool to_space) {
  const TensorType& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.node().GetInt("blocksize"));
  if (bs <= 0 || bs > (int64_t{1} << 16)) return ctx.Error("blocksize must be in [1, 65536]");
  if (!x.rank_known) {
    ctx.set_output(0, Unknown(x.dtype));
    return absl::OkStatus();
  }
  if (x.dims.size() != 4) return ctx.Error("input must be 4-D [N, C, H, W]");
  Dims d = x.dims;
  auto mul = [](int64_t v, int64_t f) { return v < 0 ? v : SatMul(v, f); };
  auto div = [](int64_t v, int64_t f) { return v < 0 ? v : v / f; };
  if (to_space) {
    if (d[1] >= 0 && d[1] % (bs * bs)) return ctx.Error("channels must be a multiple of blocksize^2");
    d = {d[0], div(d[1], bs * bs), mul(d[2], bs), mul(d[3], bs)};
  } else {
    if ((d[2] >= 0 && d[2] % bs) || (d[3] >= 0 && d[3] % bs)) return ctx.Error("H and W must be multiples of blocksize");
    d = {d[0], mul(d[1], bs * bs), div(d[2], bs), div(d[3], bs)};
  }
  ctx.set_output(0, TensorType{x.dtype, d});
  return absl::OkStatus();
}

absl::Status SpaceDepthCompute(KernelContext& ctx, bool to_space) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t bs, ctx.node().GetInt("blocksize"));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.node().GetString("mode", "DCR"));
  if (x.rank() != 4 || bs <= 0 || bs > (int64_t{1} << 16)) return ctx.Error("input must be 4-D and blocksize in [1, 65536]");
  if (mode != "DCR" && mode != "CRD") return ctx.Error("mode must be DCR or CRD");
  const int64_t n = x.dims()[0], c = x.dims()[1], h = x.dims()[2], w = x.dims()[3];
  const size_t es = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  if (to_space) {
    if (c % (bs * bs)) return ctx.Error("channels must be a multiple of blocksize^2");
    const int64_t oc = c / (bs * bs);
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {n, oc, SatMul(h, bs), SatMul(w, bs)}));
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t co = 0; co < oc; ++co)
        for (int64_t yy = 0; yy < h * bs; ++yy)
          for (int64_t xx = 0; xx < w * bs; ++xx) {
            const int64_t i = yy % bs, j = xx % bs;
            const int64_t ci = mode == "DCR" ? (i * bs + j) * oc + co : co * bs * bs + i * bs + j;
            const int64_t si = ((b * c + ci) * h + yy / bs) * w + xx / bs;
            const int64_t di = ((b * oc + co) * h * bs + yy) * w * bs + xx;
            std::memcpy(dst + di * es, src + si * es, es);
          }
  } else {
    if (h % bs || w % bs) return ctx.Error("H and W must be multiples of blocksize");
    const int64_t oh = h / bs, ow = w / bs;
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {n, SatMul(c, bs * bs), oh, ow}));
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < bs; ++i)
        for (int64_t j = 0; j < bs; ++j)
          for (int64_t ci = 0; ci < c; ++ci)
            for (int64_t yy = 0; yy < oh; ++yy)
              for (int64_t xx = 0; xx < ow; ++xx) {
                const int64_t co = (i * bs + j) * c + ci;
                const int64_t si = ((b * c + ci) * h + yy * bs + i) * w + xx * bs + j;
                const int64_t di = ((b * c * bs * bs + co) * oh + yy) * ow + xx;
                std::memcpy(dst + di * es, src + si * es, es);
              }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Compress(input, condition; axis) and NonZero(x).

absl::Status CompressShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.input(1).dtype != DType::kBool) return ctx.Error("condition must be bool");
  if (!ctx.node().HasAttr("axis")) {
    ctx.set_output(0, TensorType{x.dtype, {-1}});
    return absl::OkStatus();
  }
  if (!x.rank_known) {
    ctx.set_output(0, Unknown(x.dtype));
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis"));
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.dims.size()));
  if (!a.ok()) return ctx.Error(a.status().message());
  Dims d = x.dims;
  d[*a] = -1;
  ctx.set_output(0, TensorType{x.dtype, d});
  return absl::OkStatus();
}

absl::Status CompressCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.rank() != 1) return ctx.Error("condition must be 1-D");
  const size_t es = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  const bool* c = cond.data<bool>();
  if (!ctx.node().HasAttr("axis")) {
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < std::min(cond.num_elements(), x.num_elements()); ++i) {
      if (c[i]) keep.push_back(i);
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {static_cast<int64_t>(keep.size())}));
    for (size_t i = 0; i < keep.size(); ++i) {
      std::memcpy(static_cast<char*>(y->raw_data()) + i * es, src + keep[i] * es, es);
    }
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis"));
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, x.rank());
  if (!a.ok()) return ctx.Error(a.status().message());
  const int64_t len = x.dims()[*a];
  if (cond.num_elements() > len) return ctx.Error("condition is longer than the input along axis");
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < cond.num_elements(); ++i) {
    if (c[i]) keep.push_back(i);
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < *a; ++d) outer *= x.dims()[d];
  for (int64_t d = *a + 1; d < x.rank(); ++d) inner *= x.dims()[d];
  Dims od = x.dims();
  od[*a] = static_cast<int64_t>(keep.size());
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), od));
  char* dst = static_cast<char*>(y->raw_data());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < keep.size(); ++k) {
      std::memcpy(dst + ((o * keep.size() + k) * inner) * es, src + ((o * len + keep[k]) * inner) * es, inner * es);
    }
  }
  return absl::OkStatus();
}

absl::Status NonZeroShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, TensorType{DType::kS64, {x.rank_known ? static_cast<int64_t>(x.dims.size()) : -1, -1}});
  return absl::OkStatus();
}

absl::Status NonZeroCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> hits;
  const bool is_float = IsAnyFloat(x.dtype());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    if (is_float ? x.GetAsDouble(i) != 0.0 : x.GetAsInt64(i) != 0) hits.push_back(i);
  }
  const int64_t r = x.rank(), n = static_cast<int64_t>(hits.size());
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kS64, {r, n}));
  const std::vector<int64_t> strides = Strides(x.dims());
  for (int64_t k = 0; k < n; ++k) {
    int64_t rem = hits[k];
    for (int64_t d = 0; d < r; ++d) {
      y->data<int64_t>()[d * n + k] = rem / strides[d];
      rem %= strides[d];
    }
  }
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
    return ctx.Error(absl::StrCat("reduction '", reduction, "' is not one of none, add, mul, max, min"));
  }
  if (indices.rank() < 1) return ctx.Error("indices must have rank 1 or more");
  const int64_t k = indices.dims().back();
  if (k > data.rank()) return ctx.Error("indices' last dimension exceeds data's rank");
  const int64_t q = indices.rank();
  Dims want(indices.dims().begin(), indices.dims().end() - 1);
  for (int64_t d = k; d < data.rank(); ++d) want.push_back(data.dims()[d]);
  if (updates.dims() != want) {
    return ctx.Error(absl::StrCat("updates ", updates.TypeString(), " must have dims ", DimsToString(want)));
  }
  if (updates.dtype() != data.dtype()) return ctx.Error("updates must have data's type");
  (void)q;
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
      if (v < 0 || v >= data.dims()[j]) return ctx.Error(absl::StrCat("index ", idx[g * k + j], " is out of range"));
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
    if (len < 0 || len > nt) return ctx.Error(absl::StrCat("sequence length ", len, " is outside [0, ", nt, "]"));
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

// ---------------------------------------------------------------------------------------------
// Quantization.

bool IsQuantType(DType t) {
  return t == DType::kS8 || t == DType::kU8 || t == DType::kS16 || t == DType::kU16 || t == DType::kS32;
}

// The index into a per-axis or blocked scale / zero point for element `i` of x.
struct QuantParams {
  int64_t axis = 1, block = 0;
  Dims x_dims, s_dims;
  std::vector<int64_t> x_strides, s_strides;
  int kind = 0;  // 0 per tensor, 1 per axis, 2 blocked.
  int64_t Index(int64_t i) const {
    if (kind == 0) return 0;
    const int64_t coord = (i / x_strides[axis]) % x_dims[axis];
    if (kind == 1) return coord;
    int64_t off = 0;
    for (size_t d = 0; d < x_dims.size(); ++d) {
      int64_t c = (i / x_strides[d]) % x_dims[d];
      if (static_cast<int64_t>(d) == axis) c /= block;
      off += c * s_strides[d];
    }
    return off;
  }
};

absl::StatusOr<QuantParams> ResolveQuant(const Node& node, const Dims& x, const Dims& scale) {
  QuantParams p;
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.GetInt("axis", 1));
  KILN_ASSIGN_OR_RETURN(p.block, node.GetInt("block_size", 0));
  p.x_dims = x;
  p.s_dims = scale;
  p.x_strides = Strides(x);
  p.s_strides = Strides(scale);
  auto error = [&](const std::string& m) {
    return absl::InvalidArgumentError(absl::StrCat(node.op, " node '", node.name, "': ", m));
  };
  if (NumElements(scale) == 1 && scale.size() <= 1) return p;
  if (x.empty()) return error("a per-axis scale needs an input of rank 1 or more");
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.size()));
  if (!a.ok()) return error(std::string(a.status().message()));
  p.axis = *a;
  if (p.block <= 0) {
    if (scale.size() != 1 || scale[0] != x[p.axis]) {
      return error(absl::StrCat("scale ", DimsToString(scale), " must be a scalar or hold ", x[p.axis], " values"));
    }
    p.kind = 1;
    return p;
  }
  if (scale.size() != x.size()) return error("a blocked scale must have the input's rank");
  for (size_t d = 0; d < x.size(); ++d) {
    // ceil(x / block) without overflow: block_size may be any positive int64.
    const int64_t want = static_cast<int64_t>(d) == p.axis ? x[d] / p.block + (x[d] % p.block > 0 ? 1 : 0) : x[d];
    if (scale[d] != want) return error(absl::StrCat("blocked scale ", DimsToString(scale), " does not match the input"));
  }
  p.kind = 2;
  return p;
}

absl::Status DequantizeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& s = ctx.input(1);
  if (!IsQuantType(x.dtype)) return Unsupported(ctx.node(), absl::StrCat("input type ", DTypeName(x.dtype), " is not supported"));
  if (!IsAnyFloat(s.dtype)) return ctx.Error("scale must be float");
  if (ctx.has_input(2) && ctx.input(2).dtype != x.dtype) return ctx.Error("zero point must have the input's type");
  ctx.set_output(0, TensorType{s.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status DequantizeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& s = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(QuantParams p, ResolveQuant(ctx.node(), x.dims(), s.dims()));
  if (ctx.has_input(2) && ctx.input(2).dims() != s.dims()) return ctx.Error("zero point must have the scale's shape");
  std::vector<double> y(x.num_elements());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const int64_t j = p.Index(i);
    const int64_t zp = ctx.has_input(2) ? ctx.input(2).GetAsInt64(j) : 0;
    // As the reference: (x - zp) in integers, times the scale in the scale's precision.
    const double diff = static_cast<double>(x.GetAsInt64(i) - zp);
    y[i] = s.dtype() == DType::kF64 ? diff * s.GetAsDouble(j)
                                    : static_cast<double>(static_cast<float>(diff) * static_cast<float>(s.GetAsDouble(j)));
  }
  return WriteDoubles(ctx, 0, s.dtype(), x.dims(), y);
}

absl::StatusOr<DType> QuantizeOutputType(const Node& node, const TensorType* zp) {
  if (zp != nullptr) return zp->dtype;
  KILN_ASSIGN_OR_RETURN(int64_t od, node.GetInt("output_dtype", 0));
  if (od == 0) return DType::kU8;
  return OutputDataType(node, "output_dtype", 2);
}

absl::Status QuantizeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype) && x.dtype != DType::kS32) return ctx.Error("input must be float or s32");
  KILN_ASSIGN_OR_RETURN(DType out, QuantizeOutputType(ctx.node(), ctx.has_input(2) ? &ctx.input(2) : nullptr));
  if (!IsQuantType(out) || out == DType::kS32) {
    return Unsupported(ctx.node(), absl::StrCat("output type ", DTypeName(out), " is not supported"));
  }
  ctx.set_output(0, TensorType{out, x.dims, x.rank_known});
  return absl::OkStatus();
}

template <typename T>
double Saturate(double v) {
  return std::min(static_cast<double>(std::numeric_limits<T>::max()),
                  std::max(static_cast<double>(std::numeric_limits<T>::lowest()), v));
}

absl::StatusOr<std::pair<double, double>> QuantRange(DType t) {
  switch (t) {
    case DType::kS8: return std::make_pair(-128.0, 127.0);
    case DType::kU8: return std::make_pair(0.0, 255.0);
    case DType::kS16: return std::make_pair(-32768.0, 32767.0);
    case DType::kU16: return std::make_pair(0.0, 65535.0);
    default: return absl::UnimplementedError(absl::StrCat("quantized type ", DTypeName(t), " is not supported"));
  }
}

absl::Status QuantizeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& s = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(QuantParams p, ResolveQuant(ctx.node(), x.dims(), s.dims()));
  const TensorType zp_type{ctx.has_input(2) ? ctx.input(2).dtype() : DType::kInvalid, {}};
  KILN_ASSIGN_OR_RETURN(DType out, QuantizeOutputType(ctx.node(), ctx.has_input(2) ? &zp_type : nullptr));
  KILN_ASSIGN_OR_RETURN(auto range, QuantRange(out));
  if (ctx.has_input(2) && ctx.input(2).dims() != s.dims()) return ctx.Error("zero point must have the scale's shape");
  std::vector<double> y(x.num_elements());
  const bool f32 = x.dtype() != DType::kF64;
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const int64_t j = p.Index(i);
    const double q = f32 ? static_cast<double>(static_cast<float>(x.GetAsDouble(i)) / static_cast<float>(s.GetAsDouble(j)))
                         : x.GetAsDouble(i) / s.GetAsDouble(j);
    const double zp = ctx.has_input(2) ? static_cast<double>(ctx.input(2).GetAsInt64(j)) : 0.0;
    y[i] = std::min(range.second, std::max(range.first, std::nearbyint(q) + zp));
  }
  return WriteDoubles(ctx, 0, out, x.dims(), y);
}

absl::Status DynamicQuantizeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.dtype != DType::kF32) return ctx.Error("input must be f32");
  ctx.set_output(0, TensorType{DType::kU8, x.dims, x.rank_known});
  ctx.set_output(1, TensorType{DType::kF32, {}});
  ctx.set_output(2, TensorType{DType::kU8, {}});
  return absl::OkStatus();
}

absl::Status DynamicQuantizeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const float* v = x.data<float>();
  float mx = 0, mn = 0;
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    mx = std::max(mx, v[i]);
    mn = std::min(mn, v[i]);
  }
  const float scale = (mx == mn ? 1.0f : (mx - mn)) / 255.0f;
  const float zp = std::nearbyint(std::max(0.0f, std::min(255.0f, 0.0f - mn / scale)));
  std::vector<double> y(x.num_elements());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    y[i] = std::min(255.0f, std::max(0.0f, std::nearbyint(v[i] / scale) + zp));
  }
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 0, DType::kU8, x.dims(), y));
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 1, DType::kF32, {}, {scale}));
  return WriteDoubles(ctx, 2, DType::kU8, {}, {zp});
}

// Integer matmul of (a - a_zp) and (b - b_zp), numpy batch broadcasting; a_zp may be per row of a
// (1-D, M values) and b_zp per column of b (1-D, N values).
absl::StatusOr<std::pair<Dims, std::vector<int64_t>>> IntegerMatMul(KernelContext& ctx, const Tensor& a,
                                                                    const Tensor* a_zp, const Tensor& b,
                                                                    const Tensor* b_zp) {
  if (a.rank() < 1 || b.rank() < 1) return ctx.Error("inputs must have rank 1 or more");
  Dims ad = a.dims(), bd = b.dims();
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), 1);
  if (b_vec) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  if (bd[bd.size() - 2] != k) return ctx.Error(absl::StrCat("inner dimensions differ: ", a.TypeString(), " x ", b.TypeString()));
  Dims a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
  KILN_ASSIGN_OR_RETURN(Dims batch, BroadcastDims(a_batch, b_batch));
  auto zp_at = [](const Tensor* zp, int64_t i) -> int64_t {
    if (zp == nullptr) return 0;
    return zp->num_elements() == 1 ? zp->GetAsInt64(0) : zp->GetAsInt64(i);
  };
  if (a_zp && a_zp->num_elements() != 1 && a_zp->num_elements() != m) return ctx.Error("a_zero_point must be a scalar or hold M values");
  if (b_zp && b_zp->num_elements() != 1 && b_zp->num_elements() != n) return ctx.Error("b_zero_point must be a scalar or hold N values");
  const int64_t nbatch = NumElements(batch);
  std::vector<int64_t> out(nbatch * m * n, 0);
  const std::vector<int64_t> sa = BroadcastStrides(a_batch, batch), sb = BroadcastStrides(b_batch, batch);
  std::vector<int64_t> idx(batch.size(), 0);
  for (int64_t bi = 0; bi < nbatch; ++bi) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < batch.size(); ++d) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          // Wrapping: the zero points' type is not checked, so they may hold any int64.
          const int64_t av = WrapSub<int64_t>(a.GetAsInt64(oa * m * k + i * k + p), zp_at(a_zp, i));
          const int64_t bv = WrapSub<int64_t>(b.GetAsInt64(ob * k * n + p * n + j), zp_at(b_zp, j));
          acc = WrapAdd<int64_t>(acc, WrapMul<int64_t>(av, bv));
        }
        out[(bi * m + i) * n + j] = acc;
      }
    NextIndex(idx, batch);
  }
  Dims od = batch;
  if (!a_vec) od.push_back(m);
  if (!b_vec) od.push_back(n);
  return std::make_pair(od, out);
}

absl::Status MatMulIntegerShape(InferenceContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if ((a.dtype != DType::kS8 && a.dtype != DType::kU8) || (b.dtype != DType::kS8 && b.dtype != DType::kU8)) {
    return ctx.Error("inputs must be s8 or u8");
  }
  if (!a.rank_known || !b.rank_known || a.dims.size() < 2 || b.dims.size() < 2) {
    ctx.set_output(0, Unknown(DType::kS32));
    return absl::OkStatus();
  }
  Dims ab(a.dims.begin(), a.dims.end() - 2), bb(b.dims.begin(), b.dims.end() - 2);
  absl::StatusOr<Dims> batch = BroadcastDims(ab, bb);
  if (!batch.ok()) return ctx.Error(batch.status().message());
  Dims od = *batch;
  od.push_back(a.dims[a.dims.size() - 2]);
  od.push_back(b.dims.back());
  ctx.set_output(0, TensorType{DType::kS32, od});
  return absl::OkStatus();
}

absl::Status MatMulIntegerCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(auto r, IntegerMatMul(ctx, ctx.input(0), ctx.has_input(2) ? &ctx.input(2) : nullptr, ctx.input(1),
                                         ctx.has_input(3) ? &ctx.input(3) : nullptr));
  std::vector<double> v(r.second.begin(), r.second.end());
  return WriteDoubles(ctx, 0, DType::kS32, r.first, v);
}

absl::Status QLinearMatMulShape(InferenceContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(3);
  const DType out = ctx.input(7).dtype;
  if ((a.dtype != DType::kS8 && a.dtype != DType::kU8) || (b.dtype != DType::kS8 && b.dtype != DType::kU8)) {
    return Unsupported(ctx.node(), "inputs must be s8 or u8");
  }
  if (out != DType::kS8 && out != DType::kU8) return Unsupported(ctx.node(), "output must be s8 or u8");
  if (!a.rank_known || !b.rank_known || a.dims.size() < 2 || b.dims.size() < 2) {
    ctx.set_output(0, Unknown(out));
    return absl::OkStatus();
  }
  Dims ab(a.dims.begin(), a.dims.end() - 2), bb(b.dims.begin(), b.dims.end() - 2);
  absl::StatusOr<Dims> batch = BroadcastDims(ab, bb);
  if (!batch.ok()) return ctx.Error(batch.status().message());
  Dims od = *batch;
  od.push_back(a.dims[a.dims.size() - 2]);
  od.push_back(b.dims.back());
  ctx.set_output(0, TensorType{out, od});
  return absl::OkStatus();
}

absl::Status QLinearMatMulCompute(KernelContext& ctx) {
  for (int i : {1, 2, 4, 5, 6, 7}) {
    if (ctx.input(i).num_elements() != 1) {
      return Unsupported(ctx.node(), "only per-tensor scales and zero points are supported");
    }
  }
  KILN_ASSIGN_OR_RETURN(auto r, IntegerMatMul(ctx, ctx.input(0), &ctx.input(2), ctx.input(3), &ctx.input(5)));
  const DType out = ctx.input(7).dtype();
  KILN_ASSIGN_OR_RETURN(auto range, QuantRange(out));
  // As the reference: the factor in the scales' type (f32 or f64), applied in f64.
  double factor;
  if (ctx.input(1).dtype() == DType::kF64) {
    factor = ctx.input(1).GetAsDouble(0) * ctx.input(4).GetAsDouble(0) / ctx.input(6).GetAsDouble(0);
  } else {
    factor = static_cast<float>(static_cast<float>(ctx.input(1).GetAsDouble(0)) * static_cast<float>(ctx.input(4).GetAsDouble(0))) /
             static_cast<float>(ctx.input(6).GetAsDouble(0));
  }
  const double zp = static_cast<double>(ctx.input(7).GetAsInt64(0));
  std::vector<double> v(r.second.size());
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = std::min(range.second, std::max(range.first, std::nearbyint(static_cast<double>(r.second[i]) * factor + zp)));
  }
  return WriteDoubles(ctx, 0, out, r.first, v);
}

// ---------------------------------------------------------------------------------------------
// LpPool(X; kernel_shape, p, strides, pads, auto_pad, dilations, ceil_mode).

absl::Status LpPoolShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("input must be float");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.node().GetInts("kernel_shape"));
  if (!x.rank_known) {
    ctx.set_output(0, Unknown(x.dtype));
    return absl::OkStatus();
  }
  if (x.dims.size() != kernel.size() + 2 || kernel.size() > 3 || kernel.empty()) {
    return ctx.Error("input rank must be kernel_shape's length + 2 (1 to 3 spatial dimensions)");
  }
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  absl::StatusOr<WindowGeometry> g = ComputeWindow(ctx.node(), in, kernel, /*pooling=*/true);
  if (!g.ok()) return ctx.Error(g.status().message());
  Dims od{x.dims[0], x.dims[1]};
  od.insert(od.end(), g->out.begin(), g->out.end());
  ctx.set_output(0, TensorType{x.dtype, od});
  return absl::OkStatus();
}

absl::Status LpPoolCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.node().GetInts("kernel_shape"));
  KILN_ASSIGN_OR_RETURN(int64_t p, ctx.node().GetInt("p", 2));
  if (x.rank() != static_cast<int64_t>(kernel.size()) + 2 || kernel.size() > 3) return ctx.Error("bad input rank");
  std::vector<int64_t> in(x.dims().begin() + 2, x.dims().end());
  KILN_ASSIGN_OR_RETURN(WindowGeometry g2, ComputeWindow(ctx.node(), in, kernel, true));
  const WindowGeometry g = ExpandTo3D(g2);
  const int64_t n = x.dims()[0], c = x.dims()[1];
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {n, c, g.out[0], g.out[1], g.out[2]}));
  const std::vector<double> v = ReadDoubles(x);
  std::vector<double> y(n * c * g.out[0] * g.out[1] * g.out[2]);
  int64_t o = 0;
  for (int64_t bc = 0; bc < n * c; ++bc) {
    const double* src = v.data() + bc * g.in[0] * g.in[1] * g.in[2];
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          double acc = 0;
          ForEachTapInside(g, od, oh, ow, [&](int64_t id, int64_t ih, int64_t iw) {
            acc += std::pow(std::fabs(src[(id * g.in[1] + ih) * g.in[2] + iw]), static_cast<double>(p));
          });
          y[o++] = std::pow(acc, 1.0 / static_cast<double>(p));
        }
  }
  Dims od{n, c};
  od.insert(od.end(), g2.out.begin(), g2.out.end());
  return WriteDoubles(ctx, 0, x.dtype(), od, y);
}

// ---------------------------------------------------------------------------------------------
// GroupNormalization(X, scale, bias; epsilon, num_groups) and MeanVarianceNormalization(X; axes).

absl::Status FloatSameShape(InferenceContext& ctx) {
  if (!IsAnyFloat(ctx.input(0).dtype)) return ctx.Error("input must be float");
  return SameShape(ctx);
}

absl::Status GroupNormCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(float eps, ctx.node().GetFloat("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(int64_t groups, ctx.node().GetInt("num_groups"));
  if (x.rank() < 2 || groups <= 0 || x.dims()[1] % groups) return ctx.Error("channels must be a multiple of num_groups");
  const int64_t n = x.dims()[0], c = x.dims()[1], inner = x.num_elements() / std::max<int64_t>(1, n * c);
  const std::vector<double> v = ReadDoubles(x), scale = ReadDoubles(ctx.input(1)), bias = ReadDoubles(ctx.input(2));
  // Opset 21: scale and bias per channel; opset 18: per group.
  const bool per_channel = static_cast<int64_t>(scale.size()) == c;
  if ((!per_channel && static_cast<int64_t>(scale.size()) != groups) || bias.size() != scale.size()) {
    return ctx.Error("scale and bias must hold one value per channel (or per group)");
  }
  std::vector<double> y(v.size());
  const int64_t cg = c / groups, span = cg * inner;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t gi = 0; gi < groups; ++gi) {
      const int64_t base = (b * c + gi * cg) * inner;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < span; ++i) mean += v[base + i];
      mean /= span;
      for (int64_t i = 0; i < span; ++i) var += (v[base + i] - mean) * (v[base + i] - mean);
      var /= span;
      const double inv = 1.0 / std::sqrt(var + eps);
      for (int64_t i = 0; i < span; ++i) {
        const int64_t ch = gi * cg + i / inner;
        const double s = per_channel ? scale[ch] : scale[gi], bb = per_channel ? bias[ch] : bias[gi];
        y[base + i] = (v[base + i] - mean) * inv * s + bb;
      }
    }
  return WriteDoubles(ctx, 0, x.dtype(), x.dims(), y);
}

absl::Status MvnCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.node().GetInts("axes", std::vector<int64_t>{0, 2, 3}));
  std::vector<bool> reduce(x.rank(), false);
  for (int64_t a : axes) {
    absl::StatusOr<int64_t> n = NormalizeAxis(a, x.rank());
    if (!n.ok()) return ctx.Error(n.status().message());
    reduce[*n] = true;
  }
  const std::vector<double> v = ReadDoubles(x);
  Dims kept = x.dims();
  for (int64_t d = 0; d < x.rank(); ++d) if (reduce[d]) kept[d] = 1;
  const std::vector<int64_t> ks = Strides(kept);
  const int64_t nk = NumElements(kept);
  std::vector<double> sum(nk, 0), sq(nk, 0);
  std::vector<int64_t> idx(x.rank(), 0), key(v.size());
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    int64_t k = 0;
    for (int64_t d = 0; d < x.rank(); ++d) k += reduce[d] ? 0 : idx[d] * ks[d];
    key[i] = k;
    sum[k] += v[i];
    sq[k] += v[i] * v[i];
    NextIndex(idx, x.dims());
  }
  const double count = static_cast<double>(v.size()) / static_cast<double>(std::max<int64_t>(1, nk));
  std::vector<double> y(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double mean = sum[key[i]] / count;
    const double var = sq[key[i]] / count - mean * mean;
    y[i] = (v[i] - mean) / (std::sqrt(var) + 1e-9);
  }
  return WriteDoubles(ctx, 0, x.dtype(), x.dims(), y);
}

// ---------------------------------------------------------------------------------------------
// BitCast(input; to): reinterprets the bits as another type of the same size.

absl::Status BitCastShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType to, OutputDataType(ctx.node(), "to", 1));
  if (DTypeSize(to) != DTypeSize(x.dtype)) {
    return Unsupported(ctx.node(), absl::StrCat("a bit cast between types of different sizes (", DTypeName(x.dtype),
                                                " to ", DTypeName(to), ")"));
  }
  ctx.set_output(0, TensorType{to, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status BitCastCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(DType to, OutputDataType(ctx.node(), "to", 1));
  if (DTypeSize(to) != DTypeSize(x.dtype())) return Unsupported(ctx.node(), "a bit cast between types of different sizes");
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, to, x.dims()));
  if (x.byte_size() > 0) std::memcpy(y->raw_data(), x.raw_data(), x.byte_size());
  if (to == DType::kBool) {
    uint8_t* b = static_cast<uint8_t*>(y->raw_data());
    for (int64_t i = 0; i < y->num_elements(); ++i) {
      if (b[i] > 1) return ctx.Error("bit cast to bool of a byte other than 0 or 1");
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// CenterCropPad(input, shape; axes): crops or zero-pads each listed axis around its center.

absl::StatusOr<std::vector<int64_t>> CropAxes(const Node& node, int64_t rank, int64_t count) {
  std::vector<int64_t> def(count);
  for (int64_t i = 0; i < count; ++i) def[i] = rank - count + i;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.GetInts("axes", def));
  if (static_cast<int64_t>(axes.size()) != count) {
    return absl::InvalidArgumentError(absl::StrCat("CenterCropPad node '", node.name, "': shape holds ", count,
                                                   " values for ", axes.size(), " axes"));
  }
  for (int64_t& a : axes) {
    KILN_ASSIGN_OR_RETURN(a, NormalizeAxis(a, rank));
  }
  return axes;
}

absl::Status CenterCropPadShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& shape = ctx.input(1);
  if (!x.rank_known || !shape.value) {
    ctx.set_output(0, Unknown(x.dtype));
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<int64_t>> axes =
      CropAxes(ctx.node(), static_cast<int64_t>(x.dims.size()), shape.value->num_elements());
  if (!axes.ok()) return ctx.Error(axes.status().message());
  Dims d = x.dims;
  for (size_t i = 0; i < axes->size(); ++i) {
    d[(*axes)[i]] = shape.value->GetAsInt64(i);
    if (d[(*axes)[i]] < 0) return ctx.Error(absl::StrCat("shape value ", d[(*axes)[i]], " must not be negative"));
  }
  ctx.set_output(0, TensorType{x.dtype, d});
  return absl::OkStatus();
}

absl::Status CenterCropPadCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& shape = ctx.input(1);
  absl::StatusOr<std::vector<int64_t>> axes = CropAxes(ctx.node(), x.rank(), shape.num_elements());
  if (!axes.ok()) return ctx.Error(axes.status().message());
  Dims od = x.dims();
  std::vector<int64_t> src_start(x.rank(), 0), dst_start(x.rank(), 0), copy = x.dims();
  for (size_t i = 0; i < axes->size(); ++i) {
    const int64_t a = (*axes)[i], want = shape.GetAsInt64(i), have = x.dims()[a];
    if (want < 0) return ctx.Error("shape must not be negative");
    od[a] = want;
    if (want < have) {
      src_start[a] = (have - want) / 2;
      copy[a] = want;
    } else {
      dst_start[a] = (want - have) / 2;
      copy[a] = have;
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), od));
  if (NumElements(copy) == 0) return absl::OkStatus();
  const size_t es = DTypeSize(x.dtype());
  const std::vector<int64_t> ss = Strides(x.dims()), ds = Strides(od);
  std::vector<int64_t> idx(x.rank(), 0);
  do {
    int64_t so = 0, dof = 0;
    for (int64_t d = 0; d < x.rank(); ++d) {
      so += (idx[d] + src_start[d]) * ss[d];
      dof += (idx[d] + dst_start[d]) * ds[d];
    }
    std::memcpy(static_cast<char*>(y->raw_data()) + dof * es, static_cast<const char*>(x.raw_data()) + so * es, es);
  } while (NextIndex(idx, copy));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Det(X): determinants of the trailing square matrices (LU with partial pivoting in double).

absl::Status DetShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("input must be float");
  if (!x.rank_known) {
    ctx.set_output(0, Unknown(x.dtype));
    return absl::OkStatus();
  }
  if (x.dims.size() < 2) return ctx.Error("input must have rank 2 or more");
  ctx.set_output(0, TensorType{x.dtype, Dims(x.dims.begin(), x.dims.end() - 2)});
  return absl::OkStatus();
}

absl::Status DetCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.Error("input must have rank 2 or more");
  const int64_t n = x.dims().back();
  if (x.dims()[x.rank() - 2] != n) return ctx.Error("matrices must be square");
  const Dims od(x.dims().begin(), x.dims().end() - 2);
  const int64_t batch = NumElements(od);
  const std::vector<double> v = ReadDoubles(x);
  std::vector<double> out(batch);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> a(v.begin() + b * n * n, v.begin() + (b + 1) * n * n);
    double det = 1;
    for (int64_t col = 0; col < n; ++col) {
      int64_t piv = col;
      for (int64_t r = col + 1; r < n; ++r) {
        if (std::fabs(a[r * n + col]) > std::fabs(a[piv * n + col])) piv = r;
      }
      if (a[piv * n + col] == 0) {
        det = 0;
        break;
      }
      if (piv != col) {
        for (int64_t k = 0; k < n; ++k) std::swap(a[piv * n + k], a[col * n + k]);
        det = -det;
      }
      det *= a[col * n + col];
      for (int64_t r = col + 1; r < n; ++r) {
        const double f = a[r * n + col] / a[col * n + col];
        for (int64_t k = col; k < n; ++k) a[r * n + k] -= f * a[col * n + k];
      }
    }
    out[b] = det;
  }
  return WriteDoubles(ctx, 0, x.dtype(), od, out);
}

// ---------------------------------------------------------------------------------------------
// Unique(X; axis, sorted) -> Y, indices, inverse_indices, counts, as numpy.unique.

absl::Status UniqueShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const int nout = static_cast<int>(ctx.node().outputs.size());
  if (ctx.node().HasAttr("axis") && x.rank_known) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis"));
    absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.dims.size()));
    if (!a.ok()) return ctx.Error(a.status().message());
    Dims d = x.dims;
    d[*a] = -1;
    ctx.set_output(0, TensorType{x.dtype, d});
  } else if (ctx.node().HasAttr("axis")) {
    ctx.set_output(0, Unknown(x.dtype));
  } else {
    ctx.set_output(0, TensorType{x.dtype, {-1}});
  }
  for (int i = 1; i < nout; ++i) ctx.set_output(i, TensorType{DType::kS64, {-1}});
  return absl::OkStatus();
}

absl::Status UniqueCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t sorted, ctx.node().GetInt("sorted", 1));
  const bool has_axis = ctx.node().HasAttr("axis");
  int64_t axis = 0, outer = 1, len = x.num_elements(), inner = 1;
  if (has_axis) {
    KILN_ASSIGN_OR_RETURN(int64_t a, ctx.node().GetInt("axis"));
    absl::StatusOr<int64_t> n = NormalizeAxis(a, x.rank());
    if (!n.ok()) return ctx.Error(n.status().message());
    axis = *n;
    len = x.dims()[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= x.dims()[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dims()[d];
  }
  // Slice j's elements, as long double (exact for every integer type and float).
  const bool is_float = IsAnyFloat(x.dtype());
  std::vector<std::vector<long double>> keys(len);
  for (int64_t j = 0; j < len; ++j) {
    keys[j].reserve(outer * inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t e = (o * len + j) * inner + i;
        long double v;
        if (is_float) v = x.GetAsDouble(e);
        else if (x.dtype() == DType::kU64) v = static_cast<long double>(x.data<uint64_t>()[e]);
        else v = static_cast<long double>(x.GetAsInt64(e));
        keys[j].push_back(v);
      }
  }
  std::vector<int64_t> order(len);
  for (int64_t j = 0; j < len; ++j) order[j] = j;
  // Ties keep index order, so each group's first element is its first occurrence.
  std::sort(order.begin(), order.end(), [&keys](int64_t a, int64_t b) { return keys[a] < keys[b] || (keys[a] == keys[b] && a < b); });
  std::vector<int64_t> first, counts, group_of(len);
  for (int64_t k = 0; k < len; ++k) {
    const int64_t j = order[k];
    if (k == 0 || keys[j] != keys[order[k - 1]]) {
      first.push_back(j);
      counts.push_back(0);
    }
    ++counts.back();
    group_of[j] = static_cast<int64_t>(first.size()) - 1;
  }
  const int64_t u = static_cast<int64_t>(first.size());
  std::vector<int64_t> rank(u);  // Output position of each group.
  std::vector<int64_t> groups(u);
  for (int64_t g = 0; g < u; ++g) groups[g] = g;
  if (!sorted) {
    std::sort(groups.begin(), groups.end(), [&first](int64_t a, int64_t b) { return first[a] < first[b]; });
  }
  for (int64_t p = 0; p < u; ++p) rank[groups[p]] = p;
  Dims yd = has_axis ? x.dims() : Dims{u};
  if (has_axis) yd[axis] = u;
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), yd));
  const size_t es = DTypeSize(x.dtype());
  for (int64_t p = 0; p < u; ++p) {
    const int64_t j = first[groups[p]];
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(static_cast<char*>(y->raw_data()) + ((o * u + p) * inner) * es,
                  static_cast<const char*>(x.raw_data()) + ((o * len + j) * inner) * es, inner * es);
    }
  }
  std::vector<double> idx(u), inv(len), cnt(u);
  for (int64_t p = 0; p < u; ++p) {
    idx[p] = static_cast<double>(first[groups[p]]);
    cnt[p] = static_cast<double>(counts[groups[p]]);
  }
  for (int64_t j = 0; j < len; ++j) inv[j] = static_cast<double>(rank[group_of[j]]);
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 1, DType::kS64, {u}, idx));
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 2, DType::kS64, {len}, inv));
  return WriteDoubles(ctx, 3, DType::kS64, {u}, cnt);
}

// ---------------------------------------------------------------------------------------------
// Einsum(inputs...; equation): explicit ("ij,jk->ik") or implicit form, with "..." broadcast.

struct EinsumPlan {
  std::vector<std::vector<int>> in_labels;  // Per input, a label id per dimension.
  std::vector<int> out_labels;
  std::vector<int64_t> extent;  // Per label id.
};

absl::StatusOr<EinsumPlan> PlanEinsum(const std::string& equation, const std::vector<Dims>& shapes) {
  std::string eq;
  for (char ch : equation) if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->");
  const std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> terms;
  size_t startp = 0;
  while (true) {
    size_t comma = lhs.find(',', startp);
    terms.push_back(lhs.substr(startp, comma == std::string::npos ? std::string::npos : comma - startp));
    if (comma == std::string::npos) break;
    startp = comma + 1;
  }
  if (terms.size() != shapes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("equation has ", terms.size(), " operands for ", shapes.size(), " inputs"));
  }
  EinsumPlan p;
  std::map<char, int> ids;
  auto id_of = [&](char ch) {
    auto it = ids.find(ch);
    if (it != ids.end()) return it->second;
    const int id = static_cast<int>(p.extent.size());
    ids[ch] = id;
    p.extent.push_back(1);
    return id;
  };
  // Ellipsis dimensions get ids 0..E-1 (right-aligned across inputs).
  int64_t ell_rank = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const size_t dots = terms[i].find("...");
    if (dots != std::string::npos) {
      const int64_t letters = static_cast<int64_t>(terms[i].size()) - 3;
      ell_rank = std::max(ell_rank, static_cast<int64_t>(shapes[i].size()) - letters);
    }
  }
  for (int64_t e = 0; e < ell_rank; ++e) p.extent.push_back(1);
  for (size_t i = 0; i < terms.size(); ++i) {
    const std::string& t = terms[i];
    const size_t dots = t.find("...");
    std::vector<int> labels;
    const int64_t letters = static_cast<int64_t>(t.size()) - (dots == std::string::npos ? 0 : 3);
    const int64_t my_ell = static_cast<int64_t>(shapes[i].size()) - letters;
    if (dots == std::string::npos && my_ell != 0) {
      return absl::InvalidArgumentError(absl::StrCat("operand ", i, " '", t, "' does not match rank ", shapes[i].size()));
    }
    if (my_ell < 0) return absl::InvalidArgumentError(absl::StrCat("operand ", i, " has too many labels"));
    for (size_t k = 0; k < t.size(); ++k) {
      if (k == dots) {
        for (int64_t e = 0; e < my_ell; ++e) labels.push_back(static_cast<int>(ell_rank - my_ell + e));
        k += 2;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(t[k]))) {
        return absl::InvalidArgumentError(absl::StrCat("bad character '", std::string(1, t[k]), "' in the equation"));
      }
      labels.push_back(id_of(t[k]));
    }
    for (size_t k = 0; k < labels.size(); ++k) {
      const int64_t dim = shapes[i][k];
      int64_t& ext = p.extent[labels[k]];
      if (ext == 1) {
        ext = dim;
      } else if (dim != 1 && dim != ext) {
        return absl::InvalidArgumentError(absl::StrCat("label extents ", ext, " and ", dim, " differ"));
      }
    }
    p.in_labels.push_back(labels);
  }
  if (arrow != std::string::npos) {
    const std::string rhs = eq.substr(arrow + 2);
    const size_t dots = rhs.find("...");
    for (size_t k = 0; k < rhs.size(); ++k) {
      if (k == dots) {
        for (int64_t e = 0; e < ell_rank; ++e) p.out_labels.push_back(static_cast<int>(e));
        k += 2;
        continue;
      }
      auto it = ids.find(rhs[k]);
      if (it == ids.end()) return absl::InvalidArgumentError(absl::StrCat("output label '", std::string(1, rhs[k]), "' is not an input label"));
      p.out_labels.push_back(it->second);
    }
  } else {
    for (int64_t e = 0; e < ell_rank; ++e) p.out_labels.push_back(static_cast<int>(e));
    std::map<char, int> count;
    for (const std::string& t : terms) for (char ch : t) if (ch != '.') ++count[ch];
    for (const auto& [ch, n] : count) if (n == 1) p.out_labels.push_back(ids[ch]);
  }
  return p;
}

absl::Status EinsumShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string eq, ctx.node().GetString("equation"));
  const DType dt = ctx.input(0).dtype;
  std::vector<Dims> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.input(i).fully_defined()) {
      ctx.set_output(0, Unknown(dt));
      return absl::OkStatus();
    }
    if (ctx.input(i).dtype != dt) return ctx.Error("inputs must share one type");
    shapes.push_back(ctx.input(i).dims);
  }
  absl::StatusOr<EinsumPlan> p = PlanEinsum(eq, shapes);
  if (!p.ok()) return ctx.Error(p.status().message());
  Dims od;
  for (int l : p->out_labels) od.push_back(p->extent[l]);
  ctx.set_output(0, TensorType{dt, od});
  return absl::OkStatus();
}

absl::Status EinsumCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string eq, ctx.node().GetString("equation"));
  std::vector<Dims> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) shapes.push_back(ctx.input(i).dims());
  absl::StatusOr<EinsumPlan> ps = PlanEinsum(eq, shapes);
  if (!ps.ok()) return ctx.Error(ps.status().message());
  const EinsumPlan& p = *ps;
  const DType dt = ctx.input(0).dtype();
  const bool is_float = IsAnyFloat(dt);
  // Loop over output labels, then the summed labels.
  std::vector<int> loop = p.out_labels;
  std::vector<bool> in_out(p.extent.size(), false);
  for (int l : p.out_labels) in_out[l] = true;
  for (const auto& labels : p.in_labels)
    for (int l : labels)
      if (!in_out[l] && std::find(loop.begin(), loop.end(), l) == loop.end()) loop.push_back(l);
  Dims loop_dims;
  for (int l : loop) loop_dims.push_back(p.extent[l]);
  Dims od;
  for (int l : p.out_labels) od.push_back(p.extent[l]);
  const int64_t out_n = NumElements(od), total = NumElements(loop_dims);
  std::vector<double> accf(out_n, 0.0);
  std::vector<int64_t> acci(out_n, 0);
  std::vector<std::vector<int64_t>> strides;
  for (int i = 0; i < ctx.num_inputs(); ++i) strides.push_back(Strides(shapes[i]));
  std::vector<int64_t> idx(loop.size(), 0), val(p.extent.size(), 0);
  const std::vector<int64_t> ostr = Strides(od);
  for (int64_t it = 0; it < total; ++it) {
    for (size_t k = 0; k < loop.size(); ++k) val[loop[k]] = idx[k];
    int64_t o = 0;
    for (size_t k = 0; k < p.out_labels.size(); ++k) o += val[p.out_labels[k]] * ostr[k];
    double pf = 1;
    int64_t pi = 1;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      int64_t off = 0;
      for (size_t k = 0; k < p.in_labels[i].size(); ++k) {
        off += (shapes[i][k] == 1 ? 0 : val[p.in_labels[i][k]]) * strides[i][k];
      }
      if (is_float) pf *= ctx.input(i).GetAsDouble(off);
      else pi = WrapMul<int64_t>(pi, ctx.input(i).GetAsInt64(off));
    }
    if (is_float) accf[o] += pf;
    else acci[o] = WrapAdd<int64_t>(acci[o], pi);
    NextIndex(idx, loop_dims);
  }
  if (!is_float) {
    for (int64_t i = 0; i < out_n; ++i) accf[i] = static_cast<double>(acci[i]);
    if (dt == DType::kS64 || dt == DType::kU64) {
      KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, dt, od));
      for (int64_t i = 0; i < out_n; ++i) y->data<int64_t>()[i] = acci[i];
      return absl::OkStatus();
    }
  }
  return WriteDoubles(ctx, 0, dt, od, accf);
}

// ---------------------------------------------------------------------------------------------
// AffineGrid(theta [N, r, r + 1], size [N, C, spatial...]; align_corners) -> grid [N, spatial..., r].

absl::Status AffineGridShape(InferenceContext& ctx) {
  const TensorType& theta = ctx.input(0);
  const TensorType& size = ctx.input(1);
  if (!IsAnyFloat(theta.dtype)) return ctx.Error("theta must be float");
  if (!size.value) {
    ctx.set_output(0, Unknown(theta.dtype));
    return absl::OkStatus();
  }
  const std::vector<int64_t> sz = ToInt64Vector(*size.value);
  if (sz.size() != 4 && sz.size() != 5) return ctx.Error("size must hold 4 or 5 values");
  for (int64_t d : sz) if (d < 0) return ctx.Error(absl::StrCat("size ", DimsToString(sz), " must not be negative"));
  Dims od{sz[0]};
  od.insert(od.end(), sz.begin() + 2, sz.end());
  od.push_back(static_cast<int64_t>(sz.size()) - 2);
  ctx.set_output(0, TensorType{theta.dtype, od});
  return absl::OkStatus();
}

absl::Status AffineGridCompute(KernelContext& ctx) {
  const Tensor& theta = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t align, ctx.node().GetInt("align_corners", 0));
  const std::vector<int64_t> sz = ToInt64Vector(ctx.input(1));
  if (sz.size() != 4 && sz.size() != 5) return ctx.Error("size must hold 4 or 5 values");
  const int64_t r = static_cast<int64_t>(sz.size()) - 2, n = sz[0];
  if (theta.dims() != Dims{n, r, r + 1}) return ctx.Error(absl::StrCat("theta must be [", n, ",", r, ",", r + 1, "]"));
  const Dims sp(sz.begin() + 2, sz.end());
  for (int64_t d : sp) if (d < 0) return ctx.Error("size must not be negative");
  Dims grid_dims = sp;
  grid_dims.insert(grid_dims.begin(), n);
  grid_dims.push_back(r);
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, grid_dims));
  const int64_t count = NumElements(sp);
  auto base = [align](int64_t i, int64_t len) {
    if (align) return len > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1) : 0.0;
    return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len) - 1.0;
  };
  const std::vector<double> t = ReadDoubles(theta);
  std::vector<double> out(n * count * r);
  const std::vector<int64_t> st = Strides(sp);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < count; ++p) {
      // Coordinates in x, y(, z) order: the last spatial dimension first.
      std::vector<double> coord(r + 1, 1.0);
      for (int64_t d = 0; d < r; ++d) {
        const int64_t i = (p / st[d]) % sp[d];
        coord[r - 1 - d] = base(i, sp[d]);
      }
      for (int64_t k = 0; k < r; ++k) {
        double acc = 0;
        for (int64_t j = 0; j <= r; ++j) acc += t[(b * r + k) * (r + 1) + j] * coord[j];
        out[(b * count + p) * r + k] = acc;
      }
    }
  Dims od{n};
  od.insert(od.end(), sp.begin(), sp.end());
  od.push_back(r);
  return WriteDoubles(ctx, 0, theta.dtype(), od, out);
}

// ---------------------------------------------------------------------------------------------
// Col2Im(input [N, C * prod(block), L], image_shape, block_shape; dilations, pads, strides).

absl::Status Col2ImShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("input must be float");
  if (!x.rank_known || !ctx.input(1).value || !ctx.input(2).value) {
    ctx.set_output(0, Unknown(x.dtype));
    return absl::OkStatus();
  }
  const std::vector<int64_t> image = ToInt64Vector(*ctx.input(1).value), block = ToInt64Vector(*ctx.input(2).value);
  int64_t bs = 1;
  for (int64_t b : block) {
    if (b <= 0 || b > (int64_t{1} << 20) || bs > (int64_t{1} << 40)) return ctx.Error("block_shape values must be in [1, 2^20]");
    bs *= b;
  }
  if (x.dims.size() != 3 || block.size() != image.size() || bs <= 0) return ctx.Error("input must be 3-D with matching block and image shapes");
  for (int64_t d : image) {
    if (d < 0) return ctx.Error(absl::StrCat("image_shape ", DimsToString(image), " must not be negative"));
  }
  Dims od{x.dims[0], x.dims[1] < 0 ? -1 : x.dims[1] / bs};
  od.insert(od.end(), image.begin(), image.end());
  ctx.set_output(0, TensorType{x.dtype, od});
  return absl::OkStatus();
}

absl::Status Col2ImCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> image = ToInt64Vector(ctx.input(1)), block = ToInt64Vector(ctx.input(2));
  const int64_t r = static_cast<int64_t>(image.size());
  if (x.rank() != 3 || static_cast<int64_t>(block.size()) != r || r == 0) return ctx.Error("bad input, image or block shape");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dil, ctx.node().GetInts("dilations", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> str, ctx.node().GetInts("strides", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, ctx.node().GetInts("pads", std::vector<int64_t>(2 * r, 0)));
  if (static_cast<int64_t>(dil.size()) != r || static_cast<int64_t>(str.size()) != r || static_cast<int64_t>(pads.size()) != 2 * r) {
    return ctx.Error("dilations, strides and pads must match the image rank");
  }
  Dims nblocks(r);
  int64_t bs = 1, L = 1;
  // Not std::abs: pads may hold INT64_MIN.
  auto outside = [](int64_t v) { return v < -(int64_t{1} << 40) || v > (int64_t{1} << 40); };
  for (int64_t d = 0; d < r; ++d) {
    if (block[d] <= 0 || str[d] <= 0 || dil[d] <= 0 || block[d] > (int64_t{1} << 20) || str[d] > (int64_t{1} << 20) ||
        dil[d] > (int64_t{1} << 20) || image[d] < 0 || image[d] > (int64_t{1} << 40) || outside(pads[d]) ||
        outside(pads[d + r]) || bs > (int64_t{1} << 40) || L > (int64_t{1} << 40)) {
      return ctx.Error("block, strides and dilations must be in [1, 2^20], image and pads within 2^40");
    }
    nblocks[d] = (image[d] + pads[d] + pads[d + r] - (dil[d] * (block[d] - 1) + 1)) / str[d] + 1;
    bs *= block[d];
    L = SatMul(L, nblocks[d]);  // Up to 2^40 times 2^42: saturates, and then matches no input.
  }
  const int64_t n = x.dims()[0];
  if (x.dims()[1] % bs || x.dims()[2] != L) return ctx.Error(absl::StrCat("input ", x.TypeString(), " does not match the blocks"));
  for (int64_t d : image) if (d < 0) return ctx.Error("image_shape must not be negative");
  const int64_t c = x.dims()[1] / bs, img = NumElements(Dims(image.begin(), image.end()));
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {n, c, img}));
  const std::vector<double> v = ReadDoubles(x);
  std::vector<double> y(n * c * img, 0.0);
  const std::vector<int64_t> bstr = Strides(Dims(block.begin(), block.end())), lstr = Strides(nblocks);
  const std::vector<int64_t> istr = Strides(Dims(image.begin(), image.end()));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t k = 0; k < bs; ++k)
        for (int64_t l = 0; l < L; ++l) {
          int64_t off = 0;
          bool inside = true;
          for (int64_t d = 0; d < r && inside; ++d) {
            const int64_t kd = (k / bstr[d]) % block[d], ld = (l / lstr[d]) % nblocks[d];
            const int64_t pos = ld * str[d] - pads[d] + kd * dil[d];
            inside = pos >= 0 && pos < image[d];
            off += pos * istr[d];
          }
          if (inside) y[(b * c + ch) * img + off] += v[(b * c * bs + ch * bs + k) * L + l];
        }
  Dims od{n, c};
  od.insert(od.end(), image.begin(), image.end());
  return WriteDoubles(ctx, 0, x.dtype(), od, y);
}

}  // namespace

void RegisterExtraOps(OpRegistry& registry) {
  auto bit = [](BitKind k) { return [k](KernelContext& ctx) { return BitwiseCompute(ctx, k); }; };
  auto int_bcast = [](InferenceContext& ctx) { return SameTypeBroadcastShape(ctx, true); };
  AddOp(registry, MakeDef("BitwiseAnd", 2, 2, int_bcast, bit(BitKind::kAnd)));
  AddOp(registry, MakeDef("BitwiseOr", 2, 2, int_bcast, bit(BitKind::kOr)));
  AddOp(registry, MakeDef("BitwiseXor", 2, 2, int_bcast, bit(BitKind::kXor)));
  AddOp(registry, MakeDef("BitShift", 2, 2, int_bcast, bit(BitKind::kShift)));
  AddOp(registry, MakeDef("BitwiseNot", 1, 1, [](InferenceContext& ctx) -> absl::Status {
    if (!IsIntType(ctx.input(0).dtype)) return ctx.Error("input must be an integer tensor");
    return SameShape(ctx);
  }, BitwiseNotCompute));

  auto window = [](WindowKind k) { return [k](KernelContext& ctx) { return WindowCompute(ctx, k); }; };
  AddOp(registry, MakeDef("HannWindow", 1, 1, WindowShape, window(WindowKind::kHann)));
  AddOp(registry, MakeDef("HammingWindow", 1, 1, WindowShape, window(WindowKind::kHamming)));
  AddOp(registry, MakeDef("BlackmanWindow", 1, 1, WindowShape, window(WindowKind::kBlackman)));

  AddOp(registry, MakeDef("EyeLike", 1, 1, EyeLikeShape, EyeLikeCompute));
  AddOp(registry, MakeDef("CumProd", 2, 2, [](InferenceContext& ctx) -> absl::Status {
    if (!IsFloatType(ctx.input(0).dtype) && !IsF64OrInt(ctx.input(0).dtype)) return ctx.Error("input must be numeric");
    return SameShape(ctx);
  }, CumProdCompute), /*half_via_f32=*/true);

  AddOp(registry, MakeDef("DepthToSpace", 1, 1, [](InferenceContext& ctx) { return SpaceDepthShape(ctx, true); },
                          [](KernelContext& ctx) { return SpaceDepthCompute(ctx, true); }));
  AddOp(registry, MakeDef("SpaceToDepth", 1, 1, [](InferenceContext& ctx) { return SpaceDepthShape(ctx, false); },
                          [](KernelContext& ctx) { return SpaceDepthCompute(ctx, false); }));
  AddOp(registry, MakeDef("Compress", 2, 2, CompressShape, CompressCompute));
  AddOp(registry, MakeDef("NonZero", 1, 1, NonZeroShape, NonZeroCompute));
  AddOp(registry, MakeDef("ScatterND", 3, 3, SameShape, ScatterNDCompute));
  AddOp(registry, MakeDef("ReverseSequence", 2, 2, SameShape, ReverseSequenceCompute));

  AddOp(registry, MakeDef("DequantizeLinear", 2, 3, DequantizeShape, DequantizeCompute));
  AddOp(registry, MakeDef("QuantizeLinear", 2, 3, QuantizeShape, QuantizeCompute));
  AddOp(registry, MakeDef("DynamicQuantizeLinear", 1, 1, DynamicQuantizeShape, DynamicQuantizeCompute, 3));
  AddOp(registry, MakeDef("MatMulInteger", 2, 4, MatMulIntegerShape, MatMulIntegerCompute));
  AddOp(registry, MakeDef("QLinearMatMul", 8, 8, QLinearMatMulShape, QLinearMatMulCompute));

  AddOp(registry, MakeDef("LpPool", 1, 1, LpPoolShape, LpPoolCompute));
  AddOp(registry, MakeDef("GroupNormalization", 3, 3, FloatSameShape, GroupNormCompute));
  AddOp(registry, MakeDef("MeanVarianceNormalization", 1, 1, FloatSameShape, MvnCompute));
  AddOp(registry, MakeDef("BitCast", 1, 1, BitCastShape, BitCastCompute));
  AddOp(registry, MakeDef("CenterCropPad", 2, 2, CenterCropPadShape, CenterCropPadCompute));
  AddOp(registry, MakeDef("Det", 1, 1, DetShape, DetCompute));
  AddOp(registry, MakeDef("Unique", 1, 1, UniqueShape, UniqueCompute, 4));
  OpDef einsum = MakeDef("Einsum", 1, -1, EinsumShape, EinsumCompute);
  AddOp(registry, std::move(einsum));
  AddOp(registry, MakeDef("AffineGrid", 2, 2, AffineGridShape, AffineGridCompute));
  AddOp(registry, MakeDef("Col2Im", 3, 3, Col2ImShape, Col2ImCompute));
}

}  // namespace kiln::kernels
