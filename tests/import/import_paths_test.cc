// Files that importers open because a model names them, and what a model path itself may be:
// ONNX external data, TensorFlow.js weight shards, and ImportModel's paths. A path written inside a
// model never leads out of the model's folder; only regular files are read, and nothing blocks.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/model_format.h"
#include "kiln/runtime/op_registry.h"
#include "onnx.pb.h"
#include "tests/support/file_test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using testing_util::TempDir;
using testing_util::WithinSeconds;
using testing_util::WriteFile;

std::string FloatBytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

const std::string kEscape = "'; paths in a model must stay inside its folder (no '..' or symlink out of it)";

// ---- ONNX external data -------------------------------------------------------------------------

// y = x + w, where w (f32[4]) is stored as external data with the given key/value pairs.
onnx::ModelProto ExternalModel(const std::vector<std::pair<std::string, std::string>>& external_data) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("external");
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [key, value] : external_data) {
    onnx::StringStringEntryProto* e = w->add_external_data();
    e->set_key(key);
    e->set_value(value);
  }
  for (const char* name : {"x", "y"}) {
    onnx::ValueInfoProto* vi = name[0] == 'x' ? g->add_input() : g->add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    vi->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
  }
  onnx::NodeProto* add = g->add_node();
  add->set_op_type("Add");
  add->set_name("add");
  add->add_input("x");
  add->add_input("w");
  add->add_output("y");
  return model;
}

class OnnxExternalDataTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterStandardOps(); }

  // Writes the model to the temp folder and imports it from there.
  absl::StatusOr<Graph> Import(const std::vector<std::pair<std::string, std::string>>& external_data) {
    WriteFile(model_path_, ExternalModel(external_data).SerializeAsString());
    return ImportOnnxFile(model_path_);
  }
  // The error of Import, which must fail with `code`.
  std::string Error(const std::vector<std::pair<std::string, std::string>>& external_data, absl::StatusCode code) {
    absl::StatusOr<Graph> graph = Import(external_data);
    EXPECT_FALSE(graph.ok());
    EXPECT_EQ(graph.status().code(), code) << graph.status();
    return std::string(graph.status().message());
  }
  std::string Prefix() const { return "model '" + model_path_ + "': initializer 'w'"; }

  TempDir dir_;
  const std::string model_path_ = dir_.File("model.onnx");
  const std::vector<float> w_ = {1.5f, -2.0f, 3.25f, 4.0f};
};

TEST_F(OnnxExternalDataTest, ReadsTensorsBesideTheModel) {
  WriteFile(dir_.File("w.bin"), FloatBytes(w_));
  for (const auto& data : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"location", "w.bin"}},
           {{"location", "w.bin"}, {"offset", "0"}, {"length", "16"}, {"checksum", "ignored"}}}) {
    absl::StatusOr<Graph> graph = Import(data);
    ASSERT_TRUE(graph.ok()) << graph.status();
    const Tensor& w = graph->initializers.at("w");
    ASSERT_EQ(w.TypeString(), "f32[4]");
    EXPECT_EQ(std::memcmp(w.raw_data(), w_.data(), 16), 0);
  }
  // One file holding several tensors, in a subfolder: offset and length pick the bytes.
  fs::create_directories(dir_.File("data"));
  WriteFile(dir_.File("data/all.bin"), "12345678" + FloatBytes(w_) + "trailing");
  absl::StatusOr<Graph> graph = Import({{"location", "data/all.bin"}, {"offset", "8"}, {"length", "16"}});
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ(std::memcmp(graph->initializers.at("w").raw_data(), w_.data(), 16), 0);
}

