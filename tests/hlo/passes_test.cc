// Pass tests: HLO stated as text, parsed, run through the pass, printed and matched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/hlo/parser.h"
#include "kiln/hlo/pass.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<Module> Parse(const char* text) {
  auto m = ParseModule(text);
  KILN_CHECK(m.ok(), std::string(m.status().message()));
  KILN_CHECK(VerifyModule(**m).ok(), "verifier");
  return *std::move(m);
}

TEST(DceTest, RemovesUnusedInstructionsAndComputations) {
  auto m = Parse(R"(HloModule dce

%unused (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %s = f32[] add(f32[] %a, f32[] %b)
}

ENTRY %main (p: f32[4]) -> f32[4] {
  %p = f32[4]{0} parameter(0)
  %dead1 = f32[4]{0} exponential(f32[4]{0} %p)
  %dead2 = f32[4]{0} negate(f32[4]{0} %dead1)
  ROOT %live = f32[4]{0} sqrt(f32[4]{0} %p)
}
)");
  DeadCodeElimination dce;
  absl::StatusOr<bool> changed = dce.Run(m.get());
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  std::string text = m->ToString();
  EXPECT_THAT(text, Not(HasSubstr("dead")));
  EXPECT_THAT(text, Not(HasSubstr("%unused")));
  EXPECT_THAT(text, HasSubstr("ROOT %live = f32[4]{0} sqrt(f32[4]{0} %p)"));
  EXPECT_FALSE(*dce.Run(m.get()));
}

TEST(CseTest, MergesIdenticalInstructionsThenDceCleansUp) {
  auto m = Parse(R"(HloModule cse

ENTRY %main (p: f32[4]) -> f32[4] {
  %p = f32[4]{0} parameter(0)
  %c1 = f32[] constant(2)
  %c2 = f32[] constant(2)
  %b1 = f32[4]{0} broadcast(f32[] %c1), dimensions={}
  %b2 = f32[4]{0} broadcast(f32[] %c2), dimensions={}
  %m1 = f32[4]{0} multiply(f32[4]{0} %p, f32[4]{0} %b1)
  %m2 = f32[4]{0} multiply(f32[4]{0} %p, f32[4]{0} %b2)
  %m3 = f32[4]{0} multiply(f32[4]{0} %b1, f32[4]{0} %p)
  %s = f32[4]{0} add(f32[4]{0} %m1, f32[4]{0} %m2)
  ROOT %r = f32[4]{0} add(f32[4]{0} %s, f32[4]{0} %m3)
}
)");
  Pipeline pipeline("cleanup", {.max_iterations = 4});
  pipeline.AddPass<CommonSubexpressionElimination>();
  pipeline.AddPass<DeadCodeElimination>();
  absl::StatusOr<bool> changed = pipeline.Run(m.get());
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  std::string text = m->ToString();
  EXPECT_THAT(text, Not(HasSubstr("%c2")));
  EXPECT_THAT(text, Not(HasSubstr("%b2")));
  EXPECT_THAT(text, Not(HasSubstr("%m2")));
  // Operand order matters: multiply(b1, p) is a different expression.
  EXPECT_THAT(text, HasSubstr("%m3 = f32[4]{0} multiply(f32[4]{0} %b1, f32[4]{0} %p)"));
  EXPECT_THAT(text, HasSubstr("%s = f32[4]{0} add(f32[4]{0} %m1, f32[4]{0} %m1)"));
}

}  // namespace
}  // namespace kiln::hlo
