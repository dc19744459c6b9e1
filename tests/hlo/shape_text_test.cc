// Shape and constant text: every element type, layouts (with tiles), bounded dynamic dimensions and
// tuples print as XLA prints them and parse back to the same value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kiln/hlo/parser.h"
#include "kiln/hlo/shape.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

using ::testing::HasSubstr;

constexpr const char* kArrayTypes[] = {"pred", "s8",  "u8",  "s16",  "u16", "s32", "u32",
                                       "s64",  "u64", "f16", "bf16", "f32", "f64"};

void ExpectShapeRoundTrip(const std::string& text) {
  absl::StatusOr<Shape> s = ParseShape(text);
  ASSERT_TRUE(s.ok()) << text << ": " << s.status();
  EXPECT_EQ(s->ToString(), text);
  absl::StatusOr<Shape> again = ParseShape(s->ToString());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *s) << text;
}

TEST(ShapeTextTest, EveryElementTypeRoundTrips) {
  for (const char* type : kArrayTypes) {
    absl::StatusOr<PrimitiveType> t = ParsePrimitiveType(type);
    ASSERT_TRUE(t.ok()) << type;
    EXPECT_EQ(PrimitiveTypeName(*t), type);
    EXPECT_TRUE(IsArrayType(*t));
    ExpectShapeRoundTrip(std::string(type) + "[]");
    ExpectShapeRoundTrip(std::string(type) + "[2,3]{1,0}");
    ExpectShapeRoundTrip(std::string(type) + "[0,7,1]{0,2,1}");
    ExpectShapeRoundTrip(std::string(type) + "[<=4,3]{1,0}");
    EXPECT_EQ(ParseShape(std::string(type) + "[5]")->element_type(), *t);
  }
  // Widths follow the names.
  EXPECT_EQ(ByteWidth(*ParsePrimitiveType("pred")), 1);
  EXPECT_EQ(ByteWidth(*ParsePrimitiveType("bf16")), 2);
  EXPECT_EQ(ByteWidth(*ParsePrimitiveType("u64")), 8);
  EXPECT_EQ(ByteWidth(*ParsePrimitiveType("f64")), 8);
  EXPECT_EQ(ParseShape("token[]")->ToString(), "token[]");
  EXPECT_TRUE(ParseShape("token[]")->IsToken());
}

TEST(ShapeTextTest, LayoutsAndDefaults) {
  absl::StatusOr<Shape> s = ParseShape("f32[2,3]");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ToString(), "f32[2,3]{1,0}");  // No layout means row-major.
  EXPECT_TRUE(s->has_default_layout());
  EXPECT_EQ(s->ToString(false), "f32[2,3]");
  s = ParseShape("f32[2,3]{0,1}");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->has_default_layout());
  EXPECT_EQ(s->layout().minor_to_major, (std::vector<int64_t>{0, 1}));
  EXPECT_NE(*s, *ParseShape("f32[2,3]{1,0}"));  // Layouts take part in equality...
  EXPECT_TRUE(ShapeUtil::Compatible(*s, *ParseShape("f32[2,3]{1,0}")));  // ...not in compatibility.
  ExpectShapeRoundTrip("f32[2,3,4,5]{3,0,2,1}");
  ExpectShapeRoundTrip("f32[7]{0}");
}

TEST(ShapeTextTest, TiledLayouts) {
  absl::StatusOr<Shape> s = ParseShape("f32[8,128]{1,0:T(8,128)}");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->layout().tiles.size(), 1u);
  EXPECT_EQ(s->layout().tiles[0].dimensions, (std::vector<int64_t>{8, 128}));
  EXPECT_FALSE(s->has_default_layout());
  ExpectShapeRoundTrip("f32[8,128]{1,0:T(8,128)}");
  ExpectShapeRoundTrip("f32[256,256]{0,1:T(8,128)}");
  // Several tiles, as XLA prints them: one "T", then each tile.
  ExpectShapeRoundTrip("bf16[16,256]{1,0:T(8,128)(2,1)}");
  s = ParseShape("bf16[16,256]{1,0:T(8,128)(2,1)}");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->layout().tiles.size(), 2u);
  EXPECT_EQ(s->layout().tiles[1].dimensions, (std::vector<int64_t>{2, 1}));
  // "T(a)T(b)" reads as the same two tiles.
  EXPECT_EQ(*ParseShape("bf16[16,256]{1,0:T(8,128)T(2,1)}"), *s);
  ExpectShapeRoundTrip("s8[4,32,128]{2,1,0:T(32,128)(4,1)}");
}

