#include "backends/cpu/onednn_ops.h"

#include <cstdlib>
#include <utility>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "kiln/support/winograd.h"
#include "kiln/support/ieee_minmax.h"
#include "kiln/support/vector_math.h"
#include "kiln/support/status.h"

namespace kiln::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

size_t AlignUp(size_t n) { return (n + 63) / 64 * 64; }

absl::Status DnnlError(const dnnl::error& e, std::string_view what) {
  return absl::InvalidArgumentError(
      kiln::StrCat("oneDNN rejected ", what, ": ", e.what(), " (status ", static_cast<int>(e.status), ")"));
}

// The oneDNN attribute of a primitive: user scratchpad, and the sum post-op. Relu and clip are not
// given to oneDNN: its eltwise_relu and eltwise_clip turn NaN into the lower bound, where Kiln's
// maximum/minimum propagate it (docs/operation_semantics.md). ApplyClamps runs them afterwards.
absl::StatusOr<dnnl::primitive_attr> MakeAttr(const std::vector<PostOp>& post_ops) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  bool clamped = false;
  for (const PostOp& op : post_ops) {
    if (op.kind != PostOp::Kind::kSum) {
      clamped = true;
      continue;
    }
    // The sum must come before every clamp, which run after the primitive.
    if (clamped) return absl::InvalidArgumentError("a sum post-op after a clamp post-op");
    ops.append_sum(1.0f);
  }
  if (ops.len() > 0) attr.set_post_ops(ops);
  return attr;
}

// The post-ops that run after the primitive (clip, swish), in order.
std::vector<PostOp> Clamps(const std::vector<PostOp>& post_ops) {
  std::vector<PostOp> clamps;
  for (const PostOp& op : post_ops) {
    if (op.kind != PostOp::Kind::kSum) clamps.push_back(op);
  }
  return clamps;
}

// Runs them over the whole destination buffer (blocked layouts included: the planner only fuses
// post-ops that keep a zero padding element zero).
void ApplyClamps(const std::vector<PostOp>& clamps, const dnnl::memory::desc& dst, void* data) {
  const size_t n = dst.get_size() / sizeof(float);
  for (const PostOp& op : clamps) {
    if (op.kind == PostOp::Kind::kSwish) {
      SwishInPlace(static_cast<float*>(data), n);
    } else if (op.kind == PostOp::Kind::kHardSwish) {
      HardSwishInPlace(static_cast<float*>(data), n, op.lo, op.hi);
    } else {
      IeeeClampInPlace(static_cast<float*>(data), n, op.lo, op.hi);
    }
  }
}

dnnl::memory Mem(const dnnl::memory::desc& desc, const void* data) {
  return dnnl::memory(desc, CpuEngine(), const_cast<void*>(data));
}

// Binds argument `i` of a cached call to `data`.
void Bind(ArgCache& cache, size_t i, const dnnl::memory::desc& desc, const void* data) {
  if (cache.mems.size() <= i) {
    cache.mems.resize(i + 1);
    cache.ptrs.resize(i + 1, nullptr);
  }
  if (!cache.mems[i]) {
    cache.mems[i] = Mem(desc, data);
    cache.ptrs[i] = data;
  } else if (cache.ptrs[i] != data) {
    cache.mems[i].set_data_handle(const_cast<void*>(data));
    cache.ptrs[i] = data;
  }
}

// Runs `primitive` on the first `n` cached arguments, whose oneDNN argument ids are `ids`.
void ExecuteCached(const dnnl::primitive& primitive, dnnl::stream& stream, const ArgCache& cache, const int* ids,
                   int n) {
  dnnl_exec_arg_t args[8];
  for (int i = 0; i < n; ++i) args[i] = {ids[i], cache.mems[i].get()};
  dnnl::error::wrap_c_api(dnnl_primitive_execute(primitive.get(), stream.get(), n, args),
                          "could not execute a primitive");
}

// Reorders constant weights from their given layout into the one a primitive chose, once.
absl::StatusOr<std::shared_ptr<void>> PackWeights(const dnnl::memory::desc& given, const void* weights,
                                                  const dnnl::memory::desc& packed_desc, std::string_view what) {
  void* packed = std::aligned_alloc(64, AlignUp(packed_desc.get_size()));
  if (packed == nullptr) return absl::ResourceExhaustedError(kiln::StrCat("packing weights of ", what));
  std::shared_ptr<void> result(packed, [](void* p) { std::free(p); });
  dnnl::stream stream(CpuEngine());
  dnnl::memory from = Mem(given, weights);
  dnnl::memory to(packed_desc, CpuEngine(), packed);
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return result;
}

