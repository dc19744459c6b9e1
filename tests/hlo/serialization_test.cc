// Protobuf serialization of HLO modules: text -> module -> bytes -> module -> text is the identity
// for modules that use every opcode, every element type, tiled layouts, dynamic dimensions, tuples
// and nested computations; the interpreter gives bitwise-equal results before and after; corrupt,
// truncated and hand-damaged bytes give errors, never a crash.
#include "kiln/hlo/serialization.h"
#include "kiln/support/strings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "hlo.pb.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/parser.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

using ::testing::HasSubstr;

// --- Modules, as HLO text --------------------------------------------------------------------

constexpr const char* kElementwise = R"(HloModule elementwise

ENTRY main {
  x = f32[2,3] parameter(0)
  y = f32[2,3] parameter(1)
  i = s32[2,3] parameter(2)
  j = s32[2,3] parameter(3)
  abs = f32[2,3] abs(x)
  ceil = f32[2,3] ceil(x)
  floor = f32[2,3] floor(x)
  rafz = f32[2,3] round-nearest-afz(x)
  reven = f32[2,3] round-nearest-even(x)
  cos = f32[2,3] cosine(x)
  sin = f32[2,3] sine(x)
  tan = f32[2,3] tan(x)
  tanh = f32[2,3] tanh(x)
  exp = f32[2,3] exponential(x)
  expm1 = f32[2,3] exponential-minus-one(x)
  log = f32[2,3] log(x)
  log1p = f32[2,3] log-plus-one(x)
  logistic = f32[2,3] logistic(x)
  neg = f32[2,3] negate(x)
  inot = s32[2,3] not(i)
  popcnt = s32[2,3] popcnt(i)
  clz = s32[2,3] count-leading-zeros(i)
  rsqrt = f32[2,3] rsqrt(x)
  sqrt = f32[2,3] sqrt(x)
  cbrt = f32[2,3] cbrt(x)
  sign = f32[2,3] sign(x)
  erf = f32[2,3] erf(x)
  finite = pred[2,3] is-finite(x)
  copy = f32[2,3] copy(x)
  sum = f32[2,3] add(x, y)
  diff = f32[2,3] subtract(x, y)
  prod = f32[2,3] multiply(x, y)
  quot = f32[2,3] divide(x, y)
  rem = f32[2,3] remainder(x, y)
  max = f32[2,3] maximum(x, y)
  min = f32[2,3] minimum(x, y)
  pow = f32[2,3] power(x, y)
  atan2 = f32[2,3] atan2(x, y)
  iand = s32[2,3] and(i, j)
  ior = s32[2,3] or(i, j)
  ixor = s32[2,3] xor(i, j)
  shl = s32[2,3] shift-left(i, j)
  sra = s32[2,3] shift-right-arithmetic(i, j)
  srl = s32[2,3] shift-right-logical(i, j)
  lt = pred[2,3] compare(x, y), direction=LT
  ne = pred[2,3] compare(i, j), direction=NE
  total = pred[2,3] compare(x, y), direction=GE, type=TOTALORDER
  sel = f32[2,3] select(lt, x, y)
  lo = f32[] constant(-1)
  hi = f32[] constant(1.5)
  clamp = f32[2,3] clamp(lo, x, hi)
  ROOT t = (f32[2,3], pred[2,3], s32[2,3], f32[2,3]) tuple(clamp, finite, shl, sel)
}
)";

constexpr const char* kDataMovement = R"(HloModule data_movement

ENTRY main {
  x = f32[2,3] parameter(0)
  s = s32[] parameter(1)
  b = f32[4,2,3] broadcast(x), dimensions={1,2}
  r = f32[3,2] reshape(x)
  bc = f32[6] bitcast(x)
  t = f32[3,2] transpose(x), dimensions={1,0}
  sl = f32[1,2] slice(x), slice={[1:2], [0:3:2]}
  ds = f32[1,2] dynamic-slice(x, s, s), dynamic_slice_sizes={1,2}
  u = f32[1,2] constant({{5, 6}})
  dus = f32[2,3] dynamic-update-slice(x, u, s, s)
  cat = f32[4,3] concatenate(x, x), dimensions={0}
  zero = f32[] constant(0)
  pad = f32[5,10] pad(x, zero), padding=1_2x0_1_3
  negpad = f32[1,3] pad(x, zero), padding=-1_0x0_0
  rev = f32[2,3] reverse(x), dimensions={0,1}
  cvt = s32[2,3] convert(x)
  bcc = s32[2,3] bitcast-convert(x)
  halves = u16[2,3,2] bitcast-convert(x)
  rp = f32[2,3] reduce-precision(x), exponent_bits=5, mantissa_bits=10
  io = s32[4,3] iota(), iota_dimension=1
  ROOT out = (f32[4,2,3], f32[5,10], f32[2,3], s32[2,3], s32[4,3]) tuple(b, pad, dus, cvt, io)
}
)";

constexpr const char* kContractions = R"(HloModule contractions

