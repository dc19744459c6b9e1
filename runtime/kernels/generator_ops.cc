// Ops that make a tensor from a size or a shape alone: the spectral windows (HannWindow,
// HammingWindow, BlackmanWindow) and EyeLike. Values are computed in double and rounded to the
// output type.
#include <cmath>
#include <numbers>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// HannWindow, HammingWindow, BlackmanWindow (size; output_datatype, periodic).

enum class WindowKind { kHann, kHamming, kBlackman };

absl::Status WindowShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType dt, OutputDataType(ctx.node(), "output_datatype", 1));
  const TensorType& size = ctx.input(0);
  if (!IsIntType(size.dtype)) return ctx.Error("size must be an integer scalar");
  int64_t n = -1;
  if (size.value) {
    if (size.value->num_elements() != 1) return ctx.Error("size must be an integer scalar");
    n = size.value->GetAsInt64(0);
    if (n < 0) return ctx.Error(kiln::StrCat("size ", n, " must not be negative"));
  }
  ctx.set_output(0, TensorType{dt, {n}});
  return absl::OkStatus();
}

absl::Status WindowCompute(KernelContext& ctx, WindowKind kind) {
  KILN_ASSIGN_OR_RETURN(DType dt, OutputDataType(ctx.node(), "output_datatype", 1));
  KILN_ASSIGN_OR_RETURN(int64_t periodic, ctx.node().GetInt("periodic", 1));
  if (ctx.input(0).num_elements() != 1) return ctx.Error("size must be an integer scalar");
  const int64_t size = ctx.input(0).GetAsInt64(0);
  if (size < 0) return ctx.Error("size must not be negative");
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, {size}));
  const double n = periodic ? static_cast<double>(size) : static_cast<double>(size - 1);
  std::vector<double> v(size);
  const double pi = std::numbers::pi;
  for (int64_t i = 0; i < size; ++i) {
    const double x = n > 0 ? 2 * pi * static_cast<double>(i) / n : 0.0;
    switch (kind) {
      case WindowKind::kHann: v[i] = 0.5 - 0.5 * std::cos(x); break;
      case WindowKind::kHamming: v[i] = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(x); break;
      case WindowKind::kBlackman: v[i] = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2 * x); break;
    }
  }
  return WriteDoubles(ctx, 0, dt, {size}, v);
}

// ---------------------------------------------------------------------------------------------
// EyeLike(input; dtype, k).

absl::Status EyeLikeShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  DType dt = x.dtype;
  if (ctx.node().HasAttr("dtype")) {
    KILN_ASSIGN_OR_RETURN(dt, OutputDataType(ctx.node(), "dtype", 1));
  }
  if (x.rank_known && x.dims.size() != 2) return ctx.Error("input must be 2-D");
  ctx.set_output(0, TensorType{dt, x.dims, x.rank_known});
  return absl::OkStatus();
}

absl::Status EyeLikeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  DType dt = x.dtype();
  if (ctx.node().HasAttr("dtype")) {
    KILN_ASSIGN_OR_RETURN(dt, OutputDataType(ctx.node(), "dtype", 1));
  }
  KILN_ASSIGN_OR_RETURN(int64_t k, ctx.node().GetInt("k", 0));
  if (x.rank() != 2) return ctx.Error("input must be 2-D");
  const int64_t r = x.dims()[0], c = x.dims()[1];
  KILN_RETURN_IF_ERROR(CheckScratch(ctx, x.dims()));
  std::vector<double> v(r * c, 0.0);
  for (int64_t i = 0; i < r; ++i) {
    const int64_t j = SatAdd(i, k);  // k may be any int64.
    if (j >= 0 && j < c) v[i * c + j] = 1.0;
  }
  return WriteDoubles(ctx, 0, dt, x.dims(), v);
}

}  // namespace

void RegisterGeneratorOps(OpRegistry& registry) {
  auto window = [](WindowKind k) { return [k](KernelContext& ctx) { return WindowCompute(ctx, k); }; };
  AddOp(registry, StatelessOpDef("HannWindow", 1, 1, WindowShape, window(WindowKind::kHann)));
  AddOp(registry, StatelessOpDef("HammingWindow", 1, 1, WindowShape, window(WindowKind::kHamming)));
  AddOp(registry, StatelessOpDef("BlackmanWindow", 1, 1, WindowShape, window(WindowKind::kBlackman)));

  AddOp(registry, StatelessOpDef("EyeLike", 1, 1, EyeLikeShape, EyeLikeCompute));
}

}  // namespace kiln::kernels