std::string DimsString(const dnnl::memory::dims& dims) { return kiln::StrCat("[", absl::StrJoin(dims, ","), "]"); }

}  // namespace

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::memory::desc StridedDesc(const dnnl::memory::dims& dims, const dnnl::memory::dims& strides) {
  return dnnl::memory::desc(dims, dt::f32, strides);
}

dnnl::memory::desc RowMajorDesc(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size());
  int64_t stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return StridedDesc(dims, strides);
}

bool IsRowMajor(const dnnl::memory::desc& desc) { return desc == RowMajorDesc(desc.dims()); }

dnnl::memory::desc BlockedDesc(const dnnl::memory::dims& dims) {
  static const bool avx512 = [] {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_mic || isa == dnnl::cpu_isa::avx512_mic_4ops ||
           isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
           isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  switch (dims.size()) {
    case 3: return dnnl::memory::desc(dims, dt::f32, avx512 ? tag::nCw16c : tag::nCw8c);
    case 4: return dnnl::memory::desc(dims, dt::f32, avx512 ? tag::nChw16c : tag::nChw8c);
    case 5: return dnnl::memory::desc(dims, dt::f32, avx512 ? tag::nCdhw16c : tag::nCdhw8c);
    default: return dnnl::memory::desc();
  }
}

// ---------------------------------------------------------------------------------------------
// Convolution

absl::StatusOr<std::unique_ptr<ConvPrimitive>> ConvPrimitive::Create(const ConvSpec& spec,
                                                                     const void* const_weights) {
  auto conv = std::unique_ptr<ConvPrimitive>(new ConvPrimitive());
  const std::string what = kiln::StrCat("convolution src ", DimsString(spec.src.dims()), " weights ",
                                        DimsString(spec.weights.dims()), " dst ", DimsString(spec.dst.dims()));
  try {
    const dnnl::memory::dims& wdims = spec.weights.dims();
    dnnl::memory::desc weights_any(wdims, dt::f32, tag::any);
    const int64_t out_channels = spec.dst.dims()[1];
    conv->bias_desc_ = spec.has_bias ? dnnl::memory::desc({out_channels}, dt::f32, tag::a) : dnnl::memory::desc();
    KILN_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, MakeAttr(spec.post_ops));
    conv->clamps_ = Clamps(spec.post_ops);
    auto make_pd = [&](dnnl::algorithm algorithm) {
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, spec.src, weights_any,
                                           conv->bias_desc_, spec.dst, spec.strides, spec.dilations,
                                           spec.pad_l, spec.pad_r);
      return dnnl::convolution_forward::primitive_desc(desc, attr, CpuEngine());
    };
    const bool winograd = PreferWinograd(const_weights != nullptr, wdims, spec.strides, spec.dilations);
    dnnl::convolution_forward::primitive_desc pd = WinogradOrDirect(
        winograd, dnnl::algorithm::convolution_winograd, dnnl::algorithm::convolution_direct, make_pd);
    conv->primitive_ = dnnl::convolution_forward(pd);
    conv->impl_name_ = pd.impl_info_str();
    conv->src_desc_ = pd.src_desc();
    conv->dst_desc_ = pd.dst_desc();
    conv->weights_desc_ = pd.weights_desc();
    conv->given_weights_desc_ = spec.weights;
    conv->scratchpad_desc_ = pd.scratchpad_desc();

    size_t scratch = 0;
    if (const_weights != nullptr) {
      KILN_ASSIGN_OR_RETURN(conv->packed_weights_, PackWeights(spec.weights, const_weights, conv->weights_desc_, what));
    } else {
      conv->weights_reorder_ = std::make_unique<dnnl::reorder>(
          dnnl::reorder::primitive_desc(CpuEngine(), spec.weights, CpuEngine(), conv->weights_desc_));
      scratch = AlignUp(conv->weights_desc_.get_size());
    }
    conv->scratchpad_offset_ = scratch;
    conv->scratch_bytes_ = scratch + AlignUp(conv->scratchpad_desc_.get_size());
  } catch (const dnnl::error& e) {
    return DnnlError(e, what);
  }
  return conv;
}

