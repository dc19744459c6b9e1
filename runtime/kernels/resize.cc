// Resize (ONNX opset 11-19): nearest, linear and cubic interpolation, every
// coordinate_transformation_mode, antialias, exclude_outside, tf_crop_and_resize with roi and
// extrapolation_value, axes, keep_aspect_ratio_policy; scales or sizes. As ONNX's reference, the
// interpolation is separable: one pass per resized axis, computed in double, then rounded (and for
// integer types saturated) to the input type. GridSample is here too.
#include <cmath>
#include <functional>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"
#include "runtime/kernels/resize.h"

namespace kiln::kernels {
namespace {

// A sampling position (from roi, scales or grid values, which may be huge, infinite or NaN) as an
// index: clamped to +-2^62, NaN to -2^62, so that it converts without undefined behaviour and
// small offsets added to it cannot overflow. Callers clamp or bounds-check the result.
int64_t PositionToIndex(double v) {
  constexpr double kLimit = static_cast<double>(int64_t{1} << 62);
  if (!(v > -kLimit)) return -(int64_t{1} << 62);
  if (v > kLimit) return int64_t{1} << 62;
  return static_cast<int64_t>(v);
}

struct ResizeAttrs {
  std::string mode, ctm, nearest_mode, policy;
  int64_t antialias = 0, exclude_outside = 0;
  float cubic_a = -0.75f, extrapolation = 0.0f;
  std::vector<int64_t> axes;
};

absl::StatusOr<ResizeAttrs> ReadResizeAttrs(const Node& node) {
  ResizeAttrs a;
  KILN_ASSIGN_OR_RETURN(a.mode, node.GetString("mode", "nearest"));
  KILN_ASSIGN_OR_RETURN(a.ctm, node.GetString("coordinate_transformation_mode", "half_pixel"));
  KILN_ASSIGN_OR_RETURN(a.nearest_mode, node.GetString("nearest_mode", "round_prefer_floor"));
  KILN_ASSIGN_OR_RETURN(a.policy, node.GetString("keep_aspect_ratio_policy", "stretch"));
  KILN_ASSIGN_OR_RETURN(a.antialias, node.GetInt("antialias", 0));
  KILN_ASSIGN_OR_RETURN(a.exclude_outside, node.GetInt("exclude_outside", 0));
  KILN_ASSIGN_OR_RETURN(a.cubic_a, node.GetFloat("cubic_coeff_a", -0.75f));
  KILN_ASSIGN_OR_RETURN(a.extrapolation, node.GetFloat("extrapolation_value", 0.0f));
  KILN_ASSIGN_OR_RETURN(a.axes, node.GetInts("axes", std::vector<int64_t>{}));
  auto bad = [&node](const std::string& m) {
    return absl::InvalidArgumentError(kiln::StrCat("Resize node '", node.name, "': ", m));
  };
  if (a.mode != "nearest" && a.mode != "linear" && a.mode != "cubic") return bad("mode '" + a.mode + "' is not nearest, linear or cubic");
  if (a.ctm != "half_pixel" && a.ctm != "half_pixel_symmetric" && a.ctm != "pytorch_half_pixel" && a.ctm != "align_corners" &&
      a.ctm != "asymmetric" && a.ctm != "tf_crop_and_resize") {
    return bad("coordinate_transformation_mode '" + a.ctm + "' is not supported");
  }
  if (a.nearest_mode != "round_prefer_floor" && a.nearest_mode != "round_prefer_ceil" && a.nearest_mode != "floor" &&
      a.nearest_mode != "ceil") {
    return bad("nearest_mode '" + a.nearest_mode + "' is not supported");
  }
  if (a.policy != "stretch" && a.policy != "not_larger" && a.policy != "not_smaller") {
    return bad("keep_aspect_ratio_policy '" + a.policy + "' is not supported");
  }
  if (a.mode == "nearest" && a.antialias) return bad("antialias is not defined for mode nearest");
  return a;
}

// Per-axis scale factors, output sizes and roi (start, end) for input dims `in`.
struct ResizePlan {
  std::vector<double> scales;
  Dims out;
  std::vector<double> roi_start, roi_end;
  std::vector<int64_t> axes;  // In the order they are resized.
};

absl::StatusOr<ResizePlan> PlanResize(const Node& node, const ResizeAttrs& a, const Dims& in, const Tensor* roi,
                                      const Tensor* scales, const Tensor* sizes) {
  auto bad = [&node](const std::string& m) {
    return absl::InvalidArgumentError(kiln::StrCat("Resize node '", node.name, "': ", m));
  };
  const int64_t r = static_cast<int64_t>(in.size());
  ResizePlan p;
  if (a.axes.empty()) {
    for (int64_t i = 0; i < r; ++i) p.axes.push_back(i);
  } else {
    for (int64_t ax : a.axes) {
      absl::StatusOr<int64_t> n = NormalizeAxis(ax, r);
      if (!n.ok()) return bad(std::string(n.status().message()));
      p.axes.push_back(*n);
    }
  }
  const size_t na = p.axes.size();
  p.scales.assign(r, 1.0);
  p.out = in;
  p.roi_start.assign(r, 0.0);
  p.roi_end.assign(r, 1.0);
  if (roi != nullptr && roi->num_elements() > 0) {
    if (roi->num_elements() != static_cast<int64_t>(2 * na)) return bad("roi must hold 2 values per resized axis");
    for (size_t i = 0; i < na; ++i) {
      p.roi_start[p.axes[i]] = roi->GetAsDouble(i);
      p.roi_end[p.axes[i]] = roi->GetAsDouble(na + i);
    }
  }
  const bool has_scales = scales != nullptr && scales->num_elements() > 0;
  const bool has_sizes = sizes != nullptr && sizes->num_elements() > 0;
  if (has_scales == has_sizes) return bad("exactly one of scales and sizes must be given");
  if (has_scales) {
    if (scales->num_elements() != static_cast<int64_t>(na)) return bad("scales must hold one value per resized axis");
    for (size_t i = 0; i < na; ++i) {
      const double s = scales->GetAsDouble(i);
      if (!(s > 0)) return bad("scales must be positive");
      p.scales[p.axes[i]] = s;
      const double extent = s * static_cast<double>(in[p.axes[i]]);
      if (!(extent < 1e12)) return bad("scales give an output too large");
      p.out[p.axes[i]] = static_cast<int64_t>(extent);
    }
    return p;
  }
  if (sizes->num_elements() != static_cast<int64_t>(na)) return bad("sizes must hold one value per resized axis");
  for (size_t i = 0; i < na; ++i) {
    const int64_t s = sizes->GetAsInt64(i);
    if (s < 0) return bad("sizes must not be negative");
    p.out[p.axes[i]] = s;
    p.scales[p.axes[i]] = static_cast<double>(s) / static_cast<double>(in[p.axes[i]]);
  }
  if (a.policy != "stretch") {
    double scale = p.scales[p.axes[0]];
    for (int64_t ax : p.axes) {
      scale = a.policy == "not_larger" ? std::min(scale, p.scales[ax]) : std::max(scale, p.scales[ax]);
    }
    for (int64_t ax : p.axes) {
      p.scales[ax] = scale;
      const double extent = scale * static_cast<double>(in[ax]) + 0.5;
      if (!(extent < 1e12)) return bad("sizes give an output too large");
      p.out[ax] = static_cast<int64_t>(extent);
    }
  }
  return p;
}

absl::Status ResizeShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(ResizeAttrs a, ReadResizeAttrs(ctx.node()));
  if (!IsAnyFloat(x.dtype) && !IsIntType(x.dtype)) return ctx.Error("input must be numeric");
  auto value = [&ctx](int i) -> const Tensor* {
    return ctx.has_input(i) && ctx.input(i).value ? &*ctx.input(i).value : nullptr;
  };
  const bool scales_known = !ctx.has_input(2) || ctx.input(2).value;
  const bool sizes_known = !ctx.has_input(3) || ctx.input(3).value;
  if (!x.fully_defined() || !scales_known || !sizes_known) {
    TensorType t{x.dtype, x.dims, x.rank_known};
    for (int64_t& d : t.dims) d = -1;
    ctx.set_output(0, t);
    return absl::OkStatus();
  }
  absl::StatusOr<ResizePlan> p = PlanResize(ctx.node(), a, x.dims, value(1), value(2), value(3));
  if (!p.ok()) return ctx.Error(FromAbsl(p.status().message()));
  ctx.set_output(0, TensorType{x.dtype, p->out});
  return absl::OkStatus();
}

// Interpolation weights for a fractional position `ratio` in (0, 1] (1 for integer positions).
std::vector<double> Coeffs(const ResizeAttrs& a, double ratio, double scale) {
  if (a.mode == "nearest") {
    if (ratio == 1.0) return {0, 1};
    if (a.nearest_mode == "round_prefer_floor") return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};
    if (a.nearest_mode == "round_prefer_ceil") return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
    if (a.nearest_mode == "floor") return {1, 0};
    return {0, 1};
  }
  if (a.mode == "linear") {
    if (!a.antialias) return {1 - ratio, ratio};
    const double s = std::min(scale, 1.0);
    const int64_t start = static_cast<int64_t>(std::floor(-1 / s) + 1);
    const int64_t footprint = 2 - 2 * start;
    std::vector<double> c(footprint);
    double sum = 0;
    for (int64_t i = 0; i < footprint; ++i) {
      c[i] = std::clamp(1 - std::fabs((static_cast<double>(start + i) - ratio) * s), 0.0, 1.0);
      sum += c[i];
    }
    for (double& v : c) v /= sum;
    return c;
  }
  const double A = a.cubic_a;
  if (!a.antialias) {
    const double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
    return {((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A, ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
            ((A + 2) * q - (A + 3)) * q * q + 1, ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A};
  }
  const double s = std::min(scale, 1.0);
  auto kernel = [A](double x) {
    x = std::fabs(x);
    const double x2 = x * x, x3 = x * x2;
    if (x <= 1) return (A + 2) * x3 - (A + 3) * x2 + 1;
    if (x < 2) return A * x3 - 5 * A * x2 + 8 * A * x - 4 * A;
    return 0.0;
  };
  const int64_t i_start = static_cast<int64_t>(std::floor(-2 / s) + 1), i_end = 2 - i_start;
  std::vector<double> c;
  double sum = 0;
  for (int64_t i = i_start; i < i_end; ++i) {
    c.push_back(kernel(s * (static_cast<double>(i) - ratio)));
    sum += c.back();
  }
  for (double& v : c) v /= sum;
  return c;
}

// The taps of every output position along one axis, flat: output position o reads the input
// positions idx[o * n + k] (clamped to the axis) with the weights c[o * n + k], k < n. kind[o] says
// whether it interpolates, picks one input as it is (nearest mode and axes left as they are: no
// arithmetic, so -0.0, Inf and NaN pass unchanged and a neighbour's Inf cannot turn into NaN
// through a zero weight), or lies outside tf_crop_and_resize's roi (extrapolation_value).
struct AxisTaps {
  enum Kind : uint8_t { kInterpolate, kPick, kExtrapolate };
  int64_t n = 1;
  std::vector<Kind> kind;
  std::vector<int64_t> idx;
  std::vector<double> c;
  std::vector<int64_t> pick;  // When every position picks: the input position of each.
  bool all_interpolate = false;

  void Summarize() {
    const auto out_w = static_cast<int64_t>(kind.size());
    all_interpolate = std::all_of(kind.begin(), kind.end(), [](Kind k) { return k == kInterpolate; });
    if (std::all_of(kind.begin(), kind.end(), [](Kind k) { return k == kPick; })) {
      pick.resize(out_w);
      for (int64_t o = 0; o < out_w; ++o) pick[o] = idx[o * n];
    }
  }
};

// The taps of an axis of `in_w` positions resized to `out_w`.
AxisTaps MakeAxisTaps(int64_t in_w, int64_t out_w, double scale, double roi_start, double roi_end,
                      const ResizeAttrs& a) {
  const double out_f = scale * static_cast<double>(in_w);
  AxisTaps t;
  t.kind.resize(out_w);
  for (int64_t o = 0; o < out_w; ++o) {
    const double y = static_cast<double>(o);
    double x = 0;
    bool extrapolated = false;
    if (a.ctm == "align_corners") {
      x = out_f == 1 ? 0.0 : y * (in_w - 1) / (out_f - 1);
    } else if (a.ctm == "asymmetric") {
      x = y / scale;
    } else if (a.ctm == "tf_crop_and_resize") {
      x = out_f == 1 ? (roi_end - roi_start) * (in_w - 1) / 2 : y * (roi_end - roi_start) * (in_w - 1) / (out_f - 1);
      x += roi_start * (in_w - 1);
      extrapolated = !(x >= 0 && x <= in_w - 1);  // NaN (from a NaN roi) too.
    } else if (a.ctm == "pytorch_half_pixel") {
      x = out_f == 1 ? -0.5 : (y + 0.5) / scale - 0.5;
    } else if (a.ctm == "half_pixel") {
      x = (y + 0.5) / scale - 0.5;
    } else {  // half_pixel_symmetric
      const double adjustment = static_cast<double>(out_w) / out_f;
      const double center = static_cast<double>(in_w) / 2;
      x = center * (1 - adjustment) + (y + 0.5) / scale - 0.5;
    }
    const double xf = std::floor(x);
    const double ratio = x == xf ? 1.0 : x - xf;
    std::vector<double> c = Coeffs(a, ratio, scale);
    const int64_t n = static_cast<int64_t>(c.size());
    const int64_t pad = (n + 1) / 2;
    const double xp = x + pad;
    const double p = std::floor(xp);
    const double frac = xp - p;
    int64_t off;
    if (n % 2 == 0) {
      off = frac == 0 ? -(n / 2) : -(n / 2) + 1;
    } else {
      const int64_t base = -((n - 1) / 2);
      off = frac <= 0.5 ? base : base + 1;
    }
    const int64_t start = PositionToIndex(p) + off - pad;
    if (a.exclude_outside) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        if (start + k < 0 || start + k >= in_w) c[k] = 0;
        sum += c[k];
      }
      if (sum == 0) sum = 1;
      for (double& v : c) v /= sum;
    }
    if (o == 0) {  // The tap count depends on the mode and the scale only: one per axis.
      t.n = n;
      t.idx.resize(out_w * n);
      t.c.resize(out_w * n);
    }
    c.resize(t.n, 0.0);
    int64_t* idx = &t.idx[o * t.n];
    for (int64_t k = 0; k < t.n; ++k) {
      idx[k] = std::clamp<int64_t>(start + k, 0, in_w - 1);
      t.c[o * t.n + k] = c[k];
    }
    t.kind[o] = extrapolated ? AxisTaps::kExtrapolate : AxisTaps::kInterpolate;
    if (!extrapolated && a.mode == "nearest") {
      const auto one = std::find(c.begin(), c.end(), 1.0);
      if (one != c.end() && std::count(c.begin(), c.end(), 0.0) == t.n - 1) {
        t.kind[o] = AxisTaps::kPick;
        idx[0] = idx[one - c.begin()];
      }
    }
  }
  t.Summarize();
  return t;
}

