#include "jit/lower.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/hlo/builder.h"
#include "kiln/support/status.h"

namespace kiln::jit {
namespace {

using hlo::Op;
using hlo::PrimitiveType;

absl::StatusOr<PrimitiveType> ToPrimitiveType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return PrimitiveType::F32;
    case DType::kF16: return PrimitiveType::F16;
    case DType::kBF16: return PrimitiveType::BF16;
    case DType::kS8: return PrimitiveType::S8;
    case DType::kU8: return PrimitiveType::U8;
    case DType::kS32: return PrimitiveType::S32;
    case DType::kS64: return PrimitiveType::S64;
    case DType::kBool: return PrimitiveType::PRED;
    case DType::kF64: return PrimitiveType::F64;
    case DType::kS16: return PrimitiveType::S16;
    case DType::kU16: return PrimitiveType::U16;
    case DType::kU32: return PrimitiveType::U32;
    case DType::kU64: return PrimitiveType::U64;
    case DType::kInvalid: break;
  }
  return absl::InvalidArgumentError("a value of invalid dtype cannot be lowered to HLO");
}

// A runtime value during lowering: its HLO op (created lazily for constants) and, for compile-time
// constants, the tensor itself (read by ops whose attributes arrive as inputs).
struct Value {
  Op op;
  std::optional<Tensor> constant;
};

// What an op lowering sees: the builder, the node and its inputs.
class LowerContext {
 public:
  LowerContext(hlo::Builder& b, const Node& node, std::vector<Value*> inputs)
      : b_(b), node_(node), inputs_(std::move(inputs)) {}

  hlo::Builder& b() { return b_; }
  const Node& node() const { return node_; }
  bool has_input(int i) const { return i < static_cast<int>(inputs_.size()) && inputs_[i] != nullptr; }

  // Input i as an HLO op (a constant input becomes an HLO constant on first use).
  absl::StatusOr<Op> input(int i) {
    if (!has_input(i)) return Error(absl::StrCat("input ", i, " is missing"));
    Value& v = *inputs_[i];
    if (!v.op.valid() && v.constant.has_value()) {
      KILN_ASSIGN_OR_RETURN(PrimitiveType type, ToPrimitiveType(v.constant->dtype()));
      hlo::Shape shape(type, v.constant->dims());
      KILN_ASSIGN_OR_RETURN(hlo::Literal literal,
                       hlo::Literal::CreateFromBytes(shape, v.constant->raw_data(), v.constant->byte_size()));
      v.op = b_.ConstantLiteral(std::move(literal));
    }
    if (!v.op.valid()) return Error(absl::StrCat("input ", i, " ('", node_.inputs[i], "') has no value"));
    return v.op;
  }
  // Input i's value, which must be a compile-time constant.
  absl::StatusOr<Tensor> constant(int i) {
    if (!has_input(i) || !inputs_[i]->constant.has_value()) {
      return Error(absl::StrCat("input ", i, (has_input(i) ? absl::StrCat(" ('", node_.inputs[i], "')") : ""),
                                " must be a compile-time constant (an initializer or Constant output)"));
    }
    return *inputs_[i]->constant;
  }
  absl::StatusOr<std::vector<int64_t>> constant_ints(int i) {
    KILN_ASSIGN_OR_RETURN(Tensor t, constant(i));
    std::vector<int64_t> v(t.num_elements());
    for (int64_t k = 0; k < t.num_elements(); ++k) v[k] = t.GetAsInt64(k);
    return v;
  }
  absl::StatusOr<float> constant_scalar(int i) {
    KILN_ASSIGN_OR_RETURN(Tensor t, constant(i));
    if (t.num_elements() != 1) return Error(absl::StrCat("input ", i, " must be a scalar"));
    return static_cast<float>(t.GetAsDouble(0));
  }

  void set_output(int i, Op op) { outputs_[i] = Value{op, std::nullopt}; }
  void set_output(int i, Value v) { outputs_[i] = std::move(v); }
  std::map<int, Value>& outputs() { return outputs_; }

  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(node_.op, " node '", node_.name, "': ", message));
  }
  absl::Status Unimplemented(absl::string_view message) const {
    return absl::UnimplementedError(
        absl::StrCat(node_.op, " node '", node_.name, "': ", message, " is not lowered to HLO"));
  }

 private:
  hlo::Builder& b_;
  const Node& node_;
  std::vector<Value*> inputs_;
  std::map<int, Value> outputs_;
};

