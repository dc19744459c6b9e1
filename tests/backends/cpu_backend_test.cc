// CPU backend behaviour beyond single ops: independent executables from repeated compiles,
// concurrent Run() on one executable, registry entries, argument checking and unsupported ops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/support/strings.h"
#include "kiln/backends/backend.h"
#include "kiln/backends/cpu.h"
#include "kiln/hlo/builder.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/support/vector_math.h"
#include "tests/backends/backend_test_util.h"
#include "backends/cpu/onednn_ops.h"

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

// The CPU backend emits f32 exp, logistic, tanh and erf as polynomials in IR (so that fused loops
// vectorize): within a few ulp of libm over their whole range, subnormal results and special values
// included.
TEST(CpuBackendTest, TranscendentalsWithinUlpOfLibm) {
  std::vector<float> x;
  for (float v = -110.0f; v <= 110.0f; v += 0.0137f) x.push_back(v);
  for (float v = -2.0f; v <= 2.0f; v += 1.3e-4f) x.push_back(v);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, inf, -inf, std::nanf(""), 1e-30f, -1e-30f, 88.7f, -103.9f, 3.95f, -1.0f, 1.0f}) {
    x.push_back(v);
  }
  const int64_t n = static_cast<int64_t>(x.size());
  Builder b("transcendentals");
  Op p = b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::F32, {n}), "x");
  absl::StatusOr<std::unique_ptr<hlo::Module>> m =
      b.Build(b.Tuple({b.Unary(Opcode::kExp, p), b.Unary(Opcode::kLogistic, p), b.Tanh(p), b.Unary(Opcode::kErf, p)}));
  ASSERT_TRUE(m.ok()) << m.status();
  std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend();
  absl::StatusOr<std::vector<hlo::Literal>> got = RunOnBackend(*backend, **m, {hlo::Literal::CreateR1<float>(x)});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 4u);
  struct Fn {
    const char* name;
    float (*ref)(float);
    int64_t max_ulp;
  };
  const Fn fns[] = {{"exp", [](float v) { return std::exp(v); }, 2},
                    {"logistic", [](float v) { return static_cast<float>(1.0 / (1.0 + std::exp(-double{v}))); }, 3},
                    {"tanh", [](float v) { return std::tanh(v); }, 3},
                    {"erf", [](float v) { return std::erf(v); }, 3}};
  for (int f = 0; f < 4; ++f) {
    absl::Span<const float> y = (*got)[f].data<float>();
    for (int64_t i = 0; i < n; ++i) {
      const float want = fns[f].ref(x[i]);
      ASSERT_LE(UlpDistance(y[i], want), fns[f].max_ulp) << fns[f].name << "(" << x[i] << ") = " << y[i] << ", libm " << want;
      if (want == 0.0f) EXPECT_EQ(std::signbit(y[i]), std::signbit(want)) << fns[f].name << "(" << x[i] << ")";
    }
  }
}

// A 3x3 stride-1 convolution with constant weights and 64 channels runs on oneDNN's Winograd
// algorithm where the CPU has it (AVX-512), and its results match the direct algorithm's (which the
// same convolution gets when its weights are not constant) to about 1e-6 relative.
TEST(CpuBackendTest, WinogradConvolutionMatchesDirect) {
  const dnnl::memory::dims src_dims = {1, 64, 14, 14}, w_dims = {64, 64, 3, 3};
  cpu::ConvSpec spec;
  spec.src = cpu::BlockedDesc(src_dims);
  spec.dst = cpu::BlockedDesc(src_dims);
  spec.weights = cpu::RowMajorDesc(w_dims);
  spec.has_bias = true;
  spec.strides = {1, 1};
  spec.dilations = {0, 0};
  spec.pad_l = {1, 1};
  spec.pad_r = {1, 1};
  spec.post_ops = {cpu::PostOp{cpu::PostOp::Kind::kClip, 0.0f, std::numeric_limits<float>::infinity()}};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(64 * 14 * 14), w(64 * 64 * 9), bias(64);
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng) / 24.0f;
  for (float& v : bias) v = dist(rng);

  absl::StatusOr<std::unique_ptr<cpu::ConvPrimitive>> winograd = cpu::ConvPrimitive::Create(spec, w.data());
  ASSERT_TRUE(winograd.ok()) << winograd.status();
  absl::StatusOr<std::unique_ptr<cpu::ConvPrimitive>> direct = cpu::ConvPrimitive::Create(spec, nullptr);
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ((*direct)->impl_name().find("wino"), std::string::npos) << (*direct)->impl_name();
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool avx512 = isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
                      isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  if (avx512) EXPECT_NE((*winograd)->impl_name().find("wino"), std::string::npos) << (*winograd)->impl_name();

  dnnl::stream stream(cpu::CpuEngine());
  absl::StatusOr<std::unique_ptr<cpu::ReorderPrimitive>> to_blocked =
      cpu::ReorderPrimitive::Create(cpu::RowMajorDesc(src_dims), spec.src);
  absl::StatusOr<std::unique_ptr<cpu::ReorderPrimitive>> to_plain =
      cpu::ReorderPrimitive::Create(spec.dst, cpu::RowMajorDesc(src_dims));
  ASSERT_TRUE(to_blocked.ok() && to_plain.ok());
  std::vector<float> blocked_x(spec.src.get_size() / sizeof(float));
  cpu::ArgCache cache;
  ASSERT_TRUE((*to_blocked)->Execute(stream, x.data(), blocked_x.data(), cache).ok());
  std::vector<std::vector<float>> results;
  for (const cpu::ConvPrimitive* conv : {winograd->get(), direct->get()}) {
    std::vector<float> blocked_y(conv->dst_desc().get_size() / sizeof(float)), y(x.size());
    std::vector<float> scratch((conv->scratch_bytes() + 63) / sizeof(float) + 16);
    void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
    cpu::ArgCache conv_cache, reorder_cache;
    ASSERT_TRUE(conv->Execute(stream, blocked_x.data(), w.data(), bias.data(), blocked_y.data(), aligned, conv_cache).ok());
    ASSERT_TRUE((*to_plain)->Execute(stream, blocked_y.data(), y.data(), reorder_cache).ok());
    results.push_back(std::move(y));
  }
  float max_abs = 0.0f;
  for (float v : results[1]) max_abs = std::max(max_abs, std::fabs(v));
  ASSERT_GT(max_abs, 1.0f);
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_NEAR(results[0][i], results[1][i], 1e-5f * max_abs) << "element " << i;
    ASSERT_GE(results[0][i], 0.0f) << "element " << i << ": the ReLU post-op";
  }
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
  absl::StatusOr<hlo::Literal> expected = hlo::Evaluate(*module, args);
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
    absl::StatusOr<hlo::Literal> expected = hlo::Evaluate(*module, inputs[t]);
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
          if (!diff.empty()) failures[t] = kiln::StrCat("iteration ", it, " result ", i, ": ", diff);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

