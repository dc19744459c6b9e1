// Tests of the ONNX importer on the real MobileNets, on models built here with the generated proto
// classes (legacy opset rewrites, attributes, typed tensor fields) and on malformed input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "kiln/support/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/op_registry.h"
#include "onnx.pb.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;

const std::string kModels = std::string(KILN_SHARED_DATA) + "/models";
const std::string kNodeCases = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests/node";

std::map<std::string, int> OpHistogram(const Graph& graph) {
  std::map<std::string, int> histogram;
  for (const Node& node : graph.nodes) ++histogram[node.op];
  return histogram;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh folder under the system temp folder, removed at destruction.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("kiln_import_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), bytes.size());
}

// Builders for small models.
void SetValueInfo(onnx::ValueInfoProto* vi, const std::string& name, int elem_type,
                  const std::vector<std::string>& dims) {
  vi->set_name(name);
  onnx::TypeProto::Tensor* t = vi->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (const std::string& d : dims) {
    onnx::TensorShapeProto::Dimension* dim = shape->add_dim();
    if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0]))) {
      dim->set_dim_value(std::stoll(d));
    } else {
      dim->set_dim_param(d);
    }
  }
}

onnx::ModelProto MakeModel(int opset) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("kiln-test");
  onnx::OperatorSetIdProto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model.mutable_graph()->set_name("test");
  return model;
}

onnx::NodeProto* AddNode(onnx::GraphProto* graph, const std::string& op,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs, const std::string& name = "") {
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type(op);
  if (!name.empty()) node->set_name(name);
  for (const std::string& in : inputs) node->add_input(in);
  for (const std::string& out : outputs) node->add_output(out);
  return node;
}

void AddIntsAttr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void AddFloatAttr(onnx::NodeProto* node, const std::string& name, float f) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(f);
}

onnx::TensorProto* AddFloatInitializer(onnx::GraphProto* graph, const std::string& name,
                                       const std::vector<int64_t>& dims,
                                       const std::vector<float>& values) {
  onnx::TensorProto* t = graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return t;
}

absl::StatusOr<Graph> Import(const onnx::ModelProto& model, const std::string& name = "t.onnx") {
  return ImportOnnxBytes(model.SerializeAsString(), name);
}

const Node* FindNode(const Graph& graph, const std::string& op) {
  for (const Node& node : graph.nodes) {
    if (node.op == op) return &node;
  }
  return nullptr;
}

class OnnxImporterTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterStandardOps(); }
  bool Registered(const std::string& op) { return OpRegistry::Global().Find(op) != nullptr; }
};

