// The window geometry of ONNX convolution and pooling (include/kiln/runtime/window_geometry.h).
#include "kiln/runtime/window_geometry.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "kiln/support/strings.h"
#include "kiln/runtime/op_registry.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

// ceil(a / b) for a >= 0 and b > 0, without overflow.
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b > 0 ? 1 : 0); }

// The lengths of the window attributes against the spatial rank.
absl::Status CheckWindowLengths(const WindowAttributes& attrs, int r) {
  if (static_cast<int>(attrs.kernel.size()) != r) {
    return absl::InvalidArgumentError(kiln::StrCat("kernel_shape has ", attrs.kernel.size(), " values; the input has ",
                                                   r, " spatial dimensions"));
  }
  if (static_cast<int>(attrs.strides.size()) != r || static_cast<int>(attrs.dilations.size()) != r ||
      static_cast<int>(attrs.pads.size()) != 2 * r) {
    return absl::InvalidArgumentError(kiln::StrCat(
        "strides (", attrs.strides.size(), " values), dilations (", attrs.dilations.size(), ") and pads (",
        attrs.pads.size(), ") must have ", r, ", ", r, " and ", 2 * r, " values for ", r, " spatial dimensions"));
  }
  return absl::OkStatus();
}

// Resolves spatial dimension i of a forward window into g (whose vectors have the spatial rank).
absl::Status ResolveWindowDim(const WindowAttributes& attrs, int i, WindowGeometry& g) {
  const int r = g.spatial_rank;
  const int64_t in = g.in[i], k = attrs.kernel[i], s = attrs.strides[i], d = attrs.dilations[i];
  const int64_t pad0 = attrs.pads[i], pad1 = attrs.pads[i + r];
  if (k <= 0 || s <= 0 || d <= 0) {
    return absl::InvalidArgumentError(kiln::StrCat("kernel extents, strides and dilations must be positive (got kernel ",
                                                   k, ", stride ", s, ", dilation ", d, ")"));
  }
  if (pad0 < 0 || pad1 < 0) {
    return absl::InvalidArgumentError(kiln::StrCat("pads must not be negative (got ", pad0, ", ", pad1, ")"));
  }
  // The attributes may hold any int64: bound the padded extent plus twice the window's, which
  // bounds every position the kernels compute (o * stride - pad + j * dilation) within int64.
  const int64_t ext = SatAdd(SatMul(k - 1, d), 1);
  const int64_t reach = SatAdd(SatAdd(SatAdd(std::max<int64_t>(in, 0), pad0), pad1), SatMul(ext, 2));
  if (reach == std::numeric_limits<int64_t>::max()) {
    return absl::InvalidArgumentError(kiln::StrCat("kernel extent ", k, ", dilation ", d, " and pads (", pad0, ", ",
                                                   pad1, ") are too large for spatial dimension ", i));
  }
  if (attrs.auto_pad == AutoPad::kNotSet) {
    g.pad_begin[i] = pad0;
    g.pad_end[i] = pad1;
  }
  if (in < 0) return absl::OkStatus();
  if (attrs.auto_pad == AutoPad::kNotSet || attrs.auto_pad == AutoPad::kValid) {
    const int64_t padded = in + g.pad_begin[i] + g.pad_end[i];
    const int64_t span = padded - ext;
    if (span < 0) {
      return absl::InvalidArgumentError(kiln::StrCat("the window (extent ", ext, " with dilation) is larger than the padded input (",
                                                     padded, ") in spatial dimension ", i,
                                                     ": the output would have fewer than 1 element"));
    }
    int64_t out = attrs.ceil_mode ? CeilDiv(span, s) + 1 : span / s + 1;
    // A last window that starts in the end padding is dropped.
    if (attrs.ceil_mode && SatMul(out - 1, s) >= in + g.pad_begin[i]) --out;
    g.out[i] = out;
    return absl::OkStatus();
  }
  const int64_t out = CeilDiv(in, s);
  const int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - in);
  g.pad_begin[i] = attrs.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
  g.pad_end[i] = total - g.pad_begin[i];
  g.out[i] = out;
  return absl::OkStatus();
}

