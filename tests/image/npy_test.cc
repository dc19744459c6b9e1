// .npy reading and writing, checked against files NumPy wrote (the shared references) and against
// headers spelled out by hand from the format's documentation.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kiln/image/npy.h"
#include "tests/support/file_test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kExact = fs::path(KILN_SHARED_DATA) / "imagenet-sample" / "dev" / "exact";

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A version 1.0 file with the given header dict (padded as NumPy pads) and data.
std::string MakeNpy(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

TEST(NpyTest, ReadsNumpyFilesAndWritesThemBackByteForByte) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kExact)) {
    if (entry.path().extension() != ".npy") continue;
    SCOPED_TRACE(entry.path().filename().string());
    const std::string bytes = ReadBytes(entry.path());
    absl::StatusOr<Tensor> t = ParseNpy(bytes, entry.path().string());
    ASSERT_TRUE(t.ok()) << t.status();
    const std::string name = entry.path().filename().string();
    if (name.find("_probs_") != std::string::npos) {
      EXPECT_EQ(t->TypeString(), "f32[1,1001]");
      double sum = 0;
      for (int i = 0; i < 1001; ++i) sum += t->data<float>()[i];
      EXPECT_NEAR(sum, 1.0, 1e-3);  // Softmax probabilities.
    } else {
      EXPECT_TRUE(t->TypeString() == "u8[224,224,3]" || t->TypeString() == "u8[128,128,3]") << t->TypeString();
    }
    absl::StatusOr<std::string> written = SerializeNpy(*t);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(*written, bytes);
    ++files;
  }
  EXPECT_GE(files, 40);
}

TEST(NpyTest, RoundTripsEveryDType) {
  const fs::path dir = fs::path(testing::TempDir()) / "kiln_npy_test";
  fs::create_directories(dir);
  const std::vector<Tensor> tensors = {
      Tensor::FromVector<float>({2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, 1e-30f, -7.0f}),
      Tensor::FromVector<Half>({2}, {FloatToHalf(1.0f), FloatToHalf(-0.5f)}),
      Tensor::FromVector<int32_t>({3}, {-1, 0, 2147483647}),
      Tensor::FromVector<int64_t>({1, 1, 2}, {-5, int64_t{1} << 40}),
      Tensor::FromVector<uint8_t>({2, 2}, {0, 1, 254, 255}),
      Tensor::FromVector<int8_t>({2}, {-128, 127}),
      Tensor::FromVector<bool>({3}, {true, false, true}),
      Tensor::FromVector<double>({2}, {0.1, -1e300}),
      Tensor::FromVector<int16_t>({2}, {-32768, 32767}),
      Tensor::FromVector<uint16_t>({2}, {0, 65535}),
      Tensor::FromVector<uint32_t>({2}, {0, 4294967295u}),
      Tensor::FromVector<uint64_t>({1}, {~uint64_t{0}}),
      Tensor::Scalar<double>(-0.0),
      Tensor::Scalar<float>(42.0f),
      *Tensor::Create(DType::kF32, {0, 4}),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].TypeString());
    const std::string path = (dir / ("t" + std::to_string(i) + ".npy")).string();
    ASSERT_TRUE(WriteNpyFile(path, tensors[i]).ok());
    const std::string bytes = ReadBytes(path);
    EXPECT_EQ(bytes.find("\n") + 1, (bytes.size() - tensors[i].byte_size()));  // Header ends at the data.
    EXPECT_EQ((bytes.size() - tensors[i].byte_size()) % 64, 0u);
    absl::StatusOr<Tensor> back = ReadNpyFile(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->BitEqual(tensors[i]));
  }
  fs::remove_all(dir);
}

TEST(NpyTest, HeaderSpellings) {
  // Scalar shape, 1-tuple shape with trailing comma, keys in another order, double quotes.
  absl::StatusOr<Tensor> scalar =
      ParseNpy(MakeNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", std::string("\x07\0\0\0", 4)), "s");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->TypeString(), "s32[]");
  EXPECT_EQ(scalar->data<int32_t>()[0], 7);

  absl::StatusOr<Tensor> vec =
      ParseNpy(MakeNpy("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"|u1\"}", "\x05\x06"), "v");
  ASSERT_TRUE(vec.ok()) << vec.status();
  EXPECT_EQ(vec->TypeString(), "u8[2]");

  // Fortran order with one non-unit dimension is the same bytes as C order.
  absl::StatusOr<Tensor> column =
      ParseNpy(MakeNpy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 1), }", "\x01\x02"), "c");
  ASSERT_TRUE(column.ok()) << column.status();
}