TEST_F(OnnxImporterTest, MobileNetV2) {
  absl::StatusOr<Graph> graph = ImportModel(kModels + "/mobilenet_v2_1.0_224.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->inputs.size(), 1u);
  EXPECT_EQ(graph->inputs[0].name, "input");
  EXPECT_EQ(graph->inputs[0].dtype, DType::kF32);
  EXPECT_EQ(graph->inputs[0].dims, (Dims{1, 3, 224, 224}));
  ASSERT_EQ(graph->outputs.size(), 1u);
  EXPECT_EQ(graph->outputs[0].name, "probs");
  EXPECT_EQ(graph->outputs[0].dims, (Dims{1, 1001}));
  std::map<std::string, int> expected = {{"Add", 10},     {"Clip", 35},
                                         {"Conv", 53},    {"GlobalAveragePool", 1},
                                         {"Identity", 1}, {"Reshape", 1},
                                         {"Softmax", 1}};
  EXPECT_EQ(OpHistogram(*graph), expected);
  EXPECT_EQ(graph->initializers.size(), 177u);
  // The model's nodes are unnamed: each gets a unique generated name.
  std::set<std::string> names;
  for (const Node& node : graph->nodes) {
    EXPECT_FALSE(node.name.empty());
    EXPECT_TRUE(names.insert(node.name).second) << node.name;
  }
  EXPECT_TRUE(graph->TopologicalOrder().ok());
}

TEST_F(OnnxImporterTest, MobileNetV1) {
  absl::StatusOr<Graph> graph = ImportOnnxFile(kModels + "/mobilenet_v1_0.25_128.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->inputs.size(), 1u);
  EXPECT_EQ(graph->inputs[0].dims, (Dims{1, 3, 128, 128}));
  ASSERT_EQ(graph->outputs.size(), 1u);
  EXPECT_EQ(graph->outputs[0].name, "probs");
  std::map<std::string, int> expected = {{"Clip", 27},    {"Conv", 28}, {"GlobalAveragePool", 1},
                                         {"Identity", 1}, {"Reshape", 1}, {"Softmax", 1}};
  EXPECT_EQ(OpHistogram(*graph), expected);
  const Node* conv = FindNode(*graph, "Conv");
  ASSERT_NE(conv, nullptr);
  // The first conv's weights: 8 output channels of 3x3x3 (width multiplier 0.25).
  ASSERT_TRUE(graph->initializers.count(conv->inputs[1]));
  EXPECT_EQ(graph->initializers.at(conv->inputs[1]).dims(), (Dims{8, 3, 3, 3}));
  EXPECT_TRUE(conv->HasAttr("strides"));
}

TEST_F(OnnxImporterTest, UnknownExtension) {
  TempDir dir;
  const std::string path = dir.File("model.pbtxt");
  WriteBytes(path, "graph {}");
  absl::StatusOr<Graph> graph = ImportModel(path);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("model.pbtxt': unknown model format"));
}

TEST_F(OnnxImporterTest, MissingFile) {
  TempDir dir;
  const std::string path = dir.File("absent.onnx");
  absl::StatusOr<Graph> graph = ImportModel(path);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(graph.status().message(), HasSubstr(path));
}

TEST_F(OnnxImporterTest, TruncatedModelFile) {
  const std::string bytes = ReadBytes(kModels + "/mobilenet_v1_0.25_128.onnx");
  ASSERT_GT(bytes.size(), 1000u);
  TempDir dir;
  // Cuts at the start, inside the graph and just before the end (in the trailing opset_import).
  for (size_t length : {size_t{0}, size_t{1}, size_t{7}, size_t{100}, bytes.size() / 2,
                        bytes.size() - 1}) {
    const std::string path = dir.File("truncated_" + std::to_string(length) + ".onnx");
    WriteBytes(path, bytes.substr(0, length));
    absl::StatusOr<Graph> graph = ImportModel(path);
    ASSERT_FALSE(graph.ok()) << "length " << length;
    EXPECT_THAT(graph.status().message(), HasSubstr(path)) << graph.status();
    if (length == bytes.size() / 2) {
      EXPECT_EQ(graph.status().code(), absl::StatusCode::kDataLoss) << graph.status();
      EXPECT_THAT(graph.status().message(), HasSubstr("truncated or corrupt"));
    }
  }
}

TEST_F(OnnxImporterTest, CorruptBytes) {
  // Random-looking bytes with an invalid wire type must be reported, not crash.
  const std::string garbage = "\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02";
  absl::StatusOr<Graph> graph = ImportOnnxBytes(garbage, "garbage.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_THAT(graph.status().message(), HasSubstr("garbage.onnx"));
}

TEST_F(OnnxImporterTest, MissingGraph) {
  onnx::ModelProto model = MakeModel(13);
  model.clear_graph();
  absl::StatusOr<Graph> graph = Import(model, "nograph.onnx");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("'nograph.onnx'"));
  EXPECT_THAT(graph.status().message(), HasSubstr("no graph"));
}

TEST_F(OnnxImporterTest, UnknownOp) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2"});
  AddNode(g, "FrobnicateV9", {"x"}, {"y"}, "frob");
  SetValueInfo(g->add_output(), "y", onnx::TensorProto::FLOAT, {"2"});
  absl::StatusOr<Graph> graph = Import(model, "x.onnx");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(graph.status().message(),
            "model 'x.onnx': node 'frob' has op 'FrobnicateV9' that Kiln does not implement");
}

TEST_F(OnnxImporterTest, UnsupportedDomain) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2"});
  AddNode(g, "FusedConv", {"x"}, {"y"}, "fc")->set_domain("com.microsoft");
  SetValueInfo(g->add_output(), "y", onnx::TensorProto::FLOAT, {"2"});
  absl::StatusOr<Graph> graph = Import(model);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(graph.status().message(), HasSubstr("com.microsoft"));
  EXPECT_THAT(graph.status().message(), HasSubstr("'fc'"));
}