// Resolves spatial dimension i of ConvTranspose into g; `out_shape` is empty or has the rank.
absl::Status ResolveTransposedDim(const TransposedWindowAttributes& attrs, const std::vector<int64_t>& out_shape,
                                  int i, WindowGeometry& g) {
  const int r = g.spatial_rank;
  const WindowAttributes& w = attrs.window;
  const int64_t in = g.in[i], k = w.kernel[i], s = w.strides[i], d = w.dilations[i];
  const int64_t out_pad = attrs.output_padding[i];
  constexpr int64_t kMax = int64_t{1} << 20, kMaxExtent = int64_t{1} << 40;
  if (s <= 0 || d <= 0 || k <= 0 || s > kMax || d > kMax || k > kMax) {
    return absl::InvalidArgumentError("strides, dilations and kernel extents must be in [1, 2^20]");
  }
  // Not std::abs: the attributes may hold INT64_MIN.
  auto outside = [](int64_t v) { return v < -kMaxExtent || v > kMaxExtent; };
  if (in < 0 || in > kMaxExtent || outside(out_pad) || outside(w.pads[i]) || outside(w.pads[i + r]) ||
      (!out_shape.empty() && outside(out_shape[i]))) {
    return absl::InvalidArgumentError("input extents, pads, output_padding and output_shape must be within 2^40");
  }
  const int64_t ext = (k - 1) * d + 1;
  const int64_t full = s * (in - 1) + out_pad + ext;
  int64_t target = -1;
  if (!out_shape.empty()) {
    target = out_shape[i];
  } else if (w.auto_pad == AutoPad::kSameUpper || w.auto_pad == AutoPad::kSameLower) {
    target = in * s;
  }
  if (target >= 0) {
    // The total may be negative (output_shape larger than the full extent): halves round down.
    const int64_t total = full - target;
    const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
    g.pad_begin[i] = w.auto_pad == AutoPad::kSameUpper ? half : total - half;
    g.pad_end[i] = total - g.pad_begin[i];
    g.out[i] = target;
  } else {
    if (w.auto_pad == AutoPad::kNotSet) {
      g.pad_begin[i] = w.pads[i];
      g.pad_end[i] = w.pads[i + r];
    }
    g.out[i] = full - g.pad_begin[i] - g.pad_end[i];
  }
  if (g.out[i] < 0) return absl::InvalidArgumentError("the output would have a negative extent");
  return absl::OkStatus();
}

WindowGeometry EmptyGeometry(const std::vector<int64_t>& kernel, const std::vector<int64_t>& in,
                             const WindowAttributes& attrs, int64_t unresolved_out) {
  const int r = static_cast<int>(in.size());
  WindowGeometry g;
  g.spatial_rank = r;
  g.in = in;
  g.kernel = kernel;
  g.strides = attrs.strides;
  g.dilations = attrs.dilations;
  g.pad_begin.assign(r, 0);
  g.pad_end.assign(r, 0);
  g.out.assign(r, unresolved_out);
  return g;
}

}  // namespace

absl::StatusOr<AutoPad> ParseAutoPad(std::string_view text) {
  if (text == "NOTSET") return AutoPad::kNotSet;
  if (text == "SAME_UPPER") return AutoPad::kSameUpper;
  if (text == "SAME_LOWER") return AutoPad::kSameLower;
  if (text == "VALID") return AutoPad::kValid;
  return absl::InvalidArgumentError(
      kiln::StrCat("auto_pad '", text, "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"));
}

