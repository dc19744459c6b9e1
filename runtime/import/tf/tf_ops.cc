// Per-op translations from TensorFlow ops to Kiln's op set. NHWC convolutions, pools and resizes
// become the Nhwc* ops (runtime/kernels/nhwc_ops.cc), so channels-last graphs need no transposes.
// docs/importers.md has the table.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"
#include "runtime/import/onnx/onnx_tensor.h"
#include "runtime/import/tf/tf_converter.h"

namespace kiln::tf_import {
namespace {

using Attrs = std::map<std::string, AttrValue>;
constexpr int64_t kMaxI64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinI64 = std::numeric_limits<int64_t>::min();
// Indices beyond this are refused rather than risk overflow in index arithmetic.
constexpr int64_t kMaxIndex = int64_t{1} << 62;
// The most outputs an Unpack may have (bounds what a corrupt graph can make the importer build).
constexpr int64_t kMaxUnpack = int64_t{1} << 16;

int64_t OnnxType(DType d) { return onnx_import::OnnxTypeFromDType(d); }

std::string Hint(const NodeContext& c, const std::string& what) { return kiln::StrCat(c.node().name(), "/", what); }

std::string I64Const(NodeContext& c, const std::string& what, const std::vector<int64_t>& v) {
  return c.converter().AddConst(Hint(c, what), Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v));
}

std::string F32Scalar(NodeContext& c, const std::string& what, float v) {
  return c.converter().AddConst(Hint(c, what), Tensor::Scalar<float>(v));
}

absl::StatusOr<std::string> Emit1(NodeContext& c, const std::string& op, std::vector<std::string> inputs,
                                  Attrs attrs = {}, const std::string& output = "") {
  return c.converter().Emit1(op, output.empty() ? Hint(c, op) : output, std::move(inputs), std::move(attrs), output);
}

absl::Status CheckInputs(const NodeContext& c, int min, int max) {
  if (c.num_inputs() < min || c.num_inputs() > max) {
    return c.Error(kiln::StrCat("has ", c.num_inputs(), " data inputs; expected ",
                                min == max ? kiln::StrCat(min) : kiln::StrCat(min, " to ", max)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> KnownRank(const NodeContext& c, int i) {
  const TensorType& t = c.input_type(i);
  if (!t.rank_known) return c.Unsupported(kiln::StrCat("the rank of input ", i, " ('", c.input(i), "') is unknown"));
  return static_cast<int>(t.dims.size());
}

// Emits `activation` (a TensorFlow op name) applied to `x` into `output`.
absl::StatusOr<std::string> EmitActivation(NodeContext& c, const std::string& act, const std::string& x,
                                           float alpha, const std::string& output) {
  if (act == "Relu" || act == "Sigmoid" || act == "Tanh") return Emit1(c, act, {x}, {}, output);
  if (act == "Relu6") {
    return Emit1(c, "Clip", {x, F32Scalar(c, "zero", 0.0f), F32Scalar(c, "six", 6.0f)}, {}, output);
  }
  if (act == "Elu") return Emit1(c, "Elu", {x}, {{"alpha", 1.0f}}, output);
  if (act == "LeakyRelu") return Emit1(c, "LeakyRelu", {x}, {{"alpha", alpha}}, output);
  return c.Unsupported(kiln::StrCat("fused activation '", act, "' is not supported"));
}

bool IsActivation(const std::string& op) {
  return op == "Relu" || op == "Relu6" || op == "Elu" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh";
}

// A per-channel vector `v` shaped to broadcast against NCHW (rank-4) values: [C,1,1].
absl::StatusOr<std::string> ChannelVector(NodeContext& c, const std::string& v, bool nchw) {
  if (!nchw) return v;
  return Emit1(c, "Unsqueeze", {v, I64Const(c, "hw_axes", {1, 2})});
}

// The fused ops after the convolution / matmul: `ops` from the node's fused_ops, whose operands
// are the node's inputs from `arg`. Applies them to `y` and writes the result into out(0).
absl::Status EmitFusedTail(NodeContext& c, std::string y, const std::vector<std::string>& ops, size_t first,
                           int arg, bool nchw) {
  KILN_ASSIGN_OR_RETURN(float alpha, c.attr_float("leakyrelu_alpha", 0.2f));
  if (first == ops.size()) {
    KILN_ASSIGN_OR_RETURN(std::string r, Emit1(c, "Identity", {y}, {}, c.out(0)));
    return absl::OkStatus();
  }
  for (size_t k = first; k < ops.size(); ++k) {
    const std::string& op = ops[k];
    const std::string target = k + 1 == ops.size() ? c.out(0) : "";
    if (op == "BiasAdd") {
      if (arg >= c.num_inputs()) return c.Error("fused BiasAdd has no bias input");
      KILN_ASSIGN_OR_RETURN(std::string b, ChannelVector(c, c.input(arg++), nchw));
      KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Add", {y, b}, {}, target));
    } else if (op == "Add") {
      if (arg >= c.num_inputs()) return c.Error("fused Add has no operand");
      KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Add", {y, c.input(arg++)}, {}, target));
    } else if (op == "FusedBatchNorm") {
      if (arg + 4 > c.num_inputs()) return c.Error("fused FusedBatchNorm needs scale, offset, mean and variance");
      KILN_ASSIGN_OR_RETURN(float eps, c.attr_float("epsilon", 1e-3f));
      const std::string scale = c.input(arg), offset = c.input(arg + 1), mean = c.input(arg + 2),
                        var = c.input(arg + 3);
      arg += 4;
      // y * k + (offset - mean * k) with k = scale / sqrt(var + eps).
      KILN_ASSIGN_OR_RETURN(std::string ve, Emit1(c, "Add", {var, F32Scalar(c, "epsilon", eps)}));
      KILN_ASSIGN_OR_RETURN(std::string sd, Emit1(c, "Sqrt", {ve}));
      KILN_ASSIGN_OR_RETURN(std::string k0, Emit1(c, "Div", {scale, sd}));
      KILN_ASSIGN_OR_RETURN(std::string mk, Emit1(c, "Mul", {mean, k0}));
      KILN_ASSIGN_OR_RETURN(std::string b0, Emit1(c, "Sub", {offset, mk}));
      KILN_ASSIGN_OR_RETURN(std::string kv, ChannelVector(c, k0, nchw));
      KILN_ASSIGN_OR_RETURN(std::string bv, ChannelVector(c, b0, nchw));
      KILN_ASSIGN_OR_RETURN(std::string scaled, Emit1(c, "Mul", {y, kv}));
      KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Add", {scaled, bv}, {}, target));
    } else if (IsActivation(op)) {
      KILN_ASSIGN_OR_RETURN(y, EmitActivation(c, op, y, alpha, target));
    } else {
      return c.Unsupported(kiln::StrCat("fused op '", op, "' is not supported"));
    }
  }
  return absl::OkStatus();
}

// ---- Convolutions --------------------------------------------------------------------------------

struct Conv2DGeometry {
  bool nchw = false;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
};

// Reads strides / dilations / padding in the node's data format as ONNX-style 2-D attributes.
absl::StatusOr<Conv2DGeometry> ReadGeometry(const NodeContext& c, const std::vector<int64_t>& strides4) {
  Conv2DGeometry g;
  KILN_ASSIGN_OR_RETURN(std::string format, c.attr_string("data_format", std::string("NHWC")));
  if (format != "NHWC" && format != "NCHW") return c.Unsupported(kiln::StrCat("data_format '", format, "'"));
  g.nchw = format == "NCHW";
  const int h = g.nchw ? 2 : 1, w = g.nchw ? 3 : 2, ch = g.nchw ? 1 : 3;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dil4, c.attr_ints("dilations", std::vector<int64_t>{1, 1, 1, 1}));
  if (strides4.size() != 4 || dil4.size() != 4) return c.Error("strides and dilations must have 4 values");
  if (strides4[0] != 1 || strides4[ch] != 1 || dil4[0] != 1 || dil4[ch] != 1) {
    return c.Unsupported("strides or dilations along the batch or channel dimension");
  }
  g.strides = {strides4[h], strides4[w]};
  g.dilations = {dil4[h], dil4[w]};
  KILN_ASSIGN_OR_RETURN(std::string padding, c.attr_string("padding"));
  if (padding == "SAME") {
    g.auto_pad = "SAME_UPPER";  // TensorFlow puts the odd padding element at the end.
  } else if (padding == "VALID") {
    g.auto_pad = "VALID";
  } else if (padding == "EXPLICIT") {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ep, c.attr_ints("explicit_paddings"));
    if (ep.size() != 8) return c.Error("explicit_paddings must have 8 values");
    if (ep[0] || ep[1] || ep[2 * ch] || ep[2 * ch + 1]) return c.Unsupported("padding of the batch or channels");
    g.auto_pad = "NOTSET";
    g.pads = {ep[2 * h], ep[2 * w], ep[2 * h + 1], ep[2 * w + 1]};
  } else {
    return c.Error(kiln::StrCat("padding '", padding, "' is not SAME, VALID or EXPLICIT"));
  }
  return g;
}

Attrs WindowAttrs(const Conv2DGeometry& g) {
  Attrs a{{"strides", g.strides}, {"dilations", g.dilations}, {"auto_pad", g.auto_pad}};
  if (g.auto_pad == "NOTSET") a["pads"] = g.pads;
  return a;
}

// A constant filter [KH,KW,I,O] as ONNX's [O,I,KH,KW], transposed at import.
Tensor HwioToOihw(const Tensor& f) {
  const int64_t kh = f.dim(0), kw = f.dim(1), ci = f.dim(2), co = f.dim(3);
  Tensor t = *Tensor::Create(DType::kF32, {co, ci, kh, kw});
  const float* src = f.data<float>();
  float* dst = t.data<float>();
  for (int64_t h = 0; h < kh; ++h) {
    for (int64_t w = 0; w < kw; ++w) {
      for (int64_t i = 0; i < ci; ++i) {
        for (int64_t o = 0; o < co; ++o) dst[((o * ci + i) * kh + h) * kw + w] = src[((h * kw + w) * ci + i) * co + o];
      }
    }
  }
  return t;
}

absl::Status TranslateConv(NodeContext& c, bool depthwise, bool fused) {
  if (c.num_inputs() < 2) return c.Error("needs an input and a filter");
  if (!fused) KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides4, c.attr_ints("strides"));
  KILN_ASSIGN_OR_RETURN(Conv2DGeometry g, ReadGeometry(c, strides4));
  const TensorType& ft = c.input_type(1);
  if (!ft.rank_known || ft.dims.size() != 4 || ft.dims[2] < 0 || ft.dims[3] < 0) {
    return c.Unsupported(kiln::StrCat("the filter must have a known rank-4 shape; got ", ft.ToString()));
  }
  const TensorType& xt = c.input_type(0);
  std::string w = c.input(1);
  int64_t group = 1;
  const std::optional<Tensor> const_filter = c.const_input(1);
  if (ft.dims[2] > kMaxIndex / std::max<int64_t>(ft.dims[3], 1)) return c.Error("the filter is too large");
  if (depthwise) {
    group = ft.dims[2];
    const Dims dw_dims = {ft.dims[0], ft.dims[1], 1, ft.dims[2] * ft.dims[3]};
    if (const_filter) {
      KILN_ASSIGN_OR_RETURN(Tensor reshaped, const_filter->Reshaped(dw_dims));
      w = c.converter().AddConst(Hint(c, "filter"), reshaped);
    } else {
      KILN_ASSIGN_OR_RETURN(w, Emit1(c, "Reshape", {w, I64Const(c, "dw_shape", dw_dims)}));
    }
  } else if (xt.rank_known && xt.dims.size() == 4) {
    const int64_t cin = xt.dims[g.nchw ? 1 : 3];
    if (cin > 0 && cin != ft.dims[2]) {
      if (ft.dims[2] == 0 || cin % ft.dims[2] != 0) {
        return c.Error(kiln::StrCat("input has ", cin, " channels; the filter expects ", ft.dims[2]));
      }
      group = cin / ft.dims[2];
    }
  }
  std::vector<std::string> fused_ops;
  if (fused) {
    KILN_ASSIGN_OR_RETURN(fused_ops, c.attr_strings("fused_ops"));
  }
  Attrs attrs = WindowAttrs(g);
  attrs["group"] = group;
  std::vector<std::string> inputs = {c.input(0), w};
  size_t next = 0;
  int arg = 2;
  if (g.nchw) {
    // ONNX Conv with OIHW weights: [KH,KW,I,O] -> [O,I,KH,KW].
    const std::optional<Tensor> filter = c.converter().Type(w).value;
    if (filter && filter->dtype() == DType::kF32) {
      inputs[1] = c.converter().AddConst(Hint(c, "filter_oihw"), HwioToOihw(*filter));
    } else {
      KILN_ASSIGN_OR_RETURN(inputs[1], Emit1(c, "Transpose", {w}, {{"perm", std::vector<int64_t>{3, 2, 0, 1}}}));
    }
    if (!fused_ops.empty() && fused_ops[0] == "BiasAdd" && c.num_inputs() > 2) {
      inputs.push_back(c.input(2));
      next = 1;
      arg = 3;
    }
    const bool last = next == fused_ops.size();
    KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Conv", inputs, attrs, last ? c.out(0) : ""));
    if (last) return absl::OkStatus();
    return EmitFusedTail(c, y, fused_ops, next, arg, true);
  }
  if (!fused_ops.empty() && fused_ops[0] == "BiasAdd" && c.num_inputs() > 2) {
    inputs.push_back(c.input(2));
    next = 1;
    arg = 3;
    if (fused_ops.size() == 2 && IsActivation(fused_ops[1])) {
      attrs["activation"] = fused_ops[1];
      KILN_ASSIGN_OR_RETURN(float alpha, c.attr_float("leakyrelu_alpha", 0.2f));
      attrs["alpha"] = alpha;
      next = 2;
    }
  }
  const bool last = next == fused_ops.size();
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "NhwcConv", inputs, attrs, last ? c.out(0) : ""));
  if (last) return absl::OkStatus();
  return EmitFusedTail(c, y, fused_ops, next, arg, false);
}