const std::vector<int64_t>& DimsOf(Op op) { return op.shape().dimensions(); }
int64_t Rank(Op op) { return op.shape().rank(); }

// ONNX axis (negative counts from the end) into [0, rank).
absl::StatusOr<int64_t> NormalizeAxis(LowerContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return ctx.Error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// ONNX multidirectional (numpy) broadcasting of two operands, as explicit XLA broadcasts.
absl::StatusOr<std::pair<Op, Op>> BroadcastPair(LowerContext& ctx, Op a, Op b) {
  const std::vector<int64_t>& da = DimsOf(a);
  const std::vector<int64_t>& db = DimsOf(b);
  const size_t rank = std::max(da.size(), db.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i + da.size() >= rank ? da[i + da.size() - rank] : 1;
    int64_t y = i + db.size() >= rank ? db[i + db.size() - rank] : 1;
    if (x != y && x != 1 && y != 1) {
      return ctx.Error(absl::StrCat("shapes ", DimsToString(da), " and ", DimsToString(db),
                                    " do not broadcast"));
    }
    out[i] = x == 1 ? y : x;
  }
  auto expand = [&](Op op, const std::vector<int64_t>& d) {
    if (d == out) return op;
    std::vector<int64_t> mapping(d.size());
    for (size_t i = 0; i < d.size(); ++i) mapping[i] = static_cast<int64_t>(rank - d.size() + i);
    return ctx.b().BroadcastInDim(op, out, mapping);
  };
  return std::make_pair(expand(a, da), expand(b, db));
}

// Max and Min are variadic (one or more inputs): folded left to right with broadcasting.
absl::Status LowerBinary(LowerContext& ctx, hlo::Opcode opcode) {
  const size_t n = ctx.node().inputs.size();
  const bool variadic = opcode == hlo::Opcode::kMaximum || opcode == hlo::Opcode::kMinimum;
  if (n == 0 || (!variadic && n != 2)) {
    return ctx.Unimplemented(absl::StrCat(ctx.node().op, " with ", n, " inputs"));
  }
  KILN_ASSIGN_OR_RETURN(Op acc, ctx.input(0));
  for (size_t i = 1; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(Op b, ctx.input(static_cast<int>(i)));
    KILN_ASSIGN_OR_RETURN(auto pair, BroadcastPair(ctx, acc, b));
    acc = ctx.b().Binary(opcode, pair.first, pair.second);
  }
  ctx.set_output(0, acc);
  return absl::OkStatus();
}

absl::Status LowerUnary(LowerContext& ctx, hlo::Opcode opcode) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  ctx.set_output(0, ctx.b().Unary(opcode, x));
  return absl::OkStatus();
}

absl::Status LowerRelu(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  ctx.set_output(0, ctx.b().Max(x, ctx.b().ConstantR0<float>(0.0f)));
  return absl::OkStatus();
}

