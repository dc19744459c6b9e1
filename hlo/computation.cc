#include "kiln/hlo/computation.h"

#include "kiln/support/strings.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "kiln/hlo/module.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

std::string ProgramShape::ToString(bool print_layout) const {
  std::vector<std::string> params;
  for (size_t i = 0; i < parameters.size(); ++i) {
    std::string name = i < parameter_names.size() ? parameter_names[i] : kiln::StrCat("p", i);
    params.push_back(kiln::StrCat(name, ": ", parameters[i].ToString(print_layout)));
  }
  return kiln::StrCat("(", absl::StrJoin(params, ", "), ") -> ", result.ToString(print_layout));
}

Instruction* Computation::AddInstruction(std::unique_ptr<Instruction> instruction) {
  Instruction* instr = instruction.get();
  instr->set_parent(this);
  if (parent_ != nullptr) {
    instr->set_unique_id(parent_->NextUniqueId());
    instr->set_name(parent_->UniqueName(instr->name()));
  }
  if (instr->opcode() == Opcode::kParameter) {
    int64_t n = instr->parameter_number();
    KILN_CHECK(n >= 0, "negative parameter number");
    if (static_cast<int64_t>(parameters_.size()) <= n) parameters_.resize(n + 1, nullptr);
    KILN_CHECK(parameters_[n] == nullptr,
               kiln::StrCat("parameter ", n, " added twice to ", name_));
    parameters_[n] = instr;
  }
  instructions_.push_back(std::move(instruction));
  return instr;
}

absl::Status Computation::RemoveInstruction(Instruction* instruction) {
  if (instruction->user_count() > 0 || instruction == root_ ||
      instruction->opcode() == Opcode::kParameter) {
    return absl::FailedPreconditionError(
        kiln::StrCat("cannot remove %", instruction->name(), " from %", name_,
                     ": it has users, is the root or is a parameter"));
  }
  instruction->DetachOperands();
  auto it = std::find_if(instructions_.begin(), instructions_.end(),
                         [&](const auto& p) { return p.get() == instruction; });
  if (it == instructions_.end()) {
    return absl::NotFoundError(
        kiln::StrCat("%", instruction->name(), " is not in computation %", name_));
  }
  instructions_.erase(it);
  return absl::OkStatus();
}

std::vector<Instruction*> Computation::instructions() const {
  std::vector<Instruction*> out;
  out.reserve(instructions_.size());
  for (const auto& p : instructions_) out.push_back(p.get());
  return out;
}

std::vector<Instruction*> Computation::MakeInstructionPostOrder() const {
  std::vector<Instruction*> order;
  order.reserve(instructions_.size());
  absl::flat_hash_set<const Instruction*> visited;
  // Iterative DFS from each instruction in insertion order.
  for (const auto& start : instructions_) {
    if (visited.contains(start.get())) continue;
    std::vector<std::pair<Instruction*, size_t>> stack = {{start.get(), 0}};
    visited.insert(start.get());
    while (!stack.empty()) {
      auto& [instr, next] = stack.back();
      if (next < static_cast<size_t>(instr->operand_count())) {
        Instruction* op = instr->operand(next++);
        if (!visited.contains(op)) {
          visited.insert(op);
          stack.push_back({op, 0});
        }
        continue;
      }
      order.push_back(instr);
      stack.pop_back();
    }
  }
  return order;
}

ProgramShape Computation::ComputeProgramShape() const {
  ProgramShape ps;
  for (const Instruction* p : parameters_) {
    ps.parameters.push_back(p != nullptr ? p->shape() : Shape());
    ps.parameter_names.push_back(p != nullptr ? p->name() : "");
  }
  if (root_ != nullptr) ps.result = root_->shape();
  return ps;
}

std::string Computation::ToString() const {
  std::string s = kiln::StrCat("%", name_, " ", ComputeProgramShape().ToString(), " {\n");
  for (const Instruction* instr : MakeInstructionPostOrder()) {
    kiln::StrAppend(&s, "  ", instr == root_ ? "ROOT " : "", instr->ToString(), "\n");
  }
  kiln::StrAppend(&s, "}\n");
  return s;
}

}  // namespace kiln::hlo
