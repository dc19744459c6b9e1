// Algebraic simplifier and constant folding: HLO as text, the pass, the printed result, and the
// module before and after evaluated by the interpreter on random arguments (pass_test_util.h).
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/hlo/evaluator.h"
#include "tests/hlo/hlo_matchers.h"
#include "tests/hlo/pass_test_util.h"

namespace kiln::hlo {
namespace {

using ::kiln::hlo::testing::Entry;
using ::kiln::hlo::testing::GmockMatch;
namespace m = ::kiln::hlo::testing::m;
using ::kiln::hlo::testing::ParseOrDie;
using ::kiln::hlo::testing::RunPass;
using ::testing::HasSubstr;
using ::testing::Not;

struct RuleCase {
  std::string rule;      // The table row it exercises.
  std::string body;      // Entry computation instructions.
  m::Pattern expected;   // The entry root after the pass.
};

const std::vector<RuleCase>& RuleCases() {
  static const auto* cases = new std::vector<RuleCase>{
      {"add-zero",
       "%p = s32[4] parameter(0)\n%z = s32[] constant(0)\n"
       "%zb = s32[4] broadcast(s32[] %z), dimensions={}\nROOT %r = s32[4] add(s32[4] %p, s32[4] %zb)\n",
       m::Parameter(0)},
      {"add-zero",
       "%p = f32[4] parameter(0)\n%z = f32[] constant(-0)\n"
       "%zb = f32[4] broadcast(f32[] %z), dimensions={}\nROOT %r = f32[4] add(f32[4] %zb, f32[4] %p)\n",
       m::Parameter(0)},
      {"subtract-zero",
       "%p = f32[4] parameter(0)\n%z = f32[] constant(0)\n"
       "%zb = f32[4] broadcast(f32[] %z), dimensions={}\n"
       "ROOT %r = f32[4] subtract(f32[4] %p, f32[4] %zb)\n",
       m::Parameter(0)},
      {"subtract-self",
       "%p = s32[4] parameter(0)\nROOT %r = s32[4] subtract(s32[4] %p, s32[4] %p)\n",
       m::Broadcast(m::Constant(0)).WithShape("s32[4]")},
      {"multiply-one",
       "%p = f32[4] parameter(0)\n%one = f32[] constant(1)\n"
       "%ob = f32[4] broadcast(f32[] %one), dimensions={}\n"
       "ROOT %r = f32[4] multiply(f32[4] %ob, f32[4] %p)\n",
       m::Parameter(0)},
      {"multiply-zero",
       "%p = s32[4] parameter(0)\n%z = s32[] constant(0)\n"
       "%zb = s32[4] broadcast(s32[] %z), dimensions={}\n"
       "ROOT %r = s32[4] multiply(s32[4] %p, s32[4] %zb)\n",
       m::Broadcast(m::Constant(0)).WithName("zb")},
      {"divide-one",
       "%p = f32[4] parameter(0)\n%one = f32[4] constant({1, 1, 1, 1})\n"
       "ROOT %r = f32[4] divide(f32[4] %p, f32[4] %one)\n",
       m::Parameter(0)},
      {"negate-negate",
       "%p = f32[4] parameter(0)\n%n = f32[4] negate(f32[4] %p)\n"
       "ROOT %r = f32[4] negate(f32[4] %n)\n",
       m::Parameter(0)},
      {"not-not",
       "%p = pred[4] parameter(0)\n%n = pred[4] not(pred[4] %p)\nROOT %r = pred[4] not(pred[4] %n)\n",
       m::Parameter(0)},
      {"abs-abs",
       "%p = f32[4] parameter(0)\n%a1 = f32[4] abs(f32[4] %p)\nROOT %a2 = f32[4] abs(f32[4] %a1)\n",
       m::Abs(m::Parameter(0)).WithName("a1")},
      {"max-self",
       "%p = f32[4] parameter(0)\nROOT %r = f32[4] maximum(f32[4] %p, f32[4] %p)\n", m::Parameter(0)},
      {"min-self",
       "%p = f32[4] parameter(0)\nROOT %r = f32[4] minimum(f32[4] %p, f32[4] %p)\n", m::Parameter(0)},
      {"and-identity",
       "%p = pred[4] parameter(0)\n%t = pred[] constant(true)\n"
       "%tb = pred[4] broadcast(pred[] %t), dimensions={}\nROOT %r = pred[4] and(pred[4] %p, pred[4] %tb)\n",
       m::Parameter(0)},
      {"or-identity",
       "%p = pred[4] parameter(0)\n%f = pred[] constant(false)\n"
       "%fb = pred[4] broadcast(pred[] %f), dimensions={}\nROOT %r = pred[4] or(pred[4] %fb, pred[4] %p)\n",
       m::Parameter(0)},
      {"select-constant",
       "%a = f32[4] parameter(0)\n%b = f32[4] parameter(1)\n%t = pred[4] constant({false, false, false, false})\n"
       "ROOT %r = f32[4] select(pred[4] %t, f32[4] %a, f32[4] %b)\n",
       m::Parameter(1)},
      {"convert-identity",
       "%p = f32[4] parameter(0)\nROOT %r = f32[4] convert(f32[4] %p)\n", m::Parameter(0)},
      {"copy-identity", "%p = f32[4] parameter(0)\nROOT %r = f32[4] copy(f32[4] %p)\n", m::Parameter(0)},
      {"broadcast-identity",
       "%p = f32[4] parameter(0)\nROOT %r = f32[4] broadcast(f32[4] %p), dimensions={0}\n",
       m::Parameter(0)},
      {"broadcast-broadcast",
       "%p = f32[3] parameter(0)\n%b1 = f32[3,2] broadcast(f32[3] %p), dimensions={0}\n"
       "ROOT %b2 = f32[4,3,2] broadcast(f32[3,2] %b1), dimensions={1,2}\n",
       m::Broadcast(m::Parameter(0)).WithShape("f32[4,3,2]").WithDimensions({1})},
      {"slice-identity",
       "%p = f32[2,3] parameter(0)\nROOT %r = f32[2,3] slice(f32[2,3] %p), slice={[0:2], [0:3]}\n",
       m::Parameter(0)},
      {"concatenate-single",
       "%p = f32[2,3] parameter(0)\nROOT %r = f32[2,3] concatenate(f32[2,3] %p), dimensions={1}\n",
       m::Parameter(0)},
      {"pad-zero",
       "%p = f32[2,3] parameter(0)\n%z = f32[] constant(7)\n"
       "ROOT %r = f32[2,3] pad(f32[2,3] %p, f32[] %z), padding=0_0x0_0\n",
       m::Parameter(0)},
      {"reverse-identity",
       "%p = f32[1,4] parameter(0)\nROOT %r = f32[1,4] reverse(f32[1,4] %p), dimensions={0}\n",
       m::Parameter(0)},
  };
  return *cases;
}

TEST(AlgebraicSimplifierTest, EveryRuleRewritesAndKeepsResults) {
  for (const RuleCase& c : RuleCases()) {
    SCOPED_TRACE(c.rule + ":\n" + c.body);
    AlgebraicSimplifier pass;
    testing::PassRun run = RunPass(pass, Entry(c.body));
    EXPECT_TRUE(run.changed);
    EXPECT_THAT(run.module->entry_computation()->root_instruction(), GmockMatch(c.expected));
  }
}

TEST(AlgebraicSimplifierTest, EveryRuleInTheTableHasACase) {
  std::set<std::string> tested;
  for (const RuleCase& c : RuleCases()) tested.insert(c.rule);
  for (std::string_view name : AlgebraicSimplifier::RuleNames()) {
    EXPECT_TRUE(tested.contains(std::string(name))) << "no test case for rule " << name;
  }
}

// Rewrites IEEE semantics forbid: each must leave the module unchanged.
TEST(AlgebraicSimplifierTest, RespectsFloatSemantics) {
  const std::vector<std::string> bodies = {
      // x + 0.0: -0.0 + 0.0 is +0.0.
      "%p = f32[4] parameter(0)\n%z = f32[] constant(0)\n"
      "%zb = f32[4] broadcast(f32[] %z), dimensions={}\nROOT %r = f32[4] add(f32[4] %p, f32[4] %zb)\n",
      // x - (-0.0): -0.0 - -0.0 is +0.0.
      "%p = f32[4] parameter(0)\n%z = f32[] constant(-0)\n"
      "%zb = f32[4] broadcast(f32[] %z), dimensions={}\n"
      "ROOT %r = f32[4] subtract(f32[4] %p, f32[4] %zb)\n",
      // x * 0: inf * 0 and NaN * 0 are NaN.
      "%p = f32[4] parameter(0)\n%z = f32[] constant(0)\n"
      "%zb = f32[4] broadcast(f32[] %z), dimensions={}\n"
      "ROOT %r = f32[4] multiply(f32[4] %p, f32[4] %zb)\n",
      // x - x: inf - inf is NaN.
      "%p = f32[4] parameter(0)\nROOT %r = f32[4] subtract(f32[4] %p, f32[4] %p)\n",
      // Not identities: a real reverse, a real slice, real padding, a non-uniform constant.
      "%p = f32[2,4] parameter(0)\nROOT %r = f32[2,4] reverse(f32[2,4] %p), dimensions={1}\n",
      "%p = f32[2,3] parameter(0)\nROOT %r = f32[2,2] slice(f32[2,3] %p), slice={[0:2], [1:3]}\n",
      "%p = f32[2,3] parameter(0)\n%z = f32[] constant(0)\n"
      "ROOT %r = f32[2,4] pad(f32[2,3] %p, f32[] %z), padding=0_0x1_0\n",
      "%p = f32[2] parameter(0)\n%k = f32[2] constant({1, 2})\n"
      "ROOT %r = f32[2] multiply(f32[2] %p, f32[2] %k)\n",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    AlgebraicSimplifier pass;
    testing::PassRun run = RunPass(pass, Entry(body));
    EXPECT_FALSE(run.changed) << run.text;
  }
}

// The reason x + 0.0 stays while x + -0.0 goes: evaluate both on x = -0.0.
TEST(AlgebraicSimplifierTest, NegativeZeroIsTheExactAdditiveIdentity) {
  auto add_zero = [](const char* zero) {
    return ParseOrDie(Entry(std::string("%p = f32[] parameter(0)\n%z = f32[] constant(") + zero +
                            ")\nROOT %r = f32[] add(f32[] %p, f32[] %z)\n"));
  };
  Literal minus_zero = Literal::CreateR0<float>(-0.0f);
  absl::StatusOr<Literal> plus = hlo::Evaluate(*add_zero("0"), {minus_zero});
  absl::StatusOr<Literal> minus = hlo::Evaluate(*add_zero("-0"), {minus_zero});
  ASSERT_TRUE(plus.ok() && minus.ok());
  EXPECT_FALSE(std::signbit(plus->data<float>()[0]));  // -0 + 0 = +0: not x.
  EXPECT_TRUE(std::signbit(minus->data<float>()[0]));  // -0 + -0 = -0: x.
}

// One run of the simplifier is one sweep; PassFix<Pipeline> repeats the simplifier and the folding
// passes until nothing changes (the transposes are transpose-folding's, the rest the rules').
TEST(AlgebraicSimplifierTest, PassFixRunsRulesAndFoldingToAFixedPoint) {
  PassFix<Pipeline> simplify("simplification");
  simplify.AddPass<AlgebraicSimplifier>();
  simplify.AddPass<TransposeFolding>();
  simplify.AddPass<DeadCodeElimination>();
  testing::PassRun run = RunPass(simplify, Entry(R"(
  %p = f32[2,3] parameter(0)
  %t1 = f32[3,2] transpose(f32[2,3] %p), dimensions={1,0}
  %t2 = f32[2,3] transpose(f32[3,2] %t1), dimensions={1,0}
  %n1 = f32[2,3] negate(f32[2,3] %t2)
  %n2 = f32[2,3] negate(f32[2,3] %n1)
  %one = f32[] constant(1)
  %ob = f32[2,3] broadcast(f32[] %one), dimensions={}
  ROOT %m = f32[2,3] multiply(f32[2,3] %n2, f32[2,3] %ob)
)"));
  EXPECT_TRUE(run.changed);
  EXPECT_THAT(run.module->entry_computation()->root_instruction(), GmockMatch(m::Parameter(0)));
  EXPECT_FALSE(*simplify.Run(run.module.get()));
  // The simplifier alone no longer touches transposes: that rule set lives in one place.
  AlgebraicSimplifier alone;
  testing::PassRun untouched = RunPass(alone, Entry(R"(
  %p = f32[2,3] parameter(0)
  %t1 = f32[3,2] transpose(f32[2,3] %p), dimensions={1,0}
  ROOT %t2 = f32[2,3] transpose(f32[3,2] %t1), dimensions={1,0}
)"));
  EXPECT_FALSE(untouched.changed);
}

// PassFix stops after max_iterations runs even when the pass keeps changing the module.
TEST(PassFixTest, StopsAtItsIterationLimit) {
  struct AlwaysChanges : Pass {
    explicit AlwaysChanges(int* runs) : runs(runs) {}
    std::string_view name() const override { return "always-changes"; }
    absl::StatusOr<bool> Run(Module*) override { return ++*runs > 0; }
    int* runs;
  };
  int runs = 0;
  PassFix<AlwaysChanges> fix(&runs);
  fix.set_max_iterations(3);
  std::unique_ptr<Module> m = ParseOrDie(Entry("ROOT %p = f32[4] parameter(0)\n"));
  absl::StatusOr<bool> changed = fix.Run(m.get());
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(runs, 3);
}

TEST(ConstantFoldingTest, FoldsChainsAndCalledComputations) {
  ConstantFolding pass;
  testing::PassRun run = RunPass(pass, R"(HloModule fold

%add (x: s32[], y: s32[]) -> s32[] {
  %x = s32[] parameter(0)
  %y = s32[] parameter(1)
  ROOT %s = s32[] add(s32[] %x, s32[] %y)
}

ENTRY %main {
  %p = s32[2] parameter(0)
  %k = s32[2,3] constant({{1, 2, 3}, {4, 5, 6}})
  %two = s32[2,3] constant({{2, 2, 2}, {2, 2, 2}})
  %m = s32[2,3] multiply(s32[2,3] %k, s32[2,3] %two)
  %z = s32[] constant(0)
  %r = s32[2] reduce(s32[2,3] %m, s32[] %z), dimensions={1}, to_apply=%add
  ROOT %o = s32[2] add(s32[2] %p, s32[2] %r)
}
)");
  EXPECT_TRUE(run.changed);
  // Row sums of 2 * k: 2 * (1 + 2 + 3) = 12, 2 * (4 + 5 + 6) = 30.
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Add(m::Parameter(0), m::Constant().WithValues({12, 30}))));
}

TEST(ConstantFoldingTest, FoldsFloatSpecialValuesAsTheInterpreterComputesThem) {
  ConstantFolding pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %one = f32[3] constant({1, -1, 0})
  %zero = f32[3] constant({0, 0, 0})
  ROOT %d = f32[3] divide(f32[3] %one, f32[3] %zero)
)"));
  EXPECT_TRUE(run.changed);
  // x86's 0 / 0 is the default NaN, whose sign bit is set: printed "-nan", as XLA prints it.
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Constant().WithValues({inf, -inf, -std::nan("")})));
}

