// Data movement and shape ops: Identity, Constant, ConstantOfShape, Shape, Size, Reshape, Flatten,
// Squeeze, Unsqueeze, Transpose, Concat, Split, Gather, Slice, Pad, Expand, Tile. Kernels work on
// element bytes, so every dtype is supported.
#include <cstring>
#include <limits>
#include <optional>
#include <set>

#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/slice.h"

namespace kiln::kernels {
namespace {

// The value of input i as int64s when it is a known constant.
std::optional<std::vector<int64_t>> ConstInts(const InferenceContext& ctx, int i) {
  if (!ctx.has_input(i) || !ctx.input(i).value) return std::nullopt;
  return ToInt64Vector(*ctx.input(i).value);
}

absl::Status RequireIntTensor(const TensorType& t, const std::string& what, const InferenceContext& ctx) {
  if (t.dtype != DType::kS64 && t.dtype != DType::kS32) {
    return ctx.Error(kiln::StrCat(what, " must be an s64 (or s32) tensor; got ", t.ToString()));
  }
  return absl::OkStatus();
}

// Copies `out_dims` elements: output element at index (o_0, ..., o_r-1) reads the input element at
// byte-free element offset sum_d offsets[d][o_d], or `fill` when any offsets[d][o_d] is negative.
template <typename U>
void OffsetMapCopyTyped(const U* in, U* out, const Dims& out_dims, const std::vector<std::vector<int64_t>>& offsets,
                        U fill) {
  const int r = static_cast<int>(out_dims.size());
  const int64_t n = NumElements(out_dims);
  if (n == 0) return;
  if (r == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t inner = out_dims[r - 1];
  const std::vector<int64_t>& last = offsets[r - 1];
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < n; o += inner) {
    int64_t base = 0;
    bool padded = false;
    for (int d = 0; d < r - 1; ++d) {
      const int64_t v = offsets[d][idx[d]];
      if (v < 0) padded = true;
      base += v;
    }
    U* dst = out + o;
    if (padded) {
      for (int64_t j = 0; j < inner; ++j) dst[j] = fill;
    } else {
      for (int64_t j = 0; j < inner; ++j) dst[j] = last[j] < 0 ? fill : in[base + last[j]];
    }
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < out_dims[d]) break;
      idx[d] = 0;
    }
  }
}

void OffsetMapCopy(const Tensor& in, Tensor* out, const std::vector<std::vector<int64_t>>& offsets,
                   const void* fill = nullptr) {
  const size_t es = DTypeSize(in.dtype());
  auto run = [&](auto tag) {
    using U = decltype(tag);
    U f{};
    if (fill != nullptr) std::memcpy(&f, fill, sizeof(U));
    OffsetMapCopyTyped<U>(in.data<U>(), out->data<U>(), out->dims(), offsets, f);
  };
  switch (es) {
    case 1: run(uint8_t{}); break;
    case 2: run(uint16_t{}); break;
    case 4: run(uint32_t{}); break;
    default: run(uint64_t{}); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Identity, Constant, ConstantOfShape, Shape, Size.

absl::StatusOr<Tensor> ConstantValue(const Node& node) {
  if (node.HasAttr("value")) return node.GetTensor("value");
  if (node.HasAttr("value_float")) {
    KILN_ASSIGN_OR_RETURN(float v, node.GetFloat("value_float"));
    return Tensor::Scalar<float>(v);
  }
  if (node.HasAttr("value_floats")) {
    KILN_ASSIGN_OR_RETURN(std::vector<float> v, node.GetFloats("value_floats"));
    return Tensor::FromVector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (node.HasAttr("value_int")) {
    KILN_ASSIGN_OR_RETURN(int64_t v, node.GetInt("value_int"));
    return Tensor::Scalar<int64_t>(v);
  }
  if (node.HasAttr("value_ints")) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, node.GetInts("value_ints"));
    return Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  for (const auto& [key, value] : node.attrs) {
    if (key.rfind("value_string", 0) == 0 || key == "sparse_value") {
      return absl::UnimplementedError(kiln::StrCat("Constant attribute '", key, "' is not supported"));
    }
  }
  return absl::InvalidArgumentError(
      "needs one of the attributes value, value_float, value_floats, value_int, value_ints");
}

absl::Status ConstantShapeFn(InferenceContext& ctx) {
  absl::StatusOr<Tensor> v = ConstantValue(ctx.node());
  if (!v.ok()) return absl::Status(v.status().code(), ctx.Error(FromAbsl(v.status().message())).message());
  TensorType t{v->dtype(), v->dims()};
  t.value = *v;
  ctx.set_output(0, std::move(t));
  return absl::OkStatus();
}

absl::Status ConstantOfShapeShapeFn(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(0), "the shape input", ctx));
  DType dtype = DType::kF32;
  if (ctx.node().HasAttr("value")) {
    KILN_ASSIGN_OR_RETURN(Tensor v, ctx.node().GetTensor("value"));
    if (v.num_elements() != 1) return ctx.Error("attribute value must hold exactly one element");
    dtype = v.dtype();
  }
  if (std::optional<std::vector<int64_t>> s = ConstInts(ctx, 0)) {
    for (int64_t d : *s) {
      if (d < 0) return ctx.Error(kiln::StrCat("shape ", DimsToString(*s), " has a negative dimension"));
    }
    ctx.set_output(0, TensorType{dtype, *s});
  } else if (ctx.input(0).rank_known && ctx.input(0).dims.size() == 1 && ctx.input(0).dims[0] >= 0) {
    ctx.set_output(0, TensorType{dtype, Dims(ctx.input(0).dims[0], -1)});
  } else {
    ctx.set_output(0, UnknownRank(dtype));
  }
  return absl::OkStatus();
}

