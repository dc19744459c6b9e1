// JPEG decoding: the dev photos decode to the exact pixels the references saw; odd and broken
// files give clear errors.
#include <chrono>
#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"
#include "tests/support/file_test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const fs::path kDev = fs::path(KILN_SHARED_DATA) / "imagenet-sample" / "dev";

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Synsets with an exact reference (dev/exact/<synset>_224_u8.npy).
std::vector<std::string> ExactSynsets() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(kDev / "exact")) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = "_224_u8.npy";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(JpegTest, DevPhotosDecodeBitExact) {
  const std::vector<std::string> synsets = ExactSynsets();
  ASSERT_GE(synsets.size(), 10u) << "missing references under " << kDev;
  for (const std::string& synset : synsets) {
    SCOPED_TRACE(synset);
    absl::StatusOr<Tensor> image = ReadImageFile((kDev / (synset + ".jpg")).string());
    ASSERT_TRUE(image.ok()) << image.status();
    absl::StatusOr<Tensor> expected = ReadNpyFile((kDev / "exact" / (synset + "_224_u8.npy")).string());
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(image->TypeString(), expected->TypeString());
    int64_t differing = 0;
    for (int64_t i = 0; i < image->num_elements(); ++i) {
      differing += image->data<uint8_t>()[i] != expected->data<uint8_t>()[i];
    }
    EXPECT_EQ(differing, 0) << "pixel levels differing from the libjpeg-turbo reference";
  }
}

// Encodes a `width` x `height` image of `components` channels (all samples `value`) with libjpeg,
// with the scan script `scans` when given. Returns an empty string on failure (libjpeg's default
// error handler exits, which fails the test).
std::string EncodeConstant(int width, int height, int components, J_COLOR_SPACE space, int value,
                           const std::vector<jpeg_scan_info>* scans = nullptr) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  if (scans != nullptr) {
    cinfo.scan_info = scans->data();
    cinfo.num_scans = static_cast<int>(scans->size());
  }
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(width) * components, static_cast<unsigned char>(value));
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), size);
  free(buffer);
  return out;
}

TEST(JpegTest, GrayscaleExpandsToThreeEqualChannels) {
  // A flat block has only a DC coefficient; at quality 100 it decodes to its own value.
  std::string bytes = EncodeConstant(24, 16, 1, JCS_GRAYSCALE, 77);
  absl::StatusOr<Tensor> image = DecodeJpeg(bytes, "gray.jpg");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->TypeString(), "u8[16,24,3]");
  for (int64_t i = 0; i < image->num_elements(); ++i) ASSERT_EQ(image->data<uint8_t>()[i], 77) << i;
}

TEST(JpegTest, CmykIsRefusedClearly) {
  std::string bytes = EncodeConstant(8, 8, 4, JCS_CMYK, 10);
  absl::StatusOr<Tensor> image = DecodeJpeg(bytes, "cmyk.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(image.status().message().find("cmyk.jpg"), std::string::npos) << image.status();
  EXPECT_NE(image.status().message().find("CMYK"), std::string::npos) << image.status();
}

TEST(JpegTest, NotAJpegNamesTheFile) {
  absl::StatusOr<Tensor> image = DecodeJpeg("hello, world", "greeting.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(image.status().message().find("greeting.jpg"), std::string::npos) << image.status();
  EXPECT_NE(image.status().message().find("Not a JPEG"), std::string::npos) << image.status();

  EXPECT_EQ(DecodeJpeg("", "empty.jpg").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JpegTest, TruncatedFileIsDataLoss) {
  const std::string bytes = ReadBytes(kDev / (ExactSynsets().front() + ".jpg"));
  ASSERT_GT(bytes.size(), 2000u);
  absl::StatusOr<Tensor> image = DecodeJpeg(std::string_view(bytes).substr(0, bytes.size() / 2), "half.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kDataLoss) << image.status();
  EXPECT_NE(image.status().message().find("half.jpg"), std::string::npos) << image.status();

  // Cut inside the header: still an error, never a crash.
  for (size_t n : {2, 3, 20, 100, 300}) {
    absl::StatusOr<Tensor> cut = DecodeJpeg(std::string_view(bytes).substr(0, n), "cut.jpg");
    ASSERT_FALSE(cut.ok()) << n;
    EXPECT_NE(cut.status().message().find("cut.jpg"), std::string::npos) << cut.status();
  }
}

TEST(JpegTest, CorruptEntropyDataNeverCrashes) {
  std::string bytes = ReadBytes(kDev / (ExactSynsets().front() + ".jpg"));
  // Overwrite a stretch of scan data with marker-like garbage; libjpeg may recover (warnings) or fail.
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] = static_cast<char>(0xFF);
  absl::StatusOr<Tensor> image = DecodeJpeg(bytes, "garbled.jpg");
  if (image.ok()) {
    EXPECT_EQ(image->TypeString(), "u8[224,224,3]");
  } else {
    EXPECT_NE(image.status().message().find("garbled.jpg"), std::string::npos) << image.status();
  }
}

// `jpeg` with the size in its SOF marker replaced: a few hundred bytes that declare any size.
std::string WithDeclaredSize(std::string jpeg, int width, int height) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const unsigned char marker = static_cast<unsigned char>(jpeg[i + 1]);
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && (marker == 0xC0 || marker == 0xC2)) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xFF);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no SOF marker";
  return jpeg;
}

