// The executor's memory plan and inter-op parallelism: offsets never overlap for values that can be
// alive together, results are bit-identical with the plan on and off and with 1 or N inter-op
// threads (on both MobileNets and on branching graphs), and concurrent runs stay independent.
#include "kiln/runtime/memory_plan.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "kiln/runtime/executor.h"
#include "kiln/runtime/import.h"
#include "kiln/support/flags.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

const std::string kModels = std::string(KILN_SHARED_DATA) + "/models/";

// ---------------------------------------------------------------------------------------------
// AssignOffsetsGreedyBySize on its own.

TEST(GreedyBySizeTest, BuffersThatNeverMeetShareBytes) {
  int64_t total = 0;
  std::vector<int64_t> offsets =
      AssignOffsetsGreedyBySize({100, 300, 200}, [](int, int) { return false; }, 64, &total);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(total, 320);  // 300 rounded up to 64.
}

TEST(GreedyBySizeTest, PlacesLargestFirstAndFillsTheSmallestFittingGap) {
  // 0 conflicts with 1 and 2; 3 conflicts with 0 and 2 only: 0 (largest) at 0, 1 above it, 2 above
  // 1... 3 fits into the gap 1 leaves next to 2? Spelled out: sizes 4096, 1024, 2048, 512.
  //   0 [0, 4096); 2 conflicts with 0 -> [4096, 6144); 1 conflicts with 0 only -> [4096, 5120);
  //   3 conflicts with 0 and 2: gap between 0's end (4096) and 2 (4096) is empty, so above 2.
  auto conflict = [](int a, int b) {
    auto edge = [](int x, int y) { return (x == 0 && y != 0) || (x == 3 && y == 2); };
    return edge(a, b) || edge(b, a);
  };
  int64_t total = 0;
  std::vector<int64_t> offsets = AssignOffsetsGreedyBySize({4096, 1024, 2048, 512}, conflict, 64, &total);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 4096, 4096, 6144}));
  EXPECT_EQ(total, 6656);
}

TEST(GreedyBySizeTest, RandomIntervalsNeverOverlapWhenAliveTogether) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + static_cast<int>(rng() % 40);
    std::vector<int64_t> sizes(n);
    std::vector<std::pair<int, int>> life(n);
    for (int i = 0; i < n; ++i) {
      sizes[i] = 1 + rng() % 5000;
      int a = rng() % 50, b = rng() % 50;
      life[i] = {std::min(a, b), std::max(a, b)};
    }
    auto conflict = [&](int a, int b) { return !(life[a].second < life[b].first || life[b].second < life[a].first); };
    int64_t total = 0;
    std::vector<int64_t> offsets = AssignOffsetsGreedyBySize(sizes, conflict, 64, &total);
    int64_t peak = 0;
    for (int t = 0; t < 50; ++t) {
      int64_t live = 0;
      for (int i = 0; i < n; ++i) live += (life[i].first <= t && t <= life[i].second) ? (sizes[i] + 63) / 64 * 64 : 0;
      peak = std::max(peak, live);
    }
    EXPECT_GE(total, peak);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(offsets[i] % 64, 0);
      EXPECT_LE(offsets[i] + sizes[i], total);
      for (int j = i + 1; j < n; ++j) {
        if (!conflict(i, j)) continue;
        const bool disjoint = offsets[i] + sizes[i] <= offsets[j] || offsets[j] + sizes[j] <= offsets[i];
        EXPECT_TRUE(disjoint) << "round " << round << ": buffers " << i << " and " << j << " overlap";
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Graph helpers.

Node MakeNode(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
              std::map<std::string, AttrValue> attrs = {}) {
  Node n;
  n.name = outputs.empty() ? op : outputs[0] + "_node";
  n.op = op;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attrs = std::move(attrs);
  return n;
}

// Values in [-2, 2) from a fixed generator (exactly representable steps of 1/64).
Tensor Pattern(const Dims& dims, uint32_t seed) {
  Tensor t = *Tensor::Create(DType::kF32, dims);
  uint32_t state = seed * 2654435761u + 1;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    state = state * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(static_cast<int>((state >> 16) % 256) - 128) / 64.0f;
  }
  return t;
}

