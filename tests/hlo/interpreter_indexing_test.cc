// Interpreter tests for gather, scatter, select-and-scatter, rng-bit-generator, batch norm
// training / grad and custom-call, with expected values derived by hand (comments show how) or
// taken from the published known-answer vectors of the Random123 generators. The XLA-generated
// corpus (oracle_test.cc) covers what JAX emits; these cover what it does not (batch norm,
// custom-call) and edge cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/parser.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Literal> RunHlo(const std::string& text, std::vector<Literal> args) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Module> m, ParseModule(text));
  KILN_RETURN_IF_ERROR(VerifyModule(*m));
  return hlo::Evaluate(*m, args);
}

template <typename T>
std::vector<T> Values(const Literal& l) {
  auto d = l.data<T>();
  return std::vector<T>(d.begin(), d.end());
}

TEST(InterpreterIndexingTest, BatchNormTraining) {
  // Feature 0 (column 0): x = 0, 0, 3 -> mean 1, variance (1 + 1 + 4) / 3 = 2;
  // with epsilon 2: y = (x - 1) / sqrt(4) * 2 + 0.5 = -0.5, -0.5, 2.5.
  // Feature 1: x = 1, 2, 3 -> mean 2, variance 2/3; scale 0, offset 7 -> y = 7.
  absl::StatusOr<Literal> r = RunHlo(R"(HloModule bn
ENTRY main {
  x = f32[3,2] parameter(0)
  scale = f32[2] constant({2, 0})
  offset = f32[2] constant({0.5, 7})
  ROOT bn = (f32[3,2], f32[2], f32[2]) batch-norm-training(x, scale, offset), epsilon=2, feature_index=1
})",
                                     {Literal::CreateR2<float>({{0, 1}, {0, 2}, {3, 3}})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<float>(r->tuple_elements()[0]), ElementsAre(-0.5f, 7, -0.5f, 7, 2.5f, 7));
  EXPECT_THAT(Values<float>(r->tuple_elements()[1]), ElementsAre(1, 2));
  EXPECT_FLOAT_EQ(r->tuple_elements()[2].data<float>()[0], 2.0f);
  EXPECT_FLOAT_EQ(r->tuple_elements()[2].data<float>()[1], 2.0f / 3);
}

TEST(InterpreterIndexingTest, BatchNormGrad) {
  // x = 0, 0, 3, mean 1, variance 2, epsilon 2 -> r = 1/sqrt(4) = 0.5, m = 3, scale 2,
  // dy = 1, 2, 3, x - mean = -1, -1, 2.
  // grad_offset = sum(dy) = 6; sum(dy * (x - mean)) = -1 - 2 + 6 = 3; grad_scale = 3 * 0.5 = 1.5;
  // grad_x = 2 * 0.5 * (dy - 6/3 - (x - mean) * 0.5 * 1.5 / 3) = dy - 2 - 0.25 (x - mean)
  //        = -0.75, 0.25, 0.5.
  absl::StatusOr<Literal> r = RunHlo(
      R"(HloModule bng
ENTRY main {
  x = f32[3,1] parameter(0)
  scale = f32[1] constant({2})
  mean = f32[1] constant({1})
  var = f32[1] constant({2})
  dy = f32[3,1] parameter(1)
  ROOT g = (f32[3,1], f32[1], f32[1]) batch-norm-grad(x, scale, mean, var, dy), epsilon=2, feature_index=1
})",
      {Literal::CreateR2<float>({{0}, {0}, {3}}), Literal::CreateR2<float>({{1}, {2}, {3}})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<float>(r->tuple_elements()[0]), ElementsAre(-0.75f, 0.25f, 0.5f));
  EXPECT_THAT(Values<float>(r->tuple_elements()[1]), ElementsAre(1.5f));
  EXPECT_THAT(Values<float>(r->tuple_elements()[2]), ElementsAre(6.0f));
}

TEST(InterpreterIndexingTest, PhiloxKnownAnswers) {
  // Random123's Philox4x32-10 known answers. A u64[2] state is (key, counter low) with the
  // counter's high half taken from the key word (XLA); a u64[3] state is (key, low, high).
  // counter 0, key 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8; all ones -> 408f276d 41c83b0e
  // a20bc7c6 6d5451fd; the pi vector (counter 243f6a88 85a308d3 13198a2e 03707344, key a4093822
  // 299f31d0) -> d16cfe09 94fdcceb 5001e420 24126ea1.
  const char* kText = R"(HloModule philox
ENTRY main {
  s = u64[%d] parameter(0)
  ROOT r = (u64[%d], u32[4]) rng-bit-generator(s), algorithm=rng_philox
})";
  auto run = [&](std::vector<uint64_t> state) {
    char buf[256];
    int n = static_cast<int>(state.size());
    std::snprintf(buf, sizeof(buf), kText, n, n);
    absl::StatusOr<Literal> r = RunHlo(buf, {Literal::CreateR1<uint64_t>(state)});
    KILN_CHECK(r.ok(), std::string(r.status().message()));
    return *std::move(r);
  };
  Literal zero = run({0, 0});
  EXPECT_THAT(Values<uint32_t>(zero.tuple_elements()[1]),
              ElementsAre(0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u));
  // One block used: the counter advances by one.
  EXPECT_THAT(Values<uint64_t>(zero.tuple_elements()[0]), ElementsAre(0u, 1u));
  Literal ones = run({~0ull, ~0ull});
  EXPECT_THAT(Values<uint32_t>(ones.tuple_elements()[1]),
              ElementsAre(0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu));
  Literal pi = run({0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull});
  EXPECT_THAT(Values<uint32_t>(pi.tuple_elements()[1]),
              ElementsAre(0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u));
  EXPECT_THAT(Values<uint64_t>(pi.tuple_elements()[0]),
              ElementsAre(0x299f31d0a4093822ull, 0x85a308d3243f6a89ull, 0x0370734413198a2eull));
}