TEST(NpyTest, ReadsVersion2) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  std::string header = dict;
  while ((12 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  const float value = 2.5f;
  bytes += header + std::string(reinterpret_cast<const char*>(&value), 4);
  absl::StatusOr<Tensor> t = ParseNpy(bytes, "v2.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->TypeString(), "f32[1]");
  EXPECT_EQ(t->data<float>()[0], 2.5f);
}

// The bytes NumPy writes for np.array(values, dtype) of shape (2,): its header dict, padded, then the data.
TEST(NpyTest, WritesTheHeaderNumPyWritesForEveryDType) {
  const std::vector<std::pair<Tensor, std::string>> cases = {
      {Tensor::FromVector<double>({2}, {1.0, 2.0}), "<f8"},
      {Tensor::FromVector<float>({2}, {1.0f, 2.0f}), "<f4"},
      {Tensor::FromVector<Half>({2}, {FloatToHalf(1.0f), FloatToHalf(2.0f)}), "<f2"},
      {Tensor::FromVector<int8_t>({2}, {1, 2}), "|i1"},
      {Tensor::FromVector<int16_t>({2}, {1, 2}), "<i2"},
      {Tensor::FromVector<int32_t>({2}, {1, 2}), "<i4"},
      {Tensor::FromVector<int64_t>({2}, {1, 2}), "<i8"},
      {Tensor::FromVector<uint8_t>({2}, {1, 2}), "|u1"},
      {Tensor::FromVector<uint16_t>({2}, {1, 2}), "<u2"},
      {Tensor::FromVector<uint32_t>({2}, {1, 2}), "<u4"},
      {Tensor::FromVector<uint64_t>({2}, {1, 2}), "<u8"},
      {Tensor::FromVector<bool>({2}, {true, false}), "|b1"},
  };
  for (const auto& [tensor, descr] : cases) {
    SCOPED_TRACE(descr);
    const std::string data(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
    const std::string want = MakeNpy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }", data);
    ASSERT_EQ(want.size(), 128 + data.size());  // NumPy pads magic + header to 128 bytes here.
    absl::StatusOr<std::string> got = SerializeNpy(tensor);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
    absl::StatusOr<Tensor> back = ParseNpy(want, "numpy.npy");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->BitEqual(tensor));
  }
}

TEST(NpyTest, Bf16IsRefusedWithHowToGetF32) {
  absl::StatusOr<std::string> bf16 = SerializeNpy(Tensor::FromVector<BFloat16>({1}, {BFloat16{}}));
  EXPECT_EQ(bf16.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bf16.status().message(),
            "a bf16 tensor cannot be written as .npy: NumPy has no bf16 dtype; convert it to f32 first (in the "
            "model: a Cast to float, ONNX Cast to=1, on that output; in C++: an f32 copy of the tensor)");
  absl::Status write = WriteNpyFile("y.npy", Tensor::FromVector<BFloat16>({1}, {BFloat16{}}));
  EXPECT_EQ(write.message().substr(0, 40), "y.npy: a bf16 tensor cannot be written a");
}

void ExpectError(const absl::StatusOr<Tensor>& t, absl::StatusCode code, const std::string& fragment) {
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), code) << t.status();
  EXPECT_NE(t.status().message().find(fragment), std::string::npos) << t.status();
  EXPECT_NE(t.status().message().find("bad.npy"), std::string::npos) << t.status();
}