absl::Status LowerClip(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  std::optional<float> lo, hi;
  // Opset < 11 carries the bounds as attributes, later opsets as optional constant inputs.
  if (ctx.node().HasAttr("min")) {
    KILN_ASSIGN_OR_RETURN(lo, ctx.node().GetFloat("min"));
  }
  if (ctx.node().HasAttr("max")) {
    KILN_ASSIGN_OR_RETURN(hi, ctx.node().GetFloat("max"));
  }
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(lo, ctx.constant_scalar(1));
  }
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(hi, ctx.constant_scalar(2));
  }
  hlo::Builder& b = ctx.b();
  Op y = x;
  if (lo.has_value() && hi.has_value()) {
    y = b.Clamp(b.ConstantR0<float>(*lo), x, b.ConstantR0<float>(*hi));
  } else if (lo.has_value()) {
    y = b.Max(x, b.ConstantR0<float>(*lo));
  } else if (hi.has_value()) {
    y = b.Min(x, b.ConstantR0<float>(*hi));
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

// Per spatial dimension: explicit pads, or those that auto_pad implies.
struct SpatialWindow {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<hlo::PaddingPair> padding;
};

absl::StatusOr<SpatialWindow> ReadWindow(LowerContext& ctx, const std::vector<int64_t>& input_dims,
                                         std::vector<int64_t> kernel) {
  const Node& node = ctx.node();
  const size_t n = input_dims.size() - 2;
  SpatialWindow w;
  w.kernel = std::move(kernel);
  if (w.kernel.size() != n) {
    return ctx.Error(absl::StrCat("kernel has ", w.kernel.size(), " spatial dims, input has ", n));
  }
  KILN_ASSIGN_OR_RETURN(w.strides, node.GetInts("strides", std::vector<int64_t>(n, 1)));
  KILN_ASSIGN_OR_RETURN(w.dilations, node.GetInts("dilations", std::vector<int64_t>(n, 1)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> pads, node.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
  KILN_ASSIGN_OR_RETURN(std::string auto_pad, node.GetString("auto_pad", std::string("NOTSET")));
  if (w.strides.size() != n || w.dilations.size() != n || pads.size() != 2 * n) {
    return ctx.Error("strides, dilations or pads do not match the number of spatial dims");
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t in = input_dims[2 + i];
    int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - in);
      int64_t small = total / 2;
      w.padding.push_back(auto_pad == "SAME_UPPER" ? hlo::PaddingPair{small, total - small}
                                                   : hlo::PaddingPair{total - small, small});
    } else if (auto_pad == "VALID") {
      w.padding.push_back({0, 0});
    } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
      w.padding.push_back({pads[i], pads[n + i]});
    } else {
      return ctx.Error(absl::StrCat("unknown auto_pad '", auto_pad, "'"));
    }
  }
  return w;
}

absl::Status LowerConv(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op w, ctx.input(1));
  if (Rank(x) < 3 || Rank(w) != Rank(x)) return ctx.Error("Conv needs input and weights of equal rank >= 3");
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(int64_t group, node.GetInt("group", 1));
  std::vector<int64_t> kernel(DimsOf(w).begin() + 2, DimsOf(w).end());
  KILN_ASSIGN_OR_RETURN(SpatialWindow win, ReadWindow(ctx, DimsOf(x), kernel));
  hlo::Builder& b = ctx.b();
  Op y = b.ConvGeneralDilated(x, w, win.strides, win.padding, {}, win.dilations,
                              hlo::ConvolutionDimensionNumbers::Nchw(Rank(x) - 2), group);
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(Op bias, ctx.input(2));
    y = b.Add(y, bias, {1});
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

