// Parser tests: printing a parsed module gives the same text; XLA's short form parses.
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/hlo/builder.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/parser.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Shape F32(std::vector<int64_t> dims) { return ShapeUtil::MakeShape(PrimitiveType::F32, dims); }

void ExpectRoundTrip(const Module& m) {
  std::string text = m.ToString();
  absl::StatusOr<std::unique_ptr<Module>> parsed = ParseModule(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  ASSERT_TRUE(VerifyModule(**parsed).ok()) << VerifyModule(**parsed);
  EXPECT_EQ((*parsed)->ToString(), text);
}

TEST(ParserTest, RoundTripsBuilderModules) {
  Builder b("net");
  Op x = b.Parameter(0, F32({1, 4, 8, 8}), "x");
  Op w = b.Parameter(1, F32({4, 1, 3, 3}), "w");
  Op conv = b.ConvGeneralDilated(x, w, {2, 2}, {{1, 1}, {0, 1}}, {}, {1, 2},
                                 ConvolutionDimensionNumbers::Nchw(2), 4);
  Op relu6 = b.Clamp(b.ConstantR0<float>(0.0f), conv, b.ConstantR0<float>(6.0f));
  Op pool = b.ReduceWindow(relu6, b.ConstantR0<float>(0.0f),
                           b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32), {1, 1, 2, 2},
                           {1, 1, 1, 1}, {{0, 0}, {0, 0}, {0, 1}, {0, 1}});
  Op flat = b.Reshape(pool, {1, 4 * 4 * 3});
  Op fc = b.Dot(flat, b.ConstantLiteral(Literal::CreateFromVector<float>(
                          {48, 2}, std::vector<float>(96, 0.25f))));
  Op padded = b.Pad(fc, b.ConstantR0<float>(-1.5f), {{0, 0, 0}, {-1, 2, 1}});
  Op sliced = b.Slice(padded, {0, 0}, {1, 4}, {1, 3});
  Op cmp = b.Lt(sliced, b.ConstantR0<float>(0.5f));
  Op sel = b.Select(cmp, sliced, b.Neg(sliced));
  Op t = b.Tuple({sel, b.Transpose(x, {0, 2, 3, 1}), b.ConvertElementType(cmp, PrimitiveType::S32)});
  auto m = b.Build(t);
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectRoundTrip(**m);
}

TEST(ParserTest, ParsesXlaShortFormAndEvaluates) {
  // As JAX's `as_hlo_text()` prints modules (short names, no operand shapes, metadata).
  const char* text = R"(HloModule jit_f, entry_computation_layout={(f32[3]{0}, f32[3]{0})->f32[]}

region_0.4 {
  Arg_0.5 = f32[] parameter(0)
  Arg_1.6 = f32[] parameter(1)
  ROOT add.7 = f32[] add(Arg_0.5, Arg_1.6)
}

ENTRY main.9 {
  Arg_0.1 = f32[3]{0} parameter(0), metadata={op_name="x"}
  Arg_1.2 = f32[3]{0} parameter(1)
  multiply.3 = f32[3]{0} multiply(Arg_0.1, Arg_1.2)
  constant.4 = f32[] constant(0)
  ROOT reduce.8 = f32[] reduce(multiply.3, constant.4), dimensions={0}, to_apply=region_0.4
}
)";
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(VerifyModule(**m).ok()) << VerifyModule(**m);
  auto r = hlo::Evaluate(**m, {Literal::CreateR1<float>({1, 2, 3}), Literal::CreateR1<float>({4, 5, 6})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ToString(), "f32[] 32");  // 4 + 10 + 18.
}

