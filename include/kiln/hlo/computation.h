// HLO computations: a list of instructions (operands before users), parameters and a root.
#ifndef KILN_HLO_COMPUTATION_H_
#define KILN_HLO_COMPUTATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kiln/hlo/instruction.h"

namespace kiln::hlo {

class Module;

// The parameter shapes and the result shape of a computation.
struct ProgramShape {
  std::vector<Shape> parameters;
  std::vector<std::string> parameter_names;
  Shape result;
  // "(p: f32[2], q: s32[]) -> f32[2]" (without layouts) as in a computation's header.
  std::string ToString(bool print_layout = false) const;
};

// A computation owns its instructions. Invariant kept by AddInstruction: an instruction's operands
// were added before it, so instructions() is a valid post-order (passes that add instructions out
// of order call MakeInstructionPostOrder instead).
class Computation {
 public:
  explicit Computation(std::string name) : name_(std::move(name)) {}
  Computation(const Computation&) = delete;
  Computation& operator=(const Computation&) = delete;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  Module* parent() const { return parent_; }
  void set_parent(Module* module) { parent_ = module; }

  // Takes ownership; sets the parent, and a unique id and name when the computation belongs to a
  // module. A kParameter instruction becomes parameter_instruction(parameter_number()).
  Instruction* AddInstruction(std::unique_ptr<Instruction> instruction);
  // Removes an instruction without users that is not the root or a parameter
  // (FailedPrecondition otherwise).
  absl::Status RemoveInstruction(Instruction* instruction);

  Instruction* root_instruction() const { return root_; }
  void set_root_instruction(Instruction* root) { root_ = root; }

  int64_t num_parameters() const { return static_cast<int64_t>(parameters_.size()); }
  Instruction* parameter_instruction(int64_t i) const { return parameters_[i]; }
  const std::vector<Instruction*>& parameter_instructions() const { return parameters_; }

  int64_t instruction_count() const { return static_cast<int64_t>(instructions_.size()); }
  // Instructions in insertion order.
  std::vector<Instruction*> instructions() const;
  // All instructions, every operand before its users; ties keep insertion order.
  std::vector<Instruction*> MakeInstructionPostOrder() const;

  ProgramShape ComputeProgramShape() const;

  // `%name (p: f32[2]) -> f32[2] {\n  ...\n}` (prefixed with "ENTRY " by the module for its entry).
  std::string ToString() const;

 private:
  std::string name_;
  Module* parent_ = nullptr;
  std::vector<std::unique_ptr<Instruction>> instructions_;
  std::vector<Instruction*> parameters_;
  Instruction* root_ = nullptr;
};

}  // namespace kiln::hlo

#endif  // KILN_HLO_COMPUTATION_H_