// y = Relu(x) at the given default-domain opset.
onnx::ModelProto ReluModel(int opset) {
  onnx::ModelProto model = MakeModel(opset);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2"});
  AddNode(g, "Relu", {"x"}, {"y"}, "relu");
  SetValueInfo(g->add_output(), "y", onnx::TensorProto::FLOAT, {"2"});
  return model;
}

TEST_F(OnnxImporterTest, OpsetsOutsideTheSupportedRangeAreRefusedNamingTheRange) {
  const std::string range = kiln::StrCat("but Kiln supports opsets ", kOnnxMinOpset, " to ", kOnnxMaxOpset,
                                         "; export the model with an opset in that range (torch.onnx.export's "
                                         "opset_version, or onnx.version_converter.convert_version)");
  for (int64_t opset : {int64_t{0}, int64_t{-3}, kOnnxMaxOpset + 1, int64_t{99}}) {
    absl::StatusOr<Graph> graph = Import(ReluModel(static_cast<int>(opset)), "x.onnx");
    EXPECT_EQ(graph.status().code(), absl::StatusCode::kUnimplemented) << opset;
    EXPECT_EQ(graph.status().message(), kiln::StrCat("model 'x.onnx': imports opset ", opset,
                                                     " of the default ONNX domain, ", range))
        << opset;
  }
  for (int64_t opset : {kOnnxMinOpset, int64_t{13}, kOnnxMaxOpset}) {
    EXPECT_TRUE(Import(ReluModel(static_cast<int>(opset))).ok()) << opset;
  }
  // "ai.onnx" is the default domain too.
  onnx::ModelProto named = ReluModel(99);
  named.mutable_opset_import(0)->set_domain("ai.onnx");
  EXPECT_THAT(Import(named).status().message(), HasSubstr("imports opset 99 of the default ONNX domain"));
}

TEST_F(OnnxImporterTest, OtherDomainsAreRefusedOnlyWhenANodeUsesThem) {
  onnx::ModelProto model = ReluModel(13);
  onnx::OperatorSetIdProto* ml = model.add_opset_import();
  ml->set_domain("ai.onnx.ml");
  ml->set_version(99);
  EXPECT_TRUE(Import(model).ok()) << Import(model).status();  // Imported but unused: harmless.

  AddNode(model.mutable_graph(), "Binarizer", {"y"}, {"z"}, "bin")->set_domain("ai.onnx.ml");
  absl::StatusOr<Graph> graph = Import(model, "ml.onnx");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(graph.status().message(),
            "model 'ml.onnx': node 'bin' has op 'Binarizer' from domain 'ai.onnx.ml'; Kiln implements only the "
            "default ONNX domain ('' or 'ai.onnx'), so the model cannot run until that node is replaced by "
            "default-domain ops");
}

TEST_F(OnnxImporterTest, UnknownElementTypeNumberIsNamedOnce) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", 99, {"2"});
  SetValueInfo(g->add_output(), "x", 99, {"2"});
  absl::StatusOr<Graph> graph = Import(model, "t.onnx");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(graph.status().message(),
              HasSubstr("model 't.onnx': graph input 'x': element type 99 (not an ONNX data type) is not supported"));
}

TEST_F(OnnxImporterTest, WrongRawDataSize) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  // dims [2,3] of float need 24 bytes; give 5 floats (20 bytes).
  AddFloatInitializer(g, "weights", {2, 3}, {1, 2, 3, 4, 5});
  SetValueInfo(g->add_output(), "weights", onnx::TensorProto::FLOAT, {"2", "3"});
  absl::StatusOr<Graph> graph = Import(model, "raw.onnx");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("'raw.onnx'"));
  EXPECT_THAT(graph.status().message(), HasSubstr("initializer 'weights'"));
  EXPECT_THAT(graph.status().message(), HasSubstr("20 bytes of raw_data"));
  EXPECT_THAT(graph.status().message(), HasSubstr("need 24 bytes"));
}

TEST_F(OnnxImporterTest, WrongTypedFieldCount) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::TensorProto* t = g->add_initializer();
  t->set_name("shape");
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(3);
  t->add_int64_data(1);
  t->add_int64_data(2);
  SetValueInfo(g->add_output(), "shape", onnx::TensorProto::INT64, {"3"});
  absl::StatusOr<Graph> graph = Import(model);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("2 values in int64_data"));
}

