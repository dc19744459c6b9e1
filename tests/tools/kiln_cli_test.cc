// The kiln command line on the bundled demo model: subcommands called in-process (JIT as
// KILN_FLAGS says, off by default) and the built binary run once with the JIT on.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"
#include "kiln/version.h"
#include "onnx.pb.h"
#include "tests/support/file_test_util.h"
#include "tests/tools/kiln_test_util.h"
#include "tools/kiln/cli.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kDemo = fs::path(KILN_SOURCE_DIR) / "tools" / "demo";
const fs::path kModel = kDemo / "mobilenet_v1_0.25_128.onnx";
const fs::path kDev = fs::path(KILN_SHARED_DATA) / "imagenet-sample" / "dev";
const fs::path kSharedLabels = fs::path(KILN_SHARED_DATA) / "models" / "imagenet_labels_1001.txt";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The line of the text output starting with "  1." (the top-1 prediction).
std::string TopLine(const std::string& out) {
  for (const std::string& line : Lines(out)) {
    if (line.rfind("  1. ", 0) == 0) return line;
  }
  return "";
}

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("kiln_cli_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Synsets that have exact 128x128 references.
std::vector<std::string> ExactSynsets() {
  std::vector<std::string> out;
  const std::string suffix = "_128_probs_mobilenet_v1_0.25_128.npy";
  for (const auto& entry : fs::directory_iterator(kDev / "exact")) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ReadLines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(KilnCliTest, UsageErrorsExitTwo) {
  Result none = Kiln({});
  EXPECT_EQ(none.code, cli::kExitUsage);
  EXPECT_NE(none.err.find("usage:"), std::string::npos);

  EXPECT_EQ(Kiln({"frobnicate"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"run"}).code, cli::kExitUsage);
  Result neither = Kiln({"run", kModel.string()});  // Neither --image nor --input, for a model with an input.
  EXPECT_EQ(neither.code, cli::kExitUsage);
  EXPECT_EQ(neither.err.rfind("kiln: kiln run needs --input NAME=FILE.npy for each input of " + kModel.string() +
                                  " (input f32[1,3,128,128]), or --image FILE\n",
                              0),
            0u)
      << neither.err;
  Result unknown = Kiln({"run", kModel.string(), "--image", "x.jpg", "--colour"});
  EXPECT_EQ(unknown.code, cli::kExitUsage);
  EXPECT_NE(unknown.err.find("unknown option --colour"), std::string::npos) << unknown.err;
  EXPECT_EQ(Kiln({"run", kModel.string(), "--image", "x.jpg", "--top", "zero"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"run", kModel.string(), "--input", "no_equals_sign"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"run", kModel.string(), "--image", "x.jpg", "--output-dir", "d"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"info"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"help"}).code, cli::kExitOk);
}

TEST(KilnCliTest, VersionPrintsTheVersionTheCacheKeyUses) {
  Result version = Kiln({"--version"});
  EXPECT_EQ(version.code, cli::kExitOk);
  EXPECT_EQ(version.out, std::string("kiln ") + KILN_VERSION + "\n");
}

TEST(KilnCliTest, ErrorsExitOneWithTheStatusMessage) {
  Result missing = Kiln({"run", "/nonexistent/model.onnx", "--image", (kDemo / "cat.jpg").string()});
  EXPECT_EQ(missing.code, cli::kExitError);
  EXPECT_EQ(missing.err.rfind("kiln: ", 0), 0u) << missing.err;
  EXPECT_NE(missing.err.find("model.onnx"), std::string::npos) << missing.err;

  Result bad_image = Kiln({"run", kModel.string(), "--image", (kDemo / "README.md").string()});
  EXPECT_EQ(bad_image.code, cli::kExitError);
  EXPECT_NE(bad_image.err.find("README.md"), std::string::npos) << bad_image.err;

  const fs::path dir = TempDir("errors");
  const std::string small = (dir / "small.npy").string();
  ASSERT_TRUE(WriteNpyFile(small, *Tensor::Create(DType::kF32, {1, 3, 64, 64})).ok());
  Result wrong_name = Kiln({"run", kModel.string(), "--input", "pixels=" + small});
  EXPECT_EQ(wrong_name.code, cli::kExitError);
  EXPECT_NE(wrong_name.err.find("no input 'pixels'"), std::string::npos) << wrong_name.err;
  Result wrong_shape = Kiln({"run", kModel.string(), "--input", "input=" + small});
  EXPECT_EQ(wrong_shape.code, cli::kExitError);
  EXPECT_NE(wrong_shape.err.find("input"), std::string::npos) << wrong_shape.err;
  fs::remove_all(dir);
}

// A model without inputs: y = Cast(Constant, to=DOUBLE), an f64 [2] output.
std::string WriteNoInputF64Model(const fs::path& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("no_inputs");
  onnx::NodeProto* constant = g->add_node();
  constant->set_op_type("Constant");
  constant->add_output("c");
  onnx::AttributeProto* value = constant->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  value->mutable_t()->add_dims(2);
  value->mutable_t()->add_float_data(0.5f);
  value->mutable_t()->add_float_data(-2.0f);
  onnx::NodeProto* cast = g->add_node();
  cast->set_op_type("Cast");
  cast->add_input("c");
  cast->add_output("y");
  onnx::AttributeProto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(onnx::TensorProto::DOUBLE);
  g->add_output()->set_name("y");
  const std::string path = (dir / "no_inputs.onnx").string();
  std::ofstream(path, std::ios::binary) << m.SerializeAsString();
  return path;
}

TEST(KilnCliTest, ModelWithoutInputsRunsAndWritesItsF64Output) {
  const fs::path dir = TempDir("no_inputs");
  const std::string model = WriteNoInputF64Model(dir);
  Result r = Kiln({"run", model, "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("y  f64[2]  -> "), std::string::npos) << r.out;
  std::ifstream in(dir / "out" / "y.npy", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  EXPECT_EQ(bytes.str().substr(10, header.size()), header);
  absl::StatusOr<Tensor> y = ReadNpyFile((dir / "out" / "y.npy").string());
  ASSERT_TRUE(y.ok()) << y.status();
  ASSERT_EQ(y->TypeString(), "f64[2]");
  EXPECT_EQ(y->data<double>()[0], 0.5);
  EXPECT_EQ(y->data<double>()[1], -2.0);
  fs::remove_all(dir);
}

TEST(KilnCliTest, OutputFolderIsCheckedBeforeTheRun) {
  const fs::path dir = TempDir("output_dir");
  const std::string model = WriteNoInputF64Model(dir);
  std::ofstream(dir / "file") << "x";
  const std::string below_file = (dir / "file" / "out").string();
  Result r = Kiln({"run", model, "--output-dir", below_file});
  EXPECT_EQ(r.code, cli::kExitError);
  EXPECT_EQ(r.err, "kiln: --output-dir '" + below_file + "' cannot be used: Not a directory\n");
  EXPECT_EQ(r.out.find("first run"), std::string::npos) << r.out;  // Refused before the model ran.

  // `kiln convert` checks the output's folder before importing.
  const std::string missing = (dir / "absent" / "m.kiln").string();
  Result convert = Kiln({"convert", model, missing});
  EXPECT_EQ(convert.code, cli::kExitError);
  EXPECT_EQ(convert.err, "kiln: output folder '" + (dir / "absent").string() +
                             "' cannot be used: No such file or directory; create the folder first\n");
  fs::remove_all(dir);
}

TEST(KilnCliTest, NonFinitePreprocessingValuesAreRefused) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"scale", "nan"}, {"scale", "-inf"}, {"offset", "NaN"}, {"offset", "1e40"}}) {
    Result r = Kiln({"run", kModel.string(), "--image", (kDemo / "cat.jpg").string(), "--" + flag, value});
    EXPECT_EQ(r.code, cli::kExitUsage) << flag << " " << value;
    EXPECT_EQ(r.err.rfind("kiln: --" + flag + " needs a finite number, got '" + value + "'\n", 0), 0u) << r.err;
  }
}

TEST(KilnCliTest, ClassifiesTheDemoPhotoAsACat) {
  // Expected from ONNX Runtime on the same pixels (tools/demo/README.md): Egyptian cat, 0.3697.
  Result r = Kiln({"run", kModel.string(), "--image", (kDemo / "cat.jpg").string(), "--repeat", "2"});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  const std::string top = TopLine(r.out);
  EXPECT_NE(top.find("Egyptian cat"), std::string::npos) << r.out;
  EXPECT_NE(top.find(" 286 "), std::string::npos) << r.out;
  EXPECT_NE(top.find("0.369"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resized to 128x128"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("first run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("median of 2"), std::string::npos) << r.out;
  // Five predictions by default.
  int ranks = 0;
  for (const std::string& line : Lines(r.out)) ranks += line.size() > 4 && line[0] == ' ' && line[3] == '.';
  EXPECT_EQ(ranks, 5) << r.out;
}

TEST(KilnCliTest, DevPhotosMatchTheReferenceTop1With1001ClassIndexing) {
  const std::vector<std::string> labels = ReadLines(kSharedLabels);
  ASSERT_EQ(labels.size(), 1001u);
  const std::vector<std::string> synsets = ExactSynsets();
  ASSERT_GE(synsets.size(), 5u);
  for (size_t s = 0; s < 5; ++s) {
    const std::string& synset = synsets[s];
    SCOPED_TRACE(synset);
    absl::StatusOr<Tensor> probs = ReadNpyFile((kDev / "exact" / (synset + "_128_probs_mobilenet_v1_0.25_128.npy")).string());
    ASSERT_TRUE(probs.ok()) << probs.status();
    int64_t best = 0;
    for (int64_t i = 1; i < 1001; ++i) {
      if (probs->data<float>()[i] > probs->data<float>()[best]) best = i;
    }
    Result r = Kiln({"run", kModel.string(), "--image", (kDev / (synset + ".jpg")).string(), "--top", "3",
                     "--labels", kSharedLabels.string(), "--repeat", "0", "--json"});
    ASSERT_EQ(r.code, cli::kExitOk) << r.err;
    const std::string expected = "{\"rank\": 1, \"index\": " + std::to_string(best) + ", \"label\": \"" +
                                 labels[best] + "\", \"probability\": ";
    const size_t at = r.out.find(expected);
    ASSERT_NE(at, std::string::npos) << "expected " << expected << " in " << r.out;
    const double p = std::strtod(r.out.c_str() + at + expected.size(), nullptr);
    EXPECT_NEAR(p, probs->data<float>()[best], 1e-4);
  }
}

TEST(KilnCliTest, NpyInputsReproduceTheReferenceProbabilities) {
  const fs::path dir = TempDir("npy");
  for (const std::string& synset : ExactSynsets()) {
    SCOPED_TRACE(synset);
    absl::StatusOr<Tensor> pixels = ReadNpyFile((kDev / "exact" / (synset + "_128_u8.npy")).string());
    ASSERT_TRUE(pixels.ok()) << pixels.status();
    absl::StatusOr<Tensor> input = ImageToTensor(*pixels);  // (u8 - 128) / 128, NCHW.
    ASSERT_TRUE(input.ok()) << input.status();
    const std::string in_file = (dir / (synset + "_input.npy")).string();
    ASSERT_TRUE(WriteNpyFile(in_file, *input).ok());
    const fs::path out_dir = dir / synset;
    Result r = Kiln({"run", kModel.string(), "--input", "input=" + in_file, "--output-dir", out_dir.string(), "--json"});
    ASSERT_EQ(r.code, cli::kExitOk) << r.err;
    EXPECT_NE(r.out.find("{\"name\": \"probs\", \"dtype\": \"f32\", \"shape\": [1, 1001]"), std::string::npos) << r.out;
    absl::StatusOr<Tensor> got = ReadNpyFile((out_dir / "probs.npy").string());
    ASSERT_TRUE(got.ok()) << got.status();
    absl::StatusOr<Tensor> want =
        ReadNpyFile((kDev / "exact" / (synset + "_128_probs_mobilenet_v1_0.25_128.npy")).string());
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_EQ(got->TypeString(), want->TypeString());
    double max_diff = 0;
    for (int64_t i = 0; i < got->num_elements(); ++i) {
      max_diff = std::max(max_diff, std::abs(double{got->data<float>()[i]} - want->data<float>()[i]));
    }
    EXPECT_LE(max_diff, 1e-4);
  }
  // Text output names each output with its type and file.
  Result text = Kiln({"run", kModel.string(), "--input", "input=" + (dir / (ExactSynsets()[0] + "_input.npy")).string(),
                      "--output-dir", (dir / "text").string(), "--repeat", "1"});
  ASSERT_EQ(text.code, cli::kExitOk) << text.err;
  EXPECT_NE(text.out.find("probs  f32[1,1001]  -> "), std::string::npos) << text.out;
  fs::remove_all(dir);
}

TEST(KilnCliTest, InfoListsInterfaceOpsAndClusters) {
  Result r = Kiln({"info", kModel.string()});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("  input  f32[1,3,128,128]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  probs  f32[1,1001]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Conv x"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("jit clusters"), std::string::npos) << r.out;
}

TEST(KilnCliTest, InfoMemoryReportsPlannedPeakAndSumOfActivations) {
  Result r = Kiln({"info", kModel.string(), "--memory"});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  // "<label>  X MiB (N bytes)": the byte count of a line.
  auto bytes = [&](const std::string& label) -> long long {
    size_t at = r.out.find(label);
    if (at == std::string::npos) return -1;
    size_t open = r.out.find('(', at + label.size());
    return open == std::string::npos ? -1 : std::atoll(r.out.c_str() + open + 1);
  };
  const long long sum = bytes("sum of all arena activations (no reuse):");
  const long long planned = bytes("peak with the plan (sequential order):");
  const long long parallel = bytes("peak with the plan (parallel schedule):");
  const long long bound = bytes("most bytes live at once");
  ASSERT_GT(planned, 0) << r.out;
  EXPECT_LT(planned * 3, sum) << r.out;
  EXPECT_GE(parallel, planned) << r.out;
  EXPECT_GE(planned, bound) << r.out;
}

TEST(KilnCliTest, FlagsListsAutoJit) {
  Result r = Kiln({"flags"});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("--auto_jit="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--dump_to="), std::string::npos) << r.out;
}

TEST(KilnCliTest, SanitizeFileName) {
  EXPECT_EQ(cli::SanitizeFileName("probs"), "probs");
  EXPECT_EQ(cli::SanitizeFileName("model/logits:0"), "model_logits_0");
  EXPECT_EQ(cli::SanitizeFileName(".."), "output");
  EXPECT_EQ(cli::SanitizeFileName(""), "output");
}

// Runs the built binary (next to this test's build folder) with KILN_FLAGS=`kiln_flags` (KILN_FLAGS is
// read once per process, so these cases need a process of their own); `code` is its exit code and `out`
// its stdout and stderr together.
Result KilnBinary(const std::string& kiln_flags, const std::vector<std::string>& args) {
  const fs::path binary = KilnBinaryPath();
  const fs::path out_file = TempDir("binary") / "out.txt";
  std::string command = "KILN_FLAGS='" + kiln_flags + "' '" + binary.string() + "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " > '" + out_file.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(out_file);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove_all(out_file.parent_path());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str(), ""};
}

// With the JIT on: same top-1, and the JIT reports clusters and compilations.
TEST(KilnBinaryTest, DemoWithJitOn) {
  Result r = KilnBinary("--auto_jit=2", {"run", kModel.string(), "--image", (kDemo / "cat.jpg").string(),
                                         "--repeat", "3"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(TopLine(r.out).find("Egyptian cat"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("jit          "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("jit          off"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("steady runs compiled 0"), std::string::npos) << r.out;
}

// One bad flag used to drop the whole variable and run with the JIT off (exit 0).
TEST(KilnBinaryTest, MalformedKilnFlagsExitsTwoNamingTheFlag) {
  const std::string known = "; the flags are --auto_jit, --min_cluster_size, --dump_to, --backend, --log_compiles, "
                            "--inter_op_threads, --fold_constants, --measure_choice, --winograd (`kiln flags` describes them)\n";
  const std::vector<std::string> run = {"run", kModel.string(), "--image", (kDemo / "cat.jpg").string()};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--auto_jit=2 --auto_jt=1", "kiln: KILN_FLAGS: unknown flag --auto_jt"},
      {"auto_jit=2", "kiln: KILN_FLAGS: 'auto_jit=2' is not a flag; write --name=value"},
      {"--min_cluster_size=two", "kiln: KILN_FLAGS: --min_cluster_size takes an integer in 1..2147483647, got 'two'"},
  };
  for (const auto& [flags, message] : cases) {
    Result r = KilnBinary(flags, run);
    EXPECT_EQ(r.code, cli::kExitUsage) << flags;
    EXPECT_EQ(r.out, message + known) << flags;
  }
  // `kiln flags` lists the flags, then fails the same way.
  Result list = KilnBinary("--auto_jt=1", {"flags"});
  EXPECT_EQ(list.code, cli::kExitUsage);
  EXPECT_NE(list.out.find("  --auto_jit=0\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("kiln: KILN_FLAGS: unknown flag --auto_jt" + known), std::string::npos) << list.out;
}

// A --dump_to that cannot be created used to switch the JIT off silently.
TEST(KilnBinaryTest, UncreatableDumpFolderIsAnErrorBeforeTheRun) {
  const fs::path dir = TempDir("dump_to");
  std::ofstream(dir / "file") << "x";
  const std::string dump_to = (dir / "file" / "hlo").string();
  Result r = KilnBinary("--auto_jit=2 --dump_to=" + dump_to,
                        {"run", kModel.string(), "--image", (kDemo / "cat.jpg").string()});
  EXPECT_EQ(r.code, cli::kExitError);
  EXPECT_EQ(r.out, "kiln: --dump_to folder '" + dump_to + "' cannot be used: Not a directory\n");
  fs::remove_all(dir);
}

// The decompression bomb of issue 7: a 633-byte JPEG declaring 65500x65500 made `kiln run --image`
// allocate 12.7 GB for two minutes. It is refused from its header; the limit is a flag. The files
// are the jpeg fuzz target's regression seeds.
TEST(KilnCliTest, ImageBombIsRefusedBeforeDecodingAndTheLimitIsAFlag) {
  const fs::path dir = TempDir("bomb");
  const fs::path seeds = fs::path(KILN_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "jpeg";
  const std::string bomb = (seeds / "regression-bomb-65500x65500.jpg").string();
  const auto start = std::chrono::steady_clock::now();
  Result r = Kiln({"run", kModel.string(), "--image", bomb});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.code, cli::kExitError);
  EXPECT_EQ(r.err, "kiln: " + bomb + ": the JPEG declares 65500x65500 = 4290250000 pixels, more than the limit of "
                   "100000000 pixels; if the image is genuine, raise the limit (kiln run --max-image-pixels=N, "
                   "ImageDecodeOptions::max_pixels)\n");
  EXPECT_LT(seconds, 10.0) << "loading the model and reading the header take well under a second";

  const std::string big = (seeds / "regression-short-data-2000x2000.jpg").string();
  Result low = Kiln({"run", kModel.string(), "--image", big, "--max-image-pixels=3999999"});
  EXPECT_EQ(low.code, cli::kExitError);
  EXPECT_NE(low.err.find("declares 2000x2000 = 4000000 pixels, more than the limit of 3999999 pixels"),
            std::string::npos) << low.err;
  // At the limit the header passes, and the data (for 16x16 pixels) is what fails.
  Result at = Kiln({"run", kModel.string(), "--image", big, "--max-image-pixels", "4000000"});
  EXPECT_EQ(at.code, cli::kExitError);
  EXPECT_NE(at.err.find(big + ": truncated JPEG"), std::string::npos) << at.err;

  // The size a model asks the image to be resized to is held to the same limit.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("huge_input");
  onnx::ValueInfoProto* x = g->add_input();
  x->set_name("x");
  x->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 3, 20000, 20000}) {
    x->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  }
  onnx::NodeProto* identity = g->add_node();
  identity->set_op_type("Identity");
  identity->add_input("x");
  identity->add_output("y");
  g->add_output()->set_name("y");
  const std::string huge = (dir / "huge_input.onnx").string();
  std::ofstream(huge, std::ios::binary) << m.SerializeAsString();
  Result resize = Kiln({"run", huge, "--image", (kDemo / "cat.jpg").string()});
  EXPECT_EQ(resize.code, cli::kExitError);
  EXPECT_EQ(resize.err, "kiln: input 'x' of " + huge + " wants a 20000x20000 image, more than the limit of 100000000 "
                        "pixels; raise it with --max-image-pixels=N if the model is genuine\n");

  Result zero = Kiln({"run", kModel.string(), "--image", big, "--max-image-pixels=0"});
  EXPECT_EQ(zero.code, cli::kExitUsage);
  EXPECT_NE(zero.err.find("kiln: --max-image-pixels needs an integer in 1..9223372036854775807, got '0'"),
            std::string::npos) << zero.err;
  Result npy = Kiln({"run", kModel.string(), "--input", "input=x.npy", "--max-image-pixels=10"});
  EXPECT_EQ(npy.code, cli::kExitUsage);
  EXPECT_NE(npy.err.find("kiln: --max-image-pixels applies to --image runs"), std::string::npos) << npy.err;
  fs::remove_all(dir);
}

// Folders, missing paths and FIFOs given as the model or as input files are named for what they are
// (a FIFO used to block the run forever), never "unknown model format".
TEST(KilnCliTest, PathsThatAreNotRegularFilesAreNamed) {
  const fs::path dir = TempDir("paths");
  const std::string cat = (kDemo / "cat.jpg").string();
  fs::create_directories(dir / "tfjs");
  std::ofstream(dir / "tfjs" / "model.json") << "{}";
  const std::string tfjs = (dir / "tfjs").string();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"run", tfjs, "--image", cat},
                                               std::vector<std::string>{"info", tfjs}}) {
    Result r = Kiln(args);
    EXPECT_EQ(r.code, cli::kExitError);
    EXPECT_EQ(r.err, "kiln: model '" + tfjs + "' is a directory (pass its model.json: '" + tfjs + "/model.json')\n");
  }
  Result folder = Kiln({"run", dir.string(), "--image", cat});
  EXPECT_EQ(folder.err, "kiln: model '" + dir.string() +
                            "' is a directory; pass a model file (.onnx, .pb, model.json or .kiln)\n");
  const std::string absent = (dir / "absent.onnx").string();
  Result missing = Kiln({"run", absent, "--image", cat});
  EXPECT_EQ(missing.code, cli::kExitError);
  EXPECT_EQ(missing.err, "kiln: model '" + absent + "' cannot be opened: No such file or directory\n");

  const std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  testing_util::WithinSeconds(120, [&] {  // A blocking open would hang the test.
    Result image = Kiln({"run", kModel.string(), "--image", fifo});
    EXPECT_EQ(image.err, "kiln: image file '" + fifo + "' is not a regular file (FIFO)\n");
    Result labels = Kiln({"run", kModel.string(), "--image", cat, "--labels", fifo, "--repeat", "0"});
    EXPECT_EQ(labels.err, "kiln: labels file '" + fifo + "' is not a regular file (FIFO)\n");
    Result input = Kiln({"run", kModel.string(), "--input", "input=" + fifo});
    EXPECT_EQ(input.err, "kiln: .npy file '" + fifo + "' is not a regular file (FIFO)\n");
    Result model = Kiln({"run", fifo, "--image", cat});
    EXPECT_EQ(model.err, "kiln: model '" + fifo + "' is not a regular file (FIFO)\n");
  });
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln
