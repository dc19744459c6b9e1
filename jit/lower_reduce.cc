// Lowerings of the reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd,
// ReduceSumSquare, ReduceL1, ReduceL2, and the mean over dims that GlobalAveragePool shares.
#include "jit/lower_internal.h"

#include <limits>
#include <set>
#include <string>

#include "kiln/support/status.h"

namespace kiln::jit::lowering {

namespace {

// `reduced` (x reduced over `dims`) with the reduced dims kept as 1 when keep_dims.
Op KeepDims(hlo::Builder& b, Op reduced, std::vector<int64_t> in, const std::vector<int64_t>& dims, bool keep_dims) {
  if (!keep_dims) return reduced;
  for (int64_t dim : dims) in[dim] = 1;
  return b.Reshape(reduced, in);
}

}  // namespace

Op MeanOver(hlo::Builder& b, Op x, const std::vector<int64_t>& dims, bool keep_dims) {
  std::vector<int64_t> in = DimsOf(x);
  int64_t count = 1;
  for (int64_t dim : dims) count *= in[dim];
  Op sum = b.Reduce(x, b.ConstantR0<float>(0.0f), b.ScalarComputation(hlo::Opcode::kAdd, PrimitiveType::F32),
                    dims);
  Op mean = b.Div(sum, b.ConstantR0<float>(static_cast<float>(count)));
  return KeepDims(b, mean, in, dims, keep_dims);
}

absl::Status LowerReduce(LowerContext& ctx) {
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
  const std::vector<int64_t> dims(unique.begin(), unique.end());
  const std::string& op = node.op;
  if (op == "ReduceMean") {
    ctx.set_output(0, MeanOver(ctx.b(), x, dims, keep_dims != 0));
    return absl::OkStatus();
  }
  // The other reductions: an elementwise step, the reduction, and a final step (ReduceL2's sqrt).
  // Max and min are IEEE maximum/minimum, as the kernels' (NaN in the reduced elements gives NaN).
  hlo::Builder& b = ctx.b();
  hlo::Opcode combine = hlo::Opcode::kAdd;
  float init = 0.0f;
  Op operand = x;
  if (op == "ReduceMax") {
    combine = hlo::Opcode::kMaximum;
    init = -std::numeric_limits<float>::infinity();
  } else if (op == "ReduceMin") {
    combine = hlo::Opcode::kMinimum;
    init = std::numeric_limits<float>::infinity();
  } else if (op == "ReduceProd") {
    combine = hlo::Opcode::kMultiply;
    init = 1.0f;
  } else if (op == "ReduceSumSquare" || op == "ReduceL2") {
    operand = b.Mul(x, x);
  } else if (op == "ReduceL1") {
    operand = b.Abs(x);
  } else if (op != "ReduceSum") {
    return ctx.Unimplemented(op);
  }
  Op reduced = b.Reduce(operand, b.ConstantR0<float>(init), b.ScalarComputation(combine, PrimitiveType::F32), dims);
  if (op == "ReduceL2") reduced = b.Sqrt(reduced);
  ctx.set_output(0, KeepDims(b, reduced, DimsOf(x), dims, keep_dims != 0));
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
