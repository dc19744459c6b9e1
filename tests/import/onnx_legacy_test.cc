// Tests of the rewrites from older ONNX opsets to the latest opset's forms (UpgradeNode), checked
// against the operator changes documented in ONNX's Changelog.md.
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/import/onnx/onnx_legacy.h"

namespace kiln::onnx_import {
namespace {

class UpgradeTest : public ::testing::Test {
 protected:
  UpgradeContext Context(int64_t opset) {
    UpgradeContext ctx;
    ctx.opset = opset;
    ctx.add_constant = [this](const std::string& hint, Tensor value) {
      std::string name = hint + "_c" + std::to_string(constants_.size());
      constants_[name] = value;
      return name;
    };
    ctx.value_dtype = [this](const std::string& value) {
      auto it = dtypes_.find(value);
      return it == dtypes_.end() ? DType::kInvalid : it->second;
    };
    return ctx;
  }
  Node MakeNode(const std::string& op, std::vector<std::string> inputs,
                std::vector<std::string> outputs = {"y"}) {
    Node node;
    node.name = "n";
    node.op = op;
    node.inputs = std::move(inputs);
    node.outputs = std::move(outputs);
    return node;
  }
  std::vector<int64_t> Ints(const std::string& name) {
    const Tensor& t = constants_.at(name);
    EXPECT_EQ(t.dtype(), DType::kS64);
    EXPECT_EQ(t.rank(), 1);
    std::vector<int64_t> v;
    for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(t.GetAsInt64(i));
    return v;
  }

