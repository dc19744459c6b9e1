// The evaluator's driver (hlo::Evaluate, computations, control flow, tuples), and the opcodes that
// call computations per element (sort, map) or are small (quantization).
#include "hlo/evaluator/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/native_types.h"
#include "kiln/support/stable_sort.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace evaluator {
namespace {

using hlo::Literal;
using hlo::Opcode;
using hlo::ShapeUtil;

absl::StatusOr<Literal> EvalInstruction(const hlo::Instruction& instr, Operands ops,
                                        absl::Span<const Literal* const> args) {
  Opcode op = instr.opcode();
  if (hlo::IsElementwise(op) || op == Opcode::kBitcastConvert || op == Opcode::kReducePrecision) {
    return EvalElementwise(instr, ops);
  }
  switch (op) {
    case Opcode::kParameter:
      return *args[instr.parameter_number()];
    case Opcode::kConstant:
      return instr.literal();
    case Opcode::kIota:
    case Opcode::kBroadcast:
    case Opcode::kReshape:
    case Opcode::kBitcast:
    case Opcode::kTranspose:
    case Opcode::kSlice:
    case Opcode::kDynamicSlice:
    case Opcode::kDynamicUpdateSlice:
    case Opcode::kConcatenate:
    case Opcode::kPad:
    case Opcode::kReverse:
      return EvalDataMovement(instr, ops);
    case Opcode::kDot:
      return EvalDot(instr, ops);
    case Opcode::kConvolution:
      return EvalConvolution(instr, ops);
    case Opcode::kReduce:
      return EvalReduce(instr, ops);
    case Opcode::kReduceWindow:
      return EvalReduceWindow(instr, ops);
    case Opcode::kSort:
      return EvalSort(instr, ops);
    case Opcode::kMap:
      return EvalMap(instr, ops);
    case Opcode::kBatchNormInference:
      return EvalBatchNormInference(instr, ops);
    case Opcode::kBatchNormTraining:
      return EvalBatchNormTraining(instr, ops);
    case Opcode::kBatchNormGrad:
      return EvalBatchNormGrad(instr, ops);
    case Opcode::kRngBitGenerator:
      return EvalRngBitGenerator(instr, ops);
    case Opcode::kGather:
    case Opcode::kScatter:
    case Opcode::kSelectAndScatter:
    case Opcode::kCustomCall:
      return EvalIndexing(instr, ops);
    case Opcode::kUniformQuantize:
    case Opcode::kUniformDequantize:
      return EvalQuantize(instr, ops);
    case Opcode::kTuple: {
      std::vector<Literal> elements;
      for (const Literal* l : ops) elements.push_back(*l);
      return Literal::MakeTuple(std::move(elements));
    }
    case Opcode::kGetTupleElement:
      return ops[0]->tuple_elements()[instr.tuple_index()];
    case Opcode::kCall:
    case Opcode::kFusion:
      return EvaluateComputation(*instr.to_apply(), ops);
    case Opcode::kWhile: {
      const hlo::Computation& cond = *instr.called_computations()[0];
      const hlo::Computation& body = *instr.called_computations()[1];
      Literal state = *ops[0];
      while (true) {
        const Literal* a[] = {&state};
        KILN_ASSIGN_OR_RETURN(Literal c, EvaluateComputation(cond, a));
        if (!c.data<bool>()[0]) return state;
        KILN_ASSIGN_OR_RETURN(state, EvaluateComputation(body, a));
      }
    }
    case Opcode::kConditional: {
      const auto& branches = instr.called_computations();
      int64_t b;
      if (ops[0]->shape().element_type() == hlo::PrimitiveType::PRED) {
        b = ops[0]->data<bool>()[0] ? 0 : 1;
      } else {
        b = ops[0]->GetAsInt64(0);
        if (b < 0 || b >= static_cast<int64_t>(branches.size())) b = branches.size() - 1;
      }
      const Literal* a[] = {ops[1 + b]};
      return EvaluateComputation(*branches[b], a);
    }
    default:
      return absl::UnimplementedError(kiln::StrCat("the interpreter does not implement ",
                                          hlo::OpcodeString(op), " (instruction %", instr.name(),
                                          ")"));
  }
}

}  // namespace

Literal ScalarAt(const Literal& l, int64_t i) {
  Literal s(ShapeUtil::MakeScalarShape(l.shape().element_type()));
  int64_t w = hlo::ByteWidth(l.shape().element_type());
  std::memcpy(s.untyped_data(), static_cast<const uint8_t*>(l.untyped_data()) + i * w, w);
  return s;
}