absl::StatusOr<WindowAttributes> ReadWindowAttributes(const Node& node, int spatial_rank,
                                                      std::vector<int64_t> kernel, bool pooling) {
  const int r = spatial_rank;
  WindowAttributes a;
  a.kernel = std::move(kernel);
  KILN_ASSIGN_OR_RETURN(a.strides, node.GetInts("strides", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(a.dilations, node.GetInts("dilations", std::vector<int64_t>(r, 1)));
  KILN_ASSIGN_OR_RETURN(a.pads, node.GetInts("pads", std::vector<int64_t>(2 * r, 0)));
  KILN_ASSIGN_OR_RETURN(std::string auto_pad, node.GetString("auto_pad", "NOTSET"));
  KILN_ASSIGN_OR_RETURN(a.auto_pad, ParseAutoPad(auto_pad));
  if (pooling) {
    KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, node.GetInt("ceil_mode", 0));
    a.ceil_mode = ceil_mode != 0;
  }
  return a;
}

absl::StatusOr<WindowGeometry> ResolveWindow(const WindowAttributes& attrs, const std::vector<int64_t>& in) {
  const int r = static_cast<int>(in.size());
  KILN_RETURN_IF_ERROR(CheckWindowLengths(attrs, r));
  WindowGeometry g = EmptyGeometry(attrs.kernel, in, attrs, -1);
  for (int i = 0; i < r; ++i) KILN_RETURN_IF_ERROR(ResolveWindowDim(attrs, i, g));
  return g;
}

absl::StatusOr<WindowGeometry> ComputeWindow(const Node& node, const std::vector<int64_t>& in,
                                             const std::vector<int64_t>& kernel, bool pooling) {
  KILN_ASSIGN_OR_RETURN(WindowAttributes attrs,
                        ReadWindowAttributes(node, static_cast<int>(in.size()), kernel, pooling));
  return ResolveWindow(attrs, in);
}

absl::StatusOr<TransposedWindowAttributes> ReadTransposedWindowAttributes(const Node& node, int spatial_rank,
                                                                          std::vector<int64_t> kernel) {
  TransposedWindowAttributes a;
  KILN_ASSIGN_OR_RETURN(a.window, ReadWindowAttributes(node, spatial_rank, std::move(kernel), /*pooling=*/false));
  KILN_ASSIGN_OR_RETURN(a.output_padding, node.GetInts("output_padding", std::vector<int64_t>(spatial_rank, 0)));
  KILN_ASSIGN_OR_RETURN(a.output_shape, node.GetInts("output_shape", std::vector<int64_t>{}));
  return a;
}

absl::StatusOr<WindowGeometry> ResolveTransposedWindow(const TransposedWindowAttributes& attrs,
                                                       const std::vector<int64_t>& in) {
  const int r = static_cast<int>(in.size());
  const WindowAttributes& w = attrs.window;
  if (static_cast<int>(w.kernel.size()) != r || static_cast<int>(w.strides.size()) != r ||
      static_cast<int>(w.dilations.size()) != r || static_cast<int>(w.pads.size()) != 2 * r ||
      static_cast<int>(attrs.output_padding.size()) != r) {
    return absl::InvalidArgumentError(kiln::StrCat("kernel_shape (", w.kernel.size(), " values), strides (",
                                                   w.strides.size(), "), dilations (", w.dilations.size(),
                                                   "), pads (", w.pads.size(), ") and output_padding (",
                                                   attrs.output_padding.size(), ") must match ", r,
                                                   " spatial dimensions (pads: twice)"));
  }
  std::vector<int64_t> out_shape = attrs.output_shape;
  if (!out_shape.empty() && static_cast<int>(out_shape.size()) != r) {
    if (static_cast<int>(out_shape.size()) != r + 2) {
      return absl::InvalidArgumentError("output_shape must have one value per spatial dimension");
    }
    out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  }
  WindowGeometry g = EmptyGeometry(w.kernel, in, w, 0);
  for (int i = 0; i < r; ++i) KILN_RETURN_IF_ERROR(ResolveTransposedDim(attrs, out_shape, i, g));
  return g;
}

absl::StatusOr<WindowGeometry> ComputeTransposedWindow(const Node& node, const std::vector<int64_t>& in,
                                                       const std::vector<int64_t>& kernel) {
  KILN_ASSIGN_OR_RETURN(TransposedWindowAttributes attrs,
                        ReadTransposedWindowAttributes(node, static_cast<int>(in.size()), kernel));
  return ResolveTransposedWindow(attrs, in);
}

}  // namespace kiln
