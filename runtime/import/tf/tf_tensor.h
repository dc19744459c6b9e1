// Conversions between TensorFlow's DataType / TensorProto and Kiln's dtypes and tensors (private to
// the TensorFlow and TensorFlow.js importers).
#ifndef KILN_RUNTIME_IMPORT_TF_TF_TENSOR_H_
#define KILN_RUNTIME_IMPORT_TF_TF_TENSOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/tensor/tensor.h"
#include "tensorflow_graph.pb.h"

namespace kiln::tf_import {

// Shapes over kMaxTensorElements (tensor.h) are treated as corrupt. The largest tensor filled from fewer values than elements (TensorFlow lets one value stand for
// all): 2^24.
inline constexpr int64_t kMaxFilledElements = int64_t{1} << 24;

// The Kiln dtype of a TensorFlow DataType; Unimplemented, naming the type, for types Kiln has no
// dtype for (double, string, complex, resource, 16-bit and unsigned 32/64-bit integers).
absl::StatusOr<DType> DTypeFromTf(int tf_type);
// "DT_FLOAT", ... or "N (not a TensorFlow DataType)"; callers write "element type " before it.
std::string TfTypeName(int tf_type);
// The TensorFlow DataType of a Kiln dtype (DT_INVALID for none).
tf::DataType TfTypeFromDType(DType dtype);

// Dims of a TensorShapeProto (-1 for unknown extents); `rank_known` false for unknown_rank.
absl::StatusOr<Dims> DimsFromTf(const tf::TensorShapeProto& shape, bool* rank_known, std::string_view what);

// Converts a TensorProto (tensor_content, or the typed value fields where a single value fills the
// tensor). Errors start with `what`: content whose size does not match the shape, absurd shapes,
// unsupported element types (Unimplemented).
absl::StatusOr<Tensor> TensorFromTf(const tf::TensorProto& proto, std::string_view what);

// Fills `proto` with dtype, shape and tensor_content. For tests and writers.
void TensorToTf(const Tensor& tensor, tf::TensorProto* proto);

}  // namespace kiln::tf_import

#endif  // KILN_RUNTIME_IMPORT_TF_TF_TENSOR_H_
