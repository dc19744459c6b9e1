#include "jit/lower.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <set>

#include "kiln/support/strings.h"
#include "jit/lower_internal.h"
#include "kiln/hlo/builder.h"
#include "kiln/support/status.h"

namespace kiln::jit {
namespace lowering {

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

absl::StatusOr<Op> ConstantFromTensor(hlo::Builder& b, const Tensor& tensor) {
  KILN_ASSIGN_OR_RETURN(PrimitiveType type, ToPrimitiveType(tensor.dtype()));
  KILN_ASSIGN_OR_RETURN(hlo::Literal literal, hlo::Literal::CreateFromBytes(hlo::Shape(type, tensor.dims()),
                                                                           tensor.raw_data(), tensor.byte_size()));
  return b.ConstantLiteral(std::move(literal));
}

absl::StatusOr<Op> LowerContext::input(int i) {
  if (!has_input(i)) return Error(kiln::StrCat("input ", i, " is missing"));
  Value& v = *inputs_[i];
  if (!v.op.valid() && v.constant.has_value()) {
    KILN_ASSIGN_OR_RETURN(v.op, ConstantFromTensor(b_, *v.constant));
  }
  if (!v.op.valid()) return Error(kiln::StrCat("input ", i, " ('", node_.inputs[i], "') has no value"));
  return v.op;
}

absl::StatusOr<Tensor> LowerContext::constant(int i) {
  if (!has_input(i) || !inputs_[i]->constant.has_value()) {
    return Error(kiln::StrCat("input ", i, (has_input(i) ? kiln::StrCat(" ('", node_.inputs[i], "')") : ""),
                              " must be a compile-time constant (an initializer or Constant output)"));
  }
  return *inputs_[i]->constant;
}

absl::StatusOr<std::vector<int64_t>> LowerContext::constant_ints(int i) {
  KILN_ASSIGN_OR_RETURN(Tensor t, constant(i));
  std::vector<int64_t> v(t.num_elements());
  for (int64_t k = 0; k < t.num_elements(); ++k) v[k] = t.GetAsInt64(k);
  return v;
}

absl::StatusOr<float> LowerContext::constant_scalar(int i) {
  KILN_ASSIGN_OR_RETURN(Tensor t, constant(i));
  if (t.num_elements() != 1) return Error(kiln::StrCat("input ", i, " must be a scalar"));
  return static_cast<float>(t.GetAsDouble(0));
}

absl::Status LowerContext::Error(std::string_view message) const {
  return absl::InvalidArgumentError(kiln::StrCat(node_.op, " node '", node_.name, "': ", message));
}

absl::Status LowerContext::Unimplemented(std::string_view message) const {
  return absl::UnimplementedError(
      kiln::StrCat(node_.op, " node '", node_.name, "': ", message, " is not lowered to HLO"));
}

// ONNX axis (negative counts from the end) into [0, rank).
absl::StatusOr<int64_t> NormalizeAxis(LowerContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return ctx.Error(kiln::StrCat("axis ", axis, " is out of range for rank ", rank));
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
      return ctx.Error(kiln::StrCat("shapes ", DimsToString(da), " and ", DimsToString(db),
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

namespace {

using LowerFn = std::function<absl::Status(LowerContext&)>;

// Runtime op type → its lowering (defined in the lower_<family>.cc files).
const std::map<std::string, LowerFn>& LoweringTable() {
  static const auto* table = new std::map<std::string, LowerFn>{
      {"Add", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kAdd); }},
      {"Sub", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kSubtract); }},
      {"Mul", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kMultiply); }},
      {"Div", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kDivide); }},
      {"Max", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kMaximum); }},
      {"Min", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kMinimum); }},
      {"Sum", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kAdd); }},
      {"Mean", [](LowerContext& c) { return LowerBinary(c, hlo::Opcode::kAdd); }},
      {"Pow", LowerPow},
      {"Mod", LowerMod},
      {"Reciprocal", LowerReciprocal},
      {"HardSigmoid", LowerHardSigmoid},
      {"HardSwish", LowerHardSwish},
      {"Gelu", LowerGelu},
      {"LeakyRelu", LowerNegativeBranchActivation},
      {"Elu", LowerNegativeBranchActivation},
      {"Selu", LowerNegativeBranchActivation},
      {"Softsign", LowerNegativeBranchActivation},
      {"Softplus", LowerNegativeBranchActivation},
      {"Mish", LowerNegativeBranchActivation},
      {"ThresholdedRelu", LowerNegativeBranchActivation},
      {"Floor", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kFloor); }},
      {"Ceil", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kCeil); }},
      {"Round", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kRoundNearestEven); }},
      {"Sin", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kSin); }},
      {"Cos", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kCos); }},
      {"PRelu", LowerPRelu},
      {"Log", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kLog); }},
      {"Erf", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kErf); }},
      {"Relu", LowerRelu},
      {"Clip", LowerClip},
      {"Sigmoid", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kLogistic); }},
      {"Tanh", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kTanh); }},
      {"Exp", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kExp); }},
      {"Sqrt", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kSqrt); }},
      {"Neg", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kNegate); }},
      {"Abs", [](LowerContext& c) { return LowerUnary(c, hlo::Opcode::kAbs); }},
      {"Conv", LowerConv},
      {"NhwcConv", LowerNhwcConv},
      {"ConvTranspose", LowerConvTranspose},
      {"Gemm", LowerGemm},
      {"MatMul", LowerMatMul},
      {"LayerNormalization", LowerLayerNormalization},
      {"MaxPool", LowerMaxPool},
      {"AveragePool", LowerAveragePool},
      {"GlobalAveragePool", LowerGlobalAveragePool},
      {"ReduceMean", LowerReduce},
      {"ReduceSum", LowerReduce},
      {"ReduceMax", LowerReduce},
      {"ReduceMin", LowerReduce},
      {"ReduceProd", LowerReduce},
      {"ReduceSumSquare", LowerReduce},
      {"ReduceL1", LowerReduce},
      {"ReduceL2", LowerReduce},
      {"Reshape", LowerReshape},
      {"Squeeze", LowerSqueeze},
      {"Unsqueeze", LowerUnsqueeze},
      {"Flatten", LowerFlatten},
      {"Softmax", LowerSoftmax},
      {"LogSoftmax", LowerSoftmax},
      {"Concat", LowerConcat},
      {"Split", LowerSplit},
      {"Resize", LowerResize},
      {"Slice", LowerSlice},
      {"Expand", LowerExpand},
      {"Tile", LowerTile},
      {"Dropout", LowerDropout},
      {"GlobalMaxPool", LowerGlobalAveragePool},
      {"Transpose", LowerTranspose},
      {"Identity", LowerIdentity},
      {"Cast", LowerCast},
      {"Constant", LowerConstant},
      {"BatchNormalization", LowerBatchNormalization},
      {"Pad", LowerPad},
  };
  return *table;
}

}  // namespace
}  // namespace lowering