TEST_F(OnnxImporterTest, AbsurdDims) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  for (std::vector<int64_t> dims : {std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 40},
                                    std::vector<int64_t>{int64_t{1} << 33},
                                    std::vector<int64_t>{3, -2}}) {
    g->clear_initializer();
    g->clear_output();
    onnx::TensorProto* t = g->add_initializer();
    t->set_name("huge");
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data("abcd");
    SetValueInfo(g->add_output(), "huge", onnx::TensorProto::FLOAT, {});
    absl::StatusOr<Graph> graph = Import(model);
    EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument) << graph.status();
    EXPECT_THAT(graph.status().message(), HasSubstr("initializer 'huge'"));
  }
}

TEST_F(OnnxImporterTest, ExternalData) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::TensorProto* t = g->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(4);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  onnx::StringStringEntryProto* e = t->add_external_data();
  e->set_key("location");
  e->set_value("weights.bin");
  SetValueInfo(g->add_output(), "w", onnx::TensorProto::FLOAT, {"4"});
  // From bytes there is no folder to read it from (import_paths_test.cc covers files).
  absl::StatusOr<Graph> graph = Import(model);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(graph.status().message(), HasSubstr("initializer 'w' stores its data in the external file 'weights.bin'"));
}

TEST_F(OnnxImporterTest, MissingInitializer) {
  if (!Registered("Add")) GTEST_SKIP() << "Add is not registered yet";
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2"});
  AddNode(g, "Add", {"x", "bias"}, {"y"}, "add1");
  SetValueInfo(g->add_output(), "y", onnx::TensorProto::FLOAT, {"2"});
  absl::StatusOr<Graph> graph = Import(model, "m.onnx");
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("'m.onnx'"));
  EXPECT_THAT(graph.status().message(), HasSubstr("node 'add1'"));
  EXPECT_THAT(graph.status().message(), HasSubstr("'bias'"));
}

TEST_F(OnnxImporterTest, UnproducedOutput) {
  onnx::ModelProto model = MakeModel(13);
  SetValueInfo(model.mutable_graph()->add_output(), "nowhere", onnx::TensorProto::FLOAT, {"2"});
  absl::StatusOr<Graph> graph = Import(model);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("'nowhere'"));
}

TEST_F(OnnxImporterTest, UnsupportedElementType) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::COMPLEX64, {"2"});
  SetValueInfo(g->add_output(), "x", onnx::TensorProto::COMPLEX64, {"2"});
  absl::StatusOr<Graph> graph = Import(model);
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(graph.status().message(), HasSubstr("COMPLEX64"));
  EXPECT_THAT(graph.status().message(), HasSubstr("input 'x'"));
}

TEST_F(OnnxImporterTest, InputsShapesAndTypedInitializers) {
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"batch", "3"});
  // Before IR version 4 initializers were also listed as inputs; they must not stay inputs.
  SetValueInfo(g->add_input(), "h", onnx::TensorProto::FLOAT16, {"2"});
  onnx::TensorProto* h = g->add_initializer();
  h->set_name("h");
  h->set_data_type(onnx::TensorProto::FLOAT16);
  h->add_dims(2);
  h->add_int32_data(0x3c00);  // 1.0
  h->add_int32_data(0xc000);  // -2.0
  onnx::TensorProto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::BOOL);
  b->add_dims(3);
  b->add_int32_data(1);
  b->add_int32_data(0);
  b->add_int32_data(7);
  onnx::TensorProto* i8 = g->add_initializer();
  i8->set_name("i8");
  i8->set_data_type(onnx::TensorProto::INT8);
  i8->add_dims(2);
  i8->add_int32_data(-128);
  i8->add_int32_data(127);
  onnx::TensorProto* f = g->add_initializer();
  f->set_name("f");
  f->set_data_type(onnx::TensorProto::FLOAT);
  f->add_float_data(2.5f);  // A scalar.
  SetValueInfo(g->add_output(), "x", onnx::TensorProto::FLOAT, {"batch", "3"});
  absl::StatusOr<Graph> graph = Import(model);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->inputs.size(), 1u);
  EXPECT_EQ(graph->inputs[0].dims, (Dims{-1, 3}));
  const Tensor& ht = graph->initializers.at("h");
  ASSERT_EQ(ht.dtype(), DType::kF16);
  EXPECT_EQ(ht.GetAsDouble(0), 1.0);
  EXPECT_EQ(ht.GetAsDouble(1), -2.0);
  const Tensor& bt = graph->initializers.at("b");
  ASSERT_EQ(bt.dtype(), DType::kBool);
  EXPECT_EQ(bt.data<uint8_t>()[0], 1);
  EXPECT_EQ(bt.data<uint8_t>()[1], 0);
  EXPECT_EQ(bt.data<uint8_t>()[2], 1);
  const Tensor& it = graph->initializers.at("i8");
  ASSERT_EQ(it.dtype(), DType::kS8);
  EXPECT_EQ(it.data<int8_t>()[0], -128);
  EXPECT_EQ(it.data<int8_t>()[1], 127);
  const Tensor& ft = graph->initializers.at("f");
  EXPECT_EQ(ft.rank(), 0);
  EXPECT_EQ(ft.data<float>()[0], 2.5f);
}

