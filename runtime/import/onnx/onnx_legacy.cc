#include "runtime/import/onnx/onnx_legacy.h"

#include <cmath>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "kiln/support/strings.h"
#include "kiln/support/status.h"
#include "onnx.pb.h"

namespace kiln::onnx_import {
namespace {

absl::Status NodeError(const Node& node, std::string_view message) {
  return absl::InvalidArgumentError(
      kiln::StrCat(node.op, " node '", node.name, "': ", message));
}

// A scalar of `dtype` (f32 when unknown) holding `value`.
Tensor MakeScalar(DType dtype, double value) {
  switch (dtype) {
    case DType::kF16: return Tensor::Scalar(FloatToHalf(static_cast<float>(value)));
    case DType::kBF16: return Tensor::Scalar(FloatToBFloat16(static_cast<float>(value)));
    case DType::kS8: return Tensor::Scalar(SaturatingCast<int8_t>(value));
    case DType::kU8: return Tensor::Scalar(SaturatingCast<uint8_t>(value));
    case DType::kS32: return Tensor::Scalar(SaturatingCast<int32_t>(value));
    case DType::kS64: return Tensor::Scalar(SaturatingCast<int64_t>(value));
    case DType::kS16: return Tensor::Scalar(SaturatingCast<int16_t>(value));
    case DType::kU16: return Tensor::Scalar(SaturatingCast<uint16_t>(value));
    case DType::kU32: return Tensor::Scalar(SaturatingCast<uint32_t>(value));
    case DType::kU64: return Tensor::Scalar(SaturatingCast<uint64_t>(value));
    case DType::kF64: return Tensor::Scalar(value);
    case DType::kBool: return Tensor::Scalar(value != 0);
    default: return Tensor::Scalar(static_cast<float>(value));
  }
}

Tensor MakeInt64Vector(const std::vector<int64_t>& values) {
  return Tensor::FromVector<int64_t>({static_cast<int64_t>(values.size())}, values);
}

// Places `name` at input position `index`, padding with absent inputs.
void SetInput(Node* node, int index, std::string name) {
  if (static_cast<int>(node->inputs.size()) <= index) node->inputs.resize(index + 1);
  node->inputs[index] = std::move(name);
}

// Moves an ints attribute `key` to input `index` as an int64 vector. No-op when the attribute
// is absent.
absl::Status IntsAttrToInput(Node* node, const std::string& key, int index,
                             const UpgradeContext& ctx) {
  if (!node->HasAttr(key)) return absl::OkStatus();
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> values, node->GetInts(key));
  node->attrs.erase(key);
  if (node->has_input(index)) {
    return NodeError(*node, kiln::StrCat("has both the attribute '", key, "' and input ", index));
  }
  SetInput(node, index, ctx.add_constant(kiln::StrCat(node->name, "_", key),
                                         MakeInt64Vector(values)));
  return absl::OkStatus();
}

// Moves a float attribute `key` to input `index` as a scalar of the type of input 0.
absl::Status FloatAttrToInput(Node* node, const std::string& key, int index,
                              const UpgradeContext& ctx) {
  if (!node->HasAttr(key)) return absl::OkStatus();
  KILN_ASSIGN_OR_RETURN(float value, node->GetFloat(key));
  node->attrs.erase(key);
  DType dtype = node->has_input(0) ? ctx.value_dtype(node->inputs[0]) : DType::kInvalid;
  SetInput(node, index, ctx.add_constant(kiln::StrCat(node->name, "_", key),
                                         MakeScalar(dtype, value)));
  return absl::OkStatus();
}

// ONNX DataType numbers of the type names opset 1 Cast takes as a string.
absl::StatusOr<int64_t> CastTypeFromName(const Node& node, const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  onnx::TensorProto::DataType type;
  if (!onnx::TensorProto::DataType_Parse(upper, &type)) {
    return NodeError(node, kiln::StrCat("attribute 'to' names an unknown type '", name, "'"));
  }
  return static_cast<int64_t>(type);
}

bool IsReduce(const std::string& op) {
  static const std::set<std::string> kReduceOps = {
      "ReduceL1",     "ReduceL2",  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
      "ReduceMean",   "ReduceMin", "ReduceProd",   "ReduceSum",       "ReduceSumSquare"};
  return kReduceOps.count(op) > 0;
}

// Replaces input `index` (the constant `value`) by a copy with `trailing_ones` 1s appended to its dims.
absl::Status ReshapeConstantInput(Node* node, int index, const Tensor& value, int64_t trailing_ones,
                                  const UpgradeContext& ctx) {
  Dims dims = value.dims();
  dims.insert(dims.end(), trailing_ones, 1);
  absl::StatusOr<Tensor> reshaped = value.Reshaped(dims);
  if (!reshaped.ok()) return NodeError(*node, FromAbsl(reshaped.status().message()));
  SetInput(node, index, ctx.add_constant(kiln::StrCat(node->inputs[index], "_aligned"), *std::move(reshaped)));
  return absl::OkStatus();
}

bool IsLegacyBroadcastOp(const std::string& op) {
  static const std::set<std::string> kOps = {"Add", "Sub",   "Mul",     "Div",  "Pow", "And",
                                             "Or",  "Xor",   "Equal",   "Less", "Greater",
                                             "PRelu"};
  return kOps.count(op) > 0;
}

}  // namespace

