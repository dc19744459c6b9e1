#include "runtime/import/onnx/onnx_tensor.h"

#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include "absl/strings/numbers.h"
#include "kiln/support/strings.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"

namespace kiln::onnx_import {
namespace {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; the importer copies it as is");

using onnx::TensorProto;

// Copies typed-field values into the tensor's storage, converting each to T.
template <typename T, typename Field>
void CopyTyped(const Field& field, Tensor* tensor) {
  T* out = tensor->data<T>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

// int32_data holds f16 and bf16 as their 16-bit patterns.
template <typename T>
void CopyBits16(const google::protobuf::RepeatedField<int32_t>& field, Tensor* tensor) {
  T* out = tensor->data<T>();
  for (int i = 0; i < field.size(); ++i) out[i].bits = static_cast<uint16_t>(field.Get(i));
}

// The bytes of a tensor stored outside the model: `expected` bytes at the offset its external_data
// names, from the file it names beside the model.
absl::StatusOr<std::string> ReadExternalData(const TensorProto& proto, std::string_view what,
                                             const std::optional<std::string>& model_dir, int64_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto& entry : proto.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      int64_t value;
      if (!absl::SimpleAtoi(entry.value(), &value) || value < 0) {
        return absl::InvalidArgumentError(kiln::StrCat(what, ": external data ", entry.key(), " '", entry.value(),
                                                       "' is not a non-negative integer"));
      }
      (entry.key() == "offset" ? offset : length) = value;
    }
    // 'checksum' (an optional SHA-1 of the data) is not verified; other keys carry no meaning.
  }
  if (location.empty()) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " stores its data externally but names no location"));
  }
  if (!model_dir.has_value()) {
    return absl::FailedPreconditionError(kiln::StrCat(
        what, " stores its data in the external file '", location,
        "', which is read only when the model is imported from its file (ImportOnnxFile, kiln run MODEL.onnx), "
        "not from bytes"));
  }
  const std::string file = kiln::StrCat("external data file '", location, "'");
  if (length >= 0 && length != expected) {
    return absl::InvalidArgumentError(kiln::StrCat(what, ": ", file, " holds ", length, " bytes (its 'length'), but ",
                                                   "the tensor's dims and type need ", expected));
  }
  absl::StatusOr<std::string> path = ResolvePathInside(*model_dir, location, "external data file");
  if (!path.ok()) return Annotate(path.status(), what);
  if (length < 0) {
    // No length: the data runs to the end of the file.
    KILN_RETURN_IF_ERROR(Annotate(CheckRegularFile(*path, "external data file"), what));
    std::error_code ec;
    const int64_t size = static_cast<int64_t>(std::filesystem::file_size(*path, ec));
    if (ec) return absl::DataLossError(kiln::StrCat(what, ": ", file, " cannot be read: ", ec.message()));
    if (offset > size || size - offset != expected) {
      return absl::InvalidArgumentError(kiln::StrCat(
          what, ": ", file, " is ", size, " bytes, so it holds ", offset > size ? 0 : size - offset,
          " bytes from offset ", offset, " to its end, but the tensor's dims and type need ", expected));
    }
  }
  absl::StatusOr<std::string> bytes = ReadRegularFile(
      *path, "external data file", {.max_bytes = expected, .offset = offset, .length = expected});
  if (!bytes.ok()) return Annotate(bytes.status(), what);
  return bytes;
}

}  // namespace

absl::StatusOr<DType> DTypeFromOnnx(int32_t onnx_type) {
  switch (onnx_type) {
    case TensorProto::FLOAT: return DType::kF32;
    case TensorProto::FLOAT16: return DType::kF16;
    case TensorProto::BFLOAT16: return DType::kBF16;
    case TensorProto::INT8: return DType::kS8;
    case TensorProto::UINT8: return DType::kU8;
    case TensorProto::INT32: return DType::kS32;
    case TensorProto::INT64: return DType::kS64;
    case TensorProto::BOOL: return DType::kBool;
    case TensorProto::DOUBLE: return DType::kF64;
    case TensorProto::INT16: return DType::kS16;
    case TensorProto::UINT16: return DType::kU16;
    case TensorProto::UINT32: return DType::kU32;
    case TensorProto::UINT64: return DType::kU64;
    default: break;
  }
  return absl::UnimplementedError(kiln::StrCat(
      "element type ", OnnxTypeName(onnx_type),
      " is not supported (Kiln supports float, double, float16, bfloat16, int8, int16, int32, int64, uint8, "
      "uint16, uint32, uint64 and bool); convert the model's tensors to one of these"));
}

