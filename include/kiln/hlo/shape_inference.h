// Shape inference: the result shape of each opcode from its operands' shapes and attributes,
// exactly as XLA's operation semantics define it. Used by the Builder, the verifier and the parser.
#ifndef KILN_HLO_SHAPE_INFERENCE_H_
#define KILN_HLO_SHAPE_INFERENCE_H_

#include <vector>

#include "absl/status/statusor.h"
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

}  // namespace kiln::hlo

#endif  // KILN_HLO_SHAPE_INFERENCE_H_
