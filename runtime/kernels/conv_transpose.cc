// ConvTranspose (ONNX opset 11+): 1 to 3 spatial dimensions, groups, dilations, strides, pads,
// output_padding, output_shape and auto_pad. f32 runs on oneDNN's deconvolution (one plan per input
// shape, constant weights reordered once), or, for a 2-D kernel equal to its stride, as one sgemm
// and a scatter; other float types, and geometries oneDNN cannot express (output_padding beyond the
// end padding), run reference loops in double.
#include <cmath>
#include <cstdlib>
#include <memory>

#include <oneapi/dnnl/dnnl.hpp>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"
#include "runtime/kernels/onednn_conv.h"

namespace kiln::kernels {
namespace {

// Checks the ranks of X and W and kernel_shape against W, then resolves the geometry
// (runtime/window_geometry.cc).
absl::StatusOr<WindowGeometry> ComputeGeometry(const Node& node, const Dims& x, const Dims& w) {
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    return absl::InvalidArgumentError("X and W must have the same rank, 3 to 5");
  }
  const std::vector<int64_t> in(x.begin() + 2, x.end()), wk(w.begin() + 2, w.end());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.GetInts("kernel_shape", wk));
  if (kernel != wk) {
    return absl::InvalidArgumentError(kiln::StrCat("kernel_shape ", DimsToString(kernel),
                                                   " must match W's spatial dimensions ", DimsToString(wk)));
  }
  return ComputeTransposedWindow(node, in, kernel);
}

absl::Status ConvTransposeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& w = ctx.input(1);
  if (!IsAnyFloat(x.dtype) || w.dtype != x.dtype) return ctx.Error("X and W must share one float type");
  KILN_ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 1));
  if (!x.fully_defined() || !w.fully_defined()) {
    ctx.set_output(0, TensorType{x.dtype, Dims(x.rank_known ? x.dims.size() : 0, -1), x.rank_known});
    return absl::OkStatus();
  }
  absl::StatusOr<WindowGeometry> g = ComputeGeometry(ctx.node(), x.dims, w.dims);
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
  if (group <= 0 || x.dims[1] != w.dims[0] || x.dims[1] % group) return ctx.Error("W's first dimension must equal X's channels, a multiple of group");
  Dims od{x.dims[0], SatMul(w.dims[1], group)};
  od.insert(od.end(), g->out.begin(), g->out.end());
  ctx.set_output(0, TensorType{x.dtype, od});
  return absl::OkStatus();
}

// The reference: double accumulation, any float type.
absl::Status ReferenceConvTranspose(KernelContext& ctx, int64_t group, const WindowGeometry* gs) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const WindowGeometry g = ExpandTo3D(*gs);
  const int64_t n = x.dims()[0], c = x.dims()[1], mg = w.dims()[1], m = SatMul(mg, group), cg = c / group;
  if (m > kMaxTensorElements) {
    return ctx.Error(kiln::StrCat("group ", group, " gives more than ", kMaxTensorElements, " output channels"));
  }
  const std::vector<double> xv = ReadDoubles(x), wv = ReadDoubles(w);
  const std::vector<double> bias = ctx.has_input(2) ? ReadDoubles(ctx.input(2)) : std::vector<double>(m, 0.0);
  if (static_cast<int64_t>(bias.size()) != m) return ctx.Error("B must hold one value per output channel");
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {n, m, g.out[0], g.out[1], g.out[2]}));
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2], out_sz = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_sz = g.kernel[0] * g.kernel[1] * g.kernel[2];
  std::vector<double> y(n * m * out_sz, 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc) {
      double* yo = &y[(b * m + oc) * out_sz];
      for (int64_t i = 0; i < out_sz; ++i) yo[i] = bias[oc];
    }
  for (int64_t b = 0; b < n; ++b)
    for (int64_t gi = 0; gi < group; ++gi)
      for (int64_t ci = 0; ci < cg; ++ci) {
        const int64_t ic = gi * cg + ci;
        const double* xi = &xv[(b * c + ic) * in_sz];
        for (int64_t mi = 0; mi < mg; ++mi) {
          const int64_t oc = gi * mg + mi;
          const double* wk = &wv[(ic * mg + mi) * k_sz];
          double* yo = &y[(b * m + oc) * out_sz];
          for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
            for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
              for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
                const double xval = xi[(i0 * g.in[1] + i1) * g.in[2] + i2];
                for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
                  const int64_t o0 = i0 * g.strides[0] + k0 * g.dilations[0] - g.pad_begin[0];
                  if (o0 < 0 || o0 >= g.out[0]) continue;
                  for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
                    const int64_t o1 = i1 * g.strides[1] + k1 * g.dilations[1] - g.pad_begin[1];
                    if (o1 < 0 || o1 >= g.out[1]) continue;
                    for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
                      const int64_t o2 = i2 * g.strides[2] + k2 * g.dilations[2] - g.pad_begin[2];
                      if (o2 < 0 || o2 >= g.out[2]) continue;
                      yo[(o0 * g.out[1] + o1) * g.out[2] + o2] += xval * wk[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2];
                    }
                  }
                }
              }
        }
      }
  Dims od{n, m};
  od.insert(od.end(), gs->out.begin(), gs->out.end());
  return WriteDoubles(ctx, 0, x.dtype(), od, y);
}


