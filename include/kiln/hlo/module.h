// HLO modules: an entry computation plus the computations it calls.
#ifndef KILN_HLO_MODULE_H_
#define KILN_HLO_MODULE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "kiln/hlo/computation.h"

namespace kiln::hlo {

// Whether `name` can name a module, computation or instruction in HLO text: one or more of
// A-Z a-z 0-9 _ . - (XLA's identifier characters), so that printed text parses back. The parser
// and DeserializeModule refuse other names.
bool IsValidHloName(std::string_view name);

class Module {
 public:
  explicit Module(std::string name) : name_(std::move(name)) {}
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Takes ownership. Instructions already in `computation` get module-unique ids (names made
  // unique as well). The entry computation is set once; AddEntryComputation replaces it.
  Computation* AddEntryComputation(std::unique_ptr<Computation> computation);
  Computation* AddEmbeddedComputation(std::unique_ptr<Computation> computation);
  // Removes a computation that no instruction calls and that is not the entry.
  absl::Status RemoveEmbeddedComputation(Computation* computation);

  Computation* entry_computation() const { return entry_; }
  // Every computation, callees before callers (the entry last).
  std::vector<Computation*> MakeComputationPostOrder() const;
  int64_t computation_count() const { return static_cast<int64_t>(computations_.size()); }
  Computation* GetComputationWithName(std::string_view name) const;

  // The entry computation's program shape.
  ProgramShape entry_program_shape() const { return entry_->ComputeProgramShape(); }

  // XLA's HLO text:
  //   HloModule name, entry_computation_layout={(f32[2]{0})->f32[2]{0}}
  //
  //   %add (x: f32[], y: f32[]) -> f32[] { ... }
  //
  //   ENTRY %main (p: f32[2]) -> f32[2] { ... ROOT ... }
  std::string ToString() const;

  // A deep copy (same names; fresh ids).
  std::unique_ptr<Module> Clone() const;

  // Ids and names unique within the module.
  int64_t NextUniqueId() { return next_id_++; }
  // `base` if unused in this module, else `base.N` for the smallest free N; records the name.
  std::string UniqueName(std::string_view base);

 private:
  void Adopt(Computation* computation);

  std::string name_;
  std::vector<std::unique_ptr<Computation>> computations_;
  Computation* entry_ = nullptr;
  int64_t next_id_ = 0;
  absl::flat_hash_set<std::string> used_names_;
};

}  // namespace kiln::hlo

#endif  // KILN_HLO_MODULE_H_
