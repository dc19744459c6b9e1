// Constant folding with the reference interpreter (declared in kiln/hlo/passes.h).
#include <memory>
#include <vector>

#include "hlo/passes/pass_util.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

bool Foldable(const Instruction* instr, const ConstantFoldingOptions& options) {
  switch (instr->opcode()) {
    case Opcode::kParameter:
    case Opcode::kConstant:
    case Opcode::kIota:       // Cheap to keep; folding would only grow the module.
    case Opcode::kBroadcast:  // Likewise; rewrites match broadcast(constant).
    case Opcode::kWhile:      // Need not terminate.
    case Opcode::kCustomCall:
    case Opcode::kRngBitGenerator:
      return false;
    default:
      break;
  }
  if (instr->operand_count() == 0 || !instr->shape().IsArray()) return false;
  if (ShapeUtil::ElementsIn(instr->shape()) > options.max_result_elements) return false;
  for (const Instruction* op : instr->operands()) {
    if (op->opcode() != Opcode::kConstant) return false;
  }
  return true;
}

// The value of `instr` evaluated by the interpreter on its constant operands, in a scratch module
// (called computations are referenced, not copied: the evaluator follows the pointers).
absl::StatusOr<Literal> Evaluate(const Instruction* instr) {
  auto scratch = std::make_unique<Computation>("fold");
  std::vector<Instruction*> operands;
  for (const Instruction* op : instr->operands()) {
    operands.push_back(scratch->AddInstruction(Instruction::CreateConstant(op->literal())));
  }
  Instruction* root =
      scratch->AddInstruction(instr->CloneWithNewOperands(instr->shape(), operands));
  scratch->set_root_instruction(root);
  Module module("fold");
  module.AddEntryComputation(std::move(scratch));
  return hlo::Evaluate(module, {});
}

}  // namespace

absl::StatusOr<bool> ConstantFolding::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    for (Instruction* instr : c->MakeInstructionPostOrder()) {
      if (!Foldable(instr, options_)) continue;
      absl::StatusOr<Literal> value = Evaluate(instr);
      // An instruction the interpreter cannot evaluate stays as it is.
      if (!value.ok()) continue;
      Instruction* constant = c->AddInstruction(Instruction::CreateConstant(*std::move(value)));
      // The folded constant keeps the instruction's layout (literal data is row-major regardless).
      *constant->mutable_shape() = instr->shape();
      KILN_ASSIGN_OR_RETURN(bool replaced, passes_internal::ReplaceInstruction(instr, constant, true));
      changed |= replaced;
    }
  }
  return changed;
}

}  // namespace kiln::hlo
