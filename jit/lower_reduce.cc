// Lowerings of the reductions: ReduceMean, and the mean over dims that GlobalAveragePool shares.
#include "jit/lower_internal.h"

#include <set>

#include "kiln/support/status.h"

namespace kiln::jit::lowering {

Op MeanOver(hlo::Builder& b, Op x, const std::vector<int64_t>& dims, bool keep_dims) {
  std::vector<int64_t> in = DimsOf(x);
  int64_t count = 1;
  for (int64_t dim : dims) count *= in[dim];
  Op sum = b.Reduce(x, b.ConstantR0<float>(0.0f), b.ScalarComputation(hlo::Opcode::kAdd, PrimitiveType::F32),
                    dims);
  Op mean = b.Div(sum, b.ConstantR0<float>(static_cast<float>(count)));
  if (!keep_dims) return mean;
  for (int64_t dim : dims) in[dim] = 1;
  return b.Reshape(mean, in);
}

absl::Status LowerReduceMean(LowerContext& ctx) {
  const Node& node = ctx.node();
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(int64_t keep_dims, node.GetInt("keepdims", 1));
  KILN_ASSIGN_OR_RETURN(int64_t noop_with_empty_axes, node.GetInt("noop_with_empty_axes", 0));
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(axes, ctx.constant_ints(1));  // Opset 18: axes as an input.
  } else {
    KILN_ASSIGN_OR_RETURN(axes, node.GetInts("axes", std::vector<int64_t>{}));
  }
  if (axes.empty()) {
    if (noop_with_empty_axes) {
      ctx.set_output(0, x);
      return absl::OkStatus();
    }
    for (int64_t i = 0; i < Rank(x); ++i) axes.push_back(i);
  }
  std::set<int64_t> unique;
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, a, Rank(x)));
    unique.insert(axis);
  }
  ctx.set_output(0, MeanOver(ctx.b(), x, std::vector<int64_t>(unique.begin(), unique.end()), keep_dims != 0));
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