TEST(InterpreterIndexingTest, ThreeFryKnownAnswers) {
  // Random123's Threefry2x32-20: counter (0, 0), key (0, 0) -> 6b200159 99ba4efe; the pi vector
  // (counter 243f6a88 85a308d3, key 13198a2e 03707344) -> c4923a9c 483df7a0. A u64 output
  // element is word0 | word1 << 32 of counter state[1] + index with key state[0].
  const char* kText = R"(HloModule threefry
ENTRY main {
  s = u64[2] parameter(0)
  ROOT r = (u64[2], u64[1]) rng-bit-generator(s), algorithm=rng_three_fry
})";
  absl::StatusOr<Literal> zero = RunHlo(kText, {Literal::CreateR1<uint64_t>({0, 0})});
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_THAT(Values<uint64_t>(zero->tuple_elements()[1]), ElementsAre(0x99ba4efe6b200159ull));
  absl::StatusOr<Literal> pi =
      RunHlo(kText, {Literal::CreateR1<uint64_t>({0x0370734413198a2eull, 0x85a308d3243f6a88ull})});
  ASSERT_TRUE(pi.ok()) << pi.status();
  EXPECT_THAT(Values<uint64_t>(pi->tuple_elements()[1]), ElementsAre(0x483df7a0c4923a9cull));
  EXPECT_THAT(Values<uint64_t>(pi->tuple_elements()[0]),
              ElementsAre(0x0370734413198a2eull, 0x85a308d3243f6a89ull));
}

TEST(InterpreterIndexingTest, GatherAndScatterWithZeroIndices) {
  // No indices: gather gives an empty result, scatter leaves the operand unchanged.
  absl::StatusOr<Literal> r = RunHlo(R"(HloModule empty
add {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT s = f32[] add(a, b)
}
ENTRY main {
  x = f32[3,2] parameter(0)
  i = s32[0,1] parameter(1)
  u = f32[0,2] parameter(2)
  g = f32[0,2] gather(x, i), offset_dims={1}, collapsed_slice_dims={0}, start_index_map={0}, index_vector_dim=1, slice_sizes={1,2}
  s = f32[3,2] scatter(x, i, u), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, to_apply=add
  ROOT t = (f32[0,2], f32[3,2]) tuple(g, s)
})",
                                     {Literal::CreateR2<float>({{1, 2}, {3, 4}, {5, 6}}),
                                      Literal(ShapeUtil::MakeShape(PrimitiveType::S32, {0, 1})),
                                      Literal(ShapeUtil::MakeShape(PrimitiveType::F32, {0, 2}))});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tuple_elements()[0].element_count(), 0);
  EXPECT_THAT(Values<float>(r->tuple_elements()[1]), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(InterpreterIndexingTest, ScatterSkipsWindowsThatDoNotFit) {
  // Rows 2 and 1 of a 3x2 operand get +10 and +20 from the windows starting at (2, 0) and
  // (1, 0); the window starting at row 3 would leave the operand and is skipped whole, and so is
  // the one at row -1.
  absl::StatusOr<Literal> r =
      RunHlo(R"(HloModule s
add {
  a = s32[] parameter(0)
  b = s32[] parameter(1)
  ROOT s = s32[] add(a, b)
}
ENTRY main {
  x = s32[3,2] parameter(0)
  i = s32[4] parameter(1)
  u = s32[4,2] parameter(2)
  ROOT s = s32[3,2] scatter(x, i, u), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, to_apply=add
})",
             {Literal::CreateR2<int32_t>({{1, 2}, {3, 4}, {5, 6}}),
              Literal::CreateR1<int32_t>({2, 3, 1, -1}),
              Literal::CreateR2<int32_t>({{10, 10}, {99, 99}, {20, 20}, {7, 7}})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<int32_t>(*r), ElementsAre(1, 2, 23, 24, 15, 16));
}

TEST(InterpreterIndexingTest, ScatterWithMismatchedIndexVectorIsAnError) {
  // Index vectors of 2 components for a map to one operand dimension: an error, not a crash.
  absl::StatusOr<Literal> r = RunHlo(R"(HloModule s
add {
  a = s32[] parameter(0)
  b = s32[] parameter(1)
  ROOT s = s32[] add(a, b)
}
ENTRY main {
  x = s32[3,2] parameter(0)
  i = s32[1,2] parameter(1)
  u = s32[1,2] parameter(2)
  ROOT s = s32[3,2] scatter(x, i, u), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, to_apply=add
})",
                                     {Literal::CreateR2<int32_t>({{1, 2}, {3, 4}, {5, 6}}),
                                      Literal::CreateR2<int32_t>({{0, 1}}),
                                      Literal::CreateR2<int32_t>({{1, 1}})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("scatter %s"));
}

TEST(InterpreterIndexingTest, SelectAndScatterFirstMaximumWins) {
  // Windows of 2 with stride 1 over 1, 3, 3, 0: the windows pick index 1 (3 > 1), index 1 (ties
  // keep the earlier one, as ge(current, candidate) holds) and index 2; sources 1, 2, 4 add up.
  absl::StatusOr<Literal> r =
      RunHlo(R"(HloModule sas
ge {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT c = pred[] compare(a, b), direction=GE
}
add {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT s = f32[] add(a, b)
}
ENTRY main {
  x = f32[4] parameter(0)
  src = f32[3] parameter(1)
  zero = f32[] constant(0)
  ROOT r = f32[4] select-and-scatter(x, src, zero), window={size=2}, select=ge, scatter=add
})",
             {Literal::CreateR1<float>({1, 3, 3, 0}), Literal::CreateR1<float>({1, 2, 4})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<float>(*r), ElementsAre(0, 3, 4, 0));
}

TEST(InterpreterIndexingTest, CustomCallShardingIsIdentityOthersAreUnimplemented) {
  absl::StatusOr<Literal> r = RunHlo(R"(HloModule cc
ENTRY main {
  x = f32[2] parameter(0)
  ROOT s = f32[2] custom-call(x), custom_call_target="Sharding", sharding={replicated}
})",
                                     {Literal::CreateR1<float>({1.5f, -2})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<float>(*r), ElementsAre(1.5f, -2));
  absl::StatusOr<Literal> u = RunHlo(R"(HloModule cc
ENTRY main {
  x = f32[2] parameter(0)
  ROOT s = f32[2] custom-call(x), custom_call_target="my_kernel"
})",
                                     {Literal::CreateR1<float>({1.5f, -2})});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(u.status().message(), HasSubstr("my_kernel"));
}

