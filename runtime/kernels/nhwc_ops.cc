// Kiln extensions for channels-last (NHWC) graphs, so that TensorFlow models run without inserted
// transposes: NhwcConv (with fused bias and activation), NhwcMaxPool, NhwcAveragePool, NhwcResize
// (TensorFlow's ResizeBilinear / ResizeNearestNeighbor coordinate rules), and GatherND when no
// other file registers it. docs/importers.md documents their attributes.
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "kiln/support/strings.h"
#include "kiln/support/ieee_minmax.h"
#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/onednn_conv.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;

// ---- NhwcConv ----------------------------------------------------------------------------------
// X [N,H,W,C], W [KH,KW,C/group,M] (TensorFlow's HWIO; a depthwise filter [KH,KW,C,k] reshaped to
// [KH,KW,1,C*k] with group = C), optional B [M] -> Y [N,OH,OW,M]. Attributes as ONNX Conv (strides,
// dilations, pads [top,left,bottom,right], auto_pad, group) plus `activation` ("", "Relu", "Relu6",
// "Elu", "LeakyRelu", "Sigmoid", "Tanh") applied after the bias, and `alpha` for LeakyRelu.

struct NhwcConvShape {
  int64_t group = 1;
  WindowGeometry window;
  Dims out;
};

absl::StatusOr<NhwcConvShape> InferNhwcConv(const Node& node, const Dims& x, const Dims& w, const Dims* b) {
  NhwcConvShape s;
  KILN_ASSIGN_OR_RETURN(s.group, node.GetInt("group", 1));
  if (x.size() != 4 || w.size() != 4) {
    return absl::InvalidArgumentError(kiln::StrCat("X must be [N,H,W,C] and W [KH,KW,C/group,M]; got X ",
                                                   DimsToString(x), " and W ", DimsToString(w)));
  }
  if (s.group <= 0 || s.group > (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(kiln::StrCat("group must be in [1, 2^31], got ", s.group));
  }
  if (w[2] > (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(kiln::StrCat("W ", DimsToString(w), " has too many input channels"));
  }
  if (x[3] >= 0 && w[2] >= 0 && x[3] != w[2] * s.group) {
    return absl::InvalidArgumentError(kiln::StrCat("X has ", x[3], " channels but W ", DimsToString(w), " with group ",
                                                   s.group, " expects ", w[2] * s.group));
  }
  if (w[3] >= 0 && w[3] % s.group != 0) {
    return absl::InvalidArgumentError(kiln::StrCat("W's output channels (", w[3], ") are not a multiple of group ",
                                                   s.group));
  }
  if (b != nullptr && (b->size() != 1 || ((*b)[0] >= 0 && w[3] >= 0 && (*b)[0] != w[3]))) {
    return absl::InvalidArgumentError(kiln::StrCat("bias ", DimsToString(*b), " must be [", w[3], "]"));
  }
  KILN_ASSIGN_OR_RETURN(s.window, ComputeWindow(node, {x[1], x[2]}, {w[0], w[1]}, /*pooling=*/false));
  s.out = {x[0], s.window.out[0], s.window.out[1], w[3]};
  return s;
}

absl::Status NhwcConvShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& w = ctx.input(1);
  if (!x.rank_known || !w.rank_known) {
    ctx.set_output(0, TensorType{x.dtype, {}, false});
    return absl::OkStatus();
  }
  const Dims* b = ctx.has_input(2) && ctx.input(2).rank_known ? &ctx.input(2).dims : nullptr;
  absl::StatusOr<NhwcConvShape> s = InferNhwcConv(ctx.node(), x.dims, w.dims, b);
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  ctx.set_output(0, TensorType{x.dtype, s->out});
  return absl::OkStatus();
}

enum class Activation { kNone, kRelu, kRelu6, kElu, kLeakyRelu, kSigmoid, kTanh };

absl::StatusOr<Activation> ParseActivation(const std::string& name) {
  if (name.empty()) return Activation::kNone;
  if (name == "Relu") return Activation::kRelu;
  if (name == "Relu6") return Activation::kRelu6;
  if (name == "Elu") return Activation::kElu;
  if (name == "LeakyRelu") return Activation::kLeakyRelu;
  if (name == "Sigmoid") return Activation::kSigmoid;
  if (name == "Tanh") return Activation::kTanh;
  return absl::InvalidArgumentError(kiln::StrCat(
      "activation '", name, "' is not one of \"\", Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh"));
}

void ApplyActivation(Activation act, float alpha, float* v, int64_t n) {
  switch (act) {
    case Activation::kNone: return;
    // IEEE maximum/minimum: NaN stays NaN (kiln/support/ieee_minmax.h).
    case Activation::kRelu: IeeeClampInPlace(v, n, 0.0f, std::numeric_limits<float>::infinity()); return;
    case Activation::kRelu6: IeeeClampInPlace(v, n, 0.0f, 6.0f); return;
    case Activation::kElu:
      for (int64_t i = 0; i < n; ++i) v[i] = v[i] > 0 ? v[i] : std::expm1(v[i]);
      return;
    case Activation::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0 ? v[i] : alpha * v[i];
      return;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < n; ++i) v[i] = 1.0f / (1.0f + std::exp(-v[i]));
      return;
    case Activation::kTanh:
      for (int64_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
      return;
  }
}

// The reference loops (used when oneDNN cannot build the convolution).
void NhwcConvReference(const Tensor& x, const Tensor& w, const Tensor* b, const NhwcConvShape* s, Activation act,
                       float alpha, Tensor* y) {
  const WindowGeometry& g = s->window;
  const int64_t n_batch = x.dim(0), ih_n = x.dim(1), iw_n = x.dim(2), c_in = x.dim(3);
  const int64_t kh_n = w.dim(0), kw_n = w.dim(1), cpg = w.dim(2), m_out = w.dim(3);
  const int64_t oh_n = s->out[1], ow_n = s->out[2];
  const int64_t group = s->group, opg = m_out / group;
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  float* yd = y->data<float>();
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        float* acc = yd + ((n * oh_n + oh) * ow_n + ow) * m_out;
        if (b) {
          std::copy(b->data<float>(), b->data<float>() + m_out, acc);
        }
        for (int64_t kh = 0; kh < kh_n; ++kh) {
          const int64_t ih = oh * g.strides[0] - g.pad_begin[0] + kh * g.dilations[0];
          if (ih < 0 || ih >= ih_n) continue;
          for (int64_t kw = 0; kw < kw_n; ++kw) {
            const int64_t iw = ow * g.strides[1] - g.pad_begin[1] + kw * g.dilations[1];
            if (iw < 0 || iw >= iw_n) continue;
            const float* xp = xd + ((n * ih_n + ih) * iw_n + iw) * c_in;
            const float* wp = wd + (kh * kw_n + kw) * cpg * m_out;
            if (cpg == 1) {
              // Depthwise (one input channel per group): output channel o reads input o / opg.
              if (opg == 1) {
                for (int64_t o = 0; o < m_out; ++o) acc[o] += xp[o] * wp[o];
              } else {
                for (int64_t o = 0; o < m_out; ++o) acc[o] += xp[o / opg] * wp[o];
              }
              continue;
            }
            for (int64_t gi = 0; gi < group; ++gi) {
              float* ag = acc + gi * opg;
              for (int64_t ci = 0; ci < cpg; ++ci) {
                const float xv = xp[gi * cpg + ci];
                const float* wr = wp + ci * m_out + gi * opg;
                for (int64_t o = 0; o < opg; ++o) ag[o] += xv * wr[o];
              }
            }
          }
        }
        ApplyActivation(act, alpha, acc, m_out);
      }
    }
  }
}

