// Conv: shape function, a reference loop kernel for any dtype-compatible case, and a oneDNN path
// for f32 with 1 to 3 spatial dimensions.
#include "runtime/kernels/conv.h"

#include <map>
#include <mutex>
#include <optional>

#include <oneapi/dnnl/dnnl.hpp>

#include "kiln/support/strings.h"
#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/onednn_conv.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;

// Checks Conv's operands and computes the output dims (with -1 for unknown extents).
// `x` and `w` are the input and weight dims, `bias` the bias dims or nullptr.
struct ConvShape {
  int64_t group = 1;
  std::vector<int64_t> kernel;
  WindowGeometry window;
  Dims out;
};

absl::StatusOr<ConvShape> InferConvShape(const Node& node, const Dims& x, const Dims& w, const Dims* bias) {
  ConvShape s;
  KILN_ASSIGN_OR_RETURN(s.group, node.GetInt("group", 1));
  if (s.group <= 0) return absl::InvalidArgumentError(kiln::StrCat("group must be positive, got ", s.group));
  if (x.size() < 3) {
    return absl::InvalidArgumentError(kiln::StrCat("input X must have rank 3 or more (N, C, spatial...); got ",
                                                   DimsToString(x)));
  }
  if (w.size() != x.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("weights W ", DimsToString(w), " must have the rank of X ",
                                                   DimsToString(x)));
  }
  const int r = static_cast<int>(x.size()) - 2;
  s.kernel.assign(w.begin() + 2, w.end());
  if (node.HasAttr("kernel_shape")) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ks, node.GetInts("kernel_shape"));
    if (static_cast<int>(ks.size()) != r) {
      return absl::InvalidArgumentError(kiln::StrCat("kernel_shape has ", ks.size(), " values; expected ", r));
    }
    for (int i = 0; i < r; ++i) {
      if (s.kernel[i] >= 0 && ks[i] != s.kernel[i]) {
        return absl::InvalidArgumentError(kiln::StrCat("kernel_shape ", DimsToString(ks),
                                                       " disagrees with the weights ", DimsToString(w)));
      }
      s.kernel[i] = ks[i];
    }
  }
  const int64_t c = x[1], m = w[0], cg = w[1];
  if (c >= 0 && cg >= 0 && c != SatMul(cg, s.group)) {
    return absl::InvalidArgumentError(kiln::StrCat("input channels ", c, " must equal W's dimension 1 (", cg,
                                                   ") times group (", s.group, ")"));
  }
  if (m >= 0 && m % s.group != 0) {
    return absl::InvalidArgumentError(kiln::StrCat("output channels ", m, " are not divisible by group ", s.group));
  }
  if (bias != nullptr && (bias->size() != 1 || ((*bias)[0] >= 0 && m >= 0 && (*bias)[0] != m))) {
    return absl::InvalidArgumentError(kiln::StrCat("bias B ", DimsToString(*bias), " must have shape [", m, "]"));
  }
  std::vector<int64_t> in(x.begin() + 2, x.end());
  for (int i = 0; i < r; ++i) {
    if (s.kernel[i] < 0) {
      // Unknown kernel extent: only the rank of the output is known.
      s.out = Dims(x.size(), -1);
      s.out[0] = x[0];
      s.out[1] = m;
      return s;
    }
  }
  KILN_ASSIGN_OR_RETURN(s.window, ComputeWindow(node, in, s.kernel, /*pooling=*/false));
  s.out = {x[0], m};
  for (int64_t o : s.window.out) s.out.push_back(o);
  return s;
}

absl::Status ConvShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& w = ctx.input(1);
  if (!IsFloatType(x.dtype) || w.dtype != x.dtype || (ctx.has_input(2) && ctx.input(2).dtype != x.dtype)) {
    return ctx.Error(kiln::StrCat("X, W and B must share one float type (f32, f16, bf16); got ", x.ToString(), ", ",
                                  w.ToString(), ctx.has_input(2) ? kiln::StrCat(", ", ctx.input(2).ToString()) : ""));
  }
  if (!x.rank_known || !w.rank_known) {
    TensorType out;
    out.dtype = x.dtype;
    out.rank_known = false;
    ctx.set_output(0, out);
    return absl::OkStatus();
  }
  const Dims* bias = ctx.has_input(2) && ctx.input(2).rank_known ? &ctx.input(2).dims : nullptr;
  absl::StatusOr<ConvShape> s = InferConvShape(ctx.node(), x.dims, w.dims, bias);
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  ctx.set_output(0, TensorType{x.dtype, s->out});
  return absl::OkStatus();
}

