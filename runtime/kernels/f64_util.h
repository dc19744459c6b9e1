// Helpers for kernels that compute in double whatever their float input type (f32, f16, bf16,
// f64): read a tensor into doubles, write doubles into an output of a given type.
#ifndef KILN_RUNTIME_KERNELS_F64_UTIL_H_
#define KILN_RUNTIME_KERNELS_F64_UTIL_H_

#include <algorithm>
#include <vector>

#include "runtime/kernels/kernel_util.h"
#include "kiln/support/strings.h"

namespace kiln::kernels {

inline bool IsAnyFloat(DType t) { return IsFloatType(t) || t == DType::kF64; }

inline std::vector<double> ReadDoubles(const Tensor& t) {
  const int64_t n = t.num_elements();
  if (t.dtype() == DType::kF32) {
    const float* p = t.data<float>();
    return std::vector<double>(p, p + n);
  }
  if (t.dtype() == DType::kF64) {
    const double* p = t.data<double>();
    return std::vector<double>(p, p + n);
  }
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = t.GetAsDouble(i);
  return v;
}

// Allocates output `i` as `dtype[dims]` and stores `values` (rounded to the type) in it. Does
// nothing when the node does not use output `i`.
inline absl::Status WriteDoubles(KernelContext& ctx, int i, DType dtype, const Dims& dims,
                                 const std::vector<double>& values) {
  if (i >= ctx.num_outputs() || ctx.node().outputs[i].empty()) return absl::OkStatus();
  if (dtype == DType::kF32 || dtype == DType::kF64) {  // what CastInto does, without the temporary
    KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(i, dtype, dims));
    if (dtype == DType::kF32) {
      std::transform(values.begin(), values.end(), out->data<float>(),
                     [](double v) { return static_cast<float>(v); });
    } else {
      std::copy(values.begin(), values.end(), out->data<double>());
    }
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Tensor tmp, Tensor::Create(DType::kF64, dims));
  std::copy(values.begin(), values.end(), tmp.data<double>());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(i, dtype, dims));
  return CastInto(tmp, out);
}

// Kernels that compute in double keep scratch vectors; this bounds them (1 GiB of doubles) so that a
// model asking for an enormous output gets an error, not an allocation failure.
constexpr int64_t kMaxScratchElements = int64_t{1} << 27;

inline absl::Status CheckScratch(const KernelContext& ctx, const Dims& dims) {
  const int64_t n = NumElements(dims);
  if (n < 0 || n > kMaxScratchElements) {
    return ctx.Error(kiln::StrCat("output ", DimsToString(dims), " is too large (more than ", kMaxScratchElements,
                                  " elements)"));
  }
  return absl::OkStatus();
}

inline bool UsesOutput(const InferenceContext& ctx, int i) {
  return i < static_cast<int>(ctx.node().outputs.size()) && !ctx.node().outputs[i].empty();
}

}  // namespace kiln::kernels

#endif  // KILN_RUNTIME_KERNELS_F64_UTIL_H_
