// Both real MobileNets with the JIT on and off: each reproduces the float32 reference probabilities
// of ../shared/data/imagenet-sample/dev/exact within 1e-4, and JIT-on outputs lie within 1e-4 of
// JIT-off outputs.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "kiln/jit/jit.h"
#include "kiln/runtime/import.h"
#include "kiln/session/session.h"
#include "tests/jit/jit_test_util.h"

namespace kiln::jit {
namespace {

using ::kiln::jit::testing::MaxAbsDiff;

const std::string kData = KILN_SHARED_DATA;

// Reads a little-endian .npy file (format 1.0) of dtype '<f4' or '|u1' as f32 / u8.
absl::StatusOr<Tensor> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    return absl::InvalidArgumentError(path + " is not a .npy file");
  }
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, header_len);
  DType dtype;
  if (header.find("'<f4'") != std::string::npos) {
    dtype = DType::kF32;
  } else if (header.find("'|u1'") != std::string::npos) {
    dtype = DType::kU8;
  } else {
    return absl::InvalidArgumentError(path + ": unsupported dtype in header " + header);
  }
  if (header.find("'fortran_order': False") == std::string::npos) {
    return absl::InvalidArgumentError(path + ": Fortran order");
  }
  size_t open = header.find('(', header.find("'shape'"));
  size_t close = header.find(')', open);
  Dims dims;
  std::stringstream shape(header.substr(open + 1, close - open - 1));
  std::string part;
  while (std::getline(shape, part, ',')) {
    if (part.find_first_not_of(' ') != std::string::npos) dims.push_back(std::stoll(part));
  }
  absl::StatusOr<Tensor> t = Tensor::Create(dtype, dims);
  if (!t.ok()) return t.status();
  const size_t offset = 10 + header_len;
  if (bytes.size() - offset != t->byte_size()) return absl::InvalidArgumentError(path + ": truncated");
  std::memcpy(t->raw_data(), bytes.data() + offset, t->byte_size());
  return t;
}

// HWC u8 pixels -> NCHW f32 (u8 - 128) / 128, the MobileNet convention.
Tensor ToInput(const Tensor& pixels) {
  const int64_t h = pixels.dim(0), w = pixels.dim(1), c = pixels.dim(2);
  Tensor t = *Tensor::Create(DType::kF32, {1, c, h, w});
  const uint8_t* src = pixels.data<uint8_t>();
  float* dst = t.data<float>();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int64_t k = 0; k < c; ++k) dst[(k * h + y) * w + x] = (src[(y * w + x) * c + k] - 128.0f) / 128.0f;
    }
  }
  return t;
}

struct ModelCase {
  std::string model;  // File stem under models/.
  int size;
};

class MobileNetJitTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(MobileNetJitTest, JitMatchesKernelsAndReference) {
  const ModelCase& mc = GetParam();
  auto graph = ImportModel(kData + "/models/" + mc.model + ".onnx");
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->inputs.size(), 1u);
  const std::string input_name = graph->inputs[0].name;

  SessionOptions off;
  off.auto_jit = 0;
  SessionOptions on;
  on.auto_jit = 2;
  on.backend = "cpu";
  auto reference = Session::Create(*graph, off);
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto jit = Session::Create(*graph, on);
  ASSERT_TRUE(jit.ok()) << jit.status();
  ASSERT_GE((*jit)->stats().num_clusters, 1);
  // Every op of these models lowers, so what stays outside the clusters is at most a handful.
  EXPECT_LE((*jit)->executed_graph().nodes.size(), 3u);

  // The photos with exact pixels and float32 references.
  std::vector<std::string> stems;
  const std::string exact = kData + "/imagenet-sample/dev/exact";
  const std::string probs_suffix = "_" + std::to_string(mc.size) + "_probs_" + mc.model + ".npy";
  for (const auto& entry : std::filesystem::directory_iterator(exact)) {
    std::string name = entry.path().filename().string();
    if (name.size() > probs_suffix.size() &&
        name.compare(name.size() - probs_suffix.size(), probs_suffix.size(), probs_suffix) == 0) {
      stems.push_back(name.substr(0, name.size() - probs_suffix.size()));
    }
  }
  std::sort(stems.begin(), stems.end());
  ASSERT_GE(stems.size(), 3u);
  if (stems.size() > 6) stems.resize(6);  // Enough photos to exercise the cache; keeps the test short.

  const int64_t failures_before = GetCacheStats().failures;
  for (const std::string& stem : stems) {
    auto pixels = ReadNpy(exact + "/" + stem + "_" + std::to_string(mc.size) + "_u8.npy");
    ASSERT_TRUE(pixels.ok()) << pixels.status();
    auto want = ReadNpy(exact + "/" + stem + probs_suffix);
    ASSERT_TRUE(want.ok()) << want.status();
    Feeds feeds = {{input_name, ToInput(*pixels)}};
    auto kernels_out = (*reference)->Run(feeds);
    ASSERT_TRUE(kernels_out.ok()) << kernels_out.status();
    auto jit_out = (*jit)->Run(feeds);
    ASSERT_TRUE(jit_out.ok()) << jit_out.status();
    const Tensor& probs = (*jit_out)[0];
    ASSERT_EQ(probs.num_elements(), want->num_elements());
    Tensor want_shaped = *want->Reshaped(probs.dims());
    EXPECT_LE(MaxAbsDiff(probs, (*kernels_out)[0]), 1e-4) << stem << ": JIT on vs off";
    EXPECT_LE(MaxAbsDiff(probs, want_shaped), 1e-4) << stem << ": JIT vs the float32 reference";
  }
  EXPECT_EQ(GetCacheStats().failures, failures_before) << "a cluster fell back to the runtime kernels";
}

INSTANTIATE_TEST_SUITE_P(Models, MobileNetJitTest,
                         ::testing::Values(ModelCase{"mobilenet_v1_0.25_128", 128},
                                           ModelCase{"mobilenet_v2_1.0_224", 224}),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           std::string name = info.param.model;
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace kiln::jit