using lowering::ConstantFromTensor;
using lowering::LowerContext;
using lowering::LoweringTable;
using lowering::Op;
using lowering::PrimitiveType;
using lowering::ToPrimitiveType;
using lowering::Value;

bool HasLowering(const std::string& op) { return LoweringTable().count(op) > 0; }

absl::StatusOr<std::unique_ptr<hlo::Module>> LowerGraph(const Graph& graph, const std::string& module_name,
                                                        const std::vector<kiln::Dims>& input_dims) {
  if (!input_dims.empty() && input_dims.size() != graph.inputs.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("lowering graph '", graph.name, "': ", input_dims.size(),
                                                   " input shapes for ", graph.inputs.size(), " inputs"));
  }
  if (graph.outputs.empty()) {
    return absl::InvalidArgumentError(kiln::StrCat("lowering graph '", graph.name, "': it has no outputs"));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.TopologicalOrder());
  hlo::Builder b(module_name);
  std::map<std::string, Value> values;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ValueInfo& in = graph.inputs[i];
    const kiln::Dims& dims = input_dims.empty() ? in.dims : input_dims[i];
    if (!in.has_shape || NumElements(dims) < 0) {
      return absl::InvalidArgumentError(kiln::StrCat("lowering graph '", graph.name, "': input '", in.name,
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
          kiln::StrCat(node.op, " node '", node.name, "': op ", node.op, " has no lowering to HLO"));
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
            kiln::StrCat(node.op, " node '", node.name, "' reads '", in, "', which has no value"));
      }
      inputs.push_back(&it->second);
    }
    LowerContext ctx(b, node, std::move(inputs));
    KILN_RETURN_IF_ERROR(fn->second(ctx));
    if (absl::Status s = b.first_error(); !s.ok()) {
      return Annotate(s, kiln::StrCat("lowering ", node.op, " node '", node.name, "'"));
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      auto it = ctx.outputs().find(static_cast<int>(i));
      if (it == ctx.outputs().end()) {
        return absl::InternalError(kiln::StrCat(node.op, " node '", node.name, "': lowering gave no output ", i));
      }
      values[node.outputs[i]] = std::move(it->second);
    }
  }
  std::vector<Op> results;
  for (const ValueInfo& out : graph.outputs) {
    auto it = values.find(out.name);
    if (it == values.end()) {
      return absl::InvalidArgumentError(
          kiln::StrCat("lowering graph '", graph.name, "': output '", out.name, "' has no value"));
    }
    Value& v = it->second;
    if (!v.op.valid() && v.constant.has_value()) {
      KILN_ASSIGN_OR_RETURN(v.op, ConstantFromTensor(b, *v.constant));
    }
    results.push_back(v.op);
  }
  Op root = results.size() == 1 ? results[0] : b.Tuple(results);
  absl::StatusOr<std::unique_ptr<hlo::Module>> module = b.Build(root);
  if (!module.ok()) return Annotate(module.status(), kiln::StrCat("lowering graph '", graph.name, "'"));
  return module;
}

std::vector<std::string> UnsupportedInstructions(const hlo::Module& module, const backends::Backend& backend) {
  std::vector<std::string> unsupported;
  std::set<std::string> seen;
  for (const hlo::Computation* computation : module.MakeComputationPostOrder()) {
    for (const hlo::Instruction* instruction : computation->instructions()) {
      if (backend.IsOpSupported(*instruction)) continue;
      std::string text = kiln::StrCat(std::string(hlo::OpcodeString(instruction->opcode())), " ",
                                      instruction->shape().ToString(false));
      if (seen.insert(text).second) unsupported.push_back(text);
    }
  }
  return unsupported;
}

}  // namespace kiln::jit