absl::Status LowerGemm(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op a, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op bm, ctx.input(1));
  KILN_ASSIGN_OR_RETURN(float alpha, node.GetFloat("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(float beta, node.GetFloat("beta", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t trans_a, node.GetInt("transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t trans_b, node.GetInt("transB", 0));
  if (Rank(a) != 2 || Rank(bm) != 2) return ctx.Error("Gemm needs rank-2 A and B");
  hlo::Builder& b = ctx.b();
  hlo::DotDimensionNumbers dnums;
  dnums.lhs_contracting_dimensions = {trans_a ? 0 : 1};
  dnums.rhs_contracting_dimensions = {trans_b ? 1 : 0};
  Op y = b.DotGeneral(a, bm, dnums);
  if (alpha != 1.0f) y = b.Mul(y, b.ConstantR0<float>(alpha));
  if (ctx.has_input(2) && beta != 0.0f) {
    KILN_ASSIGN_OR_RETURN(Op c, ctx.input(2));
    if (beta != 1.0f) c = b.Mul(c, b.ConstantR0<float>(beta));
    KILN_ASSIGN_OR_RETURN(auto pair, BroadcastPair(ctx, y, c));
    if (DimsOf(pair.first) != DimsOf(y)) return ctx.Error("Gemm's C does not broadcast to [M, N]");
    y = b.Add(pair.first, pair.second);
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

absl::Status LowerMatMul(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op a, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op bm, ctx.input(1));
  hlo::Builder& b = ctx.b();
  std::vector<int64_t> da = DimsOf(a), db = DimsOf(bm);
  if (da.empty() || db.empty()) return ctx.Error("MatMul operands must have rank >= 1");
  // numpy matmul: a vector operand gains a unit dim that the result drops again.
  const bool a_vector = da.size() == 1, b_vector = db.size() == 1;
  if (a_vector) {
    da.insert(da.begin(), 1);
    a = b.Reshape(a, da);
  }
  if (b_vector) {
    db.push_back(1);
    bm = b.Reshape(bm, db);
  }
  if (da[da.size() - 1] != db[db.size() - 2]) {
    return ctx.Error(absl::StrCat("MatMul inner dims differ: ", DimsToString(da), " x ", DimsToString(db)));
  }
  const size_t nb = std::max(da.size(), db.size()) - 2;
  std::vector<int64_t> batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    int64_t x = i + da.size() - 2 >= nb ? da[i + da.size() - 2 - nb] : 1;
    int64_t y = i + db.size() - 2 >= nb ? db[i + db.size() - 2 - nb] : 1;
    if (x != y && x != 1 && y != 1) return ctx.Error("MatMul batch dims do not broadcast");
    batch[i] = x == 1 ? y : x;
  }
  auto expand = [&](Op op, const std::vector<int64_t>& d) {
    std::vector<int64_t> out = batch;
    out.push_back(d[d.size() - 2]);
    out.push_back(d[d.size() - 1]);
    if (out == d) return op;
    std::vector<int64_t> mapping(d.size());
    for (size_t i = 0; i < d.size(); ++i) mapping[i] = static_cast<int64_t>(out.size() - d.size() + i);
    return b.BroadcastInDim(op, out, mapping);
  };
  a = expand(a, da);
  bm = expand(bm, db);
  hlo::DotDimensionNumbers dnums;
  for (size_t i = 0; i < nb; ++i) {
    dnums.lhs_batch_dimensions.push_back(i);
    dnums.rhs_batch_dimensions.push_back(i);
  }
  dnums.lhs_contracting_dimensions = {static_cast<int64_t>(nb + 1)};
  dnums.rhs_contracting_dimensions = {static_cast<int64_t>(nb)};
  Op y = b.DotGeneral(a, bm, dnums);
  if (a_vector || b_vector) {
    std::vector<int64_t> out = batch;
    if (!a_vector) out.push_back(da[da.size() - 2]);
    if (!b_vector) out.push_back(db[db.size() - 1]);
    y = b.Reshape(y, out);
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

// Output extent of a pooling window along one dim, with ONNX's ceil_mode.
int64_t PoolOutput(int64_t padded, int64_t extent, int64_t stride, bool ceil_mode) {
  int64_t span = padded - extent;
  return (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
}

absl::Status LowerMaxPool(LowerContext& ctx) {
  const Node& node = ctx.node();
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
    return ctx.Unimplemented("MaxPool's Indices output");
  }
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.GetInts("kernel_shape"));
  KILN_ASSIGN_OR_RETURN(SpatialWindow win, ReadWindow(ctx, DimsOf(x), kernel));
  KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, node.GetInt("ceil_mode", 0));
  const std::vector<int64_t>& d = DimsOf(x);
  std::vector<int64_t> window = {1, 1}, strides = {1, 1}, dilations = {1, 1};
  std::vector<hlo::PaddingPair> padding = {{0, 0}, {0, 0}};
  for (size_t i = 0; i < kernel.size(); ++i) {
    int64_t extent = (kernel[i] - 1) * win.dilations[i] + 1;
    int64_t padded = d[2 + i] + win.padding[i].first + win.padding[i].second;
    int64_t out = PoolOutput(padded, extent, win.strides[i], ceil_mode != 0);
    // As ONNX (and the MaxPool kernel): a last ceil_mode window that would start in the end
    // padding is dropped.
    if (ceil_mode != 0 && (out - 1) * win.strides[i] >= d[2 + i] + win.padding[i].first) --out;
    // ceil_mode's last window may start inside the padded input and run past it: pad more with
    // -inf, which max ignores.
    int64_t needed = (out - 1) * win.strides[i] + extent;
    window.push_back(kernel[i]);
    strides.push_back(win.strides[i]);
    dilations.push_back(win.dilations[i]);
    padding.push_back({win.padding[i].first, win.padding[i].second + std::max<int64_t>(0, needed - padded)});
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
  KILN_ASSIGN_OR_RETURN(SpatialWindow win, ReadWindow(ctx, DimsOf(x), kernel));
  KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, node.GetInt("ceil_mode", 0));
  KILN_ASSIGN_OR_RETURN(int64_t count_include_pad, node.GetInt("count_include_pad", 0));
  if (ceil_mode != 0) return ctx.Unimplemented("AveragePool with ceil_mode=1");
  const std::vector<int64_t>& d = DimsOf(x);
  const size_t n = kernel.size();
  std::vector<int64_t> window = {1, 1}, strides = {1, 1}, dilations = {1, 1};
  std::vector<hlo::PaddingPair> padding = {{0, 0}, {0, 0}};
  // Per spatial dim, how many window taps fall inside the input (or inside the padded input).
  std::vector<std::vector<int64_t>> counts(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t extent = (kernel[i] - 1) * win.dilations[i] + 1;
    auto [lo, hi] = win.padding[i];
    int64_t out = PoolOutput(d[2 + i] + lo + hi, extent, win.strides[i], false);
    for (int64_t o = 0; o < out; ++o) {
      int64_t start = o * win.strides[i] - lo, count = 0;
      for (int64_t k = 0; k < kernel[i]; ++k) {
        int64_t pos = start + k * win.dilations[i];
        bool inside = count_include_pad ? (pos >= -lo && pos < d[2 + i] + hi) : (pos >= 0 && pos < d[2 + i]);
        count += inside ? 1 : 0;
      }
      counts[i].push_back(count);
    }
    window.push_back(kernel[i]);
    strides.push_back(win.strides[i]);
    dilations.push_back(win.dilations[i]);
    padding.push_back(win.padding[i]);
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

// Sum over `dims` (kept as size-1 dims when keep_dims), divided by their element count.
Op MeanOver(hlo::Builder& b, Op x, const std::vector<int64_t>& dims, bool keep_dims) {
  std::vector<int64_t> in = DimsOf(x);
  int64_t count = 1;
  for (int64_t dim : dims) count *= in[dim];
  Op sum = b.Reduce(x, b.ConstantR0<float>(0.0f), b.ScalarComputation(hlo::Opcode::kAdd, PrimitiveType::F32),
                    dims);
  Op mean = b.Div(sum, b.ConstantR0<float>(static_cast<float>(count)));
  if (!keep_dims) return mean;
  for (int64_t dim : dims) in[dim] = 1;
  return b.Reshape(mean, in);
}

absl::Status LowerGlobalAveragePool(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  if (Rank(x) < 3) return ctx.Error("GlobalAveragePool needs rank >= 3");
  std::vector<int64_t> spatial;
  for (int64_t i = 2; i < Rank(x); ++i) spatial.push_back(i);
  ctx.set_output(0, MeanOver(ctx.b(), x, spatial, true));
  return absl::OkStatus();
}

absl::Status LowerReduceMean(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t keep_dims, node.GetInt("keepdims", 1));
  KILN_ASSIGN_OR_RETURN(int64_t noop_with_empty_axes, node.GetInt("noop_with_empty_axes", 0));
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(axes, ctx.constant_ints(1));  // Opset 18: axes as an input.
  } else {
    KILN_ASSIGN_OR_RETURN(axes, node.GetInts("axes", std::vector<int64_t>{}));
  }
  if (axes.empty()) {
    if (noop_with_empty_axes) {
      ctx.set_output(0, x);
      return absl::OkStatus();
    }
    for (int64_t i = 0; i < Rank(x); ++i) axes.push_back(i);
  }
  std::set<int64_t> unique;
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, a, Rank(x)));
    unique.insert(axis);
  }
  ctx.set_output(0, MeanOver(ctx.b(), x, std::vector<int64_t>(unique.begin(), unique.end()), keep_dims != 0));
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
    if (target[i] < 0) return ctx.Error(absl::StrCat("shape has negative dim ", target[i]));
    known *= target[i];
  }
  const int64_t total = NumElements(in);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      return ctx.Error(absl::StrCat("cannot reshape ", DimsToString(in), " to ", DimsToString(target)));
    }
    target[infer] = total / known;
  }
  if (NumElements(target) != total) {
    return ctx.Error(absl::StrCat("cannot reshape ", DimsToString(in), " to ", DimsToString(target)));
  }
  ctx.set_output(0, ctx.b().Reshape(x, target));
  return absl::OkStatus();
}