struct Mode {
  bool memory_plan;
  int threads;
};
const Mode kModes[] = {{false, 1}, {true, 1}, {false, 2}, {true, 2}, {true, 4}};

std::string ModeName(const Mode& m) {
  return std::string(m.memory_plan ? "plan" : "no plan") + ", " + std::to_string(m.threads) + " thread(s)";
}

std::unique_ptr<Executor> MakeExecutor(std::shared_ptr<const Graph> graph, const Mode& mode) {
  ExecutorOptions options;
  options.memory_plan = mode.memory_plan;
  options.inter_op_threads = mode.threads;
  absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(std::move(graph), options);
  EXPECT_TRUE(ex.ok()) << ex.status();
  return ex.ok() ? *std::move(ex) : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Branching graphs built from the standard kernels, with references computed here.

// x: f32[1,4,4,4]. Four chains from r = Relu(x) run independently and meet in Concat; views
// (Identity, Reshape, Flatten) sit on the way, one of them fetched, and `r` is fetched while later
// nodes still read it.
//   r = Relu(x); chain k: c_k0 = r * w_k; c_k1 = c_k0 + w_k; c_k2 = Identity(c_k1); c_k3 = c_k2 * c_k2
//   cat = Concat(c_03, c_13, c_23, c_33, axis=1); flat = Flatten(cat); s = Sub(flat, rr) with
//   rr = Reshape(Concat(r, r, r, r), [1, 256]); out = s + s.
std::shared_ptr<Graph> BranchGraph() {
  auto g = std::make_shared<Graph>();
  g->name = "branches";
  g->inputs = {ValueInfo{"x", DType::kF32, {1, 4, 4, 4}}};
  g->nodes.push_back(MakeNode("Relu", {"x"}, {"r"}));
  std::vector<std::string> tails;
  for (int k = 0; k < 4; ++k) {
    const std::string p = "c" + std::to_string(k);
    g->initializers["w" + std::to_string(k)] = Tensor::Scalar<float>(0.5f * (k + 1));
    g->nodes.push_back(MakeNode("Mul", {"r", "w" + std::to_string(k)}, {p + "0"}));
    g->nodes.push_back(MakeNode("Add", {p + "0", "w" + std::to_string(k)}, {p + "1"}));
    g->nodes.push_back(MakeNode("Identity", {p + "1"}, {p + "2"}));
    g->nodes.push_back(MakeNode("Mul", {p + "2", p + "2"}, {p + "3"}));
    tails.push_back(p + "3");
  }
  g->nodes.push_back(MakeNode("Concat", tails, {"cat"}, {{"axis", int64_t{1}}}));
  g->nodes.push_back(MakeNode("Flatten", {"cat"}, {"flat"}));
  g->nodes.push_back(MakeNode("Concat", {"r", "r", "r", "r"}, {"r4"}, {{"axis", int64_t{1}}}));
  g->initializers["shape"] = Tensor::FromVector<int64_t>({2}, {1, 256});
  g->nodes.push_back(MakeNode("Reshape", {"r4", "shape"}, {"rr"}));
  g->nodes.push_back(MakeNode("Sub", {"flat", "rr"}, {"s"}));
  g->nodes.push_back(MakeNode("Add", {"s", "s"}, {"out"}));
  g->outputs = {ValueInfo{"out", DType::kF32, {1, 256}}};
  return g;
}

// The same values computed with plain loops.
void BranchReference(const Tensor& x, std::vector<float>* r, std::vector<float>* flat, std::vector<float>* out) {
  const int64_t n = x.num_elements();  // 64
  r->resize(n);
  for (int64_t i = 0; i < n; ++i) (*r)[i] = std::max(x.data<float>()[i], 0.0f);
  flat->assign(4 * n, 0);
  out->assign(4 * n, 0);
  for (int k = 0; k < 4; ++k) {
    const float w = 0.5f * (k + 1);
    for (int64_t i = 0; i < n; ++i) {
      float c1 = (*r)[i] * w + w;
      (*flat)[k * n + i] = c1 * c1;
    }
  }
  for (int64_t i = 0; i < 4 * n; ++i) {
    float s = (*flat)[i] - (*r)[i % n];
    (*out)[i] = s + s;
  }
}

TEST(MemoryPlanTest, BranchGraphMatchesReferenceInEveryMode) {
  RegisterStandardOps();
  std::shared_ptr<Graph> graph = BranchGraph();
  for (const Mode& mode : kModes) {
    std::unique_ptr<Executor> ex = MakeExecutor(graph, mode);
    ASSERT_NE(ex, nullptr);
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      Tensor x = Pattern({1, 4, 4, 4}, seed);
      std::vector<float> r, flat, out;
      BranchReference(x, &r, &flat, &out);
      // Fetch the output, `r` (read later by other nodes), a view of an arena-planned value (flat)
      // and the view `c02` (Identity) of a value that later nodes read.
      absl::StatusOr<std::vector<Tensor>> got = ex->Run({{"x", x}}, {"out", "r", "flat", "c02"});
      ASSERT_TRUE(got.ok()) << ModeName(mode) << ": " << got.status();
      ASSERT_EQ((*got)[0].TypeString(), "f32[1,256]");
      for (int64_t i = 0; i < 256; ++i) {
        ASSERT_EQ((*got)[0].data<float>()[i], out[i]) << ModeName(mode) << " out[" << i << "]";
        ASSERT_EQ((*got)[2].data<float>()[i], flat[i]) << ModeName(mode) << " flat[" << i << "]";
      }
      for (int64_t i = 0; i < 64; ++i) {
        ASSERT_EQ((*got)[1].data<float>()[i], r[i]) << ModeName(mode);
        ASSERT_EQ((*got)[3].data<float>()[i], r[i] * 0.5f + 0.5f) << ModeName(mode);
      }
      // Fetched tensors own their memory: a second run does not change them.
      Tensor keep = (*got)[0].Clone();
      ASSERT_TRUE(ex->Run({{"x", Pattern({1, 4, 4, 4}, seed + 100)}}, {"out", "r", "flat", "c02"}).ok());
      EXPECT_TRUE((*got)[0].BitEqual(keep)) << ModeName(mode);
    }
  }
}

