// Lowerings of the neural-network layers: convolution, pooling, batch normalization, softmax.
#include "jit/lower_internal.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

#include "kiln/support/strings.h"
#include "kiln/runtime/window_geometry.h"
#include "kiln/support/status.h"

namespace kiln::jit::lowering {
namespace {

// The window geometry of the node over x's spatial dimensions, resolved as the runtime kernels
// resolve it (runtime/window_geometry.cc); its errors name the node.
absl::StatusOr<WindowGeometry> NodeWindow(LowerContext& ctx, const std::vector<int64_t>& x_dims,
                                          const std::vector<int64_t>& kernel, bool pooling) {
  if (x_dims.size() < 3) return ctx.Error("the input needs rank >= 3 (N, C and spatial dimensions)");
  absl::StatusOr<WindowGeometry> g =
      ComputeWindow(ctx.node(), std::vector<int64_t>(x_dims.begin() + 2, x_dims.end()), kernel, pooling);
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
  return *std::move(g);
}

// The window's extent along spatial dimension i, dilation included.
int64_t WindowExtent(const WindowGeometry& g, size_t i) { return (g.kernel[i] - 1) * g.dilations[i] + 1; }

// softmax (or, with `log`, log-softmax: (x - max) - log(sum)) along `axis` of x.
Op SoftmaxAlong(hlo::Builder& b, Op x, int64_t axis, bool log) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < Rank(x); ++i) {
    if (i != axis) kept.push_back(i);
  }
  Op max = b.Reduce(x, b.ConstantR0<float>(-std::numeric_limits<float>::infinity()),
                    b.ScalarComputation(hlo::Opcode::kMaximum, PrimitiveType::F32), {axis});
  Op shifted = b.Sub(x, max, kept);
  Op e = b.Exp(shifted);
  Op sum = b.Reduce(e, b.ConstantR0<float>(0.0f), b.ScalarComputation(hlo::Opcode::kAdd, PrimitiveType::F32),
                    {axis});
  return log ? b.Sub(shifted, b.Log(sum), kept) : b.Div(e, sum, kept);
}

}  // namespace

absl::Status LowerConv(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op w, ctx.input(1));
  if (Rank(x) < 3 || Rank(w) != Rank(x)) return ctx.Error("Conv needs input and weights of equal rank >= 3");
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(int64_t group, node.GetInt("group", 1));
  std::vector<int64_t> kernel(DimsOf(w).begin() + 2, DimsOf(w).end());
  KILN_ASSIGN_OR_RETURN(WindowGeometry win, NodeWindow(ctx, DimsOf(x), kernel, /*pooling=*/false));
  std::vector<hlo::PaddingPair> padding;
  for (int i = 0; i < win.spatial_rank; ++i) padding.push_back({win.pad_begin[i], win.pad_end[i]});
  hlo::Builder& b = ctx.b();
  Op y = b.ConvGeneralDilated(x, w, win.strides, padding, {}, win.dilations,
                              hlo::ConvolutionDimensionNumbers::Nchw(Rank(x) - 2), group);
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(Op bias, ctx.input(2));
    y = b.Add(y, bias, {1});
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

