// Tensors: an element type, dimensions and a shared 64-byte-aligned buffer.
#ifndef KILN_TENSOR_TENSOR_H_
#define KILN_TENSOR_TENSOR_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

// kF64 and the 16-, 32- and 64-bit integer types after kBool exist for models that use them; most
// kernels run them, the JIT compiles f32 only.
enum class DType : uint8_t { kInvalid = 0, kF32, kF16, kBF16, kS8, kU8, kS32, kS64, kBool, kF64, kS16, kU16, kU32, kU64 };

// Storage types of the 16-bit floats; conversions round to nearest even.
struct Half {
  uint16_t bits = 0;
};
struct BFloat16 {
  uint16_t bits = 0;
};
float HalfToFloat(Half h);
Half FloatToHalf(float f);
float BFloat16ToFloat(BFloat16 b);
BFloat16 FloatToBFloat16(float f);

size_t DTypeSize(DType dtype);           // Bytes per element (0 for kInvalid).
const char* DTypeName(DType dtype);  // "f32", "f16", "bf16", "s8", "u8", "s32", "s64", "bool", "f64", "s16", "u16", "u32", "u64".

template <typename T>
constexpr DType DTypeOf();
template <> constexpr DType DTypeOf<float>() { return DType::kF32; }
template <> constexpr DType DTypeOf<Half>() { return DType::kF16; }
template <> constexpr DType DTypeOf<BFloat16>() { return DType::kBF16; }
template <> constexpr DType DTypeOf<int8_t>() { return DType::kS8; }
template <> constexpr DType DTypeOf<uint8_t>() { return DType::kU8; }
template <> constexpr DType DTypeOf<int32_t>() { return DType::kS32; }
template <> constexpr DType DTypeOf<int64_t>() { return DType::kS64; }
template <> constexpr DType DTypeOf<bool>() { return DType::kBool; }
template <> constexpr DType DTypeOf<double>() { return DType::kF64; }
template <> constexpr DType DTypeOf<int16_t>() { return DType::kS16; }
template <> constexpr DType DTypeOf<uint16_t>() { return DType::kU16; }
template <> constexpr DType DTypeOf<uint32_t>() { return DType::kU32; }
template <> constexpr DType DTypeOf<uint64_t>() { return DType::kU64; }

using Dims = std::vector<int64_t>;

// The most elements one tensor may have. Importers refuse larger declared shapes, and shape inference
// refuses larger inferred ones (CheckInferredType in op_registry.h).
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 32;

// `v` converted to the integer type T: truncated toward zero, NaN gives 0 and out-of-range values
// saturate at T's range (a plain cast of those is undefined behaviour).
template <typename T>
T SaturatingCast(double v) {
  if (std::isnan(v)) return T(0);
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

// Product of dims; -1 when a dim is negative or the product overflows int64.
int64_t NumElements(const Dims& dims);
std::string DimsToString(const Dims& dims);  // "[1,3,224,224]"

// A host allocation aligned to 64 bytes. Immutable size; contents are mutable.
class Buffer {
 public:
  static constexpr size_t kAlignment = 64;
  // Fails with ResourceExhausted when the allocation is refused.
  static absl::StatusOr<std::shared_ptr<Buffer>> Allocate(size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  Buffer(void* data, size_t size) : data_(data), size_(size) {}
  void* data_;
  size_t size_;
};

// Whether Tensor::CreateUninitialized and the executor's planned outputs fill new memory with 0xFF
// bytes. On by default in sanitizer builds; tests that check kernels write all their output (the
// ONNX node cases) turn it on. Process-wide, thread-safe.
void SetPoisonUninitialized(bool on);
bool PoisonUninitialized();
// Fills `bytes` at `data` with the poison pattern when PoisonUninitialized() is on; no-op otherwise.
void MaybePoison(void* data, size_t bytes);

// A dense row-major tensor. Copies share the buffer (a tensor is a view with value semantics for
// its metadata); use Clone() for a deep copy. A default-constructed Tensor is "absent".
class Tensor {
 public:
  Tensor() = default;

  // Allocates a zero-filled tensor. InvalidArgument for negative dims, ResourceExhausted for an
  // allocation over the limit (16 GiB).
  static absl::StatusOr<Tensor> Create(DType dtype, Dims dims);
  // Allocates a tensor whose contents are unspecified: for kernel outputs, whose kernel writes every
  // element (no zero-fill pass over memory that is overwritten anyway). While PoisonUninitialized()
  // is on, the bytes are 0xFF instead (NaN floats, -1 integers, invalid bools), so that a kernel that
  // leaves elements unwritten gives visibly wrong results in tests instead of zeros that happen to
  // be right. Errors as Create.
  static absl::StatusOr<Tensor> CreateUninitialized(DType dtype, Dims dims);
  // Wraps an existing buffer (which must hold at least the tensor's bytes from `offset`).
  static absl::StatusOr<Tensor> FromBuffer(DType dtype, Dims dims, std::shared_ptr<Buffer> buffer,
                                           size_t offset = 0);
  // Convenience for tests and constants: copies `values`.
  template <typename T>
  static Tensor FromVector(Dims dims, const std::vector<T>& values);
  template <typename T>
  static Tensor Scalar(T value) {
    return FromVector<T>({}, std::vector<T>{value});
  }

  bool valid() const { return dtype_ != DType::kInvalid; }
  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_[i]; }
  // Cached when the dims are set: kernels call this in their loop conditions.
  int64_t num_elements() const { return num_elements_; }
  size_t byte_size() const { return static_cast<size_t>(num_elements()) * DTypeSize(dtype_); }

  void* raw_data() { return buffer_ ? static_cast<char*>(buffer_->data()) + offset_ : nullptr; }
  const void* raw_data() const {
    return buffer_ ? static_cast<const char*>(buffer_->data()) + offset_ : nullptr;
  }
  template <typename T>
  T* data() {
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(raw_data());
  }
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }

  // Same buffer, new dims of the same element count (InvalidArgument otherwise).
  absl::StatusOr<Tensor> Reshaped(Dims dims) const;
  Tensor Clone() const;
  // Reads element i (any dtype) as double / int64; for shape tensors and tests.
  double GetAsDouble(int64_t i) const;
  int64_t GetAsInt64(int64_t i) const;
  // Element-wise equality of dtype, dims and bytes.
  bool BitEqual(const Tensor& other) const;
  // "f32[1,1001]".
  std::string TypeString() const;

 private:
  DType dtype_ = DType::kInvalid;
  Dims dims_;
  int64_t num_elements_ = 1;  // NumElements(dims_), always set with dims_
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
};

template <typename T>
Tensor Tensor::FromVector(Dims dims, const std::vector<T>& values) {
  absl::StatusOr<Tensor> t = Create(DTypeOf<T>(), std::move(dims));
  if (!t.ok() || t->num_elements() != static_cast<int64_t>(values.size())) std::abort();
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < values.size(); ++i) t->data<bool>()[i] = values[i];
  } else {
    if (!values.empty()) std::memcpy(t->raw_data(), values.data(), values.size() * sizeof(T));
  }
  return *t;
}

}  // namespace kiln

#endif  // KILN_TENSOR_TENSOR_H_