// The oneDNN plan of an NhwcConv: NHWC data, HWIO weights (HWIGO when grouped); the kernel applies
// the activation afterwards.
absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> BuildNhwcPlan(const Dims& x, const Dims& y, const Dims& w,
                                                                    bool has_bias, int64_t group,
                                                                    const WindowGeometry& g,
                                                                    const Tensor* const_weights) {
  const memory::dims src = {x[0], x[3], x[1], x[2]}, dst = {y[0], y[3], y[1], y[2]};
  OnednnConvSpec spec;
  try {
    spec.src = memory::desc(src, memory::data_type::f32, memory::format_tag::nhwc);
    spec.dst = memory::desc(dst, memory::data_type::f32, memory::format_tag::nhwc);
    if (group > 1) {
      spec.weights = memory::desc({group, w[3] / group, w[2], w[0], w[1]}, memory::data_type::f32,
                                  memory::format_tag::hwigo);
    } else {
      spec.weights = memory::desc({w[3], w[2], w[0], w[1]}, memory::data_type::f32, memory::format_tag::hwio);
    }
    if (has_bias) spec.bias = memory::desc({w[3]}, memory::data_type::f32, memory::format_tag::x);
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN could not describe the convolution: ", e.what()));
  }
  spec.strides = {g.strides[0], g.strides[1]};
  spec.dilations = {g.dilations[0] - 1, g.dilations[1] - 1};
  spec.pad_begin = {g.pad_begin[0], g.pad_begin[1]};
  spec.pad_end = {g.pad_end[0], g.pad_end[1]};
  return BuildOnednnConvPlan(spec, const_weights);
}