absl::Status LowerFlatten(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 1));
  const int64_t rank = Rank(x);
  if (axis_attr < -rank || axis_attr > rank) return ctx.Error(absl::StrCat("axis ", axis_attr, " out of range"));
  int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= DimsOf(x)[i];
  ctx.set_output(0, ctx.b().Reshape(x, {outer, inner}));
  return absl::OkStatus();
}

// softmax along `axis` of x.
Op SoftmaxAlong(hlo::Builder& b, Op x, int64_t axis) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < Rank(x); ++i) {
    if (i != axis) kept.push_back(i);
  }
  Op max = b.Reduce(x, b.ConstantR0<float>(-std::numeric_limits<float>::infinity()),
                    b.ScalarComputation(hlo::Opcode::kMaximum, PrimitiveType::F32), {axis});
  Op e = b.Exp(b.Sub(x, max, kept));
  Op sum = b.Reduce(e, b.ConstantR0<float>(0.0f), b.ScalarComputation(hlo::Opcode::kAdd, PrimitiveType::F32),
                    {axis});
  return b.Div(e, sum, kept);
}

absl::Status LowerSoftmax(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t coerce_2d, ctx.node().GetInt("coerce_2d", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", coerce_2d ? 1 : -1));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, axis_attr, std::max<int64_t>(Rank(x), 1)));
  hlo::Builder& b = ctx.b();
  if (Rank(x) == 0) return ctx.Error("Softmax needs rank >= 1");
  if (!coerce_2d) {
    ctx.set_output(0, SoftmaxAlong(b, x, axis));
    return absl::OkStatus();
  }
  // Opset < 13: softmax of the input flattened to 2-D at `axis`.
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < Rank(x); ++i) (i < axis ? outer : inner) *= DimsOf(x)[i];
  Op y = SoftmaxAlong(b, b.Reshape(x, {outer, inner}), 1);
  ctx.set_output(0, b.Reshape(y, DimsOf(x)));
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

absl::Status LowerConstant(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Tensor t, ctx.node().GetTensor("value"));
  KILN_ASSIGN_OR_RETURN(PrimitiveType type, ToPrimitiveType(t.dtype()));
  KILN_ASSIGN_OR_RETURN(hlo::Literal literal,
                   hlo::Literal::CreateFromBytes(hlo::Shape(type, t.dims()), t.raw_data(), t.byte_size()));
  ctx.set_output(0, Value{ctx.b().ConstantLiteral(std::move(literal)), t});
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

absl::Status LowerPad(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::string mode, node.GetString("mode", std::string("constant")));
  if (mode != "constant") return ctx.Unimplemented(absl::StrCat("Pad mode '", mode, "'"));
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
    return ctx.Error(absl::StrCat("pads has ", pads.size(), " values for ", axes.size(), " axes"));
  }
  hlo::PaddingConfig config(rank);
  for (size_t i = 0; i < axes.size(); ++i) {
    config[axes[i]].edge_padding_low = pads[i];
    config[axes[i]].edge_padding_high = pads[axes.size() + i];
  }
  ctx.set_output(0, ctx.b().Pad(x, ctx.b().ConstantR0<float>(value), config));
  return absl::OkStatus();
}