fused_dot_bias {
  x = f32[3,4] parameter(0)
  w = f32[4,5] parameter(1)
  bias = f32[5] parameter(2)
  d = f32[3,5] dot(x, w), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  bb = f32[3,5] broadcast(bias), dimensions={1}
  ROOT r = f32[3,5] add(d, bb)
}

ENTRY main {
  a = f32[2,3,4] parameter(0)
  b = f32[2,4,5] parameter(1)
  in = f32[1,2,5,5] parameter(2)
  k = f32[4,1,3,3] parameter(3)
  k2 = f32[4,2,3,3] parameter(4)
  in2 = f32[2,2,5,5] parameter(5)
  dot = f32[2,3,5] dot(a, b), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={1}
  conv = f32[1,4,3,3] convolution(in, k), window={size=3x3 stride=2x2 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, feature_group_count=2
  dilated = f32[1,4,8,3] convolution(in, k2), window={size=3x3 pad=0_1x2_0 lhs_dilate=2x1 rhs_dilate=1x2}, dim_labels=bf01_oi01->bf01
  nhwc = f32[1,3,3,4] convolution(in, k2), window={size=3x3 stride=2x2 pad=1_1x1_1 rhs_reversal=1x0}, dim_labels=bf01_oi01->b01f
  grouped = f32[1,4,3,3] convolution(in2, k2), window={size=3x3}, dim_labels=bf01_oi01->bf01, batch_group_count=2
  x = f32[3,4] parameter(6)
  w = f32[4,5] parameter(7)
  bias = f32[5] parameter(8)
  fused = f32[3,5] fusion(x, w, bias), kind=kOutput, calls=fused_dot_bias
  ROOT out = (f32[2,3,5], f32[1,4,3,3], f32[1,4,8,3], f32[3,5]) tuple(dot, conv, dilated, fused)
}
)";

constexpr const char* kReductions = R"(HloModule reductions

add_f32 {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT sum = f32[] add(a, b)
}

max_f32 {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT m = f32[] maximum(a, b)
}

ge_f32 {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT ge = pred[] compare(a, b), direction=GE
}

lt_f32 {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT lt = pred[] compare(a, b), direction=LT
}

sum_pair {
  a0 = f32[] parameter(0)
  a1 = s32[] parameter(1)
  b0 = f32[] parameter(2)
  b1 = s32[] parameter(3)
  s0 = f32[] add(a0, b0)
  s1 = s32[] add(a1, b1)
  ROOT t = (f32[], s32[]) tuple(s0, s1)
}

ENTRY main {
  x = f32[4,6] parameter(0)
  src = f32[2,3] parameter(1)
  idx = s32[2,1] parameter(2)
  upd = f32[2,6] parameter(3)
  xi = s32[4,6] iota(), iota_dimension=0
  zero = f32[] constant(0)
  izero = s32[] constant(0)
  red = f32[4] reduce(x, zero), dimensions={1}, to_apply=add_f32
  red2 = (f32[], s32[]) reduce(x, xi, zero, izero), dimensions={0,1}, to_apply=sum_pair
  rw = f32[2,3] reduce-window(x, zero), window={size=2x2 stride=2x2}, to_apply=max_f32
  rwp = f32[5,6] reduce-window(x, zero), window={size=2x3 pad=1_1x1_1 rhs_dilate=1x1}, to_apply=add_f32
  sas = f32[4,6] select-and-scatter(x, src, zero), window={size=2x2 stride=2x2}, select=ge_f32, scatter=add_f32
  sorted = f32[4,6] sort(x), dimensions={1}, is_stable=true, to_apply=lt_f32
  mapped = f32[4,6] map(x, x), dimensions={0,1}, to_apply=add_f32
  g = f32[2,6] gather(x, idx), offset_dims={1}, collapsed_slice_dims={0}, start_index_map={0}, index_vector_dim=1, slice_sizes={1,6}, indices_are_sorted=true
  sc = f32[4,6] scatter(x, idx, upd), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, indices_are_sorted=true, unique_indices=true, to_apply=add_f32
  ROOT out = (f32[4], (f32[], s32[]), f32[2,3], f32[4,6], f32[4,6]) tuple(red, red2, rw, sorted, mapped)
}
)";

constexpr const char* kControlFlow = R"(HloModule control_flow

cond {
  s = (s32[], f32[2]) parameter(0)
  i = s32[] get-tuple-element(s), index=0
  n = s32[] constant(3)
  ROOT lt = pred[] compare(i, n), direction=LT
}

body {
  s = (s32[], f32[2]) parameter(0)
  i = s32[] get-tuple-element(s), index=0
  v = f32[2] get-tuple-element(s), index=1
  one = s32[] constant(1)
  i2 = s32[] add(i, one)
  v2 = f32[2] add(v, v)
  ROOT t = (s32[], f32[2]) tuple(i2, v2)
}

double {
  x = f32[2] parameter(0)
  ROOT d = f32[2] add(x, x)
}

negb {
  x = f32[2] parameter(0)
  ROOT n = f32[2] negate(x)
}

inner {
  x = f32[2] parameter(0)
  ROOT e = f32[2] exponential(x)
}

