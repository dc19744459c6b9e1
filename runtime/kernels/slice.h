// What the JIT needs to know of the runtime's Slice: the per-dimension start, step and length the
// kernel computes from its starts, ends, axes and steps (clamping and negative indices included).
#ifndef KILN_RUNTIME_KERNELS_SLICE_H_
#define KILN_RUNTIME_KERNELS_SLICE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/tensor/tensor.h"

namespace kiln::kernels {

struct SliceAxis {
  int64_t start = 0, step = 1, length = 0;
};

// Per-dimension start, step and length of Slice over `in` (all dims known). InvalidArgument for
// mismatched lengths, a repeated or out-of-range axis, or a zero step.
absl::StatusOr<std::vector<SliceAxis>> SlicePlan(const Dims& in, const std::vector<int64_t>& starts,
                                                 const std::vector<int64_t>& ends,
                                                 const std::optional<std::vector<int64_t>>& axes_in,
                                                 const std::optional<std::vector<int64_t>>& steps_in);

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_SLICE_H_