absl::Status ConstantOfShapeCompute(KernelContext& ctx) {
  Tensor value = Tensor::Scalar<float>(0);
  if (ctx.node().HasAttr("value")) {
    KILN_ASSIGN_OR_RETURN(value, ctx.node().GetTensor("value"));
  }
  Dims dims = ToInt64Vector(ctx.input(0));
  for (int64_t d : dims) {
    if (d < 0) return ctx.Error(kiln::StrCat("shape ", DimsToString(dims), " has a negative dimension"));
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, value.dtype(), dims));
  const size_t es = DTypeSize(value.dtype());
  char* p = static_cast<char*>(y->raw_data());
  for (int64_t i = 0; i < y->num_elements(); ++i) std::memcpy(p + i * es, value.raw_data(), es);
  return absl::OkStatus();
}

// Shape's [start, end) range of dims.
absl::StatusOr<std::pair<int64_t, int64_t>> ShapeRange(const Node& node, int64_t rank) {
  KILN_ASSIGN_OR_RETURN(int64_t start, node.GetInt("start", 0));
  KILN_ASSIGN_OR_RETURN(int64_t end, node.GetInt("end", rank));
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return std::make_pair(start, std::max(start, end));
}

absl::Status ShapeShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.rank_known) {
    ctx.set_output(0, TensorType{DType::kS64, {-1}});
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(auto range, ShapeRange(ctx.node(), static_cast<int64_t>(x.dims.size())));
  Dims dims(x.dims.begin() + range.first, x.dims.begin() + range.second);
  TensorType t{DType::kS64, {static_cast<int64_t>(dims.size())}};
  bool known = true;
  for (int64_t d : dims) known = known && d >= 0;
  if (known) t.value = Tensor::FromVector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
  ctx.set_output(0, std::move(t));
  return absl::OkStatus();
}

absl::Status ShapeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(auto range, ShapeRange(ctx.node(), x.rank()));
  Dims dims(x.dims().begin() + range.first, x.dims().begin() + range.second);
  ctx.SetOutput(0, Tensor::FromVector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reshape, Flatten, Squeeze, Unsqueeze.

// Output dims of Reshape(data dims `in`, `shape`). `in` may hold -1 (unknown), giving -1 where the
// output depends on it.
absl::StatusOr<Dims> ReshapeDims(const Dims& in, const std::vector<int64_t>& shape, bool allowzero) {
  Dims out(shape.size());
  int infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t v = shape[i];
    if (v == -1) {
      if (infer >= 0) return absl::InvalidArgumentError(kiln::StrCat("shape ", DimsToString(shape), " has more than one -1"));
      infer = static_cast<int>(i);
      out[i] = -1;
    } else if (v == 0 && !allowzero) {
      if (i >= in.size()) {
        return absl::InvalidArgumentError(kiln::StrCat("shape ", DimsToString(shape), " copies dimension ", i,
                                                       " (0), which the input ", DimsToString(in), " lacks"));
      }
      out[i] = in[i];
    } else if (v < -1) {
      return absl::InvalidArgumentError(kiln::StrCat("shape ", DimsToString(shape), " has an invalid dimension ", v));
    } else {
      has_zero = has_zero || v == 0;
      out[i] = v;
    }
  }
  if (infer >= 0 && has_zero) {
    return absl::InvalidArgumentError(kiln::StrCat("shape ", DimsToString(shape), " combines -1 with a zero dimension (allowzero=1)"));
  }
  const int64_t total = NumElements(in);
  if (infer >= 0) {
    int64_t rest = 1;
    bool known = total >= 0;
    for (size_t i = 0; i < out.size(); ++i) {
      if (static_cast<int>(i) == infer) continue;
      if (out[i] < 0) known = false;
      else rest = SatMul(rest, out[i]);  // Saturates for huge shape values: no whole quotient then.
    }
    if (known) {
      if (rest == 0 || total % rest != 0) {
        return absl::InvalidArgumentError(kiln::StrCat("cannot reshape ", DimsToString(in), " (", total, " elements) to ",
                                                       DimsToString(shape)));
      }
      out[infer] = total / rest;
    }
  } else if (total >= 0 && NumElements(out) >= 0 && NumElements(out) != total) {
    return absl::InvalidArgumentError(kiln::StrCat("cannot reshape ", DimsToString(in), " (", total, " elements) to ",
                                                   DimsToString(shape), " (", NumElements(out), " elements)"));
  }
  return out;
}

absl::Status ReshapeShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(1), "the shape input", ctx));
  KILN_ASSIGN_OR_RETURN(int64_t allowzero, ctx.node().GetInt("allowzero", 0));
  if (std::optional<std::vector<int64_t>> shape = ConstInts(ctx, 1)) {
    Dims in = x.rank_known ? x.dims : Dims(shape->size(), -1);
    if (!x.rank_known) {
      // Rank unknown: only explicit extents are known.
      Dims out(shape->size(), -1);
      for (size_t i = 0; i < shape->size(); ++i) {
        if ((*shape)[i] > 0 || ((*shape)[i] == 0 && allowzero)) out[i] = (*shape)[i];
      }
      ctx.set_output(0, TensorType{x.dtype, out});
      return absl::OkStatus();
    }
    absl::StatusOr<Dims> out = ReshapeDims(in, *shape, allowzero != 0);
    if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
    ctx.set_output(0, TensorType{x.dtype, *out});
    return absl::OkStatus();
  }
  const TensorType& s = ctx.input(1);
  if (s.rank_known && s.dims.size() == 1 && s.dims[0] >= 0) {
    ctx.set_output(0, TensorType{x.dtype, Dims(s.dims[0], -1)});
  } else {
    ctx.set_output(0, UnknownRank(x.dtype));
  }
  return absl::OkStatus();
}

