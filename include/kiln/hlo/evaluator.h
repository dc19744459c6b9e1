// The HLO evaluator: computes a module's result on literals, every HLO opcode exactly as
// docs/operation_semantics.md defines it. It is the oracle other backends are tested against (the
// "interpreter" backend wraps it), and constant folding and the pass equivalence check evaluate with
// it.
//
// Floating point: F32 and F64 compute in their own type; F16 and BF16 compute each element in F32
// and round the result to nearest even. Reductions, dots and convolutions accumulate in the result
// type, in index order (for a dot: the contracting dimensions in row-major order; for a
// convolution: input feature, then the kernel's spatial positions in row-major order).
#ifndef KILN_HLO_EVALUATOR_H_
#define KILN_HLO_EVALUATOR_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/instruction.h"
#include "kiln/hlo/literal.h"
#include "kiln/hlo/module.h"

namespace kiln::hlo {

// Evaluates `module`'s entry computation on `args` (one literal per parameter, shapes compatible
// with the parameters'). Returns the root's value (a tuple literal for a tuple root).
// InvalidArgument for mismatched arguments; Unimplemented for a custom-call target the evaluator
// does not know.
absl::StatusOr<Literal> Evaluate(const Module& module, absl::Span<const Literal> args);

// Whether Evaluate implements `instruction`: every opcode, and custom-call only for the targets
// the evaluator knows ("Sharding").
bool CanEvaluate(const Instruction& instruction);

}  // namespace kiln::hlo

#endif  // KILN_HLO_EVALUATOR_H_
