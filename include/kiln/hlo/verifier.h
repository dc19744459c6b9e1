// The HLO verifier: structural checks and shape re-inference of every instruction.
#ifndef KILN_HLO_VERIFIER_H_
#define KILN_HLO_VERIFIER_H_

#include "absl/status/status.h"
#include "kiln/hlo/module.h"

namespace kiln::hlo {

// Checks that `module` has an entry computation; every computation has a root and parameters
// numbered 0..n-1; operands belong to the same computation and precede their users; each
// opcode's operand count matches the table; every non-leaf instruction's shape equals (ignoring
// layouts) the shape inferred from its operands and attributes; called computations belong to the
// module and have the signature their caller needs; names are unique.
// InvalidArgument naming the computation, instruction and problem otherwise.
absl::Status VerifyModule(const Module& module);

}  // namespace kiln::hlo

#endif  // KILN_HLO_VERIFIER_H_