TEST(ParserTest, ParsesAttributesOfTheTable) {
  const char* text = R"(HloModule attrs

%cmp (a: f32[], b: f32[]) -> pred[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %lt = pred[] compare(f32[] %a, f32[] %b), direction=LT
}

ENTRY %main (p: f32[2,3], i: s32[]) -> (f32[3,2], f32[2,3], f32[1,3], s32[2,3], f32[2,3]) {
  %p = f32[2,3]{1,0} parameter(0)
  %i = s32[] parameter(1)
  %t = f32[3,2]{1,0} transpose(f32[2,3]{1,0} %p), dimensions={1,0}
  %s = f32[2,3]{1,0} sort(f32[2,3]{1,0} %p), dimensions={1}, is_stable=true, to_apply=%cmp
  %zero = s32[] constant(0)
  %ds = f32[1,3]{1,0} dynamic-slice(f32[2,3]{1,0} %p, s32[] %i, s32[] %zero), dynamic_slice_sizes={1,3}
  %io = s32[2,3]{1,0} iota(), iota_dimension=1
  %rv = f32[2,3]{1,0} reverse(f32[2,3]{1,0} %p), dimensions={0,1}
  ROOT %tuple = (f32[3,2]{1,0}, f32[2,3]{1,0}, f32[1,3]{1,0}, s32[2,3]{1,0}, f32[2,3]{1,0}) tuple(%t, %s, %ds, %io, %rv)
}
)";
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(VerifyModule(**m).ok()) << VerifyModule(**m);
  auto r = hlo::Evaluate(**m, {Literal::CreateR2<float>({{3, 1, 2}, {6, 5, 4}}), Literal::CreateR0<int32_t>(1)});
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& e = r->tuple_elements();
  EXPECT_EQ(e[0].ToString(), "f32[3,2] {{3, 6}, {1, 5}, {2, 4}}");
  EXPECT_EQ(e[1].ToString(), "f32[2,3] {{1, 2, 3}, {4, 5, 6}}");
  EXPECT_EQ(e[2].ToString(), "f32[1,3] {{6, 5, 4}}");
  EXPECT_EQ(e[3].ToString(), "s32[2,3] {{0, 1, 2}, {0, 1, 2}}");
  EXPECT_EQ(e[4].ToString(), "f32[2,3] {{4, 5, 6}, {2, 1, 3}}");
  ExpectRoundTrip(**m);
}

TEST(ParserTest, ErrorsNameTheLine) {
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(
      "HloModule bad\n\nENTRY %main {\n  %p = f32[2]{0} parameter(0)\n  ROOT %q = f32[2]{0} frobnicate(f32[2]{0} %p)\n}\n");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("line 5"));
  EXPECT_THAT(m.status().message(), HasSubstr("frobnicate"));
  m = ParseModule("HloModule bad\nENTRY %main {\n  ROOT %q = f32[2]{0} add(%x, %x)\n}\n");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("unknown operand"));
}

