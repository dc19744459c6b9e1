// Executor and Graph behaviour, independent of the standard kernels: the test registers its own ops.
#include "kiln/runtime/executor.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace kiln {
namespace {

std::atomic<int> g_calls{0};

// "TestAddOne": y = x + 1 (f32), same shape. "TestPair": two outputs, x and 2x.
void RegisterTestOps() {
  static bool done = [] {
    OpDef add_one;
    add_one.name = "TestAddOne";
    add_one.min_inputs = add_one.max_inputs = 1;
    add_one.shape_fn = [](InferenceContext& ctx) {
      if (ctx.input(0).dtype != DType::kF32) return ctx.Error("needs f32");
      ctx.set_output(0, TensorType{DType::kF32, ctx.input(0).dims});
      return absl::OkStatus();
    };
    add_one.kernel_factory = [](const KernelConstruction&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
      return MakeFunctionKernel([](KernelContext& ctx) -> absl::Status {
        ++g_calls;
        const Tensor& x = ctx.input(0);
        absl::StatusOr<Tensor*> y = ctx.AllocateOutput(0, DType::kF32, x.dims());
        if (!y.ok()) return y.status();
        for (int64_t i = 0; i < x.num_elements(); ++i) (*y)->data<float>()[i] = x.data<float>()[i] + 1;
        return absl::OkStatus();
      });
    };
    EXPECT_TRUE(OpRegistry::Global().Register(add_one).ok());
    return true;
  }();
  (void)done;
}

Node MakeNode(std::string name, std::string in, std::string out) {
  Node n;
  n.name = std::move(name);
  n.op = "TestAddOne";
  n.inputs = {std::move(in)};
  n.outputs = {std::move(out)};
  return n;
}

std::shared_ptr<Graph> Chain() {
  auto g = std::make_shared<Graph>();
  g->name = "chain";
  g->inputs = {ValueInfo{"x", DType::kF32, {-1, 2}}};
  g->outputs = {ValueInfo{"z", DType::kF32, {-1, 2}}};
  // Listed out of order on purpose: the executor must sort them.
  g->nodes = {MakeNode("second", "y", "z"), MakeNode("first", "x", "y")};
  return g;
}

TEST(ExecutorTest, RunsNodesInTopologicalOrder) {
  RegisterTestOps();
  absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(Chain());
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ((*ex)->types().at("z").ToString(), "f32[?,2]");
  absl::StatusOr<std::vector<Tensor>> out =
      (*ex)->Run({{"x", Tensor::FromVector<float>({1, 2}, {1, 5})}}, {"z", "y"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].data<float>()[0], 3);
  EXPECT_EQ((*out)[0].data<float>()[1], 7);
  EXPECT_EQ((*out)[1].data<float>()[1], 6);
}

TEST(ExecutorTest, RunsOnlyWhatTheFetchesNeed) {
  RegisterTestOps();
  auto ex = Executor::Create(Chain());
  ASSERT_TRUE(ex.ok());
  g_calls = 0;
  ASSERT_TRUE((*ex)->Run({{"x", Tensor::FromVector<float>({1, 2}, {1, 5})}}, {"y"}).ok());
  EXPECT_EQ(g_calls.load(), 1);
}

TEST(ExecutorTest, FeedErrorsNameTheInput) {
  RegisterTestOps();
  auto ex = Executor::Create(Chain());
  ASSERT_TRUE(ex.ok());
  absl::Status wrong_shape = (*ex)->Run({{"x", Tensor::FromVector<float>({3}, {1, 2, 3})}}, {"z"}).status();
  EXPECT_EQ(wrong_shape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_shape.message().find("feed 'x' has shape [3]; the model expects f32[?,2]"),
            std::string_view::npos)
      << wrong_shape;
  absl::Status wrong_dtype = (*ex)->Run({{"x", Tensor::FromVector<int32_t>({1, 2}, {1, 2})}}, {"z"}).status();
  EXPECT_NE(wrong_dtype.message().find("dtype s32"), std::string_view::npos) << wrong_dtype;
  absl::Status unknown = (*ex)->Run({{"q", Tensor::Scalar<float>(1)}}, {"z"}).status();
  EXPECT_NE(unknown.message().find("feed 'q' is not an input"), std::string_view::npos) << unknown;
  absl::Status missing = (*ex)->Run({}, {"z"}).status();
  EXPECT_NE(missing.message().find("input 'x' is not fed"), std::string_view::npos) << missing;
  absl::Status bad_fetch = (*ex)->Run({{"x", Tensor::FromVector<float>({1, 2}, {1, 5})}}, {"w"}).status();
  EXPECT_NE(bad_fetch.message().find("fetch 'w'"), std::string_view::npos) << bad_fetch;
}

TEST(ExecutorTest, RejectsCyclesMissingValuesAndUnknownOps) {
  RegisterTestOps();
  auto cyclic = std::make_shared<Graph>();
  cyclic->nodes = {MakeNode("a", "v2", "v1"), MakeNode("b", "v1", "v2")};
  absl::Status s = Executor::Create(cyclic).status();
  EXPECT_NE(s.message().find("cycle"), std::string_view::npos) << s;

  auto dangling = std::make_shared<Graph>();
  dangling->nodes = {MakeNode("a", "nowhere", "v1")};
  s = Executor::Create(dangling).status();
  EXPECT_NE(s.message().find("reads 'nowhere'"), std::string_view::npos) << s;

  auto unknown = Chain();
  unknown->nodes[0].op = "NoSuchOp";
  s = Executor::Create(unknown).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("'NoSuchOp'"), std::string_view::npos) << s;

  auto control = Chain();
  control->nodes[1].control_inputs = {"second"};  // first waits for second, which needs first.
  s = Executor::Create(control).status();
  EXPECT_NE(s.message().find("cycle"), std::string_view::npos) << s;
}

TEST(ExecutorTest, ConcurrentRunsGetTheirOwnValues) {
  RegisterTestOps();
  auto ex = Executor::Create(Chain());
  ASSERT_TRUE(ex.ok());
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        float v = t * 1000 + i;
        auto out = (*ex)->Run({{"x", Tensor::FromVector<float>({1, 2}, {v, -v})}}, {"z"});
        if (!out.ok() || (*out)[0].data<float>()[0] != v + 2 || (*out)[0].data<float>()[1] != -v + 2) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace kiln
