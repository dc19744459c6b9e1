// Session::Create's constant folding: the fold_constants switch, SessionStats::folded_nodes, and the
// same results with folding on and off, JIT off and on.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/session/session.h"

namespace kiln {
namespace {

// y = x + ConstantOfShape([2,3], 1.5) * c; both constant nodes fold.
Graph FoldableGraph() {
  Graph g;
  g.name = "foldable";
  g.inputs.push_back(ValueInfo{"x", DType::kF32, {2, 3}});
  g.outputs.push_back(ValueInfo{"y", DType::kF32, {2, 3}});
  g.initializers["shape"] = Tensor::FromVector<int64_t>({2}, {2, 3});
  g.initializers["c"] = Tensor::FromVector<float>({3}, {1.0f, -2.0f, 0.5f});
  Node cos;
  cos.name = "cos";
  cos.op = "ConstantOfShape";
  cos.inputs = {"shape"};
  cos.outputs = {"k"};
  cos.attrs["value"] = Tensor::FromVector<float>({1}, {1.5f});
  Node mul;
  mul.name = "mul";
  mul.op = "Mul";
  mul.inputs = {"k", "c"};
  mul.outputs = {"kc"};
  Node add;
  add.name = "add";
  add.op = "Add";
  add.inputs = {"x", "kc"};
  add.outputs = {"y"};
  g.nodes = {cos, mul, add};
  return g;
}

TEST(SessionFoldingTest, FoldsUnlessSwitchedOffAndResultsAgree) {
  const Tensor x = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> results;
  for (int auto_jit : {0, 2}) {
    for (int fold : {0, 1}) {
      SessionOptions options;
      options.auto_jit = auto_jit;
      options.fold_constants = fold;
      absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(FoldableGraph(), options);
      ASSERT_TRUE(session.ok()) << session.status();
      EXPECT_EQ((*session)->stats().folded_nodes, fold ? 2 : 0) << "auto_jit=" << auto_jit;
      if (fold) EXPECT_EQ((*session)->executed_graph().initializers.count("kc"), 1u);
      absl::StatusOr<std::vector<Tensor>> out = (*session)->Run({{"x", x}});
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_EQ(out->size(), 1u);
      results.push_back((*out)[0]);
    }
  }
  EXPECT_FLOAT_EQ(results[0].data<float>()[0], 2.5f);   // 1 + 1.5 * 1
  EXPECT_FLOAT_EQ(results[0].data<float>()[1], -1.0f);  // 2 + 1.5 * -2
  for (const Tensor& r : results) EXPECT_TRUE(r.BitEqual(results[0]));
}

}  // namespace
}  // namespace kiln
