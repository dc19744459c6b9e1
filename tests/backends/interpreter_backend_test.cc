// The interpreter backend: compiling keeps the module, running evaluates it on caller buffers.
#include <cmath>
#include <memory>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/backends/backend.h"
#include "kiln/backends/interpreter.h"
#include "kiln/hlo/builder.h"
#include "kiln/hlo/parser.h"

namespace kiln::backends {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

hlo::Shape F32(std::vector<int64_t> dims) {
  return hlo::ShapeUtil::MakeShape(hlo::PrimitiveType::F32, dims);
}

TEST(InterpreterBackendTest, CompileAndRunOnBuffers) {
  RegisterInterpreterBackend();
  Backend* backend = BackendRegistry::Global().Find("interpreter");
  ASSERT_NE(backend, nullptr);
  EXPECT_THAT(BackendRegistry::Global().Names(), Contains("interpreter"));
  hlo::Builder b("softmax");
  hlo::Op x = b.Parameter(0, F32({1, 2}), "x");
  hlo::Op m = b.Reduce(x, b.ConstantR0<float>(-INFINITY),
                       b.ScalarComputation(hlo::Opcode::kMaximum, hlo::PrimitiveType::F32), {1});
  hlo::Op e = b.Exp(b.Sub(x, m, {0}));
  hlo::Op s = b.Reduce(e, b.ConstantR0<float>(0.0f),
                       b.ScalarComputation(hlo::Opcode::kAdd, hlo::PrimitiveType::F32), {1});
  hlo::Op y = b.Div(e, s, {0});
  auto module = b.Build(b.Tuple({y, m}));
  ASSERT_TRUE(module.ok()) << module.status();
  auto exe = backend->Compile(*std::move(module), {});
  ASSERT_TRUE(exe.ok()) << exe.status();
  ASSERT_EQ((*exe)->result_shapes().size(), 2u);
  float in[2] = {0.0f, std::log(3.0f)};
  float out[2] = {0, 0};
  float max_out = 0;
  RunContext ctx;
  BufferRef args[] = {{in, sizeof(in)}};
  BufferRef results[] = {{out, sizeof(out)}, {&max_out, sizeof(max_out)}};
  ASSERT_TRUE((*exe)->Run(args, results, ctx).ok());
  // exp(0 - ln3) / (exp(-ln3) + 1) = (1/3) / (4/3) = 0.25.
  EXPECT_NEAR(out[0], 0.25f, 1e-6);
  EXPECT_NEAR(out[1], 0.75f, 1e-6);
  EXPECT_NEAR(max_out, std::log(3.0f), 1e-6);
  BufferRef short_args[] = {{in, 4}};
  absl::Status s2 = (*exe)->Run(short_args, results, ctx);
  EXPECT_EQ(s2.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s2.message(), HasSubstr("argument 0 has 4 bytes"));
}

TEST(InterpreterBackendTest, CompileRefusesCustomCallTargetsTheEvaluatorDoesNotKnow) {
  std::unique_ptr<Backend> backend = CreateInterpreterBackend();
  absl::StatusOr<std::unique_ptr<hlo::Module>> known = hlo::ParseModule(R"(HloModule cc
ENTRY main {
  x = f32[2] parameter(0)
  ROOT s = f32[2] custom-call(x), custom_call_target="Sharding", sharding={replicated}
})");
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_TRUE(backend->IsOpSupported(*(*known)->entry_computation()->root_instruction()));
  EXPECT_TRUE(backend->Compile(*std::move(known), {}).ok());
  absl::StatusOr<std::unique_ptr<hlo::Module>> unknown = hlo::ParseModule(R"(HloModule cc
ENTRY main {
  x = f32[2] parameter(0)
  ROOT s = f32[2] custom-call(x), custom_call_target="my_kernel"
})");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_FALSE(backend->IsOpSupported(*(*unknown)->entry_computation()->root_instruction()));
  absl::StatusOr<std::unique_ptr<Executable>> exe = backend->Compile(*std::move(unknown), {});
  ASSERT_FALSE(exe.ok());
  EXPECT_EQ(exe.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(exe.status().message(), HasSubstr("custom-call (instruction %s)"));
}

}  // namespace
}  // namespace kiln::backends
