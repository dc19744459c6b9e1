// The reference interpreter backend: compiles a module by keeping it, and runs it with the HLO
// evaluator (kiln/hlo/evaluator.h, which documents its floating-point semantics). It is the
// oracle other backends are tested against.
#ifndef KILN_BACKENDS_INTERPRETER_H_
#define KILN_BACKENDS_INTERPRETER_H_

#include <memory>

#include "kiln/backends/backend.h"

namespace kiln::backends {

// Registers the backend "interpreter" with BackendRegistry::Global(). Idempotent.
void RegisterInterpreterBackend();
std::unique_ptr<Backend> CreateInterpreterBackend();

}  // namespace kiln::backends

#endif  // KILN_BACKENDS_INTERPRETER_H_