// The taps of an axis left as it is.
AxisTaps IdentityTaps(int64_t w) {
  AxisTaps t;
  t.kind.assign(w, AxisTaps::kPick);
  t.c.assign(w, 1.0);
  t.idx.resize(w);
  for (int64_t o = 0; o < w; ++o) t.idx[o] = o;
  t.Summarize();
  return t;
}

// Output position `o` of an axis for each of the `inner` elements after it: dst[i] = sum_k c[k] *
// src[idx[k] * inner + i], accumulated in double from 0 in tap order.
template <typename Out>
void InterpolateBlock(const AxisTaps& t, int64_t o, const double* src, int64_t inner, double extrapolation, Out* dst) {
  const int64_t n = t.n;
  const int64_t* idx = &t.idx[o * n];
  const double* c = &t.c[o * n];
  if (t.kind[o] == AxisTaps::kExtrapolate) {
    std::fill(dst, dst + inner, static_cast<Out>(extrapolation));
  } else if (t.kind[o] == AxisTaps::kPick) {
    const double* s = src + idx[0] * inner;
    for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<Out>(s[i]);
  } else if (n == 2) {
    const double* s0 = src + idx[0] * inner;
    const double* s1 = src + idx[1] * inner;
    const double c0 = c[0], c1 = c[1];
    for (int64_t i = 0; i < inner; ++i) {
      double acc = 0;
      acc += c0 * s0[i];
      acc += c1 * s1[i];
      dst[i] = static_cast<Out>(acc);
    }
  } else {
    for (int64_t i = 0; i < inner; ++i) {
      double acc = 0;
      for (int64_t k = 0; k < n; ++k) acc += c[k] * src[idx[k] * inner + i];
      dst[i] = static_cast<Out>(acc);
    }
  }
}

