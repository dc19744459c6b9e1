// hlo::Builder: builds an HLO module op by op, inferring each result shape as XLA's operation
// semantics define it.
//
//   hlo::Builder b("main");
//   hlo::Op x = b.Parameter(0, hlo::ShapeUtil::MakeShape(hlo::PrimitiveType::F32, {2, 3}), "x");
//   hlo::Op y = b.Add(x, b.ConstantR0<float>(1.0f));       // scalars broadcast implicitly
//   absl::StatusOr<std::unique_ptr<hlo::Module>> m = b.Build(y);
//
// Errors are deferred: an op whose operands do not fit records an error naming the op and its
// operands' shapes and returns an invalid Op; ops on invalid Ops return invalid Ops silently; the
// first error is returned by Build(). Broadcasting follows XLA: a scalar operand broadcasts
// implicitly; operands of different ranks need `broadcast_dimensions` (the lower-rank operand's
// dimension i maps to dimension broadcast_dimensions[i] of the higher-rank one); equal-rank operands
// may differ only in size-1 (degenerate) dimensions, which stretch. Anything else is an error.
//
// Sub-computations (reduce's to_apply, sort's comparator, while's body, ...) come from a sub-builder
// (CreateSubBuilder, then BuildSubComputation) or from ScalarComputation(). Sub-builders share the
// module and the error list with their parent.
//
// A Builder is not thread-safe.
#ifndef KILN_HLO_BUILDER_H_
#define KILN_HLO_BUILDER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/instruction.h"
#include "kiln/hlo/literal.h"
#include "kiln/hlo/module.h"
#include "kiln/hlo/shape.h"

namespace kiln::hlo {

class Builder;

// A handle to an instruction being built. Cheap to copy. Invalid after a failed op.
class Op {
 public:
  Op() = default;
  bool valid() const { return instruction_ != nullptr; }
  Builder* builder() const { return builder_; }
  Instruction* instruction() const { return instruction_; }
  // The inferred shape; an invalid Shape when !valid().
  const Shape& shape() const;

 private:
  friend class Builder;
  Op(Builder* builder, Instruction* instruction) : builder_(builder), instruction_(instruction) {}
  Builder* builder_ = nullptr;
  Instruction* instruction_ = nullptr;
};

// Low/high padding of one spatial dimension.
using PaddingPair = std::pair<int64_t, int64_t>;

class Builder {
 public:
  // A builder for a module (and its entry computation) named `name`.
  explicit Builder(std::string name);
  ~Builder();
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  // A builder of another computation of the same module (its errors surface in Build()).
  std::unique_ptr<Builder> CreateSubBuilder(std::string_view name);
  // Finishes a sub-builder's computation with `root` and adds it to the module. Returns nullptr
  // (and records an error) when `root` is invalid; ops given nullptr computations are invalid.
  Computation* BuildSubComputation(Op root);
  // `(x: T[], y: T[]) -> T[] { ROOT binary(x, y) }` for a binary elementwise opcode (kAdd, kMaximum,
  // kMinimum, kMultiply, kAnd, kOr, ...); one computation per (opcode, type) per module.
  Computation* ScalarComputation(Opcode binary, PrimitiveType type);

  // Finishes the entry computation with `root`, runs the verifier and returns the module; the first
  // recorded error otherwise. The builder must not be used afterwards.
  absl::StatusOr<std::unique_ptr<Module>> Build(Op root);

  // The first recorded error (OK when none).
  absl::Status first_error() const;
  // Records an error (op lowering code may use this for its own checks); Build() will fail.
  void ReportError(absl::Status status);
  // The shape of `op`, or the recorded error / InvalidArgument when `op` is invalid.
  absl::StatusOr<Shape> GetShape(Op op) const;

  // --- Leaves ---------------------------------------------------------------------------------
  Op Parameter(int64_t number, const Shape& shape, std::string_view name);
  Op ConstantLiteral(Literal literal);
  template <typename T>
  Op ConstantR0(T value) {
    return ConstantLiteral(Literal::CreateR0<T>(value));
  }
  template <typename T>
  Op ConstantR1(absl::Span<const T> values) {
    return ConstantLiteral(Literal::CreateR1<T>(values));
  }
  // A scalar of `type` holding `value` converted (as convert does).
  Op ConstantScalar(PrimitiveType type, double value);
  // Iota along `iota_dimension` of `shape`.
  Op Iota(const Shape& shape, int64_t iota_dimension);