unused {
  u = f32[] parameter(0)
  ROOT nu = f32[] negate(u)
}

fused_loop {
  a = f32[2] parameter(0)
  b = f32[2] parameter(1)
  s = f32[2] add(a, b)
  ROOT m = f32[2] multiply(s, b)
}

callee {
  x = f32[2] parameter(0)
  y = f32[2] parameter(1)
  m = f32[2] multiply(x, y)
  ROOT c = f32[2] call(m), to_apply=inner
}

ENTRY main {
  v = f32[2] parameter(0)
  p = pred[] parameter(1)
  k = s32[] parameter(2)
  zero = s32[] constant(0)
  init = (s32[], f32[2]) tuple(zero, v)
  w = (s32[], f32[2]) while(init), condition=cond, body=body
  wv = f32[2] get-tuple-element(w), index=1
  c1 = f32[2] conditional(p, v, wv), true_computation=double, false_computation=negb
  c2 = f32[2] conditional(k, v, wv, v), branch_computations={double, negb, double}
  called = f32[2] call(c1, c2), to_apply=callee
  fused = f32[2] fusion(called, v), kind=kLoop, calls=fused_loop
  ROOT out = (f32[2], (s32[], f32[2])) tuple(fused, w)
}
)";

constexpr const char* kMisc = R"(HloModule misc

ENTRY main {
  st = u64[2] parameter(0)
  x = f32[2,3,4] parameter(1)
  scale = f32[3] parameter(2)
  offset = f32[3] parameter(3)
  mean = f32[3] parameter(4)
  var = f32[3] parameter(5)
  rng = (u64[2], u32[2,3]) rng-bit-generator(st), algorithm=rng_philox
  rng2 = (u64[2], u64[4]) rng-bit-generator(st), algorithm=rng_three_fry
  bni = f32[2,3,4] batch-norm-inference(x, scale, offset, mean, var), epsilon=0.001, feature_index=1
  bnt = (f32[2,3,4], f32[3], f32[3]) batch-norm-training(x, scale, offset), epsilon=0.25, feature_index=1
  bng = (f32[2,3,4], f32[3], f32[3]) batch-norm-grad(x, scale, mean, var, x), epsilon=1e-05, feature_index=1
  q = s8[2,3,4] uniform-quantize(x), scale={0.5}, zero_point={3}
  qa = u8[2,3,4] uniform-quantize(x), scale={0.5,0.25,0.1}, zero_point={1,2,3}, quantization_dimension=1
  dq = f32[2,3,4] uniform-dequantize(q), scale={0.5}, zero_point={3}
  cc = f32[2] custom-call(x, scale), custom_call_target="my_target", backend_config="{\"k\": \"v\\n\"}"
  ROOT out = (f32[2,3,4], f32[2,3,4], f32[2]) tuple(bni, dq, cc)
}
)";

constexpr const char* kLayouts = R"(HloModule layouts

ENTRY main {
  tiled = f32[8,128]{1,0:T(8,128)} parameter(0)
  colmajor = f32[8,128]{0,1} parameter(1)
  twotiles = bf16[16,256]{1,0:T(8,128)(2,1)} parameter(2)
  dyn = f32[<=10,3]{0,1} parameter(3)
  dyn2 = s32[2,<=5] parameter(4)
  nested = ((f32[2]{0}, pred[]), s32[3]{0}, ()) parameter(5)
  sum = f32[8,128]{0,1} add(tiled, colmajor)
  d = f32[<=10,3]{0,1} negate(dyn)
  e = (f32[2]{0}, pred[]) get-tuple-element(nested), index=0
  ROOT out = (f32[8,128]{0,1}, f32[<=10,3]{0,1}, (f32[2]{0}, pred[]), bf16[16,256]{1,0:T(8,128)(2,1)}, s32[2,<=5]) tuple(sum, d, e, twotiles, dyn2)
}
)";

const std::vector<const char*>& AllModules() {
  static const std::vector<const char*> modules = {
      kElementwise, kDataMovement, kContractions, kReductions, kControlFlow, kMisc, kLayouts};
  return modules;
}

std::unique_ptr<Module> ParseAndVerify(const char* text) {
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
  EXPECT_TRUE(m.ok()) << m.status() << "\n" << text;
  if (!m.ok()) return nullptr;
  absl::Status v = VerifyModule(**m);
  EXPECT_TRUE(v.ok()) << v << "\n" << text;
  if (!v.ok()) return nullptr;
  return *std::move(m);
}

