// The HLO pass set beyond DCE and CSE (pass.h), the name -> factory registry that tools use, and
// the interpreter-based equivalence check that pass tests and `hlo-opt --check` use.
//
// Every pass keeps the module's results identical under the reference interpreter (for a pass that
// reassociates floating-point arithmetic, within rounding; see docs/hlo_passes.md).
// Passes live in the library kiln_hlo_passes (constant folding evaluates with the interpreter, so
// the library links kiln_backend_interpreter).
#ifndef KILN_HLO_PASSES_H_
#define KILN_HLO_PASSES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/hlo/module.h"
#include "kiln/hlo/pass.h"

namespace kiln::hlo {

// Replaces every instruction whose operands are all constants by the constant the reference
// interpreter computes for it. Leaves alone: parameters, iotas and broadcasts (cheap to keep, and
// later rewrites recognize broadcast(constant)), while loops, side-effecting instructions,
// non-array results, results larger than `max_result_elements`, and instructions the interpreter
// cannot evaluate.
struct ConstantFoldingOptions {
  int64_t max_result_elements = 1 << 16;
};
class ConstantFolding : public Pass {
 public:
  explicit ConstantFolding(ConstantFoldingOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "constant-folding"; }
  absl::StatusOr<bool> Run(Module* module) override;

 private:
  ConstantFoldingOptions options_;
};

// Local rewrites from a rule table (algebraic_simplifier.cc; the table is listed in
// docs/hlo_passes.md), one sweep over every live instruction (PassFix repeats it). Rules never
// change a result bit under IEEE semantics: x*0 -> 0 only for integers, x+0 -> x for floats only
// when the zero is -0.0, x-0 -> x for floats only for +0.0. Chains and identities of reshapes and
// transposes are ReshapeFolding's and TransposeFolding's, not rules here.
class AlgebraicSimplifier : public Pass {
 public:
  std::string_view name() const override { return "algebraic-simplifier"; }
  absl::StatusOr<bool> Run(Module* module) override;
  // The rule names in table order (for docs and tests).
  static std::vector<std::string_view> RuleNames();
};

// Expands batch-norm-inference and batch-norm-training into elementwise ops, broadcasts along
// feature_index and (training) reductions over the other dimensions. Inference computes
// (x - mean) / sqrt(variance + epsilon) * scale + offset in the operand type, in the order the
// interpreter does; training returns (normalized, batch mean, biased batch variance).
class BatchNormExpander : public Pass {
 public:
  std::string_view name() const override { return "batchnorm-expander"; }
  absl::StatusOr<bool> Run(Module* module) override;
};

// Folds transposes into the dimension numbers of their users and removes chains:
// dot(transpose(a), b) -> dot(a, b) (when the free dimensions keep their order), convolution of a
// transposed input or kernel -> convolution with permuted dimension numbers,
// transpose(convolution) -> convolution with permuted output dimensions,
// transpose(transpose(x)) -> transpose(x) (composed), identity transposes -> x, and a transpose
// that moves only size-1 dimensions -> reshape.
class TransposeFolding : public Pass {
 public:
  std::string_view name() const override { return "transpose-folding"; }
  absl::StatusOr<bool> Run(Module* module) override;
};

// Folds reshape chains: reshape(reshape(x)) -> reshape(x), reshapes to the operand's own
// dimensions -> x, reshape(broadcast(scalar)) -> broadcast(scalar), reshape(constant) -> constant.
class ReshapeFolding : public Pass {
 public:
  std::string_view name() const override { return "reshape-folding"; }
  absl::StatusOr<bool> Run(Module* module) override;
};

// Gives every array shape a valid layout and makes every operand's layout the one its user
// requires, inserting `copy` instructions (which change layout) where they differ.
//
// Constraints (layout_assignment.cc, table `ClassOf`):
//  - entry parameters and the entry root keep the layouts the module declares
//    (its entry_computation_layout); a root of another layout gets a copy;
//  - layout-preserving ops (elementwise, select, clamp, slice, pad, concatenate, reverse, dynamic
//    slices) produce the layout of their first operand of equal rank and require it of the others;
//  - transpose produces the layout that makes it a bitcast of its operand;
//  - everything else (dot, convolution, reshape, broadcast, reduce, calls, ...) requires and
//    produces the default descending layout (minor_to_major = {rank-1, ..., 0});
//  - computations other than the entry use the default layout throughout.
// With `propagate = false` every instruction gets the default layout, so copies appear only after
// entry parameters and before the entry root of other layouts (a backend that handles only
// row-major arrays uses this mode).
struct LayoutAssignmentOptions {
  bool propagate = true;
};
class LayoutAssignment : public Pass {
 public:
  explicit LayoutAssignment(LayoutAssignmentOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "layout-assignment"; }
  absl::StatusOr<bool> Run(Module* module) override;

 private:
  LayoutAssignmentOptions options_;
};

// Checks what LayoutAssignment guarantees: every array shape's layout is a permutation of its
// dimensions and every operand has the layout its user requires under `options`.
// InvalidArgument naming the instruction and operand otherwise.
absl::Status VerifyLayouts(const Module& module, LayoutAssignmentOptions options = {});

// --- Registry ---------------------------------------------------------------------------------

struct PassInfo {
  std::string_view name;
  std::string_view description;
  std::unique_ptr<Pass> (*create)();
};
// Every registered pass, in a fixed order: dce, cse, constant-folding, algebraic-simplifier,
// batchnorm-expander, reshape-folding, transpose-folding, layout-assignment.
const std::vector<PassInfo>& RegisteredPasses();
// A new pass by name; NotFound listing the known names otherwise.
absl::StatusOr<std::unique_ptr<Pass>> CreatePass(std::string_view name);
// A pipeline of the comma-separated pass names in `pass_list` ("cse,dce"), run once or, with
// `fixed_point_iterations` > 0, as PassFix<Pipeline> until a run changes nothing (at most that many
// runs); errors as CreatePass, InvalidArgument for an empty list or an empty name.
absl::StatusOr<std::unique_ptr<Pipeline>> CreatePipeline(std::string_view pass_list,
                                                         PipelineOptions options = {},
                                                         int fixed_point_iterations = 0);

// --- Pipelines --------------------------------------------------------------------------------

// The target-independent prefix every backend's pipeline starts with: batch-norm expansion, then
// PassFix of {algebraic-simplifier, reshape-folding, transpose-folding, constant-folding, cse,
// dce}. Backends append layout assignment and their own passes (docs/hlo_passes.md, "Pipelines").
void AddTargetIndependentPasses(Pipeline& pipeline);

// --- Equivalence check ------------------------------------------------------------------------

struct EquivalenceOptions {
  int trials = 3;                  // Random argument sets to try.
  uint64_t seed = 1;
  double relative_tolerance = 0;   // 0: floats must match bit for bit (NaN matches NaN).
  double absolute_tolerance = 0;
};
// Evaluates both modules' entry computations with the reference interpreter on the same random
// arguments (floats uniform in [-2, 2), integers in [-8, 8) or [0, 16), preds fair) and compares
// the results. The modules must have the same parameter and result shapes (layouts ignored).
// FailedPrecondition describing the first differing element (trial, index, both values) otherwise;
// the interpreter's error when it cannot evaluate one of them.
absl::Status CheckEquivalent(const Module& before, const Module& after,
                             EquivalenceOptions options = {});

}  // namespace kiln::hlo

#endif  // KILN_HLO_PASSES_H_
