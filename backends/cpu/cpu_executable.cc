#include "backends/cpu/cpu_executable.h"

#include <algorithm>
#include <cstdlib>

#include "kiln/support/strings.h"
#include "kiln/support/arena_assigner.h"
#include "kiln/support/status.h"

namespace kiln::cpu {
namespace {

size_t AlignUp(size_t n) { return (n + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

}  // namespace

absl::Status CpuExecutable::Run(absl::Span<const BufferRef> args, absl::Span<const BufferRef> results,
                                RunContext& ctx) const {
  KILN_RETURN_IF_ERROR(CheckBuffers(args, results));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Workspace> ws, AcquireWorkspace());
  char* arena = ws->arena.get();
  RunState state;
  state.slots.resize(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    switch (slot.kind) {
      case Slot::Kind::kParameter: state.slots[i] = args[slot.index].data; break;
      case Slot::Kind::kResult: state.slots[i] = results[slot.index].data; break;
      case Slot::Kind::kConstant: state.slots[i] = const_cast<void*>(slot.constant); break;
      case Slot::Kind::kTemp: state.slots[i] = arena + slot.offset; break;
    }
  }
  state.scratch = arena + temp_bytes_;
  state.stream = ws->stream;
  absl::Status status;
  for (size_t i = 0; i < thunks_.size(); ++i) {
    state.cache = &ws->caches[i];
    status = thunks_[i]->Run(state);
    if (!status.ok()) break;
  }
  ReleaseWorkspace(std::move(ws));
  return Annotate(status, kiln::StrCat("running module '", module_->name(), "' on the cpu backend"));
}

absl::StatusOr<std::unique_ptr<Workspace>> CpuExecutable::AcquireWorkspace() const {
  {
    std::lock_guard<std::mutex> lock(arena_mu_);
    if (!free_workspaces_.empty()) {
      std::unique_ptr<Workspace> ws = std::move(free_workspaces_.back());
      free_workspaces_.pop_back();
      return ws;
    }
  }
  auto ws = std::make_unique<Workspace>();
  const size_t bytes = std::max<size_t>(kArenaAlignment, AlignUp(temp_bytes_ + scratch_bytes_));
  ws->arena.reset(static_cast<char*>(std::aligned_alloc(kArenaAlignment, bytes)));
  if (ws->arena == nullptr) {
    return absl::ResourceExhaustedError(kiln::StrCat("CPU backend: cannot allocate ", bytes, " bytes of temporaries"));
  }
  try {
    ws->stream = dnnl::stream(cpu::CpuEngine());
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN stream creation failed: ", e.what()));
  }
  ws->caches.resize(thunks_.size());
  return ws;
}
void CpuExecutable::ReleaseWorkspace(std::unique_ptr<Workspace> ws) const {
  std::lock_guard<std::mutex> lock(arena_mu_);
  if (free_workspaces_.size() < 8) free_workspaces_.push_back(std::move(ws));
}

void CpuExecutable::AssignArena() {
  std::vector<int> temps;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].kind != Slot::Kind::kTemp) continue;
    temps.push_back(static_cast<int>(i));
    sizes.push_back(static_cast<int64_t>(std::max<size_t>(slots_[i].bytes, 1)));
  }
  // Live from the thunk that writes a temporary to the last thunk that reads it, inclusive.
  auto live_overlap = [&](int a, int b) {
    const Slot& x = slots_[temps[a]];
    const Slot& y = slots_[temps[b]];
    const int x_end = std::max(x.last_use, x.def), y_end = std::max(y.last_use, y.def);
    return !(x_end < y.def || y_end < x.def);
  };
  int64_t total = 0;
  const std::vector<int64_t> offsets =
      AssignOffsetsGreedyBySize(sizes, live_overlap, static_cast<int64_t>(kArenaAlignment), &total);
  for (size_t i = 0; i < temps.size(); ++i) slots_[temps[i]].offset = static_cast<size_t>(offsets[i]);
  temp_bytes_ = static_cast<size_t>(total);
  size_t scratch = 0;
  for (const auto& thunk : thunks_) scratch = std::max(scratch, thunk->scratch_bytes());
  scratch_bytes_ = scratch;
}

}  // namespace kiln::cpu
