// Hostile and damaged ONNX files through ImportModel: each must fail with a clear Status that
// names the file, the node and the problem, and must never allocate by absurd declared sizes.
// (onnx_importer_test.cc covers truncation, raw_data sizes, unknown ops and missing initializers
// of simpler shapes; kiln_model_test.cc covers the same list for .kiln files.)
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/runtime/executor.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/op_registry.h"
#include "onnx.pb.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ImportHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterStandardOps();
    dir_ = fs::temp_directory_path() / ("kiln_hardening_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // y = Relu(x) + w, with x f32[2] and w an initializer f32[2].
  static onnx::ModelProto SmallModel() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    onnx::OperatorSetIdProto* op = m.add_opset_import();
    op->set_version(13);
    onnx::GraphProto* g = m.mutable_graph();
    g->set_name("small");
    SetType(g->add_input(), "x", {2});
    SetType(g->add_output(), "y", {2});
    onnx::TensorProto* w = g->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(2);
    w->set_raw_data(std::string(8, '\0'));
    AddNode(g, "relu", "Relu", {"x"}, {"r"});
    AddNode(g, "add", "Add", {"r", "w"}, {"y"});
    return m;
  }
  static void SetType(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
    vi->set_name(name);
    onnx::TypeProto::Tensor* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  static onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& name, const std::string& op,
                                  const std::vector<std::string>& in, const std::vector<std::string>& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_name(name);
    n->set_op_type(op);
    for (const std::string& s : in) n->add_input(s);
    for (const std::string& s : out) n->add_output(s);
    return n;
  }

  // Writes the model to <dir>/bad.onnx and imports it; checks that an error names the file.
  absl::Status Import(const std::string& bytes) {
    const std::string path = (dir_ / "bad.onnx").string();
    std::ofstream(path, std::ios::binary) << bytes;
    absl::StatusOr<Graph> g = ImportModel(path);
    if (g.ok()) return absl::OkStatus();
    EXPECT_THAT(g.status().message(), HasSubstr("model '" + path + "'"));
    return g.status();
  }
  absl::Status Import(const onnx::ModelProto& m) { return Import(m.SerializeAsString()); }

  fs::path dir_;
};

TEST_F(ImportHardeningTest, SmallModelImports) { EXPECT_TRUE(Import(SmallModel()).ok()); }

TEST_F(ImportHardeningTest, TruncatedAtEveryLength) {
  const std::string bytes = SmallModel().SerializeAsString();
  int failures = 0;
  for (size_t n = 0; n < bytes.size(); ++n) failures += !Import(bytes.substr(0, n)).ok();
  // Some prefixes end between fields and parse; none may import as a model.
  EXPECT_EQ(failures, static_cast<int>(bytes.size()));
}

TEST_F(ImportHardeningTest, CyclicGraphs) {
  onnx::ModelProto m = SmallModel();
  m.mutable_graph()->mutable_node(0)->set_input(0, "y");  // relu reads add's output.
  absl::Status s = Import(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("cycle through node '"), HasSubstr("acyclic")));
  m = SmallModel();
  m.mutable_graph()->mutable_node(0)->set_input(0, "r");  // relu reads its own output.
  EXPECT_THAT(Import(m).message(), HasSubstr("cycle through node 'relu' (Relu)"));
  // A longer cycle behind an acyclic prefix: the named node is on the cycle.
  m = SmallModel();
  onnx::GraphProto* g = m.mutable_graph();
  AddNode(g, "a", "Relu", {"c_out"}, {"a_out"});
  AddNode(g, "b", "Relu", {"a_out"}, {"b_out"});
  AddNode(g, "c", "Add", {"b_out", "r"}, {"c_out"});
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("cycle through node '"), ::testing::Not(HasSubstr("'add'")),
                                         ::testing::Not(HasSubstr("'relu'"))));
}

