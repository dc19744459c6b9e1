// Literals: a shape plus its dense row-major bytes (arrays) or its elements (tuples).
#ifndef KILN_HLO_LITERAL_H_
#define KILN_HLO_LITERAL_H_

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/shape.h"
#include "kiln/tensor/tensor.h"
#include "kiln/support/status.h"

namespace kiln::hlo {

// Storage types of the 16-bit floats are kiln::Half and kiln::BFloat16 (runtime/tensor.h).
using F16 = ::kiln::Half;
using BF16 = ::kiln::BFloat16;

// The C++ type that stores one element of `T` (PRED is bool, one byte).
template <PrimitiveType T>
struct NativeTypeOf;
template <> struct NativeTypeOf<PrimitiveType::PRED> { using type = bool; };
template <> struct NativeTypeOf<PrimitiveType::S8> { using type = int8_t; };
template <> struct NativeTypeOf<PrimitiveType::U8> { using type = uint8_t; };
template <> struct NativeTypeOf<PrimitiveType::S16> { using type = int16_t; };
template <> struct NativeTypeOf<PrimitiveType::U16> { using type = uint16_t; };
template <> struct NativeTypeOf<PrimitiveType::S32> { using type = int32_t; };
template <> struct NativeTypeOf<PrimitiveType::U32> { using type = uint32_t; };
template <> struct NativeTypeOf<PrimitiveType::S64> { using type = int64_t; };
template <> struct NativeTypeOf<PrimitiveType::U64> { using type = uint64_t; };
template <> struct NativeTypeOf<PrimitiveType::F16> { using type = F16; };
template <> struct NativeTypeOf<PrimitiveType::BF16> { using type = BF16; };
template <> struct NativeTypeOf<PrimitiveType::F32> { using type = float; };
template <> struct NativeTypeOf<PrimitiveType::F64> { using type = double; };

// The PrimitiveType of a native element type.
template <typename T>
constexpr PrimitiveType NativeToPrimitiveType() {
  if constexpr (std::is_same_v<T, bool>) return PrimitiveType::PRED;
  else if constexpr (std::is_same_v<T, int8_t>) return PrimitiveType::S8;
  else if constexpr (std::is_same_v<T, uint8_t>) return PrimitiveType::U8;
  else if constexpr (std::is_same_v<T, int16_t>) return PrimitiveType::S16;
  else if constexpr (std::is_same_v<T, uint16_t>) return PrimitiveType::U16;
  else if constexpr (std::is_same_v<T, int32_t>) return PrimitiveType::S32;
  else if constexpr (std::is_same_v<T, uint32_t>) return PrimitiveType::U32;
  else if constexpr (std::is_same_v<T, int64_t>) return PrimitiveType::S64;
  else if constexpr (std::is_same_v<T, uint64_t>) return PrimitiveType::U64;
  else if constexpr (std::is_same_v<T, F16>) return PrimitiveType::F16;
  else if constexpr (std::is_same_v<T, BF16>) return PrimitiveType::BF16;
  else if constexpr (std::is_same_v<T, float>) return PrimitiveType::F32;
  else if constexpr (std::is_same_v<T, double>) return PrimitiveType::F64;
  else static_assert(sizeof(T) == 0, "not an HLO element type");
}

// A value of some shape. Array data is dense and row-major regardless of the shape's layout
// (the interpreter works in logical order; layouts matter to backends and to buffers).
class Literal {
 public:
  // An invalid literal (no shape).
  Literal() = default;
  // A zero-filled literal of `shape` (array or tuple; dynamic dimensions use their bounds).
  explicit Literal(const Shape& shape);

  template <typename T>
  static Literal CreateR0(T value) {
    return CreateFromVector<T>({}, std::vector<T>{value});
  }
  template <typename T>
  static Literal CreateR1(absl::Span<const T> values) {
    return CreateFromVector<T>({static_cast<int64_t>(values.size())},
                               std::vector<T>(values.begin(), values.end()));
  }
  template <typename T>
  static Literal CreateR1(std::initializer_list<T> values) {
    return CreateR1<T>(absl::Span<const T>(values.begin(), values.size()));
  }
  template <typename T>
  static Literal CreateR2(std::initializer_list<std::initializer_list<T>> rows);
  // `values` in row-major order; aborts when their count differs from the dimensions' product
  // (a programmer error).
  template <typename T>
  static Literal CreateFromVector(std::vector<int64_t> dimensions, const std::vector<T>& values);
  // Copies `bytes` (row-major, ByteSizeOf(shape) of them) into a new array literal.
  static absl::StatusOr<Literal> CreateFromBytes(const Shape& shape, const void* bytes,
                                                 size_t size);
  static Literal MakeTuple(std::vector<Literal> elements);