absl::Status ReshapeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t allowzero, ctx.node().GetInt("allowzero", 0));
  absl::StatusOr<Dims> out = ReshapeDims(x.dims(), ToInt64Vector(ctx.input(1)), allowzero != 0);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  for (int64_t d : *out) {  // An empty tensor with a huge dim (allowzero) would overflow strides later.
    if (d > kMaxTensorElements) {
      return ctx.Error(kiln::StrCat("shape ", DimsToString(*out), " has a dimension over ", kMaxTensorElements));
    }
  }
  absl::StatusOr<Tensor> y = x.Reshaped(*out);
  if (!y.ok()) return ctx.Error(FromAbsl(y.status().message()));
  ctx.SetOutput(0, *y);
  return absl::OkStatus();
}

absl::StatusOr<Dims> FlattenDims(const Node& node, const Dims& in) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.GetInt("axis", 1));
  KILN_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis, static_cast<int64_t>(in.size()), /*inclusive_end=*/true));
  Dims outer(in.begin(), in.begin() + axis), inner(in.begin() + axis, in.end());
  return Dims{NumElements(outer), NumElements(inner)};
}

absl::Status FlattenShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.rank_known) {
    ctx.set_output(0, TensorType{x.dtype, {-1, -1}});
    return absl::OkStatus();
  }
  absl::StatusOr<Dims> out = FlattenDims(ctx.node(), x.dims);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  ctx.set_output(0, TensorType{x.dtype, *out});
  return absl::OkStatus();
}

absl::Status FlattenCompute(KernelContext& ctx) {
  absl::StatusOr<Dims> out = FlattenDims(ctx.node(), ctx.input(0).dims());
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor y, ctx.input(0).Reshaped(*out));
  ctx.SetOutput(0, y);
  return absl::OkStatus();
}

// Squeeze/Unsqueeze axes: input 1 (opset 13) or the `axes` attribute (older forms).
absl::StatusOr<std::optional<std::vector<int64_t>>> AxesFrom(const Node& node, const Tensor* input) {
  if (input != nullptr) return std::optional<std::vector<int64_t>>(ToInt64Vector(*input));
  if (node.HasAttr("axes")) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.GetInts("axes"));
    return std::optional<std::vector<int64_t>>(axes);
  }
  return std::optional<std::vector<int64_t>>();
}

absl::StatusOr<Dims> SqueezeDims(const Dims& in, const std::optional<std::vector<int64_t>>& axes) {
  const int64_t r = static_cast<int64_t>(in.size());
  std::set<int64_t> drop;
  if (axes) {
    for (int64_t a : *axes) {
      KILN_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, r));
      if (in[n] >= 0 && in[n] != 1) {
        return absl::InvalidArgumentError(kiln::StrCat("cannot squeeze axis ", a, " of ", DimsToString(in),
                                                       ": its extent is not 1"));
      }
      drop.insert(n);
    }
  } else {
    for (int64_t i = 0; i < r; ++i) {
      if (in[i] < 0) return absl::InvalidArgumentError("squeezing without axes needs every extent known");
      if (in[i] == 1) drop.insert(i);
    }
  }
  Dims out;
  for (int64_t i = 0; i < r; ++i) {
    if (!drop.count(i)) out.push_back(in[i]);
  }
  return out;
}

absl::StatusOr<Dims> UnsqueezeDims(const Dims& in, const std::vector<int64_t>& axes) {
  const int64_t r = static_cast<int64_t>(in.size() + axes.size());
  std::set<int64_t> add;
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, r));
    if (!add.insert(n).second) return absl::InvalidArgumentError(kiln::StrCat("axis ", a, " is repeated"));
  }
  Dims out;
  size_t next = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(add.count(i) ? 1 : in[next++]);
  return out;
}

absl::Status SqueezeLikeShapeFn(InferenceContext& ctx) {
  const bool squeeze = ctx.node().op == "Squeeze";
  const TensorType& x = ctx.input(0);
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(1)) {
    KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(1), "axes", ctx));
    axes = ConstInts(ctx, 1);
    if (!axes) {
      ctx.set_output(0, UnknownRank(x.dtype));
      return absl::OkStatus();
    }
  } else {
    absl::StatusOr<std::optional<std::vector<int64_t>>> a = AxesFrom(ctx.node(), nullptr);
    if (!a.ok()) return ctx.Error(FromAbsl(a.status().message()));
    axes = *a;
  }
  if (!squeeze && !axes) return ctx.Error("axes are required (input 1)");
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  absl::StatusOr<Dims> out = squeeze ? SqueezeDims(x.dims, axes) : UnsqueezeDims(x.dims, *axes);
  if (!out.ok()) {
    // Squeezing without axes over unknown extents: the rank is unknown.
    if (squeeze && !axes) {
      ctx.set_output(0, UnknownRank(x.dtype));
      return absl::OkStatus();
    }
    return ctx.Error(FromAbsl(out.status().message()));
  }
  ctx.set_output(0, TensorType{x.dtype, *out});
  return absl::OkStatus();
}

absl::Status SqueezeLikeCompute(KernelContext& ctx) {
  const bool squeeze = ctx.node().op == "Squeeze";
  const Tensor& x = ctx.input(0);
  absl::StatusOr<std::optional<std::vector<int64_t>>> axes =
      AxesFrom(ctx.node(), ctx.has_input(1) ? &ctx.input(1) : nullptr);
  if (!axes.ok()) return ctx.Error(FromAbsl(axes.status().message()));
  if (!squeeze && !*axes) return ctx.Error("axes are required (input 1)");
  absl::StatusOr<Dims> out = squeeze ? SqueezeDims(x.dims(), *axes) : UnsqueezeDims(x.dims(), **axes);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor y, x.Reshaped(*out));
  ctx.SetOutput(0, y);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Transpose.

