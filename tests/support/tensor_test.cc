#include "kiln/tensor/tensor.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(TensorTest, BuffersAre64ByteAligned) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kS8, DType::kU8, DType::kS32,
                   DType::kS64, DType::kBool}) {
    absl::StatusOr<Tensor> t = Tensor::Create(dt, {3, 5});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw_data()) % 64, 0u) << DTypeName(dt);
    EXPECT_EQ(t->byte_size(), 15 * DTypeSize(dt));
  }
}

TEST(TensorTest, RejectsNegativeAndAbsurdDims) {
  EXPECT_EQ(Tensor::Create(DType::kF32, {2, -1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Tensor::Create(DType::kF32, {1 << 30, 1 << 30, 1 << 30}).status().code(),
            absl::StatusCode::kInvalidArgument);  // Product overflows int64.
  EXPECT_EQ(Tensor::Create(DType::kF32, {int64_t{1} << 33}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(TensorTest, ReshapeSharesBuffer) {
  Tensor t = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  absl::StatusOr<Tensor> r = t.Reshaped({3, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->raw_data(), t.raw_data());
  EXPECT_FALSE(t.Reshaped({4}).ok());
  EXPECT_EQ(t.TypeString(), "f32[2,3]");
}

// IEEE binary16 values: 1.0 = 0x3c00, 65504 = 0x7bff (max), 2^-24 = 0x0001 (smallest subnormal).
TEST(TensorTest, HalfConversions) {
  EXPECT_EQ(FloatToHalf(1.0f).bits, 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f).bits, 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f).bits, 0x7bff);
  EXPECT_EQ(FloatToHalf(1e6f).bits, 0x7c00);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)).bits, 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -26)).bits, 0x0000);
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)).bits, 0x3c00);  // Tie rounds to even.
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)).bits, 0x3c02);
  EXPECT_FLOAT_EQ(HalfToFloat(Half{0x3555}), 0.333251953125f);
  EXPECT_FLOAT_EQ(HalfToFloat(Half{0x0001}), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::numeric_limits<float>::quiet_NaN()))));
  for (int bits = 0; bits < 0x7c00; ++bits) {  // Every finite positive half survives a round trip.
    ASSERT_EQ(FloatToHalf(HalfToFloat(Half{static_cast<uint16_t>(bits)})).bits, bits);
  }
}

// bfloat16 is the top half of binary32: 1.0 = 0x3f80; 1 + 2^-8 ties to even (0x3f80).
TEST(TensorTest, BFloat16Conversions) {
  EXPECT_EQ(FloatToBFloat16(1.0f).bits, 0x3f80);
  EXPECT_EQ(FloatToBFloat16(1.0f + std::ldexp(1.0f, -8)).bits, 0x3f80);
  EXPECT_EQ(FloatToBFloat16(1.0f + 3 * std::ldexp(1.0f, -8)).bits, 0x3f82);
  EXPECT_FLOAT_EQ(BFloat16ToFloat(BFloat16{0xc040}), -3.0f);
}

}  // namespace
}  // namespace kiln
