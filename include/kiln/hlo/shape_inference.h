// Shape inference: the result shape of each opcode from its operands' shapes and attributes,
// exactly as XLA's operation semantics define it. Used by the Builder, the verifier and the parser.
//
// Convention: one free function per op (or per family of ops with one rule, e.g. elementwise
// unary and binary ops, batch norm, quantize/dequantize), named Infer<Op>Shape, in namespace
// kiln::hlo. Each takes operand shapes and attributes, never an Instruction, and returns the result
// shape or InvalidArgument describing what is wrong (the caller adds the op's name and operand
// shapes). Variadic operands come as a span of shape pointers. A called computation is passed as a
// pointer; nullptr means the instruction has none (the function reports it). Ops whose result is
// partly chosen by the writer (reshape, broadcast, convert, iota, rng-bit-generator, ...) take the
// declared result shape or element type. InferShape(const Instruction&) dispatches to these.
#ifndef KILN_HLO_SHAPE_INFERENCE_H_
#define KILN_HLO_SHAPE_INFERENCE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/instruction.h"

namespace kiln::hlo {

// The result shape of `instruction` (a non-leaf) given its operands' current shapes and its
// attributes. Elementwise binary ops require operands of equal dimensions (the Builder inserts
// broadcasts first). InvalidArgument describing the mismatch otherwise (the caller adds the op's
// name and operand shapes).
absl::StatusOr<Shape> InferShape(const Instruction& instruction);

// The shape of `a op b` under XLA's implicit broadcasting rules (see builder.h).
absl::StatusOr<Shape> InferBroadcastShape(const Shape& a, const Shape& b,
                                          absl::Span<const int64_t> broadcast_dimensions);

// --- Elementwise (opcode.h: IsElementwiseUnary / IsElementwiseBinary) and similar ---
absl::StatusOr<Shape> InferUnaryOpShape(Opcode opcode, const Shape& operand);
// Operands of equal dimensions and element type (broadcast them first).
absl::StatusOr<Shape> InferBinaryOpShape(Opcode opcode, const Shape& lhs, const Shape& rhs);
absl::StatusOr<Shape> InferSelectShape(const Shape& predicate, const Shape& on_true,
                                       const Shape& on_false);
absl::StatusOr<Shape> InferClampShape(const Shape& min, const Shape& operand, const Shape& max);
absl::StatusOr<Shape> InferConvertShape(const Shape& operand, PrimitiveType new_element_type);
absl::StatusOr<Shape> InferBitcastConvertShape(const Shape& operand,
                                               PrimitiveType new_element_type);
absl::StatusOr<Shape> InferReducePrecisionShape(const Shape& operand, int64_t exponent_bits,
                                                int64_t mantissa_bits);
// kUniformQuantize or kUniformDequantize to `result_element_type`.
absl::StatusOr<Shape> InferUniformQuantizationShape(Opcode opcode, const Shape& operand,
                                                    PrimitiveType result_element_type,
                                                    const QuantizationParams& quantization);

// --- Shape manipulation ---
// kIota: `declared` is the result shape the writer chose; `iota_dimensions` holds one dimension.
absl::StatusOr<Shape> InferIotaShape(const Shape& declared,
                                     absl::Span<const int64_t> iota_dimensions);
// kBroadcast: operand dimension i becomes dimension broadcast_dimensions[i] of `declared`.
absl::StatusOr<Shape> InferBroadcastInDimShape(const Shape& operand, const Shape& declared,
                                               absl::Span<const int64_t> broadcast_dimensions);
// kReshape and kBitcast: same element count as `declared`, the operand's element type.
absl::StatusOr<Shape> InferReshapeShape(const Shape& operand, const Shape& declared);
absl::StatusOr<Shape> InferTransposeShape(const Shape& operand,
                                          absl::Span<const int64_t> permutation);
absl::StatusOr<Shape> InferReverseShape(const Shape& operand,
                                        absl::Span<const int64_t> dimensions);
absl::StatusOr<Shape> InferSliceShape(const Shape& operand, absl::Span<const int64_t> starts,
                                      absl::Span<const int64_t> limits,
                                      absl::Span<const int64_t> strides);
absl::StatusOr<Shape> InferDynamicSliceShape(const Shape& operand,
                                             absl::Span<const Shape* const> start_indices,
                                             absl::Span<const int64_t> slice_sizes);
absl::StatusOr<Shape> InferDynamicUpdateSliceShape(const Shape& operand, const Shape& update,
                                                   absl::Span<const Shape* const> start_indices);
// `dimensions` holds the one concatenated dimension.
absl::StatusOr<Shape> InferConcatenateShape(absl::Span<const Shape* const> operands,
                                            absl::Span<const int64_t> dimensions);
absl::StatusOr<Shape> InferPadShape(const Shape& operand, const Shape& padding_value,
                                    const PaddingConfig& padding_config);
absl::StatusOr<Shape> InferTupleShape(absl::Span<const Shape* const> elements);
absl::StatusOr<Shape> InferGetTupleElementShape(const Shape& tuple, int64_t index);
// kRngBitGenerator: `declared` is (state, bits) with the state's shape first.
absl::StatusOr<Shape> InferRngBitGeneratorShape(const Shape& state, const Shape& declared);

// --- Contractions, windows, gathers ---
// `result_element_type` is the declared one when the instruction has a shape already; without it
// lhs and rhs must share their element type, which the result takes.
absl::StatusOr<Shape> InferDotShape(const Shape& lhs, const Shape& rhs,
                                    const DotDimensionNumbers& dimension_numbers,
                                    std::optional<PrimitiveType> result_element_type);
absl::StatusOr<Shape> InferConvolveShape(const Shape& lhs, const Shape& rhs,
                                         int64_t feature_group_count, int64_t batch_group_count,
                                         const Window& window,
                                         const ConvolutionDimensionNumbers& dimension_numbers,
                                         std::optional<PrimitiveType> result_element_type);
absl::StatusOr<Shape> InferGatherShape(const Shape& operand, const Shape& start_indices,
                                       const GatherDimensionNumbers& dimension_numbers,
                                       absl::Span<const int64_t> slice_sizes);
absl::StatusOr<Shape> InferBatchNormInferenceShape(const Shape& operand, const Shape& scale,
                                                   const Shape& offset, const Shape& mean,
                                                   const Shape& variance, int64_t feature_index);
// (output, batch mean, batch variance).
absl::StatusOr<Shape> InferBatchNormTrainingShape(const Shape& operand, const Shape& scale,
                                                  const Shape& offset, int64_t feature_index);
// (operand gradient, scale gradient, offset gradient).
absl::StatusOr<Shape> InferBatchNormGradShape(const Shape& operand, const Shape& scale,
                                              const Shape& mean, const Shape& variance,
                                              const Shape& output_grad, int64_t feature_index);

// --- Ops with called computations ---
// `operands` is the N arrays followed by their N init values.
absl::StatusOr<Shape> InferReduceShape(absl::Span<const Shape* const> operands,
                                       absl::Span<const int64_t> dimensions,
                                       const Computation* to_apply);
absl::StatusOr<Shape> InferReduceWindowShape(absl::Span<const Shape* const> operands,
                                             const Window& window, const Computation* to_apply);
absl::StatusOr<Shape> InferSelectAndScatterShape(const Shape& operand, const Computation* select,
                                                 const Window& window, const Shape& source,
                                                 const Shape& init_value,
                                                 const Computation* scatter);
// `operands` is the N arrays, the scatter indices, then the N updates.
absl::StatusOr<Shape> InferScatterShape(absl::Span<const Shape* const> operands,
                                        const Computation* to_apply);
// `dimensions` holds the one sort dimension.
absl::StatusOr<Shape> InferSortShape(absl::Span<const Shape* const> operands,
                                     absl::Span<const int64_t> dimensions,
                                     const Computation* comparator);
absl::StatusOr<Shape> InferMapShape(absl::Span<const Shape* const> operands,
                                    const Computation* to_apply);
// kCall and kFusion.
absl::StatusOr<Shape> InferCallShape(absl::Span<const Shape* const> arguments,
                                     const Computation* callee);
absl::StatusOr<Shape> InferWhileShape(const Shape& init, const Computation* condition,
                                      const Computation* body);
// `operands` is the branch index, then one operand per branch.
absl::StatusOr<Shape> InferConditionalShape(absl::Span<const Shape* const> operands,
                                            absl::Span<const Computation* const> branches);

}  // namespace kiln::hlo

#endif  // KILN_HLO_SHAPE_INFERENCE_H_
