// The HLO opcode table: one X-macro row per opcode, (enum, text name, arity), arity -1 = variadic.
// Everything that lists opcodes (the enum, names, parser, docs/operation_semantics.md) derives
// from this table; docs/new_op.md lists the files a new row touches.
#ifndef KILN_HLO_OPCODE_H_
#define KILN_HLO_OPCODE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace kiln::hlo {

#define KILN_HLO_OPCODE_LIST(V)                                      \
  /* Leaves. */                                                      \
  V(kParameter, "parameter", 0)                                      \
  V(kConstant, "constant", 0)                                        \
  V(kIota, "iota", 0)                                                \
  /* Elementwise unary. */                                           \
  V(kAbs, "abs", 1)                                                  \
  V(kCeil, "ceil", 1)                                                \
  V(kFloor, "floor", 1)                                              \
  V(kRound, "round-nearest-afz", 1)                                  \
  V(kRoundNearestEven, "round-nearest-even", 1)                      \
  V(kCos, "cosine", 1)                                               \
  V(kSin, "sine", 1)                                                 \
  V(kTan, "tan", 1)                                                  \
  V(kTanh, "tanh", 1)                                                \
  V(kExp, "exponential", 1)                                          \
  V(kExpm1, "exponential-minus-one", 1)                              \
  V(kLog, "log", 1)                                                  \
  V(kLog1p, "log-plus-one", 1)                                       \
  V(kLogistic, "logistic", 1)                                        \
  V(kNegate, "negate", 1)                                            \
  V(kNot, "not", 1)                                                  \
  V(kPopulationCount, "popcnt", 1)                                   \
  V(kClz, "count-leading-zeros", 1)                                  \
  V(kRsqrt, "rsqrt", 1)                                              \
  V(kSqrt, "sqrt", 1)                                                \
  V(kCbrt, "cbrt", 1)                                                \
  V(kSign, "sign", 1)                                                \
  V(kErf, "erf", 1)                                                  \
  V(kIsFinite, "is-finite", 1)                                       \
  V(kCopy, "copy", 1)                                                \
  /* Elementwise binary. */                                          \
  V(kAdd, "add", 2)                                                  \
  V(kSubtract, "subtract", 2)                                        \
  V(kMultiply, "multiply", 2)                                        \
  V(kDivide, "divide", 2)                                            \
  V(kRemainder, "remainder", 2)                                      \
  V(kMaximum, "maximum", 2)                                          \
  V(kMinimum, "minimum", 2)                                          \
  V(kPower, "power", 2)                                              \
  V(kAtan2, "atan2", 2)                                              \
  V(kAnd, "and", 2)                                                  \
  V(kOr, "or", 2)                                                    \
  V(kXor, "xor", 2)                                                  \
  V(kShiftLeft, "shift-left", 2)                                     \
  V(kShiftRightArithmetic, "shift-right-arithmetic", 2)              \
  V(kShiftRightLogical, "shift-right-logical", 2)                    \
  V(kCompare, "compare", 2)                                          \
  /* Elementwise ternary. */                                         \
  V(kSelect, "select", 3)                                            \
  V(kClamp, "clamp", 3)                                              \
  /* Data movement and type changes. */                              \
  V(kBroadcast, "broadcast", 1)                                      \
  V(kReshape, "reshape", 1)                                          \
  V(kBitcast, "bitcast", 1)                                          \
  V(kTranspose, "transpose", 1)                                      \
  V(kSlice, "slice", 1)                                              \
  V(kDynamicSlice, "dynamic-slice", -1)                              \
  V(kDynamicUpdateSlice, "dynamic-update-slice", -1)                 \
  V(kConcatenate, "concatenate", -1)                                 \
  V(kPad, "pad", 2)                                                  \
  V(kReverse, "reverse", 1)                                          \
  V(kConvert, "convert", 1)                                          \
  V(kBitcastConvert, "bitcast-convert", 1)                           \
  V(kReducePrecision, "reduce-precision", 1)                         \
  /* Contractions. */                                                \
  V(kDot, "dot", 2)                                                  \
  V(kConvolution, "convolution", 2)                                  \
  /* Reductions, windows, indexing. */                               \
  V(kReduce, "reduce", -1)                                           \
  V(kReduceWindow, "reduce-window", -1)                              \
  V(kSelectAndScatter, "select-and-scatter", 3)                      \
  V(kGather, "gather", 2)                                            \
  V(kScatter, "scatter", -1)                                         \
  V(kSort, "sort", -1)                                               \
  V(kMap, "map", -1)                                                 \
  /* Control flow and tuples. */                                     \
  V(kCall, "call", -1)                                               \
  V(kFusion, "fusion", -1)                                           \
  V(kWhile, "while", 1)                                              \
  V(kConditional, "conditional", -1)                                 \
  V(kTuple, "tuple", -1)                                             \
  V(kGetTupleElement, "get-tuple-element", 1)                        \
  /* Random numbers, normalization, quantization, extensions. */     \
  V(kRngBitGenerator, "rng-bit-generator", 1)                        \
  V(kBatchNormInference, "batch-norm-inference", 5)                  \
  V(kBatchNormTraining, "batch-norm-training", 3)                    \
  V(kBatchNormGrad, "batch-norm-grad", 5)                            \
  V(kUniformQuantize, "uniform-quantize", 1)                         \
  V(kUniformDequantize, "uniform-dequantize", 1)                     \
  V(kCustomCall, "custom-call", -1)

enum class Opcode : uint8_t {
#define KILN_HLO_OPCODE_ENUM_(enum_name, text, arity) enum_name,
  KILN_HLO_OPCODE_LIST(KILN_HLO_OPCODE_ENUM_)
#undef KILN_HLO_OPCODE_ENUM_
};

// Number of rows in the table.
inline constexpr int kOpcodeCount = 0
#define KILN_HLO_OPCODE_COUNT_(enum_name, text, arity) +1
    KILN_HLO_OPCODE_LIST(KILN_HLO_OPCODE_COUNT_)
#undef KILN_HLO_OPCODE_COUNT_
    ;

// The text name ("add", "get-tuple-element").
std::string_view OpcodeString(Opcode opcode);
// Inverse of OpcodeString; NotFound naming `name` when no opcode has it.
absl::StatusOr<Opcode> StringToOpcode(std::string_view name);
// Operand count, or std::nullopt for variadic opcodes.
std::optional<int> OpcodeArity(Opcode opcode);
// Whether instructions of this opcode may call computations (to_apply, condition/body, branches,
// comparators, custom-call's called computations). The verifier refuses calls from any other.
bool OpcodeCallsComputations(Opcode opcode);

// Elementwise classes (the shape rule is the one of their operands).
bool IsElementwiseUnary(Opcode opcode);   // kAbs .. kCopy.
bool IsElementwiseBinary(Opcode opcode);  // kAdd .. kCompare.
bool IsElementwise(Opcode opcode);        // Unary, binary, select, clamp, convert.

}  // namespace kiln::hlo

#endif  // KILN_HLO_OPCODE_H_