using LowerFn = std::function<absl::Status(LowerContext&)>;

const std::map<std::string, LowerFn>& LoweringTable() {
  static const auto* table = new std::map<std::string, LowerFn>{
      {"Add", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kAdd); }},
      {"Sub", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kSubtract); }},
      {"Mul", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kMultiply); }},
      {"Div", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kDivide); }},
      {"Max", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kMaximum); }},
      {"Min", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kMinimum); }},
      {"Relu", LowerRelu},
      {"Clip", LowerClip},
      {"Sigmoid", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kLogistic); }},
      {"Tanh", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kTanh); }},
      {"Exp", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kExp); }},
      {"Sqrt", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kSqrt); }},
      {"Neg", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kNegate); }},
      {"Abs", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kAbs); }},
      {"Conv", LowerConv},
      {"Gemm", LowerGemm},
      {"MatMul", LowerMatMul},
      {"MaxPool", LowerMaxPool},
      {"AveragePool", LowerAveragePool},
      {"GlobalAveragePool", LowerGlobalAveragePool},
      {"ReduceMean", LowerReduceMean},
      {"Reshape", LowerReshape},
      {"Flatten", LowerFlatten},
      {"Softmax", LowerSoftmax},
      {"Concat", LowerConcat},
      {"Transpose", LowerTranspose},
      {"Identity", LowerIdentity},
      {"Constant", LowerConstant},
      {"BatchNormalization", LowerBatchNormalization},
      {"Pad", LowerPad},
  };
  return *table;
}

}  // namespace

