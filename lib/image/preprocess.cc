// Conversion of u8 images to normalised float tensors.
#include <cmath>

#include "absl/strings/ascii.h"
#include "kiln/support/strings.h"
#include "kiln/image/image.h"
#include "kiln/support/status.h"

namespace kiln {

absl::StatusOr<Layout> ParseLayout(std::string_view text) {
  const std::string lower = absl::AsciiStrToLower(AsAbsl(text));
  if (lower == "nchw") return Layout::kNCHW;
  if (lower == "nhwc") return Layout::kNHWC;
  return absl::InvalidArgumentError(kiln::StrCat("unknown layout '", text, "': use nchw or nhwc"));
}

absl::StatusOr<Tensor> ImageToTensor(const Tensor& image, const PreprocessOptions& options) {
  if (image.dtype() != DType::kU8 || image.rank() != 3) {
    return absl::InvalidArgumentError(kiln::StrCat("ImageToTensor: expected a u8 [H,W,C] image, got ",
                                                   image.valid() ? image.TypeString() : "an absent tensor"));
  }
  if (options.scale == 0.0f || !std::isfinite(options.scale) || !std::isfinite(options.offset)) {
    return absl::InvalidArgumentError(kiln::StrCat("ImageToTensor: scale (", options.scale,
                                                   ") must be finite and not 0, and offset (", options.offset,
                                                   ") finite"));
  }
  const int64_t h = image.dim(0), w = image.dim(1), c = image.dim(2);
  Dims dims = options.layout == Layout::kNCHW ? Dims{1, c, h, w} : Dims{1, h, w, c};
  KILN_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(DType::kF32, dims));
  const uint8_t* src = image.data<uint8_t>();
  float* dst = out.data<float>();
  // The same float operations as NumPy's (u8.astype(float32) - offset) / scale.
  float table[256];
  for (int v = 0; v < 256; ++v) table[v] = (static_cast<float>(v) - options.offset) / options.scale;
  if (options.layout == Layout::kNHWC) {
    for (int64_t i = 0; i < h * w * c; ++i) dst[i] = table[src[i]];
    return out;
  }
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int64_t ch = 0; ch < c; ++ch) dst[(ch * h + y) * w + x] = table[src[(y * w + x) * c + ch]];
    }
  }
  return out;
}

}  // namespace kiln
