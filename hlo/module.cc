#include "kiln/hlo/module.h"

#include "kiln/support/strings.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

bool IsValidHloName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Module::UniqueName(std::string_view base) {
  std::string name(base);
  if (name.empty()) name = "v";
  if (used_names_.insert(name).second) return name;
  // Strip a numeric ".N" suffix so that copies of "add.3" become "add.4", ...
  std::string stem = name;
  size_t dot = stem.rfind('.');
  if (dot != std::string::npos && dot + 1 < stem.size() &&
      std::all_of(stem.begin() + dot + 1, stem.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    stem = stem.substr(0, dot);
  }
  for (int64_t i = 1;; ++i) {
    std::string candidate = kiln::StrCat(stem, ".", i);
    if (used_names_.insert(candidate).second) return candidate;
  }
}

void Module::Adopt(Computation* computation) {
  computation->set_name(UniqueName(computation->name()));
  // Instructions added while the computation already pointed at this module have ids and names.
  if (computation->parent() == this) return;
  computation->set_parent(this);
  for (Instruction* instr : computation->instructions()) {
    instr->set_unique_id(NextUniqueId());
    instr->set_name(UniqueName(instr->name()));
  }
}

Computation* Module::AddEntryComputation(std::unique_ptr<Computation> computation) {
  Computation* c = computation.get();
  Adopt(c);
  computations_.push_back(std::move(computation));
  entry_ = c;
  return c;
}

Computation* Module::AddEmbeddedComputation(std::unique_ptr<Computation> computation) {
  Computation* c = computation.get();
  Adopt(c);
  computations_.push_back(std::move(computation));
  return c;
}

absl::Status Module::RemoveEmbeddedComputation(Computation* computation) {
  if (computation == entry_) {
    return absl::FailedPreconditionError("cannot remove the entry computation");
  }
  for (const auto& c : computations_) {
    for (const Instruction* instr : c->instructions()) {
      for (const Computation* called : instr->called_computations()) {
        if (called == computation) {
          return absl::FailedPreconditionError(kiln::StrCat(
              "computation %", computation->name(), " is still called by %", instr->name()));
        }
      }
    }
  }
  auto it = std::find_if(computations_.begin(), computations_.end(),
                         [&](const auto& p) { return p.get() == computation; });
  if (it == computations_.end()) return absl::NotFoundError("computation not in module");
  computations_.erase(it);
  return absl::OkStatus();
}

std::vector<Computation*> Module::MakeComputationPostOrder() const {
  std::vector<Computation*> order;
  absl::flat_hash_set<const Computation*> visited;
  auto visit = [&](auto&& self, Computation* c) -> void {
    if (!visited.insert(c).second) return;
    for (const Instruction* instr : c->MakeInstructionPostOrder()) {
      for (Computation* called : instr->called_computations()) self(self, called);
    }
    order.push_back(c);
  };
  // Unreachable computations first (in insertion order), then everything reachable from the entry.
  for (const auto& c : computations_) {
    if (c.get() != entry_) visit(visit, c.get());
  }
  if (entry_ != nullptr) visit(visit, entry_);
  return order;
}

Computation* Module::GetComputationWithName(std::string_view name) const {
  for (const auto& c : computations_) {
    if (c->name() == name) return c.get();
  }
  return nullptr;
}

std::string Module::ToString() const {
  std::string s = kiln::StrCat("HloModule ", name_);
  if (entry_ != nullptr) {
    ProgramShape ps = entry_->ComputeProgramShape();
    std::vector<std::string> params;
    for (const Shape& p : ps.parameters) params.push_back(p.ToString(true));
    kiln::StrAppend(&s, ", entry_computation_layout={(", absl::StrJoin(params, ", "), ")->",
                    ps.result.ToString(true), "}");
  }
  kiln::StrAppend(&s, "\n");
  for (const Computation* c : MakeComputationPostOrder()) {
    kiln::StrAppend(&s, "\n", c == entry_ ? "ENTRY " : "", c->ToString());
  }
  return s;
}

std::unique_ptr<Module> Module::Clone() const {
  auto m = std::make_unique<Module>(name_);
  absl::flat_hash_map<const Computation*, Computation*> comp_map;
  for (const Computation* c : MakeComputationPostOrder()) {
    auto nc = std::make_unique<Computation>(c->name());
    absl::flat_hash_map<const Instruction*, Instruction*> map;
    for (const Instruction* instr : c->MakeInstructionPostOrder()) {
      std::vector<Instruction*> ops;
      for (const Instruction* op : instr->operands()) ops.push_back(map.at(op));
      std::unique_ptr<Instruction> ni = instr->CloneWithNewOperands(instr->shape(), ops);
      std::vector<Computation*> called;
      for (const Computation* cc : instr->called_computations()) called.push_back(comp_map.at(cc));
      ni->set_called_computations(std::move(called));
      map[instr] = nc->AddInstruction(std::move(ni));
    }
    if (c->root_instruction() != nullptr) nc->set_root_instruction(map.at(c->root_instruction()));
    Computation* added = c == entry_ ? m->AddEntryComputation(std::move(nc))
                                     : m->AddEmbeddedComputation(std::move(nc));
    comp_map[c] = added;
  }
  return m;
}

}  // namespace kiln::hlo