// Reference convolution over 3 spatial dimensions (unit leading dims for 1-D and 2-D).
void ReferenceConv(const float* x, const float* w, const float* b, float* y, int64_t n_batch, int64_t c,
                   int64_t m, int64_t group, const WindowGeometry& g3) {
  const int64_t cg = c / group, mg = m / group;
  const int64_t id = g3.in[0], ih = g3.in[1], iw = g3.in[2];
  const int64_t od = g3.out[0], oh = g3.out[1], ow = g3.out[2];
  const int64_t kd = g3.kernel[0], kh = g3.kernel[1], kw = g3.kernel[2];
  const int64_t in_plane = id * ih * iw, out_plane = od * oh * ow, k_size = kd * kh * kw;
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t gi = oc / mg;
      float* yp = y + (n * m + oc) * out_plane;
      for (int64_t z = 0; z < od; ++z) {
        for (int64_t yy = 0; yy < oh; ++yy) {
          for (int64_t xx = 0; xx < ow; ++xx) {
            float acc = b ? b[oc] : 0.0f;
            for (int64_t ic = 0; ic < cg; ++ic) {
              const float* xp = x + (n * c + gi * cg + ic) * in_plane;
              const float* wp = w + (oc * cg + ic) * k_size;
              for (int64_t a = 0; a < kd; ++a) {
                const int64_t pz = z * g3.strides[0] - g3.pad_begin[0] + a * g3.dilations[0];
                if (pz < 0 || pz >= id) continue;
                for (int64_t bb = 0; bb < kh; ++bb) {
                  const int64_t py = yy * g3.strides[1] - g3.pad_begin[1] + bb * g3.dilations[1];
                  if (py < 0 || py >= ih) continue;
                  for (int64_t cc = 0; cc < kw; ++cc) {
                    const int64_t px = xx * g3.strides[2] - g3.pad_begin[2] + cc * g3.dilations[2];
                    if (px < 0 || px >= iw) continue;
                    acc += xp[(pz * ih + py) * iw + px] * wp[(a * kh + bb) * kw + cc];
                  }
                }
              }
            }
            yp[(z * oh + yy) * ow + xx] = acc;
          }
        }
      }
    }
  }
}

memory::format_tag PlainTag(int rank) {
  switch (rank) {
    case 3: return memory::format_tag::ncw;
    case 4: return memory::format_tag::nchw;
    default: return memory::format_tag::ncdhw;
  }
}

memory::format_tag WeightsTag(int rank, bool grouped) {
  switch (rank) {
    case 3: return grouped ? memory::format_tag::goiw : memory::format_tag::oiw;
    case 4: return grouped ? memory::format_tag::goihw : memory::format_tag::oihw;
    default: return grouped ? memory::format_tag::goidhw : memory::format_tag::oidhw;
  }
}

// The oneDNN plan of a Conv with plain NC(D)HW data and (G)OI(D)HW weights.
absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> BuildPlan(const Dims& x, const Dims& y, const Dims& w,
                                                                bool has_bias, int64_t group,
                                                                const WindowGeometry& g, const Tensor* const_weights) {
  const int rank = static_cast<int>(x.size());
  const bool grouped = group > 1;
  memory::dims wdims;
  if (grouped) {
    wdims = {group, w[0] / group, w[1]};
    wdims.insert(wdims.end(), w.begin() + 2, w.end());
  } else {
    wdims = w;
  }
  OnednnConvSpec spec;
  try {
    spec.src = memory::desc(x, memory::data_type::f32, PlainTag(rank));
    spec.dst = memory::desc(y, memory::data_type::f32, PlainTag(rank));
    spec.weights = memory::desc(wdims, memory::data_type::f32, WeightsTag(rank, grouped));
    if (has_bias) spec.bias = memory::desc({w[0]}, memory::data_type::f32, memory::format_tag::x);
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN could not describe the convolution: ", e.what()));
  }
  for (int i = 0; i < g.spatial_rank; ++i) {
    spec.dilations.push_back(g.dilations[i] - 1);
    spec.strides.push_back(g.strides[i]);
    spec.pad_begin.push_back(g.pad_begin[i]);
    spec.pad_end.push_back(g.pad_end[i]);
  }
  return BuildOnednnConvPlan(spec, const_weights);
}

