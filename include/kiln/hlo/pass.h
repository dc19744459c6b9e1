// The HLO pass framework: a pass is one class; a pipeline runs passes in order; PassFix<T> runs a
// pass or a pipeline to a fixed point. The other passes and the registry by name are in passes.h; all of them live in the
// library kiln_hlo_passes (docs/hlo_passes.md).
#ifndef KILN_HLO_PASS_H_
#define KILN_HLO_PASS_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/hlo/module.h"

namespace kiln::hlo {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  // Rewrites `module`; returns whether anything changed.
  virtual absl::StatusOr<bool> Run(Module* module) = 0;
};

struct PipelineOptions {
  // Verify the module after every pass (errors name the pass).
  bool verify_after_each_pass = true;
  // When non-empty, an existing folder: the module is written there as HLO text before the first
  // pass and after every pass that changed it, as
  // `<dump_prefix><module>.<NNNN>.<pipeline>.<pass>.txt` (NNNN counts the dumps of this pipeline
  // and the pipelines nested in it, so the files sort in the order they were written).
  std::string dump_to;
  std::string dump_prefix;
};

// Runs passes in order, once. A fixed point is PassFix<Pipeline> (below), never a loop inside a
// pass.
class Pipeline : public Pass {
 public:
  explicit Pipeline(std::string_view name, PipelineOptions options = {})
      : name_(name), options_(std::move(options)) {}
  template <typename T, typename... Args>
  T* AddPass(Args&&... args) {
    return static_cast<T*>(AddPass(std::make_unique<T>(std::forward<Args>(args)...)));
  }
  // Appends an already constructed pass (as the registry in passes.h makes them). A nested
  // Pipeline shares this pipeline's dump numbering.
  Pass* AddPass(std::unique_ptr<Pass> pass);
  std::string_view name() const override { return name_; }
  const PipelineOptions& options() const { return options_; }
  absl::StatusOr<bool> Run(Module* module) override;

 private:
  absl::Status Dump(const Module& module, std::string_view after) const;

  std::string name_;
  PipelineOptions options_;
  std::shared_ptr<int> dump_count_ = std::make_shared<int>(0);
  std::vector<std::unique_ptr<Pass>> passes_;
};

// Runs the pass T (a pass class or a Pipeline) until a run changes nothing, at most
// max_iterations() runs (then it stops, leaving a valid module: a rule set that cycles is a bug
// to fix, not a reason to fail a compilation). Constructed with T's arguments, as XLA's HloPassFix.
template <typename T>
class PassFix : public T {
 public:
  using T::T;
  int max_iterations() const { return max_iterations_; }
  void set_max_iterations(int n) { max_iterations_ = n; }
  absl::StatusOr<bool> Run(Module* module) override {
    bool changed_any = false;
    for (int i = 0; i < max_iterations_; ++i) {
      absl::StatusOr<bool> changed = T::Run(module);
      if (!changed.ok() || !*changed) return changed.ok() ? changed_any : changed;
      changed_any = true;
    }
    return changed_any;
  }

 private:
  int max_iterations_ = 25;
};

// Removes instructions whose values nothing uses (not roots, parameters or side-effecting
// custom-calls / rng-bit-generators) and computations nothing calls.
class DeadCodeElimination : public Pass {
 public:
  std::string_view name() const override { return "dce"; }
  absl::StatusOr<bool> Run(Module* module) override;
};

// Common-subexpression elimination: instructions with the same opcode, operands and attributes
// (IdenticalAttributes) are merged into the first one; constants with equal literals likewise.
class CommonSubexpressionElimination : public Pass {
 public:
  std::string_view name() const override { return "cse"; }
  absl::StatusOr<bool> Run(Module* module) override;
};

}  // namespace kiln::hlo

#endif  // KILN_HLO_PASS_H_
