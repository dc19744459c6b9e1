#include "kiln/hlo/verifier.h"

#include "kiln/support/strings.h"

#include "absl/container/flat_hash_set.h"
#include "kiln/hlo/shape_inference.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

// A fusion calls one computation; a kOutput fusion's computation holds exactly one convolution
// or dot (the contraction its epilogue follows).
absl::Status VerifyFusion(const Instruction& fusion, const auto& err) {
  if (fusion.called_computations().size() != 1) {
    return err(&fusion, "fusion calls ", fusion.called_computations().size(),
               " computations (it must call one, `calls=`)");
  }
  if (fusion.fusion_kind() != FusionKind::kOutput) return absl::OkStatus();
  int contractions = 0;
  for (const Instruction* i : fusion.fused_computation()->instructions()) {
    if (i->opcode() == Opcode::kConvolution || i->opcode() == Opcode::kDot) ++contractions;
  }
  if (contractions != 1) {
    return err(&fusion, "kOutput fusion computes ", contractions,
               " convolutions or dots (it must compute exactly one)");
  }
  return absl::OkStatus();
}

absl::Status VerifyComputation(const Module& module, const Computation& c,
                               absl::flat_hash_set<std::string>& names) {
  auto err = [&](const Instruction* instr, auto&&... parts) {
    return absl::InvalidArgumentError(kiln::StrCat(
        "HLO verifier: computation %", c.name(), instr ? kiln::StrCat(", instruction %", instr->name()) : "",
        ": ", parts...));
  };
  if (c.root_instruction() == nullptr) return err(nullptr, "has no root");
  if (c.root_instruction()->parent() != &c) return err(nullptr, "root is not in the computation");
  for (int64_t i = 0; i < c.num_parameters(); ++i) {
    if (c.parameter_instruction(i) == nullptr) {
      return err(nullptr, "parameter ", i, " missing (parameters must be numbered 0..n-1)");
    }
  }
  absl::flat_hash_set<const Instruction*> seen;
  for (const Instruction* instr : c.MakeInstructionPostOrder()) {
    if (!names.insert(instr->name()).second) return err(instr, "name is not unique");
    for (const Instruction* op : instr->operands()) {
      if (op->parent() != &c) return err(instr, "operand %", op->name(), " is in another computation");
      if (!seen.contains(op)) return err(instr, "operand %", op->name(), " does not precede it");
    }
    seen.insert(instr);
    if (!instr->called_computations().empty() && !OpcodeCallsComputations(instr->opcode())) {
      return err(instr, OpcodeString(instr->opcode()), " does not call computations, but calls ",
                 instr->called_computations().size());
    }
    for (const Computation* called : instr->called_computations()) {
      if (called == nullptr || called->parent() != &module) {
        return err(instr, "calls a computation that is not in the module");
      }
    }
    if (instr->opcode() == Opcode::kFusion) KILN_RETURN_IF_ERROR(VerifyFusion(*instr, err));
    absl::StatusOr<Shape> inferred = InferShape(*instr);
    if (!inferred.ok()) return err(instr, inferred.status().message());
    if (!ShapeUtil::Compatible(*inferred, instr->shape())) {
      return err(instr, "shape ", instr->shape().ToString(false), " differs from the inferred ",
                 inferred->ToString(false));
    }
    KILN_RETURN_IF_ERROR(Annotate(ShapeUtil::ValidateShape(instr->shape()),
                             kiln::StrCat("HLO verifier: %", instr->name())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyModule(const Module& module) {
  if (module.entry_computation() == nullptr) {
    return absl::InvalidArgumentError(
        kiln::StrCat("HLO verifier: module ", module.name(), " has no entry computation"));
  }
  absl::flat_hash_set<std::string> names;
  for (const Computation* c : module.MakeComputationPostOrder()) {
    KILN_RETURN_IF_ERROR(VerifyComputation(module, *c, names));
  }
  return absl::OkStatus();
}

}  // namespace kiln::hlo
