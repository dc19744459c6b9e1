// Shape and data-movement kernels, reductions, and the constant values that shape inference
// propagates, against values derived by hand from the ONNX operator definitions.
#include "tests/runtime/kernels_test_util.h"

namespace kiln {
namespace {

using testing::Const;
using testing::ExpectInvalid;
using testing::ExpectValues;
using testing::F32;
using testing::In;
using testing::Iota;
using testing::RunOne;
using testing::RunOp;
using testing::S64;
using Ints = std::vector<int64_t>;

TEST(ShapeOpsTest, Reshape) {
  Tensor x = F32({2, 3, 4}, Iota(24));
  Tensor y = RunOne("Reshape", {In(x), Const(S64({2}, {0, -1}))});
  const std::vector<float> values = Iota(24);
  ExpectValues(y, {2, 12}, std::vector<double>(values.begin(), values.end()));
  ASSERT_EQ(DimsToString(RunOne("Reshape", {In(x), In(S64({3}, {4, -1, 2}))}).dims()), "[4,3,2]");
  // allowzero=1: a 0 is a real zero extent.
  Tensor empty = F32({0, 3}, {});
  ASSERT_EQ(DimsToString(RunOne("Reshape", {In(empty), Const(S64({2}, {3, 0}))}, {{"allowzero", int64_t{1}}}).dims()),
            "[3,0]");
  absl::Status s = RunOp("Reshape", {In(x), Const(S64({2}, {5, -1}))}).status();
  ExpectInvalid(s, {"Reshape node 'n'", "cannot reshape [2,3,4]"});
  s = RunOp("Reshape", {In(x), Const(S64({2}, {-1, -1}))}).status();
  ExpectInvalid(s, {"Reshape node 'n'", "more than one -1"});
}

TEST(ShapeOpsTest, FlattenSqueezeUnsqueeze) {
  Tensor x = F32({2, 3, 4}, Iota(24));
  EXPECT_EQ(DimsToString(RunOne("Flatten", {In(x)}).dims()), "[2,12]");
  EXPECT_EQ(DimsToString(RunOne("Flatten", {In(x)}, {{"axis", int64_t{-1}}}).dims()), "[6,4]");
  EXPECT_EQ(DimsToString(RunOne("Flatten", {In(x)}, {{"axis", int64_t{0}}}).dims()), "[1,24]");
  EXPECT_EQ(DimsToString(RunOne("Flatten", {In(x)}, {{"axis", int64_t{3}}}).dims()), "[24,1]");
  Tensor s = F32({2, 1, 3, 1}, Iota(6));
  EXPECT_EQ(DimsToString(RunOne("Squeeze", {In(s), Const(S64({1}, {1}))}).dims()), "[2,3,1]");
  EXPECT_EQ(DimsToString(RunOne("Squeeze", {In(s)}).dims()), "[2,3]");
  EXPECT_EQ(DimsToString(RunOne("Unsqueeze", {In(F32({2, 3}, Iota(6))), Const(S64({2}, {0, -1}))}).dims()), "[1,2,3,1]");
  ExpectInvalid(RunOp("Squeeze", {In(s), Const(S64({1}, {0}))}).status(), {"Squeeze node 'n'", "axis 0"});
}

TEST(ShapeOpsTest, TransposeConcatIdentity) {
  ExpectValues(RunOne("Transpose", {In(F32({2, 3}, Iota(6)))}), {3, 2}, {0, 3, 1, 4, 2, 5});
  ExpectValues(RunOne("Transpose", {In(F32({2, 2, 2}, Iota(8)))}, {{"perm", Ints{1, 0, 2}}}), {2, 2, 2},
               {0, 1, 4, 5, 2, 3, 6, 7});
  ExpectValues(RunOne("Concat", {In(F32({2, 1}, {1, 2})), In(F32({2, 2}, {3, 4, 5, 6}))}, {{"axis", int64_t{-1}}}),
               {2, 3}, {1, 3, 4, 2, 5, 6});
  ExpectValues(RunOne("Concat", {In(F32({1, 2}, {1, 2})), In(F32({2, 2}, {3, 4, 5, 6}))}, {{"axis", int64_t{0}}}),
               {3, 2}, {1, 2, 3, 4, 5, 6});
  ExpectValues(RunOne("Identity", {In(S64({2}, {7, 8}))}), {2}, {7, 8});
  ExpectInvalid(RunOp("Concat", {In(F32({2, 1}, {1, 2})), In(F32({3, 1}, {3, 4, 5}))}, {{"axis", int64_t{1}}}).status(),
                {"Concat node 'n'", "dimension 0"});
  ExpectInvalid(RunOp("Transpose", {In(F32({2, 3}, Iota(6)))}, {{"perm", Ints{0, 0}}}).status(),
                {"Transpose node 'n'", "not a permutation"});
}

TEST(ShapeOpsTest, ConstantForms) {
  ExpectValues(RunOne("Constant", {}, {{"value", F32({2}, {1.5f, 2})}}), {2}, {1.5, 2});
  ExpectValues(RunOne("Constant", {}, {{"value_float", 3.0f}}), {}, {3});
  ExpectValues(RunOne("Constant", {}, {{"value_floats", std::vector<float>{1, 2, 3}}}), {3}, {1, 2, 3});
  Tensor i = RunOne("Constant", {}, {{"value_int", int64_t{7}}});
  EXPECT_EQ(i.dtype(), DType::kS64);
  ExpectValues(RunOne("Constant", {}, {{"value_ints", Ints{4, 5}}}), {2}, {4, 5});
  ExpectInvalid(RunOp("Constant", {}).status(), {"Constant node 'n'", "value"});
}

TEST(ShapeOpsTest, GatherSlicePad) {
  Tensor x = F32({2, 3}, Iota(6));
  ExpectValues(RunOne("Gather", {In(x), Const(S64({2}, {-1, 0}))}, {{"axis", int64_t{1}}}), {2, 2}, {2, 0, 5, 3});
  ExpectValues(RunOne("Gather", {In(x), Const(S64({}, {1}))}), {3}, {3, 4, 5});
  ExpectInvalid(RunOp("Gather", {In(x), Const(S64({1}, {2}))}).status(), {"Gather node 'n'", "index 2"});
  Tensor m = F32({3, 4}, Iota(12));
  ExpectValues(RunOne("Slice", {In(m), Const(S64({2}, {0, 1})), Const(S64({2}, {2, 100}))}), {2, 3}, {1, 2, 3, 5, 6, 7});
  ExpectValues(RunOne("Slice", {In(m), Const(S64({1}, {-1})), Const(S64({1}, {-100})), Const(S64({1}, {1})),
                                Const(S64({1}, {-2}))}),
               {3, 2}, {3, 1, 7, 5, 11, 9});
  Tensor v = F32({1, 3}, {1, 2, 3});
  ExpectValues(RunOne("Pad", {In(v), Const(S64({4}, {0, 2, 0, 1})), Const(F32({}, {9}))}), {1, 6}, {9, 9, 1, 2, 3, 9});
  ExpectValues(RunOne("Pad", {In(v), Const(S64({4}, {0, 2, 0, 2}))}, {{"mode", std::string("reflect")}}), {1, 7},
               {3, 2, 1, 2, 3, 2, 1});
  ExpectValues(RunOne("Pad", {In(v), Const(S64({4}, {0, 2, 0, 2}))}, {{"mode", std::string("edge")}}), {1, 7},
               {1, 1, 1, 2, 3, 3, 3});
  ExpectValues(RunOne("Pad", {In(v), Const(S64({4}, {0, -1, 0, 0}))}), {1, 2}, {2, 3});
}

TEST(ReduceTest, AxesAsInputOrAttribute) {
  Tensor x = F32({2, 3}, Iota(6));
  ExpectValues(RunOne("ReduceMean", {In(x), Const(S64({1}, {1}))}), {2, 1}, {1, 4});
  ExpectValues(RunOne("ReduceSum", {In(x)}, {{"keepdims", int64_t{0}}}), {}, {15});
  ExpectValues(RunOne("ReduceMax", {In(x)}, {{"axes", Ints{0}}, {"keepdims", int64_t{0}}}), {3}, {3, 4, 5});
  ExpectValues(RunOne("ReduceMin", {In(x), Const(S64({1}, {-1}))}), {2, 1}, {0, 3});
  ExpectValues(RunOne("ReduceSum", {In(x), Const(S64({0}, {}))}, {{"noop_with_empty_axes", int64_t{1}}}), {2, 3},
               {0, 1, 2, 3, 4, 5});
  ExpectValues(RunOne("ArgMax", {In(F32({2, 3}, {1, 5, 2, 7, 0, 7}))}, {{"axis", int64_t{1}}}), {2, 1}, {1, 0});
}

// Shape inference folds small constants: Shape of a known shape, arithmetic on it, Reshape to it.
TEST(ShapeInferenceTest, PropagatesSmallConstants) {
  RegisterStandardOps();
  Graph g;
  g.inputs = {ValueInfo{"x", DType::kF32, {2, 3, 4}}, ValueInfo{"y", DType::kF32, {-1, 4}}};
  auto node = [](std::string name, std::string op, std::vector<std::string> in, std::string out,
                 std::map<std::string, AttrValue> attrs = {}) {
    Node n;
    n.name = std::move(name);
    n.op = std::move(op);
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    n.attrs = std::move(attrs);
    return n;
  };
  g.nodes = {node("shape", "Shape", {"x"}, "s"),
             node("two", "Constant", {}, "c", {{"value_ints", Ints{2}}}),
             node("gather", "Gather", {"s", "idx"}, "last"),
             node("mul", "Mul", {"last", "c"}, "doubled"),
             node("reshape", "Reshape", {"x", "target"}, "r"),
             node("shape_y", "Shape", {"y"}, "sy")};
  g.initializers["idx"] = S64({1}, {2});
  g.initializers["target"] = S64({2}, {-1, 4});
  absl::StatusOr<std::map<std::string, TensorType>> types = InferTypes(g);
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_TRUE(types->at("s").value.has_value());
  ExpectValues(*types->at("s").value, {3}, {2, 3, 4});
  ASSERT_TRUE(types->at("doubled").value.has_value());
  ExpectValues(*types->at("doubled").value, {1}, {8});
  EXPECT_EQ(types->at("r").ToString(), "f32[6,4]");
  EXPECT_FALSE(types->at("r").value.has_value());  // Data, not a constant.
  EXPECT_EQ(types->at("sy").ToString(), "s64[2]");
  EXPECT_FALSE(types->at("sy").value.has_value());  // Depends on an unknown extent.
}

}  // namespace
}  // namespace kiln