// NhwcConv's kernel: oneDNN plans per input shape (constant weights reordered once), the reference
// loops when oneDNN cannot build one.
class NhwcConvKernel : public OpKernel {
 public:
  explicit NhwcConvKernel(const KernelConstruction& kc) : const_weights_(ConstantF32Input(kc, 1)) {}

  absl::Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    KILN_RETURN_IF_ERROR(CheckConvOperandsF32(ctx, x, w, b));
    absl::StatusOr<NhwcConvShape> s = InferNhwcConv(ctx.node(), x.dims(), w.dims(), b ? &b->dims() : nullptr);
    if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
    KILN_ASSIGN_OR_RETURN(std::string act_name, ctx.node().GetString("activation", std::string()));
    absl::StatusOr<Activation> act = ParseActivation(act_name);
    if (!act.ok()) return ctx.Error(FromAbsl(act.status().message()));
    KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 0.2f));
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, s->out));
    if (y->num_elements() == 0 || x.num_elements() == 0) {
      if (y->num_elements() > 0) NhwcConvReference(x, w, b, &*s, *act, alpha, y);
      return absl::OkStatus();
    }
    std::shared_ptr<const OnednnConvPlan> plan = GetPlan(x.dims(), s->out, w.dims(), b != nullptr, *s);
    if (plan != nullptr && RunOnednnConvPlan(*plan, x, w, b, y).ok()) {
      // The activation runs here, not as a oneDNN post-op: oneDNN's relu and clip turn NaN into 0,
      // and its elu, logistic and tanh clamp their input first, so NaN would not propagate.
      ApplyActivation(*act, alpha, y->data<float>(), y->num_elements());
      return absl::OkStatus();
    }
    NhwcConvReference(x, w, b, &*s, *act, alpha, y);
    return absl::OkStatus();
  }

 private:
  // The plan for these dims, or nullptr when oneDNN cannot build one (remembered).
  std::shared_ptr<const OnednnConvPlan> GetPlan(const Dims& x, const Dims& y, const Dims& w, bool has_bias,
                                                const NhwcConvShape& s) const {
    absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> plan =
        plans_.Get(ConvPlanKey(x, w, has_bias), [&]() -> absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> {
          const bool use_const = const_weights_ && const_weights_->dims() == w;
          absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> built =
              BuildNhwcPlan(x, y, w, has_bias, s.group, s.window, use_const ? &*const_weights_ : nullptr);
          return built.ok() ? *std::move(built) : nullptr;
        });
    return plan.ok() ? *plan : nullptr;
  }

  std::optional<Tensor> const_weights_;
  OnednnPlanCache plans_;
};

