// Bad TensorFlow and TensorFlow.js inputs get clear errors (never a crash or a wrong answer), and
// TensorFlow.js quantized weights decode as the TensorFlow.js format defines them.
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/runtime/import.h"
#include "kiln/session/session.h"
#include "tensorflow_graph.pb.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

const std::string kShared = std::string(KILN_SHARED_DATA) + "/tfjs/";
const std::string kData = std::string(KILN_SOURCE_DIR) + "/tests/import/tf/data/";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A fresh directory under the test's temporary directory.
std::string TempDir(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / ("kiln_tf_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

tf::NodeDef* AddNode(tf::GraphDef* g, const std::string& name, const std::string& op,
                     std::vector<std::string> inputs = {}) {
  tf::NodeDef* n = g->add_node();
  n->set_name(name);
  n->set_op(op);
  for (const std::string& in : inputs) n->add_input(in);
  return n;
}

tf::NodeDef* AddPlaceholder(tf::GraphDef* g, const std::string& name) {
  tf::NodeDef* n = AddNode(g, name, "Placeholder");
  (*n->mutable_attr())["dtype"].set_type(tf::DT_FLOAT);
  (*n->mutable_attr())["shape"].mutable_shape()->add_dim()->set_size(4);
  return n;
}

absl::Status ImportGraph(const tf::GraphDef& g, const std::vector<std::string>& outputs = {}) {
  return ImportTfGraphDefBytes(g.SerializeAsString(), "test.pb", outputs).status();
}

TEST(TfImportErrors, TruncatedGraphDef) {
  const std::string bytes = ReadAll(kData + "conv.pb");
  ASSERT_GT(bytes.size(), 100u);
  absl::StatusOr<Graph> cut = ImportTfGraphDefBytes(bytes.substr(0, bytes.size() - 1), "conv.pb");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss) << cut.status();
  EXPECT_THAT(cut.status().message(), HasSubstr("truncated"));
  // Any prefix fails (a prefix that ends between nodes parses, but then misses nodes).
  for (size_t size : {size_t{3}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 7}) {
    absl::StatusOr<Graph> g = ImportTfGraphDefBytes(bytes.substr(0, size), "conv.pb", {"bias_relu", "conv_grouped"});
    EXPECT_FALSE(g.ok()) << size;
    EXPECT_THAT(g.status().message(), HasSubstr("conv.pb")) << size;
  }
  const std::string dir = TempDir("truncated");
  WriteAll(dir + "/cut.pb", bytes.substr(0, bytes.size() / 2 + 1));
  absl::StatusOr<Graph> file = ImportModel(dir + "/cut.pb");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("cut.pb"));
  EXPECT_FALSE(ImportTfGraphDefBytes("", "empty.pb").ok());
}

TEST(TfImportErrors, UnknownOpNamesNodeAndOp) {
  tf::GraphDef g;
  AddPlaceholder(&g, "x");
  AddNode(&g, "mystery_node", "FancyOp", {"x"});
  absl::Status s = ImportGraph(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_THAT(s.message(), HasSubstr("mystery_node"));
  EXPECT_THAT(s.message(), HasSubstr("FancyOp"));
  // An unknown op that no output depends on is never translated.
  AddNode(&g, "y", "Relu", {"x"});
  EXPECT_TRUE(ImportGraph(g, {"y"}).ok());
}

TEST(TfImportErrors, BadGraphStructure) {
  tf::GraphDef g;
  AddPlaceholder(&g, "x");
  AddNode(&g, "a", "Relu", {"missing_node"});
  absl::Status s = ImportGraph(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("missing_node"));

  tf::GraphDef cycle;
  AddNode(&cycle, "p", "Relu", {"q"});
  AddNode(&cycle, "q", "Relu", {"p"});
  s = ImportGraph(cycle, {"q"});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_THAT(s.message(), HasSubstr("cycle"));

  tf::GraphDef ok;
  AddPlaceholder(&ok, "x");
  AddNode(&ok, "r", "Relu", {"x"});
  s = ImportGraph(ok, {"nowhere"});
  EXPECT_THAT(s.message(), HasSubstr("nowhere"));
  s = ImportGraph(ok, {"r:1"});
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("r:1"));

  // StridedSlice whose begin is computed at run time.
  tf::GraphDef dyn;
  AddPlaceholder(&dyn, "x");
  tf::NodeDef* begin = AddPlaceholder(&dyn, "begin");
  (*begin->mutable_attr())["dtype"].set_type(tf::DT_INT32);
  AddNode(&dyn, "ss", "StridedSlice", {"x", "begin", "begin", "begin"});
  s = ImportGraph(dyn);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_THAT(s.message(), HasSubstr("'ss' (StridedSlice)"));
}

