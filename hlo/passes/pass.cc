#include "kiln/hlo/pass.h"

#include <map>

#include "absl/container/flat_hash_set.h"
#include "hlo/str_util.h"
#include "kiln/hlo/verifier.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

absl::StatusOr<bool> Pipeline::Run(Module* module) {
  bool changed_any = false;
  for (int it = 0; it < options_.max_iterations; ++it) {
    bool changed = false;
    for (const auto& pass : passes_) {
      absl::StatusOr<bool> c = pass->Run(module);
      if (!c.ok()) return Annotate(c.status(), internal::Cat("pass ", pass->name()));
      changed |= *c;
      if (options_.verify_after_each_pass) {
        RETURN_IF_ERROR(Annotate(VerifyModule(*module),
                                 internal::Cat("after pass ", pass->name(), " in ", name_)));
      }
    }
    changed_any |= changed;
    if (!changed) break;
  }
  return changed_any;
}

namespace {
bool HasSideEffect(const Instruction* i) {
  return i->opcode() == Opcode::kCustomCall || i->opcode() == Opcode::kRngBitGenerator ||
         i->opcode() == Opcode::kParameter;
}
}  // namespace

absl::StatusOr<bool> DeadCodeElimination::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    std::vector<Instruction*> order = c->MakeInstructionPostOrder();
    // Users come after operands: walk backwards so chains of dead instructions go in one sweep.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Instruction* i = *it;
      if (i->user_count() > 0 || i == c->root_instruction() || HasSideEffect(i)) continue;
      RETURN_IF_ERROR(c->RemoveInstruction(i));
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
      RETURN_IF_ERROR(module->RemoveEmbeddedComputation(c));
      changed = true;
    }
  }
  return changed;
}

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
      if (i != c->root_instruction() && i->user_count() == 0) RETURN_IF_ERROR(c->RemoveInstruction(i));
      changed = true;
    }
  }
  return changed;
}

}  // namespace kiln::hlo