std::string OnnxTypeName(int32_t onnx_type) {
  if (TensorProto::DataType_IsValid(onnx_type)) {
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(onnx_type));
  }
  return kiln::StrCat(onnx_type, " (not an ONNX data type)");
}

int32_t OnnxTypeFromDType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return TensorProto::FLOAT;
    case DType::kF16: return TensorProto::FLOAT16;
    case DType::kBF16: return TensorProto::BFLOAT16;
    case DType::kS8: return TensorProto::INT8;
    case DType::kU8: return TensorProto::UINT8;
    case DType::kS32: return TensorProto::INT32;
    case DType::kS64: return TensorProto::INT64;
    case DType::kBool: return TensorProto::BOOL;
    case DType::kF64: return TensorProto::DOUBLE;
    case DType::kS16: return TensorProto::INT16;
    case DType::kU16: return TensorProto::UINT16;
    case DType::kU32: return TensorProto::UINT32;
    case DType::kU64: return TensorProto::UINT64;
    case DType::kInvalid: break;
  }
  return TensorProto::UNDEFINED;
}

absl::StatusOr<int64_t> CheckedElementCount(const Dims& dims, std::string_view what) {
  int64_t count = 1;
  bool overflow = false;
  for (int64_t d : dims) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          kiln::StrCat(what, " has a negative dimension in ", DimsToString(dims)));
    }
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / d) {
      overflow = true;
      count = std::numeric_limits<int64_t>::max();
    } else {
      count *= d;
    }
  }
  // A zero dimension makes the tensor empty whatever the other dims are.
  for (int64_t d : dims) {
    if (d == 0) return 0;
  }
  if (overflow || count > kMaxTensorElements) {
    return absl::InvalidArgumentError(kiln::StrCat(
        what, " declares dims ", DimsToString(dims), ", more than the ", kMaxTensorElements,
        " elements Kiln accepts for one tensor; the model file is probably corrupt"));
  }
  return count;
}

