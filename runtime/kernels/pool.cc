// Pooling (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, LpPool) and BatchNormalization.
#include <cmath>
#include <limits>

#include "kiln/support/strings.h"
#include "kiln/support/ieee_minmax.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

struct PoolShape {
  WindowGeometry window;
  Dims out;
};

absl::StatusOr<PoolShape> InferPool(const Node& node, const Dims& x) {
  if (x.size() < 3 || x.size() > 5) {
    return absl::InvalidArgumentError(kiln::StrCat("input X must have rank 3 to 5 (N, C, 1 to 3 spatial dims); got ",
                                                   DimsToString(x)));
  }
  if (!node.HasAttr("kernel_shape")) return absl::InvalidArgumentError("the kernel_shape attribute is required");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.GetInts("kernel_shape"));
  PoolShape s;
  KILN_ASSIGN_OR_RETURN(s.window, ComputeWindow(node, Dims(x.begin() + 2, x.end()), kernel, /*pooling=*/true));
  s.out = {x[0], x[1]};
  for (int64_t o : s.window.out) s.out.push_back(o);
  return s;
}

absl::Status PoolShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const bool is_max = ctx.node().op == "MaxPool";
  if (!IsFloatType(x.dtype) && !(is_max && (x.dtype == DType::kU8 || x.dtype == DType::kS8))) {
    return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype), " is not supported (",
                                  is_max ? "f32, s8 or u8" : "f32", " expected)"));
  }
  if (!x.rank_known) {
    TensorType out;
    out.dtype = x.dtype;
    out.rank_known = false;
    ctx.set_output(0, out);
    if (ctx.node().outputs.size() > 1) ctx.set_output(1, TensorType{DType::kS64, {}, false});
    return absl::OkStatus();
  }
  absl::StatusOr<PoolShape> s = InferPool(ctx.node(), x.dims);
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  ctx.set_output(0, TensorType{x.dtype, s->out});
  if (ctx.node().outputs.size() > 1) ctx.set_output(1, TensorType{DType::kS64, s->out});
  return absl::OkStatus();
}

template <typename T>
void MaxPool3D(const T* x, T* y, int64_t* indices, int64_t planes, const WindowGeometry& g, bool column_major) {
  const int64_t id = g.in[0], ih = g.in[1], iw = g.in[2];
  const int64_t od = g.out[0], oh = g.out[1], ow = g.out[2];
  const int64_t in_plane = id * ih * iw, out_plane = od * oh * ow;
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * in_plane;
    for (int64_t z = 0; z < od; ++z) {
      for (int64_t yy = 0; yy < oh; ++yy) {
        for (int64_t xx = 0; xx < ow; ++xx) {
          T best = std::numeric_limits<T>::lowest();
          int64_t best_index = -1;
          ForEachTapInside(g, z, yy, xx, [&](int64_t pz, int64_t py, int64_t px) {
            const int64_t at = (pz * ih + py) * iw + px;
            // IEEE maximum (kiln/support/ieee_minmax.h): a NaN tap wins and stays; +0 beats -0. The
            // index is the first tap holding the result.
            const T v = xp[at];
            if (best_index < 0 || (best == best && IeeeMaximum(best, v) != best) ||
                (v == best && std::signbit(best) && !std::signbit(v))) {
              best = v;
              best_index = column_major ? (pz * iw + px) * ih + py : at;
            }
          });
          const int64_t o = p * out_plane + (z * oh + yy) * ow + xx;
          y[o] = best;
          if (indices != nullptr) indices[o] = p * in_plane + best_index;
        }
      }
    }
  }
}

void AveragePool3D(const float* x, float* y, int64_t planes, const WindowGeometry& g, bool count_include_pad) {
  const int64_t id = g.in[0], ih = g.in[1], iw = g.in[2];
  const int64_t od = g.out[0], oh = g.out[1], ow = g.out[2];
  const int64_t in_plane = id * ih * iw, out_plane = od * oh * ow;
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * in_plane;
    for (int64_t z = 0; z < od; ++z) {
      const int64_t sz = z * g.strides[0] - g.pad_begin[0];
      for (int64_t yy = 0; yy < oh; ++yy) {
        const int64_t sy = yy * g.strides[1] - g.pad_begin[1];
        for (int64_t xx = 0; xx < ow; ++xx) {
          const int64_t sx = xx * g.strides[2] - g.pad_begin[2];
          float sum = 0;
          int64_t valid = 0;
          ForEachTapInside(g, z, yy, xx, [&](int64_t pz, int64_t py, int64_t px) {
            sum += xp[(pz * ih + py) * iw + px];
            ++valid;
          });
          int64_t divisor = valid;
          if (count_include_pad) {
            // Positions inside the padded extent count, positions beyond it (ceil_mode) do not.
            divisor = TapsInRange(sz, g.kernel[0], g.dilations[0], -g.pad_begin[0], id + g.pad_end[0]).count() *
                      TapsInRange(sy, g.kernel[1], g.dilations[1], -g.pad_begin[1], ih + g.pad_end[1]).count() *
                      TapsInRange(sx, g.kernel[2], g.dilations[2], -g.pad_begin[2], iw + g.pad_end[2]).count();
          }
          y[p * out_plane + (z * oh + yy) * ow + xx] = divisor > 0 ? sum / static_cast<float>(divisor) : 0.0f;
        }
      }
    }
  }
}

