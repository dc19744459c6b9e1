// Shared checks of the per-op shape functions, and InferShape(const Instruction&), which hands an
// instruction's operand shapes and attributes to the function of its opcode.
#include "kiln/hlo/shape_inference.h"

#include <algorithm>
#include <limits>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "hlo/shape_inference_internal.h"
#include "kiln/hlo/computation.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace shape_inference_internal {

std::string Dims(absl::Span<const int64_t> d) {
  return kiln::StrCat("{", absl::StrJoin(d, ","), "}");
}

bool IsPermutation(absl::Span<const int64_t> p, int64_t rank) {
  if (static_cast<int64_t>(p.size()) != rank) return false;
  std::vector<bool> seen(rank, false);
  for (int64_t x : p) {
    if (x < 0 || x >= rank || seen[x]) return false;
    seen[x] = true;
  }
  return true;
}

bool Contains(absl::Span<const int64_t> v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

absl::Status CheckDimsInRange(absl::Span<const int64_t> dims, int64_t rank, std::string_view what) {
  std::vector<bool> seen(rank, false);
  for (int64_t d : dims) {
    if (d < 0 || d >= rank) return Err(what, " dimension ", d, " out of range for rank ", rank);
    if (seen[d]) return Err(what, " dimension ", d, " repeated");
    seen[d] = true;
  }
  return absl::OkStatus();
}

// Computed in 128 bits: at most two 64-bit values multiply.
absl::StatusOr<int64_t> WindowOutputSize(int64_t base, const WindowDimension& w) {
  __int128 dilated_base = base == 0 ? 0 : static_cast<__int128>(base - 1) * w.base_dilation + 1;
  __int128 padded = dilated_base + w.padding_low + w.padding_high;
  __int128 dilated_window = static_cast<__int128>(w.size - 1) * w.window_dilation + 1;
  if (padded < dilated_window) return 0;
  __int128 size = (padded - dilated_window) / w.stride + 1;
  if (size > std::numeric_limits<int64_t>::max()) {
    return absl::InvalidArgumentError("window output size overflows 64 bits");
  }
  return static_cast<int64_t>(size);
}

absl::Status CheckWindow(const Window& window, int64_t rank) {
  if (static_cast<int64_t>(window.dimensions.size()) != rank) {
    return Err("window has ", window.dimensions.size(), " dimensions, operand rank is ", rank);
  }
  for (const WindowDimension& w : window.dimensions) {
    if (w.size < 0 || w.stride < 1 || w.window_dilation < 1 || w.base_dilation < 1) {
      return Err("window sizes must be >= 0 and strides/dilations >= 1");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSameType(const Shape& a, const Shape& b, std::string_view what) {
  if (a.element_type() != b.element_type()) {
    return Err(what, ": element types differ (", PrimitiveTypeName(a.element_type()), " vs ",
               PrimitiveTypeName(b.element_type()), ")");
  }
  return absl::OkStatus();
}

absl::Status CheckScalarComputation(const Computation* c, int64_t n, int64_t results,
                                    std::string_view what) {
  if (c == nullptr) return Err(what, ": missing computation");
  if (c->num_parameters() != n) {
    return Err(what, ": computation %", c->name(), " takes ", c->num_parameters(),
               " parameters, expected ", n);
  }
  const Shape& r = c->root_instruction()->shape();
  if (results == 1 ? !r.IsScalar() : (!r.IsTuple() || r.tuple_shapes_size() != results)) {
    return Err(what, ": computation %", c->name(), " returns ", r.ToString(false), ", expected ",
               results, " scalar(s)");
  }
  return absl::OkStatus();
}

Shape ShapeOrTuple(std::vector<Shape> results) {
  if (results.size() == 1) return results[0];
  return ShapeUtil::MakeTupleShape(std::move(results));
}

}  // namespace shape_inference_internal

using shape_inference_internal::Dims;
using shape_inference_internal::Err;

namespace {

// The instruction's called computation `i` when it calls exactly `count`; nullptr otherwise (the
// shape functions report a missing computation).
const Computation* CalledComputation(const Instruction& instr, size_t count, size_t i) {
  const std::vector<Computation*>& called = instr.called_computations();
  return called.size() == count ? called[i] : nullptr;
}

// The declared result element type of a dot or convolution, when it has one.
std::optional<PrimitiveType> DeclaredElementType(const Instruction& instr) {
  if (!instr.shape().valid()) return std::nullopt;
  return instr.shape().element_type();
}

}  // namespace

// One case per opcode, each a call of its shape function (the header lists them by family).
absl::StatusOr<Shape> InferShape(const Instruction& instr) {
  std::vector<const Shape*> ops;
  for (const Instruction* op : instr.operands()) {
    if (op == nullptr) return Err("null operand");
    ops.push_back(&op->shape());
  }
  const absl::Span<const Shape* const> all(ops);
  const Shape& given = instr.shape();
  Opcode opcode = instr.opcode();
  if (std::optional<int> arity = OpcodeArity(opcode); arity && *arity != instr.operand_count()) {
    return Err("expects ", *arity, " operands, got ", instr.operand_count());
  }
  if (IsElementwiseUnary(opcode)) return InferUnaryOpShape(opcode, *ops[0]);
  if (IsElementwiseBinary(opcode)) return InferBinaryOpShape(opcode, *ops[0], *ops[1]);

  switch (opcode) {
    case Opcode::kParameter:
    case Opcode::kCustomCall:
      KILN_RETURN_IF_ERROR(ShapeUtil::ValidateShape(given));
      return given;
    case Opcode::kConstant:
      return instr.literal().shape();
    case Opcode::kIota:
      return InferIotaShape(given, instr.dimensions());
    case Opcode::kSelect:
      return InferSelectShape(*ops[0], *ops[1], *ops[2]);
    case Opcode::kClamp:
      return InferClampShape(*ops[0], *ops[1], *ops[2]);
    case Opcode::kBroadcast:
      return InferBroadcastInDimShape(*ops[0], given, instr.dimensions());
    case Opcode::kReshape:
    case Opcode::kBitcast:
      return InferReshapeShape(*ops[0], given);
    case Opcode::kTranspose:
      return InferTransposeShape(*ops[0], instr.dimensions());
    case Opcode::kSlice:
      return InferSliceShape(*ops[0], instr.slice_starts(), instr.slice_limits(),
                             instr.slice_strides());
    case Opcode::kDynamicSlice:
      if (ops.empty()) return Err("needs an operand and start indices");
      return InferDynamicSliceShape(*ops[0], all.subspan(1), instr.slice_sizes());
    case Opcode::kDynamicUpdateSlice:
      if (ops.size() < 2) return Err("needs an operand, an update and start indices");
      return InferDynamicUpdateSliceShape(*ops[0], *ops[1], all.subspan(2));
    case Opcode::kConcatenate:
      return InferConcatenateShape(all, instr.dimensions());
    case Opcode::kPad:
      return InferPadShape(*ops[0], *ops[1], instr.padding_config());
    case Opcode::kReverse:
      return InferReverseShape(*ops[0], instr.dimensions());
    case Opcode::kConvert:
      return InferConvertShape(*ops[0], given.element_type());
    case Opcode::kBitcastConvert:
      return InferBitcastConvertShape(*ops[0], given.element_type());
    case Opcode::kReducePrecision:
      return InferReducePrecisionShape(*ops[0], instr.exponent_bits(), instr.mantissa_bits());
    case Opcode::kDot:
      return InferDotShape(*ops[0], *ops[1], instr.dot_dimension_numbers(),
                           DeclaredElementType(instr));
    case Opcode::kConvolution:
      return InferConvolveShape(*ops[0], *ops[1], instr.feature_group_count(),
                                instr.batch_group_count(), instr.window(),
                                instr.convolution_dimension_numbers(), DeclaredElementType(instr));
    case Opcode::kGather:
      return InferGatherShape(*ops[0], *ops[1], instr.gather_dimension_numbers(),
                              instr.slice_sizes());
    case Opcode::kReduce:
      return InferReduceShape(all, instr.dimensions(), CalledComputation(instr, 1, 0));
    case Opcode::kReduceWindow:
      return InferReduceWindowShape(all, instr.window(), CalledComputation(instr, 1, 0));
    case Opcode::kSelectAndScatter:
      return InferSelectAndScatterShape(*ops[0], CalledComputation(instr, 2, 0), instr.window(),
                                        *ops[1], *ops[2], CalledComputation(instr, 2, 1));
    case Opcode::kScatter:
      return InferScatterShape(all, CalledComputation(instr, 1, 0));
    case Opcode::kSort:
      return InferSortShape(all, instr.dimensions(), CalledComputation(instr, 1, 0));
    case Opcode::kMap:
      return InferMapShape(all, CalledComputation(instr, 1, 0));
    case Opcode::kCall:
    case Opcode::kFusion:
      return InferCallShape(all, CalledComputation(instr, 1, 0));
    case Opcode::kWhile:
      return InferWhileShape(*ops[0], CalledComputation(instr, 2, 0),
                             CalledComputation(instr, 2, 1));
    case Opcode::kConditional:
      return InferConditionalShape(all, instr.called_computations());
    case Opcode::kTuple:
      return InferTupleShape(all);
    case Opcode::kGetTupleElement:
      return InferGetTupleElementShape(*ops[0], instr.tuple_index());
    case Opcode::kRngBitGenerator:
      return InferRngBitGeneratorShape(*ops[0], given);
    case Opcode::kBatchNormInference:
      return InferBatchNormInferenceShape(*ops[0], *ops[1], *ops[2], *ops[3], *ops[4],
                                          instr.feature_index());
    case Opcode::kBatchNormTraining:
      return InferBatchNormTrainingShape(*ops[0], *ops[1], *ops[2], instr.feature_index());
    case Opcode::kBatchNormGrad:
      return InferBatchNormGradShape(*ops[0], *ops[1], *ops[2], *ops[3], *ops[4],
                                     instr.feature_index());
    case Opcode::kUniformQuantize:
    case Opcode::kUniformDequantize:
      return InferUniformQuantizationShape(opcode, *ops[0], given.element_type(),
                                           instr.quantization());
    default:
      return Err("no shape rule for ", OpcodeString(opcode));
  }
}

absl::StatusOr<Shape> InferBroadcastShape(const Shape& a, const Shape& b,
                                          absl::Span<const int64_t> broadcast_dimensions) {
  if (!a.IsArray() || !b.IsArray()) return Err("operands must be arrays");
  if (a.IsScalar()) return ShapeUtil::ChangeElementType(b, a.element_type());
  if (b.IsScalar()) return a;
  if (a.rank() == b.rank()) {
    if (!broadcast_dimensions.empty()) {
      bool identity = static_cast<int64_t>(broadcast_dimensions.size()) == a.rank();
      for (int64_t i = 0; identity && i < a.rank(); ++i) identity = broadcast_dimensions[i] == i;
      if (!identity) {
        return Err("broadcast_dimensions ", Dims(broadcast_dimensions),
                   " given for operands of equal rank");
      }
    }
    std::vector<int64_t> dims(a.rank());
    for (int64_t i = 0; i < a.rank(); ++i) {
      int64_t x = a.dimensions(i), y = b.dimensions(i);
      if (x == y || y == 1) {
        dims[i] = x;
      } else if (x == 1) {
        dims[i] = y;
      } else {
        return Err("dimension ", i, " differs (", x, " vs ", y,
                   ") and neither is 1 (degenerate)");
      }
    }
    return ShapeUtil::MakeShape(a.element_type(), dims);
  }
  const Shape& big = a.rank() > b.rank() ? a : b;
  const Shape& small = a.rank() > b.rank() ? b : a;
  if (static_cast<int64_t>(broadcast_dimensions.size()) != small.rank()) {
    return Err("operands of ranks ", a.rank(), " and ", b.rank(),
               " need broadcast_dimensions with one entry per dimension of the lower-rank operand "
               "(got ", Dims(broadcast_dimensions), ")");
  }
  std::vector<int64_t> dims = big.dimensions();
  for (int64_t i = 0; i < small.rank(); ++i) {
    int64_t d = broadcast_dimensions[i];
    if (d < 0 || d >= big.rank()) return Err("broadcast dimension ", d, " out of range");
    if (i > 0 && d <= broadcast_dimensions[i - 1]) {
      return Err("broadcast_dimensions must be strictly increasing");
    }
    int64_t x = small.dimensions(i), y = big.dimensions(d);
    if (x == y || x == 1) continue;
    if (y == 1) {
      dims[d] = x;
      continue;
    }
    return Err("dimension ", i, " (", x, ") of the lower-rank operand does not match dimension ",
               d, " (", y, ")");
  }
  return ShapeUtil::MakeShape(a.element_type(), dims);
}

}  // namespace kiln::hlo