absl::Status TranslatePool(NodeContext& c, bool is_max) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize, c.attr_ints("ksize"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides4, c.attr_ints("strides"));
  KILN_ASSIGN_OR_RETURN(Conv2DGeometry g, ReadGeometry(c, strides4));
  if (ksize.size() != 4) return c.Error("ksize must have 4 values");
  const int h = g.nchw ? 2 : 1, w = g.nchw ? 3 : 2;
  if (ksize[0] != 1 || ksize[g.nchw ? 1 : 3] != 1) return c.Unsupported("pooling across batch or channels");
  Attrs attrs = WindowAttrs(g);
  attrs.erase("dilations");
  attrs["kernel_shape"] = std::vector<int64_t>{ksize[h], ksize[w]};
  attrs["count_include_pad"] = int64_t{0};
  std::string op = is_max ? "MaxPool" : "AveragePool";
  if (!g.nchw) op = "Nhwc" + op;
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, op, {c.input(0)}, attrs, c.out(0)));
  return absl::OkStatus();
}

// ---- Matrix products -----------------------------------------------------------------------------

absl::Status TranslateMatMul(NodeContext& c, bool fused) {
  if (!fused) KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  if (c.num_inputs() < 2) return c.Error("needs two operands");
  KILN_ASSIGN_OR_RETURN(bool ta, c.attr_bool("transpose_a", false));
  KILN_ASSIGN_OR_RETURN(bool tb, c.attr_bool("transpose_b", false));
  std::vector<std::string> fused_ops;
  if (fused) {
    KILN_ASSIGN_OR_RETURN(fused_ops, c.attr_strings("fused_ops"));
  }
  std::vector<std::string> inputs = {c.input(0), c.input(1)};
  size_t next = 0;
  int arg = 2;
  if (!fused_ops.empty() && fused_ops[0] == "BiasAdd" && c.num_inputs() > 2) {
    inputs.push_back(c.input(2));
    next = 1;
    arg = 3;
  }
  const bool last = next == fused_ops.size();
  Attrs attrs;
  std::string op = "MatMul";
  if (ta || tb || inputs.size() == 3) {
    op = "Gemm";
    attrs = {{"transA", int64_t{ta}}, {"transB", int64_t{tb}}};
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, op, inputs, attrs, last ? c.out(0) : ""));
  if (last) return absl::OkStatus();
  return EmitFusedTail(c, y, fused_ops, next, arg, false);
}