// ConvTranspose whose 2-D kernel equals its stride, without padding, output padding, dilation or
// groups (UNet's 2x2 stride-2 upsampling; the runtime kernel's "patch" case): the kernel windows tile
// the output without overlapping, so every output element is one dot product of an input pixel's
// channels with a weight column. X [N, C, H, W] as [C, N*H*W] dot W [C, M*kh*kw] over C gives
// [N*H*W, M*kh*kw]; a reshape to [N, H, W, M, kh, kw], a transpose to [N, M, H, kh, W, kw] and a
// reshape to [N, M, H*kh, W*kw] place each product, then the bias. Other geometries are refused and
// stay with the runtime kernel (an HLO convolution with lhs dilation, which the CPU backend does not
// compile yet, would cover them).
absl::Status LowerConvTranspose(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op w, ctx.input(1));
  if (Rank(x) != 4 || Rank(w) != 4) return ctx.Error("only 2-D ConvTranspose lowers");
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(int64_t group, node.GetInt("group", 1));
  if (group != 1) return ctx.Error("only ConvTranspose with one group lowers");
  const std::vector<int64_t>& xd = DimsOf(x);
  const std::vector<int64_t>& wd = DimsOf(w);
  if (wd[0] != xd[1]) return ctx.Error(kiln::StrCat("W has ", wd[0], " input channels; X has ", xd[1]));
  const std::vector<int64_t> kernel(wd.begin() + 2, wd.end());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel_shape, node.GetInts("kernel_shape", kernel));
  if (kernel_shape != kernel) return ctx.Error("kernel_shape must match W's spatial dimensions");
  absl::StatusOr<WindowGeometry> g = ComputeTransposedWindow(node, {xd[2], xd[3]}, kernel);
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
  for (int i = 0; i < 2; ++i) {
    if (g->strides[i] != g->kernel[i] || g->dilations[i] != 1 || g->pad_begin[i] != 0 || g->pad_end[i] != 0 ||
        g->out[i] != g->in[i] * g->kernel[i]) {
      return ctx.Error("only a ConvTranspose whose kernel equals its stride, without padding or dilation, lowers");
    }
  }
  const int64_t n = xd[0], c = xd[1], h = xd[2], wi = xd[3], m = wd[1], kh = kernel[0], kw = kernel[1];
  hlo::Builder& b = ctx.b();
  // A 2-D dot with a transposed left side, [C, N*H*W]^T [C, M*kh*kw] (the CPU backend's oneDNN
  // matmul; it has no dot of a rank-3 operand without batch dimensions).
  Op columns = n == 1 ? b.Reshape(x, {c, h * wi}) : b.Reshape(b.Transpose(x, {1, 0, 2, 3}), {c, n * h * wi});
  hlo::DotDimensionNumbers dnums;
  dnums.lhs_contracting_dimensions = {0};
  dnums.rhs_contracting_dimensions = {0};
  Op t = b.DotGeneral(columns, b.Reshape(w, {c, m * kh * kw}), dnums);
  Op y = b.Transpose(b.Reshape(t, {n, h, wi, m, kh, kw}), {0, 3, 1, 4, 2, 5});
  y = b.Reshape(y, {n, m, h * kh, wi * kw});
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(Op bias, ctx.input(2));
    if (DimsOf(bias) != std::vector<int64_t>{m}) return ctx.Error(kiln::StrCat("B must have ", m, " values"));
    y = b.Add(y, bias, {1});
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

