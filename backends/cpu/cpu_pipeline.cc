#include "backends/cpu/cpu_pipeline.h"

#include "backends/cpu/cpu_fusion.h"
#include "kiln/hlo/passes.h"

namespace kiln::cpu {

std::unique_ptr<hlo::Pipeline> BuildCpuPipeline(hlo::PipelineOptions options) {
  auto pipeline = std::make_unique<hlo::Pipeline>("cpu", options);
  hlo::AddTargetIndependentPasses(*pipeline);
  hlo::LayoutAssignmentOptions layout;
  layout.propagate = false;
  pipeline->AddPass<hlo::LayoutAssignment>(layout);
  pipeline->AddPass<CpuFusion>();
  pipeline->AddPass<hlo::DeadCodeElimination>();
  return pipeline;
}

}  // namespace kiln::cpu
