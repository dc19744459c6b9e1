// Batch-norm expansion, transpose and reshape folding, layout assignment and the pass registry:
// HLO as text, the pass, the printed result, and the module before and after evaluated by the
// interpreter on random arguments (pass_test_util.h).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "kiln/hlo/evaluator.h"
#include "tests/hlo/hlo_matchers.h"
#include "tests/hlo/pass_test_util.h"

namespace kiln::hlo {
namespace {

using ::kiln::hlo::testing::Entry;
using ::kiln::hlo::testing::ParseOrDie;
using ::kiln::hlo::testing::CountInstructions;
using ::kiln::hlo::testing::FindInstruction;
using ::kiln::hlo::testing::GmockMatch;
namespace m = ::kiln::hlo::testing::m;
using ::kiln::hlo::testing::RunPass;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(BatchNormExpanderTest, InferenceMatchesTheInterpreterBitForBit) {
  BatchNormExpander pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %x = f32[2,3,2,2] parameter(0)
  %scale = f32[3] parameter(1)
  %offset = f32[3] parameter(2)
  %mean = f32[3] parameter(3)
  %v = f32[3] parameter(4)
  %var = f32[3] multiply(f32[3] %v, f32[3] %v)
  ROOT %bn = f32[2,3,2,2] batch-norm-inference(f32[2,3,2,2] %x, f32[3] %scale, f32[3] %offset, f32[3] %mean, f32[3] %var), epsilon=0.001, feature_index=1
)"));
  EXPECT_TRUE(run.changed);
  EXPECT_EQ(CountInstructions(*run.module, Opcode::kBatchNormInference), 0);
  EXPECT_GT(CountInstructions(*run.module, Opcode::kSqrt), 0);
}

TEST(BatchNormExpanderTest, InferenceInF64AndLastFeatureDimension) {
  BatchNormExpander pass;
  RunPass(pass, Entry(R"(
  %x = f64[4,5] parameter(0)
  %scale = f64[5] parameter(1)
  %offset = f64[5] parameter(2)
  %mean = f64[5] parameter(3)
  %v = f64[5] parameter(4)
  %var = f64[5] abs(f64[5] %v)
  ROOT %bn = f64[4,5] batch-norm-inference(f64[4,5] %x, f64[5] %scale, f64[5] %offset, f64[5] %mean, f64[5] %var), epsilon=0.01, feature_index=1
)"));
}

// batch-norm-training has no interpreter kernel: compare the expansion with the definition
// computed here in double precision.
TEST(BatchNormExpanderTest, TrainingMatchesADoublePrecisionReference) {
  BatchNormExpander pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %x = f32[3,2,4] parameter(0)
  %scale = f32[2] parameter(1)
  %offset = f32[2] parameter(2)
  ROOT %bn = (f32[3,2,4], f32[2], f32[2]) batch-norm-training(f32[3,2,4] %x, f32[2] %scale, f32[2] %offset), epsilon=0.5, feature_index=1
)"), {.trials = 0});
  ASSERT_TRUE(run.changed);
  EXPECT_EQ(CountInstructions(*run.module, Opcode::kBatchNormTraining), 0);
  std::vector<float> x(24), scale = {1.5f, -0.5f}, offset = {0.25f, 2.0f};
  for (int i = 0; i < 24; ++i) x[i] = std::sin(0.7 * i) * 3 + (i % 2);
  absl::StatusOr<Literal> r = hlo::Evaluate(
      *run.module, {Literal::CreateFromVector<float>({3, 2, 4}, x), Literal::CreateR1<float>(scale),
                    Literal::CreateR1<float>(offset)});
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<Literal>& out = r->tuple_elements();
  ASSERT_EQ(out.size(), 3u);
  for (int c = 0; c < 2; ++c) {
    double sum = 0, sq = 0;
    for (int b = 0; b < 3; ++b) {
      for (int w = 0; w < 4; ++w) sum += x[b * 8 + c * 4 + w];
    }
    double mean = sum / 12;
    for (int b = 0; b < 3; ++b) {
      for (int w = 0; w < 4; ++w) sq += std::pow(x[b * 8 + c * 4 + w] - mean, 2);
    }
    double var = sq / 12;  // Biased, as XLA defines it.
    EXPECT_NEAR(out[1].data<float>()[c], mean, 1e-5);
    EXPECT_NEAR(out[2].data<float>()[c], var, 1e-5);
    for (int b = 0; b < 3; ++b) {
      for (int w = 0; w < 4; ++w) {
        int i = b * 8 + c * 4 + w;
        double y = (x[i] - mean) / std::sqrt(var + 0.5) * scale[c] + offset[c];
        EXPECT_NEAR(out[0].data<float>()[i], y, 1e-5) << "element " << i;
      }
    }
  }
}

TEST(TransposeFoldingTest, FoldsIntoDotOperands) {
  TransposeFolding pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %a = f32[2,4,3] parameter(0)
  %b = f32[2,5,4] parameter(1)
  %ta = f32[2,3,4] transpose(f32[2,4,3] %a), dimensions={0,2,1}
  %tb = f32[2,4,5] transpose(f32[2,5,4] %b), dimensions={0,2,1}
  ROOT %d = f32[2,3,5] dot(f32[2,3,4] %ta, f32[2,4,5] %tb), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={1}
)"));
  EXPECT_TRUE(run.changed);
  EXPECT_THAT(run.module->entry_computation()->root_instruction(), GmockMatch(m::Dot(m::Parameter(0), m::Parameter(1))
                                    .WithAttributes("lhs_batch_dims={0}, lhs_contracting_dims={1}, "
                                                    "rhs_batch_dims={0}, rhs_contracting_dims={2}")));
}

