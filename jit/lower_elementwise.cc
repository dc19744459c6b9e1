// Lowerings of the elementwise ops: binary arithmetic with ONNX broadcasting, unary math, Relu, Clip.
#include "jit/lower_internal.h"

#include <cstddef>
#include <optional>

#include "kiln/support/strings.h"
#include "kiln/support/status.h"

namespace kiln::jit::lowering {

// Max and Min are variadic (one or more inputs): folded left to right with broadcasting.
absl::Status LowerBinary(LowerContext& ctx, hlo::Opcode opcode) {
  const size_t n = ctx.node().inputs.size();
  const bool variadic = opcode == hlo::Opcode::kMaximum || opcode == hlo::Opcode::kMinimum;
  if (n == 0 || (!variadic && n != 2)) {
    return ctx.Unimplemented(kiln::StrCat(ctx.node().op, " with ", n, " inputs"));
  }
  KILN_ASSIGN_OR_RETURN(Op acc, ctx.input(0));
  for (size_t i = 1; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(Op b, ctx.input(static_cast<int>(i)));
    KILN_ASSIGN_OR_RETURN(auto pair, BroadcastPair(ctx, acc, b));
    acc = ctx.b().Binary(opcode, pair.first, pair.second);
  }
  ctx.set_output(0, acc);
  return absl::OkStatus();
}

absl::Status LowerUnary(LowerContext& ctx, hlo::Opcode opcode) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  ctx.set_output(0, ctx.b().Unary(opcode, x));
  return absl::OkStatus();
}

absl::Status LowerRelu(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  ctx.set_output(0, ctx.b().Max(x, ctx.b().ConstantR0<float>(0.0f)));
  return absl::OkStatus();
}

absl::Status LowerClip(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  std::optional<float> lo, hi;
  // Opset < 11 carries the bounds as attributes, later opsets as optional constant inputs.
  if (ctx.node().HasAttr("min")) {
    KILN_ASSIGN_OR_RETURN(lo, ctx.node().GetFloat("min"));
  }
  if (ctx.node().HasAttr("max")) {
    KILN_ASSIGN_OR_RETURN(hi, ctx.node().GetFloat("max"));
  }
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(lo, ctx.constant_scalar(1));
  }
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(hi, ctx.constant_scalar(2));
  }
  hlo::Builder& b = ctx.b();
  Op y = x;
  if (lo.has_value() && hi.has_value()) {
    y = b.Clamp(b.ConstantR0<float>(*lo), x, b.ConstantR0<float>(*hi));
  } else if (lo.has_value()) {
    y = b.Max(x, b.ConstantR0<float>(*lo));
  } else if (hi.has_value()) {
    y = b.Min(x, b.ConstantR0<float>(*hi));
  }
  ctx.set_output(0, y);
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
