// The documentation table of HLO opcodes: per opcode, the shape rule and semantics printed in
// docs/operation_semantics.md and a representative instruction that hlo_docgen asks every backend
// about (IsOpSupported). Keyed by opcode; hlo_docgen fails when an opcode of the table
// (include/kiln/hlo/opcode.h) has no entry here or has two.
#include "tools/hlo_docgen/op_docs.h"

namespace kiln::hlo_docgen {

using hlo::Opcode;

namespace {

// Computations the representatives call. $T is replaced by the probed element type.
constexpr std::string_view kAdd = R"(add_T {
  a = $T[] parameter(0)
  b = $T[] parameter(1)
  ROOT s = $T[] add(a, b)
}
)";
constexpr std::string_view kGe = R"(ge_T {
  a = $T[] parameter(0)
  b = $T[] parameter(1)
  ROOT c = pred[] compare(a, b), direction=GE
}
)";
constexpr std::string_view kGeAdd = R"(ge_T {
  a = $T[] parameter(0)
  b = $T[] parameter(1)
  ROOT c = pred[] compare(a, b), direction=GE
}

add_T {
  a = $T[] parameter(0)
  b = $T[] parameter(1)
  ROOT s = $T[] add(a, b)
}
)";
constexpr std::string_view kFusedAddMul = R"(fused_T {
  a = $T[4] parameter(0)
  b = $T[4] parameter(1)
  s = $T[4] add(a, b)
  ROOT m = $T[4] multiply(s, b)
}
)";
constexpr std::string_view kWhile = R"(cond_T {
  s = $T[4] parameter(0)
  ROOT f = pred[] constant(false)
}

body_T {
  ROOT s = $T[4] parameter(0)
}
)";
constexpr std::string_view kIdentity = R"(id_T {
  ROOT s = $T[4] parameter(0)
}
)";

