// Shape functions of elementwise ops and of ops that rearrange or resize arrays.
#include <algorithm>
#include <vector>

#include "hlo/shape_inference_internal.h"
#include "kiln/hlo/shape_inference.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

using shape_inference_internal::CheckDimsInRange;
using shape_inference_internal::CheckSameType;
using shape_inference_internal::Dims;
using shape_inference_internal::Err;
using shape_inference_internal::IsPermutation;

absl::StatusOr<Shape> InferUnaryOpShape(Opcode opcode, const Shape& operand) {
  if (!operand.IsArray()) return Err("operand must be an array");
  PrimitiveType t = operand.element_type();
  bool fp = IsFloatingPointType(t);
  switch (opcode) {
    case Opcode::kNot:
      if (!IsIntegralType(t) && t != PrimitiveType::PRED) return Err("needs an integer or pred");
      return operand;
    case Opcode::kPopulationCount:
    case Opcode::kClz:
      if (!IsIntegralType(t)) return Err("needs an integer type");
      return operand;
    case Opcode::kAbs:
    case Opcode::kNegate:
    case Opcode::kSign:
      if (!fp && !IsIntegralType(t)) return Err("needs a number type");
      return operand;
    case Opcode::kIsFinite:
      if (!fp) return Err("needs a floating-point type");
      return ShapeUtil::ChangeElementType(operand, PrimitiveType::PRED);
    case Opcode::kCopy:
      return operand;
    default:
      if (!fp) return Err("needs a floating-point type");
      return operand;
  }
}

absl::StatusOr<Shape> InferBinaryOpShape(Opcode opcode, const Shape& lhs, const Shape& rhs) {
  if (!lhs.IsArray() || !rhs.IsArray()) return Err("operands must be arrays");
  if (lhs.dimensions() != rhs.dimensions()) {
    return Err("operand dimensions differ (broadcast them first)");
  }
  KILN_RETURN_IF_ERROR(CheckSameType(lhs, rhs, "binary op"));
  PrimitiveType t = lhs.element_type();
  switch (opcode) {
    case Opcode::kCompare:
      return ShapeUtil::ChangeElementType(lhs, PrimitiveType::PRED);
    case Opcode::kAnd:
    case Opcode::kOr:
    case Opcode::kXor:
      if (!IsIntegralType(t) && t != PrimitiveType::PRED) return Err("needs an integer or pred");
      return lhs;
    case Opcode::kShiftLeft:
    case Opcode::kShiftRightArithmetic:
    case Opcode::kShiftRightLogical:
      if (!IsIntegralType(t)) return Err("needs an integer type");
      return lhs;
    case Opcode::kAtan2:
      if (!IsFloatingPointType(t)) return Err("needs a floating-point type");
      return lhs;
    case Opcode::kMaximum:
    case Opcode::kMinimum:
      return lhs;
    default:
      if (t == PrimitiveType::PRED) return Err("not defined for pred");
      return lhs;
  }
}

absl::StatusOr<Shape> InferSelectShape(const Shape& predicate, const Shape& on_true,
                                       const Shape& on_false) {
  if (predicate.element_type() != PrimitiveType::PRED) return Err("predicate must be pred");
  if (!ShapeUtil::Compatible(on_true, on_false)) return Err("branches differ in shape");
  if (!predicate.IsScalar() && predicate.dimensions() != on_true.dimensions()) {
    return Err("predicate must be a scalar or of the branches' dimensions");
  }
  return on_true;
}

absl::StatusOr<Shape> InferClampShape(const Shape& min, const Shape& operand, const Shape& max) {
  KILN_RETURN_IF_ERROR(CheckSameType(min, operand, "clamp"));
  KILN_RETURN_IF_ERROR(CheckSameType(max, operand, "clamp"));
  if ((!min.IsScalar() && min.dimensions() != operand.dimensions()) ||
      (!max.IsScalar() && max.dimensions() != operand.dimensions())) {
    return Err("min and max must be scalars or of the operand's dimensions");
  }
  return operand;
}