  // --- Elementwise ----------------------------------------------------------------------------
  Op Unary(Opcode opcode, Op operand);
  Op Abs(Op x) { return Unary(Opcode::kAbs, x); }
  Op Ceil(Op x) { return Unary(Opcode::kCeil, x); }
  Op Floor(Op x) { return Unary(Opcode::kFloor, x); }
  Op Round(Op x) { return Unary(Opcode::kRound, x); }
  Op RoundNearestEven(Op x) { return Unary(Opcode::kRoundNearestEven, x); }
  Op Cos(Op x) { return Unary(Opcode::kCos, x); }
  Op Sin(Op x) { return Unary(Opcode::kSin, x); }
  Op Tan(Op x) { return Unary(Opcode::kTan, x); }
  Op Tanh(Op x) { return Unary(Opcode::kTanh, x); }
  Op Exp(Op x) { return Unary(Opcode::kExp, x); }
  Op Expm1(Op x) { return Unary(Opcode::kExpm1, x); }
  Op Log(Op x) { return Unary(Opcode::kLog, x); }
  Op Log1p(Op x) { return Unary(Opcode::kLog1p, x); }
  Op Logistic(Op x) { return Unary(Opcode::kLogistic, x); }
  Op Neg(Op x) { return Unary(Opcode::kNegate, x); }
  Op Not(Op x) { return Unary(Opcode::kNot, x); }
  Op PopulationCount(Op x) { return Unary(Opcode::kPopulationCount, x); }
  Op Clz(Op x) { return Unary(Opcode::kClz, x); }
  Op Rsqrt(Op x) { return Unary(Opcode::kRsqrt, x); }
  Op Sqrt(Op x) { return Unary(Opcode::kSqrt, x); }
  Op Cbrt(Op x) { return Unary(Opcode::kCbrt, x); }
  Op Sign(Op x) { return Unary(Opcode::kSign, x); }
  Op Erf(Op x) { return Unary(Opcode::kErf, x); }
  Op IsFinite(Op x) { return Unary(Opcode::kIsFinite, x); }
  Op Copy(Op x) { return Unary(Opcode::kCopy, x); }