absl::StatusOr<std::vector<int64_t>> Permutation(const Node& node, int64_t rank) {
  std::vector<int64_t> perm;
  if (node.HasAttr("perm")) {
    KILN_ASSIGN_OR_RETURN(perm, node.GetInts("perm"));
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return absl::InvalidArgumentError(kiln::StrCat("perm ", DimsToString(perm), " must have ", rank, " values"));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t& p : perm) {
    KILN_ASSIGN_OR_RETURN(p, NormalizeAxis(p, rank));
    if (seen[p]) return absl::InvalidArgumentError(kiln::StrCat("perm ", DimsToString(perm), " is not a permutation"));
    seen[p] = true;
  }
  return perm;
}

absl::Status TransposeShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<int64_t>> perm = Permutation(ctx.node(), static_cast<int64_t>(x.dims.size()));
  if (!perm.ok()) return ctx.Error(FromAbsl(perm.status().message()));
  Dims out;
  for (int64_t p : *perm) out.push_back(x.dims[p]);
  ctx.set_output(0, TensorType{x.dtype, out});
  return absl::OkStatus();
}

absl::Status TransposeCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  absl::StatusOr<std::vector<int64_t>> perm = Permutation(ctx.node(), x.rank());
  if (!perm.ok()) return ctx.Error(FromAbsl(perm.status().message()));
  Dims out;
  for (int64_t p : *perm) out.push_back(x.dim(p));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out));
  const std::vector<int64_t> strides = Strides(x.dims());
  std::vector<std::vector<int64_t>> offsets(out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    for (int64_t o = 0; o < out[d]; ++o) offsets[d].push_back(o * strides[(*perm)[d]]);
  }
  OffsetMapCopy(x, y, offsets);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Concat and Split.

absl::Status ConcatShapeFn(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis"));
  const TensorType& first = ctx.input(0);
  TensorType out{first.dtype, {}, true};
  bool have_rank = false;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error(kiln::StrCat("input ", i, " must be present"));
    const TensorType& t = ctx.input(i);
    if (t.dtype != first.dtype) {
      return ctx.Error(kiln::StrCat("inputs must share one element type; input 0 is ", first.ToString(), " and input ",
                                    i, " is ", t.ToString()));
    }
    if (!t.rank_known) continue;
    if (!have_rank) {
      out.dims = t.dims;
      have_rank = true;
      absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, static_cast<int64_t>(t.dims.size()));
      if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
      out.dims[*axis] = 0;
    }
    if (t.dims.size() != out.dims.size()) {
      return ctx.Error(kiln::StrCat("inputs must share one rank; input ", i, " is ", t.ToString()));
    }
  }
  if (!have_rank) {
    ctx.set_output(0, UnknownRank(first.dtype));
    return absl::OkStatus();
  }
  const int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(out.dims.size()) : axis_attr;
  bool axis_known = true;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const TensorType& t = ctx.input(i);
    if (!t.rank_known) {
      axis_known = false;
      continue;
    }
    for (size_t d = 0; d < t.dims.size(); ++d) {
      if (static_cast<int64_t>(d) == axis) {
        if (t.dims[d] < 0) axis_known = false;
        else out.dims[d] = SatAdd(out.dims[d], t.dims[d]);
        continue;
      }
      if (out.dims[d] < 0) {
        out.dims[d] = t.dims[d];
      } else if (t.dims[d] >= 0 && t.dims[d] != out.dims[d]) {
        return ctx.Error(kiln::StrCat("input ", i, " ", t.ToString(), " differs from input 0 ", first.ToString(),
                                      " in dimension ", d, " (concatenating along axis ", axis, ")"));
      }
    }
  }
  if (!axis_known) out.dims[axis] = -1;
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status ConcatCompute(KernelContext& ctx) {
  const Tensor& first = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis"));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, first.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  Dims out = first.dims();
  out[*axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    bool ok = t.dtype() == first.dtype() && t.rank() == first.rank();
    for (int d = 0; ok && d < t.rank(); ++d) ok = d == *axis || t.dim(d) == first.dim(d);
    if (!ok) {
      return ctx.Error(kiln::StrCat("input ", i, " ", t.TypeString(), " does not match input 0 ", first.TypeString(),
                                    " outside axis ", *axis));
    }
    out[*axis] += t.dim(*axis);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, first.dtype(), out));
  const size_t es = DTypeSize(first.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= out[d];
  for (int d = *axis + 1; d < static_cast<int>(out.size()); ++d) inner *= out[d];
  char* dst = static_cast<char*>(y->raw_data());
  const size_t out_row = out[*axis] * inner * es;
  size_t col = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    const size_t row = t.dim(*axis) * inner * es;
    const char* src = static_cast<const char*>(t.raw_data());
    for (int64_t o = 0; o < outer && row > 0; ++o) std::memcpy(dst + o * out_row + col, src + o * row, row);
    col += row;
  }
  return absl::OkStatus();
}

