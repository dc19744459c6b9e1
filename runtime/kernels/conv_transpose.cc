// ConvTranspose (ONNX opset 11+): 1 to 3 spatial dimensions, groups, dilations, strides, pads,
// output_padding, output_shape and auto_pad, computed in double with reference loops.
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

struct ConvTransposeGeometry {
  int r = 0;
  std::vector<int64_t> in, kernel, strides, dilations, pad_begin, pad_end, out;
};

absl::StatusOr<ConvTransposeGeometry> ComputeGeometry(const Node& node, const Dims& x, const Dims& w) {
  auto bad = [&node](const std::string& m) {
    return absl::InvalidArgumentError(absl::StrCat("ConvTranspose node '", node.name, "': ", m));
  };
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) return bad("X and W must have the same rank, 3 to 5");
  ConvTransposeGeometry g;
  g.r = static_cast<int>(x.size()) - 2;
  const int r = g.r;
  g.in.assign(x.begin() + 2, x.end());
  std::vector<int64_t> wk(w.begin() + 2, w.end());
  KILN_ASSIGN_OR_RETURN(g.kernel, node.GetInts("kernel_shape", wk));
  KILN_ASSIGN_OR_RETURN(g.strides, node.GetInts("strides", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(g.dilations, node.GetInts("dilations", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, node.GetInts("pads", std::vector<int64_t>(2 * r, 0)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_pad, node.GetInts("output_padding", std::vector<int64_t>(r, 0)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_shape, node.GetInts("output_shape", std::vector<int64_t>{}));
  KILN_ASSIGN_OR_RETURN(std::string auto_pad, node.GetString("auto_pad", "NOTSET"));
  if (static_cast<int>(g.kernel.size()) != r || g.kernel != wk || static_cast<int>(g.strides.size()) != r ||
      static_cast<int>(g.dilations.size()) != r || static_cast<int>(pads.size()) != 2 * r ||
      static_cast<int>(out_pad.size()) != r) {
    return bad("kernel_shape, strides, dilations, pads and output_padding must match the spatial rank and W");
  }
  if (!out_shape.empty() && static_cast<int>(out_shape.size()) != r) {
    if (static_cast<int>(out_shape.size()) == r + 2) {
      out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    } else {
      return bad("output_shape must have one value per spatial dimension");
    }
  }
  g.pad_begin.assign(r, 0);
  g.pad_end.assign(r, 0);
  g.out.assign(r, 0);
  for (int i = 0; i < r; ++i) {
    constexpr int64_t kMax = int64_t{1} << 20, kMaxExtent = int64_t{1} << 40;
    if (g.strides[i] <= 0 || g.dilations[i] <= 0 || g.kernel[i] <= 0 || g.strides[i] > kMax || g.dilations[i] > kMax ||
        g.kernel[i] > kMax) {
      return bad("strides, dilations and kernel extents must be in [1, 2^20]");
    }
    // Not std::abs: the attributes may hold INT64_MIN.
    auto outside = [](int64_t v) { return v < -kMaxExtent || v > kMaxExtent; };
    if (g.in[i] < 0 || g.in[i] > kMaxExtent || outside(out_pad[i]) || outside(pads[i]) || outside(pads[i + r]) ||
        (!out_shape.empty() && outside(out_shape[i]))) {
      return bad("input extents, pads, output_padding and output_shape must be within 2^40");
    }
    const int64_t ext = (g.kernel[i] - 1) * g.dilations[i] + 1;
    const int64_t full = g.strides[i] * (g.in[i] - 1) + out_pad[i] + ext;
    int64_t target = -1;
    if (!out_shape.empty()) target = out_shape[i];
    else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") target = g.in[i] * g.strides[i];
    if (target >= 0) {
      // The total may be negative (output_shape larger than the full extent): halves round down.
      const int64_t total = full - target;
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (auto_pad == "SAME_UPPER") {
        g.pad_begin[i] = half;
        g.pad_end[i] = total - half;
      } else {
        g.pad_begin[i] = total - half;
        g.pad_end[i] = half;
      }
      g.out[i] = target;
    } else {
      if (auto_pad == "NOTSET") {
        g.pad_begin[i] = pads[i];
        g.pad_end[i] = pads[i + r];
      }
      g.out[i] = full - g.pad_begin[i] - g.pad_end[i];
    }
    if (g.out[i] < 0) return bad("the output would have a negative extent");
  }
  return g;
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
  absl::StatusOr<ConvTransposeGeometry> g = ComputeGeometry(ctx.node(), x.dims, w.dims);
  if (!g.ok()) return ctx.Error(g.status().message());
  if (group <= 0 || x.dims[1] != w.dims[0] || x.dims[1] % group) return ctx.Error("W's first dimension must equal X's channels, a multiple of group");
  Dims od{x.dims[0], SatMul(w.dims[1], group)};
  od.insert(od.end(), g->out.begin(), g->out.end());
  ctx.set_output(0, TensorType{x.dtype, od});
  return absl::OkStatus();
}

absl::Status ConvTransposeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 1));
  absl::StatusOr<ConvTransposeGeometry> gs = ComputeGeometry(ctx.node(), x.dims(), w.dims());
  if (!gs.ok()) return ctx.Error(gs.status().message());
  if (group <= 0 || x.dims()[1] != w.dims()[0] || x.dims()[1] % group) return ctx.Error("bad group or channel counts");
  ConvTransposeGeometry g = *gs;
  // Pad to 3 spatial dimensions.
  while (g.r < 3) {
    for (auto* v : {&g.in, &g.kernel, &g.strides, &g.dilations, &g.out}) v->insert(v->begin(), 1);
    g.pad_begin.insert(g.pad_begin.begin(), 0);
    g.pad_end.insert(g.pad_end.begin(), 0);
    ++g.r;
  }
  const int64_t n = x.dims()[0], c = x.dims()[1], mg = w.dims()[1], m = SatMul(mg, group), cg = c / group;
  if (m > kMaxTensorElements) {
    return ctx.Error(absl::StrCat("group ", group, " gives more than ", kMaxTensorElements, " output channels"));
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

}  // namespace

void RegisterConvTransposeOps(OpRegistry& registry) {
  OpDef def;
  def.name = "ConvTranspose";
  def.min_inputs = 2;
  def.max_inputs = 3;
  def.shape_fn = ConvTransposeShape;
  def.kernel_factory = StatelessKernel(ConvTransposeCompute);
  AddOp(registry, std::move(def));
}

}  // namespace kiln::kernels
