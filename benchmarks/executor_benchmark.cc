// The executor's memory plan and inter-op threads on MobileNetV2 (batch 1, 224x224, runtime kernels,
// JIT off): steady-state runs of one session with the plan off and on, with 1 and 2 inter-op threads.
// Run single-threaded: OMP_NUM_THREADS=1 build/benchmarks/executor_benchmark --benchmark_repetitions=5
// (the CPU column is the calling thread's CPU time; with 2 inter-op threads the work runs on the
// executor's pool, so compare wall time there).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "kiln/support/strings.h"
#include "kiln/session/session.h"

namespace kiln {
namespace {

void BM_MobileNetV2_Executor(benchmark::State& state) {
  SessionOptions options;
  options.auto_jit = 0;
  options.memory_plan = state.range(0) != 0;
  options.inter_op_threads = static_cast<int>(state.range(1));
  const std::string path = std::string(KILN_SHARED_DATA) + "/models/mobilenet_v2_1.0_224.onnx";
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Load(path, options);
  if (!session.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(), session.status().ToString().c_str());
    std::exit(1);
  }
  Tensor input = *Tensor::Create(DType::kF32, {1, 3, 224, 224});
  float* p = input.data<float>();
  for (int64_t i = 0; i < input.num_elements(); ++i) p[i] = static_cast<float>((i * 7919) % 256 - 128) / 128.0f;
  if (!(*session)->Run({{"input", input}}).ok()) state.SkipWithError("first run failed");
  for (auto _ : state) {
    auto out = (*session)->Run({{"input", input}});
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(kiln::StrCat(options.memory_plan ? "plan on" : "plan off", ", inter_op_threads=",
                              options.inter_op_threads));
}
BENCHMARK(BM_MobileNetV2_Executor)
    ->ArgNames({"plan", "threads"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