std::string Serialize(const Module& m) {
  absl::StatusOr<std::string> bytes = SerializeModule(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

hloproto::ModuleProto ToProto(const Module& m) {
  hloproto::ModuleProto p;
  EXPECT_TRUE(p.ParseFromString(Serialize(m)));
  return p;
}

std::string ProtoBytes(const hloproto::ModuleProto& p) {
  std::string s;
  EXPECT_TRUE(p.SerializeToString(&s));
  return s;
}

// Deserializes `p` and expects an error whose message contains `what`.
void ExpectError(const hloproto::ModuleProto& p, std::string_view what) {
  absl::StatusOr<std::unique_ptr<Module>> m = DeserializeModule(ProtoBytes(p));
  ASSERT_FALSE(m.ok()) << "expected an error containing '" << what << "'";
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(std::string(what)));
}

hloproto::InstructionProto* FindInstruction(hloproto::ModuleProto* p, std::string_view name) {
  for (hloproto::ComputationProto& c : *p->mutable_computations()) {
    for (hloproto::InstructionProto& i : *c.mutable_instructions()) {
      if (i.name() == name) return &i;
    }
  }
  ADD_FAILURE() << "no instruction " << name;
  return nullptr;
}

// --- Round trips -----------------------------------------------------------------------------

TEST(SerializationTest, TextModuleProtoModuleTextIsTheIdentity) {
  for (const char* text : AllModules()) {
    std::unique_ptr<Module> m = ParseAndVerify(text);
    ASSERT_NE(m, nullptr);
    std::string bytes = Serialize(*m);
    absl::StatusOr<std::unique_ptr<Module>> back = DeserializeModule(bytes);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << m->ToString();
    EXPECT_EQ((*back)->ToString(), m->ToString());
    EXPECT_EQ((*back)->computation_count(), m->computation_count());
    // Serializing again gives the same bytes (the format is canonical).
    EXPECT_EQ(Serialize(**back), bytes) << m->name();
  }
}

TEST(SerializationTest, ModulesCoverEveryOpcode) {
  std::set<Opcode> seen;
  for (const char* text : AllModules()) {
    std::unique_ptr<Module> m = ParseAndVerify(text);
    ASSERT_NE(m, nullptr);
    for (const Computation* c : m->MakeComputationPostOrder()) {
      for (const Instruction* i : c->instructions()) seen.insert(i->opcode());
    }
  }
  for (int i = 0; i < kOpcodeCount; ++i) {
    Opcode op = static_cast<Opcode>(i);
    EXPECT_TRUE(seen.contains(op)) << "no round-trip module uses " << OpcodeString(op)
                                   << "; add it to tests/hlo/serialization_test.cc";
  }
}

TEST(SerializationTest, AttributesSurviveExactly) {
  for (const char* text : AllModules()) {
    std::unique_ptr<Module> m = ParseAndVerify(text);
    ASSERT_NE(m, nullptr);
    absl::StatusOr<std::unique_ptr<Module>> back = DeserializeModule(Serialize(*m));
    ASSERT_TRUE(back.ok()) << back.status();
    std::vector<Computation*> a = m->MakeComputationPostOrder(),
                              b = (*back)->MakeComputationPostOrder();
    ASSERT_EQ(a.size(), b.size());
    for (size_t c = 0; c < a.size(); ++c) {
      std::vector<Instruction*> ia = a[c]->MakeInstructionPostOrder();
      std::vector<Instruction*> ib = b[c]->MakeInstructionPostOrder();
      ASSERT_EQ(ia.size(), ib.size());
      for (size_t i = 0; i < ia.size(); ++i) {
        EXPECT_EQ(ia[i]->name(), ib[i]->name());
        EXPECT_EQ(ia[i]->shape(), ib[i]->shape()) << ia[i]->name();
        EXPECT_EQ(ia[i]->parameter_number(), ib[i]->parameter_number());
        EXPECT_EQ(ia[i]->custom_call_target(), ib[i]->custom_call_target());
        EXPECT_EQ(ia[i]->backend_config(), ib[i]->backend_config());
        EXPECT_EQ(ia[i]->fusion_kind(), ib[i]->fusion_kind()) << ia[i]->name();
        ASSERT_EQ(ia[i]->called_computations().size(), ib[i]->called_computations().size());
        for (size_t k = 0; k < ia[i]->called_computations().size(); ++k) {
          EXPECT_EQ(ia[i]->called_computations()[k]->name(),
                    ib[i]->called_computations()[k]->name());
        }
        // IdenticalAttributes compares called computations by pointer; compare the rest here.
        if (ia[i]->called_computations().empty() && ia[i]->opcode() != Opcode::kCustomCall &&
            ia[i]->opcode() != Opcode::kRngBitGenerator) {
          EXPECT_TRUE(ia[i]->IdenticalAttributes(*ib[i])) << ia[i]->ToString();
        }
      }
    }
  }
}

// Constants of every element type, including values the text form cannot carry exactly in
// every printer (extremes, NaN payloads, -0, subnormals).
TEST(SerializationTest, ConstantsOfEveryElementTypeAreBitExact) {
  auto module = std::make_unique<Module>("constants");
  auto c = std::make_unique<Computation>("main");
  std::vector<Instruction*> elems;
  auto add = [&](Literal lit) {
    elems.push_back(c->AddInstruction(Instruction::CreateConstant(std::move(lit))));
  };
  add(Literal::CreateR1<bool>({true, false, true}));
  add(Literal::CreateR1<int8_t>({-128, 127, 0}));
  add(Literal::CreateR1<uint8_t>({0, 255, 7}));
  add(Literal::CreateR1<int16_t>({-32768, 32767}));
  add(Literal::CreateR1<uint16_t>({65535, 1}));
  add(Literal::CreateR1<int32_t>({std::numeric_limits<int32_t>::min(), 42}));
  add(Literal::CreateR1<uint32_t>({std::numeric_limits<uint32_t>::max()}));
  add(Literal::CreateR1<int64_t>(
      {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}));
  add(Literal::CreateR1<uint64_t>({std::numeric_limits<uint64_t>::max(), 0}));
  add(Literal::CreateR1<F16>({FloatToHalf(1.5f), FloatToHalf(-0.0f), F16{0x0001}, F16{0x7e01}}));
  add(Literal::CreateR1<BF16>({FloatToBFloat16(3.0f), BF16{0x7f80}, BF16{0x0001}}));
  add(Literal::CreateR2<float>(
      {{1.0f / 3, -0.0f},
       {std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::quiet_NaN()}}));
  add(Literal::CreateR0<double>(std::nextafter(1.0, 2.0)));
  add(Literal::CreateFromVector<float>({2, 0, 3}, {}));
  add(Literal::MakeTuple({Literal::CreateR0<int32_t>(7), Literal::CreateR1<float>({0.5f})}));
  std::vector<Shape> shapes;
  for (Instruction* e : elems) shapes.push_back(e->shape());
  Instruction* root = c->AddInstruction(
      Instruction::Create(Opcode::kTuple, ShapeUtil::MakeTupleShape(shapes), elems));
  c->set_root_instruction(root);
  module->AddEntryComputation(std::move(c));
  ASSERT_TRUE(VerifyModule(*module).ok()) << VerifyModule(*module);

  absl::StatusOr<std::unique_ptr<Module>> back = DeserializeModule(Serialize(*module));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->ToString(), module->ToString());
  std::vector<Instruction*> a = module->entry_computation()->MakeInstructionPostOrder();
  std::vector<Instruction*> b = (*back)->entry_computation()->MakeInstructionPostOrder();
  ASSERT_EQ(a.size(), b.size());
  std::set<PrimitiveType> types;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i]->opcode() != Opcode::kConstant) continue;
    EXPECT_TRUE(a[i]->literal() == b[i]->literal()) << a[i]->ToString();  // Bitwise.
    EXPECT_EQ(a[i]->literal().shape(), b[i]->literal().shape());
    types.insert(a[i]->shape().element_type());
  }
  EXPECT_EQ(types.size(), 14u);  // 13 array types and a tuple.
}

