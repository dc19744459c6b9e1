// The CPU backend's planner: turns the fused module that BuildCpuPipeline produced into an
// executable, a sequence of thunks over numbered buffer slots, and compiles one LLVM module for
// all loop kernels. It decides nothing about fusion (cpu_fusion.h did); it assigns buffers and
// picks layouts:
//   1. A kOutput fusion, or a bare convolution or dot, becomes one oneDNN thunk whose post-ops are
//      the fusion's epilogue (DescribeContraction). A residual sum pre-fills the destination with
//      the residual value, in place when that value dies there and has the destination's layout.
//   2. A kLoop fusion, or an unfused instruction, becomes one LLVM loop kernel; its parameters
//      are read from buffers, everything else inside it is computed per element. A reshape of a
//      buffer aliases it (no copy).
//   3. Convolutions with NCHW-style dimension numbers keep their values in oneDNN's
//      channel-blocked layout (nChw16c / nChw8c, `blocked_`), so consecutive convolutions run
//      oneDNN's direct, 1x1 and depthwise kernels without reorders; a value gets a row-major copy
//      (reorder thunk) only when something other than such a convolution reads it
//      (`PlainSlot`). `slot_` always names row-major buffers.
//   4. Temporaries get offsets in one arena (CpuExecutable::AssignArena).
#ifndef KILN_BACKENDS_CPU_THUNK_PLANNER_H_
#define KILN_BACKENDS_CPU_THUNK_PLANNER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/cpu/cpu_executable.h"
#include "backends/cpu/cpu_fusion.h"
#include "backends/cpu/ir_emitter.h"
#include "kiln/backends/cpu.h"
#include "kiln/hlo/instruction.h"

namespace kiln::cpu {

// What the planner can emit as a oneDNN thunk (CpuBackend::IsOpSupported asks).
bool ConvSupported(const hlo::Instruction& conv);
bool DotSupported(const hlo::Instruction& dot);
// NCHW-style dimension numbers (batch, feature, spatial... in order; kernel OI + spatial), rank
// 3-5: the convolutions that can keep activations channel-blocked.
bool IsStandardConv(const hlo::Instruction& conv);

class ThunkPlanner {
 public:
  ThunkPlanner(const backends::CpuBackendOptions& options, const backends::CompileOptions& compile_options)
      : options_(options), compile_options_(compile_options) {}

  // Plans `module` (after BuildCpuPipeline) into an executable and compiles its loop kernels.
  absl::StatusOr<std::unique_ptr<backends::Executable>> Run(std::unique_ptr<hlo::Module> module);

 private:
  bool IsOutput(const hlo::Instruction* instr) const { return outputs_.count(instr) > 0; }
  int NewSlot(Slot slot) {
    exe_->slots_.push_back(slot);
    return static_cast<int>(exe_->slots_.size()) - 1;
  }
  // The row-major buffer of `instr`'s value, or -1.
  int SlotOf(const hlo::Instruction* instr) const {
    auto it = slot_.find(instr);
    return it == slot_.end() ? -1 : it->second;
  }
  // The emitter's view while it emits the loop kernel of kLoop fusion `loop_fusion_`: the fused
  // computation's parameters are the fusion's operands and its root is the fusion.
  int KernelSlotOf(const hlo::Instruction* instr) const {
    if (loop_fusion_ != nullptr && instr->parent() == loop_fusion_->fused_computation()) {
      if (instr->opcode() == hlo::Opcode::kParameter) return SlotOf(loop_fusion_->operand(instr->parameter_number()));
      return instr == loop_fusion_->fused_computation()->root_instruction() ? SlotOf(loop_fusion_) : -1;
    }
    return SlotOf(instr);
  }
  bool HasSlot(const hlo::Instruction* instr) const { return slot_.count(instr) > 0 || blocked_.count(instr) > 0; }
  // The row-major buffer of a computed value; when only its channel-blocked copy exists, adds a
  // reorder thunk into a new row-major temporary (once). -1 when the value has no buffer yet.
  int PlainSlot(const hlo::Instruction* instr);
  // The channel-blocked buffer (layout `desc`) of a computed value, adding a reorder from its
  // row-major buffer when there is none.
  absl::StatusOr<int> BlockedSlot(const hlo::Instruction* instr, const dnnl::memory::desc& desc);
  absl::Status AddReorder(int from_slot, const dnnl::memory::desc& from, int to_slot, const dnnl::memory::desc& to);
  int NewTemp(size_t bytes) { return NewSlot({Slot::Kind::kTemp, 0, 0, bytes}); }
  absl::StatusOr<bool> EmitStagedConv(const ContractionPlan& plan, ConvSpec spec, const dnnl::memory::desc& src_plain,
                                       const dnnl::memory::desc& dst_plain, const void* const_weights,
                                      bool avoid_gemm = false);
  absl::Status EmitConv(const ContractionPlan& plan);
  absl::Status EmitDot(const ContractionPlan& plan);
  absl::Status EmitLoopKernel(const hlo::Instruction* instr, IrEmitter& emitter, std::vector<KernelThunk*>& kernels);
  void AddThunk(std::unique_ptr<Thunk> thunk, int def_slot, const std::set<int>& reads) {
    const int t = static_cast<int>(exe_->thunks_.size());
    exe_->thunks_.push_back(std::move(thunk));
    if (def_slot >= 0 && exe_->slots_[def_slot].def < 0) exe_->slots_[def_slot].def = t;
    for (int r : reads) exe_->slots_[r].last_use = std::max(exe_->slots_[r].last_use, t);
  }

  // Runs `create` (a primitive's factory), adding its time to primitives_ms_.
  template <typename F>
  auto TimePrimitive(F&& create) {
    const auto start = std::chrono::steady_clock::now();
    auto result = create();
    primitives_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ++primitives_;
    return result;
  }

  backends::CpuBackendOptions options_;
  backends::CompileOptions compile_options_;
  std::unique_ptr<CpuExecutable> exe_;
  double primitives_ms_ = 0;  // Time in oneDNN primitive creation (CompileTimes::primitives_ms).
  int64_t primitives_ = 0;
  std::set<const hlo::Instruction*> outputs_;  // Values that are module results.
  const hlo::Instruction* loop_fusion_ = nullptr;  // The kLoop fusion being emitted (KernelSlotOf).
  std::map<const hlo::Instruction*, int> slot_;
  // Values kept in oneDNN's channel-blocked layout between convolutions: slot and layout.
  struct Blocked {
    int slot;
    dnnl::memory::desc desc;
  };
  std::map<const hlo::Instruction*, Blocked> blocked_;
  std::set<const hlo::Instruction*> emitted_;  // Contraction results whose thunks exist.
};

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_THUNK_PLANNER_H_
