#include "kiln/hlo/shape_inference.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/hlo/computation.h"
#include "hlo/str_util.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

absl::Status Err(auto&&... parts) {
  return absl::InvalidArgumentError(internal::Cat(parts...));
}

std::string Dims(absl::Span<const int64_t> d) { return absl::StrCat("{", absl::StrJoin(d, ","), "}"); }

bool IsPermutation(absl::Span<const int64_t> p, int64_t rank) {
  if (static_cast<int64_t>(p.size()) != rank) return false;
  std::vector<bool> seen(rank, false);
  for (int64_t x : p) {
    if (x < 0 || x >= rank || seen[x]) return false;
    seen[x] = true;
  }
  return true;
}

bool Contains(absl::Span<const int64_t> v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

absl::Status CheckDimsInRange(absl::Span<const int64_t> dims, int64_t rank, std::string_view what) {
  std::vector<bool> seen(rank, false);
  for (int64_t d : dims) {
    if (d < 0 || d >= rank) return Err(what, " dimension ", d, " out of range for rank ", rank);
    if (seen[d]) return Err(what, " dimension ", d, " repeated");
    seen[d] = true;
  }
  return absl::OkStatus();
}

// Size of one windowed output dimension (the window passed CheckWindow); an error when it does
// not fit in 64 bits. Computed in 128 bits: at most two 64-bit values multiply.
absl::StatusOr<int64_t> WindowOutputSize(int64_t base, const WindowDimension& w) {
  __int128 dilated_base = base == 0 ? 0 : static_cast<__int128>(base - 1) * w.base_dilation + 1;
  __int128 padded = dilated_base + w.padding_low + w.padding_high;
  __int128 dilated_window = static_cast<__int128>(w.size - 1) * w.window_dilation + 1;
  if (padded < dilated_window) return 0;
  __int128 size = (padded - dilated_window) / w.stride + 1;
  if (size > std::numeric_limits<int64_t>::max()) {
    return absl::InvalidArgumentError("window output size overflows 64 bits");
  }
  return static_cast<int64_t>(size);
}

absl::Status CheckWindow(const Window& window, int64_t rank) {
  if (static_cast<int64_t>(window.dimensions.size()) != rank) {
    return Err("window has ", window.dimensions.size(), " dimensions, operand rank is ", rank);
  }
  for (const WindowDimension& w : window.dimensions) {
    if (w.size < 0 || w.stride < 1 || w.window_dilation < 1 || w.base_dilation < 1) {
      return Err("window sizes must be >= 0 and strides/dilations >= 1");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSameType(const Shape& a, const Shape& b, std::string_view what) {
  if (a.element_type() != b.element_type()) {
    return Err(what, ": element types differ (", PrimitiveTypeName(a.element_type()), " vs ",
               PrimitiveTypeName(b.element_type()), ")");
  }
  return absl::OkStatus();
}

// Computation with `n` scalar parameters returning `results` scalars (tuple when > 1).
absl::Status CheckScalarComputation(const Computation* c, int64_t n, int64_t results,
                                    std::string_view what) {
  if (c == nullptr) return Err(what, ": missing computation");
  if (c->num_parameters() != n) {
    return Err(what, ": computation %", c->name(), " takes ", c->num_parameters(),
               " parameters, expected ", n);
  }
  const Shape& r = c->root_instruction()->shape();
  if (results == 1 ? !r.IsScalar() : (!r.IsTuple() || r.tuple_shapes_size() != results)) {
    return Err(what, ": computation %", c->name(), " returns ", r.ToString(false), ", expected ",
               results, " scalar(s)");
  }
  return absl::OkStatus();
}

absl::StatusOr<Shape> InferUnary(Opcode op, const Shape& s) {
  PrimitiveType t = s.element_type();
  bool fp = IsFloatingPointType(t);
  switch (op) {
    case Opcode::kNot:
      if (!IsIntegralType(t) && t != PrimitiveType::PRED) return Err("needs an integer or pred");
      return s;
    case Opcode::kPopulationCount:
    case Opcode::kClz:
      if (!IsIntegralType(t)) return Err("needs an integer type");
      return s;
    case Opcode::kAbs:
    case Opcode::kNegate:
    case Opcode::kSign:
      if (!fp && !IsIntegralType(t)) return Err("needs a number type");
      return s;
    case Opcode::kIsFinite:
      if (!fp) return Err("needs a floating-point type");
      return ShapeUtil::ChangeElementType(s, PrimitiveType::PRED);
    case Opcode::kCopy:
      return s;
    default:
      if (!fp) return Err("needs a floating-point type");
      return s;
  }
}

absl::StatusOr<Shape> InferBinary(Opcode op, const Shape& a, const Shape& b) {
  if (!a.IsArray() || !b.IsArray()) return Err("operands must be arrays");
  if (a.dimensions() != b.dimensions()) {
    return Err("operand dimensions differ (broadcast them first)");
  }
  KILN_RETURN_IF_ERROR(CheckSameType(a, b, "binary op"));
  PrimitiveType t = a.element_type();
  switch (op) {
    case Opcode::kCompare:
      return ShapeUtil::ChangeElementType(a, PrimitiveType::PRED);
    case Opcode::kAnd:
    case Opcode::kOr:
    case Opcode::kXor:
      if (!IsIntegralType(t) && t != PrimitiveType::PRED) return Err("needs an integer or pred");
      return a;
    case Opcode::kShiftLeft:
    case Opcode::kShiftRightArithmetic:
    case Opcode::kShiftRightLogical:
      if (!IsIntegralType(t)) return Err("needs an integer type");
      return a;
    case Opcode::kAtan2:
      if (!IsFloatingPointType(t)) return Err("needs a floating-point type");
      return a;
    case Opcode::kMaximum:
    case Opcode::kMinimum:
      return a;
    default:
      if (t == PrimitiveType::PRED) return Err("not defined for pred");
      return a;
  }
}

absl::StatusOr<Shape> InferDot(const Shape& lhs, const Shape& rhs, const DotDimensionNumbers& d,
                               PrimitiveType result_type) {
  if (d.lhs_batch_dimensions.size() != d.rhs_batch_dimensions.size()) {
    return Err("lhs and rhs batch dimension counts differ");
  }
  if (d.lhs_contracting_dimensions.size() != d.rhs_contracting_dimensions.size()) {
    return Err("lhs and rhs contracting dimension counts differ");
  }
  std::vector<int64_t> lhs_used = d.lhs_batch_dimensions, rhs_used = d.rhs_batch_dimensions;
  lhs_used.insert(lhs_used.end(), d.lhs_contracting_dimensions.begin(),
                  d.lhs_contracting_dimensions.end());
  rhs_used.insert(rhs_used.end(), d.rhs_contracting_dimensions.begin(),
                  d.rhs_contracting_dimensions.end());
  KILN_RETURN_IF_ERROR(CheckDimsInRange(lhs_used, lhs.rank(), "lhs batch/contracting"));
  KILN_RETURN_IF_ERROR(CheckDimsInRange(rhs_used, rhs.rank(), "rhs batch/contracting"));
  for (size_t i = 0; i < d.lhs_batch_dimensions.size(); ++i) {
    if (lhs.dimensions(d.lhs_batch_dimensions[i]) != rhs.dimensions(d.rhs_batch_dimensions[i])) {
      return Err("batch dimension sizes differ: lhs ", d.lhs_batch_dimensions[i], " vs rhs ",
                 d.rhs_batch_dimensions[i]);
    }
  }
  for (size_t i = 0; i < d.lhs_contracting_dimensions.size(); ++i) {
    if (lhs.dimensions(d.lhs_contracting_dimensions[i]) !=
        rhs.dimensions(d.rhs_contracting_dimensions[i])) {
      return Err("contracting dimension sizes differ: lhs dimension ",
                 d.lhs_contracting_dimensions[i], " (", lhs.dimensions(d.lhs_contracting_dimensions[i]),
                 ") vs rhs dimension ", d.rhs_contracting_dimensions[i], " (",
                 rhs.dimensions(d.rhs_contracting_dimensions[i]), ")");
    }
  }
  std::vector<int64_t> dims;
  for (int64_t b : d.lhs_batch_dimensions) dims.push_back(lhs.dimensions(b));
  for (int64_t i = 0; i < lhs.rank(); ++i) {
    if (!Contains(lhs_used, i)) dims.push_back(lhs.dimensions(i));
  }
  for (int64_t i = 0; i < rhs.rank(); ++i) {
    if (!Contains(rhs_used, i)) dims.push_back(rhs.dimensions(i));
  }
  return ShapeUtil::MakeShape(result_type, dims);
}

absl::StatusOr<Shape> InferConvolution(const Shape& lhs, const Shape& rhs, const Instruction& c,
                                       PrimitiveType result_type) {
  const ConvolutionDimensionNumbers& d = c.convolution_dimension_numbers();
  int64_t ns = static_cast<int64_t>(d.input_spatial_dimensions.size());
  if (lhs.rank() != ns + 2 || rhs.rank() != ns + 2) {
    return Err("input and kernel must have rank ", ns + 2, " (2 + spatial dimensions)");
  }
  if (static_cast<int64_t>(d.kernel_spatial_dimensions.size()) != ns ||
      static_cast<int64_t>(d.output_spatial_dimensions.size()) != ns) {
    return Err("dimension numbers have inconsistent spatial dimension counts");
  }
  std::vector<int64_t> in = d.input_spatial_dimensions, k = d.kernel_spatial_dimensions,
                       out = d.output_spatial_dimensions;
  in.push_back(d.input_batch_dimension);
  in.push_back(d.input_feature_dimension);
  k.push_back(d.kernel_input_feature_dimension);
  k.push_back(d.kernel_output_feature_dimension);
  out.push_back(d.output_batch_dimension);
  out.push_back(d.output_feature_dimension);
  if (!IsPermutation(in, ns + 2) || !IsPermutation(k, ns + 2) || !IsPermutation(out, ns + 2)) {
    return Err("convolution dimension numbers are not permutations");
  }
  KILN_RETURN_IF_ERROR(CheckWindow(c.window(), ns));
  int64_t fgc = c.feature_group_count(), bgc = c.batch_group_count();
  if (fgc < 1 || bgc < 1) return Err("group counts must be >= 1");
  if (fgc > 1 && bgc > 1) return Err("feature_group_count and batch_group_count both > 1");
  int64_t batch = lhs.dimensions(d.input_batch_dimension);
  int64_t in_features = lhs.dimensions(d.input_feature_dimension);
  int64_t k_in = rhs.dimensions(d.kernel_input_feature_dimension);
  int64_t k_out = rhs.dimensions(d.kernel_output_feature_dimension);
  int64_t grouped_k_in = 0;
  if (__builtin_mul_overflow(k_in, fgc, &grouped_k_in) || in_features != grouped_k_in) {
    return Err("input features (", in_features, ") != kernel input features (", k_in,
               ") * feature_group_count (", fgc, ")");
  }
  if (k_out % fgc != 0) {
    return Err("kernel output features (", k_out, ") not divisible by feature_group_count (", fgc,
               ")");
  }
  if (batch % bgc != 0 || k_out % bgc != 0) {
    return Err("batch (", batch, ") and kernel output features (", k_out,
               ") must be divisible by batch_group_count (", bgc, ")");
  }
  for (int64_t i = 0; i < ns; ++i) {
    if (rhs.dimensions(d.kernel_spatial_dimensions[i]) != c.window().dimensions[i].size) {
      return Err("window size ", c.window().dimensions[i].size, " differs from kernel spatial size ",
                 rhs.dimensions(d.kernel_spatial_dimensions[i]));
    }
  }
  std::vector<int64_t> dims(ns + 2);
  dims[d.output_batch_dimension] = batch / bgc;
  dims[d.output_feature_dimension] = k_out;
  for (int64_t i = 0; i < ns; ++i) {
    KILN_ASSIGN_OR_RETURN(
        dims[d.output_spatial_dimensions[i]],
        WindowOutputSize(lhs.dimensions(d.input_spatial_dimensions[i]), c.window().dimensions[i]));
  }
  return ShapeUtil::MakeShape(result_type, dims);
}

absl::StatusOr<Shape> InferGather(const Shape& operand, const Shape& indices,
                                  const Instruction& instr) {
  const GatherDimensionNumbers& g = instr.gather_dimension_numbers();
  const std::vector<int64_t>& slice_sizes = instr.slice_sizes();
  if (!IsIntegralType(indices.element_type())) return Err("start indices must be integers");
  if (static_cast<int64_t>(slice_sizes.size()) != operand.rank()) {
    return Err("slice_sizes has ", slice_sizes.size(), " entries, operand rank is ",
               operand.rank());
  }
  if (g.index_vector_dim < 0 || g.index_vector_dim > indices.rank()) {
    return Err("index_vector_dim ", g.index_vector_dim, " out of range");
  }
  std::vector<int64_t> idx_dims = indices.dimensions();
  if (g.index_vector_dim == indices.rank()) idx_dims.push_back(1);
  int64_t index_vector_size = idx_dims[g.index_vector_dim];
  if (index_vector_size != static_cast<int64_t>(g.start_index_map.size())) {
    return Err("index vector size ", index_vector_size, " != start_index_map size ",
               g.start_index_map.size());
  }
  KILN_RETURN_IF_ERROR(CheckDimsInRange(g.start_index_map, operand.rank(), "start_index_map"));
  KILN_RETURN_IF_ERROR(CheckDimsInRange(g.collapsed_slice_dims, operand.rank(), "collapsed_slice_dims"));
  for (int64_t i = 0; i < operand.rank(); ++i) {
    if (slice_sizes[i] < 0 || slice_sizes[i] > operand.dimensions(i)) {
      return Err("slice size ", slice_sizes[i], " out of range for dimension ", i);
    }
  }
  for (int64_t c : g.collapsed_slice_dims) {
    if (slice_sizes[c] > 1) return Err("collapsed slice dimension ", c, " has size > 1");
  }
  std::vector<int64_t> offset_sizes;
  for (int64_t i = 0; i < operand.rank(); ++i) {
    if (!Contains(g.collapsed_slice_dims, i) && !Contains(g.operand_batching_dims, i)) {
      offset_sizes.push_back(slice_sizes[i]);
    }
  }
  if (offset_sizes.size() != g.offset_dims.size()) {
    return Err("offset_dims has ", g.offset_dims.size(), " entries, expected ",
               offset_sizes.size());
  }
  std::vector<int64_t> batch_sizes;
  for (int64_t i = 0; i < static_cast<int64_t>(idx_dims.size()); ++i) {
    if (i != g.index_vector_dim) batch_sizes.push_back(idx_dims[i]);
  }
  int64_t out_rank = static_cast<int64_t>(batch_sizes.size() + offset_sizes.size());
  KILN_RETURN_IF_ERROR(CheckDimsInRange(g.offset_dims, out_rank, "offset_dims"));
  std::vector<int64_t> dims(out_rank);
  size_t oi = 0, bi = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    dims[i] = Contains(g.offset_dims, i) ? offset_sizes[oi++] : batch_sizes[bi++];
  }
  return ShapeUtil::MakeShape(operand.element_type(), dims);
}

absl::StatusOr<Shape> InferShapeImpl(const Instruction& instr) {
  std::vector<const Shape*> ops;
  for (const Instruction* op : instr.operands()) ops.push_back(&op->shape());
  const Shape& given = instr.shape();
  Opcode opcode = instr.opcode();
  if (std::optional<int> arity = OpcodeArity(opcode); arity && *arity != instr.operand_count()) {
    return Err("expects ", *arity, " operands, got ", instr.operand_count());
  }
  if (IsElementwiseUnary(opcode)) {
    if (!ops[0]->IsArray()) return Err("operand must be an array");
    return InferUnary(opcode, *ops[0]);
  }
  if (IsElementwiseBinary(opcode)) return InferBinary(opcode, *ops[0], *ops[1]);

  switch (opcode) {
    case Opcode::kParameter:
    case Opcode::kCustomCall:
      KILN_RETURN_IF_ERROR(ShapeUtil::ValidateShape(given));
      return given;
    case Opcode::kConstant:
      return instr.literal().shape();
    case Opcode::kIota: {
      KILN_RETURN_IF_ERROR(ShapeUtil::ValidateShape(given));
      if (!given.IsArray() || given.rank() == 0) return Err("iota needs an array of rank >= 1");
      if (instr.dimensions().size() != 1 || instr.dimensions(0) < 0 ||
          instr.dimensions(0) >= given.rank()) {
        return Err("iota_dimension out of range");
      }
      return given;
    }
    case Opcode::kSelect: {
      const Shape &p = *ops[0], &t = *ops[1], &f = *ops[2];
      if (p.element_type() != PrimitiveType::PRED) return Err("predicate must be pred");
      if (!ShapeUtil::Compatible(t, f)) return Err("branches differ in shape");
      if (!p.IsScalar() && p.dimensions() != t.dimensions()) {
        return Err("predicate must be a scalar or of the branches' dimensions");
      }
      return t;
    }
    case Opcode::kClamp: {
      const Shape &lo = *ops[0], &x = *ops[1], &hi = *ops[2];
      KILN_RETURN_IF_ERROR(CheckSameType(lo, x, "clamp"));
      KILN_RETURN_IF_ERROR(CheckSameType(hi, x, "clamp"));
      if ((!lo.IsScalar() && lo.dimensions() != x.dimensions()) ||
          (!hi.IsScalar() && hi.dimensions() != x.dimensions())) {
        return Err("min and max must be scalars or of the operand's dimensions");
      }
      return x;
    }
    case Opcode::kBroadcast: {
      const Shape& o = *ops[0];
      if (static_cast<int64_t>(instr.dimensions().size()) != o.rank()) {
        return Err("broadcast dimensions ", Dims(instr.dimensions()), " do not match operand rank ",
                   o.rank());
      }
      KILN_RETURN_IF_ERROR(CheckDimsInRange(instr.dimensions(), given.rank(), "broadcast"));
      for (int64_t i = 0; i < o.rank(); ++i) {
        if (o.dimensions(i) != given.dimensions(instr.dimensions(i))) {
          return Err("operand dimension ", i, " (", o.dimensions(i), ") != result dimension ",
                     instr.dimensions(i), " (", given.dimensions(instr.dimensions(i)), ")");
        }
      }
      return ShapeUtil::ChangeElementType(given, o.element_type());
    }
    case Opcode::kReshape:
    case Opcode::kBitcast: {
      if (ShapeUtil::ElementsIn(*ops[0]) != ShapeUtil::ElementsIn(given)) {
        return Err("element count changes (", ShapeUtil::ElementsIn(*ops[0]), " vs ",
                   ShapeUtil::ElementsIn(given), ")");
      }
      return ShapeUtil::ChangeElementType(given, ops[0]->element_type());
    }
    case Opcode::kTranspose: {
      const Shape& o = *ops[0];
      if (!IsPermutation(instr.dimensions(), o.rank())) {
        return Err("permutation ", Dims(instr.dimensions()), " invalid for rank ", o.rank());
      }
      std::vector<int64_t> dims;
      for (int64_t p : instr.dimensions()) dims.push_back(o.dimensions(p));
      return ShapeUtil::MakeShape(o.element_type(), dims);
    }
    case Opcode::kSlice: {
      const Shape& o = *ops[0];
      int64_t r = o.rank();
      if (static_cast<int64_t>(instr.slice_starts().size()) != r ||
          static_cast<int64_t>(instr.slice_limits().size()) != r ||
          static_cast<int64_t>(instr.slice_strides().size()) != r) {
        return Err("slice needs start, limit and stride for each of ", r, " dimensions");
      }
      std::vector<int64_t> dims;
      for (int64_t i = 0; i < r; ++i) {
        int64_t s = instr.slice_starts()[i], l = instr.slice_limits()[i],
                st = instr.slice_strides()[i];
        if (s < 0 || s > l || l > o.dimensions(i) || st < 1) {
          return Err("slice [", s, ":", l, ":", st, "] invalid for dimension ", i, " of size ",
                     o.dimensions(i));
        }
        const int64_t n = l - s;  // ceil(n / st) without overflow.
        dims.push_back(n / st + (n % st != 0 ? 1 : 0));
      }
      return ShapeUtil::MakeShape(o.element_type(), dims);
    }
    case Opcode::kDynamicSlice: {
      if (ops.empty()) return Err("needs an operand and start indices");
      const Shape& o = *ops[0];
      if (instr.operand_count() != o.rank() + 1) return Err("needs one start index per dimension");
      for (int64_t i = 1; i < instr.operand_count(); ++i) {
        if (!ops[i]->IsScalar() || !IsIntegralType(ops[i]->element_type())) {
          return Err("start indices must be integer scalars");
        }
      }
      if (static_cast<int64_t>(instr.slice_sizes().size()) != o.rank()) {
        return Err("slice sizes must have one entry per dimension");
      }
      for (int64_t i = 0; i < o.rank(); ++i) {
        if (instr.slice_sizes()[i] < 0 || instr.slice_sizes()[i] > o.dimensions(i)) {
          return Err("slice size ", instr.slice_sizes()[i], " out of range for dimension ", i);
        }
      }
      return ShapeUtil::MakeShape(o.element_type(), instr.slice_sizes());
    }
    case Opcode::kDynamicUpdateSlice: {
      if (ops.size() < 2) return Err("needs an operand, an update and start indices");
      const Shape &o = *ops[0], &u = *ops[1];
      if (instr.operand_count() != o.rank() + 2) return Err("needs one start index per dimension");
      KILN_RETURN_IF_ERROR(CheckSameType(o, u, "dynamic-update-slice"));
      if (u.rank() != o.rank()) return Err("update rank differs from operand rank");
      for (int64_t i = 0; i < o.rank(); ++i) {
        if (u.dimensions(i) > o.dimensions(i)) return Err("update larger than operand");
      }
      for (int64_t i = 2; i < instr.operand_count(); ++i) {
        if (!ops[i]->IsScalar() || !IsIntegralType(ops[i]->element_type())) {
          return Err("start indices must be integer scalars");
        }
      }
      return o;
    }
    case Opcode::kConcatenate: {
      if (ops.empty()) return Err("needs at least one operand");
      if (instr.dimensions().size() != 1) return Err("needs one dimension");
      int64_t dim = instr.dimensions(0);
      const Shape& first = *ops[0];
      if (dim < 0 || dim >= first.rank()) return Err("dimension ", dim, " out of range");
      std::vector<int64_t> dims = first.dimensions();
      for (size_t k = 1; k < ops.size(); ++k) {
        KILN_RETURN_IF_ERROR(CheckSameType(first, *ops[k], "concatenate"));
        if (ops[k]->rank() != first.rank()) return Err("operand ranks differ");
        for (int64_t i = 0; i < first.rank(); ++i) {
          if (i != dim && ops[k]->dimensions(i) != first.dimensions(i)) {
            return Err("operands differ in non-concatenated dimension ", i);
          }
        }
        if (__builtin_add_overflow(dims[dim], ops[k]->dimensions(dim), &dims[dim])) {
          return Err("concatenated dimension overflows 64 bits");
        }
      }
      return ShapeUtil::MakeShape(first.element_type(), dims);
    }
    case Opcode::kPad: {
      const Shape &o = *ops[0], &v = *ops[1];
      KILN_RETURN_IF_ERROR(CheckSameType(o, v, "pad"));
      if (!v.IsScalar()) return Err("padding value must be a scalar");
      if (static_cast<int64_t>(instr.padding_config().size()) != o.rank()) {
        return Err("padding config has ", instr.padding_config().size(),
                   " dimensions, operand rank is ", o.rank());
      }
      std::vector<int64_t> dims;
      for (int64_t i = 0; i < o.rank(); ++i) {
        const PaddingDimension& p = instr.padding_config()[i];
        if (p.interior_padding < 0) return Err("interior padding must be >= 0");
        int64_t d = o.dimensions(i);
        int64_t interior = 0, size = 0;
        if (__builtin_mul_overflow(std::max<int64_t>(d - 1, 0), p.interior_padding, &interior) ||
            __builtin_add_overflow(p.edge_padding_low, p.edge_padding_high, &size) ||
            __builtin_add_overflow(size, d, &size) || __builtin_add_overflow(size, interior, &size)) {
          return Err("padding of dimension ", i, " overflows 64 bits");
        }
        if (size < 0) return Err("padding makes dimension ", i, " negative (", size, ")");
        dims.push_back(size);
      }
      return ShapeUtil::MakeShape(o.element_type(), dims);
    }
    case Opcode::kReverse:
      KILN_RETURN_IF_ERROR(CheckDimsInRange(instr.dimensions(), ops[0]->rank(), "reverse"));
      return *ops[0];
    case Opcode::kConvert:
      if (!ops[0]->IsArray() || !given.IsArray()) return Err("convert needs array types");
      return ShapeUtil::ChangeElementType(*ops[0], given.element_type());
    case Opcode::kBitcastConvert: {
      const Shape& o = *ops[0];
      int64_t from = ByteWidth(o.element_type()), to = ByteWidth(given.element_type());
      if (from == to) return ShapeUtil::ChangeElementType(o, given.element_type());
      std::vector<int64_t> dims = o.dimensions();
      if (from > to) {
        if (from % to != 0) return Err("bit widths do not divide");
        dims.push_back(from / to);
      } else {
        if (to % from != 0 || dims.empty() || dims.back() != to / from) {
          return Err("the last dimension must equal the bit-width ratio ", to / std::max<int64_t>(from, 1));
        }
        dims.pop_back();
      }
      return ShapeUtil::MakeShape(given.element_type(), dims);
    }
    case Opcode::kReducePrecision:
      if (!IsFloatingPointType(ops[0]->element_type())) return Err("needs a floating-point type");
      if (instr.exponent_bits() < 1 || instr.mantissa_bits() < 0) {
        return Err("exponent_bits must be >= 1 and mantissa_bits >= 0");
      }
      return *ops[0];
    case Opcode::kDot: {
      PrimitiveType rt = given.valid() ? given.element_type() : ops[0]->element_type();
      if (!given.valid()) KILN_RETURN_IF_ERROR(CheckSameType(*ops[0], *ops[1], "dot"));
      return InferDot(*ops[0], *ops[1], instr.dot_dimension_numbers(), rt);
    }
    case Opcode::kConvolution: {
      PrimitiveType rt = given.valid() ? given.element_type() : ops[0]->element_type();
      if (!given.valid()) KILN_RETURN_IF_ERROR(CheckSameType(*ops[0], *ops[1], "convolution"));
      return InferConvolution(*ops[0], *ops[1], instr, rt);
    }
    case Opcode::kReduce: {
      int64_t n = instr.operand_count() / 2;
      if (instr.operand_count() % 2 != 0 || n == 0) return Err("needs N operands and N inits");
      if (instr.called_computations().size() != 1) return Err("needs to_apply");
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.to_apply(), 2 * n, n, "reduce"));
      const Shape& first = *ops[0];
      KILN_RETURN_IF_ERROR(CheckDimsInRange(instr.dimensions(), first.rank(), "reduce"));
      std::vector<Shape> results;
      for (int64_t k = 0; k < n; ++k) {
        if (ops[k]->dimensions() != first.dimensions()) return Err("operand dimensions differ");
        if (!ops[n + k]->IsScalar()) return Err("init values must be scalars");
        std::vector<int64_t> dims;
        for (int64_t i = 0; i < first.rank(); ++i) {
          if (!Contains(instr.dimensions(), i)) dims.push_back(first.dimensions(i));
        }
        results.push_back(ShapeUtil::MakeShape(ops[n + k]->element_type(), dims));
      }
      if (n == 1) return results[0];
      return ShapeUtil::MakeTupleShape(std::move(results));
    }
    case Opcode::kReduceWindow: {
      int64_t n = instr.operand_count() / 2;
      if (instr.operand_count() % 2 != 0 || n == 0) return Err("needs N operands and N inits");
      if (instr.called_computations().size() != 1) return Err("needs to_apply");
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.to_apply(), 2 * n, n, "reduce-window"));
      const Shape& first = *ops[0];
      KILN_RETURN_IF_ERROR(CheckWindow(instr.window(), first.rank()));
      std::vector<int64_t> dims;
      for (int64_t i = 0; i < first.rank(); ++i) {
        KILN_ASSIGN_OR_RETURN(int64_t size,
                         WindowOutputSize(first.dimensions(i), instr.window().dimensions[i]));
        dims.push_back(size);
      }
      std::vector<Shape> results;
      for (int64_t k = 0; k < n; ++k) {
        if (ops[k]->dimensions() != first.dimensions()) return Err("operand dimensions differ");
        if (!ops[n + k]->IsScalar()) return Err("init values must be scalars");
        results.push_back(ShapeUtil::MakeShape(ops[n + k]->element_type(), dims));
      }
      if (n == 1) return results[0];
      return ShapeUtil::MakeTupleShape(std::move(results));
    }
    case Opcode::kSelectAndScatter: {
      const Shape &o = *ops[0], &src = *ops[1], &init = *ops[2];
      if (instr.called_computations().size() != 2) return Err("needs select and scatter");
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.called_computations()[0], 2, 1, "select"));
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.called_computations()[1], 2, 1, "scatter"));
      KILN_RETURN_IF_ERROR(CheckWindow(instr.window(), o.rank()));
      if (!init.IsScalar()) return Err("init value must be a scalar");
      std::vector<int64_t> dims;
      for (int64_t i = 0; i < o.rank(); ++i) {
        KILN_ASSIGN_OR_RETURN(int64_t size,
                         WindowOutputSize(o.dimensions(i), instr.window().dimensions[i]));
        dims.push_back(size);
      }
      if (src.dimensions() != dims) {
        return Err("source dimensions ", Dims(src.dimensions()), " differ from the window output ",
                   Dims(dims));
      }
      return ShapeUtil::ChangeElementType(o, init.element_type());
    }
    case Opcode::kGather:
      return InferGather(*ops[0], *ops[1], instr);
    case Opcode::kScatter: {
      int64_t n = (instr.operand_count() - 1) / 2;
      if (instr.operand_count() < 3 || (instr.operand_count() - 1) % 2 != 0) {
        return Err("needs N operands, indices and N updates");
      }
      if (instr.called_computations().size() != 1) return Err("needs to_apply");
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.to_apply(), 2 * n, n, "scatter"));
      if (!IsIntegralType(ops[n]->element_type())) return Err("scatter indices must be integers");
      std::vector<Shape> results;
      for (int64_t k = 0; k < n; ++k) results.push_back(*ops[k]);
      if (n == 1) return results[0];
      return ShapeUtil::MakeTupleShape(std::move(results));
    }
    case Opcode::kSort: {
      if (ops.empty()) return Err("needs operands");
      if (instr.called_computations().size() != 1) return Err("needs a comparator");
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.to_apply(), 2 * ops.size(), 1, "sort"));
      if (instr.to_apply()->root_instruction()->shape().element_type() != PrimitiveType::PRED) {
        return Err("comparator must return pred");
      }
      if (instr.dimensions().size() != 1 || instr.dimensions(0) < 0 ||
          instr.dimensions(0) >= std::max<int64_t>(ops[0]->rank(), 1)) {
        return Err("sort dimension out of range");
      }
      std::vector<Shape> results;
      for (const Shape* s : ops) {
        if (s->dimensions() != ops[0]->dimensions()) return Err("operand dimensions differ");
        results.push_back(*s);
      }
      if (results.size() == 1) return results[0];
      return ShapeUtil::MakeTupleShape(std::move(results));
    }
    case Opcode::kMap: {
      if (ops.empty()) return Err("needs operands");
      if (instr.called_computations().size() != 1) return Err("needs to_apply");
      KILN_RETURN_IF_ERROR(CheckScalarComputation(instr.to_apply(), ops.size(), 1, "map"));
      for (const Shape* s : ops) {
        if (s->dimensions() != ops[0]->dimensions()) return Err("operand dimensions differ");
      }
      return ShapeUtil::MakeShape(instr.to_apply()->root_instruction()->shape().element_type(),
                                  ops[0]->dimensions());
    }
    case Opcode::kCall:
    case Opcode::kFusion: {
      if (instr.called_computations().size() != 1) return Err("needs to_apply");
      const Computation* c = instr.to_apply();
      if (c->num_parameters() != instr.operand_count()) return Err("argument count mismatch");
      for (int64_t i = 0; i < c->num_parameters(); ++i) {
        if (!ShapeUtil::Compatible(c->parameter_instruction(i)->shape(), *ops[i])) {
          return Err("argument ", i, " shape differs from the callee's parameter");
        }
      }
      return c->root_instruction()->shape();
    }
    case Opcode::kWhile: {
      if (instr.called_computations().size() != 2) return Err("needs condition and body");
      const Computation *cond = instr.called_computations()[0], *body = instr.called_computations()[1];
      if (cond->num_parameters() != 1 || body->num_parameters() != 1) {
        return Err("condition and body take one parameter");
      }
      if (!ShapeUtil::Compatible(cond->parameter_instruction(0)->shape(), *ops[0]) ||
          !ShapeUtil::Compatible(body->parameter_instruction(0)->shape(), *ops[0]) ||
          !ShapeUtil::Compatible(body->root_instruction()->shape(), *ops[0])) {
        return Err("init, condition parameter, body parameter and body result must agree");
      }
      const Shape& cr = cond->root_instruction()->shape();
      if (!cr.IsScalar() || cr.element_type() != PrimitiveType::PRED) {
        return Err("condition must return pred[]");
      }
      return *ops[0];
    }
    case Opcode::kConditional: {
      const auto& branches = instr.called_computations();
      if (branches.empty() || instr.operand_count() != static_cast<int64_t>(branches.size()) + 1) {
        return Err("needs a branch index and one operand per branch");
      }
      const Shape& idx = *ops[0];
      if (!idx.IsScalar() ||
          (idx.element_type() != PrimitiveType::S32 && idx.element_type() != PrimitiveType::PRED)) {
        return Err("branch index must be s32[] or pred[]");
      }
      if (idx.element_type() == PrimitiveType::PRED && branches.size() != 2) {
        return Err("a pred branch index needs two branches");
      }
      const Shape& result = branches[0]->root_instruction()->shape();
      for (size_t b = 0; b < branches.size(); ++b) {
        if (branches[b]->num_parameters() != 1 ||
            !ShapeUtil::Compatible(branches[b]->parameter_instruction(0)->shape(), *ops[b + 1])) {
          return Err("branch ", b, " parameter differs from its operand");
        }
        if (!ShapeUtil::Compatible(branches[b]->root_instruction()->shape(), result)) {
          return Err("branch results differ");
        }
      }
      return result;
    }
    case Opcode::kTuple: {
      std::vector<Shape> elements;
      for (const Shape* s : ops) elements.push_back(*s);
      return ShapeUtil::MakeTupleShape(std::move(elements));
    }
    case Opcode::kGetTupleElement: {
      const Shape& t = *ops[0];
      if (!t.IsTuple()) return Err("operand is not a tuple");
      if (instr.tuple_index() < 0 || instr.tuple_index() >= t.tuple_shapes_size()) {
        return Err("index ", instr.tuple_index(), " out of range for ", t.ToString(false));
      }
      return t.tuple_shapes(instr.tuple_index());
    }
    case Opcode::kRngBitGenerator: {
      if (!given.IsTuple() || given.tuple_shapes_size() != 2 ||
          !ShapeUtil::Compatible(given.tuple_shapes(0), *ops[0])) {
        return Err("result must be (state, bits) with the state's shape first");
      }
      PrimitiveType t = given.tuple_shapes(1).element_type();
      if (!IsUnsignedIntegralType(t) && !IsSignedIntegralType(t)) {
        return Err("bits must be an integer type");
      }
      return given;
    }
    case Opcode::kBatchNormInference:
    case Opcode::kBatchNormTraining:
    case Opcode::kBatchNormGrad: {
      const Shape& x = *ops[0];
      if (!IsFloatingPointType(x.element_type())) return Err("needs a floating-point operand");
      int64_t f = instr.feature_index();
      if (f < 0 || f >= x.rank()) return Err("feature_index ", f, " out of range");
      Shape vec = ShapeUtil::MakeShape(x.element_type(), {x.dimensions(f)});
      for (size_t i = 1; i < ops.size(); ++i) {
        const Shape& s = *ops[i];
        bool full = opcode == Opcode::kBatchNormGrad && i == 4;
        if (!ShapeUtil::Compatible(s, full ? x : vec)) {
          return Err("operand ", i, " must be ", full ? x.ToString(false) : vec.ToString(false));
        }
      }
      if (opcode == Opcode::kBatchNormInference) return x;
      return ShapeUtil::MakeTupleShape({x, vec, vec});
    }
    case Opcode::kUniformQuantize:
    case Opcode::kUniformDequantize: {
      const Shape& x = *ops[0];
      const QuantizationParams& q = instr.quantization();
      bool quantize = opcode == Opcode::kUniformQuantize;
      if (quantize ? !IsFloatingPointType(x.element_type()) || !IsIntegralType(given.element_type())
                   : !IsIntegralType(x.element_type()) || !IsFloatingPointType(given.element_type())) {
        return Err(quantize ? "quantizes a float to an integer storage type"
                            : "dequantizes an integer to a float type");
      }
      size_t expected = 1;
      if (q.quantization_dimension >= 0) {
        if (q.quantization_dimension >= x.rank()) return Err("quantization_dimension out of range");
        expected = x.dimensions(q.quantization_dimension);
      }
      if (q.scales.size() != expected || q.zero_points.size() != expected) {
        return Err("needs ", expected, " scales and zero points");
      }
      return ShapeUtil::ChangeElementType(x, given.element_type());
    }
    default:
      return Err("no shape rule for ", OpcodeString(opcode));
  }
}

}  // namespace

