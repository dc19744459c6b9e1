// CPU backend dots whose batch dimensions are not the leading ones (attention's Q.K^T after the
// pipeline folds the head transposes into the dot), against the reference evaluator.
#include <random>

#include "gtest/gtest.h"
#include "kiln/backends/backend.h"
#include "kiln/backends/cpu.h"
#include "kiln/hlo/builder.h"
#include "kiln/hlo/evaluator.h"
#include "tests/backends/backend_test_util.h"

namespace kiln::testing {
namespace {

// f32[1,S,H,D] x f32[1,S,H,D] -> f32[1,H,S,S]: batch dims {0,2}, contracting 3 on both sides.
TEST(CpuDotBatchTest, BatchDimensionsInTheMiddle) {
  hlo::Builder b("dot_mid_batch");
  const hlo::Shape qs = hlo::ShapeUtil::MakeShape(hlo::PrimitiveType::F32, {1, 5, 3, 4});
  hlo::Op q = b.Parameter(0, qs, "q");
  hlo::Op k = b.Parameter(1, qs, "k");
  hlo::DotDimensionNumbers dn;
  dn.lhs_batch_dimensions = {0, 2};
  dn.rhs_batch_dimensions = {0, 2};
  dn.lhs_contracting_dimensions = {3};
  dn.rhs_contracting_dimensions = {3};
  absl::StatusOr<std::unique_ptr<hlo::Module>> module = b.Build(b.DotGeneral(q, k, dn));
  ASSERT_TRUE(module.ok()) << module.status();
  std::mt19937 rng(11);
  std::vector<hlo::Literal> args = {RandomLiteral(qs, rng), RandomLiteral(qs, rng)};
  absl::StatusOr<hlo::Literal> want = hlo::Evaluate(**module, args);
  ASSERT_TRUE(want.ok()) << want.status();
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  ASSERT_TRUE(backend->IsOpSupported(*(*module)->entry_computation()->root_instruction()));
  absl::StatusOr<std::vector<hlo::Literal>> got = RunOnBackend(*backend, **module, args);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(CompareLiterals(*want, (*got)[0], ErrorSpec{1e-5, 1e-5}), "");
}

}  // namespace
}  // namespace kiln::testing
