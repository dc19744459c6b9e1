// The sliding-window geometry of ONNX convolution and pooling (Conv, ConvTranspose, MaxPool,
// AveragePool, LpPool and the NHWC forms): kernel extents, strides, dilations, explicit pads or
// auto_pad (NOTSET, SAME_UPPER, SAME_LOWER, VALID), ceil_mode, and the output extents they give.
// The one implementation that the kernels, their shape functions and the JIT lowering all use, so
// that inconsistent attributes fail the same way everywhere.
#ifndef KILN_RUNTIME_WINDOW_GEOMETRY_H_
#define KILN_RUNTIME_WINDOW_GEOMETRY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/runtime/graph.h"

namespace kiln {

// ONNX's auto_pad attribute.
enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// "NOTSET", "SAME_UPPER", "SAME_LOWER" or "VALID"; any other text is InvalidArgument naming it.
absl::StatusOr<AutoPad> ParseAutoPad(std::string_view text);

// A window op's attributes as the node holds them, before auto_pad is resolved. Defaults are
// ONNX's: strides and dilations 1, pads 0, auto_pad NOTSET, ceil_mode 0.
struct WindowAttributes {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads;  // ONNX order: all begins, then all ends (2 * spatial rank values).
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;  // Pooling only.
};

// Per spatial dimension i: input extent in[i], kernel[i], strides[i], dilations[i], the padding
// pad_begin[i] / pad_end[i] actually applied (auto_pad resolved) and the output extent out[i].
// A dimension whose input extent is unknown (-1) has out[i] = -1.
struct WindowGeometry {
  int spatial_rank = 0;
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end, in, out;
};

// Reads `strides`, `dilations`, `pads`, `auto_pad` (and `ceil_mode` when `pooling`) from `node`
// for `spatial_rank` dimensions; `kernel` comes from kernel_shape or the weights. Only the types
// and the auto_pad text are checked here; ResolveWindow checks the values.
absl::StatusOr<WindowAttributes> ReadWindowAttributes(const Node& node, int spatial_rank,
                                                      std::vector<int64_t> kernel, bool pooling);

// The geometry of a forward window (Conv, pooling) over input extents `in` (-1: unknown), as ONNX
// defines it. NOTSET/VALID: out = (in + pads - extent) / stride + 1 with extent = (kernel - 1) *
// dilation + 1, rounded up under ceil_mode, where a last window that would start in the end padding
// (at or beyond in + pad_begin, ONNX's and PyTorch's rule) is dropped. SAME_*: out = ceil(in /
// stride), total padding max(0, (out - 1) * stride + extent - in), the odd element at the end
// (SAME_UPPER) or the beginning (SAME_LOWER). InvalidArgument for kernel, strides, dilations or pads
// of the wrong length, a non-positive kernel extent, stride or dilation, negative pads, values whose
// positions would overflow int64, and a window larger than the padded input (an output extent < 1).
absl::StatusOr<WindowGeometry> ResolveWindow(const WindowAttributes& attrs, const std::vector<int64_t>& in);

// ReadWindowAttributes then ResolveWindow.
absl::StatusOr<WindowGeometry> ComputeWindow(const Node& node, const std::vector<int64_t>& in,
                                             const std::vector<int64_t>& kernel, bool pooling);

// ConvTranspose's attributes: the window's (no ceil_mode) plus output_padding (one per spatial
// dimension, default 0) and output_shape (empty, the spatial extents, or N, C and the spatial
// extents).
struct TransposedWindowAttributes {
  WindowAttributes window;
  std::vector<int64_t> output_padding, output_shape;
};

absl::StatusOr<TransposedWindowAttributes> ReadTransposedWindowAttributes(const Node& node, int spatial_rank,
                                                                          std::vector<int64_t> kernel);

// The geometry of ConvTranspose over input extents `in` (all known): `out` is the output extent and
// pad_begin/pad_end the padding removed from the full extent stride * (in - 1) + output_padding +
// extent. With output_shape (or SAME_*, target in * stride) the total padding is full - target,
// split as ONNX says (SAME_UPPER: the larger half at the end; otherwise at the beginning; the
// halves may be negative); else NOTSET takes the pads and VALID none. InvalidArgument for lengths
// that do not match, strides, dilations or kernel extents outside [1, 2^20], input extents, pads,
// output_padding or output_shape beyond 2^40 (so nothing overflows) and a negative output extent.
absl::StatusOr<WindowGeometry> ResolveTransposedWindow(const TransposedWindowAttributes& attrs,
                                                       const std::vector<int64_t>& in);

// ReadTransposedWindowAttributes then ResolveTransposedWindow.
absl::StatusOr<WindowGeometry> ComputeTransposedWindow(const Node& node, const std::vector<int64_t>& in,
                                                       const std::vector<int64_t>& kernel);

}  // namespace kiln

#endif  // KILN_RUNTIME_WINDOW_GEOMETRY_H_