// Split sizes along `axis` of extent `dim` for `n` outputs.
absl::StatusOr<std::vector<int64_t>> SplitSizes(const Node& node, const std::optional<std::vector<int64_t>>& split,
                                                int64_t dim, int64_t n) {
  if (n <= 0) return absl::InvalidArgumentError("needs at least one output");
  if (split) {
    if (static_cast<int64_t>(split->size()) != n) {
      return absl::InvalidArgumentError(kiln::StrCat("split has ", split->size(), " values for ", n, " outputs"));
    }
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0) return absl::InvalidArgumentError("split sizes must not be negative");
      sum = SatAdd(sum, s);
    }
    if (dim >= 0 && sum != dim) {
      return absl::InvalidArgumentError(kiln::StrCat("split sizes sum to ", sum, "; the axis has extent ", dim));
    }
    return *split;
  }
  if (dim < 0) return std::vector<int64_t>(n, -1);
  // Equal parts, the last one smaller when the extent does not divide (opset 18).
  const int64_t part = (dim + n - 1) / n;
  std::vector<int64_t> sizes;
  int64_t left = dim;
  for (int64_t i = 0; i < n; ++i) {
    sizes.push_back(std::min(part, left));
    left -= sizes.back();
  }
  return sizes;
}

absl::Status SplitShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const int64_t n = static_cast<int64_t>(ctx.node().outputs.size());
  if (!x.rank_known) {
    for (int64_t i = 0; i < n; ++i) ctx.set_output(i, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, static_cast<int64_t>(x.dims.size()));
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  std::optional<std::vector<int64_t>> split;
  if (ctx.has_input(1)) {
    split = ConstInts(ctx, 1);
    if (!split) {
      for (int64_t i = 0; i < n; ++i) {
        Dims d = x.dims;
        d[*axis] = -1;
        ctx.set_output(i, TensorType{x.dtype, d});
      }
      return absl::OkStatus();
    }
  }
  absl::StatusOr<std::vector<int64_t>> sizes = SplitSizes(ctx.node(), split, x.dims[*axis], n);
  if (!sizes.ok()) return ctx.Error(FromAbsl(sizes.status().message()));
  for (int64_t i = 0; i < n; ++i) {
    Dims d = x.dims;
    d[*axis] = (*sizes)[i];
    ctx.set_output(i, TensorType{x.dtype, d});
  }
  return absl::OkStatus();
}

absl::Status SplitCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  std::optional<std::vector<int64_t>> split;
  if (ctx.has_input(1)) split = ToInt64Vector(ctx.input(1));
  const int64_t n = ctx.num_outputs();
  absl::StatusOr<std::vector<int64_t>> sizes = SplitSizes(ctx.node(), split, x.dim(*axis), n);
  if (!sizes.ok()) return ctx.Error(FromAbsl(sizes.status().message()));
  const size_t es = DTypeSize(x.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= x.dim(d);
  for (int d = *axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const size_t in_row = x.dim(*axis) * inner * es;
  size_t col = 0;
  const char* src = static_cast<const char*>(x.raw_data());
  for (int64_t i = 0; i < n; ++i) {
    Dims d = x.dims();
    d[*axis] = (*sizes)[i];
    KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(static_cast<int>(i), x.dtype(), d));
    const size_t row = (*sizes)[i] * inner * es;
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t o = 0; o < outer && row > 0; ++o) std::memcpy(dst + o * row, src + o * in_row + col, row);
    col += row;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Gather.

absl::Status GatherShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& ind = ctx.input(1);
  KILN_RETURN_IF_ERROR(RequireIntTensor(ind, "indices", ctx));
  if (!x.rank_known || !ind.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, static_cast<int64_t>(x.dims.size()));
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  Dims out(x.dims.begin(), x.dims.begin() + *axis);
  out.insert(out.end(), ind.dims.begin(), ind.dims.end());
  out.insert(out.end(), x.dims.begin() + *axis + 1, x.dims.end());
  ctx.set_output(0, TensorType{x.dtype, out});
  return absl::OkStatus();
}

absl::Status GatherCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, x.rank());
  if (!axis.ok()) return ctx.Error(FromAbsl(axis.status().message()));
  Dims out(x.dims().begin(), x.dims().begin() + *axis);
  out.insert(out.end(), ind.dims().begin(), ind.dims().end());
  out.insert(out.end(), x.dims().begin() + *axis + 1, x.dims().end());
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out));
  const size_t es = DTypeSize(x.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < *axis; ++d) outer *= x.dim(d);
  for (int d = *axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t extent = x.dim(*axis), count = ind.num_elements();
  std::vector<int64_t> indices = ToInt64Vector(ind);
  for (int64_t& i : indices) {
    if (i < -extent || i >= extent) {
      return ctx.Error(kiln::StrCat("index ", i, " is out of range for axis ", *axis, " of extent ", extent));
    }
    if (i < 0) i += extent;
  }
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(y->raw_data());
  const size_t chunk = inner * es;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      std::memcpy(dst + (o * count + j) * chunk, src + (o * extent + indices[j]) * chunk, chunk);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Slice.

}  // namespace