TEST_F(ImportHardeningTest, ValuesProducedTwice) {
  onnx::ModelProto m = SmallModel();
  m.mutable_graph()->mutable_node(1)->set_output(0, "r");
  m.mutable_graph()->mutable_output(0)->set_name("r");
  EXPECT_THAT(Import(m).message(), HasSubstr("value 'r' is produced by both node 'relu' and node 'add'"));
  m = SmallModel();
  m.mutable_graph()->mutable_node(0)->set_output(0, "w");  // Overwrites an initializer.
  m.mutable_graph()->mutable_node(1)->set_input(0, "w");
  EXPECT_THAT(Import(m).message(), HasSubstr("node 'relu' (Relu) produces 'w', which is also a graph input or initializer"));
}

TEST_F(ImportHardeningTest, MissingInitializerAndUndefinedInputs) {
  onnx::ModelProto m = SmallModel();
  m.mutable_graph()->clear_initializer();
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("node 'add' (Add) reads 'w'"), HasSubstr("missing initializer")));
  m = SmallModel();
  m.mutable_graph()->mutable_node(0)->set_input(0, "typo_x");
  EXPECT_THAT(Import(m).message(), HasSubstr("node 'relu' (Relu) reads 'typo_x'"));
}

TEST_F(ImportHardeningTest, WrongTensorByteSizes) {
  onnx::ModelProto m = SmallModel();
  m.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(9, '\0'));
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("initializer 'w' has 9 bytes of raw_data"), HasSubstr("need 8")));
  // A Constant node's tensor attribute.
  m = SmallModel();
  onnx::NodeProto* c = AddNode(m.mutable_graph(), "const", "Constant", {}, {"k"});
  onnx::AttributeProto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  a->mutable_t()->add_dims(3);
  a->mutable_t()->add_int64_data(1);
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("node 'const' (Constant) attribute 'value'"),
                                         HasSubstr("1 values in int64_data"), HasSubstr("hold 3 elements")));
}

TEST_F(ImportHardeningTest, AbsurdDeclaredDimensions) {
  onnx::ModelProto m = SmallModel();
  onnx::TensorProto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(int64_t{1} << 20);
  w->add_dims(int64_t{1} << 20);  // 2^40 elements; raw_data has 8 bytes.
  EXPECT_THAT(Import(m).message(),
              AllOf(HasSubstr("initializer 'w' declares dims [1048576,1048576]"), HasSubstr("more than the")));
  w->clear_dims();
  w->add_dims(std::numeric_limits<int64_t>::max());
  w->add_dims(std::numeric_limits<int64_t>::max());
  EXPECT_THAT(Import(m).message(), HasSubstr("more than the"));
  // Declared input and output shapes.
  m = SmallModel();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(
      int64_t{1} << 40);
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("graph input 'x' declares dims [2,1099511627776]")));
  // An empty tensor with a huge dimension, and a negative dimension after a 0.
  m = SmallModel();
  onnx::TensorShapeProto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->mutable_dim(0)->set_dim_value(0);
  shape->add_dim()->set_dim_value(int64_t{1} << 40);
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("graph input 'x' declares dims [0,1099511627776]"),
                                         HasSubstr("or a dimension that large")))
      << Import(m).message();
  shape->mutable_dim(1)->set_dim_value(-5);
  EXPECT_THAT(Import(m).message(), HasSubstr("negative"));
}

