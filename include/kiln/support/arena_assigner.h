// The one arena assigner: offsets for buffers whose lifetimes may conflict, shared by the runtime's
// memory plan (kiln/runtime/memory_plan.h) and the CPU backend's temporaries.
#ifndef KILN_SUPPORT_ARENA_ASSIGNER_H_
#define KILN_SUPPORT_ARENA_ASSIGNER_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace kiln {

// Assigns each buffer i (of `sizes[i]` bytes) an offset so that no two buffers for which
// `conflict(i, j)` is true overlap. Buffers are placed largest first (ties: lower index first);
// each goes into the smallest gap between already placed conflicting buffers that holds it, or
// above all of them (TFLite's "greedy by size" arena planner). Offsets are multiples of
// `alignment`. Returns the offsets; `*total` is the arena size needed. Deterministic: the result
// depends only on the arguments.
std::vector<int64_t> AssignOffsetsGreedyBySize(const std::vector<int64_t>& sizes,
                                               const std::function<bool(int, int)>& conflict,
                                               int64_t alignment, int64_t* total);

}  // namespace kiln

#endif  // KILN_SUPPORT_ARENA_ASSIGNER_H_
