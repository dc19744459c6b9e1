// The compilation cache, the HLO dump flag and the fallback to the runtime kernels.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "jit/compilation_cache.h"
#include "jit/encapsulate.h"
#include "jit/lower.h"
#include "kiln/backends/backend.h"
#include "kiln/backends/cpu.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/executor.h"
#include "kiln/session/session.h"
#include "kiln/version.h"
#include "tests/jit/jit_test_util.h"

namespace kiln::jit {
namespace {

using ::kiln::jit::testing::JitOptionsFor;
using ::kiln::jit::testing::MakeNode;
using ::kiln::jit::testing::MaxAbsDiff;
using ::kiln::jit::testing::NoJit;
using ::kiln::jit::testing::RandomTensor;

// x[rows, 3] -> Relu -> Add(w) -> Mul(x) -> y. `weight_seed` makes the cluster (and its
// fingerprint) distinct from other tests' so process-wide counters can be compared.
Graph SmallModel(int64_t rows, uint32_t weight_seed) {
  Graph g;
  g.name = "small";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {rows, 3}, true});
  g.initializers["w"] = RandomTensor({3}, weight_seed);
  g.nodes.push_back(MakeNode("relu", "Relu", {"x"}, {"r"}));
  g.nodes.push_back(MakeNode("add", "Add", {"r", "w"}, {"a"}));
  g.nodes.push_back(MakeNode("mul", "Mul", {"a", "x"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {rows, 3}, true});
  return g;
}

std::string LaunchFingerprint(const Session& session) {
  for (const Node& node : session.executed_graph().nodes) {
    if (node.op == "_KilnLaunch") return *node.GetString("fingerprint");
  }
  return "";
}

TEST(CompilationCacheTest, SecondRunCompilesNothingAndSessionsShareTheCache) {
  Graph g = SmallModel(2, 101);
  auto first = Session::Create(g, JitOptionsFor("cpu", 2));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ((*first)->stats().num_clusters, 1);
  Feeds feeds = {{"x", RandomTensor({2, 3}, 7)}};

  CacheStats before = GetCacheStats();
  auto out1 = (*first)->Run(feeds);
  ASSERT_TRUE(out1.ok()) << out1.status();
  CacheStats after_first = GetCacheStats();
  EXPECT_EQ(after_first.compilations, before.compilations + 1);
  EXPECT_EQ(after_first.failures, before.failures);

  auto out2 = (*first)->Run(feeds);
  ASSERT_TRUE(out2.ok()) << out2.status();
  CacheStats after_second = GetCacheStats();
  EXPECT_EQ(after_second.compilations, after_first.compilations) << "the second run compiled again";
  EXPECT_EQ(after_second.hits, after_first.hits + 1);
  EXPECT_EQ(MaxAbsDiff((*out1)[0], (*out2)[0]), 0.0);

  // A second session of the same model hits the first one's executable.
  auto second = Session::Create(g, JitOptionsFor("cpu", 2));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(LaunchFingerprint(**second), LaunchFingerprint(**first));
  auto out3 = (*second)->Run(feeds);
  ASSERT_TRUE(out3.ok()) << out3.status();
  EXPECT_EQ(GetCacheStats().compilations, after_second.compilations);
  EXPECT_EQ(GetCacheStats().hits, after_second.hits + 1);
  // Each session's stats count its own lookups only, whatever other sessions of the process did.
  EXPECT_EQ((*first)->stats().compilations, 1);
  EXPECT_EQ((*first)->stats().cache_hits, 1);
  EXPECT_EQ((*second)->stats().compilations, 0);
  EXPECT_EQ((*second)->stats().cache_hits, 1);
  EXPECT_EQ((*second)->stats().failures, 0);

  // The same cluster with a new input shape compiles again (same fingerprint, another HLO module).
  auto wider = Session::Create(SmallModel(5, 101), JitOptionsFor("cpu", 2));
  ASSERT_TRUE(wider.ok()) << wider.status();
  EXPECT_EQ(LaunchFingerprint(**wider), LaunchFingerprint(**first));
  auto out4 = (*wider)->Run({{"x", RandomTensor({5, 3}, 8)}});
  ASSERT_TRUE(out4.ok()) << out4.status();
  EXPECT_EQ(GetCacheStats().compilations, after_second.compilations + 1);
  EXPECT_EQ((*out4)[0].dims(), (Dims{5, 3}));

  // And the JIT's values are the kernels'.
  auto reference = Session::Create(g, NoJit());
  ASSERT_TRUE(reference.ok());
  auto expected = (*reference)->Run(feeds);
  ASSERT_TRUE(expected.ok());
  EXPECT_LE(MaxAbsDiff((*out1)[0], (*expected)[0]), 1e-6);
}

TEST(SessionStatsTest, EachSessionCountsOnlyItsOwnLaunches) {
  Graph g = SmallModel(2, 151);
  auto ran = Session::Create(g, JitOptionsFor("cpu", 2));
  auto idle = Session::Create(g, JitOptionsFor("cpu", 2));
  ASSERT_TRUE(ran.ok() && idle.ok());
  Feeds feeds = {{"x", RandomTensor({2, 3}, 13)}};
  ASSERT_TRUE((*ran)->Run(feeds).ok());
  ASSERT_TRUE((*ran)->Run(feeds).ok());
  EXPECT_EQ((*ran)->stats().compilations, 1);
  EXPECT_EQ((*ran)->stats().cache_hits, 1);
  // The other session of the same model ran nothing: its counters stay zero although the
  // process-wide cache now holds its cluster's executable.
  const SessionStats idle_stats = (*idle)->stats();
  EXPECT_EQ(idle_stats.num_clusters, 1);
  EXPECT_EQ(idle_stats.compilations, 0);
  EXPECT_EQ(idle_stats.cache_hits, 0);
  EXPECT_EQ(idle_stats.failures, 0);
}

TEST(CompilationCacheTest, DifferentWeightsDoNotShareAnExecutable) {
  auto a = Session::Create(SmallModel(2, 201), JitOptionsFor("cpu", 2));
  auto b = Session::Create(SmallModel(2, 202), JitOptionsFor("cpu", 2));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(LaunchFingerprint(**a), LaunchFingerprint(**b));
  Feeds feeds = {{"x", RandomTensor({2, 3}, 9)}};
  int64_t before = GetCacheStats().compilations;
  ASSERT_TRUE((*a)->Run(feeds).ok());
  ASSERT_TRUE((*b)->Run(feeds).ok());
  EXPECT_EQ(GetCacheStats().compilations, before + 2);
}

// SmallModel under other names, with an Identity after the Relu: a different runtime graph (and
// fingerprint) that lowers to the same HLO.
Graph RenamedSmallModelWithIdentity(int64_t rows, uint32_t weight_seed) {
  Graph g;
  g.name = "renamed";
  g.inputs.push_back(ValueInfo{"input", DType::kF32, {rows, 3}, true});
  g.initializers["bias"] = RandomTensor({3}, weight_seed);
  g.nodes.push_back(MakeNode("activation", "Relu", {"input"}, {"act"}));
  g.nodes.push_back(MakeNode("copy", "Identity", {"act"}, {"act_copy"}));
  g.nodes.push_back(MakeNode("shift", "Add", {"act_copy", "bias"}, {"shifted"}));
  g.nodes.push_back(MakeNode("scale", "Mul", {"shifted", "input"}, {"result"}));
  g.outputs.push_back(ValueInfo{"result", DType::kF32, {rows, 3}, true});
  return g;
}

// A backend that compiles with the CPU backend and reports `options` as its target description,
// standing in for a backend whose options changed between two sessions.
class OptionsProbeBackend : public backends::Backend {
 public:
  static constexpr char kName[] = "options_probe";
  explicit OptionsProbeBackend(std::string* options) : options_(options), cpu_(backends::CreateCpuBackend()) {}
  std::string_view name() const override { return kName; }
  std::string TargetDescription() const override { return "options_probe " + *options_; }
  bool IsOpSupported(const hlo::Instruction& instruction) const override {
    return cpu_->IsOpSupported(instruction);
  }
  absl::StatusOr<std::unique_ptr<backends::Executable>> Compile(std::unique_ptr<hlo::Module> module,
                                                                const backends::CompileOptions& options) override {
    return cpu_->Compile(std::move(module), options);
  }

