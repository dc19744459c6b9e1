// Reshape folding (declared in kiln/hlo/passes.h): reshape chains collapse to one reshape,
// reshapes that change nothing disappear, and reshapes of broadcast scalars and of constants
// become broadcasts and constants of the new dimensions.
#include <vector>

#include "hlo/passes/pass_util.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

struct Fold {
  Instruction* replacement = nullptr;
  bool is_new = true;
};

absl::StatusOr<Fold> FoldReshape(Instruction* reshape) {
  Computation* c = reshape->parent();
  Instruction* x = reshape->operand(0);
  const std::vector<int64_t>& dims = reshape->shape().dimensions();
  // reshape(x) to x's own dimensions -> x.
  if (x->shape().dimensions() == dims) return Fold{x, false};
  // reshape(reshape(y)) -> reshape(y) (-> y when y already has the dimensions).
  if (x->opcode() == Opcode::kReshape) {
    Instruction* y = x->operand(0);
    if (y->shape().dimensions() == dims) return Fold{y, false};
    KILN_ASSIGN_OR_RETURN(Instruction* r, passes_internal::MakeReshape(c, y, dims));
    return Fold{r};
  }
  // reshape(broadcast(scalar)) -> broadcast(scalar).
  if (x->opcode() == Opcode::kBroadcast && x->operand(0)->shape().rank() == 0) {
    KILN_ASSIGN_OR_RETURN(Instruction* b, passes_internal::MakeBroadcast(c, x->operand(0), dims, {}));
    return Fold{b};
  }
  // reshape(constant) -> constant (row-major data is the same bytes), when nothing else uses the
  // constant, so no data is duplicated.
  if (x->opcode() == Opcode::kConstant && x->user_count() == 1) {
    KILN_ASSIGN_OR_RETURN(Literal l, x->literal().Reshape(dims));
    return Fold{c->AddInstruction(Instruction::CreateConstant(std::move(l)))};
  }
  return Fold{};
}

}  // namespace

absl::StatusOr<bool> ReshapeFolding::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    // Operands come first in the post-order, so a chain collapses from its start in one sweep;
    // the sweep repeats while it changes something.
    bool again = true;
    while (again) {
      again = false;
      for (Instruction* instr : c->MakeInstructionPostOrder()) {
        if (instr->opcode() != Opcode::kReshape) continue;
        if (instr->user_count() == 0 && instr != c->root_instruction()) continue;
        KILN_ASSIGN_OR_RETURN(Fold fold, FoldReshape(instr));
        if (fold.replacement == nullptr) continue;
        KILN_ASSIGN_OR_RETURN(bool replaced, passes_internal::ReplaceInstruction(
                                            instr, fold.replacement, fold.is_new));
        again |= replaced;
        changed |= replaced;
      }
    }
  }
  return changed;
}

}  // namespace kiln::hlo