absl::Status PoolCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool is_max = ctx.node().op == "MaxPool";
  absl::StatusOr<PoolShape> s = InferPool(ctx.node(), x.dims());
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), s->out));
  const WindowGeometry g = ExpandTo3D(s->window);
  const int64_t planes = x.dim(0) * x.dim(1);
  if (is_max) {
    KILN_ASSIGN_OR_RETURN(int64_t storage_order, ctx.node().GetInt("storage_order", 0));
    int64_t* indices = nullptr;
    if (ctx.num_outputs() > 1 && !ctx.node().outputs[1].empty()) {
      KILN_ASSIGN_OR_RETURN(Tensor * ind, ctx.AllocateOutput(1, DType::kS64, s->out));
      indices = ind->data<int64_t>();
    }
    switch (x.dtype()) {
      case DType::kF32: MaxPool3D(x.data<float>(), y->data<float>(), indices, planes, g, storage_order != 0); break;
      case DType::kU8: MaxPool3D(x.data<uint8_t>(), y->data<uint8_t>(), indices, planes, g, storage_order != 0); break;
      case DType::kS8: MaxPool3D(x.data<int8_t>(), y->data<int8_t>(), indices, planes, g, storage_order != 0); break;
      default: return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype()), " is not supported"));
    }
    return absl::OkStatus();
  }
  if (x.dtype() != DType::kF32) return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype()), " is not supported"));
  KILN_ASSIGN_OR_RETURN(int64_t count_include_pad, ctx.node().GetInt("count_include_pad", 0));
  AveragePool3D(x.data<float>(), y->data<float>(), planes, g, count_include_pad != 0);
  return absl::OkStatus();
}

absl::Status GlobalPoolShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsFloatType(x.dtype)) return ctx.Error(kiln::StrCat("element type ", DTypeName(x.dtype), " is not supported (f32, f16 or bf16 expected)"));
  TensorType out{x.dtype, x.dims, x.rank_known};
  if (x.rank_known) {
    if (x.dims.size() < 2) return ctx.Error(kiln::StrCat("input must have rank 2 or more; got ", x.ToString()));
    for (size_t i = 2; i < out.dims.size(); ++i) out.dims[i] = 1;
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status GlobalPoolCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32 || x.rank() < 2) return ctx.Error(kiln::StrCat("expected f32 of rank 2 or more; got ", x.TypeString()));
  Dims out = x.dims();
  for (size_t i = 2; i < out.size(); ++i) out[i] = 1;
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, out));
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = planes == 0 ? 0 : x.num_elements() / planes;
  const bool is_max = ctx.node().op == "GlobalMaxPool";
  const float* xp = x.data<float>();
  float* yp = y->data<float>();
  for (int64_t p = 0; p < planes; ++p) {
    const float* src = xp + p * size;
    if (is_max) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < size; ++i) best = IeeeMaximum(best, src[i]);
      yp[p] = best;
    } else {
      float sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += src[i];
      yp[p] = size > 0 ? sum / static_cast<float>(size) : 0.0f;
    }
  }
  return absl::OkStatus();
}

// BatchNormalization(X, scale, B, input_mean, input_var). With training_mode=1 the statistics
// come from the batch, and outputs 1 and 2 are the updated running mean and variance.
absl::Status BatchNormShapeFn(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t training, ctx.node().GetInt("training_mode", 0));
  for (size_t i = 1; i < ctx.node().outputs.size(); ++i) {
    if (!ctx.node().outputs[i].empty() && training == 0) {
      return ctx.Error("the running mean and variance outputs exist only with training_mode=1");
    }
  }
  const TensorType& x = ctx.input(0);
  for (int i = 0; i < 5; ++i) {
    if (!IsFloatType(ctx.input(i).dtype)) {
      return ctx.Error(kiln::StrCat("input ", i, " must be a float tensor; got ", ctx.input(i).ToString()));
    }
  }
  if (x.rank_known && x.dims.size() < 2) return ctx.Error(kiln::StrCat("X must have rank 2 or more; got ", x.ToString()));
  for (int i = 1; i < 5; ++i) {
    const TensorType& t = ctx.input(i);
    if (t.rank_known && (t.dims.size() != 1 || (x.rank_known && x.dims[1] >= 0 && t.dims[0] >= 0 && t.dims[0] != x.dims[1]))) {
      return ctx.Error(kiln::StrCat("input ", i, " must have shape [C] with C = X's dimension 1; got ", t.ToString(),
                                    " for X ", x.ToString()));
    }
  }
  ctx.set_output(0, TensorType{x.dtype, x.dims, x.rank_known});
  for (size_t i = 1; i < ctx.node().outputs.size() && i < 3; ++i) {
    ctx.set_output(static_cast<int>(i), TensorType{ctx.input(3).dtype, ctx.input(3).dims, ctx.input(3).rank_known});
  }
  return absl::OkStatus();
}