TEST(ShapeTextTest, BoundedDynamicDimensions) {
  absl::StatusOr<Shape> s = ParseShape("f32[<=10]");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->ToString(), "f32[<=10]{0}");
  EXPECT_EQ(s->dimensions(0), 10);  // The bound.
  EXPECT_TRUE(s->is_dynamic_dimension(0));
  EXPECT_FALSE(s->is_static());
  ExpectShapeRoundTrip("f32[<=10]{0}");
  ExpectShapeRoundTrip("s32[3,<=5,<=2]{2,1,0}");
  s = ParseShape("s32[3,<=5,<=2]");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->dynamic_dimensions(), (std::vector<bool>{false, true, true}));
  // Dynamic flags take part in equality but not in compatibility.
  EXPECT_NE(*ParseShape("f32[10]"), *ParseShape("f32[<=10]"));
  EXPECT_TRUE(ShapeUtil::Compatible(*ParseShape("f32[10]"), *ParseShape("f32[<=10]")));
}

TEST(ShapeTextTest, Tuples) {
  absl::StatusOr<Shape> s = ParseShape("(f32[2], s32[])");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->IsTuple());
  ASSERT_EQ(s->tuple_shapes_size(), 2);
  EXPECT_EQ(s->ToString(), "(f32[2]{0}, s32[])");
  EXPECT_EQ(s->ToString(false), "(f32[2], s32[])");
  ExpectShapeRoundTrip("(f32[2]{0}, s32[])");
  ExpectShapeRoundTrip("()");
  ExpectShapeRoundTrip(
      "((f32[], (s8[4]{0}, ())), f64[<=3]{0}, bf16[8,128]{1,0:T(8,128)}, token[])");
}

TEST(ShapeTextTest, MalformedShapesAreErrors) {
  for (const char* bad :
       {"f33[2]", "f32", "f32[2", "f32[2,]", "f32[2]{1}", "f32[2,3]{0}", "f32[2]{0", "(f32[2]",
        "(f32[2],)", "f32[2] x", "f32[a]", "", "f32[2]{0:T(8,128}", "tuple[]"}) {
    absl::StatusOr<Shape> s = ParseShape(bad);
    EXPECT_FALSE(s.ok()) << "'" << bad << "' parsed as " << s->ToString();
  }
  absl::StatusOr<Shape> s = ParseShape("f32[2,3]{0}");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("f32[2,3]{0}"));
  // Layouts must be permutations of the dimensions.
  for (const char* bad : {"f32[2,3]{0,0}", "f32[2]{1}", "f32[2,3]{2,0}", "f32[2,3]{-1,0}"}) {
    s = ParseShape(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("not a permutation")) << bad;
  }
}

// Parameters of every element type and layout kind survive a module text round trip.
TEST(ShapeTextTest, ModuleTextKeepsShapes) {
  std::string text = "HloModule shapes\n\nENTRY %main {\n";
  std::string tuple_shape = "(";
  std::string tuple_operands;
  int n = 0;
  auto param = [&](const std::string& shape) {
    std::string name = "p" + std::to_string(n);
    text += "  %" + name + " = " + shape + " parameter(" + std::to_string(n) + ")\n";
    tuple_shape += (n > 0 ? ", " : "") + shape;
    tuple_operands += (n > 0 ? ", %" : "%") + name;
    ++n;
  };
  for (const char* type : kArrayTypes) param(std::string(type) + "[2,<=3]{0,1}");
  param("f32[8,128]{1,0:T(8,128)}");
  param("bf16[16,256]{1,0:T(8,128)(2,1)}");
  param("((f32[2]{0}, s32[]), pred[])");
  text += "  ROOT %t = " + tuple_shape + ") tuple(" + tuple_operands + ")\n}\n";
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
  ASSERT_TRUE(m.ok()) << m.status() << "\n" << text;
  ASSERT_TRUE(VerifyModule(**m).ok()) << VerifyModule(**m);
  ProgramShape ps = (*m)->entry_program_shape();
  ASSERT_EQ(ps.parameters.size(), 16u);
  for (int i = 0; i < 13; ++i) {
    EXPECT_EQ(ps.parameters[i].ToString(), std::string(kArrayTypes[i]) + "[2,<=3]{0,1}");
  }
  std::string printed = (*m)->ToString();
  absl::StatusOr<std::unique_ptr<Module>> again = ParseModule(printed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->ToString(), printed);
  EXPECT_THAT(printed, HasSubstr("bf16[16,256]{1,0:T(8,128)(2,1)}"));
}

