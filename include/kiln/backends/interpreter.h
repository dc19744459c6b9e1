// The reference interpreter backend: evaluates every HLO opcode exactly as docs/operation_semantics.md
// defines it. It is the oracle other backends are tested against.
//
// Floating point: F32 and F64 compute in their own type; F16 and BF16 compute each element in F32
// and round the result to nearest even. Reductions, dots and convolutions accumulate in the result
// type, in index order (for a dot: the contracting dimensions in row-major order; for a
// convolution: input feature, then the kernel's spatial positions in row-major order).
#ifndef KILN_BACKENDS_INTERPRETER_H_
#define KILN_BACKENDS_INTERPRETER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/backends/backend.h"
#include "kiln/hlo/literal.h"
#include "kiln/hlo/module.h"

namespace kiln::backends {

// Registers the backend "interpreter" with BackendRegistry::Global(). Idempotent.
void RegisterInterpreterBackend();
std::unique_ptr<Backend> CreateInterpreterBackend();

// Evaluates `module`'s entry computation on `args` (one literal per parameter, shapes compatible
// with the parameters'). Returns the root's value (a tuple literal for a tuple root).
// InvalidArgument for mismatched arguments; Unimplemented for a custom-call target the interpreter
// does not know.
absl::StatusOr<hlo::Literal> Evaluate(const hlo::Module& module,
                                      absl::Span<const hlo::Literal> args);

}  // namespace kiln::backends

#endif  // KILN_BACKENDS_INTERPRETER_H_
