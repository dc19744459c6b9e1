#include "runtime/kernels/onednn_conv.h"

#include <unordered_map>

#include "kiln/support/strings.h"

namespace kiln::kernels {

using dnnl::memory;

absl::Status CheckConvOperandsF32(const KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b) {
  if (x.dtype() != DType::kF32 || w.dtype() != DType::kF32 || (b && b->dtype() != DType::kF32)) {
    return ctx.Error(kiln::StrCat("X, W and B must be f32; got ", x.TypeString(), ", ", w.TypeString(),
                                  b ? kiln::StrCat(", ", b->TypeString()) : ""));
  }
  return absl::OkStatus();
}

dnnl::engine& CpuEngine() {
  static dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> BuildOnednnConvPlan(const OnednnConvSpec& spec,
                                                                           const Tensor* const_weights) {
  try {
    auto plan = std::make_shared<OnednnConvPlan>();
    plan->user_src = spec.src;
    plan->user_dst = spec.dst;
    plan->user_weights = spec.weights;
    plan->bias_md = spec.bias;
    const memory::desc any_src(spec.src.dims(), memory::data_type::f32, memory::format_tag::any);
    const memory::desc any_dst(spec.dst.dims(), memory::data_type::f32, memory::format_tag::any);
    const memory::desc any_w(spec.weights.dims(), memory::data_type::f32, memory::format_tag::any);
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                         any_src, any_w, spec.bias, any_dst, spec.strides, spec.dilations,
                                         spec.pad_begin, spec.pad_end);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_post_ops(spec.post_ops);
    plan->pd = dnnl::convolution_forward::primitive_desc(desc, attr, CpuEngine());
    plan->prim = dnnl::convolution_forward(plan->pd);
    if (plan->pd.src_desc() != plan->user_src) {
      plan->src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(CpuEngine(), plan->user_src, CpuEngine(),
                                                                       plan->pd.src_desc()));
    }
    if (plan->pd.dst_desc() != plan->user_dst) {
      plan->dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(CpuEngine(), plan->pd.dst_desc(),
                                                                       CpuEngine(), plan->user_dst));
    }
    if (const_weights != nullptr) {
      memory user(plan->user_weights, CpuEngine(), const_cast<void*>(const_weights->raw_data()));
      memory reordered(plan->pd.weights_desc(), CpuEngine());
      dnnl::stream stream(CpuEngine());
      dnnl::reorder(user, reordered).execute(stream, user, reordered);
      stream.wait();
      plan->weights = reordered;
    }
    return std::shared_ptr<const OnednnConvPlan>(std::move(plan));
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN could not create the convolution: ", e.what()));
  }
}

absl::Status RunOnednnConvPlan(const OnednnConvPlan& plan, const Tensor& x, const Tensor& w, const Tensor* b,
                               Tensor* y) {
  try {
    dnnl::engine& eng = CpuEngine();
    dnnl::stream stream(eng);
    memory user_src(plan.user_src, eng, const_cast<void*>(x.raw_data()));
    memory src = user_src;
    if (plan.src_reorder) {
      src = memory(plan.pd.src_desc(), eng);
      plan.src_reorder->execute(stream, user_src, src);
    }
    memory weights;
    if (plan.weights) {
      weights = *plan.weights;
    } else {
      memory user_w(plan.user_weights, eng, const_cast<void*>(w.raw_data()));
      if (plan.pd.weights_desc() != plan.user_weights) {
        weights = memory(plan.pd.weights_desc(), eng);
        dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
      } else {
        weights = user_w;
      }
    }
    memory user_dst(plan.user_dst, eng, y->raw_data());
    memory dst = plan.dst_reorder ? memory(plan.pd.dst_desc(), eng) : user_dst;
    memory scratch(plan.pd.scratchpad_desc(), eng);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, scratch}};
    if (b != nullptr) args[DNNL_ARG_BIAS] = memory(plan.bias_md, eng, const_cast<void*>(b->raw_data()));
    plan.prim.execute(stream, args);
    if (plan.dst_reorder) plan.dst_reorder->execute(stream, dst, user_dst);
    stream.wait();
    return absl::OkStatus();
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN convolution failed: ", e.what()));
  }
}

}  // namespace kiln::kernels