// A chain of equal-sized values needs two slots sequentially; a diamond needs more when its two
// branches may run at the same time.
TEST(MemoryPlanTest, ChainReusesTwoSlotsAndParallelPlanKeepsBranchesApart) {
  RegisterStandardOps();
  auto chain = std::make_shared<Graph>();
  chain->inputs = {ValueInfo{"x", DType::kF32, {1, 1024}}};
  chain->nodes = {MakeNode("Relu", {"x"}, {"a"}), MakeNode("Neg", {"a"}, {"b"}), MakeNode("Relu", {"b"}, {"c"}),
                  MakeNode("Neg", {"c"}, {"d"}), MakeNode("Relu", {"d"}, {"e"})};
  chain->outputs = {ValueInfo{"e", DType::kF32, {1, 1024}}};
  std::unique_ptr<Executor> ex = MakeExecutor(chain, {true, 1});
  ASSERT_NE(ex, nullptr);
  absl::StatusOr<MemoryPlanStats> seq = ex->PlanMemory({}, {}, false);
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(seq->arena_values, 4);  // a..d; e is fetched.
  EXPECT_EQ(seq->heap_values, 1);
  EXPECT_EQ(seq->activation_bytes, 4 * 4096);
  EXPECT_EQ(seq->arena_bytes, 2 * 4096);
  EXPECT_EQ(seq->peak_live_bytes, 2 * 4096);
  absl::StatusOr<MemoryPlanStats> par = ex->PlanMemory({}, {}, true);
  ASSERT_TRUE(par.ok());
  EXPECT_EQ(par->arena_bytes, 2 * 4096);  // A chain has no concurrency.

  // a -> (b1 -> b2) and (c1 -> c2) -> d = b2 + c2. In the sequential order one branch finishes before
  // the other starts, so c1 may take b1's bytes; in parallel b1 and c1 may be alive together.
  auto diamond = std::make_shared<Graph>();
  diamond->inputs = {ValueInfo{"x", DType::kF32, {1, 1024}}};
  diamond->nodes = {MakeNode("Relu", {"x"}, {"a"}),   MakeNode("Neg", {"a"}, {"b1"}),
                    MakeNode("Relu", {"b1"}, {"b2"}), MakeNode("Neg", {"a"}, {"c1"}),
                    MakeNode("Relu", {"c1"}, {"c2"}), MakeNode("Add", {"b2", "c2"}, {"d"})};
  diamond->outputs = {ValueInfo{"d", DType::kF32, {1, 1024}}};
  ex = MakeExecutor(diamond, {true, 1});
  ASSERT_NE(ex, nullptr);
  seq = ex->PlanMemory({}, {}, false);
  par = ex->PlanMemory({}, {}, true);
  ASSERT_TRUE(seq.ok() && par.ok());
  EXPECT_EQ(seq->arena_values, 5);
  EXPECT_LE(seq->arena_bytes, 3 * 4096);
  EXPECT_GT(par->arena_bytes, seq->arena_bytes);
  EXPECT_LE(par->arena_bytes, par->activation_bytes);
  for (const Mode& mode : kModes) {
    std::unique_ptr<Executor> run = MakeExecutor(diamond, mode);
    Tensor x = Pattern({1, 1024}, 5);
    absl::StatusOr<std::vector<Tensor>> got = run->Run({{"x", x}}, {"d"});
    ASSERT_TRUE(got.ok()) << got.status();
    for (int64_t i = 0; i < 1024; ++i) {
      const float a = std::max(x.data<float>()[i], 0.0f);
      ASSERT_EQ((*got)[0].data<float>()[i], std::max(-a, 0.0f) + std::max(-a, 0.0f)) << ModeName(mode);
    }
  }
}