// `text` without the lines that contain any of `ops` (instructions the interpreter lacks).
std::string WithoutLinesContaining(const char* text, std::vector<std::string> ops) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    bool drop = false;
    for (const std::string& op : ops) drop |= absl::StrContains(line, op);
    if (!drop) kiln::StrAppend(&out, line, "\n");
  }
  return out;
}

TEST(SerializationTest, InterpreterResultsAreIdenticalAfterARoundTrip) {
  struct Case {
    std::string text;
    std::vector<Literal> args;
  };
  std::vector<Case> cases;
  cases.push_back({kElementwise,
                   {Literal::CreateR2<float>({{0.5f, -1.25f, 3}, {2, -0.0f, 7.5f}}),
                    Literal::CreateR2<float>({{2, 0.75f, -3}, {0.25f, 1, 2}}),
                    Literal::CreateR2<int32_t>({{1, -7, 12}, {255, 0, -1}}),
                    Literal::CreateR2<int32_t>({{3, 1, 30}, {2, 5, 31}})}});
  cases.push_back(
      {kDataMovement,
       {Literal::CreateR2<float>({{1, 2, 3}, {4, 5, 6}}), Literal::CreateR0<int32_t>(1)}});
  // The interpreter does not implement select-and-scatter, gather and scatter (yet).
  cases.push_back(
      {WithoutLinesContaining(kReductions, {"select-and-scatter(", "gather(", "scatter("}),
       {Literal::CreateFromVector<float>(
            {4, 6}, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4}),
        Literal::CreateR2<float>({{1, 2, 3}, {4, 5, 6}}), Literal::CreateR2<int32_t>({{2}, {0}}),
        Literal::CreateFromVector<float>({2, 6}, std::vector<float>(12, 0.5f))}});
  cases.push_back({kControlFlow,
                   {Literal::CreateR1<float>({0.5f, -2}), Literal::CreateR0<bool>(false),
                    Literal::CreateR0<int32_t>(1)}});
  for (Case& c : cases) {
    std::unique_ptr<Module> m = ParseAndVerify(c.text.c_str());
    ASSERT_NE(m, nullptr);
    absl::StatusOr<std::unique_ptr<Module>> back = DeserializeModule(Serialize(*m));
    ASSERT_TRUE(back.ok()) << back.status();
    absl::StatusOr<Literal> before = hlo::Evaluate(*m, c.args);
    ASSERT_TRUE(before.ok()) << before.status() << " in " << m->name();
    absl::StatusOr<Literal> after = hlo::Evaluate(**back, c.args);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_TRUE(*before == *after)
        << m->name() << ": " << before->ToString() << " vs " << after->ToString();
  }
}