 private:
  std::string* options_;
  std::unique_ptr<backends::Backend> cpu_;
};

std::unique_ptr<hlo::Module> Lower(const Graph& g, const std::string& name, std::vector<Dims> dims = {}) {
  absl::StatusOr<std::unique_ptr<hlo::Module>> module = LowerGraph(g, name, dims);
  EXPECT_TRUE(module.ok()) << module.status();
  return module.ok() ? *std::move(module) : nullptr;
}

TEST(CompilationKeyTest, IgnoresNamesAndHoldsBackendTargetAndVersion) {
  backends::RegisterBackends();
  const backends::Backend& cpu = *backends::BackendRegistry::Global().Find("cpu");
  const backends::Backend& interpreter = *backends::BackendRegistry::Global().Find("interpreter");
  std::unique_ptr<hlo::Module> a = Lower(SmallModel(2, 701), "cluster_a");
  std::unique_ptr<hlo::Module> b = Lower(RenamedSmallModelWithIdentity(2, 701), "cluster_b");
  ASSERT_TRUE(a != nullptr && b != nullptr);
  ASSERT_NE(a->ToString(), b->ToString()) << "the two lowerings differ in names";
  const std::string a_before = a->ToString();
  EXPECT_EQ(CanonicalModuleText(*a), CanonicalModuleText(*b));
  EXPECT_EQ(a->ToString(), a_before) << "CanonicalModuleText restores the names it changed";
  EXPECT_EQ(CompilationKey(*a, cpu), CompilationKey(*b, cpu));
  const std::string key = CompilationKey(*a, cpu);
  EXPECT_NE(key.find(cpu.TargetDescription()), std::string::npos) << key;
  EXPECT_NE(key.find(KILN_VERSION), std::string::npos) << key;
  EXPECT_NE(key, CompilationKey(*a, interpreter));
  // Other input shapes or other weights are another module.
  std::unique_ptr<hlo::Module> wider = Lower(SmallModel(2, 701), "cluster_a", {{4, 3}});
  std::unique_ptr<hlo::Module> reweighted = Lower(SmallModel(2, 702), "cluster_a");
  ASSERT_TRUE(wider != nullptr && reweighted != nullptr);
  EXPECT_NE(CompilationKey(*wider, cpu), key);
  EXPECT_NE(CompilationKey(*reweighted, cpu), key);
  // The CPU backend's options and the host CPU it targets are part of the key.
  EXPECT_NE(cpu.TargetDescription().find(" cpu="), std::string::npos) << cpu.TargetDescription();
  EXPECT_NE(cpu.TargetDescription().find(" features=+"), std::string::npos) << cpu.TargetDescription();
  backends::CpuBackendOptions unoptimized;
  unoptimized.opt_level = 0;
  EXPECT_NE(CompilationKey(*a, *backends::CreateCpuBackend(unoptimized)), key);
  // Constants appear as a hash of their bytes, not as their values.
  EXPECT_NE(CanonicalModuleText(*a).find("constant(bytes#"), std::string::npos) << CanonicalModuleText(*a);
}

TEST(CompilationCacheTest, ClustersThatLowerToTheSameHloShareOneEntry) {
  auto first = Session::Create(SmallModel(2, 711), JitOptionsFor("cpu", 2));
  auto second = Session::Create(RenamedSmallModelWithIdentity(2, 711), JitOptionsFor("cpu", 2));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ((*second)->stats().num_clusters, 1);
  EXPECT_NE(LaunchFingerprint(**first), LaunchFingerprint(**second)) << "the runtime graphs differ";
  const CacheStats before = GetCacheStats();
  const Tensor x = RandomTensor({2, 3}, 14);
  auto out1 = (*first)->Run({{"x", x}});
  auto out2 = (*second)->Run({{"input", x}});
  ASSERT_TRUE(out1.ok()) << out1.status();
  ASSERT_TRUE(out2.ok()) << out2.status();
  EXPECT_EQ(GetCacheStats().compilations, before.compilations + 1);
  EXPECT_EQ(GetCacheStats().entries, before.entries + 1);
  EXPECT_EQ((*second)->stats().compilations, 0);
  EXPECT_EQ((*second)->stats().cache_hits, 1);
  EXPECT_EQ(MaxAbsDiff((*out1)[0], (*out2)[0]), 0.0);
}

TEST(CompilationCacheTest, OtherBackendOptionsOrInputShapesMiss) {
  static std::string options;  // Outlives the test: the registry keeps the backend.
  options = "fast";
  backends::RegisterBackends();
  backends::BackendRegistry::Global().Register(std::make_unique<OptionsProbeBackend>(&options));
  Graph g = SmallModel(2, 721);
  Feeds feeds = {{"x", RandomTensor({2, 3}, 15)}};
  auto run_new_session = [&](const Graph& graph, const Feeds& f) -> SessionStats {
    auto session = Session::Create(graph, JitOptionsFor(OptionsProbeBackend::kName, 2));
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return {};
    auto out = (*session)->Run(f);
    EXPECT_TRUE(out.ok()) << out.status();
    return (*session)->stats();
  };
  EXPECT_EQ(run_new_session(g, feeds).compilations, 1);
  EXPECT_EQ(run_new_session(g, feeds).cache_hits, 1) << "same module, backend and options";
  options = "small";
  EXPECT_EQ(run_new_session(g, feeds).compilations, 1) << "other options";
  EXPECT_EQ(run_new_session(SmallModel(3, 721), {{"x", RandomTensor({3, 3}, 16)}}).compilations, 1)
      << "other input shapes";
  options = "fast";
  EXPECT_EQ(run_new_session(g, feeds).cache_hits, 1) << "the first options' entry is still there";
}

TEST(CompilationCacheTest, ClearingTheCacheMakesLaunchNodesCompileAgain) {
  auto session = Session::Create(SmallModel(2, 731), JitOptionsFor("cpu", 2));
  ASSERT_TRUE(session.ok()) << session.status();
  Feeds feeds = {{"x", RandomTensor({2, 3}, 17)}};
  ASSERT_TRUE((*session)->Run(feeds).ok());
  ClearCompilationCache();
  ASSERT_TRUE((*session)->Run(feeds).ok());
  EXPECT_EQ((*session)->stats().compilations, 2) << "the launch node kept an executable the cache dropped";
  ASSERT_TRUE((*session)->Run(feeds).ok());
  EXPECT_EQ((*session)->stats().cache_hits, 1);
}

// x -> Relu -> Add(w) -> Cast f64 -> Cast f32 -> Mul(w) -> Relu -> y: the f64 casts stay with the
// kernels, leaving two clusters whose input types are known before the first run.
Graph TwoClusterModel(uint32_t weight_seed) {
  Graph g;
  g.name = "two_clusters";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {4, 3}, true});
  g.initializers["w"] = RandomTensor({3}, weight_seed);
  g.nodes.push_back(MakeNode("relu1", "Relu", {"x"}, {"r1"}));
  g.nodes.push_back(MakeNode("add", "Add", {"r1", "w"}, {"a"}));
  Node to64 = MakeNode("to64", "Cast", {"a"}, {"d"});
  to64.attrs["to"] = int64_t{11};
  g.nodes.push_back(to64);
  Node to32 = MakeNode("to32", "Cast", {"d"}, {"f"});
  to32.attrs["to"] = int64_t{1};
  g.nodes.push_back(to32);
  g.nodes.push_back(MakeNode("mul", "Mul", {"f", "w"}, {"m"}));
  g.nodes.push_back(MakeNode("relu2", "Relu", {"m"}, {"y"}));
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {4, 3}, true});
  return g;
}

