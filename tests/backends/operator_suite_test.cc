// One operator suite, parameterized by backend: each case builds an HLO module with hlo::Builder,
// runs it on the backend and on the reference interpreter with the same random arguments, and
// compares under the case's explicit tolerance. The backends are every one that RegisterBackends()
// registers except the interpreter (the oracle), so a new backend is tested without editing this
// file. A backend that lacks an op lists the case in its skip list (kSkips), so the gap stays
// visible in the test output.
//
// Tolerances: elementwise fp32 cases use 1e-5 relative + 1e-6 absolute. Reductions use 1e-5
// relative + 1e-5 absolute (the CPU backend reassociates sums to vectorise them). Convolutions and
// dots use 1e-4 relative + 1e-4 absolute: oneDNN's summation order and FMA contraction differ from
// the interpreter's index-order accumulation.
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/support/strings.h"
#include "kiln/backends/backend.h"
#include "kiln/hlo/builder.h"
#include "kiln/hlo/evaluator.h"
#include "tests/backends/backend_test_util.h"

namespace kiln::testing {
namespace {

using hlo::Builder;
using hlo::ComparisonDirection;
using hlo::Op;
using hlo::Opcode;
using hlo::PrimitiveType;
using hlo::ShapeUtil;

constexpr PrimitiveType F32 = PrimitiveType::F32;
constexpr PrimitiveType S32 = PrimitiveType::S32;

const ErrorSpec kElementwise{1e-5, 1e-6};
const ErrorSpec kReduction{1e-5, 1e-5};
const ErrorSpec kContraction{1e-4, 1e-4};

struct Case {
  std::string name;
  std::function<Op(Builder&)> build;  // Returns the root.
  ErrorSpec error = kElementwise;
  InputRange range = {};
};
// Keeps ctest's test names readable (gtest would print the struct's bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Cases each backend does not implement (by case name). Each entry must name a case that the backend
// still refuses (SkipListTest checks it).
const std::map<std::string, std::set<std::string>> kSkips = {
    {"cpu", {"sort_f32", "dynamic_slice", "add_f16"}},
};

hlo::Shape S(PrimitiveType t, std::vector<int64_t> dims) { return ShapeUtil::MakeShape(t, dims); }

std::vector<Case> UnaryCases() {
  struct U {
    const char* name;
    Opcode op;
    InputRange range;
  };
  const std::vector<U> ops = {
      {"abs", Opcode::kAbs, {}},           {"ceil", Opcode::kCeil, {}},
      {"floor", Opcode::kFloor, {}},       {"round", Opcode::kRound, {-3, 3}},
      {"round_even", Opcode::kRoundNearestEven, {-3, 3}},
      {"cos", Opcode::kCos, {}},           {"sin", Opcode::kSin, {}},
      {"tan", Opcode::kTan, {-1, 1}},      {"tanh", Opcode::kTanh, {}},
      {"exp", Opcode::kExp, {}},           {"expm1", Opcode::kExpm1, {}},
      {"log", Opcode::kLog, {0.01, 5}},    {"log1p", Opcode::kLog1p, {-0.5, 5}},
      {"logistic", Opcode::kLogistic, {-6, 6}},
      {"negate", Opcode::kNegate, {}},     {"rsqrt", Opcode::kRsqrt, {0.01, 5}},
      {"sqrt", Opcode::kSqrt, {0, 5}},     {"cbrt", Opcode::kCbrt, {}},
      {"sign", Opcode::kSign, {}},         {"erf", Opcode::kErf, {}},
      {"copy", Opcode::kCopy, {}},
  };
  std::vector<Case> cases;
  for (const U& u : ops) {
    const Opcode op = u.op;
    cases.push_back({std::string(u.name) + "_f32",
                     [op](Builder& b) { return b.Unary(op, b.Parameter(0, S(F32, {3, 37}), "x")); },
                     kElementwise, u.range});
  }
  return cases;
}

std::vector<Case> BinaryCases() {
  struct Bn {
    const char* name;
    Opcode op;
    PrimitiveType type;
    InputRange range;
  };
  const std::vector<Bn> ops = {
      {"add", Opcode::kAdd, F32, {}},         {"subtract", Opcode::kSubtract, F32, {}},
      {"multiply", Opcode::kMultiply, F32, {}}, {"divide", Opcode::kDivide, F32, {0.5, 3}},
      {"remainder", Opcode::kRemainder, F32, {0.5, 3}},
      {"maximum", Opcode::kMaximum, F32, {}}, {"minimum", Opcode::kMinimum, F32, {}},
      {"power", Opcode::kPower, F32, {0.1, 2}}, {"atan2", Opcode::kAtan2, F32, {}},
      {"add", Opcode::kAdd, S32, {}},         {"multiply", Opcode::kMultiply, S32, {}},
      {"divide", Opcode::kDivide, S32, {}},   {"remainder", Opcode::kRemainder, S32, {}},
      {"maximum", Opcode::kMaximum, S32, {}}, {"and", Opcode::kAnd, S32, {}},
      {"or", Opcode::kOr, S32, {}},           {"xor", Opcode::kXor, S32, {}},
      {"shift_left", Opcode::kShiftLeft, S32, {}},
      {"shift_right_arithmetic", Opcode::kShiftRightArithmetic, S32, {}},
      {"shift_right_logical", Opcode::kShiftRightLogical, S32, {}},
  };
  std::vector<Case> cases;
  for (const Bn& bn : ops) {
    const Opcode op = bn.op;
    const PrimitiveType t = bn.type;
    cases.push_back({kiln::StrCat(bn.name, "_", std::string(hlo::PrimitiveTypeName(t))),
                     [op, t](Builder& b) {
                       return b.Binary(op, b.Parameter(0, S(t, {4, 33}), "x"), b.Parameter(1, S(t, {4, 33}), "y"));
                     },
                     kElementwise, bn.range});
  }
  return cases;
}

Op MaxPool(Builder& b, Op x) {
  return b.ReduceWindow(x, b.ConstantR0<float>(-std::numeric_limits<float>::infinity()),
                        b.ScalarComputation(Opcode::kMaximum, F32), {1, 1, 3, 3}, {1, 1, 2, 2},
                        {{0, 0}, {0, 0}, {1, 1}, {1, 1}});
}

Op Conv(Builder& b, Op x, Op w, int64_t stride, int64_t pad, int64_t groups = 1, int64_t dilation = 1) {
  return b.ConvGeneralDilated(x, w, {stride, stride}, {{pad, pad}, {pad, pad}}, {}, {dilation, dilation},
                              hlo::ConvolutionDimensionNumbers::Nchw(2), groups);
}

// Convolution dimension numbers with an NHWC input, an OIHW kernel and an NCHW output.
hlo::ConvolutionDimensionNumbers NhwcInNchwOut() {
  hlo::ConvolutionDimensionNumbers dn;
  dn.input_batch_dimension = 0;
  dn.input_feature_dimension = 3;
  dn.input_spatial_dimensions = {1, 2};
  dn.kernel_output_feature_dimension = 0;
  dn.kernel_input_feature_dimension = 1;
  dn.kernel_spatial_dimensions = {2, 3};
  dn.output_batch_dimension = 0;
  dn.output_feature_dimension = 1;
  dn.output_spatial_dimensions = {2, 3};
  return dn;
}

Op Const(Builder& b, std::vector<int64_t> dims, uint32_t seed, double scale = 0.5) {
  std::mt19937 rng(seed);
  hlo::Literal lit = RandomLiteral(S(F32, dims), rng, {-scale, scale});
  return b.ConstantLiteral(std::move(lit));
}

// conv + bias (broadcast along the feature dimension) + clamp(0, 6), as the JIT lowers ONNX
// Conv + Clip.
Op ConvBiasRelu6(Builder& b, Op x, int64_t in_c, int64_t out_c, int64_t k, int64_t stride, int64_t groups,
                 uint32_t seed, bool relu6 = true) {
  Op w = Const(b, {out_c, in_c / groups, k, k}, seed);
  Op bias = Const(b, {out_c}, seed + 1);
  Op y = Conv(b, x, w, stride, k / 2, groups);
  y = b.Add(y, bias, {1});
  if (relu6) y = b.Clamp(b.ConstantR0<float>(0.0f), y, b.ConstantR0<float>(6.0f));
  return y;
}

Op Softmax(Builder& b, Op logits) {  // Over dimension 1 of [n, c].
  Op max = b.Reduce(logits, b.ConstantR0<float>(-std::numeric_limits<float>::infinity()),
                    b.ScalarComputation(Opcode::kMaximum, F32), {1});
  Op e = b.Exp(b.Sub(logits, max, {0}));
  Op sum = b.Reduce(e, b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, F32), {1});
  return b.Div(e, sum, {0});
}

std::vector<Case> StructuralCases() {
  std::vector<Case> c;
  c.push_back({"compare_select_f32", [](Builder& b) {
                 Op x = b.Parameter(0, S(F32, {5, 9}), "x"), y = b.Parameter(1, S(F32, {5, 9}), "y");
                 return b.Select(b.Gt(x, y), b.Mul(x, y), b.Sub(x, y));
               }});
  c.push_back({"clamp_scalar_bounds", [](Builder& b) {
                 return b.Clamp(b.ConstantR0<float>(-0.5f), b.Parameter(0, S(F32, {64}), "x"),
                                b.ConstantR0<float>(0.75f));
               }});
  c.push_back({"convert_f32_s32_f32", [](Builder& b) {
                 Op x = b.Parameter(0, S(F32, {7, 11}), "x");
                 Op i = b.ConvertElementType(b.Mul(x, b.ConstantR0<float>(10.0f)), S32);
                 return b.ConvertElementType(b.Add(i, b.ConstantR0<int32_t>(3)), F32);
               }, kElementwise, {-50, 50}});
  c.push_back({"compare_to_pred_output", [](Builder& b) {
                 return b.Lt(b.Parameter(0, S(F32, {33}), "x"), b.Parameter(1, S(F32, {33}), "y"));
               }});
  c.push_back({"fused_chain_with_bias_broadcast", [](Builder& b) {
                 Op x = b.Parameter(0, S(F32, {2, 3, 4, 5}), "x"), bias = b.Parameter(1, S(F32, {3}), "bias");
                 Op y = b.Exp(b.Sub(x, b.ConstantR0<float>(1.0f)));
                 return b.Mul(b.Add(y, bias, {1}), b.Tanh(x));
               }});
  c.push_back({"shared_intermediate", [](Builder& b) {
                 Op x = b.Parameter(0, S(F32, {16, 8}), "x");
                 Op e = b.Exp(x);  // Used by two groups of different shapes.
                 Op r = b.Reduce(e, b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, F32), {1});
                 return b.Tuple({b.Add(e, e), r});
               }, kReduction});
  c.push_back({"reshape_transpose", [](Builder& b) {
                 Op x = b.Parameter(0, S(F32, {2, 3, 4}), "x");
                 return b.Add(b.Transpose(b.Reshape(x, {6, 4}), {1, 0}), b.ConstantR0<float>(1.0f));
               }});
  c.push_back({"transpose_root", [](Builder& b) {
                 return b.Transpose(b.Parameter(0, S(F32, {3, 5, 7}), "x"), {2, 0, 1});
               }});
  c.push_back({"reshape_root_of_parameter", [](Builder& b) {
                 return b.Reshape(b.Parameter(0, S(F32, {3, 4}), "x"), {12});
               }});
  c.push_back({"parameter_root", [](Builder& b) { return b.Parameter(0, S(F32, {5}), "x"); }});
  c.push_back({"slice_strided", [](Builder& b) {
                 return b.Slice(b.Parameter(0, S(F32, {9, 10}), "x"), {1, 2}, {8, 10}, {2, 3});
               }});
  c.push_back({"pad_negative_and_interior", [](Builder& b) {
                 hlo::PaddingConfig p = {{2, -1, 1}, {-1, 3, 0}};
                 return b.Pad(b.Parameter(0, S(F32, {4, 5}), "x"), b.ConstantR0<float>(-7.0f), p);
               }});
  c.push_back({"concatenate", [](Builder& b) {
                 Op x = b.Parameter(0, S(F32, {2, 3}), "x"), y = b.Parameter(1, S(F32, {2, 5}), "y");
                 return b.ConcatInDim({x, y, x}, 1);
               }});
  c.push_back({"reverse", [](Builder& b) { return b.Reverse(b.Parameter(0, S(F32, {4, 6}), "x"), {0, 1}); }});
  c.push_back({"iota_s32_plus_param", [](Builder& b) {
                 return b.Add(b.Iota(S(S32, {4, 6}), 1), b.Parameter(0, S(S32, {4, 6}), "x"));
               }});
  c.push_back({"reduce_add_inner", [](Builder& b) {
                 return b.Reduce(b.Parameter(0, S(F32, {6, 50}), "x"), b.ConstantR0<float>(0.0f),
                                 b.ScalarComputation(Opcode::kAdd, F32), {1});
               }, kReduction});
  c.push_back({"reduce_max_outer_dims", [](Builder& b) {
                 return b.Reduce(b.Parameter(0, S(F32, {4, 5, 6}), "x"),
                                 b.ConstantR0<float>(-std::numeric_limits<float>::infinity()),
                                 b.ScalarComputation(Opcode::kMaximum, F32), {0, 2});
               }, kReduction});
  c.push_back({"reduce_min_to_scalar", [](Builder& b) {
                 return b.Reduce(b.Parameter(0, S(F32, {7, 9}), "x"),
                                 b.ConstantR0<float>(std::numeric_limits<float>::infinity()),
                                 b.ScalarComputation(Opcode::kMinimum, F32), {0, 1});
               }, kReduction});
  c.push_back({"reduce_add_s32", [](Builder& b) {
                 return b.Reduce(b.Parameter(0, S(S32, {5, 8}), "x"), b.ConstantR0<int32_t>(0),
                                 b.ScalarComputation(Opcode::kAdd, S32), {0});
               }});
  c.push_back({"max_pool_3x3_s2_pad1", [](Builder& b) { return MaxPool(b, b.Parameter(0, S(F32, {1, 3, 9, 9}), "x")); }});
  c.push_back({"avg_pool_2x2_valid", [](Builder& b) {
                 Op s = b.ReduceWindow(b.Parameter(0, S(F32, {2, 3, 8, 6}), "x"), b.ConstantR0<float>(0.0f),
                                       b.ScalarComputation(Opcode::kAdd, F32), {1, 1, 2, 2}, {1, 1, 2, 2}, {});
                 return b.Div(s, b.ConstantR0<float>(4.0f));
               }, kReduction});
  c.push_back({"dot_matrix", [](Builder& b) {
                 return b.Dot(b.Parameter(0, S(F32, {5, 7}), "a"), b.Parameter(1, S(F32, {7, 3}), "b"));
               }, kContraction});
  c.push_back({"dot_matrix_vector", [](Builder& b) {
                 return b.Dot(b.Parameter(0, S(F32, {5, 7}), "a"), b.Parameter(1, S(F32, {7}), "v"));
               }, kContraction});
  c.push_back({"dot_transposed_rhs_bias_relu", [](Builder& b) {
                 hlo::DotDimensionNumbers dn;
                 dn.lhs_contracting_dimensions = {1};
                 dn.rhs_contracting_dimensions = {1};
                 Op y = b.DotGeneral(b.Parameter(0, S(F32, {4, 16}), "a"), Const(b, {10, 16}, 7), dn);
                 y = b.Add(y, b.Parameter(1, S(F32, {10}), "bias"), {1});
                 return b.Max(y, b.ConstantR0<float>(0.0f));
               }, kContraction});
  c.push_back({"dot_batched", [](Builder& b) {
                 hlo::DotDimensionNumbers dn;
                 dn.lhs_batch_dimensions = {0};
                 dn.rhs_batch_dimensions = {0};
                 dn.lhs_contracting_dimensions = {2};
                 dn.rhs_contracting_dimensions = {1};
                 return b.DotGeneral(b.Parameter(0, S(F32, {3, 4, 6}), "a"), b.Parameter(1, S(F32, {3, 6, 5}), "b"), dn);
               }, kContraction});
  c.push_back({"conv_3x3_same", [](Builder& b) {
                 return Conv(b, b.Parameter(0, S(F32, {1, 4, 10, 10}), "x"), b.Parameter(1, S(F32, {8, 4, 3, 3}), "w"), 1, 1);
               }, kContraction});
  c.push_back({"conv_stride2_batch2", [](Builder& b) {
                 return Conv(b, b.Parameter(0, S(F32, {2, 3, 11, 11}), "x"), Const(b, {5, 3, 3, 3}, 3), 2, 1);
               }, kContraction});
  c.push_back({"conv_groups2_dilated", [](Builder& b) {
                 return Conv(b, b.Parameter(0, S(F32, {1, 6, 12, 12}), "x"), Const(b, {4, 3, 3, 3}, 4), 1, 2, 2, 2);
               }, kContraction});
  // An atrous (ASPP-style) convolution with bias and ReLU: dilation about the input's size, so that
  // most taps fall in the padding. In DeepLabV3 the planner finds only oneDNN's reference kernel for
  // the blocked form and im2col GEMM for the row-major one, and stages it through channels-last.
  c.push_back({"conv_atrous_large_dilation", [](Builder& b) {
                 Op y = Conv(b, b.Parameter(0, S(F32, {1, 32, 33, 33}), "x"), b.Parameter(1, S(F32, {16, 32, 3, 3}), "w"), 1, 12, 1, 12);
                 y = b.Add(y, b.Parameter(2, S(F32, {16}), "bias"), {1});
                 return b.Max(y, b.ConstantR0<float>(0.0f));
               }, kContraction});
  // Conv + bias + SiLU (x * logistic(x), EfficientNet's and YOLO's activation): the swish runs
  // after the oneDNN primitive over its (blocked) destination.
  c.push_back({"conv_bias_silu", [](Builder& b) {
                 Op y = Conv(b, b.Parameter(0, S(F32, {1, 8, 9, 9}), "x"), Const(b, {16, 8, 3, 3}, 6), 1, 1);
                 y = b.Add(y, Const(b, {16}, 7), {1});
                 return b.Mul(y, b.Unary(hlo::Opcode::kLogistic, y));
               }, kContraction, {-4, 4}});
  // Conv + bias + HardSwish as the JIT lowers it, x * clamp(0, x / 6 + 0.5, 1) (MobileNetV3).
  c.push_back({"conv_bias_hardswish", [](Builder& b) {
                 Op y = Conv(b, b.Parameter(0, S(F32, {1, 8, 9, 9}), "x"), Const(b, {16, 8, 3, 3}, 8), 1, 1);
                 y = b.Add(y, Const(b, {16}, 9), {1});
                 Op t = b.Add(b.Div(y, b.ConstantR0<float>(6.0f)), b.ConstantR0<float>(0.5f));
                 return b.Mul(y, b.Clamp(b.ConstantR0<float>(0.0f), t, b.ConstantR0<float>(1.0f)));
               }, kContraction, {-8, 8}});
  c.push_back({"conv_depthwise_bias_relu6", [](Builder& b) {
                 return ConvBiasRelu6(b, b.Parameter(0, S(F32, {1, 8, 9, 9}), "x"), 8, 8, 3, 1, 8, 5);
               }, kContraction, {-4, 4}});
  c.push_back({"conv_bias_relu_max", [](Builder& b) {
                 Op y = ConvBiasRelu6(b, b.Parameter(0, S(F32, {1, 3, 8, 8}), "x"), 3, 6, 1, 1, 1, 6, false);
                 return b.Max(y, b.ConstantR0<float>(0.0f));
               }, kContraction});
  c.push_back({"conv_nhwc_hwio", [](Builder& b) {
                 hlo::ConvolutionDimensionNumbers dn;
                 dn.input_batch_dimension = 0;
                 dn.input_feature_dimension = 3;
                 dn.input_spatial_dimensions = {1, 2};
                 dn.kernel_spatial_dimensions = {0, 1};
                 dn.kernel_input_feature_dimension = 2;
                 dn.kernel_output_feature_dimension = 3;
                 dn.output_batch_dimension = 0;
                 dn.output_feature_dimension = 3;
                 dn.output_spatial_dimensions = {1, 2};
                 return b.ConvGeneralDilated(b.Parameter(0, S(F32, {1, 7, 7, 4}), "x"), b.Parameter(1, S(F32, {3, 3, 4, 5}), "w"),
                                             {1, 1}, {{1, 1}, {1, 1}}, {}, {}, dn);
               }, kContraction});
  // An NHWC source with an NCHW destination (transpose folding makes these from ConvNeXt's
  // channels-last layer norms): oneDNN has only its reference kernel for the mixed layouts, so the
  // planner stages the destination (or both sides) through layouts it has direct kernels for.
  c.push_back({"conv_nhwc_in_nchw_out_bias", [](Builder& b) {
                 const hlo::ConvolutionDimensionNumbers dn = NhwcInNchwOut();
                 Op y = b.ConvGeneralDilated(b.Parameter(0, S(F32, {1, 8, 8, 6}), "x"), Const(b, {10, 6, 2, 2}, 70),
                                             {2, 2}, {{0, 0}, {0, 0}}, {}, {}, dn);
                 return b.Add(y, Const(b, {10}, 71), {1});
               }, kContraction});
  c.push_back({"conv_depthwise_nhwc_in_nchw_out", [](Builder& b) {
                 const hlo::ConvolutionDimensionNumbers dn = NhwcInNchwOut();
                 return b.ConvGeneralDilated(b.Parameter(0, S(F32, {1, 9, 9, 16}), "x"), Const(b, {16, 1, 7, 7}, 72),
                                             {1, 1}, {{3, 3}, {3, 3}}, {}, {}, dn, /*feature_group_count=*/16);
               }, kContraction});
  c.push_back({"softmax", [](Builder& b) { return Softmax(b, b.Parameter(0, S(F32, {2, 1001}), "x")); },
               kReduction, {-5, 5}});
  c.push_back({"mobilenet_block", [](Builder& b) {
                 // conv 3x3 s2 + bias + relu6 -> depthwise 3x3 + bias + relu6 -> 1x1 projection + bias,
                 // residual add, global average pool, classifier dot + bias, softmax.
                 Op x = b.Parameter(0, S(F32, {1, 3, 32, 32}), "image");
                 Op y = ConvBiasRelu6(b, x, 3, 16, 3, 2, 1, 10);
                 Op d = ConvBiasRelu6(b, y, 16, 16, 3, 1, 16, 20);
                 Op p = ConvBiasRelu6(b, d, 16, 16, 1, 1, 1, 30, false);
                 Op r = b.Add(p, y);
                 Op pooled = b.Div(b.Reduce(r, b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, F32), {2, 3}),
                                   b.ConstantR0<float>(256.0f));
                 Op logits = b.Add(b.Dot(pooled, Const(b, {16, 10}, 40)), Const(b, {10}, 41), {1});
                 return Softmax(b, logits);
               }, kContraction, {-1, 1}});
  // A clamp with a negative lower bound fused after a dot (NaN must survive it).
  c.push_back({"dot_bias_clamp", [](Builder& b) {
                 Op y = b.Add(b.Dot(b.Parameter(0, S(F32, {5, 16}), "x"), Const(b, {16, 12}, 60)), Const(b, {12}, 61), {1});
                 return b.Clamp(b.ConstantR0<float>(-0.25f), y, b.ConstantR0<float>(0.5f));
               }, kContraction});
  c.push_back({"zero_elements", [](Builder& b) {
                 return b.Add(b.Parameter(0, S(F32, {0, 3}), "x"), b.ConstantR0<float>(1.0f));
               }});
  // Ops the CPU backend leaves to the runtime (see kSkips).
  c.push_back({"sort_f32", [](Builder& b) {
                 auto sub = b.CreateSubBuilder("lt");
                 Op lhs = sub->Parameter(0, S(F32, {}), "a"), rhs = sub->Parameter(1, S(F32, {}), "b");
                 return b.Sort({b.Parameter(0, S(F32, {10}), "x")}, sub->BuildSubComputation(sub->Lt(lhs, rhs)));
               }});
  c.push_back({"dynamic_slice", [](Builder& b) {
                 return b.DynamicSlice(b.Parameter(0, S(F32, {8}), "x"), {b.ConstantR0<int32_t>(3)}, {4});
               }});
  c.push_back({"add_f16", [](Builder& b) {
                 Op x = b.Parameter(0, S(PrimitiveType::F16, {8}), "x");
                 return b.Add(x, x);
               }});
  return c;
}