constexpr OpDoc kOpDocs[] = {
    {Opcode::kParameter, "The declared shape.",
     {}, R"(op = $T[4] parameter(0))"},
    {Opcode::kConstant, "The literal's shape.",
     {}, R"(op = $T[] constant(1))"},
    {Opcode::kIota, "The declared array shape; element i along `iota_dimension` is i.",
     {}, R"(op = $T[4] iota(), iota_dimension=0)"},
    {Opcode::kAbs, "Integer or float; same shape (integers wrap: abs(INT_MIN) = INT_MIN).",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] abs(x))"},
    {Opcode::kCeil, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] ceil(x))"},
    {Opcode::kFloor, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] floor(x))"},
    {Opcode::kRound, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] round-nearest-afz(x))"},
    {Opcode::kRoundNearestEven, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] round-nearest-even(x))"},
    {Opcode::kCos, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] cosine(x))"},
    {Opcode::kSin, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] sine(x))"},
    {Opcode::kTan, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] tan(x))"},
    {Opcode::kTanh, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] tanh(x))"},
    {Opcode::kExp, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] exponential(x))"},
    {Opcode::kExpm1, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] exponential-minus-one(x))"},
    {Opcode::kLog, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] log(x))"},
    {Opcode::kLog1p, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] log-plus-one(x))"},
    {Opcode::kLogistic, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] logistic(x))"},
    {Opcode::kNegate, "Integer or float; same shape (integers wrap: -INT_MIN = INT_MIN).",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] negate(x))"},
    {Opcode::kNot, "PRED or integer; same shape (logical / bitwise not).",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] not(x))"},
    {Opcode::kPopulationCount, "Integer; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] popcnt(x))"},
    {Opcode::kClz, "Integer; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] count-leading-zeros(x))"},
    {Opcode::kRsqrt, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] rsqrt(x))"},
    {Opcode::kSqrt, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] sqrt(x))"},
    {Opcode::kCbrt, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] cbrt(x))"},
    {Opcode::kSign, "Integer or float; same shape; -1, 0 or 1 by the sign of the operand.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] sign(x))"},
    {Opcode::kErf, "Float; same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] erf(x))"},
    {Opcode::kIsFinite, "Float operand; PRED result of its dimensions.",
     {}, R"(x = $T[4] parameter(0)
op = pred[4] is-finite(x))"},
    {Opcode::kCopy, "Same shape.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] copy(x))"},
    {Opcode::kAdd, "Operands of equal shape and type (the Builder broadcasts first); same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] add(x, y))"},
    {Opcode::kSubtract, "Operands of equal shape and type (the Builder broadcasts first); same "
     "shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] subtract(x, y))"},
    {Opcode::kMultiply, "Operands of equal shape and type (the Builder broadcasts first); same "
     "shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] multiply(x, y))"},
    {Opcode::kDivide, "Operands of equal shape and type (the Builder broadcasts first); same "
     "shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] divide(x, y))"},
    {Opcode::kRemainder, "Operands of equal shape and type (the Builder broadcasts first); same "
     "shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] remainder(x, y))"},
    {Opcode::kMaximum, "Operands of equal shape and type (the Builder broadcasts first); same "
     "shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] maximum(x, y))"},
    {Opcode::kMinimum, "Operands of equal shape and type (the Builder broadcasts first); same "
     "shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] minimum(x, y))"},
    {Opcode::kPower, "Operands of equal shape and type (the Builder broadcasts first); same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] power(x, y))"},
    {Opcode::kAtan2, "Float operands of equal shape; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] atan2(x, y))"},
    {Opcode::kAnd, "Operands of equal shape, PRED or integer; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] and(x, y))"},
    {Opcode::kOr, "Operands of equal shape, PRED or integer; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] or(x, y))"},
    {Opcode::kXor, "Operands of equal shape, PRED or integer; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] xor(x, y))"},
    {Opcode::kShiftLeft, "Integer operands of equal shape; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] shift-left(x, y))"},
    {Opcode::kShiftRightArithmetic, "Integer operands of equal shape; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] shift-right-arithmetic(x, y))"},
    {Opcode::kShiftRightLogical, "Integer operands of equal shape; same shape.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] shift-right-logical(x, y))"},
    {Opcode::kCompare, "Operands of equal dimensions and type; result PRED of those dimensions. "
     "`direction=EQ\\|NE\\|GE\\|GT\\|LE\\|LT`; floats compare as IEEE (NaN unordered), or by "
     "`type=TOTALORDER`: -NaN < -inf < ... < -0 < +0 < ... < inf < NaN.",
     {}, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = pred[4] compare(x, y), direction=LT)"},
    {Opcode::kSelect, "pred is PRED, scalar or of the branches' dimensions; branches equal "
     "shapes; result the branches' shape.",
     {}, R"(p = pred[4] parameter(0)
x = $T[4] parameter(1)
y = $T[4] parameter(2)
op = $T[4] select(p, x, y))"},
    {Opcode::kClamp, "min and max scalars or of x's dimensions, same type; result x's shape. "
     "`min(max(x, lo), hi)`.",
     {}, R"(lo = $T[4] parameter(0)
x = $T[4] parameter(1)
hi = $T[4] parameter(2)
op = $T[4] clamp(lo, x, hi))"},
    {Opcode::kBroadcast, "Operand dimension i becomes result dimension `dimensions[i]` (sizes "
     "equal); the result shape is declared. The Builder turns degenerate (size-1) dimensions into "
     "reshape + broadcast.",
     {}, R"(x = $T[4] parameter(0)
op = $T[3,4] broadcast(x), dimensions={1})"},
    {Opcode::kReshape, "Same element count, row-major order.",
     {}, R"(x = $T[2,3] parameter(0)
op = $T[3,2] reshape(x))"},
    {Opcode::kBitcast, "Same element count; a view of the same bytes.",
     {}, R"(x = $T[2,3] parameter(0)
op = $T[6] bitcast(x))"},
    {Opcode::kTranspose, "Result dimension i is operand dimension `dimensions[i]` (a permutation).",
     {}, R"(x = $T[2,3] parameter(0)
op = $T[3,2] transpose(x), dimensions={1,0})"},
    {Opcode::kSlice, "Per dimension `[start:limit:stride]`, 0 <= start <= limit <= size, stride "
     ">= 1; size ceil((limit-start)/stride).",
     {}, R"(x = $T[8] parameter(0)
op = $T[3] slice(x), slice={[1:7:2]})"},
    {Opcode::kDynamicSlice, "One integer scalar start per dimension, clamped to [0, size - "
     "slice_size]; result `dynamic_slice_sizes`.",
     {}, R"(x = $T[8] parameter(0)
i = s32[] parameter(1)
op = $T[3] dynamic-slice(x, i), dynamic_slice_sizes={3})"},
    {Opcode::kDynamicUpdateSlice, "operand, update (rank equal, not larger), one integer scalar "
     "start per dimension (clamped); result the operand's shape.",
     {}, R"(x = $T[8] parameter(0)
u = $T[3] parameter(1)
i = s32[] parameter(2)
op = $T[8] dynamic-update-slice(x, u, i))"},
    {Opcode::kConcatenate, "Same rank and type, equal except along `dimensions={d}`; sizes add "
     "along d.",
     {}, R"(x = $T[2] parameter(0)
y = $T[3] parameter(1)
op = $T[5] concatenate(x, y), dimensions={0})"},
    {Opcode::kPad, "Scalar padding value of the operand's type; per dimension `lo_hi[_interior]`: "
     "size lo + hi + n + max(n-1,0)*interior, lo/hi may be negative (remove elements), interior "
     ">= 0; the result may not be negative.",
     {}, R"(x = $T[4] parameter(0)
z = $T[] parameter(1)
op = $T[7] pad(x, z), padding=1_2)"},
    {Opcode::kReverse, "Same shape; the listed dimensions are reversed.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] reverse(x), dimensions={0})"},
    {Opcode::kConvert, "Same dimensions, new element type. Integers wrap; float to integer "
     "truncates toward zero and saturates, NaN -> 0; to PRED is `!= 0`.",
     {}, R"(x = $T[4] parameter(0)
op = f32[4] convert(x))"},
    {Opcode::kBitcastConvert, "Same bit width: same dimensions. Wider input: a new minor "
     "dimension of the width ratio. Narrower input: the minor dimension (= ratio) disappears.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] bitcast-convert(x))"},
    {Opcode::kReducePrecision, "Floating point; same shape; mantissa rounded to nearest even at "
     "`mantissa_bits`, exponent range of `exponent_bits` (overflow to inf, underflow to 0).",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] reduce-precision(x), exponent_bits=5, mantissa_bits=10)"},
    {Opcode::kDot, "Batch dimensions pair up and lead, contracting dimensions are summed; result "
     "[batch..., lhs free..., rhs free...]. Result type: the operands' or the preferred element "
     "type.",
     {}, R"(x = $T[2,3] parameter(0)
y = $T[3,4] parameter(1)
op = $T[2,4] dot(x, y), lhs_contracting_dims={1}, rhs_contracting_dims={0})"},
    {Opcode::kConvolution, "`dim_labels` name batch/feature/spatial dimensions of input, kernel "
     "(o/i) and output; `window` gives size (= kernel spatial size), stride, padding, lhs_dilate "
     "(base dilation) and rhs_dilate (window dilation). Input features = kernel input features * "
     "feature_group_count; kernel output features divisible by both group counts; batch divisible "
     "by batch_group_count. Spatial output size floor((dilated padded input - dilated window) / "
     "stride) + 1 (0 when the window does not fit).",
     {}, R"(x = $T[1,2,5,5] parameter(0)
k = $T[4,2,3,3] parameter(1)
op = $T[1,4,3,3] convolution(x, k), window={size=3x3}, dim_labels=bf01_oi01->bf01)"},
    {Opcode::kReduce, "N operands of equal dimensions and N scalar inits; `to_apply` takes 2N "
     "scalars (accumulators, then elements); result dimensions are the operand's without "
     "`dimensions` (a tuple for N > 1).",
     kAdd, R"(x = $T[2,3] parameter(0)
z = $T[] parameter(1)
op = $T[2] reduce(x, z), dimensions={1}, to_apply=add_T)"},
    {Opcode::kReduceWindow, "N operands, N scalar inits; `window` over every dimension; output "
     "size per dimension as for convolution; padding positions are skipped.",
     kAdd, R"(x = $T[4,6] parameter(0)
z = $T[] parameter(1)
op = $T[2,3] reduce-window(x, z), window={size=2x2 stride=2x2}, to_apply=add_T)"},
    {Opcode::kSelectAndScatter, "operand, source (of the reduce-window output shape), scalar "
     "init; `select` picks one element per window, `scatter` combines source values into it; "
     "result the operand's shape.",
     kGeAdd, R"(x = $T[4,6] parameter(0)
s = $T[2,3] parameter(1)
z = $T[] parameter(2)
op = $T[4,6] select-and-scatter(x, s, z), window={size=2x2 stride=2x2}, select=ge_T, scatter=add_T)"},
    {Opcode::kGather, "XLA's gather: `offset_dims`, `collapsed_slice_dims`, `start_index_map`, "
     "`index_vector_dim`, `slice_sizes` (and batching dims); result rank = batch dims + offset "
     "dims.",
     {}, R"(x = $T[4,6] parameter(0)
i = s32[2,1] parameter(1)
op = $T[2,6] gather(x, i), offset_dims={1}, collapsed_slice_dims={0}, start_index_map={0}, index_vector_dim=1, slice_sizes={1,6})"},
    {Opcode::kScatter, "N operands, indices, N updates; `to_apply` combines; result the operands' "
     "shapes.",
     kAdd, R"(x = $T[4,6] parameter(0)
i = s32[2,1] parameter(1)
u = $T[2,6] parameter(2)
op = $T[4,6] scatter(x, i, u), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, to_apply=add_T)"},
    {Opcode::kSort, "Operands of equal dimensions; comparator takes 2N scalars and returns PRED; "
     "sorts along `dimensions={d}`; result the operands' shapes.",
     kGe, R"(x = $T[4] parameter(0)
op = $T[4] sort(x), dimensions={0}, to_apply=ge_T)"},
    {Opcode::kMap, "Operands of equal dimensions; `to_apply` maps scalars; result dimensions of "
     "the operands, type of the computation's result.",
     kAdd, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] map(x, y), dimensions={0}, to_apply=add_T)"},
    {Opcode::kCall, "`to_apply`'s result shape; arguments match its parameters.",
     kAdd, R"(x = $T[] parameter(0)
y = $T[] parameter(1)
op = $T[] call(x, y), to_apply=add_T)"},
    {Opcode::kFusion, "`calls`'s result shape; arguments match its parameters. `kind=kLoop` "
     "(elementwise work over the result's index space) or `kind=kOutput` (one convolution or dot "
     "and its epilogue). Backends' fusion passes emit it; frontends do not.",
     kFusedAddMul, R"(x = $T[4] parameter(0)
y = $T[4] parameter(1)
op = $T[4] fusion(x, y), kind=kLoop, calls=fused_T)"},
    {Opcode::kWhile, "init, condition parameter, body parameter and body result share one shape; "
     "condition returns pred[].",
     kWhile, R"(x = $T[4] parameter(0)
op = $T[4] while(x), condition=cond_T, body=body_T)"},
    {Opcode::kConditional, "Branch index s32[] (out of range -> last branch) or pred[] (true, "
     "false); one operand per branch; all branches return one shape.",
     kIdentity, R"(p = pred[] parameter(0)
x = $T[4] parameter(1)
op = $T[4] conditional(p, x, x), true_computation=id_T, false_computation=id_T)"},
    {Opcode::kTuple, "The tuple of the operands' shapes.",
     {}, R"(x = $T[4] parameter(0)
y = $T[] parameter(1)
op = ($T[4], $T[]) tuple(x, y))"},
    {Opcode::kGetTupleElement, "Element `index` of a tuple operand.",
     {}, R"(x = ($T[4], $T[]) parameter(0)
op = $T[4] get-tuple-element(x), index=0)"},
    {Opcode::kRngBitGenerator, "(state shape, output bits shape) with an integer output type; "
     "`algorithm=rng_default\\|rng_three_fry\\|rng_philox`.",
     {}, R"(s = u64[2] parameter(0)
op = (u64[2], $T[4]) rng-bit-generator(s), algorithm=rng_default)"},
    {Opcode::kBatchNormInference, "operand (float), scale, offset, mean, variance of [features]; "
     "result the operand's shape: scale*(x-mean)/sqrt(var+epsilon)+offset.",
     {}, R"(x = $T[2,3] parameter(0)
sc = $T[3] parameter(1)
of = $T[3] parameter(2)
m = $T[3] parameter(3)
v = $T[3] parameter(4)
op = $T[2,3] batch-norm-inference(x, sc, of, m, v), epsilon=0.001, feature_index=1)"},
    {Opcode::kBatchNormTraining, "operand, scale, offset; result (operand shape, [features], "
     "[features]).",
     {}, R"(x = $T[2,3] parameter(0)
sc = $T[3] parameter(1)
of = $T[3] parameter(2)
op = ($T[2,3], $T[3], $T[3]) batch-norm-training(x, sc, of), epsilon=0.001, feature_index=1)"},
    {Opcode::kBatchNormGrad, "operand, scale, mean, variance, grad_output; result (operand shape, "
     "[features], [features]).",
     {}, R"(x = $T[2,3] parameter(0)
sc = $T[3] parameter(1)
m = $T[3] parameter(2)
v = $T[3] parameter(3)
g = $T[2,3] parameter(4)
op = ($T[2,3], $T[3], $T[3]) batch-norm-grad(x, sc, m, v, g), epsilon=0.001, feature_index=1)"},
    {Opcode::kUniformQuantize, "Float operand; result of an integer storage type: "
     "clamp(round_half_even(x / scale) + zero_point, storage range); per tensor or per axis "
     "(`quantization_dimension`).",
     {}, R"(x = f32[4] parameter(0)
op = $T[4] uniform-quantize(x), scale={0.5}, zero_point={0})"},
    {Opcode::kUniformDequantize, "Integer operand; result of a float type: scale * (q - "
     "zero_point).",
     {}, R"(x = $T[4] parameter(0)
op = f32[4] uniform-dequantize(x), scale={0.5}, zero_point={0})"},
    {Opcode::kCustomCall, "The declared shape; `custom_call_target=\"name\"`, "
     "`backend_config=\"...\"`.",
     {}, R"(x = $T[4] parameter(0)
op = $T[4] custom-call(x), custom_call_target="target")"},
};

}  // namespace

absl::Span<const OpDoc> OpDocs() { return kOpDocs; }

}  // namespace kiln::hlo_docgen