// --- Corrupt and damaged input ---------------------------------------------------------------

TEST(SerializationTest, TruncatedAndRandomlyCorruptedBytesNeverCrash) {
  std::mt19937 rng(12345);
  int accepted = 0, rejected = 0;
  for (const char* text : AllModules()) {
    std::unique_ptr<Module> m = ParseAndVerify(text);
    ASSERT_NE(m, nullptr);
    const std::string bytes = Serialize(*m);
    // Every proper prefix.
    for (size_t n = 0; n < bytes.size(); ++n) {
      absl::StatusOr<std::unique_ptr<Module>> r = DeserializeModule(bytes.substr(0, n));
      if (r.ok()) {
        ++accepted;
        EXPECT_TRUE(VerifyModule(**r).ok());
      } else {
        ++rejected;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      }
    }
    // Random byte damage: 1 to 4 bytes replaced.
    for (int trial = 0; trial < 600; ++trial) {
      std::string damaged = bytes;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) damaged[rng() % damaged.size()] = static_cast<char>(rng());
      absl::StatusOr<std::unique_ptr<Module>> r = DeserializeModule(damaged);
      if (r.ok()) {
        ++accepted;
        // Whatever was accepted is a verified module that serializes and prints.
        EXPECT_TRUE(VerifyModule(**r).ok());
        EXPECT_TRUE(SerializeModule(**r).ok());
        EXPECT_FALSE((*r)->ToString().empty());
      } else {
        ++rejected;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      }
    }
  }
  EXPECT_GT(rejected, 0);
  // No bytes parse as an empty proto, rejected for its version (0).
  absl::StatusOr<std::unique_ptr<Module>> empty = DeserializeModule("");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("format version 0"));
  absl::StatusOr<std::unique_ptr<Module>> junk = DeserializeModule("\xff\xff\xff\xff garbage");
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(std::string(junk.status().message()), HasSubstr("truncated or corrupt"));
  std::printf("damaged inputs: %d rejected, %d accepted (and verified)\n", rejected, accepted);
}