TEST_F(OnnxExternalDataTest, LocationsOutsideTheModelFolderAreRefused) {
  // The traversal of the issue: bytes of a file outside the folder must never become a tensor.
  const std::string secret = (fs::path(dir_.path()).parent_path() / ("kiln_secret_" + std::to_string(getpid()))).string();
  WriteFile(secret, FloatBytes(w_));
  const std::string up = "../kiln_secret_" + std::to_string(getpid());
  EXPECT_EQ(Error({{"location", up}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file '" + up + "' leads to '" + secret + "', outside the model's folder '" +
                dir_.path() + kEscape);
  EXPECT_EQ(Error({{"location", "../../../../../../../../etc/passwd"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file '../../../../../../../../etc/passwd' leads to '/etc/passwd', outside "
                       "the model's folder '" + dir_.path() + kEscape);
  EXPECT_EQ(Error({{"location", "/etc/passwd"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file '/etc/passwd' is an absolute path; paths in a model must be relative "
                       "to the model's folder");
  fs::create_symlink(secret, dir_.File("w.bin"));
  EXPECT_EQ(Error({{"location", "w.bin"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file 'w.bin' leads to '" + secret + "', outside the model's folder '" +
                dir_.path() + kEscape);
  fs::remove(secret);
}

TEST_F(OnnxExternalDataTest, OffsetAndLengthStayWithinTheFile) {
  const std::string file = dir_.File("w.bin");
  WriteFile(file, FloatBytes(w_));
  EXPECT_EQ(Error({{"location", "w.bin"}, {"offset", "4"}, {"length", "16"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file '" + file +
                "': 16 bytes at offset 4 lie beyond the end of the file (16 bytes)");
  EXPECT_EQ(Error({{"location", "w.bin"}, {"offset", "9223372036854775807"}, {"length", "16"}},
                  absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file '" + file +
                "': 16 bytes at offset 9223372036854775807 lie beyond the end of the file (16 bytes)");
  EXPECT_EQ(Error({{"location", "w.bin"}, {"length", "12"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file 'w.bin' holds 12 bytes (its 'length'), but the tensor's dims and type "
                       "need 16");
  EXPECT_EQ(Error({{"location", "w.bin"}, {"offset", "4"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file 'w.bin' is 16 bytes, so it holds 12 bytes from offset 4 to its end, "
                       "but the tensor's dims and type need 16");
  EXPECT_EQ(Error({{"location", "w.bin"}, {"offset", "-8"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data offset '-8' is not a non-negative integer");
  EXPECT_EQ(Error({{"location", "w.bin"}, {"length", "1e3"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data length '1e3' is not a non-negative integer");
  EXPECT_EQ(Error({{"offset", "0"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + " stores its data externally but names no location");
}

TEST_F(OnnxExternalDataTest, OnlyRegularFilesAreRead) {
  EXPECT_EQ(Error({{"location", "absent.bin"}}, absl::StatusCode::kNotFound),
            Prefix() + ": external data file '" + dir_.File("absent.bin") +
                "' cannot be opened: No such file or directory");
  fs::create_directories(dir_.File("folder"));
  EXPECT_EQ(Error({{"location", "folder"}, {"length", "16"}}, absl::StatusCode::kInvalidArgument),
            Prefix() + ": external data file '" + dir_.File("folder") + "' is a directory");
  ASSERT_EQ(mkfifo(dir_.File("fifo.bin").c_str(), 0600), 0);
  WithinSeconds(20, [&] {
    EXPECT_EQ(Error({{"location", "fifo.bin"}, {"length", "16"}}, absl::StatusCode::kInvalidArgument),
              Prefix() + ": external data file '" + dir_.File("fifo.bin") + "' is not a regular file (FIFO)");
    EXPECT_EQ(Error({{"location", "fifo.bin"}}, absl::StatusCode::kInvalidArgument),
              Prefix() + ": external data file '" + dir_.File("fifo.bin") + "' is not a regular file (FIFO)");
  });
}

TEST_F(OnnxExternalDataTest, ModelsFromBytesRefuseExternalData) {
  WriteFile(dir_.File("w.bin"), FloatBytes(w_));
  absl::StatusOr<Graph> graph = ImportOnnxBytes(ExternalModel({{"location", "w.bin"}}).SerializeAsString(), "m.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(graph.status().message(),
            "model 'm.onnx': initializer 'w' stores its data in the external file 'w.bin', which is read only when "
            "the model is imported from its file (ImportOnnxFile, kiln run MODEL.onnx), not from bytes");

  onnx::ModelProto inconsistent = ExternalModel({{"location", "w.bin"}});
  inconsistent.mutable_graph()->mutable_initializer(0)->set_data_location(onnx::TensorProto::DEFAULT);
  EXPECT_EQ(ImportOnnxBytes(inconsistent.SerializeAsString(), "m.onnx").status().message(),
            "model 'm.onnx': initializer 'w' has external_data entries, but its data_location is not EXTERNAL");
}

TEST_F(OnnxExternalDataTest, TensorFilesReadExternalDataBesideThem) {
  WriteFile(dir_.File("w.bin"), FloatBytes(w_));
  onnx::TensorProto t = ExternalModel({{"location", "w.bin"}}).graph().initializer(0);
  WriteFile(dir_.File("input_0.pb"), t.SerializeAsString());
  absl::StatusOr<Tensor> tensor = ReadOnnxTensorFile(dir_.File("input_0.pb"));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(std::memcmp(tensor->raw_data(), w_.data(), 16), 0);
  t.mutable_external_data(0)->set_value("../w.bin");
  WriteFile(dir_.File("input_0.pb"), t.SerializeAsString());
  EXPECT_EQ(ReadOnnxTensorFile(dir_.File("input_0.pb")).status().message(),
            "tensor file '" + dir_.File("input_0.pb") + "': external data file '../w.bin' leads to '" +
                (fs::path(dir_.path()).parent_path() / "w.bin").string() + "', outside the model's folder '" +
                dir_.path() + kEscape);
}

// ---- TensorFlow.js weight shards ----------------------------------------------------------------

// y = x + w with w (f32[4]) in the shard named `shard`.
std::string TfjsModel(const std::string& shard) {
  return R"({"format": "graph-model", "modelTopology": {"node": [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
      "shape": {"shape": {"dim": [{"size": "4"}]}}}},
    {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"},
      "value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "4"}]}}}}},
    {"name": "y", "op": "AddV2", "input": ["x", "w"], "attr": {"T": {"type": "DT_FLOAT"}}}]},
  "weightsManifest": [{"paths": [")" + shard + R"("], "weights": [{"name": "w", "shape": [4], "dtype": "float32"}]}],
  "signature": {"outputs": {"y:0": {"name": "y:0"}}}})";
}

TEST(TfjsShardPathsTest, ShardsOutsideTheModelFolderAreRefused) {
  TempDir dir;
  const std::string json = dir.File("model.json");
  auto error = [&](const std::string& shard) {
    WriteFile(json, TfjsModel(shard));
    absl::StatusOr<Graph> graph = ImportTfjsModel(json);
    EXPECT_FALSE(graph.ok());
    EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument) << graph.status();
    return std::string(graph.status().message());
  };
  const std::string prefix = "model '" + json + "': weight group 0: weight shard '";
  EXPECT_EQ(error("../../../../etc/passwd"),
            prefix + "../../../../etc/passwd' leads to '/etc/passwd', outside the model's folder '" + dir.path() +
                kEscape);
  EXPECT_EQ(error("/etc/passwd"),
            prefix + "/etc/passwd' is an absolute path; paths in a model must be relative to the model's folder");
  fs::create_symlink("/etc/passwd", dir.File("weights.bin"));
  EXPECT_EQ(error("weights.bin"),
            prefix + "weights.bin' leads to '/etc/passwd', outside the model's folder '" + dir.path() + kEscape);

  // A shard inside the folder, also through a subfolder and a symlink that stays inside, imports.
  fs::remove(dir.File("weights.bin"));
  fs::create_directories(dir.File("shards"));
  WriteFile(dir.File("shards/w.bin"), FloatBytes({1, 2, 3, 4}));
  fs::create_symlink("shards/w.bin", dir.File("weights.bin"));
  for (const char* shard : {"weights.bin", "shards/w.bin", "shards/../weights.bin"}) {
    WriteFile(json, TfjsModel(shard));
    absl::StatusOr<Graph> graph = ImportTfjsModel(json);
    ASSERT_TRUE(graph.ok()) << shard << ": " << graph.status();
  }
}

TEST(TfjsShardPathsTest, ShardsMustBeRegularFiles) {
  TempDir dir;
  const std::string json = dir.File("model.json");
  WriteFile(json, TfjsModel("weights.bin"));
  ASSERT_EQ(mkfifo(dir.File("weights.bin").c_str(), 0600), 0);
  WithinSeconds(20, [&] {
    absl::StatusOr<Graph> graph = ImportTfjsModel(json);
    ASSERT_FALSE(graph.ok());
    EXPECT_EQ(graph.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(graph.status().message(),
              "model '" + json + "': weight shard '" + dir.File("weights.bin") + "' is not a regular file (FIFO)");
  });
  fs::remove(dir.File("weights.bin"));
  fs::create_directories(dir.File("weights.bin"));
  absl::StatusOr<Graph> graph = ImportTfjsModel(json);
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().message(),
            "model '" + json + "': weight shard '" + dir.File("weights.bin") + "' is a directory");
}

// ---- Model paths --------------------------------------------------------------------------------

TEST(ModelPathTest, FoldersMissingFilesAndFifosAreNamedForWhatTheyAre) {
  TempDir dir;
  absl::Status folder = ImportModel(dir.path()).status();
  EXPECT_EQ(folder.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(folder.message(), "model '" + dir.path() +
                                  "' is a directory; pass a model file (.onnx, .pb, model.json or .kiln)");
  WriteFile(dir.File("model.json"), TfjsModel("weights.bin"));
  EXPECT_EQ(ImportModel(dir.path()).status().message(),
            "model '" + dir.path() + "' is a directory (pass its model.json: '" + dir.File("model.json") + "')");
  fs::create_directories(dir.File("folder.onnx"));
  EXPECT_EQ(ImportModel(dir.File("folder.onnx")).status().message(),
            "model '" + dir.File("folder.onnx") +
                "' is a directory; pass a model file (.onnx, .pb, model.json or .kiln)");

  for (const char* name : {"absent.onnx", "absent.kiln", "absent.pb", "model2.json", "absent.txt"}) {
    absl::Status missing = ImportModel(dir.File(name)).status();
    EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(missing.message(), "model '" + dir.File(name) + "' cannot be opened: No such file or directory");
  }
  ASSERT_EQ(mkfifo(dir.File("fifo.onnx").c_str(), 0600), 0);
  WithinSeconds(20, [&] {
    absl::Status fifo = ImportModel(dir.File("fifo.onnx")).status();
    EXPECT_EQ(fifo.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(fifo.message(), "model '" + dir.File("fifo.onnx") + "' is not a regular file (FIFO)");
    // The importers behind ImportModel check again when called directly.
    for (auto import : {+[](const std::string& p) { return ImportOnnxFile(p).status(); },
                        +[](const std::string& p) { return ImportTfGraphDefFile(p).status(); },
                        +[](const std::string& p) { return ImportTfjsModel(p).status(); },
                        +[](const std::string& p) { return LoadKilnModel(p).status(); },
                        +[](const std::string& p) { return ReadOnnxTensorFile(p).status(); }}) {
      EXPECT_THAT(import(dir.File("fifo.onnx")).message(), testing::HasSubstr("is not a regular file (FIFO)"));
    }
  });
}

}  // namespace
}  // namespace kiln
