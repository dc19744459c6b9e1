// CPU backend behaviour beyond single ops: independent executables from repeated compiles,
// concurrent Run() on one executable, registry entries, argument checking and unsupported ops.
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/backends/backend.h"
#include "kiln/backends/cpu.h"
#include "kiln/backends/interpreter.h"
#include "kiln/hlo/builder.h"
#include "tests/backends/backend_test_util.h"

namespace kiln::testing {
namespace {

using hlo::Builder;
using hlo::Op;
using hlo::Opcode;
using hlo::PrimitiveType;
using hlo::ShapeUtil;

const ErrorSpec kConvTolerance{1e-4, 1e-4};

// conv 3x3 (+bias, relu6) -> depthwise -> reduce mean -> softmax-free logits: oneDNN thunks and
// loop kernels in one module.
std::unique_ptr<hlo::Module> ConvModule() {
  Builder b("conv_module");
  Op x = b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::F32, {1, 4, 12, 12}), "x");
  std::mt19937 rng(5);
  Op w = b.ConstantLiteral(RandomLiteral(ShapeUtil::MakeShape(PrimitiveType::F32, {8, 4, 3, 3}), rng, {-0.5, 0.5}));
  Op bias = b.ConstantLiteral(RandomLiteral(ShapeUtil::MakeShape(PrimitiveType::F32, {8}), rng));
  Op y = b.ConvGeneralDilated(x, w, {2, 2}, {{1, 1}, {1, 1}}, {}, {}, hlo::ConvolutionDimensionNumbers::Nchw(2));
  y = b.Clamp(b.ConstantR0<float>(0.0f), b.Add(y, bias, {1}), b.ConstantR0<float>(6.0f));
  Op dw = b.ConstantLiteral(RandomLiteral(ShapeUtil::MakeShape(PrimitiveType::F32, {8, 1, 3, 3}), rng, {-0.5, 0.5}));
  Op d = b.ConvGeneralDilated(y, dw, {1, 1}, {{1, 1}, {1, 1}}, {}, {}, hlo::ConvolutionDimensionNumbers::Nchw(2), 8);
  Op mean = b.Div(b.Reduce(b.Add(d, y), b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32), {2, 3}),
                  b.ConstantR0<float>(36.0f));
  absl::StatusOr<std::unique_ptr<hlo::Module>> m = b.Build(b.Tuple({mean, d}));
  KILN_CHECK(m.ok(), m.status().ToString());
  return std::move(*m);
}

TEST(CpuBackendTest, RegistryHasCpuAndInterpreter) {
  backends::RegisterBackends();
  backends::RegisterBackends();  // Idempotent.
  ASSERT_NE(backends::BackendRegistry::Global().Find("cpu"), nullptr);
  ASSERT_NE(backends::BackendRegistry::Global().Find("interpreter"), nullptr);
  EXPECT_EQ(backends::BackendRegistry::Global().Find("cpu")->name(), "cpu");
}

TEST(CpuBackendTest, CompilingTwiceGivesIndependentExecutables) {
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  std::unique_ptr<hlo::Module> module = ConvModule();
  std::mt19937 rng(9);
  std::vector<hlo::Literal> args = {RandomLiteral(module->entry_program_shape().parameters[0], rng)};
  absl::StatusOr<hlo::Literal> expected = backends::Evaluate(*module, args);
  ASSERT_TRUE(expected.ok()) << expected.status();
  std::vector<hlo::Literal> want = Flatten(std::move(*expected));

  absl::StatusOr<std::vector<hlo::Literal>> first = RunOnBackend(*backend, *module, args);
  ASSERT_TRUE(first.ok()) << first.status();
  // RunOnBackend compiles afresh each call and destroys the executable afterwards: the second
  // executable must not depend on anything the first one owned.
  absl::StatusOr<std::vector<hlo::Literal>> second = RunOnBackend(*backend, *module, args);
  ASSERT_TRUE(second.ok()) << second.status();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(CompareLiterals(want[i], (*first)[i], kConvTolerance), "") << "first, result " << i;
    EXPECT_EQ(CompareLiterals(want[i], (*second)[i], kConvTolerance), "") << "second, result " << i;
  }
}

