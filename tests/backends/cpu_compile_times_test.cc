// The CPU backend's compile-time report (backends::CompileTimes): every phase the backend runs is
// measured and the counts match the module.
#include <random>

#include "gtest/gtest.h"
#include "kiln/backends/backend.h"
#include "kiln/backends/cpu.h"
#include "kiln/hlo/builder.h"
#include "tests/backends/backend_test_util.h"

namespace kiln::testing {
namespace {

using hlo::Builder;
using hlo::Op;
using hlo::Opcode;
using hlo::PrimitiveType;
using hlo::ShapeUtil;

// A convolution (a oneDNN primitive) followed by a loop kernel (LLVM IR).
std::unique_ptr<hlo::Module> ConvThenLoopModule() {
  Builder b("compile_times");
  Op x = b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::F32, {1, 4, 8, 8}), "x");
  std::mt19937 rng(3);
  Op w = b.ConstantLiteral(RandomLiteral(ShapeUtil::MakeShape(PrimitiveType::F32, {8, 4, 3, 3}), rng, {-0.5, 0.5}));
  Op y = b.ConvGeneralDilated(x, w, {1, 1}, {{1, 1}, {1, 1}}, {}, {}, hlo::ConvolutionDimensionNumbers::Nchw(2));
  Op r = b.Reduce(b.Exp(y), b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32), {2, 3});
  absl::StatusOr<std::unique_ptr<hlo::Module>> m = b.Build(r);
  KILN_CHECK(m.ok(), m.status().ToString());
  return std::move(*m);
}

TEST(CpuCompileTimesTest, EveryBackendPhaseIsMeasured) {
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  absl::StatusOr<std::unique_ptr<backends::Executable>> exe = backend->Compile(ConvThenLoopModule(), {});
  ASSERT_TRUE(exe.ok()) << exe.status();
  const backends::CompileTimes& t = (*exe)->compile_times();
  EXPECT_GT(t.pipeline_ms, 0);
  EXPECT_GE(t.planning_ms, 0);
  EXPECT_GT(t.primitives_ms, 0);
  EXPECT_GT(t.ir_emission_ms, 0);
  EXPECT_GT(t.llvm_opt_ms, 0);
  EXPECT_GT(t.llvm_codegen_ms, 0);
  EXPECT_GE(t.primitives, 1);
  EXPECT_GE(t.kernels, 1);
  EXPECT_GT(t.ir_instructions, 10);
  // The JIT's phases are not the backend's to fill in.
  EXPECT_EQ(t.lower_ms, 0);
  EXPECT_EQ(t.cache_key_ms, 0);
  EXPECT_NEAR(t.total_ms(), t.pipeline_ms + t.planning_ms + t.primitives_ms + t.ir_emission_ms + t.llvm_opt_ms +
                                t.llvm_codegen_ms, 1e-9);
  EXPECT_NE(t.ToString().find("llvm_opt"), std::string::npos) << t.ToString();
}

}  // namespace
}  // namespace kiln::testing