// Constants of every element type print and parse back bit-exactly (typical and extreme values).
TEST(ShapeTextTest, ConstantsOfEveryElementTypeRoundTripThroughText) {
  const char* text = R"(HloModule constants

ENTRY %main {
  %pred = pred[3]{0} constant({true, false, true})
  %s8 = s8[3]{0} constant({-128, 127, 0})
  %u8 = u8[2]{0} constant({0, 255})
  %s16 = s16[2]{0} constant({-32768, 32767})
  %u16 = u16[2]{0} constant({0, 65535})
  %s32 = s32[2]{0} constant({-2147483648, 2147483647})
  %u32 = u32[2]{0} constant({0, 4294967295})
  %s64 = s64[2]{0} constant({-9223372036854775808, 9223372036854775807})
  %u64 = u64[2]{0} constant({0, 9223372036854775807})
  %f16 = f16[4]{0} constant({1.5, -0, 65504, 6e-08})
  %bf16 = bf16[3]{0} constant({3, -inf, 1e+38})
  %f32 = f32[2,2]{1,0} constant({{0.1, -0}, {1e-45, inf}})
  %f64 = f64[2]{0} constant({0.1, 1.0000000000000002})
  ROOT %t = (pred[3]{0}, s8[3]{0}, u8[2]{0}, s16[2]{0}, u16[2]{0}, s32[2]{0}, u32[2]{0}, s64[2]{0}, u64[2]{0}, f16[4]{0}, bf16[3]{0}, f32[2,2]{1,0}, f64[2]{0}) tuple(%pred, %s8, %u8, %s16, %u16, %s32, %u32, %s64, %u64, %f16, %bf16, %f32, %f64)
}
)";
  absl::StatusOr<std::unique_ptr<Module>> m = ParseModule(text);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(VerifyModule(**m).ok()) << VerifyModule(**m);
  const Computation* entry = (*m)->entry_computation();
  auto lit = [&](int i) -> const Literal& {
    return entry->root_instruction()->operand(i)->literal();
  };
  EXPECT_EQ(lit(7).data<int64_t>()[0], std::numeric_limits<int64_t>::min());
  EXPECT_EQ(lit(7).data<int64_t>()[1], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(lit(6).data<uint32_t>()[1], 4294967295u);
  EXPECT_EQ(lit(9).data<F16>()[2].bits, 0x7bff);    // 65504, the largest f16.
  EXPECT_EQ(lit(9).data<F16>()[3].bits, 0x0001);    // The smallest f16 subnormal.
  EXPECT_EQ(lit(9).data<F16>()[1].bits, 0x8000);    // -0.
  EXPECT_EQ(lit(10).data<BF16>()[1].bits, 0xff80);  // -inf.
  EXPECT_EQ(lit(11).data<float>()[1], 0.0f);
  EXPECT_TRUE(std::signbit(lit(11).data<float>()[1]));
  EXPECT_EQ(lit(11).data<float>()[2], std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(lit(12).data<double>()[1], 1.0000000000000002);
  std::string printed = (*m)->ToString();
  absl::StatusOr<std::unique_ptr<Module>> again = ParseModule(printed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->ToString(), printed);
  for (int i = 0; i < 13; ++i) {
    EXPECT_TRUE((*again)->entry_computation()->root_instruction()->operand(i)->literal() == lit(i))
        << kArrayTypes[i];
  }
}

}  // namespace
}  // namespace kiln::hlo
