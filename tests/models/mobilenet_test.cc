// Both real MobileNets end to end, with the JIT off and on, against references computed by ONNX Runtime
// (../shared/data/imagenet-sample/dev): exact probabilities on the photos of dev/exact, and top-1
// agreement over all 200 dev photos decoded (and, for 128x128, resized) by Kiln.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"
#include "kiln/session/session.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const std::string kData = KILN_SHARED_DATA;
const std::string kDev = kData + "/imagenet-sample/dev";

struct ModelCase {
  std::string model;  // File stem under models/.
  int size;
  double min_agreement;
  int auto_jit;
};
// Keeps ctest's test names readable (gtest would print the struct's bytes).
void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.model << " auto_jit=" << c.auto_jit; }

std::string CaseName(const testing::TestParamInfo<ModelCase>& info) {
  std::string name = info.param.model + (info.param.auto_jit ? "_jit" : "_nojit");
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class MobileNetTest : public testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override {
    SessionOptions options;
    options.auto_jit = GetParam().auto_jit;
    auto session = Session::Load(kData + "/models/" + GetParam().model + ".onnx", options);
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = *std::move(session);
    if (GetParam().auto_jit > 0) EXPECT_GT(session_->stats().num_clusters, 0);
  }

  Tensor Probabilities(const Tensor& hwc_u8) {
    absl::StatusOr<Tensor> input = ImageToTensor(hwc_u8);
    EXPECT_TRUE(input.ok()) << input.status();
    absl::StatusOr<std::vector<Tensor>> out = session_->Run({{"input", *input}});
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return Tensor();
    EXPECT_EQ((*out)[0].TypeString(), "f32[1,1001]");
    return (*out)[0];
  }

  std::unique_ptr<Session> session_;
};

int ArgMax(const Tensor& t) {
  int best = 0;
  for (int i = 1; i < t.num_elements(); ++i) {
    if (t.data<float>()[i] > t.data<float>()[best]) best = i;
  }
  return best;
}

TEST_P(MobileNetTest, ReproducesReferenceProbabilities) {
  const ModelCase& c = GetParam();
  const std::string size = std::to_string(c.size);
  int compared = 0;
  double worst = 0;
  for (const auto& entry : fs::directory_iterator(kDev + "/exact")) {
    std::string file = entry.path().filename().string();
    const std::string suffix = "_" + size + "_u8.npy";
    if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string synset = file.substr(0, file.size() - suffix.size());
    absl::StatusOr<Tensor> pixels = ReadNpyFile(entry.path().string());
    ASSERT_TRUE(pixels.ok()) << pixels.status();
    absl::StatusOr<Tensor> expected =
        ReadNpyFile(kDev + "/exact/" + synset + "_" + size + "_probs_" + c.model + ".npy");
    ASSERT_TRUE(expected.ok()) << expected.status();
    Tensor probs = Probabilities(*pixels);
    ASSERT_TRUE(probs.valid());
    ASSERT_EQ(probs.num_elements(), expected->num_elements());
    for (int64_t i = 0; i < probs.num_elements(); ++i) {
      double diff = std::fabs(probs.data<float>()[i] - expected->data<float>()[i]);
      worst = std::max(worst, diff);
      ASSERT_LE(diff, 1e-4) << synset << " class " << i;
    }
    ++compared;
  }
  std::printf("%s: %d photos, largest probability difference %.3g\n", c.model.c_str(), compared, worst);
  EXPECT_EQ(compared, 20);
}

TEST_P(MobileNetTest, Top1AgreesWithReferenceOnDevPhotos) {
  const ModelCase& c = GetParam();
  std::ifstream tsv(kDev + "/reference_" + c.model + ".tsv");
  ASSERT_TRUE(tsv) << "missing reference for " << c.model;
  std::string line;
  std::getline(tsv, line);  // Header.
  int total = 0, agree = 0;
  while (std::getline(tsv, line)) {
    std::istringstream fields(line);
    std::string file;
    int top1 = -1;
    fields >> file >> top1;
    absl::StatusOr<Tensor> image = ReadImageFile(kDev + "/" + file);
    ASSERT_TRUE(image.ok()) << image.status();
    if (image->dim(0) != c.size || image->dim(1) != c.size) {
      image = ResizeBilinear(*image, c.size, c.size);
      ASSERT_TRUE(image.ok()) << image.status();
    }
    Tensor probs = Probabilities(*image);
    ASSERT_TRUE(probs.valid());
    ++total;
    if (ArgMax(probs) == top1) ++agree;
  }
  double agreement = static_cast<double>(agree) / total;
  std::printf("%s (auto_jit=%d): top-1 agrees with the reference on %d of %d photos (%.1f%%)\n",
              c.model.c_str(), c.auto_jit, agree, total, 100 * agreement);
  EXPECT_EQ(total, 200);
  EXPECT_GE(agreement, c.min_agreement);
}