// ---- NhwcMaxPool / NhwcAveragePool ---------------------------------------------------------------
// X [N,H,W,C] -> Y [N,OH,OW,C]. Attributes as ONNX pooling: kernel_shape [KH,KW], strides, pads,
// auto_pad, ceil_mode, and count_include_pad for the average (0: TensorFlow's rule of dividing by
// the number of in-bounds elements).

absl::StatusOr<std::pair<WindowGeometry, Dims>> InferNhwcPool(const Node& node, const Dims& x) {
  if (x.size() != 4) {
    return absl::InvalidArgumentError(kiln::StrCat("X must be [N,H,W,C]; got ", DimsToString(x)));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.GetInts("kernel_shape"));
  KILN_ASSIGN_OR_RETURN(WindowGeometry g, ComputeWindow(node, {x[1], x[2]}, kernel, /*pooling=*/true));
  Dims out = {x[0], g.out[0], g.out[1], x[3]};
  return std::make_pair(g, out);
}

absl::Status NhwcPoolShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.rank_known) {
    ctx.set_output(0, TensorType{x.dtype, {}, false});
    return absl::OkStatus();
  }
  auto s = InferNhwcPool(ctx.node(), x.dims);
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  ctx.set_output(0, TensorType{x.dtype, s->second});
  return absl::OkStatus();
}

absl::Status NhwcPoolCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32) return ctx.Error(kiln::StrCat("X must be f32; got ", x.TypeString()));
  auto s = InferNhwcPool(ctx.node(), x.dims());
  if (!s.ok()) return ctx.Error(FromAbsl(s.status().message()));
  const bool is_max = ctx.node().op == "NhwcMaxPool";
  KILN_ASSIGN_OR_RETURN(int64_t count_include_pad, ctx.node().GetInt("count_include_pad", 0));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, s->second));
  const WindowGeometry& g = s->first;
  const int64_t n_batch = x.dim(0), ih_n = x.dim(1), iw_n = x.dim(2), c = x.dim(3);
  const int64_t oh_n = s->second[1], ow_n = s->second[2];
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  std::vector<float> acc(c);
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        std::fill(acc.begin(), acc.end(), is_max ? -std::numeric_limits<float>::infinity() : 0.0f);
        int64_t count = 0;
        const int64_t h0 = oh * g.strides[0] - g.pad_begin[0];
        const int64_t w0 = ow * g.strides[1] - g.pad_begin[1];
        const TapRange rh = TapsInRange(h0, g.kernel[0], g.dilations[0], 0, ih_n);
        const TapRange rw = TapsInRange(w0, g.kernel[1], g.dilations[1], 0, iw_n);
        for (int64_t kh = rh.first; kh < rh.last; ++kh) {
          const int64_t ih = h0 + kh * g.dilations[0];
          for (int64_t kw = rw.first; kw < rw.last; ++kw) {
            const int64_t iw = w0 + kw * g.dilations[1];
            const float* xp = xd + ((n * ih_n + ih) * iw_n + iw) * c;
            ++count;
            if (is_max) {
              for (int64_t i = 0; i < c; ++i) acc[i] = std::max(acc[i], xp[i]);
            } else {
              for (int64_t i = 0; i < c; ++i) acc[i] += xp[i];
            }
          }
        }
        float* yp = yd + ((n * oh_n + oh) * ow_n + ow) * c;
        if (is_max) {
          std::copy(acc.begin(), acc.end(), yp);
          continue;
        }
        int64_t divisor = count;
        if (count_include_pad) {
          // The window clipped to the padded input (ONNX's rule).
          const int64_t he = std::min(h0 + (g.kernel[0] - 1) * g.dilations[0] + 1, ih_n + g.pad_end[0]);
          const int64_t we = std::min(w0 + (g.kernel[1] - 1) * g.dilations[1] + 1, iw_n + g.pad_end[1]);
          divisor = ((he - h0 + g.dilations[0] - 1) / g.dilations[0]) *
                    ((we - w0 + g.dilations[1] - 1) / g.dilations[1]);
        }
        const float inv = divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f;
        for (int64_t i = 0; i < c; ++i) yp[i] = divisor > 0 ? acc[i] * inv : 0.0f;
      }
    }
  }
  return absl::OkStatus();
}