absl::StatusOr<Shape> InferShape(const Instruction& instruction) {
  for (const Instruction* op : instruction.operands()) {
    if (op == nullptr) return Err("null operand");
  }
  return InferShapeImpl(instruction);
}

absl::StatusOr<Shape> InferBroadcastShape(const Shape& a, const Shape& b,
                                          absl::Span<const int64_t> broadcast_dimensions) {
  if (!a.IsArray() || !b.IsArray()) return Err("operands must be arrays");
  if (a.IsScalar()) return ShapeUtil::ChangeElementType(b, a.element_type());
  if (b.IsScalar()) return a;
  if (a.rank() == b.rank()) {
    if (!broadcast_dimensions.empty()) {
      bool identity = static_cast<int64_t>(broadcast_dimensions.size()) == a.rank();
      for (int64_t i = 0; identity && i < a.rank(); ++i) identity = broadcast_dimensions[i] == i;
      if (!identity) {
        return Err("broadcast_dimensions ", Dims(broadcast_dimensions),
                   " given for operands of equal rank");
      }
    }
    std::vector<int64_t> dims(a.rank());
    for (int64_t i = 0; i < a.rank(); ++i) {
      int64_t x = a.dimensions(i), y = b.dimensions(i);
      if (x == y || y == 1) {
        dims[i] = x;
      } else if (x == 1) {
        dims[i] = y;
      } else {
        return Err("dimension ", i, " differs (", x, " vs ", y,
                   ") and neither is 1 (degenerate)");
      }
    }
    return ShapeUtil::MakeShape(a.element_type(), dims);
  }
  const Shape& big = a.rank() > b.rank() ? a : b;
  const Shape& small = a.rank() > b.rank() ? b : a;
  if (static_cast<int64_t>(broadcast_dimensions.size()) != small.rank()) {
    return Err("operands of ranks ", a.rank(), " and ", b.rank(),
               " need broadcast_dimensions with one entry per dimension of the lower-rank operand "
               "(got ", Dims(broadcast_dimensions), ")");
  }
  std::vector<int64_t> dims = big.dimensions();
  for (int64_t i = 0; i < small.rank(); ++i) {
    int64_t d = broadcast_dimensions[i];
    if (d < 0 || d >= big.rank()) return Err("broadcast dimension ", d, " out of range");
    if (i > 0 && d <= broadcast_dimensions[i - 1]) {
      return Err("broadcast_dimensions must be strictly increasing");
    }
    int64_t x = small.dimensions(i), y = big.dimensions(d);
    if (x == y || x == 1) continue;
    if (y == 1) {
      dims[d] = x;
      continue;
    }
    return Err("dimension ", i, " (", x, ") of the lower-rank operand does not match dimension ",
               d, " (", y, ")");
  }
  return ShapeUtil::MakeShape(a.element_type(), dims);
}

}  // namespace kiln::hlo
