// Images for classifiers: JPEG decoding, an antialiased bilinear resize that reproduces Pillow's
// `Image.resize(size, Image.BILINEAR)`, and conversion of u8 pixels to a normalised float tensor.
//
// An image is a Tensor of dtype u8 and dims [height, width, channels] (HWC, row-major, channels
// interleaved). Every function here is thread-safe (no shared state).
#ifndef KILN_IMAGE_IMAGE_H_
#define KILN_IMAGE_IMAGE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

// The most pixels (width x height) an image may declare unless ImageDecodeOptions::max_pixels says
// otherwise: 100 megapixels, 300 MB of decoded RGB (1.2 GB as the f32 tensor a model is fed).
inline constexpr int64_t kDefaultMaxImagePixels = 100'000'000;
// A JPEG with more scans than this is refused: a progressive JPEG has about ten, and each scan
// revisits the whole image.
inline constexpr int kMaxJpegScans = 1000;

struct ImageDecodeOptions {
  // An image whose header declares more pixels is refused (ResourceExhausted) before anything is
  // decoded or allocated: a file of a few hundred bytes may declare 65500x65500.
  int64_t max_pixels = kDefaultMaxImagePixels;
};

// Decodes a baseline or progressive JPEG to u8 [H, W, 3] RGB with libjpeg-turbo's defaults (islow
// integer DCT, fancy upsampling), so the pixels equal those of Pillow or TensorFlow built on
// libjpeg-turbo. Grayscale JPEGs are expanded to three equal channels; CMYK and YCCK JPEGs are
// refused (Unimplemented). Errors (InvalidArgument for data that is not a JPEG or is corrupt or has
// more than kMaxJpegScans scans, DataLoss for a truncated file, ResourceExhausted for an image over
// options.max_pixels) name `source_name` and libjpeg's own message.
absl::StatusOr<Tensor> DecodeJpeg(std::string_view bytes, std::string_view source_name,
                                  const ImageDecodeOptions& options = {});

// Reads (kiln/support/read_file.h: regular files only) and decodes an image file. Only JPEG is
// supported; other formats (PNG, GIF, ...) are recognised by their signature and refused with
// Unimplemented. "cannot be opened: <reason>" (NotFound, PermissionDenied, ...) when the file cannot
// be read, InvalidArgument for a folder or a FIFO. Every message names `path`.
absl::StatusOr<Tensor> ReadImageFile(const std::string& path, const ImageDecodeOptions& options = {});

// Resizes a u8 [H, W, C] image to [height, width, C] exactly as Pillow's
// `Image.resize((width, height), Image.BILINEAR)` does for 8-bit images: a separable triangle
// filter whose support widens by the scale factor when downscaling (antialiasing), coefficients
// normalised per output pixel and rounded to 22-bit fixed point, the horizontal pass first with its
// result rounded and clipped to u8, then the vertical pass. Same size returns a copy.
// Bit-exact with the shared 224->128 references and with Pillow 13.0 for uniform and most other
// scales; Pillow 13.0 runs the vertical pass first for some resizes that shrink the height more
// than the width, and there about a third of the pixel levels differ by one (measured; never more).
// InvalidArgument for a tensor that is not u8 rank 3 or for a non-positive target size.
absl::StatusOr<Tensor> ResizeBilinear(const Tensor& image, int64_t height, int64_t width);

enum class Layout { kNCHW, kNHWC };

// Parses "nchw" / "nhwc" (any case); InvalidArgument otherwise.
absl::StatusOr<Layout> ParseLayout(std::string_view text);

struct PreprocessOptions {
  float offset = 128.0f;  // value = (pixel - offset) / scale: the MobileNet convention by default.
  float scale = 128.0f;
  Layout layout = Layout::kNCHW;
};

// Converts a u8 [H, W, C] image into an f32 batch of one, [1, C, H, W] (NCHW) or [1, H, W, C]
// (NHWC), with value = (pixel - offset) / scale computed in float. InvalidArgument for a tensor
// that is not u8 rank 3, a zero scale, or a scale or offset that is NaN or infinite.
absl::StatusOr<Tensor> ImageToTensor(const Tensor& image, const PreprocessOptions& options = {});

}  // namespace kiln

#endif  // KILN_IMAGE_IMAGE_H_