absl::Status TranslateBatchMatMul(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  std::vector<std::string> in = {c.input(0), c.input(1)};
  for (int i = 0; i < 2; ++i) {
    KILN_ASSIGN_OR_RETURN(bool adj, c.attr_bool(i == 0 ? "adj_x" : "adj_y", false));
    if (!adj) continue;
    KILN_ASSIGN_OR_RETURN(int r, KnownRank(c, i));
    if (r < 2) return c.Error("adjoint operands must have rank 2 or more");
    std::vector<int64_t> perm(r);
    for (int k = 0; k < r; ++k) perm[k] = k;
    std::swap(perm[r - 1], perm[r - 2]);
    KILN_ASSIGN_OR_RETURN(in[i], Emit1(c, "Transpose", {in[i]}, {{"perm", perm}}));
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "MatMul", in, {}, c.out(0)));
  return absl::OkStatus();
}

// ---- Elementwise ---------------------------------------------------------------------------------

TranslateFn Unary(const std::string& op, Attrs attrs = {}) {
  return [op, attrs](NodeContext& c) -> absl::Status {
    KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
    KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, op, {c.input(0)}, attrs, c.out(0)));
    return absl::OkStatus();
  };
}

TranslateFn Binary(const std::string& op) {
  return [op](NodeContext& c) -> absl::Status {
    KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
    KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, op, {c.input(0), c.input(1)}, {}, c.out(0)));
    return absl::OkStatus();
  };
}

