// Antialiased bilinear resizing with Pillow's semantics for 8-bit images.
//
// For each axis, output pixel i has its centre at (i + 0.5) * scale in input coordinates, where
// scale = in_size / out_size. The triangle filter t(x) = max(0, 1 - |x|) is stretched by
// filter_scale = max(scale, 1) (so downscaling averages over all the input pixels it covers), and
// the input pixels j in [centre - support, centre + support), support = filter_scale, get weights
// t((j + 0.5 - centre) / filter_scale), normalised to sum 1. The weights are then rounded to fixed
// point with kPrecisionBits fractional bits; each output is the rounded, clipped fixed-point sum.
// The horizontal pass runs first and its u8 result feeds the vertical pass.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kiln/support/strings.h"
#include "kiln/image/image.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

// 32 bits of accumulator minus 8 for the pixel value and 2 of headroom for overshooting weights.
constexpr int kPrecisionBits = 32 - 8 - 2;

// The input window and fixed-point weights of every output pixel along one axis.
struct AxisWeights {
  int window = 0;               // Weights stored per output pixel (the widest window).
  std::vector<int> first;       // First input index of each output pixel.
  std::vector<int> count;       // Number of input pixels it reads.
  std::vector<int32_t> weights; // out_size * window, row-major.
};

double Triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

AxisWeights ComputeWeights(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // The triangle's support is 1.
  AxisWeights w;
  w.window = static_cast<int>(std::ceil(support)) * 2 + 1;
  w.first.resize(out_size);
  w.count.resize(out_size);
  w.weights.assign(static_cast<size_t>(out_size) * w.window, 0);
  std::vector<double> k(w.window);
  const double inv_filter_scale = 1.0 / filter_scale;  // Multiplied, not divided: same rounding as Pillow.
  for (int i = 0; i < out_size; ++i) {
    const double centre = (i + 0.5) * scale;
    // Truncation toward zero, then clamping, as in the reference implementation.
    int lo = static_cast<int>(centre - support + 0.5);
    lo = std::max(lo, 0);
    int hi = static_cast<int>(centre + support + 0.5);
    hi = std::min(hi, in_size);
    const int n = std::min(hi - lo, w.window);
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      k[j] = Triangle((j + lo - centre + 0.5) * inv_filter_scale);
      total += k[j];
    }
    for (int j = 0; j < n; ++j) {
      const double normalised = total != 0.0 ? k[j] / total : k[j];
      const double fixed = normalised * (1 << kPrecisionBits);
      // Round half away from zero.
      w.weights[static_cast<size_t>(i) * w.window + j] =
          static_cast<int32_t>(fixed < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    w.first[i] = lo;
    w.count[i] = n;
  }
  return w;
}

uint8_t RoundAndClip(int64_t acc) {
  acc >>= kPrecisionBits;  // Arithmetic shift: floors, and the initial half makes it round.
  if (acc < 0) return 0;
  if (acc > 255) return 255;
  return static_cast<uint8_t>(acc);
}

// Resamples along width: [h, in_w, c] -> [h, out_w, c].
void ResizeRows(const uint8_t* in, int h, int in_w, int c, const AxisWeights& w, int out_w, uint8_t* out) {
  for (int y = 0; y < h; ++y) {
    const uint8_t* in_row = in + static_cast<size_t>(y) * in_w * c;
    uint8_t* out_row = out + static_cast<size_t>(y) * out_w * c;
    for (int x = 0; x < out_w; ++x) {
      const int32_t* k = &w.weights[static_cast<size_t>(x) * w.window];
      const uint8_t* src = in_row + static_cast<size_t>(w.first[x]) * c;
      for (int ch = 0; ch < c; ++ch) {
        int64_t acc = int64_t{1} << (kPrecisionBits - 1);
        for (int j = 0; j < w.count[x]; ++j) acc += static_cast<int64_t>(src[j * c + ch]) * k[j];
        out_row[x * c + ch] = RoundAndClip(acc);
      }
    }
  }
}

// Resamples along height: [in_h, wd, c] -> [out_h, wd, c].
void ResizeColumns(const uint8_t* in, int wd, int c, const AxisWeights& w, int out_h, uint8_t* out) {
  const size_t row = static_cast<size_t>(wd) * c;
  for (int y = 0; y < out_h; ++y) {
    const int32_t* k = &w.weights[static_cast<size_t>(y) * w.window];
    const uint8_t* src = in + static_cast<size_t>(w.first[y]) * row;
    uint8_t* dst = out + static_cast<size_t>(y) * row;
    for (size_t i = 0; i < row; ++i) {
      int64_t acc = int64_t{1} << (kPrecisionBits - 1);
      for (int j = 0; j < w.count[y]; ++j) acc += static_cast<int64_t>(src[j * row + i]) * k[j];
      dst[i] = RoundAndClip(acc);
    }
  }
}

}  // namespace

absl::StatusOr<Tensor> ResizeBilinear(const Tensor& image, int64_t height, int64_t width) {
  if (image.dtype() != DType::kU8 || image.rank() != 3) {
    return absl::InvalidArgumentError(kiln::StrCat("ResizeBilinear: expected a u8 [H,W,C] image, got ",
                                                   image.valid() ? image.TypeString() : "an absent tensor"));
  }
  constexpr int64_t kMaxSide = 1 << 20;
  if (height <= 0 || width <= 0 || height > kMaxSide || width > kMaxSide) {
    return absl::InvalidArgumentError(
        kiln::StrCat("ResizeBilinear: target size ", height, "x", width, " must be in 1..", kMaxSide));
  }
  const int in_h = static_cast<int>(image.dim(0)), in_w = static_cast<int>(image.dim(1));
  const int c = static_cast<int>(image.dim(2));
  if (in_h == 0 || in_w == 0) {
    return absl::InvalidArgumentError(
        kiln::StrCat("ResizeBilinear: cannot resize an empty image ", image.TypeString()));
  }
  const int out_h = static_cast<int>(height), out_w = static_cast<int>(width);
  if (out_h == in_h && out_w == in_w) return image.Clone();

  // Horizontal pass (skipped when the width is unchanged), then vertical.
  Tensor rows = image;
  if (out_w != in_w) {
    KILN_ASSIGN_OR_RETURN(rows, Tensor::Create(DType::kU8, {in_h, out_w, c}));
    ResizeRows(image.data<uint8_t>(), in_h, in_w, c, ComputeWeights(in_w, out_w), out_w,
               rows.data<uint8_t>());
  }
  if (out_h == in_h) return rows;
  KILN_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(DType::kU8, {out_h, out_w, c}));
  ResizeColumns(rows.data<uint8_t>(), out_w, c, ComputeWeights(in_h, out_h), out_h, out.data<uint8_t>());
  return out;
}

}  // namespace kiln