INSTANTIATE_TEST_SUITE_P(Models, MobileNetTest,
                         testing::Values(ModelCase{"mobilenet_v2_1.0_224", 224, 0.98, 0},
                                         ModelCase{"mobilenet_v2_1.0_224", 224, 0.98, 2},
                                         ModelCase{"mobilenet_v1_0.25_128", 128, 0.95, 0},
                                         ModelCase{"mobilenet_v1_0.25_128", 128, 0.95, 2}),
                         CaseName);

// One model loaded twice, with the JIT off (kernels) and on (auto_jit=2), and a smooth input for it.
struct JitPair {
  std::unique_ptr<Session> off, on;
  std::string input;
  Tensor x;
};

JitPair LoadJitPair(const std::string& model) {
  JitPair p;
  SessionOptions off, on;
  off.auto_jit = 0;
  on.auto_jit = 2;
  auto a = Session::Load(kData + "/models/" + model + ".onnx", off);
  auto b = Session::Load(kData + "/models/" + model + ".onnx", on);
  EXPECT_TRUE(a.ok() && b.ok()) << model;
  if (!a.ok() || !b.ok()) return p;
  p.off = *std::move(a);
  p.on = *std::move(b);
  const ValueInfo& in = p.off->graph().inputs[0];
  p.input = in.name;
  p.x = *Tensor::Create(DType::kF32, in.dims);
  for (int64_t i = 0; i < p.x.num_elements(); ++i) p.x.data<float>()[i] = std::sin(0.001 * i);
  return p;
}

// The JIT's outputs lie within 1e-4 of the runtime kernels' outputs on the same input.
TEST(MobileNetJitTest, JitMatchesKernels) {
  for (const char* model : {"mobilenet_v2_1.0_224", "mobilenet_v1_0.25_128"}) {
    JitPair p = LoadJitPair(model);
    ASSERT_TRUE(p.on != nullptr);
    auto ya = p.off->Run({{p.input, p.x}});
    auto yb = p.on->Run({{p.input, p.x}});
    ASSERT_TRUE(ya.ok()) << ya.status();
    ASSERT_TRUE(yb.ok()) << yb.status();
    for (int64_t i = 0; i < (*ya)[0].num_elements(); ++i) {
      ASSERT_NEAR((*ya)[0].data<float>()[i], (*yb)[0].data<float>()[i], 1e-4) << model << " " << i;
    }
  }
}

// One NaN pixel (or one infinite one) must reach the outputs with the JIT on as it does with the JIT
// off: a fused relu/clip epilogue must not turn it into a finite, confident class (the Conv + Clip
// fusions on oneDNN used to). Every output element is NaN in both modes, and with an infinite pixel
// the two agree on which elements are NaN.
TEST(MobileNetJitTest, NanAndInfPixelsPropagateAsWithoutJit) {
  for (const char* model : {"mobilenet_v1_0.25_128", "mobilenet_v2_1.0_224"}) {
    JitPair p = LoadJitPair(model);
    ASSERT_TRUE(p.on != nullptr);
    ASSERT_GT(p.on->stats().num_clusters, 0);
    for (float special : {std::nanf(""), INFINITY}) {
      Tensor x = p.x.Clone();
      x.data<float>()[x.num_elements() / 2] = special;
      auto ya = p.off->Run({{p.input, x}});
      auto yb = p.on->Run({{p.input, x}});
      ASSERT_TRUE(ya.ok()) << ya.status();
      ASSERT_TRUE(yb.ok()) << yb.status();
      int nan_off = 0;
      for (int64_t i = 0; i < (*ya)[0].num_elements(); ++i) {
        const float v_off = (*ya)[0].data<float>()[i], v_on = (*yb)[0].data<float>()[i];
        nan_off += std::isnan(v_off);
        ASSERT_EQ(std::isnan(v_off), std::isnan(v_on)) << model << " with " << special << " pixel, output " << i
                                                       << ": JIT off " << v_off << ", JIT on " << v_on;
      }
      if (std::isnan(special)) EXPECT_EQ(nan_off, (*ya)[0].num_elements()) << model;
    }
  }
}

}  // namespace
}  // namespace kiln
