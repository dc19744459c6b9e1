// Helpers shared by the JIT tests: graph building, random tensors, comparisons.
#ifndef KILN_TESTS_JIT_JIT_TEST_UTIL_H_
#define KILN_TESTS_JIT_JIT_TEST_UTIL_H_

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/graph.h"
#include "kiln/session/session.h"
#include "kiln/tensor/tensor.h"

namespace kiln::jit::testing {

inline Tensor RandomTensor(Dims dims, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(NumElements(dims));
  for (float& v : values) v = dist(rng);
  return Tensor::FromVector<float>(std::move(dims), values);
}

inline Node MakeNode(std::string name, std::string op, std::vector<std::string> inputs,
                     std::vector<std::string> outputs, std::map<std::string, AttrValue> attrs = {}) {
  Node node;
  node.name = std::move(name);
  node.op = std::move(op);
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  node.attrs = std::move(attrs);
  return node;
}

// Largest absolute difference between two f32 tensors of the same dims (infinity otherwise).
inline double MaxAbsDiff(const Tensor& a, const Tensor& b) {
  if (a.dtype() != DType::kF32 || b.dtype() != DType::kF32 || a.dims() != b.dims()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    double d = std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]);
    if (std::isnan(d)) return INFINITY;
    worst = std::max(worst, d);
  }
  return worst;
}

inline SessionOptions JitOptionsFor(const std::string& backend, int min_cluster_size = 1) {
  SessionOptions options;
  options.auto_jit = 2;
  options.backend = backend;
  options.min_cluster_size = min_cluster_size;
  options.measure_choice = 0;  // What these tests check is the compiled code, on every run.
  return options;
}

inline SessionOptions NoJit() {
  SessionOptions options;
  options.auto_jit = 0;
  return options;
}

// Runs `graph` with the JIT off (the runtime kernels) into *expected and with the JIT on `backend`
// into *actual; fails the test unless the JIT session formed exactly one cluster, every node ran
// inside it and no cluster fell back to the kernels (a lowering or compile failure).
inline void RunKernelsAndOneCompiledCluster(const Graph& graph, const Feeds& feeds, const std::string& backend,
                                            std::vector<Tensor>* expected, std::vector<Tensor>* actual) {
  auto reference = Session::Create(graph, NoJit());
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto want = (*reference)->Run(feeds);
  ASSERT_TRUE(want.ok()) << want.status();
  auto jit = Session::Create(graph, JitOptionsFor(backend));
  ASSERT_TRUE(jit.ok()) << jit.status();
  ASSERT_EQ((*jit)->stats().num_clusters, 1) << graph.name << " was not clustered on " << backend;
  for (const Node& node : (*jit)->executed_graph().nodes) EXPECT_EQ(node.op, "_KilnLaunch");
  const int64_t failures_before = GetCacheStats().failures;
  auto got = (*jit)->Run(feeds);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(GetCacheStats().failures, failures_before) << "the cluster fell back to the runtime kernels";
  ASSERT_EQ(got->size(), want->size());
  *expected = *std::move(want);
  *actual = *std::move(got);
}

}  // namespace kiln::jit::testing

#endif  // KILN_TESTS_JIT_JIT_TEST_UTIL_H_