// Inverted-residual and ResNet-style blocks: convolutions with 24 (padded), 48 and 32 channels,
// depthwise and grouped (3 channels per group) convolutions, residual adds whose other operand dies
// at the add (in place), is read again later, is a parameter, is a convolution computed by a
// sibling thunk (projection shortcut) or is the convolution's own input; convolution values read
// by loop kernels and returned as results. Exercises the channel-blocked layouts, the reorders at
// their borders and the sum post-op.
std::unique_ptr<hlo::Module> ResidualModule() {
  Builder b("residual_module");
  Op x = b.Parameter(0, ShapeUtil::MakeShape(PrimitiveType::F32, {1, 3, 10, 10}), "x");
  Op y = b.Parameter(1, ShapeUtil::MakeShape(PrimitiveType::F32, {1, 24, 10, 10}), "y");
  std::mt19937 rng(21);
  const auto dn = hlo::ConvolutionDimensionNumbers::Nchw(2);
  auto conv = [&](Op in, int64_t o, int64_t i, int64_t k, int64_t groups, bool bias) {
    const double r = 1.0 / std::sqrt(static_cast<double>(i * k * k));
    Op w = b.ConstantLiteral(RandomLiteral(ShapeUtil::MakeShape(PrimitiveType::F32, {o, i, k, k}), rng, {-r, r}));
    const int64_t p = k / 2;
    Op c = b.ConvGeneralDilated(in, w, {1, 1}, {{p, p}, {p, p}}, {}, {}, dn, groups);
    if (!bias) return c;
    return b.Add(c, b.ConstantLiteral(RandomLiteral(ShapeUtil::MakeShape(PrimitiveType::F32, {o}), rng, {-0.2, 0.2})),
                 {1});
  };
  auto relu6 = [&](Op v) { return b.Clamp(b.ConstantR0<float>(0.0f), v, b.ConstantR0<float>(6.0f)); };
  auto relu = [&](Op v) { return b.Max(v, b.ConstantR0<float>(0.0f)); };
  auto mean = [&](Op v) {
    return b.Reduce(v, b.ConstantR0<float>(0.0f), b.ScalarComputation(Opcode::kAdd, PrimitiveType::F32), {2, 3});
  };
  Op c1 = relu6(conv(x, 24, 3, 3, 1, true));
  Op e = relu(conv(c1, 48, 24, 1, 1, true));
  Op dw = relu6(conv(e, 48, 1, 3, 48, true));
  Op r1 = b.Add(conv(dw, 24, 48, 1, 1, true), c1);  // c1 dies here.
  Op g = relu(conv(r1, 24, 3, 3, 8, true));
  Op r2 = relu(b.Add(conv(g, 24, 24, 1, 1, true), r1));  // r1 is read again below.
  Op shortcut = conv(r2, 32, 24, 1, 1, false);
  Op r3 = relu(b.Add(conv(r2, 32, 24, 3, 1, true), shortcut));
  Op z = b.Add(conv(c1, 24, 24, 1, 1, false), y);
  Op t = relu(conv(r3, 32, 32, 3, 1, true));
  Op u = b.Add(conv(t, 32, 32, 1, 1, true), t);  // The residual operand is the convolution's input.
  absl::StatusOr<std::unique_ptr<hlo::Module>> m = b.Build(b.Tuple({mean(r3), r3, mean(r1), mean(e), z, mean(u)}));
  KILN_CHECK(m.ok(), m.status().ToString());
  return std::move(*m);
}

TEST(CpuBackendTest, ResidualBlocksMatchInterpreterWithAndWithoutBlockedLayouts) {
  std::unique_ptr<hlo::Module> module = ResidualModule();
  std::mt19937 rng(3);
  std::vector<hlo::Literal> args;
  for (const hlo::Shape& s : module->entry_program_shape().parameters) args.push_back(RandomLiteral(s, rng));
  absl::StatusOr<hlo::Literal> expected = hlo::Evaluate(*module, args);
  ASSERT_TRUE(expected.ok()) << expected.status();
  std::vector<hlo::Literal> want = Flatten(std::move(*expected));
  for (bool blocked : {true, false}) {
    backends::CpuBackendOptions options;
    options.blocked_layouts = blocked;
    std::unique_ptr<backends::Backend> backend = backends::CreateCpuBackend(options);
    absl::StatusOr<std::vector<hlo::Literal>> got = RunOnBackend(*backend, *module, args);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(CompareLiterals(want[i], (*got)[i], kConvTolerance), "") << "blocked " << blocked << ", result " << i;
    }
  }
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