void StoreScalarAt(Literal& l, int64_t i, const Literal& s) {
  int64_t w = hlo::ByteWidth(l.shape().element_type());
  std::memcpy(static_cast<uint8_t*>(l.untyped_data()) + i * w, s.untyped_data(), w);
}

std::optional<Opcode> SimpleBinaryComputation(const hlo::Computation& c) {
  const hlo::Instruction* root = c.root_instruction();
  if (c.num_parameters() != 2 || c.instruction_count() != 3 || root->operand_count() != 2) {
    return std::nullopt;
  }
  if (!hlo::IsElementwiseBinary(root->opcode()) || root->opcode() == Opcode::kCompare) {
    return std::nullopt;
  }
  if (root->operand(0) != c.parameter_instruction(0) ||
      root->operand(1) != c.parameter_instruction(1)) {
    return std::nullopt;
  }
  if (!root->shape().IsScalar()) return std::nullopt;
  return root->opcode();
}

absl::StatusOr<Literal> EvaluateComputation(const hlo::Computation& computation,
                                            absl::Span<const Literal* const> args) {
  if (static_cast<int64_t>(args.size()) != computation.num_parameters()) {
    return absl::InvalidArgumentError(kiln::StrCat("computation %", computation.name(), " takes ",
                                          computation.num_parameters(), " arguments, got ",
                                          args.size()));
  }
  std::vector<const hlo::Instruction*> order;
  for (const hlo::Instruction* i : computation.MakeInstructionPostOrder()) order.push_back(i);
  absl::flat_hash_map<const hlo::Instruction*, Literal> values;
  // Remaining uses per value, so that intermediates are freed once consumed.
  absl::flat_hash_map<const hlo::Instruction*, int64_t> uses;
  for (const hlo::Instruction* i : order) {
    for (const hlo::Instruction* op : i->operands()) ++uses[op];
  }
  for (const hlo::Instruction* instr : order) {
    std::vector<const Literal*> ops;
    for (const hlo::Instruction* op : instr->operands()) ops.push_back(&values.at(op));
    absl::StatusOr<Literal> v = EvalInstruction(*instr, ops, args);
    if (!v.ok()) {
      return Annotate(v.status(), kiln::StrCat("evaluating %", instr->name(), " in %", computation.name()));
    }
    for (const hlo::Instruction* op : instr->operands()) {
      if (--uses[op] == 0 && op != computation.root_instruction()) values.erase(op);
    }
    values[instr] = *std::move(v);
  }
  return std::move(values.at(computation.root_instruction()));
}

absl::StatusOr<Literal> EvalSort(const hlo::Instruction& instr, Operands ops) {
  const hlo::Computation& cmp = *instr.to_apply();
  const hlo::Shape& shape = ops[0]->shape();
  const int64_t n = static_cast<int64_t>(ops.size());
  std::vector<Literal> outs;
  for (const Literal* l : ops) outs.push_back(*l);
  if (shape.rank() == 0) {
    if (n == 1) return std::move(outs[0]);
    return Literal::MakeTuple(std::move(outs));
  }
  const int64_t dim = instr.dimensions(0);
  const int64_t len = shape.dimensions(dim);
  auto strides = ShapeUtil::RowMajorStrides(shape.dimensions());
  std::vector<int64_t> outer = shape.dimensions();
  outer[dim] = 1;
  absl::Status status;
  ForEachIndex(outer, [&](absl::Span<const int64_t> idx) {
    if (!status.ok()) return;
    int64_t base = 0;
    for (size_t i = 0; i < idx.size(); ++i) base += idx[i] * strides[i];
    std::vector<int64_t> perm(len);
    std::iota(perm.begin(), perm.end(), 0);
    auto less = [&](int64_t a, int64_t b) {
      if (!status.ok()) return false;
      std::vector<Literal> scalars;
      for (int64_t k = 0; k < n; ++k) {
        scalars.push_back(ScalarAt(*ops[k], base + a * strides[dim]));
        scalars.push_back(ScalarAt(*ops[k], base + b * strides[dim]));
      }
      std::vector<const Literal*> args;
      for (const Literal& s : scalars) args.push_back(&s);
      absl::StatusOr<Literal> r = EvaluateComputation(cmp, args);
      if (!r.ok()) {
        status = r.status();
        return false;
      }
      return r->data<bool>()[0];
    };
    // A stable sort satisfies is_stable either way, and stays in range whatever the comparator does.
    StableSort(perm, less);
    for (int64_t k = 0; k < n; ++k) {
      int64_t w = hlo::ByteWidth(ops[k]->shape().element_type());
      auto* dst = static_cast<uint8_t*>(outs[k].untyped_data());
      auto* src = static_cast<const uint8_t*>(ops[k]->untyped_data());
      for (int64_t i = 0; i < len; ++i) {
        std::memcpy(dst + (base + i * strides[dim]) * w, src + (base + perm[i] * strides[dim]) * w, w);
      }
    }
  });
  KILN_RETURN_IF_ERROR(status);
  if (n == 1) return std::move(outs[0]);
  return Literal::MakeTuple(std::move(outs));
}