  std::map<std::string, Tensor> constants_;
  std::map<std::string, DType> dtypes_;
};

TEST_F(UpgradeTest, ConsumedInputsDroppedEverywhere) {
  Node node = MakeNode("Relu", {"x"});
  node.attrs["consumed_inputs"] = std::vector<int64_t>{0};
  ASSERT_TRUE(UpgradeNode(&node, Context(5)).ok());
  EXPECT_TRUE(node.attrs.empty());
}

TEST_F(UpgradeTest, ClipOpset6UsesInputDtype) {
  dtypes_["x"] = DType::kF16;
  Node node = MakeNode("Clip", {"x"});
  node.attrs["max"] = 6.0f;  // No min: Clip-6's default -FLT_MAX, which is -inf in f16.
  ASSERT_TRUE(UpgradeNode(&node, Context(6)).ok());
  ASSERT_EQ(node.inputs.size(), 3u);
  const Tensor& min = constants_.at(node.inputs[1]);
  EXPECT_EQ(min.dtype(), DType::kF16);
  EXPECT_EQ(min.GetAsDouble(0), -std::numeric_limits<double>::infinity());
  const Tensor& max = constants_.at(node.inputs[2]);
  EXPECT_EQ(max.dtype(), DType::kF16);
  EXPECT_EQ(max.rank(), 0);
  EXPECT_EQ(max.GetAsDouble(0), 6.0);
  EXPECT_TRUE(node.attrs.empty());
}

TEST_F(UpgradeTest, ClipOpset11Untouched) {
  Node node = MakeNode("Clip", {"x", "lo", "hi"});
  ASSERT_TRUE(UpgradeNode(&node, Context(11)).ok());
  EXPECT_EQ(node.inputs, (std::vector<std::string>{"x", "lo", "hi"}));
  EXPECT_TRUE(constants_.empty());
}

TEST_F(UpgradeTest, SoftmaxOpset11FlattensAtAxisOne) {
  Node node = MakeNode("LogSoftmax", {"x"});
  ASSERT_TRUE(UpgradeNode(&node, Context(11)).ok());
  EXPECT_EQ(*node.GetInt("coerce_2d"), 1);
  EXPECT_EQ(*node.GetInt("axis"), 1);
  Node explicit_axis = MakeNode("Softmax", {"x"});
  explicit_axis.attrs["axis"] = int64_t{2};
  ASSERT_TRUE(UpgradeNode(&explicit_axis, Context(12)).ok());
  EXPECT_EQ(*explicit_axis.GetInt("axis"), 2);
  EXPECT_EQ(*explicit_axis.GetInt("coerce_2d"), 1);
}

TEST_F(UpgradeTest, ReduceAxesBecomeInputUntilTheirOpset) {
  Node mean = MakeNode("ReduceMean", {"x"});
  mean.attrs["axes"] = std::vector<int64_t>{1, -1};
  mean.attrs["keepdims"] = int64_t{0};
  ASSERT_TRUE(UpgradeNode(&mean, Context(17)).ok());
  ASSERT_EQ(mean.inputs.size(), 2u);
  EXPECT_EQ(Ints(mean.inputs[1]), (std::vector<int64_t>{1, -1}));
  EXPECT_EQ(*mean.GetInt("keepdims"), 0);
  EXPECT_FALSE(mean.HasAttr("axes"));
  // ReduceSum took axes as an input from opset 13.
  Node sum = MakeNode("ReduceSum", {"x"});
  sum.attrs["axes"] = std::vector<int64_t>{0};
  ASSERT_TRUE(UpgradeNode(&sum, Context(12)).ok());
  ASSERT_EQ(sum.inputs.size(), 2u);
  EXPECT_EQ(Ints(sum.inputs[1]), (std::vector<int64_t>{0}));
}

TEST_F(UpgradeTest, SqueezeUnsqueezeOpset11) {
  Node node = MakeNode("Squeeze", {"x"});
  node.attrs["axes"] = std::vector<int64_t>{0, 2};
  ASSERT_TRUE(UpgradeNode(&node, Context(11)).ok());
  ASSERT_EQ(node.inputs.size(), 2u);
  EXPECT_EQ(Ints(node.inputs[1]), (std::vector<int64_t>{0, 2}));
}

TEST_F(UpgradeTest, SplitAttributeAndEqualSplit) {
  Node with_split = MakeNode("Split", {"x"}, {"a", "b"});
  with_split.attrs["split"] = std::vector<int64_t>{2, 4};
  ASSERT_TRUE(UpgradeNode(&with_split, Context(11)).ok());
  ASSERT_EQ(with_split.inputs.size(), 2u);
  EXPECT_EQ(Ints(with_split.inputs[1]), (std::vector<int64_t>{2, 4}));
  EXPECT_FALSE(with_split.HasAttr("num_outputs"));
  // Without a split, older opsets split evenly into the node's outputs.
  Node even = MakeNode("Split", {"x"}, {"a", "b", "c"});
  ASSERT_TRUE(UpgradeNode(&even, Context(13)).ok());
  EXPECT_EQ(*even.GetInt("num_outputs"), 3);
}

TEST_F(UpgradeTest, PadOpset2) {
  dtypes_["x"] = DType::kF32;
  Node node = MakeNode("Pad", {"x"});
  node.attrs["pads"] = std::vector<int64_t>{0, 1, 0, 2};
  node.attrs["value"] = 1.5f;
  node.attrs["mode"] = std::string("constant");
  ASSERT_TRUE(UpgradeNode(&node, Context(2)).ok());
  ASSERT_EQ(node.inputs.size(), 3u);
  EXPECT_EQ(Ints(node.inputs[1]), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(constants_.at(node.inputs[2]).GetAsDouble(0), 1.5);
  EXPECT_EQ(*node.GetString("mode"), "constant");
  Node opset1 = MakeNode("Pad", {"x"});
  opset1.attrs["paddings"] = std::vector<int64_t>{1, 1};
  ASSERT_TRUE(UpgradeNode(&opset1, Context(1)).ok());
  EXPECT_EQ(Ints(opset1.inputs[1]), (std::vector<int64_t>{1, 1}));
  Node missing = MakeNode("Pad", {"x"});
  EXPECT_EQ(UpgradeNode(&missing, Context(2)).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UpgradeTest, SliceOpset9) {
  Node node = MakeNode("Slice", {"x"});
  node.attrs["starts"] = std::vector<int64_t>{0, 1};
  node.attrs["ends"] = std::vector<int64_t>{3, 1000};
  node.attrs["axes"] = std::vector<int64_t>{0, 1};
  ASSERT_TRUE(UpgradeNode(&node, Context(9)).ok());
  ASSERT_EQ(node.inputs.size(), 4u);
  EXPECT_EQ(Ints(node.inputs[1]), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(Ints(node.inputs[2]), (std::vector<int64_t>{3, 1000}));
  EXPECT_EQ(Ints(node.inputs[3]), (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(node.attrs.empty());
}

TEST_F(UpgradeTest, TopKOpset9) {
  Node node = MakeNode("TopK", {"x"}, {"values", "indices"});
  node.attrs["k"] = int64_t{3};
  ASSERT_TRUE(UpgradeNode(&node, Context(9)).ok());
  ASSERT_EQ(node.inputs.size(), 2u);
  EXPECT_EQ(Ints(node.inputs[1]), (std::vector<int64_t>{3}));
}

TEST_F(UpgradeTest, DropoutBecomesIdentityUnlessMaskUsed) {
  Node node = MakeNode("Dropout", {"x", "ratio"}, {"y", ""});
  node.attrs["seed"] = int64_t{3};
  ASSERT_TRUE(UpgradeNode(&node, Context(13)).ok());
  EXPECT_EQ(node.op, "Identity");
  EXPECT_EQ(node.inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(node.outputs, (std::vector<std::string>{"y"}));
  EXPECT_TRUE(node.attrs.empty());
  Node with_mask = MakeNode("Dropout", {"x"}, {"y", "mask"});
  ASSERT_TRUE(UpgradeNode(&with_mask, Context(13)).ok());
  EXPECT_EQ(with_mask.op, "Dropout");
  Node training = MakeNode("Dropout", {"x", "ratio", "training_mode"});
  ASSERT_TRUE(UpgradeNode(&training, Context(13)).ok());
  EXPECT_EQ(training.op, "Dropout");
}

TEST_F(UpgradeTest, BatchNormalizationLegacyAttributes) {
  Node node = MakeNode("BatchNormalization", {"x", "s", "b", "m", "v"});
  node.attrs["spatial"] = int64_t{1};
  node.attrs["is_test"] = int64_t{1};
  node.attrs["epsilon"] = 1e-3f;
  ASSERT_TRUE(UpgradeNode(&node, Context(6)).ok());
  EXPECT_EQ(node.attrs.size(), 1u);
  EXPECT_FLOAT_EQ(*node.GetFloat("epsilon"), 1e-3f);
}

TEST_F(UpgradeTest, ReshapeOpset1) {
  Node node = MakeNode("Reshape", {"x"});
  node.attrs["shape"] = std::vector<int64_t>{-1, 4};
  ASSERT_TRUE(UpgradeNode(&node, Context(1)).ok());
  ASSERT_EQ(node.inputs.size(), 2u);
  EXPECT_EQ(Ints(node.inputs[1]), (std::vector<int64_t>{-1, 4}));
}

TEST_F(UpgradeTest, CastOpset1StringType) {
  Node node = MakeNode("Cast", {"x"});
  node.attrs["to"] = std::string("float16");
  ASSERT_TRUE(UpgradeNode(&node, Context(1)).ok());
  EXPECT_EQ(*node.GetInt("to"), 10);  // TensorProto.FLOAT16.
  Node bad = MakeNode("Cast", {"x"});
  bad.attrs["to"] = std::string("quaternion");
  EXPECT_EQ(UpgradeNode(&bad, Context(1)).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UpgradeTest, LegacyBroadcast) {
  Node plain = MakeNode("Add", {"a", "b"});
  plain.attrs["broadcast"] = int64_t{1};
  ASSERT_TRUE(UpgradeNode(&plain, Context(6)).ok());
  EXPECT_TRUE(plain.attrs.empty());
  Node with_axis = MakeNode("Mul", {"a", "b"});
  with_axis.attrs["broadcast"] = int64_t{1};
  with_axis.attrs["axis"] = int64_t{1};
  absl::Status s = UpgradeNode(&with_axis, Context(6));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("'n'"), std::string::npos) << s;
}

// ONNX's Changelog (Mul-6 and the other broadcasting ops): shape(A) = (2, 3, 4, 5), shape(B) = (3, 4),
// axis = 1. Under numpy rules B of shape (3, 4, 1) broadcasts the same way.
TEST_F(UpgradeTest, LegacyBroadcastWithAxisAlignsAConstantB) {
  UpgradeContext ctx = Context(6);
  const Tensor b = Tensor::FromVector<float>({3, 4}, std::vector<float>(12, 2.0f));
  ctx.value_rank = [](const std::string& v) -> int64_t { return v == "a" ? 4 : -1; };
  ctx.constant = [&b](const std::string& v) -> const Tensor* { return v == "b" ? &b : nullptr; };
  Node node = MakeNode("Mul", {"a", "b"});
  node.attrs["broadcast"] = int64_t{1};
  node.attrs["axis"] = int64_t{1};
  ASSERT_TRUE(UpgradeNode(&node, ctx).ok());
  EXPECT_TRUE(node.attrs.empty());
  EXPECT_EQ(constants_.at(node.inputs[1]).dims(), (Dims{3, 4, 1}));
  EXPECT_EQ(constants_.at(node.inputs[1]).data<float>()[11], 2.0f);
  Node too_far = MakeNode("Add", {"a", "b"});
  too_far.attrs["broadcast"] = int64_t{1};
  too_far.attrs["axis"] = int64_t{3};
  absl::Status s = UpgradeNode(&too_far, ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("broadcast axis 3 does not fit B of rank 2 in A of rank 4"), std::string::npos) << s;
  // A B that is not a constant goes through an added Unsqueeze of its trailing axes.
  std::vector<std::pair<std::string, std::vector<std::string>>> added;
  ctx.value_rank = [](const std::string& v) -> int64_t { return v == "a" ? 4 : v == "b_in" ? 2 : -1; };
  ctx.add_node = [&added](const std::string& hint, const std::string& op, std::vector<std::string> inputs) {
    added.push_back({op, inputs});
    return hint + "_out";
  };
  Node from_input = MakeNode("Add", {"a", "b_in"});
  from_input.attrs["broadcast"] = int64_t{1};
  from_input.attrs["axis"] = int64_t{1};
  ASSERT_TRUE(UpgradeNode(&from_input, ctx).ok());
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].first, "Unsqueeze");
  EXPECT_EQ(added[0].second[0], "b_in");
  EXPECT_EQ(Ints(added[0].second[1]), (std::vector<int64_t>{2}));
  EXPECT_EQ(from_input.inputs[1], "n_align_out");
  Node unknown_rank = MakeNode("Add", {"c", "b"});
  unknown_rank.attrs["broadcast"] = int64_t{1};
  unknown_rank.attrs["axis"] = int64_t{1};
  EXPECT_EQ(UpgradeNode(&unknown_rank, ctx).code(), absl::StatusCode::kUnimplemented);
}

// PRelu-6: "If Slope is of size 1, the value is shared across different channels", otherwise one
// slope per channel (axis 1); PRelu-7 made the slope numpy-broadcast.
TEST_F(UpgradeTest, PReluOpset6SlopeIsPerChannel) {
  const Tensor slope = Tensor::FromVector<float>({3}, {0.1f, 0.2f, 0.3f});
  auto context = [&](int64_t opset, int64_t x_rank) {
    UpgradeContext ctx = Context(opset);
    ctx.value_rank = [x_rank](const std::string& v) -> int64_t { return v == "x" ? x_rank : -1; };
    ctx.constant = [&slope](const std::string& v) -> const Tensor* { return v == "slope" ? &slope : nullptr; };
    return ctx;
  };
  Node node = MakeNode("PRelu", {"x", "slope"});
  ASSERT_TRUE(UpgradeNode(&node, context(6, 4)).ok());
  EXPECT_EQ(constants_.at(node.inputs[1]).dims(), (Dims{3, 1, 1}));
  for (auto [opset, rank] : {std::pair<int64_t, int64_t>{7, 4}, {6, 2}, {6, -1}}) {
    Node same = MakeNode("PRelu", {"x", "slope"});
    ASSERT_TRUE(UpgradeNode(&same, context(opset, rank)).ok());
    EXPECT_EQ(same.inputs[1], "slope") << opset << " " << rank;
  }
}

TEST_F(UpgradeTest, UpsampleBecomesResize) {
  Node node = MakeNode("Upsample", {"x"});
  node.attrs["scales"] = std::vector<float>{1.0f, 1.0f, 2.0f, 3.0f};
  ASSERT_TRUE(UpgradeNode(&node, Context(7)).ok());
  EXPECT_EQ(node.op, "Resize");
  ASSERT_EQ(node.inputs.size(), 3u);
  EXPECT_EQ(node.inputs[1], "");
  const Tensor& scales = constants_.at(node.inputs[2]);
  EXPECT_EQ(scales.dtype(), DType::kF32);
  EXPECT_EQ(scales.GetAsDouble(3), 3.0);
  EXPECT_EQ(*node.GetString("mode"), "nearest");
  EXPECT_EQ(*node.GetString("coordinate_transformation_mode"), "asymmetric");
  EXPECT_EQ(*node.GetString("nearest_mode"), "floor");
  Node opset9 = MakeNode("Upsample", {"x", "s"});
  opset9.attrs["mode"] = std::string("linear");
  ASSERT_TRUE(UpgradeNode(&opset9, Context(9)).ok());
  EXPECT_EQ(opset9.inputs, (std::vector<std::string>{"x", "", "s"}));
  EXPECT_EQ(*opset9.GetString("mode"), "linear");
}

TEST_F(UpgradeTest, ScatterBecomesScatterElements) {
  Node node = MakeNode("Scatter", {"data", "indices", "updates"});
  node.attrs["axis"] = int64_t{1};
  ASSERT_TRUE(UpgradeNode(&node, Context(10)).ok());
  EXPECT_EQ(node.op, "ScatterElements");
  EXPECT_EQ(*node.GetInt("axis"), 1);
}

}  // namespace
}  // namespace kiln::onnx_import
