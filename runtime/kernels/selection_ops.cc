// Ops whose output extent depends on the input values: Compress and NonZero (the elements, or
// their coordinates, where a condition holds) and Unique (numpy.unique).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kiln/support/strings.h"
#include "runtime/kernels/f64_util.h"

namespace kiln::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// Compress(input, condition; axis) and NonZero(x).

absl::Status CompressShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.input(1).dtype != DType::kBool) return ctx.Error("condition must be bool");
  if (!ctx.node().HasAttr("axis")) {
    ctx.set_output(0, TensorType{x.dtype, {-1}});
    return absl::OkStatus();
  }
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis"));
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.dims.size()));
  if (!a.ok()) return ctx.Error(FromAbsl(a.status().message()));
  Dims d = x.dims;
  d[*a] = -1;
  ctx.set_output(0, TensorType{x.dtype, d});
  return absl::OkStatus();
}

absl::Status CompressCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.rank() != 1) return ctx.Error("condition must be 1-D");
  const size_t es = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  const bool* c = cond.data<bool>();
  if (!ctx.node().HasAttr("axis")) {
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < std::min(cond.num_elements(), x.num_elements()); ++i) {
      if (c[i]) keep.push_back(i);
    }
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {static_cast<int64_t>(keep.size())}));
    for (size_t i = 0; i < keep.size(); ++i) {
      std::memcpy(static_cast<char*>(y->raw_data()) + i * es, src + keep[i] * es, es);
    }
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis"));
  absl::StatusOr<int64_t> a = NormalizeAxis(axis, x.rank());
  if (!a.ok()) return ctx.Error(FromAbsl(a.status().message()));
  const int64_t len = x.dims()[*a];
  if (cond.num_elements() > len) return ctx.Error("condition is longer than the input along axis");
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < cond.num_elements(); ++i) {
    if (c[i]) keep.push_back(i);
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < *a; ++d) outer *= x.dims()[d];
  for (int64_t d = *a + 1; d < x.rank(); ++d) inner *= x.dims()[d];
  Dims od = x.dims();
  od[*a] = static_cast<int64_t>(keep.size());
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), od));
  char* dst = static_cast<char*>(y->raw_data());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < keep.size(); ++k) {
      std::memcpy(dst + ((o * keep.size() + k) * inner) * es, src + ((o * len + keep[k]) * inner) * es, inner * es);
    }
  }
  return absl::OkStatus();
}

absl::Status NonZeroShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, TensorType{DType::kS64, {x.rank_known ? static_cast<int64_t>(x.dims.size()) : -1, -1}});
  return absl::OkStatus();
}