// The first Run compiles both clusters at once before running (CompileClustersInParallel); the
// counters read as if each had compiled on its first execution, and results match the kernels.
TEST(CompilationCacheTest, FirstRunCompilesIndependentClustersInParallel) {
  const Graph g = TwoClusterModel(313);
  auto session = Session::Create(g, JitOptionsFor("cpu", 2));
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_EQ((*session)->stats().num_clusters, 2);
  EXPECT_EQ((*session)->stats().compiled_in_parallel, 0);
  Feeds feeds = {{"x", RandomTensor({4, 3}, 17)}};
  auto out = (*session)->Run(feeds);
  ASSERT_TRUE(out.ok()) << out.status();
  SessionStats stats = (*session)->stats();
  EXPECT_EQ(stats.compiled_in_parallel, 2);
  EXPECT_GT(stats.parallel_compile_ms, 0.0);
  EXPECT_EQ(stats.compilations, 2);
  EXPECT_EQ(stats.cache_hits, 0) << "the first run's lookups of the precompiled entries are not hits";
  EXPECT_EQ(stats.failures, 0);
  auto again = (*session)->Run(feeds);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*session)->stats().compilations, 2);
  EXPECT_EQ((*session)->stats().cache_hits, 2);
  EXPECT_EQ((*session)->stats().compiled_in_parallel, 2);

  auto kernels = Session::Create(g, NoJit());
  ASSERT_TRUE(kernels.ok()) << kernels.status();
  auto want = (*kernels)->Run(feeds);
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_LE(MaxAbsDiff((*out)[0], (*want)[0]), 1e-6);
}

