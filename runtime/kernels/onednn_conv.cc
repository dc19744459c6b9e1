#include "runtime/kernels/onednn_conv.h"

#include <unordered_map>

#include "kiln/support/winograd.h"
#include "kiln/support/status.h"
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
  const char* what = spec.deconvolution ? "deconvolution" : "convolution";
  try {
    auto plan = std::make_shared<OnednnConvPlan>();
    plan->user_src = spec.src;
    plan->user_dst = spec.dst;
    plan->user_weights = spec.weights;
    plan->bias_md = spec.bias;
    const memory::desc any_src(spec.src.dims(), memory::data_type::f32, memory::format_tag::any);
    const memory::desc any_dst(spec.dst.dims(), memory::data_type::f32, memory::format_tag::any);
    const memory::desc any_w(spec.weights.dims(), memory::data_type::f32, memory::format_tag::any);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_post_ops(spec.post_ops);
    auto take = [&](dnnl::primitive prim, const auto& pd) {
      plan->prim = std::move(prim);
      plan->src = pd.src_desc();
      plan->dst = pd.dst_desc();
      plan->weights = pd.weights_desc();
      plan->scratchpad = pd.scratchpad_desc();
    };
    if (spec.deconvolution) {
      dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::deconvolution_direct, any_src, any_w, spec.bias,
                                             any_dst, spec.strides, spec.dilations, spec.pad_begin, spec.pad_end);
      dnnl::deconvolution_forward::primitive_desc pd(desc, attr, CpuEngine());
      take(dnnl::deconvolution_forward(pd), pd);
    } else {
      auto make_pd = [&](dnnl::algorithm algorithm) {
        dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, any_src, any_w,
                                             spec.bias, any_dst, spec.strides, spec.dilations, spec.pad_begin,
                                             spec.pad_end);
        return dnnl::convolution_forward::primitive_desc(desc, attr, CpuEngine());
      };
      const memory::dims& wdims = spec.weights.dims();
      const bool winograd = PreferWinograd(const_weights != nullptr, wdims, spec.strides, spec.dilations);
      dnnl::convolution_forward::primitive_desc pd = WinogradOrDirect(
          winograd, dnnl::algorithm::convolution_winograd, dnnl::algorithm::convolution_direct, make_pd);
      take(dnnl::convolution_forward(pd), pd);
    }
    if (plan->src != plan->user_src) {
      plan->src_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(CpuEngine(), plan->user_src, CpuEngine(), plan->src));
    }
    if (plan->dst != plan->user_dst) {
      plan->dst_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(CpuEngine(), plan->dst, CpuEngine(), plan->user_dst));
    }
    if (const_weights != nullptr) {
      memory user(plan->user_weights, CpuEngine(), const_cast<void*>(const_weights->raw_data()));
      memory reordered(plan->weights, CpuEngine());
      dnnl::stream stream(CpuEngine());
      dnnl::reorder(user, reordered).execute(stream, user, reordered);
      stream.wait();
      plan->const_weights = reordered;
    }
    return std::shared_ptr<const OnednnConvPlan>(std::move(plan));
  } catch (const dnnl::error& e) {
    return absl::InternalError(kiln::StrCat("oneDNN could not create the ", what, ": ", e.what()));
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
      src = memory(plan.src, eng);
      plan.src_reorder->execute(stream, user_src, src);
    }
    memory weights;
    if (plan.const_weights) {
      weights = *plan.const_weights;
    } else {
      memory user_w(plan.user_weights, eng, const_cast<void*>(w.raw_data()));
      if (plan.weights != plan.user_weights) {
        weights = memory(plan.weights, eng);
        dnnl::reorder(user_w, weights).execute(stream, user_w, weights);
      } else {
        weights = user_w;
      }
    }
    memory user_dst(plan.user_dst, eng, y->raw_data());
    memory dst = plan.dst_reorder ? memory(plan.dst, eng) : user_dst;
    memory scratch(plan.scratchpad, eng);
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

std::optional<Tensor> ConstantF32Input(const KernelConstruction& kc, size_t index) {
  if (kc.input_types.size() > index && kc.input_types[index] != nullptr && kc.input_types[index]->value &&
      kc.input_types[index]->value->dtype() == DType::kF32) {
    return *kc.input_types[index]->value;
  }
  return std::nullopt;
}

absl::StatusOr<std::shared_ptr<const OnednnConvPlan>> OnednnPlanCache::Get(const Dims& key, const Build& build) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
  }
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const OnednnConvPlan> plan, build());
  std::lock_guard<std::mutex> lock(mu_);
  plans_.emplace(key, plan);
  return plan;
}

Dims ConvPlanKey(const Dims& x, const Dims& w, bool has_bias) {
  Dims key = x;
  key.insert(key.end(), w.begin(), w.end());
  key.push_back(has_bias);
  return key;
}

}  // namespace kiln::kernels
