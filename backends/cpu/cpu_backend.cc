// The CPU backend: compiles a module with its pass pipeline (cpu_pipeline.h: the
// target-independent prefix, layout assignment, cpu-fusion), then the thunk planner
// (thunk_planner.h: buffers, layouts, thunks, one LLVM module of loop kernels) into a
// CpuExecutable (cpu_executable.h).
#include <algorithm>
#include <chrono>
#include <memory>
#include <string_view>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "backends/cpu/cpu_pipeline.h"
#include "backends/cpu/ir_emitter.h"
#include "backends/cpu/thunk_planner.h"
#include "kiln/backends/cpu.h"
#include "kiln/hlo/computation.h"
#include "kiln/support/status.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/TargetParser/Host.h"

namespace kiln::backends {
namespace {

using hlo::Instruction;
using hlo::Opcode;

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options) : options_(options) {}
  std::string_view name() const override { return "cpu"; }

  bool IsOpSupported(const Instruction& instr) const override {
    switch (instr.opcode()) {
      case Opcode::kConvolution: return cpu::ConvSupported(instr);
      case Opcode::kDot: return cpu::DotSupported(instr);
      case Opcode::kFusion: {
        for (const Instruction* i : instr.fused_computation()->instructions()) {
          if (!IsOpSupported(*i)) return false;
        }
        return true;
      }
      default: return cpu::EmitterSupports(instr);
    }
  }

  absl::StatusOr<std::unique_ptr<Executable>> Compile(std::unique_ptr<hlo::Module> module,
                                                      const CompileOptions& options) override {
    if (module == nullptr || module->entry_computation() == nullptr) {
      return absl::InvalidArgumentError("CPU backend: Compile was given no module / no entry computation");
    }
    for (const Instruction* instr : module->entry_computation()->instructions()) {
      if (!IsOpSupported(*instr)) {
        return absl::UnimplementedError(kiln::StrCat(
            "CPU backend does not support instruction ", instr->ToString(), " in module '", module->name(),
            "'; the JIT should leave it to the runtime kernels (check Backend::IsOpSupported)"));
      }
    }
    hlo::PipelineOptions pipeline_options;
    pipeline_options.dump_to = options.dump_to;  // The module after every pass that changed it.
    const auto pipeline_start = std::chrono::steady_clock::now();
    std::unique_ptr<hlo::Pipeline> pipeline = cpu::BuildCpuPipeline(pipeline_options);
    KILN_RETURN_IF_ERROR(Annotate(pipeline->Run(module.get()).status(),
                                  kiln::StrCat("running the cpu pipeline on module '", module->name(), "'")));
    const double pipeline_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - pipeline_start).count();
    cpu::ThunkPlanner planner(options_, options);
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<Executable> executable, planner.Run(std::move(module)));
    executable->mutable_compile_times().pipeline_ms = pipeline_ms;
    return executable;
  }

  // The options, then the host CPU's name and features (as JitCompiler targets them), sorted.
  std::string TargetDescription() const override {
    std::vector<std::string> features;
    for (const auto& f : llvm::sys::getHostCPUFeatures()) {
      features.push_back((f.getValue() ? "+" : "-") + f.getKey().str());
    }
    std::sort(features.begin(), features.end());
    return kiln::StrCat("cpu opt_level=", options_.opt_level, " blocked_layouts=", options_.blocked_layouts,
                        " cpu=", llvm::sys::getHostCPUName().str(), " features=", absl::StrJoin(features, ","));
  }

 private:
  CpuBackendOptions options_;
};

}  // namespace

std::unique_ptr<Backend> CreateCpuBackend(const CpuBackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace kiln::backends