TEST_F(OnnxImporterTest, AttributesAndGeneratedNames) {
  if (!Registered("Relu") || !Registered("Constant")) GTEST_SKIP() << "ops not registered yet";
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2"});
  AddNode(g, "Relu", {"x"}, {"r0"});
  AddNode(g, "Relu", {"r0"}, {"r1"});
  AddNode(g, "Relu", {"r1"}, {"r2"}, "Relu_0");  // Collides with the first generated name.
  onnx::NodeProto* c = AddNode(g, "Constant", {}, {"c"}, "const");
  onnx::AttributeProto* value = c->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  value->mutable_t()->add_dims(2);
  value->mutable_t()->add_int64_data(4);
  value->mutable_t()->add_int64_data(-5);
  onnx::AttributeProto* s = c->add_attribute();
  s->set_name("note");
  s->set_type(onnx::AttributeProto::STRING);
  s->set_s("hello");
  SetValueInfo(g->add_output(), "r2", onnx::TensorProto::FLOAT, {"2"});
  SetValueInfo(g->add_output(), "c", onnx::TensorProto::INT64, {"2"});
  absl::StatusOr<Graph> graph = Import(model);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->nodes.size(), 4u);
  std::set<std::string> names;
  for (const Node& node : graph->nodes) names.insert(node.name);
  EXPECT_EQ(names.size(), 4u);
  EXPECT_EQ(graph->nodes[1].name, "Relu_1");
  const Node& cn = graph->nodes[3];
  absl::StatusOr<Tensor> t = cn.GetTensor("value");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->GetAsInt64(1), -5);
  EXPECT_EQ(*cn.GetString("note"), "hello");
}

TEST_F(OnnxImporterTest, LegacyClipAttributesBecomeInputs) {
  if (!Registered("Clip")) GTEST_SKIP() << "Clip is not registered yet";
  onnx::ModelProto model = MakeModel(6);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"4"});
  onnx::NodeProto* clip = AddNode(g, "Clip", {"x"}, {"y"}, "relu6");
  AddFloatAttr(clip, "min", 0.0f);
  AddFloatAttr(clip, "max", 6.0f);
  SetValueInfo(g->add_output(), "y", onnx::TensorProto::FLOAT, {"4"});
  absl::StatusOr<Graph> graph = Import(model);
  ASSERT_TRUE(graph.ok()) << graph.status();
  const Node& node = graph->nodes[0];
  EXPECT_TRUE(node.attrs.empty());
  ASSERT_EQ(node.inputs.size(), 3u);
  EXPECT_EQ(graph->initializers.at(node.inputs[1]).GetAsDouble(0), 0.0);
  EXPECT_EQ(graph->initializers.at(node.inputs[2]).GetAsDouble(0), 6.0);
  EXPECT_EQ(graph->initializers.at(node.inputs[2]).rank(), 0);
}