  bool valid() const { return shape_.valid(); }
  const Shape& shape() const { return shape_; }
  int64_t element_count() const { return ShapeUtil::ElementsIn(shape_); }

  // Array bytes.
  void* untyped_data() { return bytes_.data(); }
  const void* untyped_data() const { return bytes_.data(); }
  size_t size_bytes() const { return bytes_.size(); }

  // Typed views of an array's elements; T must match the element type (checked).
  template <typename T>
  absl::Span<T> data() {
    KILN_CHECK(NativeToPrimitiveType<T>() == shape_.element_type(),
               "Literal::data<T>: T does not match " + shape_.ToString());
    return absl::Span<T>(reinterpret_cast<T*>(bytes_.data()), bytes_.size() / sizeof(T));
  }
  template <typename T>
  absl::Span<const T> data() const {
    KILN_CHECK(NativeToPrimitiveType<T>() == shape_.element_type(),
               "Literal::data<T>: T does not match " + shape_.ToString());
    return absl::Span<const T>(reinterpret_cast<const T*>(bytes_.data()),
                               bytes_.size() / sizeof(T));
  }
  // Element at a multi-dimensional index (row-major).
  template <typename T>
  T Get(absl::Span<const int64_t> index) const {
    return data<T>()[LinearIndex(index)];
  }
  template <typename T>
  void Set(absl::Span<const int64_t> index, T value) {
    data<T>()[LinearIndex(index)] = value;
  }
  int64_t LinearIndex(absl::Span<const int64_t> index) const;

  // Element i of any array type, converted (F16/BF16 through float, PRED as 0/1).
  double GetAsDouble(int64_t i) const;
  int64_t GetAsInt64(int64_t i) const;
  // Sets element i of any array type from a double (integers truncate toward zero).
  void SetFromDouble(int64_t i, double value);

  // Tuple elements.
  const std::vector<Literal>& tuple_elements() const { return elements_; }
  std::vector<Literal>& tuple_elements() { return elements_; }

  // Same dimensions, other element type, elements converted as HLO `convert` does.
  absl::StatusOr<Literal> Convert(PrimitiveType type) const;
  // Same bytes, new shape of equal byte size.
  absl::StatusOr<Literal> Reshape(absl::Span<const int64_t> dimensions) const;

  // XLA's literal text: "f32[2,2] {{1, 2}, {3, 4}}", "s32[] 7", "(f32[] 1, pred[] true)".
  std::string ToString() const;
  // The element values only, as in HLO constants: "{{1, 2}, {3, 4}}", "7".
  std::string ValuesToString() const;

  // Same shape (layouts ignored) and bitwise-equal data.
  bool operator==(const Literal& other) const;
  bool operator!=(const Literal& other) const { return !(*this == other); }

 private:
  Shape shape_;
  std::vector<uint8_t> bytes_;
  std::vector<Literal> elements_;
};

template <typename T>
Literal Literal::CreateFromVector(std::vector<int64_t> dimensions, const std::vector<T>& values) {
  Literal lit(ShapeUtil::MakeShape(NativeToPrimitiveType<T>(), dimensions));
  KILN_CHECK(static_cast<int64_t>(values.size()) == lit.element_count(),
             "Literal::CreateFromVector: value count differs from " + lit.shape().ToString());
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < values.size(); ++i) lit.bytes_[i] = values[i] ? 1 : 0;
  } else if (!values.empty()) {
    std::memcpy(lit.bytes_.data(), values.data(), values.size() * sizeof(T));
  }
  return lit;
}

template <typename T>
Literal Literal::CreateR2(std::initializer_list<std::initializer_list<T>> rows) {
  std::vector<T> values;
  int64_t cols = rows.size() == 0 ? 0 : static_cast<int64_t>(rows.begin()->size());
  for (const auto& row : rows) {
    KILN_CHECK(static_cast<int64_t>(row.size()) == cols, "Literal::CreateR2: ragged rows");
    values.insert(values.end(), row.begin(), row.end());
  }
  return CreateFromVector<T>({static_cast<int64_t>(rows.size()), cols}, values);
}

}  // namespace kiln::hlo

#endif  // KILN_HLO_LITERAL_H_