TEST(CompilationCacheTest, ConcurrentFirstRunsCompileOnce) {
  auto session = Session::Create(SmallModel(4, 301), JitOptionsFor("cpu", 2));
  ASSERT_TRUE(session.ok()) << session.status();
  Feeds feeds = {{"x", RandomTensor({4, 3}, 10)}};
  auto reference = Session::Create(SmallModel(4, 301), NoJit());
  ASSERT_TRUE(reference.ok());
  auto expected = (*reference)->Run(feeds);
  ASSERT_TRUE(expected.ok());

  int64_t before = GetCacheStats().compilations;
  constexpr int kThreads = 8;
  std::vector<double> diffs(kThreads, INFINITY);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto out = (*session)->Run(feeds);
      if (out.ok()) diffs[t] = MaxAbsDiff((*out)[0], (*expected)[0]);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(GetCacheStats().compilations, before + 1);
  for (int t = 0; t < kThreads; ++t) EXPECT_LE(diffs[t], 1e-6) << "thread " << t;
}

TEST(DumpTest, WritesOneHloTextFilePerCompilation) {
  std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("kiln_jit_dump_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  SessionOptions options = JitOptionsFor("cpu", 2);
  options.dump_to = (dir / "nested").string();  // Created on demand.
  auto session = Session::Create(SmallModel(3, 401), options);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({{"x", RandomTensor({3, 3}, 11)}}).ok());
  std::string fingerprint = LaunchFingerprint(**session);
  ASSERT_EQ(fingerprint.size(), 16u);

  std::regex pattern("cluster_" + fingerprint + "_[0-9]+\\.hlo\\.txt");
  std::vector<std::filesystem::path> dumps;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "nested")) {
    if (std::regex_match(entry.path().filename().string(), pattern)) dumps.push_back(entry.path());
  }
  ASSERT_EQ(dumps.size(), 1u);
  std::ifstream in(dumps[0]);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("HloModule"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("ENTRY"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("maximum"), std::string::npos) << "Relu lowers to maximum:\n" << text.str();
  EXPECT_NE(text.str().find("f32[3,3]"), std::string::npos) << text.str();
  // The CPU pipeline dumps the module before its first pass and after every pass that changed it;
  // the fusion pass's output shows its decisions as fusion instructions.
  std::set<std::string> pipeline_dumps;
  std::regex pass_dump("cluster_" + fingerprint + "\\.[0-9]{4}\\.([a-z-]+\\.[a-z-]+)\\.txt");
  for (const auto& entry : std::filesystem::directory_iterator(dir / "nested")) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pass_dump)) pipeline_dumps.insert(m[1]);
  }
  EXPECT_TRUE(pipeline_dumps.contains("cpu.before")) << ::testing::PrintToString(pipeline_dumps);
  ASSERT_TRUE(pipeline_dumps.contains("cpu.cpu-fusion")) << ::testing::PrintToString(pipeline_dumps);
  for (const auto& entry : std::filesystem::directory_iterator(dir / "nested")) {
    if (entry.path().filename().string().find(".cpu.cpu-fusion.txt") == std::string::npos) continue;
    std::ifstream fused(entry.path());
    std::stringstream fused_text;
    fused_text << fused.rdbuf();
    EXPECT_NE(fused_text.str().find("kind=k"), std::string::npos) << fused_text.str();
  }
  std::filesystem::remove_all(dir);
}