absl::Status NonZeroCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> hits;
  const bool is_float = IsAnyFloat(x.dtype());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    if (is_float ? x.GetAsDouble(i) != 0.0 : x.GetAsInt64(i) != 0) hits.push_back(i);
  }
  const int64_t r = x.rank(), n = static_cast<int64_t>(hits.size());
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, DType::kS64, {r, n}));
  const std::vector<int64_t> strides = Strides(x.dims());
  for (int64_t k = 0; k < n; ++k) {
    int64_t rem = hits[k];
    for (int64_t d = 0; d < r; ++d) {
      y->data<int64_t>()[d * n + k] = rem / strides[d];
      rem %= strides[d];
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Unique(X; axis, sorted) -> Y, indices, inverse_indices, counts, as numpy.unique.

absl::Status UniqueShape(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const int nout = static_cast<int>(ctx.node().outputs.size());
  if (ctx.node().HasAttr("axis") && x.rank_known) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis"));
    absl::StatusOr<int64_t> a = NormalizeAxis(axis, static_cast<int64_t>(x.dims.size()));
    if (!a.ok()) return ctx.Error(FromAbsl(a.status().message()));
    Dims d = x.dims;
    d[*a] = -1;
    ctx.set_output(0, TensorType{x.dtype, d});
  } else if (ctx.node().HasAttr("axis")) {
    ctx.set_output(0, UnknownRank(x.dtype));
  } else {
    ctx.set_output(0, TensorType{x.dtype, {-1}});
  }
  for (int i = 1; i < nout; ++i) ctx.set_output(i, TensorType{DType::kS64, {-1}});
  return absl::OkStatus();
}

absl::Status UniqueCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t sorted, ctx.node().GetInt("sorted", 1));
  const bool has_axis = ctx.node().HasAttr("axis");
  int64_t axis = 0, outer = 1, len = x.num_elements(), inner = 1;
  if (has_axis) {
    KILN_ASSIGN_OR_RETURN(int64_t a, ctx.node().GetInt("axis"));
    absl::StatusOr<int64_t> n = NormalizeAxis(a, x.rank());
    if (!n.ok()) return ctx.Error(FromAbsl(n.status().message()));
    axis = *n;
    len = x.dims()[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= x.dims()[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dims()[d];
  }
  // Slice j's elements, as long double (exact for every integer type and float).
  const bool is_float = IsAnyFloat(x.dtype());
  std::vector<std::vector<long double>> keys(len);
  for (int64_t j = 0; j < len; ++j) {
    keys[j].reserve(outer * inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t e = (o * len + j) * inner + i;
        long double v;
        if (is_float) v = x.GetAsDouble(e);
        else if (x.dtype() == DType::kU64) v = static_cast<long double>(x.data<uint64_t>()[e]);
        else v = static_cast<long double>(x.GetAsInt64(e));
        keys[j].push_back(v);
      }
  }
  std::vector<int64_t> order(len);
  for (int64_t j = 0; j < len; ++j) order[j] = j;
  // Ties keep index order, so each group's first element is its first occurrence.
  std::sort(order.begin(), order.end(), [&keys](int64_t a, int64_t b) { return keys[a] < keys[b] || (keys[a] == keys[b] && a < b); });
  std::vector<int64_t> first, counts, group_of(len);
  for (int64_t k = 0; k < len; ++k) {
    const int64_t j = order[k];
    if (k == 0 || keys[j] != keys[order[k - 1]]) {
      first.push_back(j);
      counts.push_back(0);
    }
    ++counts.back();
    group_of[j] = static_cast<int64_t>(first.size()) - 1;
  }
  const int64_t u = static_cast<int64_t>(first.size());
  std::vector<int64_t> rank(u);  // Output position of each group.
  std::vector<int64_t> groups(u);
  for (int64_t g = 0; g < u; ++g) groups[g] = g;
  if (!sorted) {
    std::sort(groups.begin(), groups.end(), [&first](int64_t a, int64_t b) { return first[a] < first[b]; });
  }
  for (int64_t p = 0; p < u; ++p) rank[groups[p]] = p;
  Dims yd = has_axis ? x.dims() : Dims{u};
  if (has_axis) yd[axis] = u;
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), yd));
  const size_t es = DTypeSize(x.dtype());
  for (int64_t p = 0; p < u; ++p) {
    const int64_t j = first[groups[p]];
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(static_cast<char*>(y->raw_data()) + ((o * u + p) * inner) * es,
                  static_cast<const char*>(x.raw_data()) + ((o * len + j) * inner) * es, inner * es);
    }
  }
  std::vector<double> idx(u), inv(len), cnt(u);
  for (int64_t p = 0; p < u; ++p) {
    idx[p] = static_cast<double>(first[groups[p]]);
    cnt[p] = static_cast<double>(counts[groups[p]]);
  }
  for (int64_t j = 0; j < len; ++j) inv[j] = static_cast<double>(rank[group_of[j]]);
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 1, DType::kS64, {u}, idx));
  KILN_RETURN_IF_ERROR(WriteDoubles(ctx, 2, DType::kS64, {len}, inv));
  return WriteDoubles(ctx, 3, DType::kS64, {u}, cnt);
}

}  // namespace

void RegisterSelectionOps(OpRegistry& registry) {
  AddOp(registry, StatelessOpDef("Compress", 2, 2, CompressShape, CompressCompute));
  AddOp(registry, StatelessOpDef("NonZero", 1, 1, NonZeroShape, NonZeroCompute));
  AddOp(registry, StatelessOpDef("Unique", 1, 1, UniqueShape, UniqueCompute, 4));
}

}  // namespace kiln::kernels