// NhwcConv (the TensorFlow importers' convolution, runtime/kernels/nhwc_ops.cc): X [N,H,W,C],
// W [KH,KW,C/group,M] (HWIO), optional B [M] -> Y [N,OH,OW,M], one HLO convolution with NHWC / HWIO /
// NHWC dimension numbers, then the bias and the fused `activation` as the kernel applies them (after
// the bias; Relu and Relu6 keep NaN, as the kernel's IEEE clamp does).
absl::Status LowerNhwcConv(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op w, ctx.input(1));
  if (Rank(x) != 4 || Rank(w) != 4) return ctx.Error("NhwcConv needs X [N,H,W,C] and W [KH,KW,C/group,M]");
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(int64_t group, node.GetInt("group", 1));
  KILN_ASSIGN_OR_RETURN(std::string activation, node.GetString("activation", std::string()));
  KILN_ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 0.2f));
  const std::vector<int64_t>& xd = DimsOf(x);
  const std::vector<int64_t>& wd = DimsOf(w);
  absl::StatusOr<WindowGeometry> g = ComputeWindow(node, {xd[1], xd[2]}, {wd[0], wd[1]}, /*pooling=*/false);
  if (!g.ok()) return ctx.Error(FromAbsl(g.status().message()));
  std::vector<hlo::PaddingPair> padding;
  for (int i = 0; i < g->spatial_rank; ++i) padding.push_back({g->pad_begin[i], g->pad_end[i]});
  hlo::ConvolutionDimensionNumbers dn;
  dn.input_batch_dimension = 0;
  dn.input_feature_dimension = 3;
  dn.input_spatial_dimensions = {1, 2};
  dn.kernel_spatial_dimensions = {0, 1};
  dn.kernel_input_feature_dimension = 2;
  dn.kernel_output_feature_dimension = 3;
  dn.output_batch_dimension = 0;
  dn.output_feature_dimension = 3;
  dn.output_spatial_dimensions = {1, 2};
  hlo::Builder& b = ctx.b();
  Op y = b.ConvGeneralDilated(x, w, g->strides, padding, {}, g->dilations, dn, group);
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(Op bias, ctx.input(2));
    y = b.Add(y, bias, {3});
  }
  const Op zero = b.ConstantR0<float>(0.0f);
  if (activation == "Relu") {
    y = b.Max(y, zero);
  } else if (activation == "Relu6") {
    y = b.Clamp(zero, y, b.ConstantR0<float>(6.0f));
  } else if (activation == "Elu") {
    y = b.Select(b.Gt(y, zero), y, b.Expm1(y));
  } else if (activation == "LeakyRelu") {
    y = b.Select(b.Ge(y, zero), y, b.Mul(y, b.ConstantR0<float>(alpha)));
  } else if (activation == "Sigmoid") {
    y = b.Logistic(y);
  } else if (activation == "Tanh") {
    y = b.Unary(hlo::Opcode::kTanh, y);
  } else if (!activation.empty()) {
    return ctx.Error(kiln::StrCat("activation '", activation,
                                  "' is not one of \"\", Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh"));
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

absl::Status LowerMaxPool(LowerContext& ctx) {
  const Node& node = ctx.node();
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
    return ctx.Unimplemented("MaxPool's Indices output");
  }
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.GetInts("kernel_shape"));
  KILN_ASSIGN_OR_RETURN(WindowGeometry win, NodeWindow(ctx, DimsOf(x), kernel, /*pooling=*/true));
  std::vector<int64_t> window = {1, 1}, strides = {1, 1}, dilations = {1, 1};
  std::vector<hlo::PaddingPair> padding = {{0, 0}, {0, 0}};
  for (size_t i = 0; i < kernel.size(); ++i) {
    const int64_t padded = win.in[i] + win.pad_begin[i] + win.pad_end[i];
    // ceil_mode's last window may start inside the padded input and run past it: pad more with
    // -inf, which max ignores.
    const int64_t needed = (win.out[i] - 1) * win.strides[i] + WindowExtent(win, i);
    window.push_back(kernel[i]);
    strides.push_back(win.strides[i]);
    dilations.push_back(win.dilations[i]);
    padding.push_back({win.pad_begin[i], win.pad_end[i] + std::max<int64_t>(0, needed - padded)});
  }
  hlo::Builder& b = ctx.b();
  Op init = b.ConstantR0<float>(-std::numeric_limits<float>::infinity());
  Op xs[] = {x};
  Op inits[] = {init};
  ctx.set_output(0, b.ReduceWindow(xs, inits, b.ScalarComputation(hlo::Opcode::kMaximum, PrimitiveType::F32),
                                   window, strides, {}, dilations, padding));
  return absl::OkStatus();
}