absl::Status BatchNormCompute(float epsilon, float momentum, bool training, KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.Error(kiln::StrCat("X must have rank 2 or more; got ", x.TypeString()));
  const int64_t n = x.dim(0), c = x.dim(1);
  for (int i = 1; i < 5; ++i) {
    if (ctx.input(i).dtype() != DType::kF32 || ctx.input(i).num_elements() != c) {
      return ctx.Error(kiln::StrCat("input ", i, " must be f32[", c, "]; got ", ctx.input(i).TypeString()));
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, x.dims()));
  const float* scale = ctx.input(1).data<float>();
  const float* bias = ctx.input(2).data<float>();
  const int64_t inner = n * c == 0 ? 0 : x.num_elements() / (n * c);
  const float* xp = x.data<float>();
  std::vector<float> mean(ctx.input(3).data<float>(), ctx.input(3).data<float>() + c);
  std::vector<float> var(ctx.input(4).data<float>(), ctx.input(4).data<float>() + c);
  if (training) {
    // Batch statistics (population variance), and the running averages blended with momentum.
    std::vector<float> running_mean = mean, running_var = var;
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      for (int64_t b = 0; b < n; ++b) {
        const float* p = xp + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) sum += p[i];
      }
      const double count = static_cast<double>(n * inner);
      const double m = count > 0 ? sum / count : 0;
      for (int64_t b = 0; b < n; ++b) {
        const float* p = xp + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) sq += (p[i] - m) * (p[i] - m);
      }
      mean[ch] = static_cast<float>(m);
      var[ch] = static_cast<float>(count > 0 ? sq / count : 0);
      running_mean[ch] = running_mean[ch] * momentum + mean[ch] * (1 - momentum);
      running_var[ch] = running_var[ch] * momentum + var[ch] * (1 - momentum);
    }
    if (ctx.num_outputs() > 1 && !ctx.node().outputs[1].empty()) {
      ctx.SetOutput(1, Tensor::FromVector<float>({c}, running_mean));
    }
    if (ctx.num_outputs() > 2 && !ctx.node().outputs[2].empty()) {
      ctx.SetOutput(2, Tensor::FromVector<float>({c}, running_var));
    }
  }
  float* yp = y->data<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      // The JIT's formula (jit/lower.cc), so both round alike and agree on signed zeros and NaN.
      const float a = scale[ch] / std::sqrt(var[ch] + epsilon);
      const float m = mean[ch], shift = bias[ch];
      const int64_t base = (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) yp[base + i] = (xp[base + i] - m) * a + shift;
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// LpPool(X; kernel_shape, p, strides, pads, auto_pad, dilations, ceil_mode).

absl::Status LpPoolShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!IsAnyFloat(x.dtype)) return ctx.Error("input must be float");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.node().GetInts("kernel_shape"));
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  if (x.dims.size() != kernel.size() + 2 || kernel.size() > 3 || kernel.empty()) {
    return ctx.Error("input rank must be kernel_shape's length + 2 (1 to 3 spatial dimensions)");
  }
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  absl::StatusOr<WindowGeometry> g = ComputeWindow(ctx.node(), in, kernel, /*pooling=*/true);
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
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

}  // namespace

void RegisterPoolOps(OpRegistry& registry) {
  for (const char* name : {"MaxPool", "AveragePool"}) {
    AddOp(registry, StatelessOpDef(name, 1, 1, PoolShapeFn, PoolCompute, std::string(name) == "MaxPool" ? 2 : 1),
          /*half_via_f32=*/true);
  }
  for (const char* name : {"GlobalAveragePool", "GlobalMaxPool"}) {
    AddOp(registry, StatelessOpDef(name, 1, 1, GlobalPoolShapeFn, GlobalPoolCompute), /*half_via_f32=*/true);
  }
  auto bn_factory = [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    KILN_ASSIGN_OR_RETURN(float epsilon, kc.node.GetFloat("epsilon", 1e-5f));
    KILN_ASSIGN_OR_RETURN(float momentum, kc.node.GetFloat("momentum", 0.9f));
    KILN_ASSIGN_OR_RETURN(int64_t training, kc.node.GetInt("training_mode", 0));
    return MakeFunctionKernel([epsilon, momentum, training](KernelContext& ctx) {
      return BatchNormCompute(epsilon, momentum, training != 0, ctx);
    });
  };
  AddOp(registry, MakeOpDef("BatchNormalization", 5, 5, BatchNormShapeFn, bn_factory, 3), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("LpPool", 1, 1, LpPoolShape, LpPoolCompute));
}

}  // namespace kiln::kernels