// Every output position of an axis that is the innermost one (elements one apart).
template <typename Out>
void InterpolateInnermost(const AxisTaps& t, const double* src, int64_t out_w, double extrapolation, Out* dst) {
  const int64_t n = t.n;
  if (!t.pick.empty()) {
    for (int64_t o = 0; o < out_w; ++o) dst[o] = static_cast<Out>(src[t.pick[o]]);
    return;
  }
  if (t.all_interpolate && n == 2) {
    for (int64_t o = 0; o < out_w; ++o) {
      double acc = 0;
      acc += t.c[2 * o] * src[t.idx[2 * o]];
      acc += t.c[2 * o + 1] * src[t.idx[2 * o + 1]];
      dst[o] = static_cast<Out>(acc);
    }
    return;
  }
  for (int64_t o = 0; o < out_w; ++o) InterpolateBlock(t, o, src, 1, extrapolation, dst + o);
}

// Resizes `data` (dims `dims`) along `axis` to `out_w` elements.
std::vector<double> ResizeAxis(const std::vector<double>& data, Dims& dims, int64_t axis, int64_t out_w, double scale,
                               double roi_start, double roi_end, const ResizeAttrs& a) {
  const int64_t in_w = dims[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
  for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  std::vector<double> result(outer * out_w * inner);
  const AxisTaps taps = MakeAxisTaps(in_w, out_w, scale, roi_start, roi_end, a);
  for (int64_t ob = 0; ob < outer; ++ob) {
    const double* src = data.data() + ob * in_w * inner;
    double* dst = result.data() + ob * out_w * inner;
    for (int64_t o = 0; o < out_w; ++o) InterpolateBlock(taps, o, src, inner, a.extrapolation, dst + o * inner);
  }
  dims[axis] = out_w;
  return result;
}

// The common image case: f32 or f64, only the last two axes resized (either may keep its size).
// Per output row, the interpolation along the first of them and then along the second, in double
// and in the order ResizeAxis takes (so the same results), written straight into the output
// without whole-tensor double intermediates.
template <typename T>
void ResizeLastTwo(const Tensor& x, const Dims& out_dims, const AxisTaps& rows, const AxisTaps& cols,
                   double extrapolation, Tensor* y) {
  const int r = x.rank();
  const int64_t in_h = x.dims()[r - 2], in_w = x.dims()[r - 1];
  const int64_t out_h = out_dims[r - 2], out_w = out_dims[r - 1];
  const int64_t planes = in_h * in_w == 0 ? 0 : x.num_elements() / (in_h * in_w);
  if (!rows.pick.empty() && !cols.pick.empty()) {  // nearest: copies, no arithmetic
    // An integer upsampling factor along the row (each input repeated `repeat` times, as in 2x
    // nearest upsampling) is written without a gather.
    int64_t repeat = in_w > 0 && out_w % in_w == 0 ? out_w / in_w : 0;
    for (int64_t ox = 0; ox < out_w && repeat > 0; ++ox) {
      if (cols.pick[ox] != ox / repeat) repeat = 0;
    }
    for (int64_t p = 0; p < planes; ++p) {
      const T* src = x.data<T>() + p * in_h * in_w;
      T* dst = y->data<T>() + p * out_h * out_w;
      for (int64_t oy = 0; oy < out_h; ++oy) {
        const T* in_row = src + rows.pick[oy] * in_w;
        T* out_row = dst + oy * out_w;
        if (oy > 0 && rows.pick[oy] == rows.pick[oy - 1]) {
          std::copy(out_row - out_w, out_row, out_row);
          continue;
        }
        if (repeat == 2) {
          for (int64_t ix = 0; ix < in_w; ++ix) out_row[2 * ix] = out_row[2 * ix + 1] = in_row[ix];
        } else if (repeat > 0) {
          for (int64_t ix = 0; ix < in_w; ++ix) std::fill(out_row + ix * repeat, out_row + (ix + 1) * repeat, in_row[ix]);
        } else {
          for (int64_t ox = 0; ox < out_w; ++ox) out_row[ox] = in_row[cols.pick[ox]];
        }
      }
    }
    return;
  }
  std::vector<double> plane(in_h * in_w), row(in_w);
  for (int64_t p = 0; p < planes; ++p) {
    const T* src = x.data<T>() + p * in_h * in_w;
    std::copy(src, src + in_h * in_w, plane.begin());
    T* dst = y->data<T>() + p * out_h * out_w;
    for (int64_t oy = 0; oy < out_h; ++oy) {
      InterpolateBlock(rows, oy, plane.data(), in_w, extrapolation, row.data());
      InterpolateInnermost(cols, row.data(), out_w, extrapolation, dst + oy * out_w);
    }
  }
}

absl::Status ResizeCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(ResizeAttrs a, ReadResizeAttrs(ctx.node()));
  const Tensor& x = ctx.input(0);
  auto opt = [&ctx](int i) -> const Tensor* { return ctx.has_input(i) ? &ctx.input(i) : nullptr; };
  absl::StatusOr<ResizePlan> p = PlanResize(ctx.node(), a, x.dims(), opt(1), opt(2), opt(3));
  if (!p.ok()) return ctx.Error(FromAbsl(p.status().message()));
  for (int64_t ax : p->axes) {
    if (x.dims()[ax] == 0 && p->out[ax] > 0) return ctx.Error("cannot resize an empty axis to a nonempty one");
  }
  // Every intermediate of the per-axis passes is at most this large.
  Dims largest = x.dims();
  for (size_t d = 0; d < largest.size(); ++d) largest[d] = std::max(largest[d], p->out[d]);
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, largest));
  auto unchanged = [&](int64_t ax) {
    return std::fabs(p->scales[ax] - 1.0) <= 1e-9 && p->out[ax] == x.dims()[ax] && std::fabs(p->roi_start[ax]) <= 1e-9 &&
           std::fabs(p->roi_end[ax] - 1.0) <= 1e-9;
  };
  const int r = x.rank();
  bool last_two = r >= 2 && (x.dtype() == DType::kF32 || x.dtype() == DType::kF64);
  for (int64_t ax = 0; ax < r - 2 && last_two; ++ax) last_two = unchanged(ax);
  // Both resized: in the order the general path takes them (ascending axes) for the same rounding.
  if (last_two && !unchanged(r - 2) && !unchanged(r - 1)) {
    last_two = std::find(p->axes.begin(), p->axes.end(), r - 2) < std::find(p->axes.begin(), p->axes.end(), r - 1);
  }
  if (last_two) {
    auto taps = [&](int64_t ax) {
      if (unchanged(ax)) return IdentityTaps(x.dims()[ax]);
      return MakeAxisTaps(x.dims()[ax], p->out[ax], p->scales[ax], p->roi_start[ax], p->roi_end[ax], a);
    };
    const AxisTaps rows = taps(r - 2), cols = taps(r - 1);
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), p->out));
    if (x.dtype() == DType::kF32) {
      ResizeLastTwo<float>(x, p->out, rows, cols, a.extrapolation, y);
    } else {
      ResizeLastTwo<double>(x, p->out, rows, cols, a.extrapolation, y);
    }
    return absl::OkStatus();
  }
  std::vector<double> v = ReadDoubles(x);
  Dims dims = x.dims();
  for (int64_t ax : p->axes) {
    const double s = p->scales[ax];
    if (std::fabs(s - 1.0) <= 1e-9 && p->out[ax] == dims[ax] && std::fabs(p->roi_start[ax]) <= 1e-9 &&
        std::fabs(p->roi_end[ax] - 1.0) <= 1e-9) {
      continue;
    }
    if (p->out[ax] == 0 || dims[ax] == 0) {
      dims[ax] = p->out[ax];
      v.assign(NumElements(dims), 0.0);
      continue;
    }
    v = ResizeAxis(v, dims, ax, p->out[ax], s, p->roi_start[ax], p->roi_end[ax], a);
  }
  if (IsIntType(x.dtype())) {
    for (double& d : v) d = std::nearbyint(d);  // CastInto saturates to the integer type's range.
  }
  return WriteDoubles(ctx, 0, x.dtype(), p->out, v);
}