// ---- NhwcResize ----------------------------------------------------------------------------------
// X [N,H,W,C], size (s32/s64 [2]: new height, width) -> Y [N,size[0],size[1],C] with TensorFlow's
// coordinate rules. Attributes: mode ("linear" or "nearest"), align_corners, half_pixel_centers.

absl::StatusOr<std::vector<int64_t>> ResizeSize(const Tensor& size) {
  if (size.num_elements() != 2 || (size.dtype() != DType::kS32 && size.dtype() != DType::kS64)) {
    return absl::InvalidArgumentError(kiln::StrCat("size must be an int32 or int64 vector of 2 values; got ",
                                                   size.TypeString()));
  }
  std::vector<int64_t> v = ToInt64Vector(size);
  if (v[0] <= 0 || v[1] <= 0) {
    return absl::InvalidArgumentError(kiln::StrCat("size must be positive; got ", v[0], "x", v[1]));
  }
  return v;
}

absl::Status NhwcResizeShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.rank_known && x.dims.size() != 4) {
    return ctx.Error(kiln::StrCat("X must be [N,H,W,C]; got ", DimsToString(x.dims)));
  }
  Dims out = {x.rank_known ? x.dims[0] : -1, -1, -1, x.rank_known ? x.dims[3] : -1};
  if (ctx.input(1).value) {
    absl::StatusOr<std::vector<int64_t>> size = ResizeSize(*ctx.input(1).value);
    if (!size.ok()) return ctx.Error(FromAbsl(size.status().message()));
    out[1] = (*size)[0];
    out[2] = (*size)[1];
  }
  ctx.set_output(0, TensorType{x.dtype, out});
  return absl::OkStatus();
}

