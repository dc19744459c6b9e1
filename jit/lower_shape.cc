// Lowerings of the ops that move or name data without arithmetic: Reshape, Flatten, Transpose,
// Concat, Pad, Identity, Constant.
#include "jit/lower_internal.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

#include "kiln/support/strings.h"
#include "kiln/support/status.h"
#include "runtime/kernels/resize.h"
#include "runtime/kernels/slice.h"

namespace kiln::jit::lowering {

namespace {

// The `axes` of Squeeze / Unsqueeze: the constant input 1 (opset 13) or the attribute (earlier);
// empty when neither is given.
absl::StatusOr<std::vector<int64_t>> SqueezeAxes(LowerContext& ctx) {
  if (ctx.has_input(1)) return ctx.constant_ints(1);
  if (ctx.node().HasAttr("axes")) return ctx.node().GetInts("axes");
  return std::vector<int64_t>{};
}

}  // namespace

// Squeeze: a reshape that drops the listed size-1 dims (every size-1 dim when no axes are given).
absl::Status LowerSqueeze(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, SqueezeAxes(ctx));
  const std::vector<int64_t>& in = DimsOf(x);
  std::vector<bool> drop(in.size(), axes.empty());
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  for (int64_t axis : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(ctx, axis, Rank(x)));
    if (in[a] != 1) return ctx.Error(kiln::StrCat("axis ", axis, " has size ", in[a], ", not 1"));
    drop[a] = true;
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!drop[i]) out.push_back(in[i]);
  }
  ctx.set_output(0, ctx.b().Reshape(x, out));
  return absl::OkStatus();
}

// Unsqueeze: a reshape that inserts size-1 dims at `axes` (counted in the output's rank).
absl::Status LowerUnsqueeze(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, SqueezeAxes(ctx));
  if (axes.empty()) return ctx.Error("Unsqueeze needs axes");
  const std::vector<int64_t>& in = DimsOf(x);
  const int64_t rank = Rank(x) + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t axis : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(ctx, axis, rank));
    if (inserted[a]) return ctx.Error(kiln::StrCat("axis ", axis, " is listed twice"));
    inserted[a] = true;
  }
  std::vector<int64_t> out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? 1 : in[next++]);
  ctx.set_output(0, ctx.b().Reshape(x, out));
  return absl::OkStatus();
}

absl::Status LowerReshape(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  std::vector<int64_t> target;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(target, ctx.constant_ints(1));
  } else {
    KILN_ASSIGN_OR_RETURN(target, ctx.node().GetInts("shape"));  // Opset < 5.
  }
  KILN_ASSIGN_OR_RETURN(int64_t allow_zero, ctx.node().GetInt("allowzero", 0));
  const std::vector<int64_t>& in = DimsOf(x);
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allow_zero) {
      if (i >= in.size()) return ctx.Error("shape copies a dim (0) past the input's rank");
      target[i] = in[i];
    }
    if (target[i] == -1) {
      if (infer >= 0) return ctx.Error("shape has more than one -1");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (target[i] < 0) return ctx.Error(kiln::StrCat("shape has negative dim ", target[i]));
    known *= target[i];
  }
  const int64_t total = NumElements(in);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      return ctx.Error(kiln::StrCat("cannot reshape ", DimsToString(in), " to ", DimsToString(target)));
    }
    target[infer] = total / known;
  }
  if (NumElements(target) != total) {
    return ctx.Error(kiln::StrCat("cannot reshape ", DimsToString(in), " to ", DimsToString(target)));
  }
  ctx.set_output(0, ctx.b().Reshape(x, target));
  return absl::OkStatus();
}

absl::Status LowerFlatten(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 1));
  const int64_t rank = Rank(x);
  if (axis_attr < -rank || axis_attr > rank) return ctx.Error(kiln::StrCat("axis ", axis_attr, " out of range"));
  int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= DimsOf(x)[i];
  ctx.set_output(0, ctx.b().Reshape(x, {outer, inner}));
  return absl::OkStatus();
}

absl::Status LowerConcat(LowerContext& ctx) {
  std::vector<Op> parts;
  for (int i = 0; i < ctx.node().num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    KILN_ASSIGN_OR_RETURN(Op x, ctx.input(i));
    parts.push_back(x);
  }
  if (parts.empty()) return ctx.Error("Concat needs at least one input");
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, axis_attr, Rank(parts[0])));
  ctx.set_output(0, ctx.b().ConcatInDim(parts, axis));
  return absl::OkStatus();
}