TEST(FallbackTest, FailedCompilationRunsTheKernelsAndIsNotRetried) {
  // A launch node built by hand whose backend does not exist: compilation fails, the cluster runs
  // with the runtime kernels, and the failure is remembered.
  RegisterStandardOps();
  RegisterJitOps();
  auto cluster = std::make_shared<Graph>(SmallModel(2, 501));
  cluster->name = "fallback_cluster";
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 3}, true});
  Node launch = MakeNode("launch", "_KilnLaunch", {"x"}, {"y"});
  launch.attrs["backend"] = std::string("no_such_backend");
  launch.attrs["fingerprint"] = Fingerprint(*cluster);
  launch.attrs["cluster"] = std::shared_ptr<const Graph>(cluster);
  g.nodes.push_back(launch);
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {2, 3}, true});
  auto executor = Executor::Create(std::make_shared<const Graph>(g));
  ASSERT_TRUE(executor.ok()) << executor.status();

  Feeds feeds = {{"x", RandomTensor({2, 3}, 12)}};
  auto reference = Session::Create(SmallModel(2, 501), NoJit());
  ASSERT_TRUE(reference.ok());
  auto expected = (*reference)->Run(feeds);
  ASSERT_TRUE(expected.ok());

  CacheStats before = GetCacheStats();
  auto out = (*executor)->Run(feeds, {"y"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(MaxAbsDiff((*out)[0], (*expected)[0]), 0.0);
  EXPECT_EQ(GetCacheStats().failures, before.failures + 1);
  out = (*executor)->Run(feeds, {"y"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(GetCacheStats().failures, before.failures + 1) << "the failed compilation was retried";
  EXPECT_EQ(GetCacheStats().compilations, before.compilations);
  // The launch node's own counters: both runs fell back, the second by finding the remembered
  // failure, which counts as a failure and not as a cache hit.
  const CacheStats own = LaunchKernelStats((*executor)->kernel(static_cast<int>(g.nodes.size()) - 1));
  EXPECT_EQ(own.failures, 2);
  EXPECT_EQ(own.hits, 0);
  EXPECT_EQ(own.compilations, 0);
}

TEST(LaunchOpTest, ShapeFunctionInfersClusterOutputs) {
  RegisterStandardOps();
  RegisterJitOps();
  auto cluster = std::make_shared<Graph>(SmallModel(2, 601));
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 3}, true});
  Node launch = MakeNode("launch", "_KilnLaunch", {"x"}, {"y"});
  launch.attrs["cluster"] = std::shared_ptr<const Graph>(cluster);
  g.nodes.push_back(launch);
  auto types = InferTypes(g);
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(types->at("y").dims, (Dims{2, 3}));
  EXPECT_EQ(types->at("y").dtype, DType::kF32);
}

}  // namespace
}  // namespace kiln::jit
