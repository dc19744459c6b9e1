// libFuzzer target: the JPEG decoder (bytes -> u8 [H, W, 3] image). Whatever the bytes, DecodeJpeg
// must return: an error names the file; an image is u8 [H, W, 3] within the pixel limit. An input
// allocating over 2 GiB (tools/fuzz.sh's -malloc_limit_mb) or running over 10 s is a finding too:
// the decompression bomb of issue 7 is the seed corpus/jpeg/regression-bomb-65500x65500.jpg.
//
// libjpeg-turbo is the system library, not instrumented: coverage counts only Kiln's side (header
// checks, limits, error paths), and ASan sees Kiln's accesses, not libjpeg's. Its allocations go
// through the sanitizer's malloc, so the size limits hold for them too.
#include "kiln/image/image.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A lower limit than the default keeps each input fast (a 100-megapixel image takes about a second);
  // the header check that enforces it is the same.
  kiln::ImageDecodeOptions options;
  options.max_pixels = int64_t{1} << 22;
  const absl::StatusOr<kiln::Tensor> image = kiln::DecodeJpeg(kiln::fuzz::Bytes(data, size), "fuzz.jpg", options);
  if (!image.ok()) {
    if (!absl::StrContains(image.status().message(), "fuzz.jpg")) {
      kiln::fuzz::Fail("the error does not name the file", image.status());
    }
    return 0;
  }
  if (image->dtype() != kiln::DType::kU8 || image->rank() != 3 || image->dim(2) != 3 ||
      image->dim(0) * image->dim(1) > options.max_pixels) {
    kiln::fuzz::Fail("a decoded image is not u8 [H, W, 3] within the pixel limit",
                     absl::InternalError(image->TypeString()));
  }
  return 0;
}