// ---------------------------------------------------------------------------------------------
// GridSample(X [N, C, D1..Dr], grid [N, O1..Or, r]; mode, padding_mode, align_corners), as ONNX's
// reference: grid coordinates (x, y, z order) are denormalized per spatial dimension, adjusted
// for border / reflection padding, then sampled nearest, linear or cubic (separable weights).

double Reflect(double x, double lo, double hi) {
  const double rng = hi - lo;
  if (!(rng > 0)) return lo;  // One position (or none): everything reflects onto it.
  // The number of whole reflections in double: dx / rng may exceed int64 (huge grid values).
  if (x < lo) {
    const double dx = lo - x;
    const double n = std::floor(dx / rng);
    const double r = dx - n * rng;
    return std::fmod(n, 2.0) == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const double n = std::floor(dx / rng);
    const double r = dx - n * rng;
    return std::fmod(n, 2.0) == 0 ? hi - r : lo + r;
  }
  return x;
}

absl::Status GridSampleShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& grid = ctx.input(1);
  if (!IsAnyFloat(x.dtype) || !IsAnyFloat(grid.dtype)) return ctx.Error("X and grid must be float");
  if (!x.rank_known || !grid.rank_known) {
    ctx.set_output(0, TensorType{x.dtype, {}, false});
    return absl::OkStatus();
  }
  if (x.dims.size() < 3 || grid.dims.size() != x.dims.size()) return ctx.Error("grid must have X's rank");
  Dims od{x.dims[0], x.dims[1]};
  od.insert(od.end(), grid.dims.begin() + 1, grid.dims.end() - 1);
  ctx.set_output(0, TensorType{x.dtype, od});
  return absl::OkStatus();
}

