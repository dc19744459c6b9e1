// oneDNN forward convolutions and deconvolutions for the Conv (NCHW), NhwcConv and ConvTranspose
// kernels (private to runtime/kernels). The callers describe their own layouts; this builds and runs
// the primitive, and caches plans per input shape.
#ifndef KILN_RUNTIME_KERNELS_ONEDNN_CONV_H_
#define KILN_RUNTIME_KERNELS_ONEDNN_CONV_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
  bool deconvolution = false;  // A transposed convolution (oneDNN's deconvolution_forward).
};

// A oneDNN convolution for one input shape: oneDNN picks its own layouts, and reorders convert from
// and to the caller's. Immutable once built; executing it from several threads at once is safe (each
// call brings its own stream and scratchpad).
struct OnednnConvPlan {
  dnnl::primitive prim;
  dnnl::memory::desc src, dst, weights, scratchpad;  // The primitive's own layouts.
  dnnl::memory::desc user_src, user_dst, user_weights, bias_md;
  std::optional<dnnl::reorder> src_reorder, dst_reorder;
  std::optional<dnnl::memory> const_weights;  // Reordered constant weights.
};

// Builds the plan; with `const_weights`, reorders them once into the primitive's layout. Internal
// error when oneDNN cannot build the primitive (the callers fall back to their reference loops or
// report it).
absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> BuildOnednnConvPlan(const OnednnConvSpec& spec,
                                                                           const Tensor* const_weights);

// y = conv(x, w) + b in the caller's layouts; `w` is ignored when the plan holds constant weights.
absl::Status RunOnednnConvPlan(const OnednnConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b,
                               Tensor* y);

// Input `index` of the node when it is a compile-time f32 constant (its weights), else nullopt.
std::optional<Tensor> ConstantF32Input(const KernelConstruction& kc, size_t index);

// A kernel's plans by key (input dims + weight dims + has-bias); a null plan is remembered too (the
// caller's reference loops). Thread-safe.
class OnednnPlanCache {
 public:
  using Build = std::function<absl::StatusOr<std::shared_ptr<const OnednnConvPlan>>()>;
  // The plan under `key`, built by `build` on first use; a failed build is returned and not kept.
  absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> Get(const Dims& key, const Build& build) const;

 private:
  mutable std::mutex mu_;  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented).
  mutable std::map<Dims, std::shared_ptr<const OnednnConvPlan>> plans_;
};

// The cache key of a convolution plan.
Dims ConvPlanKey(const Dims& x, const Dims& w, bool has_bias);

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_ONEDNN_CONV_H_
