// `kiln info --memory`: the executor's activation memory plan (private to tools/kiln).
#ifndef KILN_TOOLS_KILN_MEMORY_REPORT_H_
#define KILN_TOOLS_KILN_MEMORY_REPORT_H_

#include <ostream>

#include "absl/status/status.h"
#include "kiln/runtime/graph.h"

namespace kiln::cli {

// Prints the peak activation memory of one run of `graph` on the runtime kernels (JIT off) with
// the memory plan, for the sequential order and for the parallel schedule, next to the sum of all
// activation sizes (no reuse). Unknown input dimensions are taken as 1 (and said so).
absl::Status PrintMemoryPlan(const Graph& graph, std::ostream& out);

}  // namespace kiln::cli

#endif  // KILN_TOOLS_KILN_MEMORY_REPORT_H_