absl::Status LowerAveragePool(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.GetInts("kernel_shape"));
  KILN_ASSIGN_OR_RETURN(WindowGeometry win, NodeWindow(ctx, DimsOf(x), kernel, /*pooling=*/true));
  KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, node.GetInt("ceil_mode", 0));
  KILN_ASSIGN_OR_RETURN(int64_t count_include_pad, node.GetInt("count_include_pad", 0));
  if (ceil_mode != 0) return ctx.Unimplemented("AveragePool with ceil_mode=1");
  const size_t n = kernel.size();
  std::vector<int64_t> window = {1, 1}, strides = {1, 1}, dilations = {1, 1};
  std::vector<hlo::PaddingPair> padding = {{0, 0}, {0, 0}};
  // Per spatial dim, how many window taps fall inside the input (or inside the padded input).
  std::vector<std::vector<int64_t>> counts(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t lo = win.pad_begin[i], hi = win.pad_end[i], in = win.in[i];
    for (int64_t o = 0; o < win.out[i]; ++o) {
      int64_t start = o * win.strides[i] - lo, count = 0;
      for (int64_t k = 0; k < kernel[i]; ++k) {
        int64_t pos = start + k * win.dilations[i];
        bool inside = count_include_pad ? (pos >= -lo && pos < in + hi) : (pos >= 0 && pos < in);
        count += inside ? 1 : 0;
      }
      counts[i].push_back(count);
    }
    window.push_back(kernel[i]);
    strides.push_back(win.strides[i]);
    dilations.push_back(win.dilations[i]);
    padding.push_back({lo, hi});
  }
  hlo::Builder& b = ctx.b();
  Op xs[] = {x};
  Op inits[] = {b.ConstantR0<float>(0.0f)};
  Op sum = b.ReduceWindow(xs, inits, b.ScalarComputation(hlo::Opcode::kAdd, PrimitiveType::F32), window,
                          strides, {}, dilations, padding);
  // Divide by the tap counts, a constant of the spatial output shape broadcast over N and C.
  std::vector<int64_t> out_dims;
  for (size_t i = 0; i < n; ++i) out_dims.push_back(static_cast<int64_t>(counts[i].size()));
  std::vector<float> divisor(NumElements(out_dims));
  for (int64_t flat = 0; flat < static_cast<int64_t>(divisor.size()); ++flat) {
    int64_t rest = flat, product = 1;
    for (size_t i = n; i-- > 0;) {
      product *= counts[i][rest % out_dims[i]];
      rest /= out_dims[i];
    }
    divisor[flat] = static_cast<float>(std::max<int64_t>(product, 1));
  }
  std::vector<int64_t> spatial_mapping;
  for (size_t i = 0; i < n; ++i) spatial_mapping.push_back(static_cast<int64_t>(2 + i));
  Op div = b.ConstantLiteral(hlo::Literal::CreateFromVector<float>(out_dims, divisor));
  ctx.set_output(0, b.Div(sum, div, spatial_mapping));
  return absl::OkStatus();
}

// GlobalAveragePool, and GlobalMaxPool as an IEEE maximum over the spatial dims (the kernel's).
absl::Status LowerGlobalAveragePool(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  if (Rank(x) < 3) return ctx.Error("global pooling needs rank >= 3");
  std::vector<int64_t> spatial;
  for (int64_t i = 2; i < Rank(x); ++i) spatial.push_back(i);
  if (ctx.node().op == "GlobalMaxPool") {
    hlo::Builder& b = ctx.b();
    Op max = b.Reduce(x, b.ConstantR0<float>(-std::numeric_limits<float>::infinity()),
                      b.ScalarComputation(hlo::Opcode::kMaximum, PrimitiveType::F32), spatial);
    std::vector<int64_t> out = DimsOf(x);
    for (int64_t d : spatial) out[d] = 1;
    ctx.set_output(0, b.Reshape(max, out));
    return absl::OkStatus();
  }
  ctx.set_output(0, MeanOver(ctx.b(), x, spatial, true));
  return absl::OkStatus();
}