TEST(JpegTest, DecompressionBombIsRefusedBeforeDecoding) {
  // The file: a few hundred bytes declaring 65500x65500 made kiln allocate 12.7 GB.
  const std::string bomb = WithDeclaredSize(EncodeConstant(8, 8, 3, JCS_RGB, 90), 65500, 65500);
  ASSERT_LT(bomb.size(), 1000u);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Tensor> image = DecodeJpeg(bomb, "bomb.jpg");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(image.status().message(),
            "bomb.jpg: the JPEG declares 65500x65500 = 4290250000 pixels, more than the limit of 100000000 pixels; "
            "if the image is genuine, raise the limit (kiln run --max-image-pixels=N, ImageDecodeOptions::max_pixels)");
  EXPECT_LT(seconds, 1.0) << "the header alone decides";
}

TEST(JpegTest, PixelLimitIsAnOption) {
  const std::string bytes = EncodeConstant(24, 16, 3, JCS_RGB, 90);
  EXPECT_TRUE(DecodeJpeg(bytes, "a.jpg", {.max_pixels = 24 * 16}).ok());
  absl::StatusOr<Tensor> refused = DecodeJpeg(bytes, "a.jpg", {.max_pixels = 24 * 16 - 1});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "a.jpg: the JPEG declares 24x16 = 384 pixels, more than the limit of 383 pixels; if the image is genuine, "
            "raise the limit (kiln run --max-image-pixels=N, ImageDecodeOptions::max_pixels)");
}

TEST(JpegTest, TruncatedLargeImageStopsAtTheEndOfItsData) {
  // Under the limit, but with data for 64 of its 16 million pixels: refused where the data ends,
  // rather than decoded into padding (gray pixels that are not the image).
  const std::string cut = WithDeclaredSize(EncodeConstant(8, 8, 3, JCS_RGB, 90), 4000, 4000);
  absl::StatusOr<Tensor> image = DecodeJpeg(cut, "cut.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kDataLoss) << image.status();
  EXPECT_EQ(image.status().message(),
            "cut.jpg: truncated JPEG (Corrupt JPEG data: premature end of data segment); the file is incomplete, "
            "fetch or copy it again");
  // The same with the end-of-image marker cut off too: the file ends.
  absl::StatusOr<Tensor> eof = DecodeJpeg(std::string_view(cut).substr(0, cut.size() - 2), "cut.jpg");
  EXPECT_EQ(eof.status().message(),
            "cut.jpg: truncated JPEG (Premature end of JPEG file); the file is incomplete, fetch or copy it again");
}

// An 8x8 RGB progressive JPEG with every spectral band of every component sent as its own scan and
// refined bit by bit: 2090 scans, each legal.
std::string ManyScanJpeg() {
  std::vector<jpeg_scan_info> scans;
  scans.push_back({3, {0, 1, 2, 0}, 0, 0, 0, 10});
  for (int al = 9; al >= 0; --al) scans.push_back({3, {0, 1, 2, 0}, 0, 0, al + 1, al});
  for (int c = 0; c < 3; ++c) {
    for (int k = 1; k < 64; ++k) {
      scans.push_back({1, {c, 0, 0, 0}, k, k, 0, 10});
      for (int al = 9; al >= 0; --al) scans.push_back({1, {c, 0, 0, 0}, k, k, al + 1, al});
    }
  }
  return EncodeConstant(8, 8, 3, JCS_RGB, 100, &scans);
}

TEST(JpegTest, TooManyScansAreRefused) {
  absl::StatusOr<Tensor> image = DecodeJpeg(ManyScanJpeg(), "scans.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(image.status().message(),
            "scans.jpg: the JPEG has more than 1000 scans, more than Kiln decodes (a corrupt or hostile file)");
}

TEST(JpegTest, ReadImageFileErrors) {
  absl::StatusOr<Tensor> missing = ReadImageFile("/nonexistent/dir/photo.jpg");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "image file '/nonexistent/dir/photo.jpg' cannot be opened: No such file or directory");

  // A folder and a FIFO are named for what they are; the FIFO is not opened for a blocking read.
  const fs::path dir = fs::path(testing::TempDir()) / ("kiln_jpeg_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_EQ(ReadImageFile(dir.string()).status().message(), "image file '" + dir.string() + "' is a directory");
  const std::string fifo = (dir / "photo.jpg").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  testing_util::WithinSeconds(20, [&] {
    EXPECT_EQ(ReadImageFile(fifo).status().message(), "image file '" + fifo + "' is not a regular file (FIFO)");
  });
  fs::remove_all(dir);

  // A .npy file is recognised and refused.
  absl::StatusOr<Tensor> npy =
      ReadImageFile((kDev / "exact" / (ExactSynsets().front() + "_224_u8.npy")).string());
  EXPECT_EQ(npy.status().code(), absl::StatusCode::kUnimplemented) << npy.status();
}

}  // namespace
}  // namespace kiln