TEST(SerializationTest, StructuralDamageGivesNamedErrors) {
  std::unique_ptr<Module> m = ParseAndVerify(kControlFlow);
  ASSERT_NE(m, nullptr);
  const hloproto::ModuleProto good = ToProto(*m);

  hloproto::ModuleProto p = good;
  p.set_version(7);
  ExpectError(p, "format version 7");

  p = good;
  FindInstruction(&p, "i2")->set_opcode("frobnicate");
  ExpectError(p, "instruction %i2: unknown opcode 'frobnicate'");

  p = good;
  FindInstruction(&p, "i2")->set_operand_ids(0, 123456);
  ExpectError(p, "operand id 123456 names no instruction of this computation");

  p = good;  // An operand from another computation (the entry's %k).
  FindInstruction(&p, "i2")->set_operand_ids(0, FindInstruction(&p, "k")->id());
  ExpectError(p, "names no instruction of this computation");

  p = good;  // In %body, v2 = add(v, v) and v = get-tuple-element(v2): a cycle.
  FindInstruction(&p, "v")->set_operand_ids(0, FindInstruction(&p, "v2")->id());
  ExpectError(p, "(directly or through others)");

  p = good;  // The body calls itself through a call instruction.
  {
    hloproto::InstructionProto* c = FindInstruction(&p, "c");
    int64_t callee_id = -1;
    for (const hloproto::ComputationProto& comp : p.computations()) {
      if (comp.name() == "callee") callee_id = comp.id();
    }
    c->set_called_computation_ids(0, callee_id);
  }
  ExpectError(p, "computation %callee calls itself");

  p = good;
  FindInstruction(&p, "called")->set_called_computation_ids(0, 999);
  ExpectError(p, "called computation id 999 names no computation");

  p = good;
  FindInstruction(&p, "i2")->add_called_computation_ids(good.computations(0).id());
  ExpectError(p, "add calls no computations");

  p = good;
  FindInstruction(&p, "i2")->add_operand_ids(FindInstruction(&p, "one")->id());
  ExpectError(p, "add takes 2 operands, got 3");

  p = good;  // Shape mismatch: found by the verifier.
  FindInstruction(&p, "v2")->mutable_shape()->set_dimensions(0, 3);
  ExpectError(p, "instruction %v2: shape f32[3] differs from the inferred f32[2]");

  p = good;
  FindInstruction(&p, "v2")->mutable_shape()->set_element_type(hloproto::ElementType(99));
  ExpectError(p, "instruction %v2: shape: unknown element type 99");

  p = good;
  FindInstruction(&p, "v2")->mutable_shape()->set_dimensions(0, -2);
  ExpectError(p, "negative dimension size -2");

  p = good;
  FindInstruction(&p, "v2")->mutable_shape()->set_dimensions(0, int64_t{1} << 62);
  ExpectError(p, "array size overflows 64 bits");

  p = good;
  FindInstruction(&p, "v2")->mutable_shape()->mutable_layout()->set_minor_to_major(0, 4);
  ExpectError(p, "not a permutation");

  p = good;
  FindInstruction(&p, "v2")->mutable_shape()->add_is_dynamic_dimension(true);
  FindInstruction(&p, "v2")->mutable_shape()->add_is_dynamic_dimension(true);
  ExpectError(p, "2 dynamic-dimension flags for rank 1");

  p = good;
  FindInstruction(&p, "v2")->mutable_shape()->mutable_layout()->add_tiles()->add_dimensions(0);
  ExpectError(p, "layout tile dimension 0 < 1");

  p = good;
  FindInstruction(&p, "v2")->set_name("v");
  ExpectError(p, "the name 'v' is used twice");

  p = good;
  FindInstruction(&p, "v2")->set_id(FindInstruction(&p, "v")->id());
  ExpectError(p, "is used twice");

  p = good;  // The entry's parameters are v (0), p (1), k (2).
  FindInstruction(&p, "p")->set_parameter_number(5);
  ExpectError(p, "parameter number 5 is out of range or repeated (3 parameters)");

  p = good;
  FindInstruction(&p, "p")->set_parameter_number(0);
  ExpectError(p, "parameter number 0 is out of range or repeated");

  p = good;
  FindInstruction(&p, "p")->set_parameter_number(-1);
  ExpectError(p, "parameter number -1 is out of range");

  p = good;
  p.mutable_computations(0)->set_root_id(-5);
  ExpectError(p, "root id -5 names no instruction");

  p = good;
  p.set_entry_computation_id(77);
  ExpectError(p, "entry computation id 77 names no computation");

  p = good;
  p.mutable_computations(0)->clear_instructions();
  ExpectError(p, "has no instructions");

  p = good;  // Constant literals: size, pred bytes, shape.
  FindInstruction(&p, "one")->mutable_literal()->set_data(std::string("\x01\x00", 2));
  ExpectError(p, "instruction %one: literal: literal of s32[] has 2 bytes of data, needs 4");

  p = good;
  FindInstruction(&p, "one")->mutable_literal()->mutable_shape()->set_element_type(hloproto::PRED);
  FindInstruction(&p, "one")->mutable_literal()->set_data("\x02");
  ExpectError(p, "a pred literal holds a byte other than 0 or 1");

  p = good;
  FindInstruction(&p, "one")->mutable_literal()->mutable_shape()->set_element_type(hloproto::U32);
  ExpectError(p, "literal of shape u32[] in a constant of shape s32[]");

  p = good;
  *FindInstruction(&p, "i2")->mutable_literal() = FindInstruction(&p, "one")->literal();
  ExpectError(p, "has a literal but is not a constant");

  p = good;  // A while whose body is missing: found by the verifier.
  FindInstruction(&p, "w")->mutable_called_computation_ids()->RemoveLast();
  ExpectError(p, "needs condition and body");

  p = good;
  FindInstruction(&p, "lt")->set_comparison_direction(hloproto::ComparisonDirectionProto(9));
  ExpectError(p, "unknown comparison direction 9");

  p = good;
  FindInstruction(&p, "lt")->set_comparison_type(hloproto::ComparisonTypeProto(5));
  ExpectError(p, "unknown comparison type 5");

  p = good;  // Tuple index out of range.
  FindInstruction(&p, "wv")->set_tuple_index(2);
  ExpectError(p, "instruction %wv");
}

// Attribute values near the int64 limits: shape inference reports an overflow instead of wrapping
// (undefined behaviour, which the sanitizer build turns into an abort).
TEST(SerializationTest, HugeAttributesGiveErrorsNotOverflows) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::unique_ptr<Module> moves = ParseAndVerify(kDataMovement);
  std::unique_ptr<Module> reductions = ParseAndVerify(kReductions);
  std::unique_ptr<Module> contractions = ParseAndVerify(kContractions);
  ASSERT_TRUE(moves && reductions && contractions);

  hloproto::ModuleProto p = ToProto(*moves);
  FindInstruction(&p, "pad")->mutable_padding_config(0)->set_edge_padding_low(kMax);
  ExpectError(p, "instruction %pad: padding of dimension 0 overflows 64 bits");

  p = ToProto(*moves);
  FindInstruction(&p, "pad")->mutable_padding_config(1)->set_interior_padding(kMax);
  ExpectError(p, "instruction %pad: padding of dimension 1 overflows 64 bits");

  p = ToProto(*moves);  // [0:2:kMax] of a dimension of 2 has one element, as sl's shape says.
  FindInstruction(&p, "sl")->set_slice_starts(0, 0);
  FindInstruction(&p, "sl")->set_slice_limits(0, 2);
  FindInstruction(&p, "sl")->set_slice_strides(0, kMax);
  absl::StatusOr<std::unique_ptr<Module>> m = DeserializeModule(ProtoBytes(p));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT((*m)->ToString(), HasSubstr("slice={[0:2:9223372036854775807], [0:3:2]}"));

  p = ToProto(*reductions);
  hloproto::WindowDimensionProto* w =
      FindInstruction(&p, "rw")->mutable_window()->mutable_dimensions(0);
  w->set_padding_high(kMax);
  w->set_base_dilation(kMax);
  ExpectError(p, "instruction %rw: window output size overflows 64 bits");

  p = ToProto(*contractions);
  FindInstruction(&p, "dilated")->set_feature_group_count(int64_t{1} << 62);
  ExpectError(p, "feature_group_count (4611686018427387904)");
}