absl::Status LowerBatchNormalization(LowerContext& ctx) {
  const Node& node = ctx.node();
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) return ctx.Unimplemented("BatchNormalization's training outputs");
  }
  KILN_ASSIGN_OR_RETURN(int64_t training, node.GetInt("training_mode", 0));
  if (training) return ctx.Unimplemented("BatchNormalization with training_mode=1");
  KILN_ASSIGN_OR_RETURN(float epsilon, node.GetFloat("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op scale, ctx.input(1));
  KILN_ASSIGN_OR_RETURN(Op bias, ctx.input(2));
  KILN_ASSIGN_OR_RETURN(Op mean, ctx.input(3));
  KILN_ASSIGN_OR_RETURN(Op var, ctx.input(4));
  if (Rank(x) < 2) return ctx.Error("BatchNormalization needs rank >= 2");
  hlo::Builder& b = ctx.b();
  // y = (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (dim 1).
  Op inv = b.Div(scale, b.Sqrt(b.Add(var, b.ConstantR0<float>(epsilon))));
  Op centered = b.Sub(x, mean, {1});
  ctx.set_output(0, b.Add(b.Mul(centered, inv, {1}), bias, {1}));
  return absl::OkStatus();
}

absl::Status LowerSoftmax(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t coerce_2d, ctx.node().GetInt("coerce_2d", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", coerce_2d ? 1 : -1));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, axis_attr, std::max<int64_t>(Rank(x), 1)));
  hlo::Builder& b = ctx.b();
  if (Rank(x) == 0) return ctx.Error("Softmax needs rank >= 1");
  const bool log = ctx.node().op == "LogSoftmax";
  if (!coerce_2d) {
    ctx.set_output(0, SoftmaxAlong(b, x, axis, log));
    return absl::OkStatus();
  }
  // Opset < 13: softmax of the input flattened to 2-D at `axis`.
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < Rank(x); ++i) (i < axis ? outer : inner) *= DimsOf(x)[i];
  Op y = SoftmaxAlong(b, b.Reshape(x, {outer, inner}), 1, log);
  ctx.set_output(0, b.Reshape(y, DimsOf(x)));
  return absl::OkStatus();
}

absl::Status LowerLayerNormalization(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op scale, ctx.input(1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.GetInt("axis", -1));
  KILN_ASSIGN_OR_RETURN(float epsilon, node.GetFloat("epsilon", 1e-5f));
  if (Rank(x) == 0) return ctx.Error("LayerNormalization needs rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, axis_attr, Rank(x)));
  hlo::Builder& b = ctx.b();
  // Statistics over dims [axis, rank), one per index of the outer dims [0, axis):
  // y = (x - mean) * rsqrt(mean((x - mean)^2) + epsilon) * scale + bias.
  std::vector<int64_t> inner, outer;
  for (int64_t d = 0; d < Rank(x); ++d) (d < axis ? outer : inner).push_back(d);
  Op mean = MeanOver(b, x, inner, /*keep_dims=*/false);
  Op centered = b.Sub(x, mean, outer);
  Op var = MeanOver(b, b.Mul(centered, centered), inner, /*keep_dims=*/false);
  Op inv = b.Rsqrt(b.Add(var, b.ConstantR0<float>(epsilon)));
  KILN_ASSIGN_OR_RETURN(auto scaled, BroadcastPair(ctx, b.Mul(centered, inv, outer), scale));
  Op y = b.Mul(scaled.first, scaled.second);
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(Op bias, ctx.input(2));
    KILN_ASSIGN_OR_RETURN(auto biased, BroadcastPair(ctx, y, bias));
    y = b.Add(biased.first, biased.second);
  }
  if (DimsOf(y) != DimsOf(x)) return ctx.Error("Scale and B must broadcast to X's shape");
  ctx.set_output(0, y);
  // The optional Mean and InvStdDev outputs keep X's rank with the normalized dims set to 1.
  std::vector<int64_t> stat_dims = DimsOf(x);
  for (int64_t d : inner) stat_dims[d] = 1;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) ctx.set_output(1, b.Reshape(mean, stat_dims));
  if (node.outputs.size() > 2 && !node.outputs[2].empty()) ctx.set_output(2, b.Reshape(inv, stat_dims));
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