TEST_F(OnnxImporterTest, LegacyReshapeSoftmaxDropoutUnsqueeze) {
  for (const char* op : {"Reshape", "Softmax", "Identity", "Unsqueeze", "BatchNormalization"}) {
    if (!Registered(op)) GTEST_SKIP() << op << " is not registered yet";
  }
  onnx::ModelProto model = MakeModel(4);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2", "3"});
  onnx::NodeProto* reshape = AddNode(g, "Reshape", {"x"}, {"r"}, "reshape");
  AddIntsAttr(reshape, "shape", {3, 2});
  AddIntsAttr(reshape, "consumed_inputs", {0});
  AddNode(g, "Softmax", {"r"}, {"s"}, "softmax");
  onnx::NodeProto* dropout = AddNode(g, "Dropout", {"s"}, {"d"}, "dropout");
  AddFloatAttr(dropout, "ratio", 0.5f);
  onnx::NodeProto* unsqueeze = AddNode(g, "Unsqueeze", {"d"}, {"u"}, "unsqueeze");
  AddIntsAttr(unsqueeze, "axes", {0});
  SetValueInfo(g->add_output(), "u", onnx::TensorProto::FLOAT, {"1", "3", "2"});
  absl::StatusOr<Graph> graph = Import(model);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->nodes.size(), 4u);
  const Node& r = graph->nodes[0];
  EXPECT_TRUE(r.attrs.empty());
  ASSERT_EQ(r.inputs.size(), 2u);
  const Tensor& shape = graph->initializers.at(r.inputs[1]);
  EXPECT_EQ(shape.dtype(), DType::kS64);
  EXPECT_EQ(shape.dims(), (Dims{2}));
  EXPECT_EQ(shape.GetAsInt64(0), 3);
  EXPECT_EQ(shape.GetAsInt64(1), 2);
  const Node& s = graph->nodes[1];
  EXPECT_EQ(*s.GetInt("coerce_2d"), 1);
  EXPECT_EQ(*s.GetInt("axis"), 1);
  const Node& d = graph->nodes[2];
  EXPECT_EQ(d.op, "Identity");
  EXPECT_TRUE(d.attrs.empty());
  const Node& u = graph->nodes[3];
  ASSERT_EQ(u.inputs.size(), 2u);
  EXPECT_EQ(graph->initializers.at(u.inputs[1]).GetAsInt64(0), 0);
}

TEST_F(OnnxImporterTest, CurrentOpsetLeavesSoftmaxAlone) {
  if (!Registered("Softmax")) GTEST_SKIP() << "Softmax is not registered yet";
  onnx::ModelProto model = MakeModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  SetValueInfo(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2", "3"});
  AddNode(g, "Softmax", {"x"}, {"s"});
  SetValueInfo(g->add_output(), "s", onnx::TensorProto::FLOAT, {"2", "3"});
  absl::StatusOr<Graph> graph = Import(model);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_FALSE(graph->nodes[0].HasAttr("coerce_2d"));
  EXPECT_FALSE(graph->nodes[0].HasAttr("axis"));
}

// Relu's definition: y = max(x, 0). Checks ReadOnnxTensorFile on the conformance suite's files.
TEST_F(OnnxImporterTest, ReadOnnxTensorFileOnConformanceData) {
  absl::StatusOr<Tensor> x =
      ReadOnnxTensorFile(kNodeCases + "/test_relu/test_data_set_0/input_0.pb");
  absl::StatusOr<Tensor> y =
      ReadOnnxTensorFile(kNodeCases + "/test_relu/test_data_set_0/output_0.pb");
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(x->dtype(), DType::kF32);
  EXPECT_EQ(y->dims(), (Dims{3, 4, 5}));
  ASSERT_EQ(x->dims(), y->dims());
  int negatives = 0;
  for (int64_t i = 0; i < x->num_elements(); ++i) {
    float xi = x->data<float>()[i];
    negatives += xi < 0;
    EXPECT_EQ(y->data<float>()[i], xi > 0 ? xi : 0.0f) << i;
  }
  EXPECT_GT(negatives, 0);
}

TEST_F(OnnxImporterTest, ReadOnnxTensorFileErrors) {
  TempDir dir;
  absl::StatusOr<Tensor> missing = ReadOnnxTensorFile(dir.File("none.pb"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  const std::string bytes = ReadBytes(kNodeCases + "/test_relu/test_data_set_0/output_0.pb");
  ASSERT_GT(bytes.size(), 20u);
  const std::string path = dir.File("cut.pb");
  WriteBytes(path, bytes.substr(0, bytes.size() - 9));
  absl::StatusOr<Tensor> cut = ReadOnnxTensorFile(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace kiln