class ConvKernel : public OpKernel {
 public:
  ConvKernel(const KernelConstruction& kc, const ConvKernelOptions& options)
      : options_(options), const_weights_(ConstantF32Input(kc, 1)) {}

  // Prepares the oneDNN plan for the statically known input shape, when there is one.
  absl::Status Prepare(const KernelConstruction& kc) {
    if (!options_.use_onednn || !const_weights_ || kc.input_types[0] == nullptr) return absl::OkStatus();
    const TensorType& x = *kc.input_types[0];
    if (!x.fully_defined() || x.dims.size() < 3 || x.dims.size() > 5) return absl::OkStatus();
    const Dims* bias = kc.input_types.size() > 2 && kc.input_types[2] ? &kc.input_types[2]->dims : nullptr;
    absl::StatusOr<ConvShape> s = InferConvShape(kc.node, x.dims, const_weights_->dims(), bias);
    if (!s.ok()) return absl::InvalidArgumentError(kiln::StrCat("Conv node '", kc.node.name, "': ", s.status().message()));
    if (NumElements(s->out) <= 0) return absl::OkStatus();
    return GetPlan(x.dims, s->out, const_weights_->dims(), bias != nullptr, s->group, s->window).status();
  }

  absl::Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    KILN_RETURN_IF_ERROR(CheckConvOperandsF32(ctx, x, w, b));
    absl::StatusOr<ConvShape> s = InferConvShape(ctx.node(), x.dims(), w.dims(), b ? &b->dims() : nullptr);
    if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, s->out));
    if (y->num_elements() == 0) return absl::OkStatus();
    const int rank = x.rank();
    if (options_.use_onednn && rank <= 5) {
      absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> plan =
          GetPlan(x.dims(), s->out, w.dims(), b != nullptr, s->group, s->window);
      if (!plan.ok()) return ctx.Error(FromAbsl(plan.status().message()));
      absl::Status run = RunOnednnConvPlan(**plan, x, w, b, y);
      if (!run.ok()) return ctx.Error(FromAbsl(run.message()));
      return absl::OkStatus();
    }
    if (rank > 5) {
      return ctx.Error(kiln::StrCat("convolutions with more than 3 spatial dimensions are not supported; got X ",
                                    x.TypeString()));
    }
    ReferenceConv(x.data<float>(), w.data<float>(), b ? b->data<float>() : nullptr, y->data<float>(), x.dim(0),
                  x.dim(1), w.dim(0), s->group, ExpandTo3D(s->window));
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> GetPlan(const Dims& x, const Dims& y, const Dims& w,
                                                                bool has_bias, int64_t group,
                                                                const WindowGeometry& g) const {
    return plans_.Get(ConvPlanKey(x, w, has_bias), [&] {
      return BuildPlan(x, y, w, has_bias, group, g, const_weights_ ? &*const_weights_ : nullptr);
    });
  }

  ConvKernelOptions options_;
  std::optional<Tensor> const_weights_;
  OnednnPlanCache plans_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<OpKernel>> MakeConvKernel(const KernelConstruction& kc,
                                                         const ConvKernelOptions& options) {
  auto kernel = std::make_unique<ConvKernel>(kc, options);
  KILN_RETURN_IF_ERROR(kernel->Prepare(kc));
  return std::unique_ptr<OpKernel>(std::move(kernel));
}

void RegisterConvOps(OpRegistry& registry) {
  AddOp(registry, MakeOpDef("Conv", 2, 3, ConvShapeFn, [](const KernelConstruction& kc) { return MakeConvKernel(kc); }),
        /*half_via_f32=*/true);
}

}  // namespace kiln::kernels
