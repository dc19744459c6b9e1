// TensorProto <-> Tensor for the TensorFlow importers.
#include "runtime/import/tf/tf_tensor.h"

#include <algorithm>
#include <cstring>

#include "kiln/support/strings.h"
#include "kiln/support/status.h"

namespace kiln::tf_import {

absl::StatusOr<DType> DTypeFromTf(int tf_type) {
  switch (tf_type) {
    case tf::DT_FLOAT: return DType::kF32;
    case tf::DT_HALF: return DType::kF16;
    case tf::DT_BFLOAT16: return DType::kBF16;
    case tf::DT_INT8: return DType::kS8;
    case tf::DT_UINT8: return DType::kU8;
    case tf::DT_INT32: return DType::kS32;
    case tf::DT_INT64: return DType::kS64;
    case tf::DT_BOOL: return DType::kBool;
    default: break;
  }
  return absl::UnimplementedError(kiln::StrCat("element type ", TfTypeName(tf_type), " is not supported by Kiln"));
}

std::string TfTypeName(int tf_type) {
  if (tf::DataType_IsValid(tf_type)) return tf::DataType_Name(static_cast<tf::DataType>(tf_type));
  return kiln::StrCat(tf_type, " (not a TensorFlow DataType)");
}

tf::DataType TfTypeFromDType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return tf::DT_FLOAT;
    case DType::kF16: return tf::DT_HALF;
    case DType::kBF16: return tf::DT_BFLOAT16;
    case DType::kS8: return tf::DT_INT8;
    case DType::kU8: return tf::DT_UINT8;
    case DType::kS32: return tf::DT_INT32;
    case DType::kS64: return tf::DT_INT64;
    case DType::kBool: return tf::DT_BOOL;
    default: break;
  }
  return tf::DT_INVALID;
}

absl::StatusOr<Dims> DimsFromTf(const tf::TensorShapeProto& shape, bool* rank_known, std::string_view what) {
  Dims dims;
  *rank_known = !shape.unknown_rank();
  if (!*rank_known) return dims;
  for (const tf::TensorShapeProto::Dim& d : shape.dim()) {
    if (d.size() < -1) {
      return absl::InvalidArgumentError(kiln::StrCat(what, " has an invalid dimension ", d.size()));
    }
    dims.push_back(d.size());
  }
  return dims;
}

namespace {

// Fills `n` elements of `out` from `count` values read by `get` (a single value fills all).
template <typename T, typename Get>
absl::Status FillFromValues(int count, int64_t n, Get get, T* out, std::string_view what) {
  if (count == 0) return absl::OkStatus();  // All zeros.
  if (count != 1 && count != n) {
    return absl::InvalidArgumentError(
        kiln::StrCat(what, " holds ", count, " values but its shape has ", n, " elements"));
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(get(count == 1 ? 0 : static_cast<int>(i)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tensor> TensorFromTf(const tf::TensorProto& proto, std::string_view what) {
  absl::StatusOr<DType> dtype = DTypeFromTf(proto.dtype());
  if (!dtype.ok()) return Annotate(dtype.status(), what);
  bool rank_known = true;
  KILN_ASSIGN_OR_RETURN(Dims dims, DimsFromTf(proto.tensor_shape(), &rank_known, what));
  for (int64_t d : dims) {
    if (d < 0 || !rank_known) {
      return absl::InvalidArgumentError(kiln::StrCat(what, " has a shape with unknown dimensions"));
    }
  }
  const int64_t n = NumElements(dims);
  if (n < 0 || n > kMaxTensorElements) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " has an absurd shape ", DimsToString(dims)));
  }
  const size_t bytes = static_cast<size_t>(n) * DTypeSize(*dtype);
  if (!proto.tensor_content().empty() && proto.tensor_content().size() != bytes) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " has ", proto.tensor_content().size(),
                                                   " bytes of content; ", DTypeName(*dtype), DimsToString(dims),
                                                   " needs ", bytes));
  }
  // A single typed value fills the whole tensor; refuse fills far larger than any real constant.
  if (proto.tensor_content().empty() && n > kMaxFilledElements) {
    const int count = std::max({proto.float_val_size(), proto.int_val_size(), proto.int64_val_size(),
                                proto.bool_val_size(), proto.half_val_size()});
    if (count < n) {
      return absl::InvalidArgumentError(kiln::StrCat(what, " fills ", n, " elements from ", count,
                                                     " values; Kiln accepts at most ", kMaxFilledElements));
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(*dtype, dims));
  if (!proto.tensor_content().empty()) {
    std::memcpy(t.raw_data(), proto.tensor_content().data(), t.byte_size());
    return t;
  }
  switch (*dtype) {
    case DType::kF32:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.float_val_size(), n, [&](int i) { return proto.float_val(i); },
                                     t.data<float>(), what));
      break;
    case DType::kF16:
    case DType::kBF16:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.half_val_size(), n,
                                     [&](int i) { return static_cast<uint16_t>(proto.half_val(i)); },
                                     t.data<uint16_t>(), what));
      break;
    case DType::kS8:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.int_val_size(), n, [&](int i) { return proto.int_val(i); },
                                     t.data<int8_t>(), what));
      break;
    case DType::kU8:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.int_val_size(), n, [&](int i) { return proto.int_val(i); },
                                     t.data<uint8_t>(), what));
      break;
    case DType::kS32:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.int_val_size(), n, [&](int i) { return proto.int_val(i); },
                                     t.data<int32_t>(), what));
      break;
    case DType::kS64:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.int64_val_size(), n, [&](int i) { return proto.int64_val(i); },
                                     t.data<int64_t>(), what));
      break;
    case DType::kBool:
      KILN_RETURN_IF_ERROR(FillFromValues(proto.bool_val_size(), n, [&](int i) { return proto.bool_val(i); },
                                     t.data<bool>(), what));
      break;
    default:
      return absl::UnimplementedError(kiln::StrCat(what, ": element type ", DTypeName(*dtype), " is not supported"));
  }
  return t;
}

void TensorToTf(const Tensor& tensor, tf::TensorProto* proto) {
  proto->set_dtype(TfTypeFromDType(tensor.dtype()));
  proto->mutable_tensor_shape()->clear_dim();
  for (int64_t d : tensor.dims()) proto->mutable_tensor_shape()->add_dim()->set_size(d);
  proto->set_tensor_content(std::string(static_cast<const char*>(tensor.raw_data()), tensor.byte_size()));
}

}  // namespace kiln::tf_import
