// The measured choice (SessionOptions::measure_choice): after a cluster compiles, its first call
// times the compiled code against the runtime kernels and the faster one runs from then on. The
// interpreter backend makes the outcome certain: evaluating a 128x512x512 matmul literal by literal
// (about 30 ms) is orders of magnitude slower than the runtime's oneDNN kernel (under 1 ms, and
// under 10 ms when another process takes the core for a scheduler time slice).
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/session/session.h"

namespace kiln {
namespace {

// One OpenMP thread for the kernels, set before oneDNN starts its thread pool: with two threads on
// a machine busy with other tests, the kernels' OpenMP barrier can stall for milliseconds (a 20 us
// matmul measured 6.6 ms), which would make the outcome depend on the load rather than on the code.
const bool kOneOpenMpThread = setenv("OMP_NUM_THREADS", "1", 1) == 0;

// y = relu(x . w + b) with constant w and b: one cluster of three nodes.
Graph DenseGraph() {
  Graph g;
  g.name = "dense";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {128, 512}});
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {128, 512}});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  std::vector<float> w(512 * 512), b(512);
  for (float& v : w) v = dist(rng);
  for (float& v : b) v = dist(rng);
  g.initializers["w"] = Tensor::FromVector<float>({512, 512}, w);
  g.initializers["b"] = Tensor::FromVector<float>({512}, b);
  Node mm{.name = "mm", .op = "MatMul", .inputs = {"x", "w"}, .outputs = {"xw"}};
  Node add{.name = "add", .op = "Add", .inputs = {"xw", "b"}, .outputs = {"z"}};
  Node relu{.name = "relu", .op = "Relu", .inputs = {"z"}, .outputs = {"y"}};
  g.nodes = {mm, add, relu};
  return g;
}

Tensor Input(int seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(128 * 512);
  for (float& v : x) v = dist(rng);
  return Tensor::FromVector<float>({128, 512}, x);
}

void ExpectNear(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.num_elements(), b.num_elements());
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-4) << "element " << i;
  }
}

std::unique_ptr<Session> Make(int auto_jit, int measure_choice) {
  SessionOptions options;
  options.auto_jit = auto_jit;
  options.backend = "interpreter";
  options.measure_choice = measure_choice;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(DenseGraph(), options);
  EXPECT_TRUE(session.ok()) << session.status();
  return session.ok() ? *std::move(session) : nullptr;
}

TEST(MeasureChoiceTest, SlowerCompiledCodeGivesWayToTheKernelsWithTheSameResults) {
  ASSERT_TRUE(kOneOpenMpThread);
  std::unique_ptr<Session> reference = Make(0, 0);
  std::unique_ptr<Session> measured = Make(2, 1);
  ASSERT_NE(reference, nullptr);
  ASSERT_NE(measured, nullptr);
  ASSERT_EQ(measured->stats().num_clusters, 1);
  for (int run = 0; run < 3; ++run) {
    const Tensor x = Input(run);
    absl::StatusOr<std::vector<Tensor>> want = reference->Run({{"x", x}});
    absl::StatusOr<std::vector<Tensor>> got = measured->Run({{"x", x}});
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectNear((*got)[0], (*want)[0]);
  }
  const SessionStats stats = measured->stats();
  EXPECT_GE(stats.compilations + stats.cache_hits, 1);  // Another test may have compiled it.
  EXPECT_EQ(stats.failures, 0);
  EXPECT_EQ(stats.kernels_chosen, 1);
}

TEST(MeasureChoiceTest, OffKeepsTheCompiledCode) {
  std::unique_ptr<Session> session = Make(2, 0);
  ASSERT_NE(session, nullptr);
  for (int run = 0; run < 2; ++run) {
    absl::StatusOr<std::vector<Tensor>> got = session->Run({{"x", Input(run)}});
    ASSERT_TRUE(got.ok()) << got.status();
  }
  const SessionStats stats = session->stats();
  EXPECT_EQ(stats.compilations + stats.cache_hits, 2);  // Both runs ran compiled code.
  EXPECT_EQ(stats.failures, 0);
  EXPECT_EQ(stats.kernels_chosen, 0);
}

}  // namespace
}  // namespace kiln
