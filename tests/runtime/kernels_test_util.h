// Helpers for the standard-kernel tests: run one node through the Executor and compare results.
#ifndef KILN_TESTS_RUNTIME_KERNELS_TEST_UTIL_H_
#define KILN_TESTS_RUNTIME_KERNELS_TEST_UTIL_H_

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/support/strings.h"
#include "kiln/runtime/executor.h"
#include "kiln/runtime/op_registry.h"

namespace kiln::testing {

struct OpInput {
  Tensor value;            // Invalid tensor: an absent optional input.
  bool constant = false;   // An initializer instead of a fed graph input.
};

inline OpInput In(Tensor t) { return OpInput{std::move(t), false}; }
inline OpInput Const(Tensor t) { return OpInput{std::move(t), true}; }
inline OpInput Absent() { return OpInput{}; }

// A graph of the single node `op` (named "n") with inputs in0.. and outputs out0..
inline std::shared_ptr<Graph> SingleNodeGraph(const std::string& op, const std::vector<OpInput>& inputs,
                                              std::map<std::string, AttrValue> attrs, int num_outputs) {
  auto g = std::make_shared<Graph>();
  g->name = op;
  Node node;
  node.name = "n";
  node.op = op;
  node.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].value.valid()) {
      node.inputs.push_back("");
      continue;
    }
    std::string name = kiln::StrCat("in", i);
    node.inputs.push_back(name);
    if (inputs[i].constant) {
      g->initializers[name] = inputs[i].value;
    } else {
      g->inputs.push_back(ValueInfo{name, inputs[i].value.dtype(), inputs[i].value.dims()});
    }
  }
  for (int i = 0; i < num_outputs; ++i) node.outputs.push_back(kiln::StrCat("out", i));
  g->nodes.push_back(std::move(node));
  return g;
}

// Builds and runs the node; returns its outputs. With `unknown_dims`, every fed input is declared with
// unknown dims, so that shape inference cannot see the values and the kernel meets them at run time.
inline absl::StatusOr<std::vector<Tensor>> RunOp(const std::string& op, const std::vector<OpInput>& inputs,
                                                 std::map<std::string, AttrValue> attrs = {},
                                                 int num_outputs = 1, bool unknown_dims = false) {
  RegisterStandardOps();
  std::shared_ptr<Graph> g = SingleNodeGraph(op, inputs, std::move(attrs), num_outputs);
  if (unknown_dims) {
    for (ValueInfo& in : g->inputs) in.dims.assign(in.dims.size(), -1);
  }
  absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(g);
  if (!ex.ok()) return ex.status();
  Feeds feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].value.valid() && !inputs[i].constant) feeds.push_back({kiln::StrCat("in", i), inputs[i].value});
  }
  std::vector<std::string> fetches;
  for (int i = 0; i < num_outputs; ++i) fetches.push_back(kiln::StrCat("out", i));
  return (*ex)->Run(feeds, fetches);
}

// Runs the node and returns output 0, failing the test on error.
inline Tensor RunOne(const std::string& op, const std::vector<OpInput>& inputs,
                     std::map<std::string, AttrValue> attrs = {}) {
  absl::StatusOr<std::vector<Tensor>> out = RunOp(op, inputs, std::move(attrs));
  EXPECT_TRUE(out.ok()) << op << ": " << out.status();
  if (!out.ok()) return Tensor();
  return (*out)[0];
}

inline Tensor F32(Dims dims, std::vector<float> v) { return Tensor::FromVector<float>(std::move(dims), v); }
inline Tensor S32(Dims dims, std::vector<int32_t> v) { return Tensor::FromVector<int32_t>(std::move(dims), v); }
inline Tensor S64(Dims dims, std::vector<int64_t> v) { return Tensor::FromVector<int64_t>(std::move(dims), v); }

inline std::vector<float> Iota(int64_t n, float start = 0) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

// Expects `t` to have `dims` and values within `tol` of `expected` (read as doubles).
inline void ExpectValues(const Tensor& t, const Dims& dims, const std::vector<double>& expected,
                         double tol = 1e-5) {
  ASSERT_TRUE(t.valid());
  ASSERT_EQ(DimsToString(t.dims()), DimsToString(dims));
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    EXPECT_NEAR(t.GetAsDouble(i), expected[i], tol) << "element " << i;
  }
}

// Expects `s` to be InvalidArgument with a message containing each of `parts`.
inline void ExpectInvalid(const absl::Status& s, const std::vector<std::string>& parts) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  for (const std::string& p : parts) EXPECT_NE(s.message().find(p), std::string_view::npos) << s << " lacks '" << p << "'";
}

}  // namespace kiln::testing

#endif  // KILN_TESTS_RUNTIME_KERNELS_TEST_UTIL_H_