absl::StatusOr<Literal> EvalMap(const hlo::Instruction& instr, Operands ops) {
  Literal out(instr.shape());
  int64_t count = ShapeUtil::ElementsIn(instr.shape());
  int64_t w = hlo::ByteWidth(instr.shape().element_type());
  for (int64_t i = 0; i < count; ++i) {
    std::vector<Literal> scalars;
    for (const Literal* l : ops) scalars.push_back(ScalarAt(*l, i));
    std::vector<const Literal*> args;
    for (const Literal& s : scalars) args.push_back(&s);
    KILN_ASSIGN_OR_RETURN(Literal r, EvaluateComputation(*instr.to_apply(), args));
    std::memcpy(static_cast<uint8_t*>(out.untyped_data()) + i * w, r.untyped_data(), w);
  }
  return out;
}

// Quantize: q = clamp(round_half_even(x / scale) + zero_point, storage range).
// Dequantize: x = scale * (q - zero_point). Both computed in double.
absl::StatusOr<Literal> EvalQuantize(const hlo::Instruction& instr, Operands ops) {
  const hlo::QuantizationParams& q = instr.quantization();
  const hlo::Shape& shape = ops[0]->shape();
  Literal out(instr.shape());
  int64_t count = ShapeUtil::ElementsIn(shape);
  auto strides = ShapeUtil::RowMajorStrides(shape.dimensions());
  auto channel = [&](int64_t i) -> int64_t {
    if (q.quantization_dimension < 0) return 0;
    return (i / strides[q.quantization_dimension]) % shape.dimensions(q.quantization_dimension);
  };
  if (instr.opcode() == Opcode::kUniformQuantize) {
    hlo::DispatchArrayType(instr.shape().element_type(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        auto dst = out.data<T>();
        const double lo = static_cast<double>(std::numeric_limits<T>::min());
        const double hi = static_cast<double>(std::numeric_limits<T>::max());
        for (int64_t i = 0; i < count; ++i) {
          int64_t c = channel(i);
          double v = std::nearbyint(ops[0]->GetAsDouble(i) / q.scales[c]) +
                     static_cast<double>(q.zero_points[c]);
          dst[i] = static_cast<T>(std::clamp(v, lo, hi));
        }
      }
    });
    return out;
  }
  for (int64_t i = 0; i < count; ++i) {
    int64_t c = channel(i);
    out.SetFromDouble(i, q.scales[c] * static_cast<double>(ops[0]->GetAsInt64(i) - q.zero_points[c]));
  }
  return out;
}

}  // namespace evaluator

bool CanEvaluate(const Instruction& instruction) {
  if (instruction.opcode() == Opcode::kCustomCall) {
    return evaluator::IsKnownCustomCallTarget(instruction.custom_call_target());
  }
  return true;
}

absl::StatusOr<Literal> Evaluate(const Module& module, absl::Span<const Literal> args) {
  const hlo::Computation* entry = module.entry_computation();
  if (entry == nullptr) return absl::InvalidArgumentError("module has no entry computation");
  if (static_cast<int64_t>(args.size()) != entry->num_parameters()) {
    return absl::InvalidArgumentError(kiln::StrCat(
        "Evaluate: ", args.size(), " arguments for ", entry->num_parameters(), " parameters"));
  }
  std::vector<const hlo::Literal*> ptrs;
  for (size_t i = 0; i < args.size(); ++i) {
    const hlo::Shape& p = entry->parameter_instruction(i)->shape();
    if (!hlo::ShapeUtil::Compatible(p, args[i].shape())) {
      return absl::InvalidArgumentError(kiln::StrCat(
          "Evaluate: argument ", i, " is ", args[i].shape().ToString(false), ", parameter %",
          entry->parameter_instruction(i)->name(), " is ", p.ToString(false)));
    }
    ptrs.push_back(&args[i]);
  }
  return evaluator::EvaluateComputation(*entry, ptrs);
}

}  // namespace kiln::hlo