absl::StatusOr<Shape> InferConvertShape(const Shape& operand, PrimitiveType new_element_type) {
  if (!operand.IsArray() || !IsArrayType(new_element_type)) {
    return Err("convert needs array types");
  }
  return ShapeUtil::ChangeElementType(operand, new_element_type);
}

absl::StatusOr<Shape> InferBitcastConvertShape(const Shape& operand,
                                               PrimitiveType new_element_type) {
  int64_t from = ByteWidth(operand.element_type()), to = ByteWidth(new_element_type);
  if (from == to) return ShapeUtil::ChangeElementType(operand, new_element_type);
  std::vector<int64_t> dims = operand.dimensions();
  if (from > to) {
    if (from % to != 0) return Err("bit widths do not divide");
    dims.push_back(from / to);
  } else {
    if (to % from != 0 || dims.empty() || dims.back() != to / from) {
      return Err("the last dimension must equal the bit-width ratio ",
                 to / std::max<int64_t>(from, 1));
    }
    dims.pop_back();
  }
  return ShapeUtil::MakeShape(new_element_type, dims);
}

absl::StatusOr<Shape> InferReducePrecisionShape(const Shape& operand, int64_t exponent_bits,
                                                int64_t mantissa_bits) {
  if (!IsFloatingPointType(operand.element_type())) return Err("needs a floating-point type");
  if (exponent_bits < 1 || mantissa_bits < 0) {
    return Err("exponent_bits must be >= 1 and mantissa_bits >= 0");
  }
  return operand;
}

absl::StatusOr<Shape> InferUniformQuantizationShape(Opcode opcode, const Shape& operand,
                                                    PrimitiveType result_element_type,
                                                    const QuantizationParams& quantization) {
  bool quantize = opcode == Opcode::kUniformQuantize;
  PrimitiveType from = operand.element_type();
  if (quantize ? !IsFloatingPointType(from) || !IsIntegralType(result_element_type)
               : !IsIntegralType(from) || !IsFloatingPointType(result_element_type)) {
    return Err(quantize ? "quantizes a float to an integer storage type"
                        : "dequantizes an integer to a float type");
  }
  size_t expected = 1;
  if (quantization.quantization_dimension >= 0) {
    if (quantization.quantization_dimension >= operand.rank()) {
      return Err("quantization_dimension out of range");
    }
    expected = operand.dimensions(quantization.quantization_dimension);
  }
  if (quantization.scales.size() != expected || quantization.zero_points.size() != expected) {
    return Err("needs ", expected, " scales and zero points");
  }
  return ShapeUtil::ChangeElementType(operand, result_element_type);
}

absl::StatusOr<Shape> InferIotaShape(const Shape& declared,
                                     absl::Span<const int64_t> iota_dimensions) {
  KILN_RETURN_IF_ERROR(ShapeUtil::ValidateShape(declared));
  if (!declared.IsArray() || declared.rank() == 0) return Err("iota needs an array of rank >= 1");
  if (iota_dimensions.size() != 1 || iota_dimensions[0] < 0 ||
      iota_dimensions[0] >= declared.rank()) {
    return Err("iota_dimension out of range");
  }
  return declared;
}

absl::StatusOr<Shape> InferBroadcastInDimShape(const Shape& operand, const Shape& declared,
                                               absl::Span<const int64_t> broadcast_dimensions) {
  if (static_cast<int64_t>(broadcast_dimensions.size()) != operand.rank()) {
    return Err("broadcast dimensions ", Dims(broadcast_dimensions), " do not match operand rank ",
               operand.rank());
  }
  KILN_RETURN_IF_ERROR(CheckDimsInRange(broadcast_dimensions, declared.rank(), "broadcast"));
  for (int64_t i = 0; i < operand.rank(); ++i) {
    if (operand.dimensions(i) != declared.dimensions(broadcast_dimensions[i])) {
      return Err("operand dimension ", i, " (", operand.dimensions(i), ") != result dimension ",
                 broadcast_dimensions[i], " (", declared.dimensions(broadcast_dimensions[i]), ")");
    }
  }
  return ShapeUtil::ChangeElementType(declared, operand.element_type());
}

absl::StatusOr<Shape> InferReshapeShape(const Shape& operand, const Shape& declared) {
  if (ShapeUtil::ElementsIn(operand) != ShapeUtil::ElementsIn(declared)) {
    return Err("element count changes (", ShapeUtil::ElementsIn(operand), " vs ",
               ShapeUtil::ElementsIn(declared), ")");
  }
  return ShapeUtil::ChangeElementType(declared, operand.element_type());
}

absl::StatusOr<Shape> InferTransposeShape(const Shape& operand,
                                          absl::Span<const int64_t> permutation) {
  if (!IsPermutation(permutation, operand.rank())) {
    return Err("permutation ", Dims(permutation), " invalid for rank ", operand.rank());
  }
  std::vector<int64_t> dims;
  for (int64_t p : permutation) dims.push_back(operand.dimensions(p));
  return ShapeUtil::MakeShape(operand.element_type(), dims);
}

absl::StatusOr<Shape> InferReverseShape(const Shape& operand,
                                        absl::Span<const int64_t> dimensions) {
  KILN_RETURN_IF_ERROR(CheckDimsInRange(dimensions, operand.rank(), "reverse"));
  return operand;
}

absl::StatusOr<Shape> InferSliceShape(const Shape& operand, absl::Span<const int64_t> starts,
                                      absl::Span<const int64_t> limits,
                                      absl::Span<const int64_t> strides) {
  int64_t r = operand.rank();
  if (static_cast<int64_t>(starts.size()) != r || static_cast<int64_t>(limits.size()) != r ||
      static_cast<int64_t>(strides.size()) != r) {
    return Err("slice needs start, limit and stride for each of ", r, " dimensions");
  }
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < r; ++i) {
    int64_t s = starts[i], l = limits[i], st = strides[i];
    if (s < 0 || s > l || l > operand.dimensions(i) || st < 1) {
      return Err("slice [", s, ":", l, ":", st, "] invalid for dimension ", i, " of size ",
                 operand.dimensions(i));
    }
    const int64_t n = l - s;  // ceil(n / st) without overflow.
    dims.push_back(n / st + (n % st != 0 ? 1 : 0));
  }
  return ShapeUtil::MakeShape(operand.element_type(), dims);
}