// Random edits of attribute fields to small, negative and extreme values: every result is an
// InvalidArgument or a module that verifies and prints (the sanitizer build checks for UB).
TEST(SerializationTest, RandomAttributeValuesNeverCrash) {
  std::mt19937_64 rng(7);
  constexpr int64_t kValues[] = {0,
                                 1,
                                 -1,
                                 2,
                                 3,
                                 7,
                                 -7,
                                 100,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min(),
                                 int64_t{1} << 40,
                                 -(int64_t{1} << 40),
                                 int64_t{1} << 62};
  auto pick = [&] { return kValues[rng() % std::size(kValues)]; };
  auto set_one = [&](auto* repeated) {  // Changes one element, or appends one to an empty list.
    if (repeated->empty()) {
      repeated->Add(pick());
    } else {
      repeated->Set(static_cast<int>(rng() % repeated->size()), pick());
    }
  };
  int rejected = 0;
  for (const char* text : AllModules()) {
    std::unique_ptr<Module> m = ParseAndVerify(text);
    ASSERT_NE(m, nullptr);
    const hloproto::ModuleProto good = ToProto(*m);
    for (int trial = 0; trial < 400; ++trial) {
      hloproto::ModuleProto p = good;
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
        hloproto::ComputationProto* c = p.mutable_computations(rng() % p.computations_size());
        hloproto::InstructionProto* ip = c->mutable_instructions(rng() % c->instructions_size());
        switch (rng() % 14) {
          case 0: set_one(ip->mutable_dimensions()); break;
          case 1: set_one(ip->mutable_shape()->mutable_dimensions()); break;
          case 2: {
            hloproto::WindowProto* win = ip->mutable_window();
            hloproto::WindowDimensionProto* d =
                win->dimensions_size() == 0
                    ? win->add_dimensions()
                    : win->mutable_dimensions(rng() % win->dimensions_size());
            switch (rng() % 6) {
              case 0: d->set_size(pick()); break;
              case 1: d->set_stride(pick()); break;
              case 2: d->set_padding_low(pick()); break;
              case 3: d->set_padding_high(pick()); break;
              case 4: d->set_window_dilation(pick()); break;
              default: d->set_base_dilation(pick()); break;
            }
            break;
          }
          case 3: ip->set_tuple_index(pick()); break;
          case 4:
            set_one(ip->mutable_slice_starts());
            set_one(ip->mutable_slice_limits());
            set_one(ip->mutable_slice_strides());
            break;
          case 5: set_one(ip->mutable_slice_sizes()); break;
          case 6: {
            hloproto::PaddingDimensionProto* d = ip->add_padding_config();
            if (ip->padding_config_size() > 1) {
              ip->mutable_padding_config()->RemoveLast();
              d = ip->mutable_padding_config(rng() % ip->padding_config_size());
            }
            d->set_edge_padding_low(pick());
            d->set_interior_padding(pick());
            break;
          }
          case 7: {
            hloproto::ConvolutionDimensionNumbersProto* cd =
                ip->mutable_convolution_dimension_numbers();
            cd->set_input_feature_dimension(pick());
            set_one(cd->mutable_input_spatial_dimensions());
            break;
          }
          case 8:
            ip->set_feature_group_count(pick());
            ip->set_batch_group_count(pick());
            break;
          case 9:
            set_one(ip->mutable_dot_dimension_numbers()->mutable_lhs_contracting_dimensions());
            break;
          case 10:
            ip->mutable_gather_dimension_numbers()->set_index_vector_dim(pick());
            set_one(ip->mutable_gather_dimension_numbers()->mutable_start_index_map());
            break;
          case 11:
            ip->mutable_scatter_dimension_numbers()->set_index_vector_dim(pick());
            set_one(ip->mutable_scatter_dimension_numbers()->mutable_update_window_dims());
            break;
          case 12:
            ip->set_exponent_bits(pick());
            ip->set_mantissa_bits(pick());
            ip->set_feature_index(pick());
            break;
          default:
            ip->mutable_quantization()->set_quantization_dimension(pick());
            set_one(ip->mutable_quantization()->mutable_zero_points());
            break;
        }
      }
      absl::StatusOr<std::unique_ptr<Module>> r = DeserializeModule(ProtoBytes(p));
      if (!r.ok()) {
        ++rejected;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
        continue;
      }
      EXPECT_TRUE(VerifyModule(**r).ok());
      EXPECT_FALSE((*r)->ToString().empty());
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(SerializationTest, SerializeRejectsModulesWithoutEntry) {
  Module m("empty");
  absl::StatusOr<std::string> bytes = SerializeModule(m);
  ASSERT_FALSE(bytes.ok());
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("no entry computation"));
}

}  // namespace
}  // namespace kiln::hlo
