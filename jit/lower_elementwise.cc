// Lowerings of the elementwise ops: binary arithmetic with ONNX broadcasting, unary math, Relu, Clip.
#include "jit/lower_internal.h"

#include <cmath>
#include <cstddef>
#include <string>
#include <optional>

#include "kiln/support/strings.h"
#include "kiln/support/status.h"

namespace kiln::jit::lowering {

// Max, Min, Sum and Mean are variadic (one or more inputs): folded left to right with broadcasting
// (as the runtime kernel folds them); Mean divides the sum by the input count.
absl::Status LowerBinary(LowerContext& ctx, hlo::Opcode opcode) {
  const size_t n = ctx.node().inputs.size();
  const std::string& op = ctx.node().op;
  const bool variadic = op == "Max" || op == "Min" || op == "Sum" || op == "Mean";
  if (n == 0 || (!variadic && n != 2)) {
    return ctx.Unimplemented(kiln::StrCat(ctx.node().op, " with ", n, " inputs"));
  }
  KILN_ASSIGN_OR_RETURN(Op acc, ctx.input(0));
  for (size_t i = 1; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(Op b, ctx.input(static_cast<int>(i)));
    KILN_ASSIGN_OR_RETURN(auto pair, BroadcastPair(ctx, acc, b));
    acc = ctx.b().Binary(opcode, pair.first, pair.second);
  }
  if (op == "Mean") acc = ctx.b().Div(acc, ctx.b().ConstantR0<float>(static_cast<float>(n)));
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

// The activations with a negative branch, exactly as the runtime kernels compute them
// (runtime/kernels/elementwise.cc): LeakyRelu x >= 0 ? x : alpha x; Elu x >= 0 ? x : alpha (e^x - 1);
// Selu x > 0 ? gamma x : gamma (alpha e^x - alpha); Softsign x / (1 + |x|); Softplus and Mish with
// the kernel's cutoff at 20; ThresholdedRelu x > alpha ? x : 0. NaN takes the second branch, which
// keeps it (except ThresholdedRelu's, which is 0 in the kernel too).
absl::Status LowerNegativeBranchActivation(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  const std::string& op = ctx.node().op;
  hlo::Builder& b = ctx.b();
  auto c = [&b](float v) { return b.ConstantR0<float>(v); };
  const Op zero = c(0.0f);
  if (op == "LeakyRelu") {
    KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 0.01f));
    ctx.set_output(0, b.Select(b.Ge(x, zero), x, b.Mul(x, c(alpha))));
  } else if (op == "Elu") {
    KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 1.0f));
    ctx.set_output(0, b.Select(b.Ge(x, zero), x, b.Mul(c(alpha), b.Sub(b.Exp(x), c(1.0f)))));
  } else if (op == "Selu") {
    KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 1.67326319217681884765625f));
    KILN_ASSIGN_OR_RETURN(float gamma, ctx.node().GetFloat("gamma", 1.05070102214813232421875f));
    Op negative = b.Mul(c(gamma), b.Sub(b.Mul(c(alpha), b.Exp(x)), c(alpha)));
    ctx.set_output(0, b.Select(b.Gt(x, zero), b.Mul(c(gamma), x), negative));
  } else if (op == "Softsign") {
    ctx.set_output(0, b.Div(x, b.Add(c(1.0f), b.Abs(x))));
  } else if (op == "Softplus" || op == "Mish") {
    // x > 20 ? x : log1p(e^x); Mish is x tanh(softplus(x)).
    Op softplus = b.Select(b.Gt(x, c(20.0f)), x, b.Log1p(b.Exp(x)));
    ctx.set_output(0, op == "Mish" ? b.Mul(x, b.Tanh(softplus)) : softplus);
  } else if (op == "ThresholdedRelu") {
    KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 1.0f));
    ctx.set_output(0, b.Select(b.Gt(x, c(alpha)), x, zero));  // NaN -> 0, as the kernel.
  } else {
    return ctx.Unimplemented(op);
  }
  return absl::OkStatus();
}

// PRelu(x, slope): x < 0 ? x * slope : x, slope broadcast to x.
absl::Status LowerPRelu(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op slope, ctx.input(1));
  KILN_ASSIGN_OR_RETURN(auto pair, BroadcastPair(ctx, x, slope));
  if (DimsOf(pair.first) != DimsOf(x)) return ctx.Error("slope must broadcast to X's shape");
  hlo::Builder& b = ctx.b();
  ctx.set_output(0, b.Select(b.Lt(x, b.ConstantR0<float>(0.0f)), b.Mul(x, pair.second), x));
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

