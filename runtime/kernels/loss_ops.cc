// Loss ops: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (ONNX opset 12/13 semantics),
// computed in double for every float input type.
#include <cmath>
#include <limits>
#include <optional>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

struct LossAttrs {
  std::string reduction;
  std::optional<int64_t> ignore_index;
};

absl::StatusOr<LossAttrs> ReadLossAttrs(const Node& node) {
  LossAttrs a;
  KILN_ASSIGN_OR_RETURN(a.reduction, node.GetString("reduction", "mean"));
  if (a.reduction != "none" && a.reduction != "sum" && a.reduction != "mean") {
    return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': reduction '", a.reduction,
                                                   "' is not one of none, sum, mean"));
  }
  if (node.HasAttr("ignore_index")) {
    KILN_ASSIGN_OR_RETURN(int64_t ii, node.GetInt("ignore_index"));
    a.ignore_index = ii;
  }
  return a;
}

// Shapes: input [N, C, d1...], target [N, d1...], weight [C]; the loss is target-shaped for
// reduction none, a scalar otherwise. `log_prob_output` adds output 1 shaped like the input.
absl::Status LossShapeFn(InferenceContext& ctx, bool log_prob_output) {
  const TensorType& x = ctx.input(0);
  const TensorType& t = ctx.input(1);
  if (!IsAnyFloat(x.dtype)) return ctx.Error(kiln::StrCat("input must be a float tensor; got ", x.ToString()));
  if (t.dtype != DType::kS32 && t.dtype != DType::kS64) {
    return ctx.Error(kiln::StrCat("target must be s32 or s64; got ", t.ToString()));
  }
  if (ctx.has_input(2) && ctx.input(2).dtype != x.dtype) return ctx.Error("weight must have the input's type");
  KILN_ASSIGN_OR_RETURN(LossAttrs a, ReadLossAttrs(ctx.node()));
  if (x.rank_known && x.dims.size() < 2) return ctx.Error("input must have rank 2 or more ([N, C, ...])");
  if (x.rank_known && t.rank_known && t.dims.size() + 1 != x.dims.size()) {
    return ctx.Error(kiln::StrCat("target ", t.ToString(), " must have rank one less than input ", x.ToString()));
  }
  if (a.reduction == "none") {
    ctx.set_output(0, TensorType{x.dtype, t.dims, t.rank_known});
  } else {
    ctx.set_output(0, TensorType{x.dtype, {}, true});
  }
  if (log_prob_output && UsesOutput(ctx, 1)) ctx.set_output(1, TensorType{x.dtype, x.dims, x.rank_known});
  return absl::OkStatus();
}

// Negative log likelihood of `logp` ([N, C, D] flattened) at the targets.
absl::Status ComputeNll(KernelContext& ctx, const std::vector<double>& logp, const Dims& x_dims, const Tensor& target,
                        const Tensor* weight, const LossAttrs& a, DType dtype) {
  const int64_t n = x_dims[0], c = x_dims[1];
  int64_t d = 1;
  for (size_t i = 2; i < x_dims.size(); ++i) d *= x_dims[i];
  Dims want(x_dims.begin(), x_dims.end());
  want.erase(want.begin() + 1);
  if (target.dims() != want) {
    return ctx.Error(kiln::StrCat("target ", target.TypeString(), " does not match input dims ", DimsToString(x_dims)));
  }
  if (weight != nullptr && weight->dims() != Dims{c}) {
    return ctx.Error(kiln::StrCat("weight ", weight->TypeString(), " must have shape [", c, "]"));
  }
  std::vector<double> w = weight ? ReadDoubles(*weight) : std::vector<double>();
  std::vector<double> loss(n * d, 0.0);
  double weight_sum = 0, total = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const int64_t t = target.GetAsInt64(i * d + j);
      if (a.ignore_index && t == *a.ignore_index) continue;
      if (t < 0 || t >= c) {
        return ctx.Error(kiln::StrCat("target value ", t, " is outside [0, ", c, ") and is not ignore_index"));
      }
      const double wt = weight ? w[t] : 1.0;
      loss[i * d + j] = -logp[(i * c + t) * d + j] * wt;
      weight_sum += wt;
      total += loss[i * d + j];
    }
  }
  if (a.reduction == "none") return WriteDoubles(ctx, 0, dtype, target.dims(), loss);
  double value = total;
  if (a.reduction == "mean") value = weight_sum != 0 ? total / weight_sum : std::numeric_limits<double>::quiet_NaN();
  return WriteDoubles(ctx, 0, dtype, {}, {value});
}

absl::Status NllCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(LossAttrs a, ReadLossAttrs(ctx.node()));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.Error("input must have rank 2 or more ([N, C, ...])");
  return ComputeNll(ctx, ReadDoubles(x), x.dims(), ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr, a,
                    x.dtype());
}

absl::Status SceCompute(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(LossAttrs a, ReadLossAttrs(ctx.node()));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.Error("scores must have rank 2 or more ([N, C, ...])");
  const int64_t n = x.dims()[0], c = x.dims()[1];
  const int64_t d = x.num_elements() / std::max<int64_t>(1, n * c);
  std::vector<double> v = ReadDoubles(x);
  // Log-softmax over the class axis.
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < c; ++k) mx = std::max(mx, v[(i * c + k) * d + j]);
      double sum = 0;
      for (int64_t k = 0; k < c; ++k) sum += std::exp(v[(i * c + k) * d + j] - mx);
      const double lse = mx + std::log(sum);
      for (int64_t k = 0; k < c; ++k) v[(i * c + k) * d + j] -= lse;
    }
  }
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 1, x.dtype(), x.dims(), v));
  return ComputeNll(ctx, v, x.dims(), ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr, a, x.dtype());
}

}  // namespace

void RegisterLossOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("NegativeLogLikelihoodLoss", 2, 3,
                                 [](InferenceContext& ctx) { return LossShapeFn(ctx, false); }, NllCompute));
  AddOp(registry, StatelessOpDef("SoftmaxCrossEntropyLoss", 2, 3,
                                 [](InferenceContext& ctx) { return LossShapeFn(ctx, true); }, SceCompute, 2));
}

}  // namespace kiln::kernels
