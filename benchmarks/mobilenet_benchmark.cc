// MobileNetV2 (batch 1, 224x224) latency with the JIT off and on: the first run of a fresh session
// (which compiles every cluster when the JIT is on) and steady-state runs.
// Run single-threaded: OMP_NUM_THREADS=1 build/benchmarks/mobilenet_benchmark --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>

#include "kiln/jit/jit.h"
#include "kiln/session/session.h"

namespace kiln {
namespace {

const char* ModelPath() {
  static std::string path = std::string(KILN_SHARED_DATA) + "/models/mobilenet_v2_1.0_224.onnx";
  return path.c_str();
}

Tensor Input() {
  Tensor t = *Tensor::Create(DType::kF32, {1, 3, 224, 224});
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = static_cast<float>((i * 7919) % 256 - 128) / 128.0f;
  return t;
}

std::unique_ptr<Session> Load(int auto_jit) {
  SessionOptions options;
  options.auto_jit = auto_jit;
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Load(ModelPath(), options);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", ModelPath(), s.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(s);
}

// Session creation plus the first Run, with an empty compilation cache.
void BM_MobileNetV2_FirstRun(benchmark::State& state) {
  const int auto_jit = static_cast<int>(state.range(0));
  Tensor input = Input();
  for (auto _ : state) {
    jit::ClearCompilationCache();
    std::unique_ptr<Session> session = Load(auto_jit);
    auto out = session->Run({{"input", input}});
    if (!out.ok()) state.SkipWithError(out.status().ToString().c_str());
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(auto_jit ? "jit on" : "jit off");
}
BENCHMARK(BM_MobileNetV2_FirstRun)->Arg(0)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_MobileNetV2_Steady(benchmark::State& state) {
  const int auto_jit = static_cast<int>(state.range(0));
  std::unique_ptr<Session> session = Load(auto_jit);
  Tensor input = Input();
  if (!session->Run({{"input", input}}).ok()) state.SkipWithError("first run failed");
  for (auto _ : state) {
    auto out = session->Run({{"input", input}});
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(auto_jit ? "jit on" : "jit off");
}
BENCHMARK(BM_MobileNetV2_Steady)->Arg(0)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