absl::Status TranslateFloorDiv(NodeContext& c, bool mod) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  const std::string a = c.input(0), b = c.input(1);
  const DType t = c.input_type(0).dtype;
  if (t == DType::kF32 || t == DType::kF16 || t == DType::kBF16) {
    KILN_ASSIGN_OR_RETURN(std::string q, Emit1(c, "Div", {a, b}));
    if (!mod) {
      KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Floor", {q}, {}, c.out(0)));
      return absl::OkStatus();
    }
    KILN_ASSIGN_OR_RETURN(std::string fq, Emit1(c, "Floor", {q}));
    KILN_ASSIGN_OR_RETURN(std::string p, Emit1(c, "Mul", {fq, b}));
    KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Sub", {a, p}, {}, c.out(0)));
    return absl::OkStatus();
  }
  // Integers: ONNX Mod with fmod = 0 takes the divisor's sign (floor semantics), so
  // floor(a / b) = (a - mod(a, b)) / b exactly.
  KILN_ASSIGN_OR_RETURN(std::string m, Emit1(c, "Mod", {a, b}, {{"fmod", int64_t{0}}}, mod ? c.out(0) : ""));
  if (mod) return absl::OkStatus();
  KILN_ASSIGN_OR_RETURN(std::string d, Emit1(c, "Sub", {a, m}));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Div", {d, b}, {}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateBiasAdd(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(std::string format, c.attr_string("data_format", std::string("NHWC")));
  std::string b = c.input(1);
  if (format == "NCHW") {
    KILN_ASSIGN_OR_RETURN(int r, KnownRank(c, 0));
    std::vector<int64_t> axes;
    for (int k = 1; k + 1 < r; ++k) axes.push_back(k);
    if (!axes.empty()) {
      KILN_ASSIGN_OR_RETURN(b, Emit1(c, "Unsqueeze", {b, I64Const(c, "axes", axes)}));
    }
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Add", {c.input(0), b}, {}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateFusedBatchNorm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 5, 6));
  KILN_ASSIGN_OR_RETURN(bool training, c.attr_bool("is_training", true));
  if (training) return c.Unsupported("is_training = true (only inference graphs are supported)");
  KILN_ASSIGN_OR_RETURN(std::string format, c.attr_string("data_format", std::string("NHWC")));
  return EmitFusedTail(c, c.input(0), {"FusedBatchNorm"}, 0, 1, format == "NCHW");
}

// ---- Shapes and data movement --------------------------------------------------------------------

absl::Status TranslateReduce(NodeContext& c, const std::string& op) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(bool keep, c.attr_bool("keep_dims", false));
  std::string axes = c.input(1);
  if (c.input_type(1).rank_known && c.input_type(1).dims.empty()) {
    KILN_ASSIGN_OR_RETURN(axes, Emit1(c, "Reshape", {axes, I64Const(c, "vec", {1})}));
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, op, {c.input(0), axes},
                                        {{"keepdims", int64_t{keep}}, {"noop_with_empty_axes", int64_t{1}}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateArgMax(NodeContext& c, bool is_max) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axis, c.const_ints(1, "dimension"));
  if (axis.size() != 1) return c.Error("dimension must be a single value");
  DType out_type = DType::kS64;
  if (c.node().attr().count("output_type")) {
    KILN_ASSIGN_OR_RETURN(out_type, c.attr_dtype("output_type"));
  }
  const bool cast = out_type != DType::kS64;
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, is_max ? "ArgMax" : "ArgMin", {c.input(0)},
                                        {{"axis", axis[0]}, {"keepdims", int64_t{0}}}, cast ? "" : c.out(0)));
  if (cast) {
    KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Cast", {y}, {{"to", OnnxType(out_type)}}, c.out(0)));
  }
  return absl::OkStatus();
}