  // Binary elementwise ops with XLA's implicit broadcasting (see the file comment). When the
  // operands differ in shape, explicit broadcast instructions are inserted so the emitted binary
  // instruction has operands of its own shape (as XLA's builder does).
  Op Binary(Opcode opcode, Op lhs, Op rhs, absl::Span<const int64_t> broadcast_dimensions = {});
  Op Add(Op a, Op b, absl::Span<const int64_t> bd = {}) { return Binary(Opcode::kAdd, a, b, bd); }
  Op Sub(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kSubtract, a, b, bd);
  }
  Op Mul(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kMultiply, a, b, bd);
  }
  Op Div(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kDivide, a, b, bd);
  }
  Op Rem(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kRemainder, a, b, bd);
  }
  Op Max(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kMaximum, a, b, bd);
  }
  Op Min(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kMinimum, a, b, bd);
  }
  Op Pow(Op a, Op b, absl::Span<const int64_t> bd = {}) { return Binary(Opcode::kPower, a, b, bd); }
  Op Atan2(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kAtan2, a, b, bd);
  }
  Op And(Op a, Op b, absl::Span<const int64_t> bd = {}) { return Binary(Opcode::kAnd, a, b, bd); }
  Op Or(Op a, Op b, absl::Span<const int64_t> bd = {}) { return Binary(Opcode::kOr, a, b, bd); }
  Op Xor(Op a, Op b, absl::Span<const int64_t> bd = {}) { return Binary(Opcode::kXor, a, b, bd); }
  Op ShiftLeft(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kShiftLeft, a, b, bd);
  }
  Op ShiftRightArithmetic(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kShiftRightArithmetic, a, b, bd);
  }
  Op ShiftRightLogical(Op a, Op b, absl::Span<const int64_t> bd = {}) {
    return Binary(Opcode::kShiftRightLogical, a, b, bd);
  }
  // Result element type PRED.
  Op Compare(Op lhs, Op rhs, ComparisonDirection direction,
             absl::Span<const int64_t> broadcast_dimensions = {});
  Op Eq(Op a, Op b) { return Compare(a, b, ComparisonDirection::kEq); }
  Op Ne(Op a, Op b) { return Compare(a, b, ComparisonDirection::kNe); }
  Op Ge(Op a, Op b) { return Compare(a, b, ComparisonDirection::kGe); }
  Op Gt(Op a, Op b) { return Compare(a, b, ComparisonDirection::kGt); }
  Op Le(Op a, Op b) { return Compare(a, b, ComparisonDirection::kLe); }
  Op Lt(Op a, Op b) { return Compare(a, b, ComparisonDirection::kLt); }
  // pred may be a scalar or of the branches' shape; scalar branches do not broadcast.
  Op Select(Op pred, Op on_true, Op on_false);
  // min(max(x, lo), hi); lo and hi may be scalars.
  Op Clamp(Op lo, Op x, Op hi);

  // --- Shape manipulation ---------------------------------------------------------------------
  // Prepends `broadcast_sizes` to the operand's dimensions.
  Op Broadcast(Op operand, absl::Span<const int64_t> broadcast_sizes);
  // Result of `out_dimensions`; operand dimension i maps to result dimension
  // broadcast_dimensions[i] (strictly increasing; each of size 1 or equal to the result's).
  Op BroadcastInDim(Op operand, absl::Span<const int64_t> out_dimensions,
                    absl::Span<const int64_t> broadcast_dimensions);
  // Row-major reshape to `new_sizes` (same element count).
  Op Reshape(Op operand, absl::Span<const int64_t> new_sizes);
  // Result dimension i is operand dimension permutation[i].
  Op Transpose(Op operand, absl::Span<const int64_t> permutation);
  // [start, limit) with stride per dimension.
  Op Slice(Op operand, absl::Span<const int64_t> start_indices,
           absl::Span<const int64_t> limit_indices, absl::Span<const int64_t> strides);
  Op SliceInDim(Op operand, int64_t start, int64_t limit, int64_t stride, int64_t dimension);
  // Start indices are scalars (clamped into range at run time, as XLA does).
  Op DynamicSlice(Op operand, absl::Span<const Op> start_indices,
                  absl::Span<const int64_t> slice_sizes);
  Op DynamicUpdateSlice(Op operand, Op update, absl::Span<const Op> start_indices);
  Op ConcatInDim(absl::Span<const Op> operands, int64_t dimension);
  // Negative low/high padding removes elements; interior >= 0 inserts between elements.
  Op Pad(Op operand, Op padding_value, const PaddingConfig& padding_config);
  Op Reverse(Op operand, absl::Span<const int64_t> dimensions);
  Op ConvertElementType(Op operand, PrimitiveType new_type);
  Op BitcastConvertType(Op operand, PrimitiveType new_type);
  Op ReducePrecision(Op operand, int64_t exponent_bits, int64_t mantissa_bits);

  // --- Contractions ---------------------------------------------------------------------------
  // Vector/matrix dot: [n]x[n] -> [], [m,k]x[k] -> [m], [k]x[k,n] -> [n], [m,k]x[k,n] -> [m,n].
  Op Dot(Op lhs, Op rhs, std::optional<PrimitiveType> preferred_element_type = std::nullopt);
  Op DotGeneral(Op lhs, Op rhs, const DotDimensionNumbers& dimension_numbers,
                std::optional<PrimitiveType> preferred_element_type = std::nullopt);
  // XLA's ConvGeneralDilated: `padding` per spatial dimension, lhs_dilation / rhs_dilation default
  // to 1 when empty. The kernel's input-feature size times feature_group_count equals the input's
  // feature size; its output-feature size is divisible by both group counts.
  Op ConvGeneralDilated(Op lhs, Op rhs, absl::Span<const int64_t> window_strides,
                        absl::Span<const PaddingPair> padding,
                        absl::Span<const int64_t> lhs_dilation,
                        absl::Span<const int64_t> rhs_dilation,
                        const ConvolutionDimensionNumbers& dimension_numbers,
                        int64_t feature_group_count = 1, int64_t batch_group_count = 1,
                        std::optional<PrimitiveType> preferred_element_type = std::nullopt);

  // --- Reductions and windows -----------------------------------------------------------------
  // `computation` takes 2N scalars (accumulators, then elements) and returns N (a tuple if N>1).
  Op Reduce(absl::Span<const Op> operands, absl::Span<const Op> init_values,
            const Computation* computation, absl::Span<const int64_t> dimensions_to_reduce);
  Op Reduce(Op operand, Op init_value, const Computation* computation,
            absl::Span<const int64_t> dimensions_to_reduce) {
    return Reduce(absl::Span<const Op>(&operand, 1), absl::Span<const Op>(&init_value, 1),
                  computation, dimensions_to_reduce);
  }
  // Window over every dimension of the operand(s). Empty strides / dilations mean 1; empty
  // padding means none.
  Op ReduceWindow(absl::Span<const Op> operands, absl::Span<const Op> init_values,
                  const Computation* computation, absl::Span<const int64_t> window_dimensions,
                  absl::Span<const int64_t> window_strides,
                  absl::Span<const int64_t> base_dilations,
                  absl::Span<const int64_t> window_dilations,
                  absl::Span<const PaddingPair> padding);
  Op ReduceWindow(Op operand, Op init_value, const Computation* computation,
                  absl::Span<const int64_t> window_dimensions,
                  absl::Span<const int64_t> window_strides, absl::Span<const PaddingPair> padding) {
    return ReduceWindow(absl::Span<const Op>(&operand, 1), absl::Span<const Op>(&init_value, 1),
                        computation, window_dimensions, window_strides, {}, {}, padding);
  }
  Op SelectAndScatter(Op operand, const Computation* select,
                      absl::Span<const int64_t> window_dimensions,
                      absl::Span<const int64_t> window_strides,
                      absl::Span<const PaddingPair> padding, Op source, Op init_value,
                      const Computation* scatter);

  // --- Indexing, sorting, mapping -------------------------------------------------------------
  Op Gather(Op operand, Op start_indices, const GatherDimensionNumbers& dimension_numbers,
            absl::Span<const int64_t> slice_sizes, bool indices_are_sorted = false);
  Op Scatter(absl::Span<const Op> operands, Op scatter_indices, absl::Span<const Op> updates,
             const Computation* update_computation,
             const ScatterDimensionNumbers& dimension_numbers, bool indices_are_sorted = false,
             bool unique_indices = false);
  // `comparator` takes 2N scalars (lhs_i, rhs_i pairs) and returns PRED "lhs before rhs".
  Op Sort(absl::Span<const Op> operands, const Computation* comparator, int64_t dimension = -1,
          bool is_stable = false);
  Op Map(absl::Span<const Op> operands, const Computation* computation,
         absl::Span<const int64_t> dimensions = {});

  // --- Control flow and tuples ----------------------------------------------------------------
  Op Call(const Computation* computation, absl::Span<const Op> operands);
  Op While(const Computation* condition, const Computation* body, Op init);
  // branch_index is S32 (branch N-1 for out-of-range indices) or PRED ({true, false} branches).
  Op Conditional(Op branch_index, absl::Span<const Computation* const> branch_computations,
                 absl::Span<const Op> branch_operands);
  Op Tuple(absl::Span<const Op> elements);
  Op GetTupleElement(Op tuple, int64_t index);

  // --- Random numbers, normalization, quantization, extensions --------------------------------
  // Returns (new_state, bits of `shape`).
  Op RngBitGenerator(RandomAlgorithm algorithm, Op initial_state, const Shape& shape);
  Op BatchNormInference(Op operand, Op scale, Op offset, Op mean, Op variance, float epsilon,
                        int64_t feature_index);
  // Returns (normalized, batch_mean, batch_var).
  Op BatchNormTraining(Op operand, Op scale, Op offset, float epsilon, int64_t feature_index);
  // Returns (grad_operand, grad_scale, grad_offset).
  Op BatchNormGrad(Op operand, Op scale, Op mean, Op variance, Op grad_output, float epsilon,
                   int64_t feature_index);
  // q = clamp(round_half_even(x / scale) + zero_point, storage min, storage max), storage type
  // an integer type; per axis when params.quantization_dimension >= 0.
  Op UniformQuantize(Op operand, PrimitiveType storage_type, const QuantizationParams& params);
  // x = scale * (q - zero_point) in `expressed_type` (a float type).
  Op UniformDequantize(Op operand, PrimitiveType expressed_type,
                       const QuantizationParams& params);
  Op CustomCall(std::string_view target, absl::Span<const Op> operands, const Shape& shape,
                std::string_view backend_config = "");

  // Adds a fully formed instruction (operands from this builder) after checking that its operands
  // are valid; for lowering code that sets attributes itself. Shape inference is the caller's.
  Op AddInstruction(std::unique_ptr<Instruction> instruction);

 private:
  struct SharedState;
  Builder(std::string name, std::shared_ptr<SharedState> state);
  // Records `status` annotated with the op's name and operands' shapes; returns an invalid Op.
  Op Fail(std::string_view op_name, absl::Span<const Op> operands, const absl::Status& status);
  // True when every operand is valid and comes from this builder (records an error otherwise).
  bool CheckOperands(std::string_view op_name, absl::Span<const Op> operands);
  Op Emit(std::unique_ptr<Instruction> instruction);
  Op BroadcastTo(Op operand, const Shape& shape, absl::Span<const int64_t> broadcast_dimensions);

  std::shared_ptr<SharedState> state_;
  std::unique_ptr<Computation> computation_;
};

}  // namespace kiln::hlo

#endif  // KILN_HLO_BUILDER_H_