std::vector<Case> AllCases() {
  std::vector<Case> all = UnaryCases();
  for (auto& c : BinaryCases()) all.push_back(c);
  for (auto& c : StructuralCases()) all.push_back(c);
  return all;
}

// The registered backend called `name`; nullptr when none is.
backends::Backend* GetBackend(const std::string& name) {
  backends::RegisterBackends();
  return backends::BackendRegistry::Global().Find(name);
}

// The names of the backends under test: every registered backend but the interpreter, which is the
// oracle they are compared with.
std::vector<std::string> BackendsUnderTest() {
  backends::RegisterBackends();
  std::vector<std::string> names;
  for (std::string& name : backends::BackendRegistry::Global().Names()) {
    if (name != "interpreter") names.push_back(std::move(name));
  }
  return names;
}

class OperatorSuite : public ::testing::TestWithParam<std::tuple<std::string, Case>> {
 protected:
  // Empty, or why the backend skips the case (its skip list).
  std::string SkipReason() const {
    const std::string& backend_name = std::get<0>(GetParam());
    const std::string& name = std::get<1>(GetParam()).name;
    auto skips = kSkips.find(backend_name);
    if (skips == kSkips.end() || !skips->second.count(name)) return "";
    return "backend '" + backend_name + "' does not implement case '" + name + "' (skip list)";
  }

