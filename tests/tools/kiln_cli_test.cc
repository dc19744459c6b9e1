// The kiln command line on the bundled demo model: subcommands called in-process (JIT as
// KILN_FLAGS says, off by default) and the built binary run once with the JIT on.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"
#include "tools/kiln/cli.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kDemo = fs::path(KILN_SOURCE_DIR) / "tools" / "demo";
const fs::path kModel = kDemo / "mobilenet_v1_0.25_128.onnx";
const fs::path kDev = fs::path(KILN_SHARED_DATA) / "imagenet-sample" / "dev";
const fs::path kSharedLabels = fs::path(KILN_SHARED_DATA) / "models" / "imagenet_labels_1001.txt";

struct Result {
  int code;
  std::string out, err;
};

Result Kiln(std::vector<std::string> args) {
  args.insert(args.begin(), "kiln");
  std::ostringstream out, err;
  const int code = cli::Main(args, out, err);
  return {code, out.str(), err.str()};
}

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
  EXPECT_EQ(Kiln({"run", kModel.string()}).code, cli::kExitUsage);  // Neither --image nor --input.
  Result unknown = Kiln({"run", kModel.string(), "--image", "x.jpg", "--colour"});
  EXPECT_EQ(unknown.code, cli::kExitUsage);
  EXPECT_NE(unknown.err.find("unknown option --colour"), std::string::npos) << unknown.err;
  EXPECT_EQ(Kiln({"run", kModel.string(), "--image", "x.jpg", "--top", "zero"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"run", kModel.string(), "--input", "no_equals_sign"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"run", kModel.string(), "--image", "x.jpg", "--output-dir", "d"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"info"}).code, cli::kExitUsage);
  EXPECT_EQ(Kiln({"help"}).code, cli::kExitOk);
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

// The built binary (next to this test's build folder) with the JIT on: same top-1, and the JIT
// reports clusters and compilations.
TEST(KilnBinaryTest, DemoWithJitOn) {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path binary = self.parent_path().parent_path() / "tools" / "kiln";
  ASSERT_TRUE(fs::exists(binary)) << binary << " is missing: build the 'kiln' target";
  const fs::path out_file = TempDir("binary") / "out.txt";
  const std::string command = "KILN_FLAGS=--auto_jit=2 '" + binary.string() + "' run '" + kModel.string() +
                              "' --image '" + (kDemo / "cat.jpg").string() + "' --repeat 3 > '" + out_file.string() +
                              "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(out_file);
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_EQ(status, 0) << text.str();
  EXPECT_NE(TopLine(text.str()).find("Egyptian cat"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("jit          "), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("jit          off"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("steady runs compiled 0"), std::string::npos) << text.str();
  fs::remove_all(out_file.parent_path());
}

}  // namespace
}  // namespace kiln