// Copies the emotion model's model.json into a fresh directory, with its shard rewritten.
std::string EmotionCopy(const std::string& name, const std::string* shard) {
  const std::string dir = TempDir(name);
  WriteAll(dir + "/model.json", ReadAll(kShared + "emotion/model.json"));
  if (shard) WriteAll(dir + "/emotion.bin", *shard);
  return dir + "/model.json";
}

TEST(TfjsImportErrors, MissingWeightShard) {
  absl::StatusOr<Graph> g = ImportModel(EmotionCopy("missing_shard", nullptr));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound) << g.status();
  EXPECT_THAT(g.status().message(), HasSubstr("emotion.bin"));
}

TEST(TfjsImportErrors, WrongShardSize) {
  const std::string shard = ReadAll(kShared + "emotion/emotion.bin");
  const std::string shorter = shard.substr(0, shard.size() - 4);
  absl::StatusOr<Graph> g = ImportModel(EmotionCopy("short_shard", &shorter));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss) << g.status();
  EXPECT_THAT(g.status().message(), HasSubstr("emotion.bin"));
  EXPECT_THAT(g.status().message(), HasSubstr(std::to_string(shorter.size())));

  const std::string longer = shard + "abcd";
  g = ImportModel(EmotionCopy("long_shard", &longer));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss) << g.status();
  EXPECT_THAT(g.status().message(), HasSubstr(std::to_string(longer.size())));

  ASSERT_TRUE(ImportModel(EmotionCopy("exact_shard", &shard)).ok());
}

TEST(TfjsImportErrors, MissingSecondShardOfGroup) {
  const std::string dir = TempDir("nsfw_one_shard");
  WriteAll(dir + "/model.json", ReadAll(kShared + "nsfwjs_mobilenet_v2_mid/model.json"));
  WriteAll(dir + "/group1-shard1of2", ReadAll(kShared + "nsfwjs_mobilenet_v2_mid/group1-shard1of2"));
  absl::StatusOr<Graph> g = ImportTfjsModel(dir + "/model.json");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound) << g.status();
  EXPECT_THAT(g.status().message(), HasSubstr("group1-shard2of2"));
}

// A hand-written graph model: y = x + w_u8, h = Identity(w_f16), k = Identity(w_u16).
const char kQuantizedModel[] = R"json({
  "format": "graph-model",
  "modelTopology": {"node": [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
      "shape": {"shape": {"dim": [{"size": "4"}]}}}},
    {"name": "w_u8", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"},
      "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "4"}]}}}}},
    {"name": "w_f16", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"},
      "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "3"}]}}}}},
    {"name": "w_u16", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"},
      "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "2"}]}}}}},
    {"name": "y", "op": "AddV2", "input": ["x", "w_u8"], "attr": {"T": {"type": "DT_FLOAT"}}},
    {"name": "h", "op": "Identity", "input": ["w_f16"], "attr": {"T": {"type": "DT_FLOAT"}}},
    {"name": "k", "op": "Identity", "input": ["w_u16"], "attr": {"T": {"type": "DT_FLOAT"}}}
  ]},
  "weightsManifest": [{"paths": ["weights.bin"], "weights": [
    {"name": "w_u8", "shape": [4], "dtype": "float32",
     "quantization": {"scale": 0.5, "min": -1.0, "dtype": "uint8"}},
    {"name": "w_f16", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
    {"name": "w_u16", "shape": [2], "dtype": "float32",
     "quantization": {"scale": 0.25, "min": 2.0, "dtype": "uint16"}}
  ]}],
  "signature": {"outputs": {"y:0": {"name": "y:0"}, "h:0": {"name": "h:0"}, "k:0": {"name": "k:0"}}}
})json";