TEST(ConstantFoldingTest, LeavesLeavesBroadcastsAndLargeResults) {
  const std::string big = Entry(R"(
  %a = s32[8] constant({1, 2, 3, 4, 5, 6, 7, 8})
  %b = s32[8] constant({8, 7, 6, 5, 4, 3, 2, 1})
  ROOT %s = s32[8] add(s32[8] %a, s32[8] %b)
)");
  ConstantFolding limited({.max_result_elements = 4});
  EXPECT_FALSE(RunPass(limited, big).changed);
  ConstantFolding unlimited;
  testing::PassRun run = RunPass(unlimited, big);
  EXPECT_TRUE(run.changed);
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Constant().WithValues({9, 9, 9, 9, 9, 9, 9, 9})));

  ConstantFolding pass;
  testing::PassRun leaves = RunPass(pass, Entry(R"(
  %i = s32[4] iota(), iota_dimension=0
  %c = s32[] constant(3)
  ROOT %b = s32[4,4] broadcast(s32[] %c), dimensions={}
)"));
  EXPECT_FALSE(leaves.changed);
}

// docs/hlo_passes.md lists every registered pass and every simplifier rule.
TEST(PassDocsTest, EveryPassAndRuleIsDocumented) {
  std::ifstream in(std::string(KILN_SOURCE_DIR) + "/docs/hlo_passes.md");
  ASSERT_TRUE(in.good()) << "docs/hlo_passes.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const PassInfo& p : RegisteredPasses()) {
    EXPECT_THAT(doc, HasSubstr("`" + std::string(p.name) + "`"));
  }
  for (std::string_view rule : AlgebraicSimplifier::RuleNames()) {
    EXPECT_THAT(doc, HasSubstr("| `" + std::string(rule) + "` |"));
  }
}

TEST(EquivalenceTest, DetectsADifferentResult) {
  std::unique_ptr<Module> a = ParseOrDie(Entry(
      "%p = f32[4] parameter(0)\n%k = f32[] constant(1.0001)\n"
      "%kb = f32[4] broadcast(f32[] %k), dimensions={}\nROOT %r = f32[4] multiply(f32[4] %p, f32[4] %kb)\n"));
  std::unique_ptr<Module> b = ParseOrDie(Entry("ROOT %p = f32[4] parameter(0)\n"));
  absl::Status s = CheckEquivalent(*a, *b);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("differs"));
  // Within a tolerance the two agree.
  EXPECT_TRUE(CheckEquivalent(*a, *b, {.relative_tolerance = 1e-3}).ok());
}

}  // namespace
}  // namespace kiln::hlo
