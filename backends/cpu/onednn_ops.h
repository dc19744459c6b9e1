// Thin oneDNN wrappers of the CPU backend: fp32 convolution, matmul and reorder primitives built
// at compile time and executed on raw buffers. Each primitive is immutable after Create(); Execute()
// may run concurrently from several threads, each with its own stream, scratch memory and ArgCache
// (the primitives use user-managed scratchpads, so no state is shared between calls).
#ifndef KILN_BACKENDS_CPU_ONEDNN_OPS_H_
#define KILN_BACKENDS_CPU_ONEDNN_OPS_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace kiln::cpu {

// The process-wide oneDNN CPU engine (engines are thread-safe).
const dnnl::engine& CpuEngine();

// A plain strided fp32 memory descriptor.
dnnl::memory::desc StridedDesc(const dnnl::memory::dims& dims, const dnnl::memory::dims& strides);
// A row-major fp32 descriptor.
dnnl::memory::desc RowMajorDesc(const dnnl::memory::dims& dims);
// True when `desc` is the row-major layout of its dims (no padding, no blocking).
bool IsRowMajor(const dnnl::memory::desc& desc);
// The channel-blocked layout oneDNN's direct convolutions prefer for an activation {N, C, spatial...}
// of rank 3 to 5: nCw16c / nChw16c / nCdhw16c on AVX-512 machines, the 8c variants otherwise (C is
// padded up to a multiple of the block; get_size() counts the padding). Null desc for other ranks.
dnnl::memory::desc BlockedDesc(const dnnl::memory::dims& dims);

// The memory objects of one primitive's arguments, kept between calls by one caller that never
// runs two calls at once (a workspace of the CPU executable): created on the first call, and a
// data handle is only updated when its buffer moved (parameters, results). Saves creating and
// destroying oneDNN memory objects and argument maps on every call.
struct ArgCache {
  std::vector<dnnl::memory> mems;
  std::vector<const void*> ptrs;
};

// Post-op applied to a primitive's result, in order. kSum adds the destination's previous
// contents (the caller pre-fills dst) inside oneDNN and must come first; kClip (relu is a kClip to
// [0, inf)) runs after the primitive with Kiln's IEEE maximum/minimum (NaN propagates), over the
// whole destination buffer, padding of blocked layouts included: callers fuse only clamps that map
// 0 to 0. kSwish (x * logistic(x), SiLU) and kHardSwish (x * clamp(x / lo + hi, 0, 1), lo and hi
// the HLO's constants) run after the primitive the same way (they map 0 to 0).
struct PostOp {
  enum class Kind { kClip, kSum, kSwish, kHardSwish };
  Kind kind = Kind::kClip;
  float lo = 0.0f;  // kClip: result = min(max(x, lo), hi).
  float hi = 0.0f;
};

struct ConvSpec {
  // Logical dims in oneDNN order: src {N, C, spatial...}; weights {O, I, spatial...} or, with
  // groups > 1, {G, O/G, I/G, spatial...}; dst {N, O, spatial...}.
  // src and dst may use format_tag::any: the primitive then picks its preferred (blocked) layout and
  // the caller supplies/receives data in src_desc()/dst_desc().
  dnnl::memory::desc src;
  dnnl::memory::desc weights;  // How the given weights lie in memory (plain strided).
  dnnl::memory::desc dst;
  bool has_bias = false;       // Bias: f32[O], contiguous.
  dnnl::memory::dims strides;
  dnnl::memory::dims dilations;  // oneDNN convention: 0 = dense kernel (HLO rhs_dilation - 1).
  dnnl::memory::dims pad_l;
  dnnl::memory::dims pad_r;
  std::vector<PostOp> post_ops;
};

class ConvPrimitive {
 public:
  // `const_weights` (nullable): weights known at compile time, laid out as spec.weights; they are
  // reordered once into the primitive's preferred layout and owned here. Without them the weights
  // are reordered per call into scratch memory. InvalidArgument when oneDNN rejects the
  // configuration (the message names oneDNN's reason).
  static absl::StatusOr<std::unique_ptr<ConvPrimitive>> Create(const ConvSpec& spec,
                                                               const void* const_weights);

  const dnnl::memory::desc& src_desc() const { return src_desc_; }
  const dnnl::memory::desc& dst_desc() const { return dst_desc_; }
  // oneDNN's implementation name, e.g. "jit:avx512_common" or "gemm:jit".
  const std::string& impl_name() const { return impl_name_; }
  // Bytes of scratch memory one Execute() needs (64-byte aligned by the caller).
  size_t scratch_bytes() const { return scratch_bytes_; }

  // `weights` is ignored when the weights were constant at Create(); `bias` is f32[O] or null when
  // the spec has no bias. `scratch` holds scratch_bytes().
  absl::Status Execute(dnnl::stream& stream, const void* src, const void* weights, const void* bias,
                       void* dst, void* scratch, ArgCache& cache) const;

 private:
  ConvPrimitive() = default;
  dnnl::convolution_forward primitive_;
  dnnl::memory::desc src_desc_, dst_desc_, weights_desc_, given_weights_desc_, bias_desc_,
      scratchpad_desc_;
  std::unique_ptr<dnnl::reorder> weights_reorder_;  // Per-call reorder of non-constant weights.
  std::vector<PostOp> clamps_;  // The post-ops that run after the primitive (clip, swish), in order.
  std::shared_ptr<void> packed_weights_;            // Reordered constant weights.
  size_t scratch_bytes_ = 0;
  size_t scratchpad_offset_ = 0;
  std::string impl_name_;
};

struct MatmulSpec {
  // Plain strided descriptors: src {B..., M, K}, weights {B..., K, N}, dst {B..., M, N}, all of
  // one rank (2 or 3; batch dims of size 1 broadcast).
  dnnl::memory::desc src;
  dnnl::memory::desc weights;
  dnnl::memory::desc dst;
  bool has_bias = false;  // Bias: f32[N] contiguous, broadcast over rows.
  std::vector<PostOp> post_ops;
};

class MatmulPrimitive {
 public:
  // `const_weights`: the weights when they are a constant of the module; they are then packed once
  // into the layout oneDNN prefers and Execute ignores its `weights` argument.
  static absl::StatusOr<std::unique_ptr<MatmulPrimitive>> Create(const MatmulSpec& spec,
                                                                 const void* const_weights = nullptr);
  size_t scratch_bytes() const { return scratch_bytes_; }
  absl::Status Execute(dnnl::stream& stream, const void* src, const void* weights, const void* bias,
                       void* dst, void* scratch, ArgCache& cache) const;

 private:
  MatmulPrimitive() = default;
  dnnl::matmul primitive_;
  dnnl::memory::desc src_desc_, weights_desc_, dst_desc_, bias_desc_, scratchpad_desc_;
  std::shared_ptr<void> packed_weights_;          // Reordered constant weights.
  std::vector<PostOp> clamps_;  // The post-ops that run after the primitive (clip, swish), in order.
  size_t scratch_bytes_ = 0;
};

// Copies data between two layouts of the same logical fp32 tensor.
class ReorderPrimitive {
 public:
  static absl::StatusOr<std::unique_ptr<ReorderPrimitive>> Create(const dnnl::memory::desc& from,
                                                                  const dnnl::memory::desc& to);
  absl::Status Execute(dnnl::stream& stream, const void* from, void* to, ArgCache& cache) const;

 private:
  ReorderPrimitive() = default;
  dnnl::reorder primitive_;
  dnnl::memory::desc from_, to_;
};

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_ONEDNN_OPS_H_
