// Common-subexpression elimination (declared in kiln/hlo/pass.h).
#include <map>

#include "hlo/passes/pass_util.h"
#include "kiln/hlo/pass.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

using passes_internal::HasSideEffect;

absl::StatusOr<bool> CommonSubexpressionElimination::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    std::vector<Instruction*> kept;
    // Candidates bucketed by (opcode, operand ids) so comparisons stay local.
    std::map<std::pair<int, std::vector<int64_t>>, std::vector<Instruction*>> buckets;
    for (Instruction* i : c->MakeInstructionPostOrder()) {
      if (HasSideEffect(i)) continue;
      std::vector<int64_t> ops;
      for (const Instruction* op : i->operands()) ops.push_back(op->unique_id());
      auto& bucket = buckets[{static_cast<int>(i->opcode()), ops}];
      Instruction* same = nullptr;
      for (Instruction* other : bucket) {
        if (other->IdenticalAttributes(*i)) {
          same = other;
          break;
        }
      }
      if (same == nullptr) {
        bucket.push_back(i);
        continue;
      }
      i->ReplaceAllUsesWith(same);
      if (i != c->root_instruction() && i->user_count() == 0) KILN_RETURN_IF_ERROR(c->RemoveInstruction(i));
      changed = true;
    }
  }
  return changed;
}

}  // namespace kiln::hlo