absl::StatusOr<std::vector<SliceAxis>> SlicePlan(const Dims& in, const std::vector<int64_t>& starts,
                                                 const std::vector<int64_t>& ends,
                                                 const std::optional<std::vector<int64_t>>& axes_in,
                                                 const std::optional<std::vector<int64_t>>& steps_in) {
  const int64_t r = static_cast<int64_t>(in.size());
  if (starts.size() != ends.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("starts (", starts.size(), " values) and ends (", ends.size(),
                                                   ") must have the same length"));
  }
  std::vector<int64_t> axes, steps;
  if (axes_in) {
    axes = *axes_in;
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  steps = steps_in ? *steps_in : std::vector<int64_t>(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) {
    return absl::InvalidArgumentError("starts, ends, axes and steps must have the same length");
  }
  std::vector<SliceAxis> plan(r);
  for (int64_t d = 0; d < r; ++d) plan[d] = SliceAxis{0, 1, in[d]};
  std::set<int64_t> seen;
  for (size_t i = 0; i < axes.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], r));
    if (!seen.insert(a).second) return absl::InvalidArgumentError(kiln::StrCat("axis ", axes[i], " is repeated"));
    const int64_t dim = in[a], step = steps[i];
    if (step == 0) return absl::InvalidArgumentError("steps must not be 0");
    int64_t st = starts[i], en = ends[i];
    if (st < 0) st = st <= std::numeric_limits<int64_t>::min() + dim ? -1 - dim : st + dim;
    if (en < 0) en = en <= std::numeric_limits<int64_t>::min() + dim ? -1 - dim : en + dim;
    int64_t len;
    if (step > 0) {
      st = std::clamp<int64_t>(st, 0, dim);
      en = std::clamp<int64_t>(en, 0, dim);
      len = en > st ? (en - st - 1) / step + 1 : 0;  // No overflow for steps near INT64_MAX.
    } else {
      st = std::clamp<int64_t>(st, 0, dim - 1);
      en = std::clamp<int64_t>(en, -1, dim - 1);
      // |step| as unsigned: -INT64_MIN does not fit int64_t.
      const uint64_t magnitude = static_cast<uint64_t>(-(step + 1)) + 1;
      len = st > en ? static_cast<int64_t>(static_cast<uint64_t>(st - en - 1) / magnitude) + 1 : 0;
    }
    plan[a] = SliceAxis{st, step, len};
  }
  return plan;
}

namespace {

absl::Status SliceShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i)) KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(i), "starts, ends, axes and steps", ctx));
  }
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  std::optional<std::vector<int64_t>> starts = ConstInts(ctx, 1), ends = ConstInts(ctx, 2);
  std::optional<std::vector<int64_t>> axes = ConstInts(ctx, 3), steps = ConstInts(ctx, 4);
  bool known = starts && ends && (!ctx.has_input(3) || axes) && (!ctx.has_input(4) || steps);
  Dims out(x.dims.size(), -1);
  if (known) {
    // Unknown input extents give unknown output extents.
    Dims probe = x.dims;
    for (int64_t& d : probe) d = d < 0 ? std::numeric_limits<int32_t>::max() : d;
    absl::StatusOr<std::vector<SliceAxis>> plan = SlicePlan(probe, *starts, *ends, axes, steps);
    if (!plan.ok()) return ctx.Error(FromAbsl(plan.status().message()));
    for (size_t d = 0; d < out.size(); ++d) out[d] = x.dims[d] < 0 ? -1 : (*plan)[d].length;
  }
  ctx.set_output(0, TensorType{x.dtype, out});
  return absl::OkStatus();
}

absl::Status SliceCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::optional<std::vector<int64_t>> axes, steps;
  if (ctx.has_input(3)) axes = ToInt64Vector(ctx.input(3));
  if (ctx.has_input(4)) steps = ToInt64Vector(ctx.input(4));
  absl::StatusOr<std::vector<SliceAxis>> plan =
      SlicePlan(x.dims(), ToInt64Vector(ctx.input(1)), ToInt64Vector(ctx.input(2)), axes, steps);
  if (!plan.ok()) return ctx.Error(FromAbsl(plan.status().message()));
  Dims out;
  for (const SliceAxis& a : *plan) out.push_back(a.length);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out));
  const std::vector<int64_t> strides = Strides(x.dims());
  std::vector<std::vector<int64_t>> offsets(out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    for (int64_t o = 0; o < out[d]; ++o) offsets[d].push_back(((*plan)[d].start + o * (*plan)[d].step) * strides[d]);
  }
  OffsetMapCopy(x, y, offsets);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Pad, Expand, Tile.

// Full per-dimension pads (begin..., end...) from the pads values and optional axes.
absl::StatusOr<std::vector<int64_t>> FullPads(int64_t rank, const std::vector<int64_t>& pads,
                                              const std::optional<std::vector<int64_t>>& axes_in) {
  std::vector<int64_t> axes;
  if (axes_in) {
    for (int64_t a : *axes_in) {
      KILN_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, rank));
      axes.push_back(n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("pads has ", pads.size(), " values; expected ", 2 * axes.size()));
  }
  // A larger pad either makes a tensor over kMaxTensorElements or removes more than a dimension holds.
  for (int64_t p : pads) {
    if (p < -kMaxTensorElements || p > kMaxTensorElements) {
      return absl::InvalidArgumentError(kiln::StrCat("pads ", DimsToString(pads), " has the value ", p, ", outside [-",
                                                     kMaxTensorElements, ", ", kMaxTensorElements, "]"));
    }
  }
  std::vector<int64_t> full(2 * rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    full[axes[i]] = pads[i];
    full[axes[i] + rank] = pads[i + axes.size()];
  }
  return full;
}

absl::Status PadShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(1), "pads", ctx));
  KILN_ASSIGN_OR_RETURN(std::string mode, ctx.node().GetString("mode", "constant"));
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return ctx.Error(kiln::StrCat("mode '", mode, "' is not one of constant, reflect, edge, wrap"));
  }
  if (ctx.has_input(2) && ctx.input(2).dtype != x.dtype) {
    return ctx.Error(kiln::StrCat("constant_value must have the input's type ", DTypeName(x.dtype)));
  }
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  const int64_t r = static_cast<int64_t>(x.dims.size());
  std::optional<std::vector<int64_t>> pads = ConstInts(ctx, 1), axes = ConstInts(ctx, 3);
  if (!pads || (ctx.has_input(3) && !axes)) {
    ctx.set_output(0, TensorType{x.dtype, Dims(r, -1)});
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<int64_t>> full = FullPads(r, *pads, axes);
  if (!full.ok()) return ctx.Error(FromAbsl(full.status().message()));
  Dims out = x.dims;
  for (int64_t d = 0; d < r; ++d) {
    if (out[d] < 0) continue;
    // No overflow: FullPads bounds each pad by kMaxTensorElements.
    out[d] = SatAdd(out[d], (*full)[d] + (*full)[d + r]);
    if (out[d] < 0) return ctx.Error(kiln::StrCat("pads ", DimsToString(*pads), " remove more than dimension ", d, " holds"));
  }
  ctx.set_output(0, TensorType{x.dtype, out});
  return absl::OkStatus();
}