absl::Status ConvPrimitive::Execute(dnnl::stream& stream, const void* src, const void* weights,
                                    const void* bias, void* dst, void* scratch, ArgCache& cache) const {
  try {
    const void* packed = packed_weights_.get();
    if (packed == nullptr) {
      Bind(cache, 5, given_weights_desc_, weights);
      Bind(cache, 6, weights_desc_, scratch);
      weights_reorder_->execute(stream, cache.mems[5], cache.mems[6]);
      packed = scratch;
    }
    static constexpr int kIds[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD, DNNL_ARG_BIAS};
    Bind(cache, 0, src_desc_, src);
    Bind(cache, 1, weights_desc_, packed);
    Bind(cache, 2, dst_desc_, dst);
    Bind(cache, 3, scratchpad_desc_, static_cast<char*>(scratch) + scratchpad_offset_);
    if (bias != nullptr) Bind(cache, 4, bias_desc_, bias);
    ExecuteCached(primitive_, stream, cache, kIds, bias != nullptr ? 5 : 4);
    stream.wait();
    ApplyClamps(clamps_, dst_desc_, dst);
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN convolution failed: ", e.what()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Matmul

absl::StatusOr<std::unique_ptr<MatmulPrimitive>> MatmulPrimitive::Create(const MatmulSpec& spec,
                                                                         const void* const_weights) {
  auto mm = std::unique_ptr<MatmulPrimitive>(new MatmulPrimitive());
  const std::string what = kiln::StrCat("matmul src ", DimsString(spec.src.dims()), " weights ",
                                        DimsString(spec.weights.dims()), " dst ", DimsString(spec.dst.dims()));
  try {
    const dnnl::memory::dims& ddims = spec.dst.dims();
    if (spec.has_bias) {
      dnnl::memory::dims bias_dims(ddims.size(), 1);
      bias_dims.back() = ddims.back();
      mm->bias_desc_ = RowMajorDesc(bias_dims);
    }
    // Constant weights: oneDNN chooses their layout (packed for its GEMM kernel) and they are
    // reordered once here, instead of on every call inside the primitive.
    const dnnl::memory::desc weights =
        const_weights != nullptr ? dnnl::memory::desc(spec.weights.dims(), dt::f32, tag::any) : spec.weights;
    dnnl::matmul::desc desc = spec.has_bias ? dnnl::matmul::desc(spec.src, weights, mm->bias_desc_, spec.dst)
                                            : dnnl::matmul::desc(spec.src, weights, spec.dst);
    KILN_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, MakeAttr(spec.post_ops));
    mm->clamps_ = Clamps(spec.post_ops);
    dnnl::matmul::primitive_desc pd(desc, attr, CpuEngine());
    mm->primitive_ = dnnl::matmul(pd);
    mm->src_desc_ = pd.src_desc();
    mm->weights_desc_ = pd.weights_desc();
    mm->dst_desc_ = pd.dst_desc();
    mm->scratchpad_desc_ = pd.scratchpad_desc();
    mm->scratch_bytes_ = AlignUp(mm->scratchpad_desc_.get_size());
    if (const_weights != nullptr) {
      KILN_ASSIGN_OR_RETURN(mm->packed_weights_, PackWeights(spec.weights, const_weights, mm->weights_desc_, what));
    }
  } catch (const dnnl::error& e) {
    return DnnlError(e, what);
  }
  return mm;
}

absl::Status MatmulPrimitive::Execute(dnnl::stream& stream, const void* src, const void* weights,
                                      const void* bias, void* dst, void* scratch, ArgCache& cache) const {
  try {
    static constexpr int kIds[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD, DNNL_ARG_BIAS};
    Bind(cache, 0, src_desc_, src);
    Bind(cache, 1, weights_desc_, packed_weights_ ? packed_weights_.get() : weights);
    Bind(cache, 2, dst_desc_, dst);
    Bind(cache, 3, scratchpad_desc_, scratch);
    if (bias != nullptr) Bind(cache, 4, bias_desc_, bias);
    ExecuteCached(primitive_, stream, cache, kIds, bias != nullptr ? 5 : 4);
    stream.wait();
    ApplyClamps(clamps_, dst_desc_, dst);
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN matmul failed: ", e.what()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reorder

absl::StatusOr<std::unique_ptr<ReorderPrimitive>> ReorderPrimitive::Create(const dnnl::memory::desc& from,
                                                                           const dnnl::memory::desc& to) {
  auto r = std::unique_ptr<ReorderPrimitive>(new ReorderPrimitive());
  try {
    r->primitive_ = dnnl::reorder(dnnl::reorder::primitive_desc(CpuEngine(), from, CpuEngine(), to));
    r->from_ = from;
    r->to_ = to;
  } catch (const dnnl::error& e) {
    return DnnlError(e, kiln::StrCat("reorder of ", DimsString(from.dims())));
  }
  return r;
}

absl::Status ReorderPrimitive::Execute(dnnl::stream& stream, const void* from, void* to, ArgCache& cache) const {
  try {
    static constexpr int kIds[] = {DNNL_ARG_FROM, DNNL_ARG_TO};
    Bind(cache, 0, from_, from);
    Bind(cache, 1, to_, to);
    ExecuteCached(primitive_, stream, cache, kIds, 2);
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN reorder failed: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace kiln::cpu