using dnnl::memory;

memory::format_tag DataTag(int rank) {
  return rank == 3 ? memory::format_tag::ncw : rank == 4 ? memory::format_tag::nchw : memory::format_tag::ncdhw;
}

// ONNX's W is [C, M/group, k...], input channels first; oneDNN describes deconvolution weights as
// (G,) O, I, k... These strides read ONNX's row-major buffer in oneDNN's order.
memory::desc OnnxDeconvWeights(const Dims& w, int64_t group) {
  const int64_t c = w[0], mg = w[1];
  int64_t k = 1;
  for (size_t i = 2; i < w.size(); ++i) k *= w[i];
  memory::dims dims, strides;
  if (group > 1) {
    dims = {group, mg, c / group};
    strides = {(c / group) * mg * k, k, mg * k};
  } else {
    dims = {mg, c};
    strides = {k, mg * k};
  }
  int64_t stride = k;
  for (size_t i = 2; i < w.size(); ++i) {
    stride /= w[i];
    dims.push_back(w[i]);
    strides.push_back(stride);
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

// The oneDNN plan for f32 X of dims `x` and W of dims `w`; nullptr when oneDNN cannot express the
// geometry (an end padding made negative by output_padding) or refuses it.
std::shared_ptr<const OnednnConvPlan> BuildDeconvPlan(const Dims& x, const Dims& w, bool has_bias, int64_t group,
                                                      const WindowGeometry& g, const Tensor* const_weights) {
  const int rank = static_cast<int>(x.size());
  const int64_t m = w[1] * group;
  OnednnConvSpec spec;
  spec.deconvolution = true;
  for (int i = 0; i < g.spatial_rank; ++i) {
    const int64_t end = (g.in[i] - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - g.pad_begin[i];
    const int64_t pad_end = end - g.out[i];
    if (pad_end < 0 || g.pad_begin[i] < 0) return nullptr;
    spec.strides.push_back(g.strides[i]);
    spec.dilations.push_back(g.dilations[i] - 1);
    spec.pad_begin.push_back(g.pad_begin[i]);
    spec.pad_end.push_back(pad_end);
  }
  Dims y = {x[0], m};
  y.insert(y.end(), g.out.begin(), g.out.end());
  try {
    spec.src = memory::desc(x, memory::data_type::f32, DataTag(rank));
    spec.dst = memory::desc(y, memory::data_type::f32, DataTag(rank));
    spec.weights = OnnxDeconvWeights(w, group);
    if (has_bias) spec.bias = memory::desc({m}, memory::data_type::f32, memory::format_tag::x);
  } catch (const dnnl::error&) {
    return nullptr;
  }
  absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> plan = BuildOnednnConvPlan(spec, const_weights);
  return plan.ok() ? *std::move(plan) : nullptr;
}

// A 2-D ConvTranspose whose kernel equals its stride, without padding, output padding, dilation or
// groups (UNet's 2x2 stride-2 upsampling): the kernel windows tile the output without overlapping,
// so it is one GEMM per image, T = W^T [M*kh*kw, C] times X [C, H*W] (oneDNN's sgemm), and a scatter
// of T's rows, one per output channel and kernel position, into the output with the bias added.
// oneDNN's deconvolution primitive takes twice as long on this shape.
bool IsPatchConvTranspose(const WindowGeometry& g, int64_t group) {
  if (g.spatial_rank != 2 || group != 1) return false;
  for (int i = 0; i < 2; ++i) {
    if (g.strides[i] != g.kernel[i] || g.dilations[i] != 1 || g.pad_begin[i] != 0 || g.pad_end[i] != 0 ||
        g.out[i] != g.in[i] * g.kernel[i]) {
      return false;
    }
  }
  return true;
}

absl::Status PatchConvTranspose(const Tensor& x, const Tensor& w, const Tensor* b, const WindowGeometry& g, Tensor* y) {
  const int64_t batch = x.dims()[0], c = x.dims()[1], h = x.dims()[2], wd = x.dims()[3];
  const int64_t m = w.dims()[1], kh = g.kernel[0], kw = g.kernel[1];
  const int64_t hw = h * wd, rows = m * kh * kw, out_h = h * kh, out_w = wd * kw;
  std::unique_ptr<float[]> t(new float[static_cast<size_t>(rows * hw)]);  // every element written by the sgemm
  for (int64_t i = 0; i < batch; ++i) {
    if (dnnl_sgemm('T', 'N', rows, hw, c, 1.0f, w.data<float>(), rows, x.data<float>() + i * c * hw, hw, 0.0f, t.get(),
                   hw) != dnnl_success) {
      return absl::InternalError("oneDNN's sgemm failed");
    }
    float* out = y->data<float>() + i * m * out_h * out_w;
    for (int64_t co = 0; co < m; ++co) {
      const float bias = b == nullptr ? 0.0f : b->data<float>()[co];
      for (int64_t a = 0; a < kh; ++a) {
        const float* src = t.get() + (co * kh + a) * kw * hw;  // kw rows of T, one per kernel column
        for (int64_t r = 0; r < h; ++r) {
          float* dst = out + (co * out_h + r * kh + a) * out_w;  // written in order
          for (int64_t q = 0; q < wd; ++q) {
            for (int64_t e = 0; e < kw; ++e) {
              const float v = src[e * hw + r * wd + q];
              dst[q * kw + e] = b == nullptr ? v : v + bias;  // no bias: -0.0 stays
            }
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

class ConvTransposeKernel : public OpKernel {
 public:
  explicit ConvTransposeKernel(const KernelConstruction& kc) : const_weights_(ConstantF32Input(kc, 1)) {}

  absl::Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    KILN_ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 1));
    absl::StatusOr<WindowGeometry> gs = ComputeGeometry(ctx.node(), x.dims(), w.dims());
    if (!gs.ok()) return ctx.Error(FromAbsl(gs.status().message()));
    if (group <= 0 || x.dims()[1] != w.dims()[0] || x.dims()[1] % group) return ctx.Error("bad group or channel counts");
    const bool f32 = x.dtype() == DType::kF32 && w.dtype() == DType::kF32 && (b == nullptr || b->dtype() == DType::kF32);
    const int64_t m = SatMul(w.dims()[1], group);
    if (!f32 || m > kMaxTensorElements || (b != nullptr && b->num_elements() != m)) {
      return ReferenceConvTranspose(ctx, group, &*gs);
    }
    if (IsPatchConvTranspose(*gs, group)) {
      Dims od{x.dims()[0], m, gs->out[0], gs->out[1]};
      KILN_RETURN_IF_ERROR(CheckScratch(ctx, od));
      KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, od));
      if (y->num_elements() == 0) return absl::OkStatus();
      absl::Status run = PatchConvTranspose(x, w, b, *gs, y);
      if (!run.ok()) return ctx.Error(FromAbsl(run.message()));
      return absl::OkStatus();
    }
    absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> plan =
        plans_.Get(ConvPlanKey(x.dims(), w.dims(), b != nullptr), [&]() -> absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> {
          const bool constant = const_weights_ && const_weights_->dims() == w.dims();
          return BuildDeconvPlan(x.dims(), w.dims(), b != nullptr, group, *gs, constant ? &*const_weights_ : nullptr);
        });
    // oneDNN refusing a geometry leaves the reference loops, which compute every one.
    if (!plan.ok() || *plan == nullptr) return ReferenceConvTranspose(ctx, group, &*gs);
    Dims od{x.dims()[0], m};
    od.insert(od.end(), gs->out.begin(), gs->out.end());
    KILN_RETURN_IF_ERROR(CheckScratch(ctx, od));
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, od));
    if (y->num_elements() == 0) return absl::OkStatus();
    absl::Status run = RunOnednnConvPlan(**plan, x, w, b, y);
    if (!run.ok()) return ctx.Error(FromAbsl(run.message()));
    return absl::OkStatus();
  }

 private:
  std::optional<Tensor> const_weights_;
  OnednnPlanCache plans_;  // nullptr plans: the reference loops.
};
}  // namespace

void RegisterConvTransposeOps(OpRegistry& registry) {
  AddOp(registry, MakeOpDef("ConvTranspose", 2, 3, ConvTransposeShape,
                            [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                              return std::make_unique<ConvTransposeKernel>(kc);
                            }));
}

}  // namespace kiln::kernels