absl::Status PadCompute(const std::string& mode, KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t r = x.rank();
  std::optional<std::vector<int64_t>> axes;
  if (ctx.has_input(3)) axes = ToInt64Vector(ctx.input(3));
  absl::StatusOr<std::vector<int64_t>> full = FullPads(r, ToInt64Vector(ctx.input(1)), axes);
  if (!full.ok()) return ctx.Error(FromAbsl(full.status().message()));
  Dims out = x.dims();
  for (int64_t d = 0; d < r; ++d) {
    out[d] = SatAdd(out[d], (*full)[d] + (*full)[d + r]);
    if (out[d] < 0) return ctx.Error(kiln::StrCat("pads remove more than dimension ", d, " holds"));
    if (mode != "constant" && x.dim(d) == 0 && out[d] > 0) {
      return ctx.Error(kiln::StrCat("mode '", mode, "' cannot pad the empty dimension ", d));
    }
    if (mode == "reflect" && x.dim(d) == 1 && out[d] > 1) {
      return ctx.Error(kiln::StrCat("mode 'reflect' cannot pad dimension ", d, " of extent 1"));
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out));
  const std::vector<int64_t> strides = Strides(x.dims());
  std::vector<std::vector<int64_t>> offsets(r);
  for (int64_t d = 0; d < r; ++d) {
    const int64_t n = x.dim(d);
    for (int64_t o = 0; o < out[d]; ++o) {
      int64_t i = o - (*full)[d];
      if (i < 0 || i >= n) {
        if (mode == "constant") {
          offsets[d].push_back(-1);
          continue;
        }
        if (mode == "edge") {
          i = std::clamp<int64_t>(i, 0, n - 1);
        } else if (mode == "wrap") {
          i = ((i % n) + n) % n;
        } else if (n == 1) {  // reflect of one element (a shift by pads that cancel): that element.
          i = 0;
        } else {  // reflect: mirror without repeating the edge.
          const int64_t period = 2 * (n - 1);
          i = ((i % period) + period) % period;
          if (i >= n) i = period - i;
        }
      }
      offsets[d].push_back(i * strides[d]);
    }
  }
  std::vector<char> fill(DTypeSize(x.dtype()), 0);
  if (ctx.has_input(2) && ctx.input(2).num_elements() > 0) {
    std::memcpy(fill.data(), ctx.input(2).raw_data(), fill.size());
  }
  OffsetMapCopy(x, y, offsets, fill.data());
  return absl::OkStatus();
}

// Expand's shape values: non-negative (BroadcastDims reads negative values as unknown extents).
absl::Status CheckExpandShape(const std::vector<int64_t>& shape, const Node& node) {
  for (int64_t v : shape) {
    if (v < 0) {
      return absl::InvalidArgumentError(kiln::StrCat(node.op, " node '", node.name, "': shape ", DimsToString(shape),
                                                     " has a negative dimension"));
    }
  }
  return absl::OkStatus();
}

absl::Status ExpandShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(1), "the shape input", ctx));
  std::optional<std::vector<int64_t>> shape = ConstInts(ctx, 1);
  if (!shape || !x.rank_known) {
    const TensorType& s = ctx.input(1);
    if (s.rank_known && s.dims.size() == 1 && s.dims[0] >= 0 && x.rank_known) {
      ctx.set_output(0, TensorType{x.dtype, Dims(std::max<int64_t>(s.dims[0], x.dims.size()), -1)});
    } else {
      ctx.set_output(0, UnknownRank(x.dtype));
    }
    return absl::OkStatus();
  }
  KILN_RETURN_IF_ERROR(CheckExpandShape(*shape, ctx.node()));
  absl::StatusOr<Dims> out = BroadcastDims(x.dims, *shape);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  ctx.set_output(0, TensorType{x.dtype, *out});
  return absl::OkStatus();
}

// Copies `x` broadcast to `out` dims.
void BroadcastCopy(const Tensor& x, Tensor* y) {
  const Dims& out = y->dims();
  const std::vector<int64_t> strides = BroadcastStrides(x.dims(), out);
  std::vector<std::vector<int64_t>> offsets(out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    for (int64_t o = 0; o < out[d]; ++o) offsets[d].push_back(o * strides[d]);
  }
  OffsetMapCopy(x, y, offsets);
}

absl::Status ExpandCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<int64_t> shape = ToInt64Vector(ctx.input(1));
  KILN_RETURN_IF_ERROR(CheckExpandShape(shape, ctx.node()));
  absl::StatusOr<Dims> out = BroadcastDims(x.dims(), shape);
  if (!out.ok()) return ctx.Error(FromAbsl(out.status().message()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), *out));
  BroadcastCopy(x, y);
  return absl::OkStatus();
}

