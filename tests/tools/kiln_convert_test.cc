// `kiln convert`: ONNX -> .kiln, then the .kiln file through `kiln info` and `kiln run` against
// ONNX Runtime's reference probabilities (../shared/data/imagenet-sample/dev).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"
#include "tests/tools/kiln_test_util.h"
#include "tools/kiln/cli.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = fs::path(KILN_SHARED_DATA) / "models" / "mobilenet_v1_0.25_128.onnx";
const fs::path kExact = fs::path(KILN_SHARED_DATA) / "imagenet-sample" / "dev" / "exact";

class KilnConvertTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("kiln_convert_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(KilnConvertTest, ConvertedModelRunsAndMatchesTheReference) {
  const std::string kiln = (dir_ / "m.kiln").string();
  Result r = Kiln({"convert", kModel.string(), kiln});
  ASSERT_EQ(r.code, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("wrote " + kiln), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("format version 1"), std::string::npos) << r.out;

  Result info = Kiln({"info", kiln});
  ASSERT_EQ(info.code, cli::kExitOk) << info.err;
  EXPECT_NE(info.out.find("  input  f32[1,3,128,128]"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("  probs  f32[1,1001]"), std::string::npos) << info.out;

  // One photo with an exact reference: the .kiln model reproduces it.
  std::vector<fs::path> pixels;
  for (const auto& e : fs::directory_iterator(kExact)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 11 && name.compare(name.size() - 11, 11, "_128_u8.npy") == 0) pixels.push_back(e.path());
  }
  ASSERT_FALSE(pixels.empty());
  std::sort(pixels.begin(), pixels.end());
  const std::string synset = pixels[0].filename().string().substr(0, pixels[0].filename().string().size() - 11);
  absl::StatusOr<Tensor> u8 = ReadNpyFile(pixels[0].string());
  ASSERT_TRUE(u8.ok()) << u8.status();
  absl::StatusOr<Tensor> input = ImageToTensor(*u8);
  ASSERT_TRUE(input.ok()) << input.status();
  const std::string in_file = (dir_ / "input.npy").string();
  ASSERT_TRUE(WriteNpyFile(in_file, *input).ok());
  Result run = Kiln({"run", kiln, "--input", "input=" + in_file, "--output-dir", (dir_ / "out").string()});
  ASSERT_EQ(run.code, cli::kExitOk) << run.err;
  absl::StatusOr<Tensor> got = ReadNpyFile((dir_ / "out" / "probs.npy").string());
  ASSERT_TRUE(got.ok()) << got.status();
  absl::StatusOr<Tensor> want = ReadNpyFile((kExact / (synset + "_128_probs_mobilenet_v1_0.25_128.npy")).string());
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(got->TypeString(), want->TypeString());
  double max_diff = 0;
  for (int64_t i = 0; i < got->num_elements(); ++i) {
    max_diff = std::max(max_diff, std::abs(double{got->data<float>()[i]} - want->data<float>()[i]));
  }
  EXPECT_LE(max_diff, 1e-4);
}

TEST_F(KilnConvertTest, Errors) {
  Result r = Kiln({"convert", kModel.string()});
  EXPECT_EQ(r.code, cli::kExitUsage);
  r = Kiln({"convert", kModel.string(), (dir_ / "m.onnx").string()});
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_NE(r.err.find(".kiln"), std::string::npos) << r.err;
  r = Kiln({"convert", (dir_ / "absent.onnx").string(), (dir_ / "m.kiln").string()});
  EXPECT_EQ(r.code, cli::kExitError);
  EXPECT_NE(r.err.find("absent.onnx"), std::string::npos) << r.err;
  r = Kiln({"convert", kModel.string(), (dir_ / "no" / "dir" / "m.kiln").string()});
  EXPECT_EQ(r.code, cli::kExitError);
  EXPECT_EQ(r.err, "kiln: output folder '" + (dir_ / "no" / "dir").string() +
                       "' cannot be used: No such file or directory; create the folder first\n");
  // A folder in the output's place: the write fails with the OS's reason.
  fs::create_directories(dir_ / "taken.kiln");
  r = Kiln({"convert", kModel.string(), (dir_ / "taken.kiln").string()});
  EXPECT_EQ(r.code, cli::kExitError);
  EXPECT_EQ(r.err, "kiln: model '" + (dir_ / "taken.kiln").string() + "' cannot be written: Is a directory\n");
}

}  // namespace
}  // namespace kiln
