// The HLO pass framework: a pass is one class; a pipeline runs passes in order, optionally to a
// fixed point. The other passes and the registry by name are in passes.h; all of them live in the
// library kiln_hlo_passes (docs/hlo_passes.md).
#ifndef KILN_HLO_PASS_H_
#define KILN_HLO_PASS_H_

#include <memory>
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
  // Run the whole pipeline again while any pass changes the module, at most this many times
  // (1 = a single sweep).
  int max_iterations = 1;
  // Verify the module after every pass (errors name the pass).
  bool verify_after_each_pass = true;
};

class Pipeline : public Pass {
 public:
  explicit Pipeline(std::string_view name, PipelineOptions options = {})
      : name_(name), options_(options) {}
  template <typename T, typename... Args>
  T* AddPass(Args&&... args) {
    auto pass = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = pass.get();
    passes_.push_back(std::move(pass));
    return raw;
  }
  // Appends an already constructed pass (as the registry in passes.h makes them).
  Pass* AddPass(std::unique_ptr<Pass> pass) {
    passes_.push_back(std::move(pass));
    return passes_.back().get();
  }
  std::string_view name() const override { return name_; }
  absl::StatusOr<bool> Run(Module* module) override;

 private:
  std::string name_;
  PipelineOptions options_;
  std::vector<std::unique_ptr<Pass>> passes_;
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
