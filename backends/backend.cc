#include "kiln/backends/backend.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "kiln/support/strings.h"

namespace kiln::backends {

double CompileTimes::total_ms() const {
  return lower_ms + cache_key_ms + pipeline_ms + planning_ms + primitives_ms + ir_emission_ms + llvm_opt_ms +
         llvm_codegen_ms;
}

std::string CompileTimes::ToString() const {
  return absl::StrFormat(
      "total %.1f ms: lower %.1f, cache_key %.1f, pipeline %.1f, planning %.1f, primitives %.1f, "
      "ir_emission %.1f, llvm_opt %.1f, llvm_codegen %.1f (%d kernels, %d IR instructions, %d primitives)",
      total_ms(), lower_ms, cache_key_ms, pipeline_ms, planning_ms, primitives_ms, ir_emission_ms, llvm_opt_ms,
      llvm_codegen_ms, kernels, ir_instructions, primitives);
}

Executable::~Executable() = default;
Backend::~Backend() = default;

Executable::Executable(const hlo::Module& module) {
  hlo::ProgramShape ps = module.entry_program_shape();
  parameter_shapes_ = ps.parameters;
  if (ps.result.IsTuple()) {
    result_is_tuple_ = true;
    result_shapes_ = ps.result.tuple_shapes();
  } else {
    result_shapes_ = {ps.result};
  }
}

absl::Status Executable::CheckBuffers(absl::Span<const BufferRef> args,
                                      absl::Span<const BufferRef> results) const {
  if (args.size() != parameter_shapes_.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("Executable::Run: ", args.size(),
                                                   " argument buffers for ",
                                                   parameter_shapes_.size(), " parameters"));
  }
  if (results.size() != result_shapes_.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("Executable::Run: ", results.size(),
                                                   " result buffers for ", result_shapes_.size(),
                                                   " results"));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    size_t need = hlo::ShapeUtil::ByteSizeOf(parameter_shapes_[i]);
    if (args[i].size != need || (need > 0 && args[i].data == nullptr)) {
      return absl::InvalidArgumentError(kiln::StrCat(
          "Executable::Run: argument ", i, " has ", args[i].size, " bytes, parameter shape ",
          parameter_shapes_[i].ToString(), " needs ", need));
    }
  }
  for (size_t i = 0; i < results.size(); ++i) {
    size_t need = hlo::ShapeUtil::ByteSizeOf(result_shapes_[i]);
    if (results[i].size != need || (need > 0 && results[i].data == nullptr)) {
      return absl::InvalidArgumentError(kiln::StrCat(
          "Executable::Run: result buffer ", i, " has ", results[i].size, " bytes, result shape ",
          result_shapes_[i].ToString(), " needs ", need));
    }
  }
  return absl::OkStatus();
}

BackendRegistry& BackendRegistry::Global() {
  static BackendRegistry* registry = new BackendRegistry();
  return *registry;
}

void BackendRegistry::Register(std::unique_ptr<Backend> backend) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& b : backends_) {
    if (b->name() == backend->name()) {
      retired_.push_back(std::move(b));
      b = std::move(backend);
      return;
    }
  }
  backends_.push_back(std::move(backend));
}

Backend* BackendRegistry::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& b : backends_) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

std::vector<std::string> BackendRegistry::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& b : backends_) names.emplace_back(b->name());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace kiln::backends
