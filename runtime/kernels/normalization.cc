// Normalizations: LayerNormalization, RMSNormalization, InstanceNormalization, LRN,
// LpNormalization (f32; f16/bf16 through f32); GroupNormalization and MeanVarianceNormalization
// (computed in double, so f64 too).
#include <cmath>

#include "kiln/support/strings.h"
#include "kiln/support/vector_math.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

absl::Status RequireFloat(InferenceContext& ctx, int first, int last) {
  for (int i = first; i <= last && i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i) && !IsFloatType(ctx.input(i).dtype)) {
      return ctx.Error(kiln::StrCat("input ", i, " must be a float tensor; got ", ctx.input(i).ToString()));
    }
  }
  return absl::OkStatus();
}

// `t` (broadcast unidirectionally to `dims`) expanded into a dense vector, or an error.
absl::StatusOr<std::vector<float>> Expand(KernelContext& ctx, const Tensor& t, const Dims& dims, const char* what) {
  if (t.dtype() != DType::kF32 || t.rank() > static_cast<int>(dims.size())) {
    return ctx.Error(kiln::StrCat(what, " ", t.TypeString(), " does not broadcast to ", DimsToString(dims)));
  }
  for (int i = 0; i < t.rank(); ++i) {
    const int64_t d = t.dim(t.rank() - 1 - i), target = dims[dims.size() - 1 - i];
    if (d != 1 && d != target) {
      return ctx.Error(kiln::StrCat(what, " ", t.TypeString(), " does not broadcast to ", DimsToString(dims)));
    }
  }
  const std::vector<int64_t> strides = BroadcastStrides(t.dims(), dims);
  const int64_t n = NumElements(dims);
  std::vector<float> out(n);
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < dims.size(); ++d) off += idx[d] * strides[d];
    out[i] = t.data<float>()[off];
    for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// LayerNormalization(X, Scale, B?) -> Y, Mean?, InvStdDev?; RMSNormalization(X, scale) -> Y.
absl::Status LayerNormShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(RequireFloat(ctx, 0, 2));
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  if (ctx.node().outputs.size() > 1) {
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
    TensorType stats{DType::kF32, x.dims, x.rank_known};
    if (x.rank_known) {
      absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, static_cast<int64_t>(x.dims.size()));
      if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
      for (size_t d = *axis; d < stats.dims.size(); ++d) stats.dims[d] = 1;
    }
    for (size_t i = 1; i < ctx.node().outputs.size(); ++i) ctx.set_output(static_cast<int>(i), stats);
  }
  return absl::OkStatus();
}

absl::Status LayerNormCompute(bool rms, KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32) return ctx.Error(kiln::StrCat("X must be a float tensor; got ", x.TypeString()));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
  KILN_ASSIGN_OR_RETURN(float epsilon, ctx.node().GetFloat("epsilon", 1e-5f));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  const Dims norm_dims(x.dims().begin() + *axis, x.dims().end());
  const int64_t inner = NumElements(norm_dims);
  const int64_t outer = inner == 0 ? 0 : x.num_elements() / inner;
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, Expand(ctx, ctx.input(1), norm_dims, "Scale"));
  std::vector<float> bias;
  if (!rms && ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(bias, Expand(ctx, ctx.input(2), norm_dims, "B"));
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, x.dims()));
  Dims stat_dims = x.dims();
  for (size_t d = *axis; d < stat_dims.size(); ++d) stat_dims[d] = 1;
  float* mean_out = nullptr;
  float* inv_out = nullptr;
  if (!rms && ctx.num_outputs() > 1 && !ctx.node().outputs[1].empty()) {
    KILN_ASSIGN_OR_RETURN(Tensor * m, ctx.AllocateOutput(1, DType::kF32, stat_dims));
    mean_out = m->data<float>();
  }
  if (!rms && ctx.num_outputs() > 2 && !ctx.node().outputs[2].empty()) {
    KILN_ASSIGN_OR_RETURN(Tensor * v, ctx.AllocateOutput(2, DType::kF32, stat_dims));
    inv_out = v->data<float>();
  }
  const float* xp = x.data<float>();
  float* yp = y->data<float>();
  for (int64_t o = 0; o < outer; ++o) {
    const float* src = xp + o * inner;
    float* dst = yp + o * inner;
    const double mean = rms ? 0.0 : SumAsDouble(src, inner) / static_cast<double>(inner);
    const double sq = SumSquaredDeviations(src, inner, mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon));
    const float m = static_cast<float>(mean);
    if (bias.empty()) {
      for (int64_t i = 0; i < inner; ++i) dst[i] = (src[i] - m) * inv * scale[i] + 0.0f;
    } else {
      for (int64_t i = 0; i < inner; ++i) dst[i] = (src[i] - m) * inv * scale[i] + bias[i];
    }
    if (mean_out) mean_out[o] = m;
    if (inv_out) inv_out[o] = inv;
  }
  return absl::OkStatus();
}