TEST(NpyTest, ClearErrors) {
  ExpectError(ParseNpy("PK\x03\x04 not npy", "bad.npy"), absl::StatusCode::kInvalidArgument, "magic");
  ExpectError(ParseNpy(MakeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                               std::string(16, '\0')), "bad.npy"),
              absl::StatusCode::kInvalidArgument, "Fortran");
  ExpectError(ParseNpy(MakeNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                               std::string(4, '\0')), "bad.npy"),
              absl::StatusCode::kInvalidArgument, "big-endian");
  ExpectError(ParseNpy(MakeNpy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                               std::string(8, '\0')), "bad.npy"),
              absl::StatusCode::kInvalidArgument, "<c8");
  ExpectError(ParseNpy(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                               std::string(23, '\0')), "bad.npy"),
              absl::StatusCode::kDataLoss, "truncated");
  ExpectError(ParseNpy(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", ""), "bad.npy"),
              absl::StatusCode::kInvalidArgument, "malformed");
  ExpectError(ParseNpy(MakeNpy("{'descr': '<f4', 'shape': (1,), }", std::string(4, '\0')), "bad.npy"),
              absl::StatusCode::kInvalidArgument, "fortran_order");
  ExpectError(ParseNpy(MakeNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", "\x02"), "bad.npy"),
              absl::StatusCode::kInvalidArgument, "bool");
  // A truncated header, and truncated data of a real reference file.
  const std::string real = ReadBytes(kExact / "n01443537_224_probs_mobilenet_v2_1.0_224.npy");
  ASSERT_GT(real.size(), 4000u);
  ExpectError(ParseNpy(std::string_view(real).substr(0, 60), "bad.npy"), absl::StatusCode::kDataLoss,
              "truncated");
  ExpectError(ParseNpy(std::string_view(real).substr(0, real.size() - 1), "bad.npy"),
              absl::StatusCode::kDataLoss, "truncated");

  EXPECT_EQ(ReadNpyFile("/nonexistent/x.npy").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadNpyFile("/nonexistent/x.npy").status().message(),
            ".npy file '/nonexistent/x.npy' cannot be opened: No such file or directory");
  EXPECT_EQ(SerializeNpy(Tensor::FromVector<BFloat16>({1}, {BFloat16{}})).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status write = WriteNpyFile("/nonexistent/dir/out.npy", Tensor::Scalar<float>(1.0f));
  EXPECT_EQ(write.message(), ".npy file '/nonexistent/dir/out.npy' cannot be written: No such file or directory");
}

// A header's shape sizes the tensor: its element count must not overflow, and must stay within
// kMaxTensorElements, before anything is compared with the file size or allocated.
TEST(NpyTest, HugeAndOverflowingShapesAreRefused) {
  // 2^62 x 4 elements overflow int64; 2^61 8-byte elements are 2^64 bytes, which wrapped to 0 in size_t.
  for (const auto& [shape, dims] : std::vector<std::pair<std::string, std::string>>{
           {"(4611686018427387904, 4)", "[4611686018427387904,4]"},
           {"(2305843009213693952,)", "[2305843009213693952]"},
           {"(4294967297,)", "[4294967297]"},
           {"(65536, 65536, 2)", "[65536,65536,2]"},
           {"(0, 4611686018427387904)", "[0,4611686018427387904]"}}) {
    absl::StatusOr<Tensor> t =
        ParseNpy(MakeNpy("{'descr': '<i8', 'fortran_order': False, 'shape': " + shape + ", }", ""), "bad.npy");
    ASSERT_FALSE(t.ok()) << shape;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(t.status().message(),
              "bad.npy: shape " + dims +
                  " is larger than Kiln accepts for one tensor (at most 4294967296 elements, and no dimension over that)");
  }
  absl::StatusOr<Tensor> empty =
      ParseNpy(MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296), }", ""), "e.npy");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->num_elements(), 0);
}

TEST(NpyTest, OnlyRegularFilesAreRead) {
  const std::filesystem::path dir =
      std::filesystem::path(testing::TempDir()) / ("kiln_npy_test_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  EXPECT_EQ(ReadNpyFile(dir.string()).status().message(), ".npy file '" + dir.string() + "' is a directory");
  const std::string fifo = (dir / "x.npy").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::Status status;
  testing_util::WithinSeconds(20, [&] { status = ReadNpyFile(fifo).status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), ".npy file '" + fifo + "' is not a regular file (FIFO)");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln
