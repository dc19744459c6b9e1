// Shape functions of dot, convolution, gather and batch normalization.
#include <vector>

#include "hlo/shape_inference_internal.h"
#include "kiln/hlo/shape_inference.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

using shape_inference_internal::CheckDimsInRange;
using shape_inference_internal::CheckSameType;
using shape_inference_internal::CheckWindow;
using shape_inference_internal::Contains;
using shape_inference_internal::Err;
using shape_inference_internal::IsPermutation;
using shape_inference_internal::WindowOutputSize;

absl::StatusOr<Shape> InferDotShape(const Shape& lhs, const Shape& rhs,
                                    const DotDimensionNumbers& dimension_numbers,
                                    std::optional<PrimitiveType> result_element_type) {
  if (!result_element_type) KILN_RETURN_IF_ERROR(CheckSameType(lhs, rhs, "dot"));
  const DotDimensionNumbers& d = dimension_numbers;
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
                 d.lhs_contracting_dimensions[i], " (",
                 lhs.dimensions(d.lhs_contracting_dimensions[i]), ") vs rhs dimension ",
                 d.rhs_contracting_dimensions[i], " (",
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
  return ShapeUtil::MakeShape(result_element_type.value_or(lhs.element_type()), dims);
}

namespace {

// Ranks and dimension numbers of a convolution with `ns` spatial dimensions agree.
absl::Status CheckConvolutionDimensionNumbers(const Shape& lhs, const Shape& rhs,
                                              const ConvolutionDimensionNumbers& d, int64_t ns) {
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
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Shape> InferConvolveShape(const Shape& lhs, const Shape& rhs,
                                         int64_t feature_group_count, int64_t batch_group_count,
                                         const Window& window,
                                         const ConvolutionDimensionNumbers& dimension_numbers,
                                         std::optional<PrimitiveType> result_element_type) {
  if (!result_element_type) KILN_RETURN_IF_ERROR(CheckSameType(lhs, rhs, "convolution"));
  const ConvolutionDimensionNumbers& d = dimension_numbers;
  int64_t ns = static_cast<int64_t>(d.input_spatial_dimensions.size());
  KILN_RETURN_IF_ERROR(CheckConvolutionDimensionNumbers(lhs, rhs, d, ns));
  KILN_RETURN_IF_ERROR(CheckWindow(window, ns));
  int64_t fgc = feature_group_count, bgc = batch_group_count;
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
    if (rhs.dimensions(d.kernel_spatial_dimensions[i]) != window.dimensions[i].size) {
      return Err("window size ", window.dimensions[i].size, " differs from kernel spatial size ",
                 rhs.dimensions(d.kernel_spatial_dimensions[i]));
    }
  }
  std::vector<int64_t> dims(ns + 2);
  dims[d.output_batch_dimension] = batch / bgc;
  dims[d.output_feature_dimension] = k_out;
  for (int64_t i = 0; i < ns; ++i) {
    KILN_ASSIGN_OR_RETURN(
        dims[d.output_spatial_dimensions[i]],
        WindowOutputSize(lhs.dimensions(d.input_spatial_dimensions[i]), window.dimensions[i]));
  }
  return ShapeUtil::MakeShape(result_element_type.value_or(lhs.element_type()), dims);
}

absl::StatusOr<Shape> InferGatherShape(const Shape& operand, const Shape& start_indices,
                                       const GatherDimensionNumbers& dimension_numbers,
                                       absl::Span<const int64_t> slice_sizes) {
  const GatherDimensionNumbers& g = dimension_numbers;
  const Shape& indices = start_indices;
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
  KILN_RETURN_IF_ERROR(
      CheckDimsInRange(g.collapsed_slice_dims, operand.rank(), "collapsed_slice_dims"));
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

namespace {

// The rule all three batch-norm ops share: a floating-point operand, per-feature vectors, and for
// the gradient the output gradient (the fifth operand) shaped like the operand.
absl::StatusOr<Shape> InferBatchNorm(Opcode opcode, absl::Span<const Shape* const> operands,
                                     int64_t feature_index) {
  const Shape& x = *operands[0];
  if (!IsFloatingPointType(x.element_type())) return Err("needs a floating-point operand");
  int64_t f = feature_index;
  if (f < 0 || f >= x.rank()) return Err("feature_index ", f, " out of range");
  Shape vec = ShapeUtil::MakeShape(x.element_type(), {x.dimensions(f)});
  for (size_t i = 1; i < operands.size(); ++i) {
    const Shape& s = *operands[i];
    bool full = opcode == Opcode::kBatchNormGrad && i == 4;
    if (!ShapeUtil::Compatible(s, full ? x : vec)) {
      return Err("operand ", i, " must be ", full ? x.ToString(false) : vec.ToString(false));
    }
  }
  if (opcode == Opcode::kBatchNormInference) return x;
  return ShapeUtil::MakeTupleShape({x, vec, vec});
}

}  // namespace

absl::StatusOr<Shape> InferBatchNormInferenceShape(const Shape& operand, const Shape& scale,
                                                   const Shape& offset, const Shape& mean,
                                                   const Shape& variance, int64_t feature_index) {
  return InferBatchNorm(Opcode::kBatchNormInference, {&operand, &scale, &offset, &mean, &variance},
                        feature_index);
}

absl::StatusOr<Shape> InferBatchNormTrainingShape(const Shape& operand, const Shape& scale,
                                                  const Shape& offset, int64_t feature_index) {
  return InferBatchNorm(Opcode::kBatchNormTraining, {&operand, &scale, &offset}, feature_index);
}

absl::StatusOr<Shape> InferBatchNormGradShape(const Shape& operand, const Shape& scale,
                                              const Shape& mean, const Shape& variance,
                                              const Shape& output_grad, int64_t feature_index) {
  return InferBatchNorm(Opcode::kBatchNormGrad, {&operand, &scale, &mean, &variance, &output_grad},
                        feature_index);
}

}  // namespace kiln::hlo
