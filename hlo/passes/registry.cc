// The pass registry: one table of {name, description, factory} (declared in kiln/hlo/passes.h).
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

template <typename T>
std::unique_ptr<Pass> Make() {
  return std::make_unique<T>();
}

std::string KnownNames() {
  std::vector<std::string> names;
  for (const PassInfo& p : RegisteredPasses()) names.emplace_back(p.name);
  return absl::StrJoin(names, ", ");
}

}  // namespace

const std::vector<PassInfo>& RegisteredPasses() {
  static const std::vector<PassInfo>* passes = new std::vector<PassInfo>{
      {"dce", "removes unused instructions and computations", &Make<DeadCodeElimination>},
      {"cse", "merges identical instructions", &Make<CommonSubexpressionElimination>},
      {"constant-folding", "evaluates instructions of constants with the interpreter",
       &Make<ConstantFolding>},
      {"algebraic-simplifier", "local rewrites from the rule table (x*1 -> x, ...)",
       &Make<AlgebraicSimplifier>},
      {"batchnorm-expander", "batch-norm-inference/training into elementwise ops",
       &Make<BatchNormExpander>},
      {"reshape-folding", "collapses reshape chains", &Make<ReshapeFolding>},
      {"transpose-folding", "folds transposes into dot/convolution and chains",
       &Make<TransposeFolding>},
      {"layout-assignment", "assigns layouts, inserting copies where operands differ",
       &Make<LayoutAssignment>},
  };
  return *passes;
}

absl::StatusOr<std::unique_ptr<Pass>> CreatePass(std::string_view name) {
  for (const PassInfo& p : RegisteredPasses()) {
    if (p.name == name) return p.create();
  }
  return absl::NotFoundError(
      kiln::StrCat("unknown pass '", name, "'; known passes: ", KnownNames()));
}

absl::StatusOr<std::unique_ptr<Pipeline>> CreatePipeline(std::string_view pass_list,
                                                         PipelineOptions options,
                                                         int fixed_point_iterations) {
  if (pass_list.empty()) {
    return absl::InvalidArgumentError(
        kiln::StrCat("empty pass list; known passes: ", KnownNames()));
  }
  std::unique_ptr<Pipeline> pipeline;
  if (fixed_point_iterations > 0) {
    auto fix = std::make_unique<PassFix<Pipeline>>("hlo-opt", options);
    fix->set_max_iterations(fixed_point_iterations);
    pipeline = std::move(fix);
  } else {
    pipeline = std::make_unique<Pipeline>("hlo-opt", options);
  }
  for (absl::string_view name : absl::StrSplit(AsAbsl(pass_list), ',')) {
    if (name.empty()) {
      return absl::InvalidArgumentError(kiln::StrCat("empty pass name in '", pass_list, "'"));
    }
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<Pass> pass,
                     CreatePass(std::string_view(name.data(), name.size())));
    pipeline->AddPass(std::move(pass));
  }
  return pipeline;
}

void AddTargetIndependentPasses(Pipeline& pipeline) {
  pipeline.AddPass<BatchNormExpander>();
  auto* simplify = pipeline.AddPass<PassFix<Pipeline>>("simplification", pipeline.options());
  simplify->AddPass<AlgebraicSimplifier>();
  simplify->AddPass<ReshapeFolding>();
  simplify->AddPass<TransposeFolding>();
  simplify->AddPass<ConstantFolding>();
  simplify->AddPass<CommonSubexpressionElimination>();
  simplify->AddPass<DeadCodeElimination>();
}

}  // namespace kiln::hlo