TEST(InterpreterIndexingTest, PerAxisQuantizeAndDequantize) {
  // Axis 1 has scales 0.5, 2 and zero points 10, -3:
  //   column 0: 1.25 / 0.5 = 2.5 -> 2 (half to even) + 10 = 12; -100 / 0.5 + 10 = -190 -> -128;
  //   column 1: 3 / 2 = 1.5 -> 2 + -3 = -1; 1000 / 2 - 3 = 497 -> 127.
  // Dequantize: 0.5 * (12 - 10) = 1, 0.5 * (-128 - 10) = -69, 2 * (-1 + 3) = 4, 2 * (127 + 3) =
  // 260.
  absl::StatusOr<Literal> r = RunHlo(R"(HloModule q
ENTRY main {
  x = f32[2,2] parameter(0)
  q = s8[2,2] uniform-quantize(x), scale={0.5,2}, zero_point={10,-3}, quantization_dimension=1
  d = f32[2,2] uniform-dequantize(q), scale={0.5,2}, zero_point={10,-3}, quantization_dimension=1
  ROOT t = (s8[2,2], f32[2,2]) tuple(q, d)
})",
                                     {Literal::CreateR2<float>({{1.25f, 3}, {-100, 1000}})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<int8_t>(r->tuple_elements()[0]), ElementsAre(12, -1, -128, 127));
  EXPECT_THAT(Values<float>(r->tuple_elements()[1]), ElementsAre(1, 4, -69, 260));
}

TEST(InterpreterIndexingTest, TotalOrderCompare) {
  // TOTALORDER: -nan < -inf < -1 < -0 < +0 < 1 < inf < nan; IEEE: -0 == +0 and nan is unordered.
  absl::StatusOr<Literal> r = RunHlo(R"(HloModule cmp
ENTRY main {
  a = f32[4] parameter(0)
  b = f32[4] parameter(1)
  t = pred[4] compare(a, b), direction=LT, type=TOTALORDER
  i = pred[4] compare(a, b), direction=LT
  ROOT r = (pred[4], pred[4]) tuple(t, i)
})",
                                     {Literal::CreateR1<float>({-0.0f, 1, -NAN, -INFINITY}),
                                      Literal::CreateR1<float>({0.0f, NAN, -INFINITY, -1})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Values<bool>(r->tuple_elements()[0]), ElementsAre(true, true, true, true));
  EXPECT_THAT(Values<bool>(r->tuple_elements()[1]), ElementsAre(false, false, false, true));
}

}  // namespace
}  // namespace kiln::hlo