TEST(TransposeFoldingTest, FoldsIntoConvolutionKernelAndOutput) {
  TransposeFolding pass;
  // HWIO kernel transposed to OIHW; the NCHW result transposed to NHWC.
  testing::PassRun run = RunPass(pass, Entry(R"(
  %x = f32[1,2,5,5] parameter(0)
  %k = f32[3,3,2,4] parameter(1)
  %tk = f32[4,2,3,3] transpose(f32[3,3,2,4] %k), dimensions={3,2,0,1}
  %c = f32[1,4,3,3] convolution(f32[1,2,5,5] %x, f32[4,2,3,3] %tk), window={size=3x3}, dim_labels=bf01_oi01->bf01
  ROOT %o = f32[1,3,3,4] transpose(f32[1,4,3,3] %c), dimensions={0,2,3,1}
)"));
  EXPECT_TRUE(run.changed);
  // (The transposes, now unused, are left to dce.)
  EXPECT_THAT(run.module->entry_computation()->root_instruction(), GmockMatch(m::Convolution(m::Parameter(0), m::Parameter(1))
                                    .WithShape("f32[1,3,3,4]")
                                    .WithAttributes("window={size=3x3}, dim_labels=bf01_01io->b01f")));
}

TEST(TransposeFoldingTest, LeavesTransposesThatReorderFreeDimensions) {
  TransposeFolding pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %a = f32[3,2,5] parameter(0)
  %b = f32[5,4] parameter(1)
  %t = f32[2,3,5] transpose(f32[3,2,5] %a), dimensions={1,0,2}
  ROOT %d = f32[2,3,4] dot(f32[2,3,5] %t, f32[5,4] %b), lhs_contracting_dims={2}, rhs_contracting_dims={0}
)"));
  EXPECT_FALSE(run.changed);
}

TEST(ReshapeFoldingTest, CollapsesChainsBroadcastsAndConstants) {
  ReshapeFolding pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %p = f32[2,3,2] parameter(0)
  %r1 = f32[6,2] reshape(f32[2,3,2] %p)
  %r2 = f32[3,4] reshape(f32[6,2] %r1)
  %r3 = f32[12] reshape(f32[3,4] %r2)
  %r4 = f32[2,3,2] reshape(f32[12] %r3)
  %k = s32[2,2] constant({{1, 2}, {3, 4}})
  %rk = s32[4] reshape(s32[2,2] %k)
  %c = f32[] constant(2)
  %b = f32[4,3] broadcast(f32[] %c), dimensions={}
  %rb = f32[12] reshape(f32[4,3] %b)
  ROOT %t = (f32[2,3,2], f32[12], s32[4], f32[12]) tuple(f32[2,3,2] %r4, f32[12] %r3, s32[4] %rk, f32[12] %rb)
)"));
  EXPECT_TRUE(run.changed);
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Tuple(m::Parameter(0), m::Reshape(m::Parameter(0)).WithShape("f32[12]"),
                                  m::Constant().WithShape("s32[4]").WithValues({1, 2, 3, 4}),
                                  m::Broadcast(m::Named("c")).WithShape("f32[12]").WithDimensions({}))));
}