absl::Status TranslateConcat(NodeContext& c, bool axis_last) {
  if (c.num_inputs() < 2) return c.Error("needs values and an axis");
  const int axis_index = axis_last ? c.num_inputs() - 1 : 0;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axis, c.const_ints(axis_index, "axis"));
  if (axis.size() != 1) return c.Error("axis must be a single value");
  std::vector<std::string> values;
  for (int i = 0; i < c.num_inputs(); ++i) {
    if (i != axis_index) values.push_back(c.input(i));
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Concat", values, {{"axis", axis[0]}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslatePack(NodeContext& c) {
  if (c.num_inputs() < 1) return c.Error("needs at least one value");
  KILN_ASSIGN_OR_RETURN(int64_t axis, c.attr_int("axis", 0));
  const std::string axes = I64Const(c, "axes", {axis});
  std::vector<std::string> parts;
  for (int i = 0; i < c.num_inputs(); ++i) {
    KILN_ASSIGN_OR_RETURN(std::string p, Emit1(c, "Unsqueeze", {c.input(i), axes}, {}, c.num_inputs() == 1 ? c.out(0) : ""));
    parts.push_back(p);
  }
  if (c.num_inputs() == 1) return absl::OkStatus();
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Concat", parts, {{"axis", axis}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateUnpack(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t num, c.attr_int("num"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, c.attr_int("axis", 0));
  if (num <= 0) return c.Error("num must be positive");
  if (c.input_type(0).rank_known) {
    const Dims& dims = c.input_type(0).dims;
    const int64_t r = static_cast<int64_t>(dims.size());
    if (axis < -r || axis >= r) return c.Error(kiln::StrCat("axis ", axis, " is out of range for rank ", r));
    const int64_t extent = dims[axis < 0 ? axis + r : axis];
    if (extent >= 0 && extent != num) {
      return c.Error(kiln::StrCat("num = ", num, " but the unpacked dimension has extent ", extent));
    }
  }
  if (num > kMaxUnpack) return c.Unsupported(kiln::StrCat("num = ", num, " (at most ", kMaxUnpack, ")"));
  const std::string axes = I64Const(c, "axes", {axis});
  std::vector<std::string> parts = {c.input(0)};
  if (num > 1) {
    KILN_ASSIGN_OR_RETURN(parts, c.converter().Emit("Split", Hint(c, "Split"), {c.input(0)}, {{"axis", axis}}, {},
                                               static_cast<int>(num)));
  }
  for (int64_t i = 0; i < num; ++i) {
    KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Squeeze", {parts[i], axes}, {}, c.out(static_cast<int>(i))));
  }
  return absl::OkStatus();
}

absl::Status TranslateSqueeze(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
  std::vector<int64_t> dims;
  if (c.node().attr().count("squeeze_dims")) {
    KILN_ASSIGN_OR_RETURN(dims, c.attr_ints("squeeze_dims"));
  } else if (c.node().attr().count("axis")) {
    KILN_ASSIGN_OR_RETURN(dims, c.attr_ints("axis"));
  }
  std::vector<std::string> in = {c.input(0)};
  if (!dims.empty()) in.push_back(I64Const(c, "axes", dims));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Squeeze", in, {}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateExpandDims(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dim, c.const_ints(1, "dim"));
  if (dim.size() != 1) return c.Error("dim must be a single value");
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Unsqueeze", {c.input(0), I64Const(c, "axes", dim)}, {}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateReshape(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  // TensorFlow's 0 is a zero extent, not "copy": allowzero.
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Reshape", {c.input(0), c.input(1)}, {{"allowzero", int64_t{1}}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateTranspose(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm, c.const_ints(1, "perm"));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Transpose", {c.input(0)}, {{"perm", perm}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateShape(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
  DType out_type = DType::kS32;
  if (c.node().attr().count("out_type")) {
    KILN_ASSIGN_OR_RETURN(out_type, c.attr_dtype("out_type"));
  }
  const bool cast = out_type != DType::kS64;
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Shape", {c.input(0)}, {}, cast ? "" : c.out(0)));
  if (cast) {
    KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Cast", {y}, {{"to", OnnxType(out_type)}}, c.out(0)));
  }
  return absl::OkStatus();
}

absl::Status TranslateCast(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
  KILN_ASSIGN_OR_RETURN(DType to, c.attr_dtype("DstT"));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Cast", {c.input(0)}, {{"to", OnnxType(to)}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateGather(NodeContext& c, bool v2) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, v2 ? 3 : 2, v2 ? 3 : 2));
  int64_t axis = 0;
  if (v2) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> a, c.const_ints(2, "axis"));
    if (a.size() != 1) return c.Error("axis must be a single value");
    axis = a[0];
    KILN_ASSIGN_OR_RETURN(int64_t batch_dims, c.attr_int("batch_dims", 0));
    if (batch_dims != 0) return c.Unsupported("batch_dims other than 0");
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Gather", {c.input(0), c.input(1)}, {{"axis", axis}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateSlice(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 3, 3));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> begin, c.const_ints(1, "begin"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> size, c.const_ints(2, "size"));
  if (begin.size() != size.size()) return c.Error("begin and size differ in length");
  std::vector<int64_t> end(begin.size());
  for (size_t i = 0; i < begin.size(); ++i) {
    if (size[i] < -1 || begin[i] < 0 || begin[i] > kMaxIndex || size[i] > kMaxIndex) {
      return c.Error("begin must be in [0, 2^62] and size in [-1, 2^62]");
    }
    end[i] = size[i] == -1 ? kMaxI64 : begin[i] + size[i];
  }
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Slice", {c.input(0), I64Const(c, "starts", begin), I64Const(c, "ends", end)},
                                        {}, c.out(0)));
  return absl::OkStatus();
}