// A kernel that returns its input as its output without the executor knowing it is a view: the
// plan reuses the input's bytes after its last planned reader, so the executor must copy.
TEST(MemoryPlanTest, UnplannedViewsAreCopiedOutOfReusedMemory) {
  RegisterStandardOps();
  static bool registered = [] {
    OpDef pass;
    pass.name = "TestPassThrough";
    pass.min_inputs = pass.max_inputs = 1;
    pass.shape_fn = [](InferenceContext& ctx) {
      ctx.set_output(0, TensorType{ctx.input(0).dtype, ctx.input(0).dims});
      return absl::OkStatus();
    };
    pass.kernel_factory = [](const KernelConstruction&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
      return MakeFunctionKernel([](KernelContext& ctx) {
        ctx.SetOutput(0, ctx.input(0));
        return absl::OkStatus();
      });
    };
    EXPECT_TRUE(OpRegistry::Global().Register(pass).ok());
    return true;
  }();
  (void)registered;
  auto g = std::make_shared<Graph>();
  g->inputs = {ValueInfo{"x", DType::kF32, {256}}};
  // a dies at `p` in the plan (p is not a known view), so b, c, d may take its bytes while p lives.
  g->nodes = {MakeNode("Relu", {"x"}, {"a"}),          MakeNode("TestPassThrough", {"a"}, {"p"}),
              MakeNode("Neg", {"p"}, {"b"}),           MakeNode("Neg", {"b"}, {"c"}),
              MakeNode("Neg", {"c"}, {"d"}),           MakeNode("Sub", {"p", "d"}, {"out"})};
  g->outputs = {ValueInfo{"out", DType::kF32, {256}}};
  for (const Mode& mode : kModes) {
    std::unique_ptr<Executor> ex = MakeExecutor(g, mode);
    Tensor x = Pattern({256}, 9);
    absl::StatusOr<std::vector<Tensor>> got = ex->Run({{"x", x}}, {"out"});
    ASSERT_TRUE(got.ok()) << got.status();
    for (int64_t i = 0; i < 256; ++i) {
      const float a = std::max(x.data<float>()[i], 0.0f);
      ASSERT_EQ((*got)[0].data<float>()[i], a - (-a)) << ModeName(mode) << " at " << i;
    }
  }
}

