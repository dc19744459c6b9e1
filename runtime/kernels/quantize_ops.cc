// Quantization: QuantizeLinear, DequantizeLinear (per tensor, per axis or blocked scales),
// DynamicQuantizeLinear, and the integer matmuls MatMulInteger and QLinearMatMul.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

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
    return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': ", m));
  };
  if (NumElements(scale) == 1 && scale.size() <= 1) return p;
  if (x.empty()) return error("a per-axis scale needs an input of rank 1 or more");
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.size()));
  if (!a.ok()) return error(std::string(a.status().message()));
  p.axis = *a;
  if (p.block <= 0) {
    if (scale.size() != 1 || scale[0] != x[p.axis]) {
      return error(kiln::StrCat("scale ", DimsToString(scale), " must be a scalar or hold ", x[p.axis], " values"));
    }
    p.kind = 1;
    return p;
  }
  if (scale.size() != x.size()) return error("a blocked scale must have the input's rank");
  for (size_t d = 0; d < x.size(); ++d) {
    // ceil(x / block) without overflow: block_size may be any positive int64.
    const int64_t want = static_cast<int64_t>(d) == p.axis ? x[d] / p.block + (x[d] % p.block > 0 ? 1 : 0) : x[d];
    if (scale[d] != want) return error(kiln::StrCat("blocked scale ", DimsToString(scale), " does not match the input"));
  }
  p.kind = 2;
  return p;
}

absl::Status DequantizeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& s = ctx.input(1);
  if (!IsQuantType(x.dtype)) return Unsupported(ctx.node(), kiln::StrCat("input type ", DTypeName(x.dtype), " is not supported"));
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
    return Unsupported(ctx.node(), kiln::StrCat("output type ", DTypeName(out), " is not supported"));
  }
  ctx.set_output(0, TensorType{out, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::StatusOr<std::pair<double, double>> QuantRange(DType t) {
  switch (t) {
    case DType::kS8: return std::make_pair(-128.0, 127.0);
    case DType::kU8: return std::make_pair(0.0, 255.0);
    case DType::kS16: return std::make_pair(-32768.0, 32767.0);
    case DType::kU16: return std::make_pair(0.0, 65535.0);
    default: return absl::UnimplementedError(kiln::StrCat("quantized type ", DTypeName(t), " is not supported"));
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
  if (bd[bd.size() - 2] != k) return ctx.Error(kiln::StrCat("inner dimensions differ: ", a.TypeString(), " x ", b.TypeString()));
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

// Sets output 0 to `out` with the dims of the matmul of a [..., M, K] and b [..., K, N] (numpy
// batch broadcasting): [batch..., M, N], or an unknown rank when either rank is unknown or below 2.
absl::Status SetIntegerMatMulOutput(InferenceContext& ctx, const TensorType& a, const TensorType& b, DType out) {
  if (!a.rank_known || !b.rank_known || a.dims.size() < 2 || b.dims.size() < 2) {
    ctx.set_output(0, UnknownRank(out));
    return absl::OkStatus();
  }
  Dims ab(a.dims.begin(), a.dims.end() - 2), bb(b.dims.begin(), b.dims.end() - 2);
  absl::StatusOr<Dims> batch = BroadcastDims(ab, bb);
  if (!batch.ok()) return ctx.Error(FromAbsl(batch.status().message()));
  Dims od = *batch;
  od.push_back(a.dims[a.dims.size() - 2]);
  od.push_back(b.dims.back());
  ctx.set_output(0, TensorType{out, od});
  return absl::OkStatus();
}

absl::Status MatMulIntegerShape(InferenceContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if ((a.dtype != DType::kS8 && a.dtype != DType::kU8) || (b.dtype != DType::kS8 && b.dtype != DType::kU8)) {
    return ctx.Error("inputs must be s8 or u8");
  }
  return SetIntegerMatMulOutput(ctx, a, b, DType::kS32);
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
  return SetIntegerMatMulOutput(ctx, a, b, out);
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

}  // namespace

void RegisterQuantizeOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("DequantizeLinear", 2, 3, DequantizeShape, DequantizeCompute));
  AddOp(registry, StatelessOpDef("QuantizeLinear", 2, 3, QuantizeShape, QuantizeCompute));
  AddOp(registry, StatelessOpDef("DynamicQuantizeLinear", 1, 1, DynamicQuantizeShape, DynamicQuantizeCompute, 3));
  AddOp(registry, StatelessOpDef("MatMulInteger", 2, 4, MatMulIntegerShape, MatMulIntegerCompute));
  AddOp(registry, StatelessOpDef("QLinearMatMul", 8, 8, QLinearMatMulShape, QLinearMatMulCompute));
}

}  // namespace kiln::kernels