bool HasLowering(const std::string& op) { return LoweringTable().count(op) > 0; }

absl::StatusOr<std::unique_ptr<hlo::Module>> LowerGraph(const Graph& graph, const std::string& module_name,
                                                        const std::vector<kiln::Dims>& input_dims) {
  if (!input_dims.empty() && input_dims.size() != graph.inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("lowering graph '", graph.name, "': ", input_dims.size(),
                                                   " input shapes for ", graph.inputs.size(), " inputs"));
  }
  if (graph.outputs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("lowering graph '", graph.name, "': it has no outputs"));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  hlo::Builder b(module_name);
  std::map<std::string, Value> values;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo& in = graph.inputs[i];
    const kiln::Dims& dims = input_dims.empty() ? in.dims : input_dims[i];
    if (!in.has_shape || NumElements(dims) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("lowering graph '", graph.name, "': input '", in.name,
                                                     "' has unknown dims ", DimsToString(dims)));
    }
    KILN_ASSIGN_OR_RETURN(PrimitiveType type, ToPrimitiveType(in.dtype));
    values[in.name].op = b.Parameter(static_cast<int64_t>(i), hlo::Shape(type, dims), in.name);
  }
  for (const auto& [name, tensor] : graph.initializers) {
    if (values.count(name)) continue;  // A fed input shadows its default.
    values[name].constant = tensor;
  }
  for (int index : order) {
    const Node& node = graph.nodes[index];
    auto fn = LoweringTable().find(node.op);
    if (fn == LoweringTable().end()) {
      return absl::UnimplementedError(
          absl::StrCat(node.op, " node '", node.name, "': op ", node.op, " has no lowering to HLO"));
    }
    std::vector<Value*> inputs;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      auto it = values.find(in);
      if (it == values.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(node.op, " node '", node.name, "' reads '", in, "', which has no value"));
      }
      inputs.push_back(&it->second);
    }
    LowerContext ctx(b, node, std::move(inputs));
    KILN_RETURN_IF_ERROR(fn->second(ctx));
    if (absl::Status s = b.first_error(); !s.ok()) {
      return Annotate(s, absl::StrCat("lowering ", node.op, " node '", node.name, "'"));
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      auto it = ctx.outputs().find(static_cast<int>(i));
      if (it == ctx.outputs().end()) {
        return absl::InternalError(absl::StrCat(node.op, " node '", node.name, "': lowering gave no output ", i));
      }
      values[node.outputs[i]] = std::move(it->second);
    }
  }
  std::vector<Op> results;
  for (const ValueInfo& out : graph.outputs) {
    auto it = values.find(out.name);
    if (it == values.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("lowering graph '", graph.name, "': output '", out.name, "' has no value"));
    }
    Value& v = it->second;
    if (!v.op.valid() && v.constant.has_value()) {
      KILN_ASSIGN_OR_RETURN(PrimitiveType type, ToPrimitiveType(v.constant->dtype()));
      KILN_ASSIGN_OR_RETURN(hlo::Literal literal,
                       hlo::Literal::CreateFromBytes(hlo::Shape(type, v.constant->dims()), v.constant->raw_data(),
                                                     v.constant->byte_size()));
      v.op = b.ConstantLiteral(std::move(literal));
    }
    results.push_back(v.op);
  }
  Op root = results.size() == 1 ? results[0] : b.Tuple(results);
  absl::StatusOr<std::unique_ptr<hlo::Module>> module = b.Build(root);
  if (!module.ok()) return Annotate(module.status(), absl::StrCat("lowering graph '", graph.name, "'"));
  return module;
}

std::vector<std::string> UnsupportedInstructions(const hlo::Module& module, const backends::Backend& backend) {
  std::vector<std::string> unsupported;
  std::set<std::string> seen;
  for (const hlo::Computation* computation : module.MakeComputationPostOrder()) {
    for (const hlo::Instruction* instruction : computation->instructions()) {
      if (backend.IsOpSupported(*instruction)) continue;
      std::string text = absl::StrCat(std::string(hlo::OpcodeString(instruction->opcode())), " ",
                                      instruction->shape().ToString(false));
      if (seen.insert(text).second) unsupported.push_back(text);
    }
  }
  return unsupported;
}

}  // namespace kiln::jit