absl::Status GridSampleCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.node().GetString("mode", "linear"));
  KILN_ASSIGN_OR_RETURN(std::string padding, ctx.node().GetString("padding_mode", "zeros"));
  KILN_ASSIGN_OR_RETURN(int64_t align, ctx.node().GetInt("align_corners", 0));
  if (mode == "bilinear") mode = "linear";
  if (mode == "bicubic") mode = "cubic";
  if (mode != "nearest" && mode != "linear" && mode != "cubic") return ctx.Error("mode must be nearest, linear or cubic");
  if (padding != "zeros" && padding != "border" && padding != "reflection") {
    return ctx.Error("padding_mode must be zeros, border or reflection");
  }
  const int64_t r = x.rank() - 2;
  if (r < 1 || grid.rank() != x.rank() || grid.dims()[0] != x.dims()[0] || grid.dims().back() != r) {
    return ctx.Error(kiln::StrCat("grid ", grid.TypeString(), " does not match X ", x.TypeString()));
  }
  const int64_t n = x.dims()[0], c = x.dims()[1];
  const Dims sp(x.dims().begin() + 2, x.dims().end());
  const Dims out_sp(grid.dims().begin() + 1, grid.dims().end() - 1);
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {n, c, NumElements(out_sp)}));
  const int64_t in_sz = NumElements(sp), out_sz = NumElements(out_sp);
  const std::vector<int64_t> sstr = Strides(sp);
  const std::vector<double> xv = ReadDoubles(x), gv = ReadDoubles(grid);
  std::vector<double> lo(r), hi(r);
  for (int64_t i = 0; i < r; ++i) {
    lo[i] = align ? 0.0 : -0.5;
    hi[i] = align ? static_cast<double>(sp[i]) - 1 : static_cast<double>(sp[i]) - 0.5;
  }
  std::vector<double> y(n * c * out_sz);
  std::vector<std::vector<std::pair<int64_t, double>>> taps(r);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t o = 0; o < out_sz; ++o) {
      for (int64_t i = 0; i < r; ++i) {
        const double g = gv[(b * out_sz + o) * r + (r - 1 - i)];
        const double len = static_cast<double>(sp[i]);
        double v = static_cast<float>(align ? (g + 1) / 2.0 * (len - 1) : ((g + 1) * len - 1) / 2.0);
        if (mode == "nearest") v = std::nearbyint(v);
        if (v < lo[i] || v > hi[i]) {
          if (padding == "border") v = std::clamp(v, 0.0, len - 1);
          else if (padding == "reflection") v = static_cast<float>(Reflect(v, lo[i], hi[i]));
        }
        taps[i].clear();
        if (mode == "nearest") {
          taps[i].push_back({PositionToIndex(v), 1.0});
        } else {
          const double f = std::floor(v);
          const double t = v - f;
          const int64_t x0 = PositionToIndex(f);
          if (mode == "linear") {
            taps[i] = {{x0, 1 - t}, {x0 + 1, t}};
          } else {
            const double A = -0.75;
            taps[i] = {{x0 - 1, ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A},
                       {x0, ((A + 2) * t - (A + 3)) * t * t + 1},
                       {x0 + 1, ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1},
                       {x0 + 2, ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A}};
          }
        }
      }
      // Every combination of taps: its weight and (padding-mapped) input offset.
      std::vector<std::pair<int64_t, double>> points{{0, 1.0}};
      for (int64_t i = 0; i < r; ++i) {
        std::vector<std::pair<int64_t, double>> next;
        for (const auto& [off, w] : points) {
          if (off < 0) continue;
          for (const auto& [idx, tw] : taps[i]) {
            int64_t j = idx;
            bool outside = false;
            if (padding == "zeros") {
              outside = j < 0 || j >= sp[i];
            } else if (padding == "border") {
              j = std::clamp<int64_t>(j, 0, sp[i] - 1);
            } else {
              j = PositionToIndex(Reflect(static_cast<double>(j), lo[i], hi[i]));
              j = std::clamp<int64_t>(j, 0, sp[i] - 1);
            }
            next.push_back({outside ? -1 : off + j * sstr[i], w * tw});
          }
        }
        points.swap(next);
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        const double* src = &xv[(b * c + ch) * in_sz];
        double acc = 0;
        for (const auto& [off, w] : points) {
          if (off >= 0) acc += w * src[off];
        }
        y[(b * c + ch) * out_sz + o] = acc;
      }
    }
  }
  Dims od{n, c};
  od.insert(od.end(), out_sp.begin(), out_sp.end());
  return WriteDoubles(ctx, 0, x.dtype(), od, y);
}

}  // namespace

