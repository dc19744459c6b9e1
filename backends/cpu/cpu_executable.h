// The CPU backend's executable: buffer slots (parameters, results, constants, temporaries at
// offsets of one arena), the thunks that run over them in order, and a pool of workspaces so that
// concurrent runs share nothing mutable. ThunkPlanner (thunk_planner.h) fills it in.
#ifndef KILN_BACKENDS_CPU_CPU_EXECUTABLE_H_
#define KILN_BACKENDS_CPU_CPU_EXECUTABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/cpu/jit_compiler.h"
#include "backends/cpu/thunks.h"
#include "kiln/backends/backend.h"
#include "kiln/hlo/module.h"

namespace kiln::cpu {

using backends::BufferRef;
using backends::RunContext;

constexpr size_t kArenaAlignment = 64;

// One numbered buffer of a run; thunks name buffers by slot index.
struct Slot {
  enum class Kind { kParameter, kResult, kConstant, kTemp };
  Kind kind = Kind::kTemp;
  int64_t index = 0;     // Parameter / result number.
  size_t offset = 0;     // kTemp: offset in the arena.
  size_t bytes = 0;
  const void* constant = nullptr;  // kConstant: data owned by the executable's module.
  int def = -1;          // Thunk that writes it.
  int last_use = -1;     // Last thunk that reads it.
};

class CpuExecutable : public backends::Executable {
 public:
  explicit CpuExecutable(std::unique_ptr<hlo::Module> module)
      : Executable(*module), module_(std::move(module)) {}

  absl::Status Run(absl::Span<const BufferRef> args, absl::Span<const BufferRef> results,
                   RunContext& ctx) const override;

  // Buffer assignment of the temporaries: offsets in one arena from the shared assigner
  // (kiln/support/arena_assigner.h), two temporaries sharing bytes only when no thunk touches
  // both (a thunk's inputs and output never alias); then the scratch the largest thunk needs.
  void AssignArena();

 private:
  friend class ThunkPlanner;

  absl::StatusOr<std::unique_ptr<Workspace>> AcquireWorkspace() const;
  void ReleaseWorkspace(std::unique_ptr<Workspace> ws) const;

  std::unique_ptr<hlo::Module> module_;  // Owns the constants' data.
  std::unique_ptr<cpu::JitCompiler> jit_;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Thunk>> thunks_;
  size_t temp_bytes_ = 0;
  size_t scratch_bytes_ = 0;
  mutable std::mutex arena_mu_;
  mutable std::vector<std::unique_ptr<Workspace>> free_workspaces_;
};

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_CPU_EXECUTABLE_H_