// A kernel error in one branch ends the run with that error in every mode (no hang, no partial
// result), and the executor stays usable.
TEST(MemoryPlanTest, KernelErrorsEndTheRunInEveryMode) {
  RegisterStandardOps();
  static bool registered = [] {
    OpDef fail;
    fail.name = "TestFailIfNegativeSum";
    fail.min_inputs = fail.max_inputs = 1;
    fail.shape_fn = [](InferenceContext& ctx) {
      ctx.set_output(0, TensorType{ctx.input(0).dtype, ctx.input(0).dims});
      return absl::OkStatus();
    };
    fail.kernel_factory = [](const KernelConstruction&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
      return MakeFunctionKernel([](KernelContext& ctx) -> absl::Status {
        const Tensor& x = ctx.input(0);
        float sum = 0;
        for (int64_t i = 0; i < x.num_elements(); ++i) sum += x.data<float>()[i];
        if (sum < 0) return ctx.Error("negative sum");
        KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.dims()));
        std::memcpy(y->raw_data(), x.raw_data(), x.byte_size());
        return absl::OkStatus();
      });
    };
    EXPECT_TRUE(OpRegistry::Global().Register(fail).ok());
    return true;
  }();
  (void)registered;
  auto g = std::make_shared<Graph>();
  g->inputs = {ValueInfo{"x", DType::kF32, {64}}};
  g->nodes = {MakeNode("Neg", {"x"}, {"a"}), MakeNode("TestFailIfNegativeSum", {"a"}, {"b"}),
              MakeNode("Relu", {"x"}, {"c"}), MakeNode("Neg", {"c"}, {"d"}), MakeNode("Add", {"b", "d"}, {"out"})};
  g->outputs = {ValueInfo{"out", DType::kF32, {64}}};
  Tensor positive = *Tensor::Create(DType::kF32, {64});
  Tensor negative = *Tensor::Create(DType::kF32, {64});
  for (int i = 0; i < 64; ++i) {
    positive.data<float>()[i] = 1;
    negative.data<float>()[i] = -1;
  }
  for (const Mode& mode : kModes) {
    std::unique_ptr<Executor> ex = MakeExecutor(g, mode);
    absl::Status s = ex->Run({{"x", positive}}, {"out"}).status();  // a = -1: the sum is negative.
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << ModeName(mode);
    EXPECT_NE(s.message().find("TestFailIfNegativeSum node 'b_node': negative sum"), std::string_view::npos)
        << ModeName(mode) << ": " << s;
    absl::StatusOr<std::vector<Tensor>> ok = ex->Run({{"x", negative}}, {"out"});
    ASSERT_TRUE(ok.ok()) << ModeName(mode) << ": " << ok.status();
    EXPECT_EQ((*ok)[0].data<float>()[0], 1.0f) << ModeName(mode);  // b = 1, d = -0.
  }
}

// ---------------------------------------------------------------------------------------------
// Both MobileNets: every mode gives the same bits as the executor without a plan, run after run.

class MobileNetPlanTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MobileNetPlanTest, BitIdenticalAcrossModesAndRuns) {
  RegisterStandardOps();
  absl::StatusOr<Graph> imported = ImportModel(kModels + GetParam() + ".onnx");
  ASSERT_TRUE(imported.ok()) << imported.status();
  auto graph = std::make_shared<const Graph>(*std::move(imported));
  const ValueInfo& input = graph->inputs[0];
  Dims dims = input.dims;
  for (int64_t& d : dims) d = d < 0 ? 1 : d;
  std::vector<Tensor> inputs = {Pattern(dims, 1), Pattern(dims, 2)};
  std::vector<std::string> fetches;
  for (const ValueInfo& out : graph->outputs) fetches.push_back(out.name);