absl::Status NhwcResizeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32 || x.rank() != 4) {
    return ctx.Error(kiln::StrCat("X must be f32 [N,H,W,C]; got ", x.TypeString()));
  }
  absl::StatusOr<std::vector<int64_t>> size = ResizeSize(ctx.input(1));
  if (!size.ok()) return ctx.Error(FromAbsl(size.status().message()));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.node().GetString("mode", std::string("linear")));
  KILN_ASSIGN_OR_RETURN(int64_t align_corners, ctx.node().GetInt("align_corners", 0));
  KILN_ASSIGN_OR_RETURN(int64_t half_pixel, ctx.node().GetInt("half_pixel_centers", 0));
  if (mode != "linear" && mode != "nearest") return ctx.Error(kiln::StrCat("mode '", mode, "' is not linear or nearest"));
  if (align_corners && half_pixel) return ctx.Error("align_corners and half_pixel_centers cannot both be set");
  const int64_t n_batch = x.dim(0), ih_n = x.dim(1), iw_n = x.dim(2), c = x.dim(3);
  const int64_t oh_n = (*size)[0], ow_n = (*size)[1];
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kF32, {n_batch, oh_n, ow_n, c}));
  if (y->num_elements() == 0) return absl::OkStatus();
  if (ih_n == 0 || iw_n == 0) return ctx.Error("cannot resize an empty image");
  auto scale_of = [&](int64_t in, int64_t out) -> float {
    return align_corners && out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                    : static_cast<float>(in) / static_cast<float>(out);
  };
  const float sh = scale_of(ih_n, oh_n), sw = scale_of(iw_n, ow_n);
  const float* xd = x.data<float>();
  float* yd = y->data<float>();
  if (mode == "nearest") {
    auto src = [&](int64_t o, float scale, int64_t in) {
      const float f = half_pixel ? (static_cast<float>(o) + 0.5f) * scale : static_cast<float>(o) * scale;
      int64_t i = align_corners ? static_cast<int64_t>(std::round(f)) : static_cast<int64_t>(std::floor(f));
      return std::clamp<int64_t>(i, 0, in - 1);
    };
    for (int64_t n = 0; n < n_batch; ++n) {
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        const int64_t ih = src(oh, sh, ih_n);
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          const int64_t iw = src(ow, sw, iw_n);
          const float* xp = xd + ((n * ih_n + ih) * iw_n + iw) * c;
          std::copy(xp, xp + c, yd + ((n * oh_n + oh) * ow_n + ow) * c);
        }
      }
    }
    return absl::OkStatus();
  }
  struct Interp {
    int64_t lo, hi;
    float lerp;
  };
  auto interp = [&](int64_t o, float scale, int64_t in) {
    const float f = half_pixel ? (static_cast<float>(o) + 0.5f) * scale - 0.5f : static_cast<float>(o) * scale;
    const float fl = std::floor(f);
    Interp r;
    r.lo = std::max<int64_t>(static_cast<int64_t>(fl), 0);
    r.hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(f)), in - 1);
    r.lerp = f - fl;
    return r;
  };
  std::vector<Interp> xs(ow_n);
  for (int64_t ow = 0; ow < ow_n; ++ow) xs[ow] = interp(ow, sw, iw_n);
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      const Interp yi = interp(oh, sh, ih_n);
      const float* top = xd + (n * ih_n + yi.lo) * iw_n * c;
      const float* bottom = xd + (n * ih_n + yi.hi) * iw_n * c;
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Interp xi = xs[ow];
        float* yp = yd + ((n * oh_n + oh) * ow_n + ow) * c;
        for (int64_t i = 0; i < c; ++i) {
          const float tl = top[xi.lo * c + i], tr = top[xi.hi * c + i];
          const float bl = bottom[xi.lo * c + i], br = bottom[xi.hi * c + i];
          const float t = tl + (tr - tl) * xi.lerp;
          const float b = bl + (br - bl) * xi.lerp;
          yp[i] = t + (b - t) * yi.lerp;
        }
      }
    }
  }
  return absl::OkStatus();
}

// ---- GatherND (ONNX) -----------------------------------------------------------------------------

// Output dims of GatherND with `b` batch dimensions and index tuples of length `k`.
absl::StatusOr<Dims> GatherNdDims(const Dims& data, const Dims& idx, int64_t b) {
  if (idx.empty()) return absl::InvalidArgumentError("indices must have rank 1 or more");
  const int64_t k = idx.back();
  if (b < 0 || b >= static_cast<int64_t>(idx.size()) || b >= static_cast<int64_t>(data.size())) {
    return absl::InvalidArgumentError(kiln::StrCat("batch_dims ", b, " must be below the ranks of data (", data.size(),
                                                   ") and indices (", idx.size(), ")"));
  }
  if (k < 0 || b + k > static_cast<int64_t>(data.size())) {
    return absl::InvalidArgumentError(kiln::StrCat("indices' last dimension (", k, ") plus batch_dims (", b,
                                                   ") exceeds the rank of data (", data.size(), ")"));
  }
  for (int64_t d = 0; d < b; ++d) {
    if (data[d] >= 0 && idx[d] >= 0 && data[d] != idx[d]) {
      return absl::InvalidArgumentError(kiln::StrCat("batch dimension ", d, " differs: data ", DimsToString(data),
                                                     ", indices ", DimsToString(idx)));
    }
  }
  Dims out(idx.begin(), idx.end() - 1);
  out.insert(out.end(), data.begin() + b + k, data.end());
  return out;
}

