// docs/operation_semantics.md must have one row per opcode of the table.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "kiln/hlo/opcode.h"

namespace kiln::hlo {
namespace {

TEST(DocsTest, EveryOpcodeHasARowInOperationSemantics) {
  std::ifstream in(std::string(KILN_SOURCE_DIR) + "/docs/operation_semantics.md");
  ASSERT_TRUE(in.good()) << "docs/operation_semantics.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  for (int i = 0; i < kOpcodeCount; ++i) {
    std::string row = "| `" + std::string(OpcodeString(static_cast<Opcode>(i))) + "` |";
    EXPECT_NE(doc.find(row), std::string::npos) << "no row " << row;
  }
}

TEST(OpcodeTest, NamesRoundTripAndArities) {
  for (int i = 0; i < kOpcodeCount; ++i) {
    Opcode op = static_cast<Opcode>(i);
    absl::StatusOr<Opcode> back = StringToOpcode(OpcodeString(op));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, op);
  }
  EXPECT_EQ(OpcodeArity(Opcode::kAdd), 2);
  EXPECT_EQ(OpcodeArity(Opcode::kConcatenate), std::nullopt);
  EXPECT_EQ(OpcodeString(Opcode::kRound), "round-nearest-afz");
  EXPECT_FALSE(StringToOpcode("frobnicate").ok());
  EXPECT_TRUE(IsElementwiseUnary(Opcode::kCopy));
  EXPECT_TRUE(IsElementwiseBinary(Opcode::kCompare));
  EXPECT_FALSE(IsElementwise(Opcode::kDot));
}

}  // namespace
}  // namespace kiln::hlo