// StridedSlice with constant begin / end / strides and every mask: one Slice over all input
// dimensions, then Squeeze (shrink_axis_mask) and Unsqueeze (new_axis_mask).
absl::Status TranslateStridedSlice(NodeContext& c) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 4, 4));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> begin, c.const_ints(1, "begin"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> end, c.const_ints(2, "end"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> strides, c.const_ints(3, "strides"));
  if (begin.size() != end.size() || begin.size() != strides.size()) return c.Error("begin, end and strides differ in length");
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(c, 0));
  KILN_ASSIGN_OR_RETURN(int64_t begin_mask, c.attr_int("begin_mask", 0));
  KILN_ASSIGN_OR_RETURN(int64_t end_mask, c.attr_int("end_mask", 0));
  KILN_ASSIGN_OR_RETURN(int64_t ellipsis_mask, c.attr_int("ellipsis_mask", 0));
  KILN_ASSIGN_OR_RETURN(int64_t new_axis_mask, c.attr_int("new_axis_mask", 0));
  KILN_ASSIGN_OR_RETURN(int64_t shrink_mask, c.attr_int("shrink_axis_mask", 0));
  const int n = static_cast<int>(begin.size());
  // Bits past 63 are 0 (shifting an int64 by 64 or more is undefined behaviour).
  auto bit = [](int64_t mask, int i) { return i < 64 && ((static_cast<uint64_t>(mask) >> i) & 1) != 0; };
  int real = 0;  // Spec entries that consume an input dimension.
  bool has_ellipsis = false;
  for (int i = 0; i < n; ++i) {
    if (bit(ellipsis_mask, i)) {
      if (has_ellipsis) return c.Error("more than one ellipsis");
      has_ellipsis = true;
    } else if (!bit(new_axis_mask, i)) {
      ++real;
    }
  }
  if (real > rank) return c.Error(kiln::StrCat("slices ", real, " dimensions of a rank-", rank, " input"));
  std::vector<int64_t> starts(rank, 0), ends(rank, kMaxI64), steps(rank, 1), squeeze, unsqueeze;
  const Dims& dims = c.input_type(0).dims;
  int d = 0, out_pos = 0;
  for (int i = 0; i < n; ++i) {
    if (bit(ellipsis_mask, i)) {
      const int cover = rank - real;
      d += cover;
      out_pos += cover;
      continue;
    }
    if (bit(new_axis_mask, i)) {
      unsqueeze.push_back(out_pos++);
      continue;
    }
    const int64_t s = strides[i];
    if (s == 0) return c.Error("a stride is 0");
    if (bit(shrink_mask, i)) {
      int64_t b = begin[i];
      if (b < -kMaxIndex || b > kMaxIndex) return c.Error(kiln::StrCat("index ", b, " is out of range"));
      if (b < 0 && dims[d] >= 0) b += dims[d];
      if (dims[d] >= 0 && (b < 0 || b >= dims[d])) {
        return c.Error(kiln::StrCat("index ", begin[i], " is out of range for dimension ", d, " of extent ", dims[d]));
      }
      starts[d] = b;
      ends[d] = b == -1 ? kMaxI64 : b + 1;
      squeeze.push_back(d++);
      continue;
    }
    starts[d] = bit(begin_mask, i) ? (s > 0 ? 0 : kMaxI64) : begin[i];
    ends[d] = bit(end_mask, i) ? (s > 0 ? kMaxI64 : kMinI64) : end[i];
    steps[d] = s;
    ++d;
    ++out_pos;
  }
  bool trivial = true;
  for (int k = 0; k < rank; ++k) trivial = trivial && starts[k] == 0 && ends[k] == kMaxI64 && steps[k] == 1;
  std::string y = c.input(0);
  const bool more_squeeze = !squeeze.empty(), more_unsqueeze = !unsqueeze.empty();
  if (!trivial) {
    KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Slice",
                              {y, I64Const(c, "starts", starts), I64Const(c, "ends", ends), I64Const(c, "axes", [&] {
                                 std::vector<int64_t> a(rank);
                                 for (int k = 0; k < rank; ++k) a[k] = k;
                                 return a;
                               }()),
                               I64Const(c, "steps", steps)},
                              {}, more_squeeze || more_unsqueeze ? "" : c.out(0)));
  }
  if (more_squeeze) {
    KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Squeeze", {y, I64Const(c, "squeeze_axes", squeeze)}, {}, more_unsqueeze ? "" : c.out(0)));
  }
  if (more_unsqueeze) {
    KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Unsqueeze", {y, I64Const(c, "new_axes", unsqueeze)}, {}, c.out(0)));
  }
  if (trivial && !more_squeeze && !more_unsqueeze) {
    KILN_ASSIGN_OR_RETURN(y, Emit1(c, "Identity", {y}, {}, c.out(0)));
  }
  return absl::OkStatus();
}

