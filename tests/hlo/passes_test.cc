// Pass tests: HLO stated as text, parsed, run through the pass, printed and matched.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/hlo/parser.h"
#include "kiln/hlo/pass.h"
#include "kiln/hlo/passes.h"
#include "kiln/hlo/verifier.h"
#include "tests/hlo/hlo_matchers.h"

namespace kiln::hlo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::kiln::hlo::testing::FindInstruction;
using ::kiln::hlo::testing::GmockMatch;
namespace m = ::kiln::hlo::testing::m;

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
  EXPECT_EQ(m->MakeComputationPostOrder().size(), 1u) << m->ToString();
  EXPECT_EQ(m->entry_computation()->instruction_count(), 2) << m->ToString();
  EXPECT_THAT(m->entry_computation()->root_instruction(),
              GmockMatch(m::Sqrt(m::Parameter(0)).WithName("live")));
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
  PassFix<Pipeline> pipeline("cleanup");
  pipeline.AddPass<CommonSubexpressionElimination>();
  pipeline.AddPass<DeadCodeElimination>();
  absl::StatusOr<bool> changed = pipeline.Run(m.get());
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  for (const char* merged : {"c2", "b2", "m2"}) EXPECT_EQ(FindInstruction(*m, merged), nullptr) << merged;
  // Operand order matters: multiply(b1, p) is a different expression.
  const m::Pattern b1 = m::Broadcast(m::Constant(2)).WithName("b1");
  const m::Pattern m1 = m::Multiply(m::Parameter(0), b1).WithName("m1");
  EXPECT_THAT(m->entry_computation()->root_instruction(),
              GmockMatch(m::Add(m::Add(m1, m1).WithName("s"), m::Multiply(b1, m::Parameter(0)).WithName("m3"))));
}


// --dump_to: the module before the first pass and after every pass that changed it, numbered in
// one sequence across nested pipelines; a pass that changed nothing writes nothing.
TEST(PipelineTest, DumpsTheModuleAfterEveryChangingPass) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "kiln_pipeline_dumps";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto m = Parse(R"(HloModule dumped

ENTRY %main {
  %p = f32[4] parameter(0)
  %q = f32[4] negate(f32[4] %p)
  %n1 = f32[4] negate(f32[4] %p)
  %n2 = f32[4] negate(f32[4] %n1)
  ROOT %r = f32[4] add(f32[4] %n2, f32[4] %q)
}
)");
  Pipeline pipeline("outer", {.dump_to = dir.string(), .dump_prefix = "t."});
  AddTargetIndependentPasses(pipeline);
  pipeline.AddPass<DeadCodeElimination>();  // Nothing left to remove: no dump.
  absl::StatusOr<bool> changed = pipeline.Run(m.get());
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ::testing::ElementsAre("t.dumped.0000.outer.before.txt",
                                            "t.dumped.0001.simplification.algebraic-simplifier.txt",
                                            "t.dumped.0002.simplification.cse.txt"));
  std::ifstream last(dir / names.back());
  std::stringstream text;
  text << last.rdbuf();
  EXPECT_EQ(text.str(), m->ToString());
  EXPECT_THAT(m->entry_computation()->root_instruction(),
              GmockMatch(m::Add(m::Parameter(0), m::Negate(m::Parameter(0)).WithName("q"))));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::hlo
