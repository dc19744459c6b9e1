// When a convolution runs on oneDNN's Winograd algorithm (the --winograd flag, docs/flags.md): one
// rule for the CPU backend's compiled convolutions and the runtime Conv kernel.
#ifndef KILN_SUPPORT_WINOGRAD_H_
#define KILN_SUPPORT_WINOGRAD_H_

#include <algorithm>
#include <cstdint>
#include <exception>
#include <vector>

#include "kiln/support/flags.h"

namespace kiln {

// Whether a convolution should first try the Winograd algorithm: --winograd is on, the weights are
// constant (they are transformed once), and they are {O, I, 3, 3} with both channel counts at least 32
// (below that the direct kernel is as fast), with two spatial dims (a grouped 1-D convolution's weights
// also have 4 dims), stride 1 and no dilation. `dilations` in oneDNN's convention (0 = dense).
// Winograd's results differ from the direct algorithm's by rounding, about 1e-6 relative.
inline bool PreferWinograd(bool const_weights, const std::vector<int64_t>& weight_dims,
                           const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations) {
  return GetFlags().winograd && const_weights && weight_dims.size() == 4 && strides.size() == 2 &&
         weight_dims[0] >= 32 && weight_dims[1] >= 32 && weight_dims[2] == 3 && weight_dims[3] == 3 &&
         strides[0] == 1 && strides[1] == 1 &&
         std::all_of(dilations.begin(), dilations.end(), [](int64_t d) { return d == 0; });
}

// make_pd(winograd) when `prefer_winograd` and oneDNN builds it, else make_pd(direct): oneDNN throws
// where it has no Winograd kernel for the CPU (AVX2-only machines) or the configuration.
template <typename Algorithm, typename MakePd>
auto WinogradOrDirect(bool prefer_winograd, Algorithm winograd, Algorithm direct, const MakePd& make_pd) {
  if (prefer_winograd) {
    try {
      return make_pd(winograd);
    } catch (const std::exception&) {
      // The direct algorithm below.
    }
  }
  return make_pd(direct);
}

}  // namespace kiln

#endif  // KILN_SUPPORT_WINOGRAD_H_
