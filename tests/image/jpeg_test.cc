// JPEG decoding: the dev photos decode to the exact pixels the references saw; odd and broken
// files give clear errors.
#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <jpeglib.h>

#include <gtest/gtest.h>

#include "kiln/image/image.h"
#include "kiln/image/npy.h"

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

// Encodes a `width` x `height` image of `components` channels (all samples `value`) with libjpeg.
// Returns an empty string on failure (libjpeg's default error handler exits, which fails the test).
std::string EncodeConstant(int width, int height, int components, J_COLOR_SPACE space, int value) {
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
  absl::StatusOr<Tensor> image = DecodeJpeg(absl::string_view(bytes).substr(0, bytes.size() / 2), "half.jpg");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kDataLoss) << image.status();
  EXPECT_NE(image.status().message().find("half.jpg"), std::string::npos) << image.status();

  // Cut inside the header: still an error, never a crash.
  for (size_t n : {2, 3, 20, 100, 300}) {
    absl::StatusOr<Tensor> cut = DecodeJpeg(absl::string_view(bytes).substr(0, n), "cut.jpg");
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

TEST(JpegTest, ReadImageFileErrors) {
  absl::StatusOr<Tensor> missing = ReadImageFile("/nonexistent/dir/photo.jpg");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("photo.jpg"), std::string::npos);

  // A .npy file is recognised and refused.
  absl::StatusOr<Tensor> npy =
      ReadImageFile((kDev / "exact" / (ExactSynsets().front() + "_224_u8.npy")).string());
  EXPECT_EQ(npy.status().code(), absl::StatusCode::kUnimplemented) << npy.status();
}

}  // namespace
}  // namespace kiln