TEST(LayoutAssignmentTest, PropagatesAndCopiesWhereRequired) {
  LayoutAssignment pass;
  testing::PassRun run = RunPass(pass, Entry(R"(
  %p = f32[2,3]{0,1} parameter(0)
  %w = f32[3,4] parameter(1)
  %e = f32[2,3] exponential(f32[2,3] %p)
  %t = f32[3,2] transpose(f32[2,3] %e), dimensions={1,0}
  %d = f32[2,4] dot(f32[2,3] %e, f32[3,4] %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  ROOT %r = (f32[2,4], f32[3,2]) tuple(f32[2,4] %d, f32[3,2] %t)
)"));
  EXPECT_TRUE(run.changed);
  const m::Pattern e = m::Exp(m::Parameter(0)).WithName("e").WithShape("f32[2,3]{0,1}");
  // The transpose of a column-major array is row-major for free; the dot gets a row-major copy.
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Tuple(m::Dot(m::Copy(e).WithShape("f32[2,3]{1,0}"), m::Parameter(1)),
                                  m::Transpose(e).WithShape("f32[3,2]{1,0}"))));
  EXPECT_TRUE(VerifyLayouts(*run.module).ok());
  LayoutAssignment again;
  EXPECT_FALSE(*again.Run(run.module.get()));
}

TEST(LayoutAssignmentTest, WithoutPropagationEverythingIsRowMajor) {
  LayoutAssignment pass({.propagate = false});
  testing::PassRun run = RunPass(pass, Entry(R"(
  %p = f32[2,3]{0,1} parameter(0)
  %e = f32[2,3] exponential(f32[2,3] %p)
  %t = f32[3,2] transpose(f32[2,3] %e), dimensions={1,0}
  ROOT %n = f32[3,2]{0,1} negate(f32[3,2] %t)
)"));
  EXPECT_TRUE(run.changed);
  // Row-major everywhere; a copy after the column-major parameter, and the declared result layout
  // kept by a final copy.
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Copy(m::Negate(m::Transpose(m::Exp(m::Copy(m::Parameter(0)).WithShape("f32[2,3]{1,0}"))
                                                             .WithShape("f32[2,3]{1,0}"))
                                               .WithShape("f32[3,2]{1,0}"))
                                     .WithName("n")
                                     .WithShape("f32[3,2]{1,0}"))
                             .WithShape("f32[3,2]{0,1}")));
  EXPECT_TRUE(VerifyLayouts(*run.module, {.propagate = false}).ok());
  LayoutAssignment again({.propagate = false});
  EXPECT_FALSE(*again.Run(run.module.get()));
}

TEST(LayoutAssignmentTest, CalledComputationsAndTuplesUseDefaultLayouts) {
  LayoutAssignment pass;
  testing::PassRun run = RunPass(pass, R"(HloModule m

%add (x: f32[], y: f32[]) -> f32[] {
  %x = f32[] parameter(0)
  %y = f32[] parameter(1)
  ROOT %s = f32[] add(f32[] %x, f32[] %y)
}

ENTRY %main {
  %p = f32[2,3]{0,1} parameter(0)
  %z = f32[] constant(0)
  %r = f32[2] reduce(f32[2,3] %p, f32[] %z), dimensions={1}, to_apply=%add
  %t = (f32[2,3], f32[2]) tuple(f32[2,3] %p, f32[2] %r)
  %g = f32[2,3] get-tuple-element((f32[2,3], f32[2]) %t), index=0
  ROOT %n = f32[2,3]{0,1} negate(f32[2,3] %g)
}
)");
  EXPECT_THAT(FindInstruction(*run.module, "r"),
              GmockMatch(m::Reduce(m::Copy(m::Parameter(0)).WithShape("f32[2,3]{1,0}"), m::Constant())));
  EXPECT_THAT(run.module->entry_computation()->root_instruction(),
              GmockMatch(m::Negate(m::GetTupleElement(m::Tuple()).WithName("g").WithShape("f32[2,3]{0,1}"))
                             .WithShape("f32[2,3]{0,1}")));
  EXPECT_TRUE(VerifyLayouts(*run.module).ok());
}