  std::vector<Tensor> reference;
  {
    std::unique_ptr<Executor> ex = MakeExecutor(graph, {false, 1});
    ASSERT_NE(ex, nullptr);
    for (const Tensor& x : inputs) {
      absl::StatusOr<std::vector<Tensor>> out = ex->Run({{input.name, x}}, fetches);
      ASSERT_TRUE(out.ok()) << out.status();
      reference.push_back((*out)[0]);
    }
    ASSERT_FALSE(reference[0].BitEqual(reference[1]));
  }
  for (const Mode& mode : kModes) {
    std::unique_ptr<Executor> ex = MakeExecutor(graph, mode);
    ASSERT_NE(ex, nullptr);
    for (int repeat = 0; repeat < 2; ++repeat) {
      for (size_t k = 0; k < inputs.size(); ++k) {
        absl::StatusOr<std::vector<Tensor>> out = ex->Run({{input.name, inputs[k]}}, fetches);
        ASSERT_TRUE(out.ok()) << ModeName(mode) << ": " << out.status();
        EXPECT_TRUE((*out)[0].BitEqual(reference[k])) << ModeName(mode) << ", input " << k << ", repeat " << repeat;
      }
    }
  }
  // The plan reuses memory: the arena is well below the sum of the activations.
  std::unique_ptr<Executor> ex = MakeExecutor(graph, {true, 1});
  absl::StatusOr<MemoryPlanStats> stats = ex->PlanMemory({{input.name, TensorType{input.dtype, dims}}}, {}, false);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(stats->arena_values, 20);
  EXPECT_LT(stats->arena_bytes * 3, stats->activation_bytes);
  EXPECT_GE(stats->arena_bytes, stats->peak_live_bytes);
}

// Several threads run one executor at once under the plan (each run takes its own arena).
TEST_P(MobileNetPlanTest, ConcurrentRunsUnderThePlanMatchSerialRuns) {
  RegisterStandardOps();
  absl::StatusOr<Graph> imported = ImportModel(kModels + GetParam() + ".onnx");
  ASSERT_TRUE(imported.ok()) << imported.status();
  auto graph = std::make_shared<const Graph>(*std::move(imported));
  const ValueInfo& input = graph->inputs[0];
  Dims dims = input.dims;
  for (int64_t& d : dims) d = d < 0 ? 1 : d;
  const std::string fetch = graph->outputs[0].name;
  constexpr int kThreads = 4;
  const int runs = GetParam().find("v2") != std::string::npos ? 1 : 6;
  for (const Mode& mode : {Mode{true, 1}, Mode{true, 2}}) {
    std::unique_ptr<Executor> ex = MakeExecutor(graph, mode);
    ASSERT_NE(ex, nullptr);
    std::vector<Tensor> inputs, expected;
    for (int t = 0; t < kThreads; ++t) {
      inputs.push_back(Pattern(dims, 10 + t));
      absl::StatusOr<std::vector<Tensor>> out = ex->Run({{input.name, inputs.back()}}, {fetch});
      ASSERT_TRUE(out.ok()) << out.status();
      expected.push_back((*out)[0]);
    }
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < runs; ++i) {
          absl::StatusOr<std::vector<Tensor>> out = ex->Run({{input.name, inputs[t]}}, {fetch});
          if (!out.ok() || !(*out)[0].BitEqual(expected[t])) ++wrong;
        }
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0) << ModeName(mode);
  }
}

TEST(InterOpThreadsFlagTest, Parses) {
  absl::StatusOr<Flags> flags = ParseFlags("--inter_op_threads=3");
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->inter_op_threads, 3);
  EXPECT_EQ(ParseFlags("")->inter_op_threads, 1);
  EXPECT_FALSE(ParseFlags("--inter_op_threads=-1").ok());
  EXPECT_FALSE(ParseFlags("--inter_op_threads=many").ok());
}

INSTANTIATE_TEST_SUITE_P(Models, MobileNetPlanTest,
                         ::testing::Values("mobilenet_v1_0.25_128", "mobilenet_v2_1.0_224"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace kiln