TEST(TfjsWeights, QuantizedWeightsDecodeAsTensorFlowJsDefines) {
  const std::string dir = TempDir("quantized");
  WriteAll(dir + "/model.json", kQuantizedModel);
  // uint8 0, 2, 4, 255 -> q * 0.5 - 1; float16 1.0, -2.0, 0x3555; uint16 4, 65535 -> q * 0.25 + 2.
  const unsigned char bytes[] = {0, 2, 4, 255, 0x00, 0x3C, 0x00, 0xC0, 0x55, 0x35, 4, 0, 0xFF, 0xFF};
  WriteAll(dir + "/weights.bin", std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  absl::StatusOr<Graph> graph = ImportModel(dir + "/model.json");
  ASSERT_TRUE(graph.ok()) << graph.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*std::move(graph), SessionOptions{.auto_jit = 0});
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<std::vector<Tensor>> out =
      (*session)->Run({{"x", Tensor::FromVector<float>({4}, {10, 20, 30, 40})}}, {"y", "h", "k"});
  ASSERT_TRUE(out.ok()) << out.status();
  const float* y = (*out)[0].data<float>();
  EXPECT_EQ(y[0], 9.0f);
  EXPECT_EQ(y[1], 20.0f);
  EXPECT_EQ(y[2], 31.0f);
  EXPECT_EQ(y[3], 166.5f);
  const float* h = (*out)[1].data<float>();
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], 0.333251953125f);
  const float* k = (*out)[2].data<float>();
  EXPECT_EQ(k[0], 3.0f);
  EXPECT_EQ(k[1], 16385.75f);
}

TEST(TfjsImportErrors, BadModelJson) {
  const std::string dir = TempDir("bad_json");
  WriteAll(dir + "/model.json", "{\"format\": \"graph-model\", \"modelTopology\": {\"node\": [");
  absl::StatusOr<Graph> g = ImportTfjsModel(dir + "/model.json");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
  EXPECT_THAT(g.status().message(), HasSubstr("model.json"));

  // A Const without a manifest entry would silently be zeros: refused.
  std::string no_weight = kQuantizedModel;
  const std::string entry = "\"name\": \"w_u16\", \"shape\"";
  no_weight.replace(no_weight.find(entry), entry.size(), "\"name\": \"unused\", \"shape\"");
  WriteAll(dir + "/model.json", no_weight);
  const unsigned char bytes[] = {0, 2, 4, 255, 0x00, 0x3C, 0x00, 0xC0, 0x55, 0x35, 4, 0, 0xFF, 0xFF};
  WriteAll(dir + "/weights.bin", std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  g = ImportTfjsModel(dir + "/model.json");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("w_u16"));

  WriteAll(dir + "/model.tflite", "TFL3");
  absl::StatusOr<Graph> unknown = ImportModel(dir + "/model.tflite");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr(".pb"));
}

// The manifest gives no offsets: each weight's bytes follow the previous one's. One wrong shape used
// to shift every later weight, and the error blamed the last weight of the group. The Const node's
// declared shape names the weight that is wrong.
TEST(TfjsImportErrors, WrongManifestShapeNamesThatWeight) {
  const std::string dir = TempDir("wrong_manifest_shape");
  const unsigned char bytes[] = {0, 2, 4, 255, 0x00, 0x3C, 0x00, 0xC0, 0x55, 0x35, 4, 0, 0xFF, 0xFF};
  WriteAll(dir + "/weights.bin", std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  std::string model = kQuantizedModel;
  const std::string entry = "{\"name\": \"w_u8\", \"shape\": [4]";
  ASSERT_NE(model.find(entry), std::string::npos);
  model.replace(model.find(entry), entry.size(), "{\"name\": \"w_u8\", \"shape\": [5]");
  WriteAll(dir + "/model.json", model);
  absl::StatusOr<Graph> g = ImportTfjsModel(dir + "/model.json");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
  EXPECT_EQ(g.status().message(),
            "model '" + dir + "/model.json': weight 'w_u8' has shape [5] in the manifest of weight group 0 "
            "(weights.bin), but its Const node declares [4]; the weights after it would be read from the wrong "
            "bytes, so fix this manifest entry");

  // Without a declared shape the bytes alone cannot say which weight is wrong: the error names the first
  // weight that does not fit and says that an earlier one may be at fault.
  const std::string declared = R"("tensorShape": {"dim": [{"size": "4"}]})";
  ASSERT_NE(model.find(declared), std::string::npos);
  model.replace(model.find(declared), declared.size(), R"("tensorShape": {"unknownRank": true})");
  WriteAll(dir + "/model.json", model);
  g = ImportTfjsModel(dir + "/model.json");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss) << g.status();
  EXPECT_EQ(g.status().message(),
            "model '" + dir + "/model.json': weight 'w_u16' needs bytes 11 to 15 of weight group 0 (weights.bin), "
            "but its shards hold only 14 bytes; the manifest describes 15 bytes in all (a truncated or wrong shard, "
            "or a wrong shape or dtype of this or an earlier weight of the group)");
}

}  // namespace
}  // namespace kiln
