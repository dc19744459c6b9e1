// Robustness of the ONNX importer against damaged files: deterministic mutations (bit flips, byte
// overwrites, truncations, spliced ranges) of a real model and of a small built model. Every import
// must return, either a Graph or an error that names the model; a crash, hang or sanitizer report
// fails the test (run it under KILN_SANITIZE=ON for the full check).
#include <cstdint>
#include <fstream>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/runtime/import.h"
#include "kiln/runtime/op_registry.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One random damage of `bytes`.
std::string Mutate(const std::string& bytes, std::mt19937_64& rng) {
  std::string out = bytes;
  if (out.empty()) return out;
  auto pos = [&]() { return std::uniform_int_distribution<size_t>(0, out.size() - 1)(rng); };
  switch (rng() % 5) {
    case 0:  // Flip a few bits.
      for (int i = 0; i < 1 + static_cast<int>(rng() % 4); ++i) out[pos()] ^= 1 << (rng() % 8);
      break;
    case 1:  // Overwrite bytes with values that are large varints or field tags.
      for (int i = 0; i < 1 + static_cast<int>(rng() % 8); ++i) {
        static const char kNasty[] = {'\xff', '\x7f', '\x80', '\x00', '\x0a', '\x12', '\x3a'};
        out[pos()] = kNasty[rng() % sizeof(kNasty)];
      }
      break;
    case 2:  // Truncate.
      out.resize(pos());
      break;
    case 3: {  // Delete a range.
      size_t start = pos();
      out.erase(start, std::min<size_t>(out.size() - start, 1 + rng() % 64));
      break;
    }
    default: {  // Duplicate a range somewhere else.
      size_t start = pos();
      std::string piece = out.substr(start, 1 + rng() % 64);
      out.insert(pos(), piece);
      break;
    }
  }
  return out;
}

void FuzzModel(const std::string& bytes, int iterations, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int errors = 0;
  for (int i = 0; i < iterations; ++i) {
    const std::string mutated = Mutate(bytes, rng);
    absl::StatusOr<Graph> graph = ImportOnnxBytes(mutated, "fuzzed.onnx");
    if (!graph.ok()) {
      ++errors;
      EXPECT_THAT(graph.status().message(), HasSubstr("model 'fuzzed.onnx'"))
          << "iteration " << i << ": " << graph.status();
    }
  }
  // Most damage must be detected (a flip inside float weights is legitimately undetectable).
  EXPECT_GT(errors, 0);
}

TEST(OnnxImporterFuzzTest, MutatedMobileNet) {
  RegisterStandardOps();
  const std::string bytes =
      ReadBytes(std::string(KILN_SHARED_DATA) + "/models/mobilenet_v1_0.25_128.onnx");
  ASSERT_GT(bytes.size(), 1000u);
  // Damage concentrated in the graph structure: protobuf writes fields in number order, so the
  // nodes (GraphProto field 1) come first and the weights (field 5) after them.
  const size_t head = std::min<size_t>(bytes.size(), 16384);
  const std::string rest = bytes.substr(head);
  std::mt19937_64 rng(7);
  int errors = 0;
  for (int i = 0; i < 200; ++i) {
    std::string mutated = Mutate(bytes.substr(0, head), rng) + rest;
    absl::StatusOr<Graph> graph = ImportOnnxBytes(mutated, "fuzzed.onnx");
    if (!graph.ok()) {
      ++errors;
      EXPECT_THAT(graph.status().message(), HasSubstr("model 'fuzzed.onnx'")) << graph.status();
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(OnnxImporterFuzzTest, MutatedConformanceModels) {
  RegisterStandardOps();
  const std::string root = std::string(KILN_SHARED_DATA) + "/onnx-backend-tests/node/";
  uint64_t seed = 1;
  for (const char* name : {"test_conv_with_strides_padding", "test_clip_default_inbounds",
                           "test_reshape_reordered_all_dims", "test_if", "test_loop11",
                           "test_constant"}) {
    const std::string bytes = ReadBytes(root + name + "/model.onnx");
    ASSERT_FALSE(bytes.empty()) << name;
    SCOPED_TRACE(name);
    FuzzModel(bytes, 400, seed++);
  }
}

}  // namespace
}  // namespace kiln
