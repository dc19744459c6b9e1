// The Conv kernel (private to runtime/kernels and its tests).
#ifndef KILN_RUNTIME_KERNELS_CONV_H_
#define KILN_RUNTIME_KERNELS_CONV_H_

#include <memory>

#include "absl/status/statusor.h"
#include "kiln/runtime/op_registry.h"

namespace kiln::kernels {

struct ConvKernelOptions {
  // Use oneDNN for f32 convolutions with 1 to 3 spatial dimensions; otherwise (and when false)
  // the reference loops run.
  bool use_onednn = true;
};

// Builds the kernel of a Conv node. When the weights (and bias) are constants, the oneDNN
// primitive for each input shape is prepared once, with its weights reordered once. The kernel's
// Compute is thread-safe.
absl::StatusOr<std::unique_ptr<OpKernel>> MakeConvKernel(const KernelConstruction& kc,
                                                         const ConvKernelOptions& options = {});

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_CONV_H_