TEST(CpuBackendTest, ConcurrentRunsOnOneExecutable) {
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  std::unique_ptr<hlo::Module> module = ConvModule();
  absl::StatusOr<std::unique_ptr<backends::Executable>> exe = backend->Compile(module->Clone(), {});
  ASSERT_TRUE(exe.ok()) << exe.status();

  constexpr int kThreads = 2;
  constexpr int kIterations = 20;
  std::vector<std::vector<hlo::Literal>> inputs(kThreads), wants(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    std::mt19937 rng(100 + t);
    inputs[t].push_back(RandomLiteral(module->entry_program_shape().parameters[0], rng));
    absl::StatusOr<hlo::Literal> expected = backends::Evaluate(*module, inputs[t]);
    ASSERT_TRUE(expected.ok()) << expected.status();
    wants[t] = Flatten(std::move(*expected));
  }
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int it = 0; it < kIterations && failures[t].empty(); ++it) {
        std::vector<hlo::Literal> results;
        std::vector<backends::BufferRef> refs;
        for (const hlo::Shape& s : (*exe)->result_shapes()) results.emplace_back(s);
        for (hlo::Literal& r : results) refs.push_back({r.untyped_data(), r.size_bytes()});
        backends::BufferRef arg{inputs[t][0].untyped_data(), inputs[t][0].size_bytes()};
        backends::RunContext ctx;
        absl::Status s = (*exe)->Run({&arg, 1}, refs, ctx);
        if (!s.ok()) {
          failures[t] = s.ToString();
          break;
        }
        for (size_t i = 0; i < results.size(); ++i) {
          std::string diff = CompareLiterals(wants[t][i], results[i], kConvTolerance);
          if (!diff.empty()) failures[t] = absl::StrCat("iteration ", it, " result ", i, ": ", diff);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

TEST(CpuBackendTest, RunRejectsWrongBufferSizes) {
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  absl::StatusOr<std::unique_ptr<backends::Executable>> exe = backend->Compile(ConvModule(), {});
  ASSERT_TRUE(exe.ok()) << exe.status();
  std::vector<float> small(3), out0(8), out1(8 * 6 * 6);
  backends::BufferRef arg{small.data(), small.size() * sizeof(float)};
  backends::BufferRef res[2] = {{out0.data(), out0.size() * 4}, {out1.data(), out1.size() * 4}};
  backends::RunContext ctx;
  absl::Status s = (*exe)->Run({&arg, 1}, res, ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST(CpuBackendTest, UnsupportedOpIsReportedNotCompiled) {
  Builder b("sorted");
  auto sub = b.CreateSubBuilder("lt");
  Op l = sub->Parameter(0, ShapeUtil::MakeScalarShape(PrimitiveType::F32), "a");
  Op r = sub->Parameter(1, ShapeUtil::MakeScalarShape(PrimitiveType::F32), "b");
  Op sorted = b.Sort({b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::F32, {6}), "x")},
                     sub->BuildSubComputation(sub->Lt(l, r)));
  absl::StatusOr<std::unique_ptr<hlo::Module>> m = b.Build(sorted);
  ASSERT_TRUE(m.ok()) << m.status();
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  EXPECT_FALSE(backend->IsOpSupported(*(*m)->entry_computation()->root_instruction()));
  absl::StatusOr<std::unique_ptr<backends::Executable>> exe = backend->Compile(std::move(*m), {});
  ASSERT_FALSE(exe.ok());
  EXPECT_EQ(exe.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(exe.status().message().find("sort"), std::string::npos) << exe.status();
}

}  // namespace
}  // namespace kiln::testing
