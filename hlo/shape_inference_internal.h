// Private to hlo/shape_inference*.cc: the checks that several per-op shape functions share.
#ifndef KILN_HLO_SHAPE_INFERENCE_INTERNAL_H_
#define KILN_HLO_SHAPE_INFERENCE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/instruction.h"

namespace kiln::hlo::shape_inference_internal {

// InvalidArgument with the concatenation of `parts`.
absl::Status Err(const auto&... parts) {
  return absl::InvalidArgumentError(kiln::StrCat(parts...));
}

// "{1,2,3}".
std::string Dims(absl::Span<const int64_t> d);

bool IsPermutation(absl::Span<const int64_t> p, int64_t rank);
bool Contains(absl::Span<const int64_t> v, int64_t x);

// Each of `dims` in [0, rank) and none repeated; `what` names them in the error.
absl::Status CheckDimsInRange(absl::Span<const int64_t> dims, int64_t rank, std::string_view what);

// One window dimension per operand dimension, sizes >= 0, strides and dilations >= 1.
absl::Status CheckWindow(const Window& window, int64_t rank);

// Size of one windowed output dimension (the window passed CheckWindow); an error when it does
// not fit in 64 bits.
absl::StatusOr<int64_t> WindowOutputSize(int64_t base, const WindowDimension& w);

absl::Status CheckSameType(const Shape& a, const Shape& b, std::string_view what);

// Computation with `n` scalar parameters returning `results` scalars (tuple when > 1).
absl::Status CheckScalarComputation(const Computation* c, int64_t n, int64_t results,
                                    std::string_view what);

// The one shape, or a tuple of them when there are several (variadic reduce, sort, scatter).
Shape ShapeOrTuple(std::vector<Shape> results);

}  // namespace kiln::hlo::shape_inference_internal

#endif  // KILN_HLO_SHAPE_INFERENCE_INTERNAL_H_
