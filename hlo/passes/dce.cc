// Dead-code elimination (declared in kiln/hlo/pass.h).
#include "absl/container/flat_hash_set.h"
#include "hlo/passes/pass_util.h"
#include "kiln/hlo/pass.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

using passes_internal::HasSideEffect;

absl::StatusOr<bool> DeadCodeElimination::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    std::vector<Instruction*> order = c->MakeInstructionPostOrder();
    // Users come after operands: walk backwards so chains of dead instructions go in one sweep.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Instruction* i = *it;
      if (i->user_count() > 0 || i == c->root_instruction() || HasSideEffect(i)) continue;
      KILN_RETURN_IF_ERROR(c->RemoveInstruction(i));
      changed = true;
    }
  }
  // Computations nothing calls (other than the entry).
  absl::flat_hash_set<const Computation*> called;
  for (Computation* c : module->MakeComputationPostOrder()) {
    for (Instruction* i : c->instructions()) {
      for (Computation* cc : i->called_computations()) called.insert(cc);
    }
  }
  for (Computation* c : module->MakeComputationPostOrder()) {
    if (c != module->entry_computation() && !called.contains(c)) {
      KILN_RETURN_IF_ERROR(module->RemoveEmbeddedComputation(c));
      changed = true;
    }
  }
  return changed;
}

}  // namespace kiln::hlo