// Longer than 150 lines on purpose: one short block per legacy op form, so that every upgrade the
// importer applies reads in one place.
absl::Status UpgradeNode(Node* node, const UpgradeContext& ctx) {
  const int64_t opset = ctx.opset;
  const std::string& op = node->op;
  node->attrs.erase("consumed_inputs");

  if (op == "Dropout") {
    // Inference: Dropout passes its input through. Its mask output (all true) has no Identity
    // equivalent, and a training_mode input (opset 12) may ask for real dropout, so such nodes
    // stay Dropout.
    if (node->outputs.size() > 1 && !node->outputs[1].empty()) return absl::OkStatus();
    if (node->has_input(2)) return absl::OkStatus();
    node->op = "Identity";
    node->inputs.resize(1);
    node->outputs.resize(1);
    node->attrs.clear();
    return absl::OkStatus();
  }
  if (op == "BatchNormalization") {
    node->attrs.erase("spatial");
    node->attrs.erase("is_test");
    return absl::OkStatus();
  }
  if (op == "Clip" && opset < 11) {
    // Clip-1/6's absent bounds are -FLT_MAX and FLT_MAX (Clip-11's absent inputs: no bound).
    if (!node->HasAttr("min")) node->attrs["min"] = AttrValue(-std::numeric_limits<float>::max());
    if (!node->HasAttr("max")) node->attrs["max"] = AttrValue(std::numeric_limits<float>::max());
    node->inputs.resize(1);
    KILN_RETURN_IF_ERROR(FloatAttrToInput(node, "min", 1, ctx));
    KILN_RETURN_IF_ERROR(FloatAttrToInput(node, "max", 2, ctx));
    return absl::OkStatus();
  }
  if (op == "Reshape" && opset < 5) return IntsAttrToInput(node, "shape", 1, ctx);
  if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && opset < 13) {
    // Before opset 13 these flattened the input to 2-D at `axis` (default 1).
    if (!node->HasAttr("axis")) node->attrs["axis"] = int64_t{1};
    node->attrs["coerce_2d"] = int64_t{1};
    return absl::OkStatus();
  }
  if (((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && opset < 13) ||
      (IsReduce(op) && op != "ReduceSum" && opset < 18)) {
    return IntsAttrToInput(node, "axes", 1, ctx);
  }
  if (op == "Split") {
    if (opset < 13) KILN_RETURN_IF_ERROR(IntsAttrToInput(node, "split", 1, ctx));
    if (!node->has_input(1) && !node->HasAttr("num_outputs")) {
      node->attrs["num_outputs"] = static_cast<int64_t>(node->outputs.size());
    }
    return absl::OkStatus();
  }
  if (op == "Pad" && opset < 11) {
    node->inputs.resize(1);
    if (node->HasAttr("paddings")) {
      node->attrs["pads"] = node->attrs["paddings"];
      node->attrs.erase("paddings");
    }
    if (!node->HasAttr("pads")) return NodeError(*node, "lacks the required attribute 'pads'");
    KILN_RETURN_IF_ERROR(IntsAttrToInput(node, "pads", 1, ctx));
    return FloatAttrToInput(node, "value", 2, ctx);
  }
  if (op == "Slice" && opset < 10) {
    node->inputs.resize(1);
    KILN_RETURN_IF_ERROR(IntsAttrToInput(node, "starts", 1, ctx));
    KILN_RETURN_IF_ERROR(IntsAttrToInput(node, "ends", 2, ctx));
    return IntsAttrToInput(node, "axes", 3, ctx);
  }
  if (op == "TopK" && opset < 10) {
    KILN_ASSIGN_OR_RETURN(int64_t k, node->GetInt("k"));
    node->attrs.erase("k");
    node->inputs.resize(1);
    SetInput(node, 1, ctx.add_constant(kiln::StrCat(node->name, "_k"), MakeInt64Vector({k})));
    return absl::OkStatus();
  }
  if (op == "Concat" && opset < 4) {
    if (!node->HasAttr("axis")) node->attrs["axis"] = int64_t{1};
    return absl::OkStatus();
  }
  if (op == "Cast" && opset < 6) {
    auto it = node->attrs.find("to");
    if (it != node->attrs.end()) {
      if (const std::string* name = std::get_if<std::string>(&it->second)) {
        KILN_ASSIGN_OR_RETURN(int64_t to, CastTypeFromName(*node, *name));
        it->second = to;
      }
    }
    return absl::OkStatus();
  }
  if (op == "Scatter") {
    // Deprecated in opset 11 in favour of ScatterElements, which has the same semantics.
    node->op = "ScatterElements";
    return absl::OkStatus();
  }
  if (op == "Resize" && opset < 11 && node->inputs.size() == 2) {
    // Resize-10 is Upsample-9 renamed: (X, scales), asymmetric coordinates, nearest rounds down.
    node->inputs = {node->inputs[0], "", node->inputs[1]};
    node->attrs["coordinate_transformation_mode"] = std::string("asymmetric");
    node->attrs["nearest_mode"] = std::string("floor");
    return absl::OkStatus();
  }
  if (op == "Upsample") {
    // Upsample (deprecated in opset 10) is Resize with asymmetric coordinates; nearest rounds down.
    KILN_ASSIGN_OR_RETURN(std::string mode, node->GetString("mode", "nearest"));
    if (node->HasAttr("scales")) {
      KILN_ASSIGN_OR_RETURN(std::vector<float> scales, node->GetFloats("scales"));
      node->attrs.erase("scales");
      node->inputs.resize(1);
      SetInput(node, 1, ctx.add_constant(kiln::StrCat(node->name, "_scales"),
                                         Tensor::FromVector<float>(
                                             {static_cast<int64_t>(scales.size())}, scales)));
    }
    if (node->inputs.size() < 2) return NodeError(*node, "has no scales");
    node->op = "Resize";
    node->inputs = {node->inputs[0], "", node->inputs[1]};
    node->attrs.clear();
    node->attrs["mode"] = mode == "bilinear" ? std::string("linear") : mode;
    node->attrs["coordinate_transformation_mode"] = std::string("asymmetric");
    node->attrs["nearest_mode"] = std::string("floor");
    return absl::OkStatus();
  }
  if (op == "PRelu" && opset < 7 && node->inputs.size() == 2) {
    // Before opset 7 a slope of C values applied per channel (axis 1), not numpy-broadcast.
    const Tensor* slope = ctx.constant ? ctx.constant(node->inputs[1]) : nullptr;
    const int64_t rank = ctx.value_rank ? ctx.value_rank(node->inputs[0]) : -1;
    if (slope != nullptr && slope->rank() == 1 && slope->num_elements() > 1 && rank >= 3) {
      KILN_RETURN_IF_ERROR(ReshapeConstantInput(node, 1, *slope, rank - 2, ctx));
    }
  }
  if ((IsLegacyBroadcastOp(op) || op == "Gemm") && opset < 7) {
    KILN_ASSIGN_OR_RETURN(int64_t broadcast, node->GetInt("broadcast", 0));
    if (broadcast != 0 && node->HasAttr("axis") && op != "Gemm") {
      // B's dims match A's from `axis` on: B with trailing 1s does the same under numpy rules.
      KILN_ASSIGN_OR_RETURN(int64_t axis, node->GetInt("axis"));
      const Tensor* b = ctx.constant && node->inputs.size() == 2 ? ctx.constant(node->inputs[1]) : nullptr;
      const int64_t rank = ctx.value_rank ? ctx.value_rank(node->inputs[0]) : -1;
      const int64_t b_rank = b != nullptr                                   ? b->rank()
                              : ctx.value_rank && node->inputs.size() == 2 ? ctx.value_rank(node->inputs[1])
                                                                           : -1;
      if (rank < 0 || b_rank < 0 || (b == nullptr && !ctx.add_node)) {
        return absl::UnimplementedError(kiln::StrCat(
            op, " node '", node->name, "': the opset ", opset,
            " broadcast with an explicit 'axis' needs the declared ranks of A and B; "
            "convert the model to opset 7 or later"));
      }
      if (axis < 0 || axis > rank - b_rank) {
        return NodeError(*node, kiln::StrCat("broadcast axis ", axis, " does not fit B of rank ", b_rank,
                                             " in A of rank ", rank));
      }
      const int64_t trailing = rank - axis - b_rank;
      if (b != nullptr) {
        KILN_RETURN_IF_ERROR(ReshapeConstantInput(node, 1, *b, trailing, ctx));
      } else if (trailing > 0) {
        std::vector<int64_t> axes;
        for (int64_t i = 0; i < trailing; ++i) axes.push_back(b_rank + i);
        const std::string axes_name = ctx.add_constant(kiln::StrCat(node->name, "_axes"), MakeInt64Vector(axes));
        node->inputs[1] = ctx.add_node(kiln::StrCat(node->name, "_align"), "Unsqueeze", {node->inputs[1], axes_name});
      }
    }
    node->attrs.erase("broadcast");
    node->attrs.erase("axis");
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace kiln::onnx_import
