// oneDNN forward convolutions for the Conv (NCHW) and NhwcConv kernels (private to runtime/kernels).
// The callers describe their own layouts; this builds and runs the primitive.
#ifndef KILN_RUNTIME_KERNELS_ONEDNN_CONV_H_
#define KILN_RUNTIME_KERNELS_ONEDNN_CONV_H_

#include <memory>
#include <optional>

#include <oneapi/dnnl/dnnl.hpp>

#include "absl/status/statusor.h"
#include "kiln/runtime/op_registry.h"
#include "kiln/tensor/tensor.h"

namespace kiln::kernels {

// Both convolution kernels take f32 X, W and optional B; an error naming the node otherwise.
absl::Status CheckConvOperandsF32(const KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b);

// The process-wide oneDNN CPU engine of the runtime's kernels.
dnnl::engine& CpuEngine();

// What a convolution reads and writes, in the caller's layouts (plain f32 descriptors: NCHW or NHWC
// data, OIHW / GOIHW / HWIO / HWIGO weights), and its geometry in oneDNN's terms (dilation 0 = none).
struct OnednnConvSpec {
  dnnl::memory::desc src, dst, weights;
  dnnl::memory::desc bias;  // Zero descriptor: no bias.
  dnnl::memory::dims strides, dilations, pad_begin, pad_end;
  dnnl::post_ops post_ops;  // Activation and the like, applied to the output.
};

// A oneDNN convolution for one input shape: oneDNN picks its own layouts, and reorders convert from
// and to the caller's. Immutable once built; executing it from several threads at once is safe (each
// call brings its own stream and scratchpad).
struct OnednnConvPlan {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  dnnl::memory::desc user_src, user_dst, user_weights, bias_md;
  std::optional<dnnl::reorder> src_reorder, dst_reorder;
  std::optional<dnnl::memory> weights;  // Reordered constant weights.
};

// Builds the plan; with `const_weights`, reorders them once into the primitive's layout. Internal
// error when oneDNN cannot build the primitive (the callers fall back to their reference loops or
// report it).
absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> BuildOnednnConvPlan(const OnednnConvSpec& spec,
                                                                           const Tensor* const_weights);

// y = conv(x, w) + b in the caller's layouts; `w` is ignored when the plan holds constant weights.
absl::Status RunOnednnConvPlan(const OnednnConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b,
                               Tensor* y);

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_ONEDNN_CONV_H_