  // Runs the case on the backend and on the interpreter with the same random arguments and compares
  // the results. With `special`, the elements at indices 0, 4, 9, 14, ... (i % 5 == 4, and the first)
  // of every floating-point argument take that value, and zeros must also agree in sign.
  void ExpectMatchesInterpreter(std::optional<float> special) {
    const std::string& backend_name = std::get<0>(GetParam());
    const Case& c = std::get<1>(GetParam());
    Builder builder(c.name);
    absl::StatusOr<std::unique_ptr<hlo::Module>> module = builder.Build(c.build(builder));
    ASSERT_TRUE(module.ok()) << module.status();
    backends::Backend* backend = GetBackend(backend_name);
    ASSERT_NE(backend, nullptr);
    for (const hlo::Instruction* instr : (*module)->entry_computation()->instructions()) {
      EXPECT_TRUE(backend->IsOpSupported(*instr)) << backend_name << " claims not to support " << instr->ToString();
    }
    std::mt19937 rng(1234);
    std::vector<hlo::Literal> args;
    for (const hlo::Shape& s : (*module)->entry_program_shape().parameters) {
      hlo::Literal lit = RandomLiteral(s, rng, c.range);
      if (special.has_value() && hlo::IsFloatingPointType(s.element_type())) {
        for (int64_t i = 0; i < lit.element_count(); ++i) {
          if (i == 0 || i % 5 == 4) lit.SetFromDouble(i, *special);
        }
      }
      args.push_back(std::move(lit));
    }
    absl::StatusOr<hlo::Literal> expected = hlo::Evaluate(**module, args);
    ASSERT_TRUE(expected.ok()) << expected.status();
    std::vector<hlo::Literal> want = Flatten(std::move(*expected));
    absl::StatusOr<std::vector<hlo::Literal>> got = RunOnBackend(*backend, **module, args);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(CompareLiterals(want[i], (*got)[i], c.error, /*signed_zeros=*/special.has_value()), "")
          << "result " << i << (special.has_value() ? kiln::StrCat(" with ", *special, " injected") : "")
          << ", of " << (*module)->ToString();
    }
  }
};