TEST(LayoutAssignmentTest, GivesAShapeWithoutALayoutTheDefaultOne) {
  std::unique_ptr<Module> m = ParseOrDie(Entry(R"(
  %p = f32[2,3] parameter(0)
  ROOT %e = f32[2,3] exponential(f32[2,3] %p)
)"));
  Instruction* e = m->entry_computation()->root_instruction();
  e->mutable_shape()->mutable_layout()->minor_to_major.clear();
  EXPECT_FALSE(VerifyLayouts(*m).ok());
  LayoutAssignment pass;
  ASSERT_TRUE(*pass.Run(m.get()));
  EXPECT_EQ(e->shape().layout().minor_to_major, (std::vector<int64_t>{1, 0}));
  EXPECT_TRUE(VerifyLayouts(*m).ok());
}

TEST(LayoutAssignmentTest, VerifyLayoutsNamesTheOffendingOperand) {
  std::unique_ptr<Module> m = ParseOrDie(Entry(R"(
  %a = f32[2,3]{0,1} parameter(0)
  %b = f32[3,4] parameter(1)
  ROOT %d = f32[2,4] dot(f32[2,3]{0,1} %a, f32[3,4] %b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
)"));
  absl::Status s = VerifyLayouts(*m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("%d"));
  EXPECT_THAT(s.message(), HasSubstr("operand 0 is f32[2,3]{0,1}"));
}

// Every pass, to a fixed point, on the modules JAX lowered for the HLO oracle
// (tests/hlo/oracle/cases): each result must stay bit for bit what the interpreter computed before.
// Modules with while loops are left out (random arguments may never end the loop).
TEST(PassCorpusTest, AllPassesKeepTheResultsOfJaxLoweredModules) {
  const std::string dir = std::string(KILN_SOURCE_DIR) + "/tests/hlo/oracle/cases";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is missing";
  std::vector<std::string> names;
  for (const PassInfo& p : RegisteredPasses()) names.emplace_back(p.name);
  int checked = 0, changed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".hlo") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    absl::StatusOr<std::unique_ptr<Module>> before = ParseModule(ss.str());
    if (!before.ok() || !VerifyModule(**before).ok()) continue;  // The oracle test reports these.
    if (ss.str().find(" while(") != std::string::npos) continue;
    std::unique_ptr<Module> after = (*before)->Clone();
    absl::StatusOr<std::unique_ptr<Pipeline>> pipeline =
        CreatePipeline(absl::StrJoin(names, ","), {}, /*fixed_point_iterations=*/4);
    ASSERT_TRUE(pipeline.ok());
    absl::StatusOr<bool> c = (*pipeline)->Run(after.get());
    ASSERT_TRUE(c.ok()) << entry.path() << ": " << c.status();
    changed += *c;
    absl::Status same = CheckEquivalent(**before, *after, {.trials = 2});
    if (absl::StrContains(same.message(), "evaluating the module before")) continue;
    EXPECT_TRUE(same.ok()) << entry.path() << ": " << same << "\n" << after->ToString();
    ++checked;
  }
  EXPECT_GT(checked, 0);
  std::printf("passes kept the results of %d modules (%d changed)\n", checked, changed);
}

TEST(PassRegistryTest, CreatesEveryPassByName) {
  std::vector<std::string> names;
  for (const PassInfo& info : RegisteredPasses()) {
    absl::StatusOr<std::unique_ptr<Pass>> p = CreatePass(info.name);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ((*p)->name(), info.name);
    names.emplace_back(info.name);
  }
  EXPECT_THAT(names, ::testing::ElementsAre("dce", "cse", "constant-folding",
                                            "algebraic-simplifier", "batchnorm-expander",
                                            "reshape-folding", "transpose-folding",
                                            "layout-assignment"));
}

TEST(PassRegistryTest, ErrorsListTheKnownPasses) {
  absl::StatusOr<std::unique_ptr<Pass>> p = CreatePass("constant-fold");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(p.status().message(), HasSubstr("unknown pass 'constant-fold'"));
  EXPECT_THAT(p.status().message(), HasSubstr("constant-folding"));
  EXPECT_EQ(CreatePipeline("cse,,dce").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreatePipeline("").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<Pipeline>> ok = CreatePipeline("cse,dce");
  ASSERT_TRUE(ok.ok());
}

}  // namespace
}  // namespace kiln::hlo