absl::StatusOr<std::optional<ResizePicks>> ResizeAsPicks(const Node& node, const Dims& x_dims, const Tensor* roi,
                                                         const Tensor* scales, const Tensor* sizes) {
  KILN_ASSIGN_OR_RETURN(ResizeAttrs a, ReadResizeAttrs(node));
  KILN_ASSIGN_OR_RETURN(ResizePlan p, PlanResize(node, a, x_dims, roi, scales, sizes));
  ResizePicks picks;
  picks.out = p.out;
  for (size_t ax = 0; ax < x_dims.size(); ++ax) {
    const bool unchanged = std::fabs(p.scales[ax] - 1.0) <= 1e-9 && p.out[ax] == x_dims[ax] &&
                           std::fabs(p.roi_start[ax]) <= 1e-9 && std::fabs(p.roi_end[ax] - 1.0) <= 1e-9;
    if (unchanged) {
      std::vector<int64_t> identity(x_dims[ax]);
      for (int64_t i = 0; i < x_dims[ax]; ++i) identity[i] = i;
      picks.pick.push_back(std::move(identity));
      continue;
    }
    if (x_dims[ax] == 0 || p.out[ax] == 0) return std::nullopt;
    AxisTaps taps = MakeAxisTaps(x_dims[ax], p.out[ax], p.scales[ax], p.roi_start[ax], p.roi_end[ax], a);
    if (taps.pick.empty()) return std::nullopt;
    picks.pick.push_back(std::move(taps.pick));
  }
  return picks;
}

void RegisterResizeOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("GridSample", 2, 2, GridSampleShape, GridSampleCompute));
  AddOp(registry, StatelessOpDef("Resize", 1, 4, ResizeShapeFn, ResizeCompute));
}

}  // namespace kiln::kernels
