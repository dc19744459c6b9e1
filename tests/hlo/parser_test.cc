// Parser tests: printing a parsed module gives the same text; XLA's short form parses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/backends/interpreter.h"
#include "kiln/hlo/builder.h"
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
  auto r = backends::Evaluate(**m, {Literal::CreateR1<float>({1, 2, 3}), Literal::CreateR1<float>({4, 5, 6})});
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
  auto r = backends::Evaluate(**m, {Literal::CreateR2<float>({{3, 1, 2}, {6, 5, 4}}), Literal::CreateR0<int32_t>(1)});
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

}  // namespace
}  // namespace kiln::hlo
