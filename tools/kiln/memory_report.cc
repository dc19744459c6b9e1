#include "tools/kiln/memory_report.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/support/strings.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kiln/runtime/executor.h"
#include "kiln/support/status.h"
#include "tools/kiln/common.h"

namespace kiln::cli {
namespace {

std::string Bytes(int64_t bytes) {
  if (bytes < (1 << 20)) return absl::StrFormat("%.2f KiB (%d bytes)", static_cast<double>(bytes) / 1024, bytes);
  return absl::StrFormat("%.2f MiB (%d bytes)", static_cast<double>(bytes) / (1 << 20), bytes);
}

}  // namespace

absl::Status PrintMemoryPlan(const Graph& graph, std::ostream& out) {
  RegisterStandardOps();
  std::map<std::string, TensorType> inputs;
  std::vector<std::string> described;
  bool assumed = false;
  for (const ValueInfo* info : FedInputs(graph)) {
    if (!info->has_shape) {
      return absl::InvalidArgumentError(
          kiln::StrCat("input '", info->name, "' has no declared shape, so its activations cannot be planned"));
    }
    TensorType t{info->dtype, info->dims};
    for (int64_t& d : t.dims) {
      if (d < 0) {
        d = 1;
        assumed = true;
      }
    }
    described.push_back(kiln::StrCat(info->name, " ", t.ToString()));
    inputs[info->name] = std::move(t);
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor, Executor::Create(std::make_shared<const Graph>(graph)));
  KILN_ASSIGN_OR_RETURN(MemoryPlanStats seq, executor->PlanMemory(inputs, {}, /*parallel_schedule=*/false));
  KILN_ASSIGN_OR_RETURN(MemoryPlanStats par, executor->PlanMemory(inputs, {}, /*parallel_schedule=*/true));
  out << "memory plan (runtime kernels, JIT off; inputs " << absl::StrJoin(described, ", ")
      << (assumed ? "; unknown dimensions taken as 1" : "") << "):\n";
  out << absl::StrFormat("  activations: %d in the arena, %d views of other values (no bytes), %d outside "
                         "the arena (fetched outputs or unknown sizes, %s)\n",
                         seq.arena_values, seq.alias_values, seq.heap_values, Bytes(seq.heap_bytes));
  out << "  sum of all arena activations (no reuse):      " << Bytes(seq.activation_bytes) << "\n";
  out << "  peak with the plan (sequential order):        " << Bytes(seq.arena_bytes) << "\n";
  out << "  peak with the plan (parallel schedule):       " << Bytes(par.arena_bytes) << "\n";
  out << "  most bytes live at once (sequential, bound):  " << Bytes(seq.peak_live_bytes) << "\n";
  return absl::OkStatus();
}

}  // namespace kiln::cli
