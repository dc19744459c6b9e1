#include "backends/cpu/onednn_ops.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"

namespace kiln::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

size_t AlignUp(size_t n) { return (n + 63) / 64 * 64; }

absl::Status DnnlError(const dnnl::error& e, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("oneDNN rejected ", what, ": ", e.what(), " (status ", static_cast<int>(e.status), ")"));
}

dnnl::primitive_attr MakeAttr(const std::vector<PostOp>& post_ops) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (!post_ops.empty()) {
    dnnl::post_ops ops;
    for (const PostOp& op : post_ops) {
      if (op.kind == PostOp::Kind::kRelu) {
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      } else {
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, op.lo, op.hi);
      }
    }
    attr.set_post_ops(ops);
  }
  return attr;
}

dnnl::memory Mem(const dnnl::memory::desc& desc, const void* data) {
  return dnnl::memory(desc, CpuEngine(), const_cast<void*>(data));
}

std::string DimsString(const dnnl::memory::dims& dims) { return absl::StrCat("[", absl::StrJoin(dims, ","), "]"); }

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

// ---------------------------------------------------------------------------------------------
// Convolution

absl::StatusOr<std::unique_ptr<ConvPrimitive>> ConvPrimitive::Create(const ConvSpec& spec,
                                                                     const void* const_weights) {
  auto conv = std::unique_ptr<ConvPrimitive>(new ConvPrimitive());
  const std::string what = absl::StrCat("convolution src ", DimsString(spec.src.dims()), " weights ",
                                        DimsString(spec.weights.dims()), " dst ", DimsString(spec.dst.dims()));
  try {
    const dnnl::memory::dims& wdims = spec.weights.dims();
    dnnl::memory::desc weights_any(wdims, dt::f32, tag::any);
    const int64_t out_channels = spec.dst.dims()[1];
    conv->bias_desc_ = spec.has_bias ? dnnl::memory::desc({out_channels}, dt::f32, tag::a) : dnnl::memory::desc();
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                         dnnl::algorithm::convolution_direct, spec.src, weights_any,
                                         conv->bias_desc_, spec.dst, spec.strides, spec.dilations,
                                         spec.pad_l, spec.pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, MakeAttr(spec.post_ops), CpuEngine());
    conv->primitive_ = dnnl::convolution_forward(pd);
    conv->src_desc_ = pd.src_desc();
    conv->dst_desc_ = pd.dst_desc();
    conv->weights_desc_ = pd.weights_desc();
    conv->given_weights_desc_ = spec.weights;
    conv->scratchpad_desc_ = pd.scratchpad_desc();

    size_t scratch = 0;
    if (const_weights != nullptr) {
      const size_t bytes = conv->weights_desc_.get_size();
      void* packed = std::aligned_alloc(64, AlignUp(bytes));
      if (packed == nullptr) return absl::ResourceExhaustedError(absl::StrCat("packing weights of ", what));
      conv->packed_weights_ = std::shared_ptr<void>(packed, [](void* p) { std::free(p); });
      dnnl::stream stream(CpuEngine());
      dnnl::memory from = Mem(spec.weights, const_weights);
      dnnl::memory to(conv->weights_desc_, CpuEngine(), packed);
      dnnl::reorder(from, to).execute(stream, from, to);
      stream.wait();
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
                                    const void* bias, void* dst, void* scratch) const {
  try {
    const void* packed = packed_weights_.get();
    if (packed == nullptr) {
      dnnl::memory from = Mem(given_weights_desc_, weights);
      dnnl::memory to = Mem(weights_desc_, scratch);
      weights_reorder_->execute(stream, from, to);
      packed = scratch;
    }
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, Mem(src_desc_, src)},
        {DNNL_ARG_WEIGHTS, Mem(weights_desc_, packed)},
        {DNNL_ARG_DST, Mem(dst_desc_, dst)},
        {DNNL_ARG_SCRATCHPAD, Mem(scratchpad_desc_, static_cast<char*>(scratch) + scratchpad_offset_)},
    };
    if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, Mem(bias_desc_, bias));
    primitive_.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN convolution failed: ", e.what()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Matmul

absl::StatusOr<std::unique_ptr<MatmulPrimitive>> MatmulPrimitive::Create(const MatmulSpec& spec) {
  auto mm = std::unique_ptr<MatmulPrimitive>(new MatmulPrimitive());
  const std::string what = absl::StrCat("matmul src ", DimsString(spec.src.dims()), " weights ",
                                        DimsString(spec.weights.dims()), " dst ", DimsString(spec.dst.dims()));
  try {
    const dnnl::memory::dims& ddims = spec.dst.dims();
    if (spec.has_bias) {
      dnnl::memory::dims bias_dims(ddims.size(), 1);
      bias_dims.back() = ddims.back();
      mm->bias_desc_ = RowMajorDesc(bias_dims);
    }
    dnnl::matmul::desc desc = spec.has_bias ? dnnl::matmul::desc(spec.src, spec.weights, mm->bias_desc_, spec.dst)
                                            : dnnl::matmul::desc(spec.src, spec.weights, spec.dst);
    dnnl::matmul::primitive_desc pd(desc, MakeAttr(spec.post_ops), CpuEngine());
    mm->primitive_ = dnnl::matmul(pd);
    mm->src_desc_ = pd.src_desc();
    mm->weights_desc_ = pd.weights_desc();
    mm->dst_desc_ = pd.dst_desc();
    mm->scratchpad_desc_ = pd.scratchpad_desc();
    mm->scratch_bytes_ = AlignUp(mm->scratchpad_desc_.get_size());
  } catch (const dnnl::error& e) {
    return DnnlError(e, what);
  }
  return mm;
}

absl::Status MatmulPrimitive::Execute(dnnl::stream& stream, const void* src, const void* weights,
                                      const void* bias, void* dst, void* scratch) const {
  try {
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, Mem(src_desc_, src)},
        {DNNL_ARG_WEIGHTS, Mem(weights_desc_, weights)},
        {DNNL_ARG_DST, Mem(dst_desc_, dst)},
        {DNNL_ARG_SCRATCHPAD, Mem(scratchpad_desc_, scratch)},
    };
    if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, Mem(bias_desc_, bias));
    primitive_.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN matmul failed: ", e.what()));
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
    return DnnlError(e, absl::StrCat("reorder of ", DimsString(from.dims())));
  }
  return r;
}

absl::Status ReorderPrimitive::Execute(dnnl::stream& stream, const void* from, void* to) const {
  try {
    dnnl::memory a = Mem(from_, from);
    dnnl::memory b = Mem(to_, to);
    primitive_.execute(stream, a, b);
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN reorder failed: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace kiln::cpu