// Split (opsets 2-18): the sizes from the `split` input (13+, a constant) or attribute (before 13),
// else `num_outputs` (18) or the output count: equal parts of ceil(dim / n), the last one smaller,
// as ONNX defines. Each output is a slice along `axis`.
absl::Status LowerSplit(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, axis_attr, Rank(x)));
  const int64_t dim = DimsOf(x)[axis];
  const int64_t n = static_cast<int64_t>(ctx.node().outputs.size());
  if (n == 0) return ctx.Error("Split needs at least one output");
  std::vector<int64_t> sizes;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(sizes, ctx.constant_ints(1));
  } else if (ctx.node().HasAttr("split")) {
    KILN_ASSIGN_OR_RETURN(sizes, ctx.node().GetInts("split"));
  } else {
    KILN_ASSIGN_OR_RETURN(int64_t parts, ctx.node().GetInt("num_outputs", n));
    if (parts != n) return ctx.Error(kiln::StrCat("num_outputs ", parts, " but ", n, " outputs"));
    const int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) return ctx.Error("split sizes must not be negative");
    total += s;
  }
  if (static_cast<int64_t>(sizes.size()) != n || total != dim) {
    return ctx.Error(kiln::StrCat("split sizes ", DimsToString(sizes), " do not cut dimension ", axis, " (", dim,
                                  ") into ", n, " outputs"));
  }
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    ctx.set_output(static_cast<int>(i), ctx.b().SliceInDim(x, start, start + sizes[i], 1, axis));
    start += sizes[i];
  }
  return absl::OkStatus();
}

absl::Status LowerTranspose(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  std::vector<int64_t> reversed;
  for (int64_t i = Rank(x) - 1; i >= 0; --i) reversed.push_back(i);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm, ctx.node().GetInts("perm", reversed));
  ctx.set_output(0, ctx.b().Transpose(x, perm));
  return absl::OkStatus();
}

absl::Status LowerIdentity(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  Value v{x, std::nullopt};
  if (absl::StatusOr<Tensor> c = ctx.constant(0); c.ok()) v.constant = *c;
  ctx.set_output(0, std::move(v));
  return absl::OkStatus();
}

// Cast of an f32 value to f32 (exporters emit these; they split clusters): the value itself. Casts
// between types stay with the kernels until clusters carry other element types.
absl::Status LowerCast(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t to, ctx.node().GetInt("to"));
  constexpr int64_t kOnnxFloat = 1;
  if (to != kOnnxFloat || x.shape().element_type() != PrimitiveType::F32) {
    return ctx.Unimplemented("Cast other than f32 to f32");
  }
  return LowerIdentity(ctx);
}

absl::Status LowerConstant(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor t, ctx.node().GetTensor("value"));
  KILN_ASSIGN_OR_RETURN(Op op, ConstantFromTensor(ctx.b(), t));
  ctx.set_output(0, Value{op, t});
  return absl::OkStatus();
}

absl::Status LowerPad(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::string mode, node.GetString("mode", std::string("constant")));
  if (mode != "constant") return ctx.Unimplemented(kiln::StrCat("Pad mode '", mode, "'"));
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(pads, ctx.constant_ints(1));
    if (ctx.has_input(2)) {
      KILN_ASSIGN_OR_RETURN(value, ctx.constant_scalar(2));
    }
  } else {
    KILN_ASSIGN_OR_RETURN(pads, node.GetInts("pads"));  // Opset < 11.
    KILN_ASSIGN_OR_RETURN(value, node.GetFloat("value", 0.0f));
  }
  const int64_t rank = Rank(x);
  std::vector<int64_t> axes;
  if (ctx.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> raw, ctx.constant_ints(3));
    for (int64_t a : raw) {
      KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, a, rank));
      axes.push_back(axis);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) {
    return ctx.Error(kiln::StrCat("pads has ", pads.size(), " values for ", axes.size(), " axes"));
  }
  hlo::PaddingConfig config(rank);
  for (size_t i = 0; i < axes.size(); ++i) {
    config[axes[i]].edge_padding_low = pads[i];
    config[axes[i]].edge_padding_high = pads[axes.size() + i];
  }
  ctx.set_output(0, ctx.b().Pad(x, ctx.b().ConstantR0<float>(value), config));
  return absl::OkStatus();
}

// Resize where every output element copies one input element and each resized axis repeats each
// input index an integer number of times in order (nearest upsampling by 2, 3, ...: output index o
// reads o / r): a broadcast to [d0, r0, d1, r1, ...] and a reshape, exact like the kernel's copies.
// The picks come from the runtime's own computation (kernels::ResizeAsPicks), so that any mode whose
// picks are such repeats lowers and any other (interpolation, downsampling, uneven picks) is refused
// and stays with the kernel.
absl::Status LowerResize(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  std::optional<Tensor> given[3];
  for (int i = 1; i <= 3; ++i) {
    if (!ctx.has_input(i)) continue;
    KILN_ASSIGN_OR_RETURN(Tensor t, ctx.constant(i));
    given[i - 1] = std::move(t);
  }
  auto ptr = [&](int i) { return given[i].has_value() ? &*given[i] : nullptr; };
  const std::vector<int64_t>& in = DimsOf(x);
  absl::StatusOr<std::optional<kernels::ResizePicks>> picks =
      kernels::ResizeAsPicks(ctx.node(), in, ptr(0), ptr(1), ptr(2));
  if (!picks.ok()) return ctx.Error(FromAbsl(picks.status().message()));
  if (!picks->has_value()) return ctx.Error("only a Resize whose outputs copy inputs (nearest) lowers");
  std::vector<int64_t> broadcast_dims, expanded, operand_dims;
  for (size_t ax = 0; ax < in.size(); ++ax) {
    const std::vector<int64_t>& pick = (*picks)->pick[ax];
    const int64_t out = (*picks)->out[ax];
    const int64_t repeat = in[ax] > 0 && out % in[ax] == 0 ? out / in[ax] : 0;
    for (int64_t o = 0; o < out; ++o) {
      if (repeat == 0 || pick[o] != o / repeat) {
        return ctx.Error(kiln::StrCat("axis ", ax, " picks input indices that are not each repeated equally in order; "
                                      "only integer nearest upsampling lowers"));
      }
    }
    operand_dims.push_back(static_cast<int64_t>(expanded.size()));
    expanded.push_back(in[ax]);
    expanded.push_back(repeat);
  }
  hlo::Builder& b = ctx.b();
  Op wide = b.BroadcastInDim(x, expanded, operand_dims);
  ctx.set_output(0, b.Reshape(wide, (*picks)->out));
  return absl::OkStatus();
}