// A shape computed at run time from absurd values: the kernel's allocation is refused with a
// Status that names the node; nothing near the requested size is allocated.
TEST_F(ImportHardeningTest, AbsurdRuntimeShapeFailsCleanly) {
  onnx::ModelProto m = SmallModel();
  onnx::GraphProto* g = m.mutable_graph();
  g->clear_node();
  g->clear_initializer();
  g->clear_output();
  onnx::TensorProto* shape = g->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(int64_t{1} << 20);
  shape->add_int64_data(int64_t{1} << 20);
  AddNode(g, "fill", "ConstantOfShape", {"shape"}, {"big"});
  SetType(g->add_output(), "big", {});
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  const std::string path = (dir_ / "big.onnx").string();
  std::ofstream(path, std::ios::binary) << m.SerializeAsString();
  absl::StatusOr<Graph> graph = ImportModel(path);
  ASSERT_TRUE(graph.ok()) << graph.status();
  absl::StatusOr<std::unique_ptr<Executor>> ex = Executor::Create(std::make_shared<const Graph>(*graph));
  if (!ex.ok()) {
    EXPECT_THAT(ex.status().message(), HasSubstr("fill"));
    return;
  }
  absl::StatusOr<std::vector<Tensor>> out = (*ex)->Run({}, {"big"});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), AllOf(HasSubstr("node 'fill'"), HasSubstr("16 GiB")));
}

TEST_F(ImportHardeningTest, UnknownOpsAndDomains) {
  onnx::ModelProto m = SmallModel();
  m.mutable_graph()->mutable_node(1)->set_op_type("NoSuchOp");
  absl::Status s = Import(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("node 'add' has op 'NoSuchOp' that Kiln does not implement"));
  m = SmallModel();
  m.mutable_graph()->mutable_node(1)->set_domain("com.example");
  EXPECT_THAT(Import(m).message(), AllOf(HasSubstr("node 'add'"), HasSubstr("domain 'com.example'")));
}

// Found by onnx_fuzzer: a legacy Clip bound outside the input type's range was converted with a
// plain (undefined) float-to-integer cast. It saturates now.
TEST_F(ImportHardeningTest, LegacyClipBoundsSaturateToTheInputType) {
  onnx::ModelProto m;
  m.set_ir_version(3);
  m.add_opset_import()->set_version(6);
  onnx::GraphProto* g = m.mutable_graph();
  SetType(g->add_input(), "x", {2});
  g->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::UINT8);
  SetType(g->add_output(), "y", {2});
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::UINT8);
  onnx::NodeProto* clip = AddNode(g, "clip", "Clip", {"x"}, {"y"});
  for (auto [name, value] : {std::pair<const char*, float>{"min", -1.0f}, {"max", 1e30f}}) {
    onnx::AttributeProto* a = clip->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  absl::StatusOr<Graph> graph = ImportOnnxBytes(m.SerializeAsString(), "clip.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->nodes[0].inputs.size(), 3u);
  const Tensor& lo = graph->initializers.at(graph->nodes[0].inputs[1]);
  const Tensor& hi = graph->initializers.at(graph->nodes[0].inputs[2]);
  EXPECT_EQ(lo.TypeString(), "u8[]");
  EXPECT_EQ(lo.GetAsInt64(0), 0);
  EXPECT_EQ(hi.GetAsInt64(0), 255);
}

// Found by onnx_fuzzer: a required input given as "" (absent) reached the shape function, which
// read through a null pointer. Shape inference refuses it now.
TEST_F(ImportHardeningTest, AbsentRequiredInputIsRefusedByShapeInference) {
  onnx::ModelProto m = SmallModel();
  m.mutable_graph()->mutable_node(1)->set_input(0, "");
  m.mutable_graph()->mutable_node(1)->set_op_type("Gather");
  absl::StatusOr<Graph> graph = ImportOnnxBytes(m.SerializeAsString(), "gather.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status();
  absl::StatusOr<std::map<std::string, TensorType>> types = InferTypes(*graph);
  EXPECT_THAT(types.status().message(), HasSubstr("Gather node 'add': input 0 is required but absent"));
}

TEST_F(ImportHardeningTest, NotAModel) {
  EXPECT_THAT(Import(std::string("\x0a\xff\xff\xff\xff\x0f", 6)).message(), HasSubstr("truncated or corrupt"));
  EXPECT_THAT(Import(std::string()).message(), HasSubstr("empty"));
  EXPECT_THAT(Import(std::string("{\"json\": true}")).message(), HasSubstr("not a valid ONNX model"));
}

}  // namespace
}  // namespace kiln