TEST(ParserTest, IntegerConstantsMustFitTheirType) {
  auto parse = [](const std::string& constant) {
    return ParseModule("HloModule c\nENTRY %main {\n  ROOT %c = " + constant + "\n}\n");
  };
  EXPECT_TRUE(parse("s8[2]{0} constant({-128, 127})").ok());
  EXPECT_TRUE(parse("u64[1]{0} constant({18446744073709551615})").ok());
  EXPECT_TRUE(parse("s64[1]{0} constant({-9223372036854775808})").ok());
  for (const char* bad : {"s8[1]{0} constant({300})", "s8[1]{0} constant({-129})", "u8[1]{0} constant({-1})",
                          "u64[1]{0} constant({18446744073709551616})", "s64[1]{0} constant({9223372036854775808})",
                          "s32[1]{0} constant({12x})"}) {
    absl::StatusOr<std::unique_ptr<Module>> m = parse(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_THAT(m.status().message(), HasSubstr("line 3")) << bad;
  }
  absl::StatusOr<std::unique_ptr<Module>> m = parse("u64[1]{0} constant({18446744073709551615})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->entry_computation()->root_instruction()->literal().data<uint64_t>()[0],
            18446744073709551615ull);
}

// Inputs the hlo_text fuzzer found (tests/fuzz/corpus/hlo_text/regression-*), reduced: each is a
// named error now, not an abort, an exception or a module whose printed text does not parse.
TEST(ParserTest, MalformedModulesAreNamedErrors) {
  auto entry = [](const std::string& body) { return "HloModule m\nENTRY %main {\n" + body + "}\n"; };
  const std::pair<std::string, std::string> cases[] = {
      {entry("  %p = f32[2]{0} parameter(0)\n  %q = f32[2]{0} parameter(0)\n  ROOT %a = f32[2]{0} add(%p, %q)\n"),
       "parameter number 0 is used twice"},
      {entry("  ROOT %p = f32[2]{0} parameter(9223372036854775807)\n"), "is outside [0, 1048576)"},
      {entry("  ROOT %p = f32[99999999999999999999]{0} parameter(0)\n"), "integer out of range"},
      {entry("  %p = f32[2]{0} parameter(0)\n  ROOT %p = f32[2]{0} negate(%p)\n"), "instruction name 'p' is used twice"},
      {entry("  ROOT %a[b = f32[2]{0} parameter(0)\n"), "bad instruction name 'a[b'"},
      {"HloModule m\n%x[1] {\n  ROOT %p = f32[] parameter(0)\n}\n", "bad computation name 'x[1]'"},
      {entry("  ROOT %c = s32[6666666666666666667]{0} constant({1})\n"), "array size overflows 64 bits"},
      {entry("  ROOT %c = s32[1000]{0} constant({1})\n"), "has 1000 elements but 3 characters of values"},
      {entry("  %x = f32[1,2,3,4]{3,2,1,0} parameter(0)\n  %w = f32[1,1,1,1]{3,2,1,0} parameter(1)\n"
             "  ROOT %c = f32[1,2,3,4]{3,2,1,0} convolution(%x, %w), dim_labels=f_01io->bf01\n"),
       "bad dim_labels"},
      {entry("  %x = f32[1,2,3,4]{3,2,1,0} parameter(0)\n  %w = f32[1,1,1,1]{3,2,1,0} parameter(1)\n"
             "  ROOT %c = f32[1,2,3,4]{3,2,1,0} convolution(%x, %w), dim_labels=bf01_0?io->bf01\n"),
       "each label once per part"},
      {entry("  ROOT %c = f32[] custom-call(), custom_call_target=x\n"), "custom_call_target must be written"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_THAT(m.status().message(), HasSubstr(message)) << text;
  }
  // A scalar pad prints an empty padding list, which parses back.
  absl::StatusOr<std::unique_ptr<Module>> pad = ParseModule(
      entry("  %x = f32[] parameter(0)\n  ROOT %p = f32[] pad(%x, %x), padding=\n"));
  ASSERT_TRUE(pad.ok()) << pad.status();
  EXPECT_TRUE(ParseModule((*pad)->ToString()).ok());
}

// XLA prints a NaN with the sign bit set as "-nan"; the sign survives parse and print, for each float type.
TEST(ParserTest, NegativeNanKeepsItsSign) {
  for (const char* type : {"f32", "f64", "f16", "bf16"}) {
    const std::string text = std::string("HloModule m\nENTRY %main {\n  ROOT %c = ") + type +
                             "[3]{0} constant({-nan, nan, -inf})\n}\n";
    absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
    ASSERT_TRUE(m.ok()) << m.status();
    const Literal& lit = (*m)->entry_computation()->root_instruction()->literal();
    EXPECT_TRUE(std::isnan(lit.GetAsDouble(0)) && std::signbit(lit.GetAsDouble(0))) << type;
    EXPECT_TRUE(std::isnan(lit.GetAsDouble(1)) && !std::signbit(lit.GetAsDouble(1))) << type;
    EXPECT_NE((*m)->ToString().find("constant({-nan, nan, -inf})"), std::string::npos) << (*m)->ToString();
  }
}

// The verifier refuses calls from an opcode that calls nothing (the parser keeps what the text says).
TEST(ParserTest, VerifierRefusesCallsFromOpcodesThatCallNothing) {
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(
      "HloModule m\n%f (a: f32[]) -> f32[] {\n  ROOT %a = f32[] parameter(0)\n}\n"
      "ENTRY %main {\n  ROOT %p = f32[] parameter(0), to_apply=%f\n}\n");
  ASSERT_TRUE(m.ok()) << m.status();
  absl::Status v = VerifyModule(**m);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.message(), HasSubstr("parameter does not call computations, but calls 1"));
}


// A fusion prints and parses back as `kind=..., calls=...`; the verifier checks that a kOutput
// fusion computes exactly one contraction, and the parser names an unknown kind.
TEST(ParserTest, FusionRoundTripsAndIsVerified) {
  constexpr const char* kText = R"(HloModule m

fused {
  a = f32[4] parameter(0)
  b = f32[4] parameter(1)
  ROOT s = f32[4] add(a, b)
}

ENTRY main {
  x = f32[4] parameter(0)
  y = f32[4] parameter(1)
  ROOT f = f32[4] fusion(x, y), kind=KIND, calls=fused
}
)";
  auto with_kind = [&](std::string_view kind) {
    std::string text = kText;
    text.replace(text.find("KIND"), 4, kind);
    return ParseModule(text);
  };
  absl::StatusOr<std::unique_ptr<Module>> m = with_kind("kLoop");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(VerifyModule(**m).ok()) << VerifyModule(**m);
  const Instruction* f = (*m)->entry_computation()->root_instruction();
  EXPECT_EQ(f->fusion_kind(), FusionKind::kLoop);
  EXPECT_EQ(f->fused_computation()->name(), "fused");
  std::string printed = (*m)->ToString();
  EXPECT_NE(printed.find("%y), kind=kLoop, calls=%fused"), std::string::npos) << printed;
  absl::StatusOr<std::unique_ptr<Module>> again = ParseModule(printed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->ToString(), printed);

  absl::StatusOr<std::unique_ptr<Module>> output = with_kind("kOutput");
  ASSERT_TRUE(output.ok()) << output.status();
  absl::Status v = VerifyModule(**output);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.message(), HasSubstr("kOutput fusion computes 0 convolutions or dots"));

  absl::StatusOr<std::unique_ptr<Module>> bad = with_kind("kInput");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown fusion kind 'kInput'"));
}

}  // namespace
}  // namespace kiln::hlo