absl::Status TranslatePad(NodeContext& c, const std::string& mode) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, mode == "constant" ? 3 : 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> p, c.const_ints(1, "paddings"));
  if (p.size() % 2 != 0) return c.Error("paddings must have shape [rank, 2]");
  const size_t r = p.size() / 2;
  std::vector<int64_t> pads(p.size());
  for (size_t i = 0; i < r; ++i) {
    pads[i] = p[2 * i];
    pads[i + r] = p[2 * i + 1];
  }
  std::vector<std::string> in = {c.input(0), I64Const(c, "pads", pads)};
  if (c.num_inputs() == 3) in.push_back(c.input(2));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Pad", in, {{"mode", mode}}, c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateMirrorPad(NodeContext& c) {
  KILN_ASSIGN_OR_RETURN(std::string mode, c.attr_string("mode"));
  if (mode != "REFLECT") return c.Unsupported(kiln::StrCat("mode '", mode, "' (only REFLECT is supported)"));
  return TranslatePad(c, "reflect");
}

absl::Status TranslateResize(NodeContext& c, bool bilinear) {
  KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
  KILN_ASSIGN_OR_RETURN(bool align, c.attr_bool("align_corners", false));
  KILN_ASSIGN_OR_RETURN(bool half, c.attr_bool("half_pixel_centers", false));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "NhwcResize", {c.input(0), c.input(1)},
                                        {{"mode", std::string(bilinear ? "linear" : "nearest")},
                                         {"align_corners", int64_t{align}},
                                         {"half_pixel_centers", int64_t{half}}},
                                        c.out(0)));
  return absl::OkStatus();
}

absl::Status TranslateIdentityN(NodeContext& c) {
  for (int i = 0; i < c.num_inputs(); ++i) {
    KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Identity", {c.input(i)}, {}, c.out(i)));
  }
  return absl::OkStatus();
}

absl::Status TranslateAddN(NodeContext& c) {
  if (c.num_inputs() < 1) return c.Error("needs at least one value");
  std::vector<std::string> in;
  for (int i = 0; i < c.num_inputs(); ++i) in.push_back(c.input(i));
  KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, c.num_inputs() == 1 ? "Identity" : "Sum", in, {}, c.out(0)));
  return absl::OkStatus();
}

TranslateFn Composite(std::function<absl::Status(NodeContext&)> fn) { return fn; }

}  // namespace