TEST_P(OperatorSuite, MatchesInterpreter) {
  if (std::string why = SkipReason(); !why.empty()) GTEST_SKIP() << why;
  ExpectMatchesInterpreter(std::nullopt);
}

// The same cases with NaN, +Inf, -Inf and -0.0 in the floating-point arguments: the backend must give
// NaN where the interpreter does, the same infinities and the same signed zeros
// (docs/operation_semantics.md, "Special values"); other values keep the case's tolerance.
TEST_P(OperatorSuite, MatchesInterpreterWithSpecialValues) {
  if (std::string why = SkipReason(); !why.empty()) GTEST_SKIP() << why;
  for (float special : {std::nanf(""), INFINITY, -INFINITY, -0.0f}) ExpectMatchesInterpreter(special);
}

// Every skip-list entry names a case of the suite that its backend still refuses: IsOpSupported is
// false for one of its instructions, or Compile fails. A skip the backend has outgrown fails here, so
// the case runs again.
TEST(SkipListTest, EverySkippedCaseIsStillUnsupported) {
  std::map<std::string, Case> cases;
  for (Case& c : AllCases()) cases.emplace(c.name, std::move(c));
  for (const auto& [backend_name, skipped] : kSkips) {
    backends::Backend* backend = GetBackend(backend_name);
    ASSERT_NE(backend, nullptr) << "skip list of unknown backend '" << backend_name << "'";
    for (const std::string& name : skipped) {
      auto it = cases.find(name);
      if (it == cases.end()) {
        ADD_FAILURE() << "'" << name << "' is not a case of the suite; remove it from the skip list of " << backend_name;
        continue;
      }
      Builder builder(name);
      absl::StatusOr<std::unique_ptr<hlo::Module>> module = builder.Build(it->second.build(builder));
      ASSERT_TRUE(module.ok()) << module.status();
      bool refused = false;
      for (const hlo::Instruction* instr : (*module)->entry_computation()->instructions()) {
        refused = refused || !backend->IsOpSupported(*instr);
      }
      if (!refused) refused = !backend->Compile(std::move(*module), {}).ok();
      EXPECT_TRUE(refused) << backend_name << " now supports case '" << name << "'; remove it from the skip list";
    }
  }
}

// Test names are <backend>_<case> (cpu_abs_f32). A build whose only backend is the interpreter has
// nothing to compare, so the suite may stay uninstantiated.
INSTANTIATE_TEST_SUITE_P(Backends, OperatorSuite,
                         ::testing::Combine(::testing::ValuesIn(BackendsUnderTest()), ::testing::ValuesIn(AllCases())),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param).name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OperatorSuite);

}  // namespace
}  // namespace kiln::testing
