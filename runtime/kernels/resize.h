// What the JIT needs to know of the runtime's Resize: the input element each output element copies,
// where every output element copies one (nearest mode), computed exactly as the kernel computes it.
#ifndef KILN_RUNTIME_KERNELS_RESIZE_H_
#define KILN_RUNTIME_KERNELS_RESIZE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"
#include "kiln/tensor/tensor.h"

namespace kiln::kernels {

struct ResizePicks {
  Dims out;                                // The output dims.
  std::vector<std::vector<int64_t>> pick;  // Per axis, per output index: the input index it copies.
};

// For Resize `node` of an input of dims `x_dims` with its roi, scales and sizes inputs (null when
// absent): the picks when every output element copies one input element (nearest mode, nothing
// extrapolated), nullopt when some element interpolates or extrapolates. Errors as the kernel's
// (bad attributes, inconsistent scales or sizes).
absl::StatusOr<std::optional<ResizePicks>> ResizeAsPicks(const Node& node, const Dims& x_dims, const Tensor* roi,
                                                         const Tensor* scales, const Tensor* sizes);

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_RESIZE_H_