// Pow of an f32 base and an f32 exponent is C pow, which is HLO power (pow(x, 0) = 1 even for NaN,
// pow(-0, -1) = -inf, pow(-1, ±inf) = 1). Another exponent type is not lowered.
absl::Status LowerPow(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op base, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(Op exponent, ctx.input(1));
  if (base.shape().element_type() != PrimitiveType::F32 || exponent.shape().element_type() != PrimitiveType::F32) {
    return ctx.Unimplemented("Pow with a base or exponent other than f32");
  }
  // A constant exponent of 2 or 3 (GELU's tanh form, variances) as products: they vectorize where a
  // pow call would not; special values come out as pow gives them.
  if (absl::StatusOr<Tensor> c = ctx.constant(1); c.ok() && c->num_elements() == 1 && c->rank() <= Rank(base)) {
    const double e = c->GetAsDouble(0);
    if (e == 2.0 || e == 3.0) {
      Op y = ctx.b().Mul(base, base);
      if (e == 3.0) y = ctx.b().Mul(y, base);
      ctx.set_output(0, y);
      return absl::OkStatus();
    }
  }
  return LowerBinary(ctx, hlo::Opcode::kPower);
}

absl::Status LowerReciprocal(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  ctx.set_output(0, ctx.b().Div(ctx.b().ConstantR0<float>(1.0f), x));
  return absl::OkStatus();
}

// Mod of floats is C fmod (the sign of the dividend), which is HLO remainder; ONNX requires fmod=1
// for floats, and the runtime kernel rejects fmod=0 on floats, so that case is not lowered either.
absl::Status LowerMod(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t fmod, ctx.node().GetInt("fmod", 0));
  if (fmod == 0) return ctx.Unimplemented("Mod with fmod=0 (integer semantics; floats require fmod=1)");
  return LowerBinary(ctx, hlo::Opcode::kRemainder);
}

// HardSigmoid: clamp(alpha * x + beta, 0, 1) with ONNX's defaults alpha=0.2, beta=0.5.
absl::Status LowerHardSigmoid(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.node().GetFloat("alpha", 0.2f));
  KILN_ASSIGN_OR_RETURN(float beta, ctx.node().GetFloat("beta", 0.5f));
  hlo::Builder& b = ctx.b();
  Op t = b.Add(b.Mul(x, b.ConstantR0<float>(alpha)), b.ConstantR0<float>(beta));
  ctx.set_output(0, b.Clamp(b.ConstantR0<float>(0.0f), t, b.ConstantR0<float>(1.0f)));
  return absl::OkStatus();
}

// HardSwish: x * clamp(x / 6 + 0.5, 0, 1).
absl::Status LowerHardSwish(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  hlo::Builder& b = ctx.b();
  Op t = b.Add(b.Div(x, b.ConstantR0<float>(6.0f)), b.ConstantR0<float>(0.5f));
  ctx.set_output(0, b.Mul(x, b.Clamp(b.ConstantR0<float>(0.0f), t, b.ConstantR0<float>(1.0f))));
  return absl::OkStatus();
}

// Gelu (opset 20): approximate="none" is 0.5 x (1 + erf(x / sqrt 2)); "tanh" is
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
absl::Status LowerGelu(LowerContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Op x, ctx.input(0));
  KILN_ASSIGN_OR_RETURN(std::string approximate, ctx.node().GetString("approximate", "none"));
  hlo::Builder& b = ctx.b();
  Op inner;
  if (approximate == "none") {
    inner = b.Unary(hlo::Opcode::kErf, b.Div(x, b.ConstantR0<float>(std::sqrt(2.0f))));
  } else if (approximate == "tanh") {
    Op cube = b.Mul(b.Mul(x, x), x);
    Op arg = b.Mul(b.ConstantR0<float>(std::sqrt(2.0f / 3.14159265358979f)),
                   b.Add(x, b.Mul(b.ConstantR0<float>(0.044715f), cube)));
    inner = b.Unary(hlo::Opcode::kTanh, arg);
  } else {
    return ctx.Error(kiln::StrCat("approximate='", approximate, "' is not one of none, tanh"));
  }
  Op half_x = b.Mul(b.ConstantR0<float>(0.5f), x);
  ctx.set_output(0, b.Mul(half_x, b.Add(b.ConstantR0<float>(1.0f), inner)));
  return absl::OkStatus();
}

}  // namespace kiln::jit::lowering
