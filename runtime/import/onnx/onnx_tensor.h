// Conversions between ONNX TensorProtos and Kiln tensors (private to the ONNX importer).
#ifndef KILN_RUNTIME_IMPORT_ONNX_ONNX_TENSOR_H_
#define KILN_RUNTIME_IMPORT_ONNX_ONNX_TENSOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/tensor/tensor.h"
#include "onnx.pb.h"

namespace kiln::onnx_import {

// Declared shapes over kMaxTensorElements (tensor.h) are treated as corrupt input rather than attempted.

// The Kiln dtype of an ONNX TensorProto.DataType. Unimplemented, naming the ONNX type, for element
// types Kiln has no dtype for (double, string, 16-bit integers, unsigned 32/64-bit, float8, ...).
absl::StatusOr<DType> DTypeFromOnnx(int32_t onnx_type);

// The ONNX TensorProto.DataType name of `onnx_type` ("FLOAT", "DOUBLE", ...), or "N (not an ONNX data
// type)"; callers write "element type " before it.
std::string OnnxTypeName(int32_t onnx_type);

// The ONNX TensorProto.DataType that corresponds to a Kiln dtype.
int32_t OnnxTypeFromDType(DType dtype);

// Checks declared dims: each non-negative, and the element count at most kMaxTensorElements.
// Returns the element count. `what` names the tensor in the message.
absl::StatusOr<int64_t> CheckedElementCount(const Dims& dims, std::string_view what);

// Converts a TensorProto with its data inline (raw_data or the typed field of its type) or in an
// external file (data_location EXTERNAL; external_data keys 'location', 'offset', 'length').
// `model_dir` is the folder of the model file: `location` is relative to it and must stay inside
// it (ResolvePathInside in kiln/support/read_file.h), and the bytes [offset, offset + length) must
// lie within that regular file. Without a `model_dir` (a model imported from bytes), external data
// is FailedPrecondition. Other errors (InvalidArgument unless stated): data whose size does not
// match dims x dtype; absurd dims; a segmented tensor; an unsupported element type
// (Unimplemented); a missing or unreadable external file (the file reader's code).
// Messages start with `what` (for example "initializer 'conv1/w'").
absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto, std::string_view what,
                                       const std::optional<std::string>& model_dir = std::nullopt);

// Fills `proto` (dims, data_type, raw_data) from `tensor`. For tests and model writers.
void TensorToProto(const Tensor& tensor, onnx::TensorProto* proto);

}  // namespace kiln::onnx_import

#endif  // KILN_RUNTIME_IMPORT_ONNX_ONNX_TENSOR_H_