namespace {

absl::Status CheckStartIndices(absl::Span<const Shape* const> start_indices) {
  for (const Shape* s : start_indices) {
    if (!s->IsScalar() || !IsIntegralType(s->element_type())) {
      return Err("start indices must be integer scalars");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Shape> InferDynamicSliceShape(const Shape& operand,
                                             absl::Span<const Shape* const> start_indices,
                                             absl::Span<const int64_t> slice_sizes) {
  if (static_cast<int64_t>(start_indices.size()) != operand.rank()) {
    return Err("needs one start index per dimension");
  }
  KILN_RETURN_IF_ERROR(CheckStartIndices(start_indices));
  if (static_cast<int64_t>(slice_sizes.size()) != operand.rank()) {
    return Err("slice sizes must have one entry per dimension");
  }
  for (int64_t i = 0; i < operand.rank(); ++i) {
    if (slice_sizes[i] < 0 || slice_sizes[i] > operand.dimensions(i)) {
      return Err("slice size ", slice_sizes[i], " out of range for dimension ", i);
    }
  }
  return ShapeUtil::MakeShape(operand.element_type(), slice_sizes);
}

absl::StatusOr<Shape> InferDynamicUpdateSliceShape(const Shape& operand, const Shape& update,
                                                   absl::Span<const Shape* const> start_indices) {
  if (static_cast<int64_t>(start_indices.size()) != operand.rank()) {
    return Err("needs one start index per dimension");
  }
  KILN_RETURN_IF_ERROR(CheckSameType(operand, update, "dynamic-update-slice"));
  if (update.rank() != operand.rank()) return Err("update rank differs from operand rank");
  for (int64_t i = 0; i < operand.rank(); ++i) {
    if (update.dimensions(i) > operand.dimensions(i)) return Err("update larger than operand");
  }
  KILN_RETURN_IF_ERROR(CheckStartIndices(start_indices));
  return operand;
}

absl::StatusOr<Shape> InferConcatenateShape(absl::Span<const Shape* const> operands,
                                            absl::Span<const int64_t> dimensions) {
  if (operands.empty()) return Err("needs at least one operand");
  if (dimensions.size() != 1) return Err("needs one dimension");
  int64_t dim = dimensions[0];
  const Shape& first = *operands[0];
  if (dim < 0 || dim >= first.rank()) return Err("dimension ", dim, " out of range");
  std::vector<int64_t> dims = first.dimensions();
  for (size_t k = 1; k < operands.size(); ++k) {
    const Shape& other = *operands[k];
    KILN_RETURN_IF_ERROR(CheckSameType(first, other, "concatenate"));
    if (other.rank() != first.rank()) return Err("operand ranks differ");
    for (int64_t i = 0; i < first.rank(); ++i) {
      if (i != dim && other.dimensions(i) != first.dimensions(i)) {
        return Err("operands differ in non-concatenated dimension ", i);
      }
    }
    if (__builtin_add_overflow(dims[dim], other.dimensions(dim), &dims[dim])) {
      return Err("concatenated dimension overflows 64 bits");
    }
  }
  return ShapeUtil::MakeShape(first.element_type(), dims);
}

absl::StatusOr<Shape> InferPadShape(const Shape& operand, const Shape& padding_value,
                                    const PaddingConfig& padding_config) {
  KILN_RETURN_IF_ERROR(CheckSameType(operand, padding_value, "pad"));
  if (!padding_value.IsScalar()) return Err("padding value must be a scalar");
  if (static_cast<int64_t>(padding_config.size()) != operand.rank()) {
    return Err("padding config has ", padding_config.size(), " dimensions, operand rank is ",
               operand.rank());
  }
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < operand.rank(); ++i) {
    const PaddingDimension& p = padding_config[i];
    if (p.interior_padding < 0) return Err("interior padding must be >= 0");
    int64_t d = operand.dimensions(i);
    int64_t interior = 0, size = 0;
    if (__builtin_mul_overflow(std::max<int64_t>(d - 1, 0), p.interior_padding, &interior) ||
        __builtin_add_overflow(p.edge_padding_low, p.edge_padding_high, &size) ||
        __builtin_add_overflow(size, d, &size) || __builtin_add_overflow(size, interior, &size)) {
      return Err("padding of dimension ", i, " overflows 64 bits");
    }
    if (size < 0) return Err("padding makes dimension ", i, " negative (", size, ")");
    dims.push_back(size);
  }
  return ShapeUtil::MakeShape(operand.element_type(), dims);
}

absl::StatusOr<Shape> InferTupleShape(absl::Span<const Shape* const> elements) {
  std::vector<Shape> shapes;
  for (const Shape* s : elements) shapes.push_back(*s);
  return ShapeUtil::MakeTupleShape(std::move(shapes));
}

absl::StatusOr<Shape> InferGetTupleElementShape(const Shape& tuple, int64_t index) {
  if (!tuple.IsTuple()) return Err("operand is not a tuple");
  if (index < 0 || index >= tuple.tuple_shapes_size()) {
    return Err("index ", index, " out of range for ", tuple.ToString(false));
  }
  return tuple.tuple_shapes(index);
}

absl::StatusOr<Shape> InferRngBitGeneratorShape(const Shape& state, const Shape& declared) {
  if (!declared.IsTuple() || declared.tuple_shapes_size() != 2 ||
      !ShapeUtil::Compatible(declared.tuple_shapes(0), state)) {
    return Err("result must be (state, bits) with the state's shape first");
  }
  PrimitiveType t = declared.tuple_shapes(1).element_type();
  if (!IsUnsignedIntegralType(t) && !IsSignedIntegralType(t)) {
    return Err("bits must be an integer type");
  }
  return declared;
}

}  // namespace kiln::hlo