// Slice with constant starts, ends, axes and steps: the runtime kernel's own plan
// (kernels::SlicePlan: negative indices, clamping), as one HLO slice. Negative steps and empty
// results stay with the kernel.
absl::Status LowerSlice(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> starts, ctx.constant_ints(1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ends, ctx.constant_ints(2));
  std::optional<std::vector<int64_t>> axes, steps;
  if (ctx.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(axes, ctx.constant_ints(3));
  }
  if (ctx.has_input(4)) {
    KILN_ASSIGN_OR_RETURN(steps, ctx.constant_ints(4));
  }
  absl::StatusOr<std::vector<kernels::SliceAxis>> plan = kernels::SlicePlan(DimsOf(x), starts, ends, axes, steps);
  if (!plan.ok()) return ctx.Error(FromAbsl(plan.status().message()));
  std::vector<int64_t> start, limit, stride;
  for (const kernels::SliceAxis& a : *plan) {
    if (a.step < 0) return ctx.Error("Slice with a negative step does not lower");
    if (a.length == 0) return ctx.Error("Slice with an empty result does not lower");
    start.push_back(a.start);
    limit.push_back(a.start + (a.length - 1) * a.step + 1);
    stride.push_back(a.step);
  }
  ctx.set_output(0, ctx.b().Slice(x, start, limit, stride));
  return absl::OkStatus();
}

// Expand with a constant shape: numpy broadcasting of X's dims against the shape (either side may
// be 1), as one broadcast.
absl::Status LowerExpand(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ctx.constant_ints(1));
  const std::vector<int64_t>& in = DimsOf(x);
  const size_t rank = std::max(in.size(), shape.size());
  std::vector<int64_t> out(rank), mapping(in.size());
  for (size_t i = 0; i < rank; ++i) {
    const int64_t a = i + in.size() >= rank ? in[i + in.size() - rank] : 1;
    const int64_t s = i + shape.size() >= rank ? shape[i + shape.size() - rank] : 1;
    if (a != s && a != 1 && s != 1) {
      return ctx.Error(kiln::StrCat("shape ", DimsToString(shape), " does not broadcast with X's ", DimsToString(in)));
    }
    out[i] = a == 1 ? s : a;
    if (out[i] <= 0) return ctx.Error("Expand to an empty or negative extent does not lower");
  }
  for (size_t i = 0; i < in.size(); ++i) mapping[i] = static_cast<int64_t>(rank - in.size() + i);
  ctx.set_output(0, out == in ? x : ctx.b().BroadcastInDim(x, out, mapping));
  return absl::OkStatus();
}

// Tile with constant repeats: a broadcast to [r0, d0, r1, d1, ...] (output index i reads input index
// i mod d) and a reshape, exact like the kernel's copies.
absl::Status LowerTile(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, ctx.constant_ints(1));
  const std::vector<int64_t>& in = DimsOf(x);
  if (repeats.size() != in.size()) return ctx.Error("repeats must hold one value per dimension of X");
  std::vector<int64_t> wide, mapping, out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (repeats[i] <= 0 || in[i] == 0) return ctx.Error("Tile to an empty result does not lower");
    wide.push_back(repeats[i]);
    mapping.push_back(static_cast<int64_t>(wide.size()));
    wide.push_back(in[i]);
    out.push_back(repeats[i] * in[i]);
  }
  ctx.set_output(0, ctx.b().Reshape(ctx.b().BroadcastInDim(x, wide, mapping), out));
  return absl::OkStatus();
}

// Dropout in inference (no training_mode input, or a constant false one) is its input; the optional
// mask output (bool) stays with the kernel.
absl::Status LowerDropout(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  const Node& node = ctx.node();
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return ctx.Error("Dropout's mask output does not lower");
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> training, ctx.constant_ints(2));
    if (training.size() != 1 || training[0] != 0) return ctx.Error("Dropout in training mode does not lower");
  }
  ctx.set_output(0, x);
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