absl::StatusOr<Tensor> TensorFromProto(const TensorProto& proto, std::string_view what,
                                       const std::optional<std::string>& model_dir) {
  const bool external = proto.data_location() == TensorProto::EXTERNAL;
  if (!external && proto.external_data_size() > 0) {
    return absl::InvalidArgumentError(
        kiln::StrCat(what, " has external_data entries, but its data_location is not EXTERNAL"));
  }
  if (proto.has_segment()) {
    return absl::UnimplementedError(
        kiln::StrCat(what, " is a segment of a larger tensor; segmented tensors are not "
                           "supported"));
  }
  absl::StatusOr<DType> dtype = DTypeFromOnnx(proto.data_type());
  if (!dtype.ok()) return Annotate(dtype.status(), what);
  Dims dims(proto.dims().begin(), proto.dims().end());
  KILN_ASSIGN_OR_RETURN(int64_t count, CheckedElementCount(dims, what));
  const size_t elem_size = DTypeSize(*dtype);

  // Find where the data is and check its size before allocating anything.
  int typed_count = 0;
  const char* typed_field = "";
  switch (proto.data_type()) {
    case TensorProto::FLOAT:
      typed_count = proto.float_data_size();
      typed_field = "float_data";
      break;
    case TensorProto::INT64:
      typed_count = proto.int64_data_size();
      typed_field = "int64_data";
      break;
    case TensorProto::DOUBLE:
      typed_count = proto.double_data_size();
      typed_field = "double_data";
      break;
    case TensorProto::UINT32:
    case TensorProto::UINT64:
      typed_count = proto.uint64_data_size();
      typed_field = "uint64_data";
      break;
    default:
      typed_count = proto.int32_data_size();
      typed_field = "int32_data";
      break;
  }
  std::string external_bytes;
  if (external) {
    if (proto.has_raw_data() || typed_count > 0) {
      return absl::InvalidArgumentError(kiln::StrCat(what, " stores its data both externally and in the model"));
    }
    KILN_ASSIGN_OR_RETURN(external_bytes, ReadExternalData(proto, what, model_dir, count * static_cast<int64_t>(elem_size)));
  }
  const bool raw = external || proto.has_raw_data();
  const std::string_view raw_data = external ? std::string_view(external_bytes) : std::string_view(proto.raw_data());
  if (raw) {
    const size_t expected = static_cast<size_t>(count) * elem_size;
    if (raw_data.size() != expected) {
      return absl::InvalidArgumentError(kiln::StrCat(
          what, " has ", raw_data.size(), " bytes of raw_data, but its dims ",
          DimsToString(dims), " and type ", OnnxTypeName(proto.data_type()), " need ", expected,
          " bytes"));
    }
  } else if (typed_count != count) {
    return absl::InvalidArgumentError(kiln::StrCat(
        what, " has ", typed_count, " values in ", typed_field, ", but its dims ",
        DimsToString(dims), " hold ", count, " elements"));
  }

  // Raw bytes (checked above to be exactly the tensor's size) overwrite every byte: no zero-fill.
  KILN_ASSIGN_OR_RETURN(Tensor tensor, raw ? Tensor::CreateUninitialized(*dtype, dims) : Tensor::Create(*dtype, dims));
  if (count == 0) return tensor;
  if (raw) {
    std::memcpy(tensor.raw_data(), raw_data.data(), raw_data.size());
    if (*dtype == DType::kBool) {
      // Normalise to 0/1 so that kernels may treat bool storage as a C++ bool.
      uint8_t* b = tensor.data<uint8_t>();
      for (int64_t i = 0; i < count; ++i) b[i] = b[i] != 0;
    }
    return tensor;
  }
  switch (*dtype) {
    case DType::kF32: CopyTyped<float>(proto.float_data(), &tensor); break;
    case DType::kS64: CopyTyped<int64_t>(proto.int64_data(), &tensor); break;
    case DType::kS32: CopyTyped<int32_t>(proto.int32_data(), &tensor); break;
    case DType::kS8: CopyTyped<int8_t>(proto.int32_data(), &tensor); break;
    case DType::kU8: CopyTyped<uint8_t>(proto.int32_data(), &tensor); break;
    case DType::kBool: {
      uint8_t* out = tensor.data<uint8_t>();
      for (int i = 0; i < proto.int32_data_size(); ++i) out[i] = proto.int32_data(i) != 0;
      break;
    }
    case DType::kF16: CopyBits16<Half>(proto.int32_data(), &tensor); break;
    case DType::kBF16: CopyBits16<BFloat16>(proto.int32_data(), &tensor); break;
    case DType::kF64: CopyTyped<double>(proto.double_data(), &tensor); break;
    case DType::kS16: CopyTyped<int16_t>(proto.int32_data(), &tensor); break;
    case DType::kU16: CopyTyped<uint16_t>(proto.int32_data(), &tensor); break;
    case DType::kU32: CopyTyped<uint32_t>(proto.uint64_data(), &tensor); break;
    case DType::kU64: CopyTyped<uint64_t>(proto.uint64_data(), &tensor); break;
    case DType::kInvalid: break;
  }
  return tensor;
}

void TensorToProto(const Tensor& tensor, onnx::TensorProto* proto) {
  proto->clear_dims();
  for (int64_t d : tensor.dims()) proto->add_dims(d);
  proto->set_data_type(OnnxTypeFromDType(tensor.dtype()));
  proto->set_raw_data(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
}

}  // namespace kiln::onnx_import