absl::Status TileShapeFn(InferenceContext& ctx) {
  const TensorType& x = ctx.input(0);
  KILN_RETURN_IF_ERROR(RequireIntTensor(ctx.input(1), "repeats", ctx));
  if (!x.rank_known) {
    ctx.set_output(0, UnknownRank(x.dtype));
    return absl::OkStatus();
  }
  Dims out(x.dims.size(), -1);
  if (std::optional<std::vector<int64_t>> rep = ConstInts(ctx, 1)) {
    if (rep->size() != x.dims.size()) {
      return ctx.Error(kiln::StrCat("repeats has ", rep->size(), " values; the input has rank ", x.dims.size()));
    }
    for (size_t d = 0; d < out.size(); ++d) {
      if ((*rep)[d] < 0) return ctx.Error("repeats must not be negative");
      out[d] = x.dims[d] < 0 ? -1 : SatMul(x.dims[d], (*rep)[d]);
    }
  }
  ctx.set_output(0, TensorType{x.dtype, out});
  return absl::OkStatus();
}

absl::Status TileCompute(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> rep = ToInt64Vector(ctx.input(1));
  if (static_cast<int>(rep.size()) != x.rank()) {
    return ctx.Error(kiln::StrCat("repeats has ", rep.size(), " values; the input has rank ", x.rank()));
  }
  Dims out = x.dims();
  for (size_t d = 0; d < out.size(); ++d) {
    if (rep[d] < 0) return ctx.Error("repeats must not be negative");
    out[d] = SatMul(out[d], rep[d]);
  }
  if (NumElements(out) < 0 || NumElements(out) > kMaxTensorElements) {
    return ctx.Error(kiln::StrCat("tiling ", DimsToString(x.dims()), " by ", DimsToString(rep), " gives more than ",
                                  kMaxTensorElements, " elements"));
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), out));
  const std::vector<int64_t> strides = Strides(x.dims());
  std::vector<std::vector<int64_t>> offsets(out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    for (int64_t o = 0; o < out[d]; ++o) offsets[d].push_back((o % x.dim(d)) * strides[d]);
  }
  OffsetMapCopy(x, y, offsets);
  return absl::OkStatus();
}

}  // namespace

void RegisterShapeOps(OpRegistry& registry) {
  AddOp(registry, MakeOpDef("Identity", 1, 1,
                            [](InferenceContext& ctx) {
                              ctx.set_output(0, ctx.input(0));
                              return absl::OkStatus();
                            },
                            StatelessKernel([](KernelContext& ctx) {
                              ctx.SetOutput(0, ctx.input(0));
                              return absl::OkStatus();
                            })));
  AddOp(registry, MakeOpDef("Constant", 0, 0, ConstantShapeFn,
                            [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                              KILN_ASSIGN_OR_RETURN(Tensor value, ConstantValue(kc.node));
                              return MakeFunctionKernel([value](KernelContext& ctx) {
                                ctx.SetOutput(0, value);
                                return absl::OkStatus();
                              });
                            }));
  AddOp(registry, MakeOpDef("ConstantOfShape", 1, 1, ConstantOfShapeShapeFn, StatelessKernel(ConstantOfShapeCompute)));
  AddOp(registry, MakeOpDef("Shape", 1, 1, ShapeShapeFn, StatelessKernel(ShapeCompute)));
  AddOp(registry, MakeOpDef("Size", 1, 1,
                            [](InferenceContext& ctx) {
                              TensorType t{DType::kS64, {}};
                              const TensorType& x = ctx.input(0);
                              if (x.fully_defined()) t.value = Tensor::Scalar<int64_t>(NumElements(x.dims));
                              ctx.set_output(0, std::move(t));
                              return absl::OkStatus();
                            },
                            StatelessKernel([](KernelContext& ctx) {
                              ctx.SetOutput(0, Tensor::Scalar<int64_t>(ctx.input(0).num_elements()));
                              return absl::OkStatus();
                            })));
  AddOp(registry, MakeOpDef("Reshape", 2, 2, ReshapeShapeFn, StatelessKernel(ReshapeCompute)));
  AddOp(registry, MakeOpDef("Flatten", 1, 1, FlattenShapeFn, StatelessKernel(FlattenCompute)));
  AddOp(registry, MakeOpDef("Squeeze", 1, 2, SqueezeLikeShapeFn, StatelessKernel(SqueezeLikeCompute)));
  AddOp(registry, MakeOpDef("Unsqueeze", 1, 2, SqueezeLikeShapeFn, StatelessKernel(SqueezeLikeCompute)));
  AddOp(registry, MakeOpDef("Transpose", 1, 1, TransposeShapeFn, StatelessKernel(TransposeCompute)));
  AddOp(registry, MakeOpDef("Concat", 1, -1, ConcatShapeFn, StatelessKernel(ConcatCompute)));
  AddOp(registry, MakeOpDef("Split", 1, 2, SplitShapeFn, StatelessKernel(SplitCompute), -1));
  AddOp(registry, MakeOpDef("Gather", 2, 2, GatherShapeFn, StatelessKernel(GatherCompute)));
  AddOp(registry, MakeOpDef("Slice", 3, 5, SliceShapeFn, StatelessKernel(SliceCompute)));
  AddOp(registry, MakeOpDef("Pad", 2, 4, PadShapeFn,
                            [](const KernelConstruction& kc) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                              KILN_ASSIGN_OR_RETURN(std::string mode, kc.node.GetString("mode", "constant"));
                              return MakeFunctionKernel([mode](KernelContext& ctx) { return PadCompute(mode, ctx); });
                            }));
  AddOp(registry, MakeOpDef("Expand", 2, 2, ExpandShapeFn, StatelessKernel(ExpandCompute)));
  AddOp(registry, MakeOpDef("Tile", 2, 2, TileShapeFn, StatelessKernel(TileCompute)));
}

}  // namespace kiln::kernels