absl::Status GatherNdShapeFn(InferenceContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t batch_dims, ctx.node().GetInt("batch_dims", 0));
  if (idx.dtype != DType::kS32 && idx.dtype != DType::kS64) {
    return ctx.Error(kiln::StrCat("indices must be int32 or int64; got ", DTypeName(idx.dtype)));
  }
  if (!data.rank_known || !idx.rank_known || idx.dims.empty() || idx.dims.back() < 0) {
    ctx.set_output(0, TensorType{data.dtype, {}, false});
    return absl::OkStatus();
  }
  absl::StatusOr<Dims> out = GatherNdDims(data.dims, idx.dims, batch_dims);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  ctx.set_output(0, TensorType{data.dtype, *out});
  return absl::OkStatus();
}

absl::Status GatherNdCompute(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t b, ctx.node().GetInt("batch_dims", 0));
  absl::StatusOr<Dims> out = GatherNdDims(data.dims(), idx.dims(), b);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, data.dtype(), *out));
  const int64_t k = idx.dims().back();
  int64_t batches = 1, per_batch = 1, slice = 1;  // per_batch: index tuples in one batch.
  for (int64_t d = 0; d < b; ++d) batches *= data.dim(static_cast<int>(d));
  for (int d = static_cast<int>(b); d + 1 < idx.rank(); ++d) per_batch *= idx.dim(d);
  for (int d = static_cast<int>(b + k); d < data.rank(); ++d) slice *= data.dim(d);
  const std::vector<int64_t> strides = Strides(data.dims());
  const int64_t batch_stride = b > 0 ? strides[b - 1] : 0;
  const size_t esize = DTypeSize(data.dtype());
  const char* src = static_cast<const char*>(data.raw_data());
  char* dst = static_cast<char*>(y->raw_data());
  for (int64_t bi = 0; bi < batches; ++bi) {
    for (int64_t i = 0; i < per_batch; ++i) {
      const int64_t tuple = bi * per_batch + i;
      int64_t offset = bi * batch_stride;
      for (int64_t j = 0; j < k; ++j) {
        int64_t v = idx.GetAsInt64(tuple * k + j);
        const int64_t dim = data.dim(static_cast<int>(b + j));
        if (v < -dim || v >= dim) {
          return ctx.Error(kiln::StrCat("index ", v, " is out of range for dimension ", b + j, " of extent ", dim));
        }
        if (v < 0) v += dim;
        offset += v * strides[b + j];
      }
      std::memcpy(dst + tuple * slice * esize, src + offset * esize, slice * esize);
    }
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterNhwcOps(OpRegistry& registry) {
  AddOp(registry, MakeOpDef("NhwcConv", 2, 3, NhwcConvShapeFn,
                            [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                              return std::unique_ptr<OpKernel>(std::make_unique<NhwcConvKernel>(kc));
                            }),
        /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("NhwcMaxPool", 1, 1, NhwcPoolShapeFn, NhwcPoolCompute), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("NhwcAveragePool", 1, 1, NhwcPoolShapeFn, NhwcPoolCompute), /*half_via_f32=*/true);
  AddOp(registry, StatelessOpDef("NhwcResize", 2, 2, NhwcResizeShapeFn, NhwcResizeCompute), /*half_via_f32=*/true);
  // ONNX's GatherND (TensorFlow's GatherNd is batch_dims = 0); registered here only when the ONNX
  // kernels do not already provide it.
  if (registry.Find("GatherND") == nullptr) {
    AddOp(registry, StatelessOpDef("GatherND", 2, 2, GatherNdShapeFn, GatherNdCompute));
  }
}

}  // namespace kiln::kernels
