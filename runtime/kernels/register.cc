// RegisterStandardOps and the pieces every family of kernels shares: constant folding of small
// values during shape inference. The sliding-window geometry of Conv and the pools is in
// runtime/window_geometry.cc.
#include <mutex>

#include "kiln/support/strings.h"
#include "runtime/kernels/kernel_util.h"

namespace kiln {

namespace kernels {
namespace {

// Values with at most this many elements (all inputs together, and each output) are folded.
constexpr int64_t kFoldLimit = 4096;

// After `ctx`'s shape function ran: when every present input is a known small constant and the
// outputs are fully defined, runs the kernel on those constants and records the output values.
// Folding is an optimisation of type inference only: when the kernel cannot be built or fails
// here, the outputs stay non-constant and the same error surfaces when the node runs.
void FoldConstants(const KernelFactory& factory, InferenceContext& ctx) {
  const Node& node = ctx.node();
  std::vector<TensorType>& outs = ctx.outputs();
  bool all_known = !outs.empty();
  for (const TensorType& t : outs) all_known = all_known && t.value.has_value();
  if (all_known) return;
  int64_t total = 0;
  std::vector<const Tensor*> inputs;
  std::vector<const TensorType*> input_types;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) {
      inputs.push_back(nullptr);
      input_types.push_back(nullptr);
      continue;
    }
    const TensorType& t = ctx.input(i);
    if (!t.value.has_value()) return;
    total += t.value->num_elements();
    inputs.push_back(&*t.value);
    input_types.push_back(&t);
  }
  if (total > kFoldLimit) return;
  for (size_t i = 0; i < node.outputs.size() && i < outs.size(); ++i) {
    if (node.outputs[i].empty()) continue;
    if (!outs[i].fully_defined() || NumElements(outs[i].dims) > kFoldLimit) return;
  }
  KernelConstruction kc{node, input_types, &outs};
  absl::StatusOr<std::unique_ptr<OpKernel>> kernel = factory(kc);
  if (!kernel.ok()) return;
  std::vector<Tensor> results(node.outputs.size());
  KernelContext kctx(node, inputs, &results);
  if (!(*kernel)->Compute(kctx).ok()) return;
  for (size_t i = 0; i < results.size() && i < outs.size(); ++i) {
    if (node.outputs[i].empty() || !results[i].valid()) continue;
    if (results[i].dims() != outs[i].dims || results[i].dtype() != outs[i].dtype) return;
  }
  for (size_t i = 0; i < results.size() && i < outs.size(); ++i) {
    if (!node.outputs[i].empty() && results[i].valid()) outs[i].value = results[i];
  }
}

// Runs `inner` with f16/bf16 inputs converted to f32 and converts its f32 outputs back.
class HalfViaF32Kernel : public OpKernel {
 public:
  explicit HalfViaF32Kernel(std::unique_ptr<OpKernel> inner) : inner_(std::move(inner)) {}

  absl::Status Compute(KernelContext& ctx) const override {
    DType half = DType::kInvalid;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      if (ctx.has_input(i) && (ctx.input(i).dtype() == DType::kF16 || ctx.input(i).dtype() == DType::kBF16)) {
        half = ctx.input(i).dtype();
      }
    }
    if (half == DType::kInvalid) return inner_->Compute(ctx);
    std::vector<Tensor> converted(ctx.num_inputs());
    std::vector<const Tensor*> inputs(ctx.num_inputs(), nullptr);
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) continue;
      const Tensor& t = ctx.input(i);
      if (t.dtype() != DType::kF16 && t.dtype() != DType::kBF16) {
        inputs[i] = &t;
        continue;
      }
      KILN_ASSIGN_OR_RETURN(converted[i], Tensor::Create(DType::kF32, t.dims()));
      KILN_RETURN_IF_ERROR(CastInto(t, &converted[i]));
      inputs[i] = &converted[i];
    }
    std::vector<Tensor> outputs(ctx.num_outputs());
    KernelContext f32_ctx(ctx.node(), inputs, &outputs);
    KILN_RETURN_IF_ERROR(inner_->Compute(f32_ctx));
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      if (!outputs[i].valid() || outputs[i].dtype() != DType::kF32) {
        ctx.SetOutput(i, outputs[i]);
        continue;
      }
      KILN_ASSIGN_OR_RETURN(Tensor* out, ctx.AllocateOutput(i, half, outputs[i].dims()));
      KILN_RETURN_IF_ERROR(CastInto(outputs[i], out));
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<OpKernel> inner_;
};

}  // namespace

void AddOp(OpRegistry& registry, OpDef def, bool half_via_f32) {
  if (half_via_f32) {
    KernelFactory f32_factory = def.kernel_factory;
    def.kernel_factory = [f32_factory](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
      KILN_ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> inner, f32_factory(kc));
      return std::unique_ptr<OpKernel>(std::make_unique<HalfViaF32Kernel>(std::move(inner)));
    };
  }
  ShapeFn inner = def.shape_fn;
  KernelFactory factory = def.kernel_factory;
  def.shape_fn = [inner, factory](InferenceContext& ctx) -> absl::Status {
    KILN_RETURN_IF_ERROR(inner(ctx));
    FoldConstants(factory, ctx);
    return absl::OkStatus();
  };
  const std::string name = def.name;
  const absl::Status registered = registry.Register(std::move(def));
  KILN_CHECK(registered.ok(), kiln::StrCat("registering the standard op ", name, ": ", registered.message()));
}

absl::StatusOr<DType> OutputDataType(const Node& node, const char* attr, int64_t def) {
  KILN_ASSIGN_OR_RETURN(int64_t t, node.GetInt(attr, def));
  switch (t) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kS8;
    case 4: return DType::kU16;
    case 5: return DType::kS16;
    case 6: return DType::kS32;
    case 7: return DType::kS64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 11: return DType::kF64;
    case 12: return DType::kU32;
    case 13: return DType::kU64;
    case 16: return DType::kBF16;
    default:
      return absl::UnimplementedError(kiln::StrCat(node.op, " node '", node.name, "': ", attr, " ", t, " is not supported"));
  }
}

}  // namespace kernels

void RegisterStandardOps() {
  static std::once_flag once;
  std::call_once(once, [] {
    OpRegistry& registry = OpRegistry::Global();
    kernels::RegisterElementwiseOps(registry);
    kernels::RegisterConvOps(registry);
    kernels::RegisterMatMulOps(registry);
    kernels::RegisterPoolOps(registry);
    kernels::RegisterShapeOps(registry);
    kernels::RegisterReduceOps(registry);
    kernels::RegisterNormalizationOps(registry);
    kernels::RegisterIndexOps(registry);
    kernels::RegisterLossOps(registry);
    kernels::RegisterAttentionOps(registry);
    kernels::RegisterBitwiseOps(registry);
    kernels::RegisterGeneratorOps(registry);
    kernels::RegisterSelectionOps(registry);
    kernels::RegisterQuantizeOps(registry);
    kernels::RegisterImageOps(registry);
    kernels::RegisterLinalgOps(registry);
    kernels::RegisterResizeOps(registry);
    kernels::RegisterConvTransposeOps(registry);
    kernels::RegisterRecurrentOps(registry);
    kernels::RegisterNhwcOps(registry);
  });
}

}  // namespace kiln