// InstanceNormalization(X, scale[C], B[C]).
absl::Status InstanceNormCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3 || x.dtype() != DType::kF32) {
    return ctx.Error(kiln::StrCat("X must be a float tensor of rank 3 or more; got ", x.TypeString()));
  }
  const int64_t n = x.dim(0), c = x.dim(1);
  for (int i = 1; i <= 2; ++i) {
    if (ctx.input(i).num_elements() != c || ctx.input(i).dtype() != DType::kF32) {
      return ctx.Error(kiln::StrCat("input ", i, " must be f32[", c, "]; got ", ctx.input(i).TypeString()));
    }
  }
  KILN_ASSIGN_OR_RETURN(float epsilon, ctx.node().GetFloat("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, x.dims()));
  const int64_t inner = n * c == 0 ? 0 : x.num_elements() / (n * c);
  for (int64_t p = 0; p < n * c; ++p) {
    const float* src = x.data<float>() + p * inner;
    float* dst = y->data<float>() + p * inner;
    const double mean = SumAsDouble(src, inner) / static_cast<double>(inner);
    const double sq = SumSquaredDeviations(src, inner, mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon));
    const float s = ctx.input(1).data<float>()[p % c], b = ctx.input(2).data<float>()[p % c];
    for (int64_t i = 0; i < inner; ++i) dst[i] = (src[i] - static_cast<float>(mean)) * inv * s + b;
  }
  return absl::OkStatus();
}

// LRN across channels: y = x / (bias + alpha / size * sum of squares over the window)^beta.
absl::Status LrnCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3 || x.dtype() != DType::kF32) {
    return ctx.Error(kiln::StrCat("X must be a float tensor of rank 3 or more; got ", x.TypeString()));
  }
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 1e-4f));
  KILN_ASSIGN_OR_RETURN(float beta, ctx.node().GetFloat("beta", 0.75f));
  KILN_ASSIGN_OR_RETURN(float bias, ctx.node().GetFloat("bias", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t size, ctx.node().GetInt("size"));
  if (size <= 0) return ctx.Error(kiln::StrCat("size must be positive, got ", size));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, x.dims()));
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t inner = n * c == 0 ? 0 : x.num_elements() / (n * c);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const float* xp = x.data<float>();
  float* yp = y->data<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t i = 0; i < inner; ++i) {
        double sum = 0;
        for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
          const float v = xp[(b * c + k) * inner + i];
          sum += v * v;
        }
        const int64_t at = (b * c + ch) * inner + i;
        yp[at] = static_cast<float>(xp[at] / std::pow(bias + alpha / size * sum, beta));
      }
    }
  }
  return absl::OkStatus();
}

// LpNormalization: x / ||x||_p along `axis` (p = 1 or 2).
absl::Status LpNormCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32) return ctx.Error(kiln::StrCat("X must be a float tensor; got ", x.TypeString()));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", -1));
  KILN_ASSIGN_OR_RETURN(int64_t p, ctx.node().GetInt("p", 2));
  if (p != 1 && p != 2) return ctx.Error(kiln::StrCat("p must be 1 or 2, got ", p));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, x.dims()));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= x.dim(d);
  for (int d = *axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t n = x.dim(*axis);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* src = x.data<float>() + o * n * inner + i;
      float* dst = y->data<float>() + o * n * inner + i;
      double norm = 0;
      for (int64_t k = 0; k < n; ++k) norm += p == 1 ? std::fabs(src[k * inner]) : src[k * inner] * src[k * inner];
      if (p == 2) norm = std::sqrt(norm);
      for (int64_t k = 0; k < n; ++k) dst[k * inner] = norm == 0 ? 0.0f : static_cast<float>(src[k * inner] / norm);
    }
  }
  return absl::OkStatus();
}

absl::Status SameShapeFloat(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(RequireFloat(ctx, 0, ctx.num_inputs() - 1));
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// GroupNormalization(X, scale, bias; epsilon, num_groups) and MeanVarianceNormalization(X; axes).

absl::Status SameShapeAnyFloat(InferenceContext& ctx) {
  if (!IsAnyFloat(ctx.input(0).dtype)) return ctx.Error("input must be float");
  return SameAsInput(ctx);
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
    if (!n.ok()) return ctx.Error(FromAbsl(n.status().message()));
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

}  // namespace

void RegisterNormalizationOps(OpRegistry& registry) {
  AddOp(registry,
        MakeOpDef("LayerNormalization", 2, 3, LayerNormShapeFn,
                  StatelessKernel([](KernelContext& ctx) { return LayerNormCompute(false, ctx); }), 3),
        /*half_via_f32=*/true);
  AddOp(registry,
        MakeOpDef("RMSNormalization", 2, 2, LayerNormShapeFn,
                  StatelessKernel([](KernelContext& ctx) { return LayerNormCompute(true, ctx); })),
        /*half_via_f32=*/true);
  AddOp(registry, MakeOpDef("InstanceNormalization", 3, 3, SameShapeFloat, StatelessKernel(InstanceNormCompute)),
        /*half_via_f32=*/true);
  AddOp(registry, MakeOpDef("LRN", 1, 1, SameShapeFloat, StatelessKernel(LrnCompute)), /*half_via_f32=*/true);
  AddOp(registry, MakeOpDef("LpNormalization", 1, 1, SameShapeFloat, StatelessKernel(LpNormCompute)),
        /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("GroupNormalization", 3, 3, SameShapeAnyFloat, GroupNormCompute));
  AddOp(registry, StatelessOpDef("MeanVarianceNormalization", 1, 1, SameShapeAnyFloat, MvnCompute));
}

}  // namespace kiln::kernels
