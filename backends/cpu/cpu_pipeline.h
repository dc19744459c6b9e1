// The CPU backend's HLO pass pipeline, built in one function (docs/hlo_passes.md, "Pipelines"):
// the target-independent prefix, layout assignment (row-major everywhere: the CPU backend takes
// default layouts only), then the CPU passes (cpu-fusion, dce). LLVM-free, so hlo-opt can run it
// (`hlo-opt --pipeline=cpu`) and lit tests check its decisions (tests/backends/lit).
#ifndef KILN_BACKENDS_CPU_CPU_PIPELINE_H_
#define KILN_BACKENDS_CPU_CPU_PIPELINE_H_

#include <memory>

#include "kiln/hlo/pass.h"

namespace kiln::cpu {

std::unique_ptr<hlo::Pipeline> BuildCpuPipeline(hlo::PipelineOptions options = {});

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_CPU_PIPELINE_H_