const std::map<std::string, TranslateFn>& TranslationTable() {
  static const auto* table = new std::map<std::string, TranslateFn>{
      // Convolutions, pooling, resizing (NHWC -> Nhwc* ops; NCHW -> ONNX ops).
      {"Conv2D", [](NodeContext& c) { return TranslateConv(c, false, false); }},
      {"_FusedConv2D", [](NodeContext& c) { return TranslateConv(c, false, true); }},
      {"DepthwiseConv2dNative", [](NodeContext& c) { return TranslateConv(c, true, false); }},
      {"FusedDepthwiseConv2dNative", [](NodeContext& c) { return TranslateConv(c, true, true); }},
      {"MaxPool", [](NodeContext& c) { return TranslatePool(c, true); }},
      {"AvgPool", [](NodeContext& c) { return TranslatePool(c, false); }},
      {"ResizeBilinear", [](NodeContext& c) { return TranslateResize(c, true); }},
      {"ResizeNearestNeighbor", [](NodeContext& c) { return TranslateResize(c, false); }},
      // Matrix products.
      {"MatMul", [](NodeContext& c) { return TranslateMatMul(c, false); }},
      {"_FusedMatMul", [](NodeContext& c) { return TranslateMatMul(c, true); }},
      {"BatchMatMul", TranslateBatchMatMul},
      {"BatchMatMulV2", TranslateBatchMatMul},
      {"BatchMatMulV3", TranslateBatchMatMul},
      // Elementwise.
      {"BiasAdd", TranslateBiasAdd},
      {"BiasAddV1", TranslateBiasAdd},
      {"FusedBatchNorm", TranslateFusedBatchNorm},
      {"FusedBatchNormV3", TranslateFusedBatchNorm},
      {"Add", Binary("Add")},
      {"AddV2", Binary("Add")},
      {"Sub", Binary("Sub")},
      {"Mul", Binary("Mul")},
      {"RealDiv", Binary("Div")},
      {"Div", Binary("Div")},
      {"Maximum", Binary("Max")},
      {"Minimum", Binary("Min")},
      {"Pow", Binary("Pow")},
      {"FloorDiv", [](NodeContext& c) { return TranslateFloorDiv(c, false); }},
      {"FloorMod", [](NodeContext& c) { return TranslateFloorDiv(c, true); }},
      {"SquaredDifference", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
         KILN_ASSIGN_OR_RETURN(std::string d, Emit1(c, "Sub", {c.input(0), c.input(1)}));
         KILN_ASSIGN_OR_RETURN(std::string y, Emit1(c, "Mul", {d, d}, {}, c.out(0)));
         return absl::OkStatus();
       })},
      {"AddN", TranslateAddN},
      {"Relu", Unary("Relu")},
      {"Relu6", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
         return EmitActivation(c, "Relu6", c.input(0), 0, c.out(0)).status();
       })},
      {"Elu", Unary("Elu", {{"alpha", 1.0f}})},
      {"Selu", Unary("Selu", {{"alpha", 1.6732632423543772f}, {"gamma", 1.0507009873554805f}})},
      {"LeakyRelu", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
         KILN_ASSIGN_OR_RETURN(float alpha, c.attr_float("alpha", 0.2f));
         return Emit1(c, "LeakyRelu", {c.input(0)}, {{"alpha", alpha}}, c.out(0)).status();
       })},
      {"Sigmoid", Unary("Sigmoid")},
      {"Tanh", Unary("Tanh")},
      {"Softmax", Unary("Softmax", {{"axis", int64_t{-1}}})},
      {"LogSoftmax", Unary("LogSoftmax", {{"axis", int64_t{-1}}})},
      {"Softplus", Unary("Softplus")},
      {"Sqrt", Unary("Sqrt")},
      {"Rsqrt", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
         KILN_ASSIGN_OR_RETURN(std::string s, Emit1(c, "Sqrt", {c.input(0)}));
         return Emit1(c, "Reciprocal", {s}, {}, c.out(0)).status();
       })},
      {"Square", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 1, 1));
         return Emit1(c, "Mul", {c.input(0), c.input(0)}, {}, c.out(0)).status();
       })},
      {"Exp", Unary("Exp")},
      {"Log", Unary("Log")},
      {"Neg", Unary("Neg")},
      {"Abs", Unary("Abs")},
      {"Floor", Unary("Floor")},
      {"Ceil", Unary("Ceil")},
      {"Round", Unary("Round")},
      {"Sign", Unary("Sign")},
      {"Reciprocal", Unary("Reciprocal")},
      {"Inv", Unary("Reciprocal")},
      {"Erf", Unary("Erf")},
      // Reductions.
      {"Mean", [](NodeContext& c) { return TranslateReduce(c, "ReduceMean"); }},
      {"Sum", [](NodeContext& c) { return TranslateReduce(c, "ReduceSum"); }},
      {"Max", [](NodeContext& c) { return TranslateReduce(c, "ReduceMax"); }},
      {"Min", [](NodeContext& c) { return TranslateReduce(c, "ReduceMin"); }},
      {"Prod", [](NodeContext& c) { return TranslateReduce(c, "ReduceProd"); }},
      {"ArgMax", [](NodeContext& c) { return TranslateArgMax(c, true); }},
      {"ArgMin", [](NodeContext& c) { return TranslateArgMax(c, false); }},
      // Shapes and data movement.
      {"ConcatV2", [](NodeContext& c) { return TranslateConcat(c, true); }},
      {"Concat", [](NodeContext& c) { return TranslateConcat(c, false); }},
      {"Pack", TranslatePack},
      {"Unpack", TranslateUnpack},
      {"Reshape", TranslateReshape},
      {"Squeeze", TranslateSqueeze},
      {"ExpandDims", TranslateExpandDims},
      {"Transpose", TranslateTranspose},
      {"Shape", TranslateShape},
      {"Cast", TranslateCast},
      {"Fill", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
         return Emit1(c, "Expand", {c.input(1), c.input(0)}, {}, c.out(0)).status();
       })},
      {"Tile", Binary("Tile")},
      {"GatherV2", [](NodeContext& c) { return TranslateGather(c, true); }},
      {"Gather", [](NodeContext& c) { return TranslateGather(c, false); }},
      {"GatherNd", Binary("GatherND")},
      {"Slice", TranslateSlice},
      {"StridedSlice", TranslateStridedSlice},
      {"Pad", [](NodeContext& c) { return TranslatePad(c, "constant"); }},
      {"PadV2", [](NodeContext& c) { return TranslatePad(c, "constant"); }},
      {"MirrorPad", TranslateMirrorPad},
      {"Range", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 3, 3));
         return Emit1(c, "Range", {c.input(0), c.input(1), c.input(2)}, {}, c.out(0)).status();
       })},
      {"SelectV2", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 3, 3));
         return Emit1(c, "Where", {c.input(0), c.input(1), c.input(2)}, {}, c.out(0)).status();
       })},
      {"Greater", Binary("Greater")},
      {"GreaterEqual", Binary("GreaterOrEqual")},
      {"Less", Binary("Less")},
      {"LessEqual", Binary("LessOrEqual")},
      {"Equal", Binary("Equal")},
      {"NotEqual", Composite([](NodeContext& c) -> absl::Status {
         KILN_RETURN_IF_ERROR(CheckInputs(c, 2, 2));
         KILN_ASSIGN_OR_RETURN(std::string eq, Emit1(c, "Equal", {c.input(0), c.input(1)}));
         return Emit1(c, "Not", {eq}, {}, c.out(0)).status();
       })},
      {"LogicalAnd", Binary("And")},
      {"LogicalOr", Binary("Or")},
      {"LogicalNot", Unary("Not")},
      {"Identity", Unary("Identity")},
      {"Snapshot", Unary("Identity")},
      {"StopGradient", Unary("Identity")},
      {"PreventGradient", Unary("Identity")},
      {"IdentityN", TranslateIdentityN},
      {"NoOp", [](NodeContext&) { return absl::OkStatus(); }},
  };
  return *table;
}

}  // namespace kiln::tf_import
