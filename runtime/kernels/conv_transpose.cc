// ConvTranspose (ONNX opset 11+): 1 to 3 spatial dimensions, groups, dilations, strides, pads,
// output_padding, output_shape and auto_pad, computed in double with reference loops.
#include <cmath>
#include <cstdlib>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

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

absl::Status ConvTransposeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t group, ctx.node().GetInt("group", 1));
  absl::StatusOr<WindowGeometry> gs = ComputeGeometry(ctx.node(), x.dims(), w.dims());
  if (!gs.ok()) return ctx.Error(FromAbsl(gs.status().message()));
  if (group <= 0 || x.dims()[1] != w.dims()[0] || x.dims()[1] % group) return ctx.Error("bad group or channel counts");
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

}  // namespace

void RegisterConvTransposeOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("ConvTranspose", 2, 3, ConvTransposeShape, ConvTransposeCompute));
}

}  // namespace kiln::kernels
