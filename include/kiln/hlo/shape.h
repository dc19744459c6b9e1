// HLO shapes: element types, dimensions (optionally bounded-dynamic), layouts and tuples.
//
// Printed and parsed as XLA prints them: `f32[2,3]{1,0}`, `f32[<=10]{0}`, `pred[]`,
// `(f32[2]{0}, s32[])`, a tiled layout as `f32[256,256]{1,0:T(8,128)}`.
#ifndef KILN_HLO_SHAPE_H_
#define KILN_HLO_SHAPE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kiln::hlo {

// Element types, named as XLA names them. TUPLE and TOKEN are not array element types.
enum class PrimitiveType : uint8_t {
  PRIMITIVE_TYPE_INVALID = 0,
  PRED,
  S8,
  U8,
  S16,
  U16,
  S32,
  U32,
  S64,
  U64,
  F16,
  BF16,
  F32,
  F64,
  TUPLE,
  TOKEN,
};

// "pred", "s8", ..., "f64", "tuple", "token"; "invalid" for PRIMITIVE_TYPE_INVALID.
std::string_view PrimitiveTypeName(PrimitiveType type);
// Inverse of PrimitiveTypeName (array types and "token"); InvalidArgument for anything else.
absl::StatusOr<PrimitiveType> ParsePrimitiveType(std::string_view name);
// Bytes per element of an array type (PRED is one byte); 0 for TUPLE, TOKEN and invalid.
int64_t ByteWidth(PrimitiveType type);
int64_t BitWidth(PrimitiveType type);  // 8 * ByteWidth.
bool IsFloatingPointType(PrimitiveType type);  // F16, BF16, F32, F64.
bool IsIntegralType(PrimitiveType type);       // S8..U64 (not PRED).
bool IsSignedIntegralType(PrimitiveType type);
bool IsUnsignedIntegralType(PrimitiveType type);
bool IsArrayType(PrimitiveType type);  // PRED, integers and floats.

// A tile of a tiled layout: the tile's dimensions, most major first (`T(8,128)`).
struct Tile {
  std::vector<int64_t> dimensions;
  bool operator==(const Tile& other) const = default;
};

// The physical order of an array's dimensions: minor_to_major[0] is the fastest-varying
// dimension. Row-major (the default) is {rank-1, ..., 1, 0}.
struct Layout {
  std::vector<int64_t> minor_to_major;
  std::vector<Tile> tiles;
  bool operator==(const Layout& other) const = default;
  // "{1,0}" or "{1,0:T(8,128)}".
  std::string ToString() const;
};

// An array shape (element type, dimensions, layout, dynamic flags), a tuple of shapes, or a token.
// Dimension sizes of a dynamic dimension are its upper bound (`f32[<=10]` has dimensions {10}).
class Shape {
 public:
  // An invalid shape (element type PRIMITIVE_TYPE_INVALID).
  Shape() = default;
  // An array shape with the default row-major layout.
  Shape(PrimitiveType element_type, std::vector<int64_t> dimensions);
  // A tuple shape.
  explicit Shape(std::vector<Shape> tuple_shapes);

  PrimitiveType element_type() const { return element_type_; }
  void set_element_type(PrimitiveType type) { element_type_ = type; }

  bool valid() const { return element_type_ != PrimitiveType::PRIMITIVE_TYPE_INVALID; }
  bool IsArray() const { return IsArrayType(element_type_); }
  bool IsTuple() const { return element_type_ == PrimitiveType::TUPLE; }
  bool IsToken() const { return element_type_ == PrimitiveType::TOKEN; }
  // Rank-0 array.
  bool IsScalar() const { return IsArray() && dimensions_.empty(); }

  int64_t rank() const { return static_cast<int64_t>(dimensions_.size()); }
  const std::vector<int64_t>& dimensions() const { return dimensions_; }
  int64_t dimensions(int64_t i) const { return dimensions_[i]; }
  // Sets dimension i's size (its bound, when dynamic).
  void set_dimensions(int64_t i, int64_t size) { dimensions_[i] = size; }

  bool is_dynamic_dimension(int64_t i) const { return dynamic_[i]; }
  void set_dynamic_dimension(int64_t i, bool dynamic) { dynamic_[i] = dynamic; }
  const std::vector<bool>& dynamic_dimensions() const { return dynamic_; }
  bool is_static() const;  // No dynamic dimension (recursively for tuples).

  // Arrays always carry a layout (row-major unless set).
  const Layout& layout() const { return layout_; }
  Layout* mutable_layout() { return &layout_; }
  bool has_default_layout() const;  // Row-major and untiled.

  const std::vector<Shape>& tuple_shapes() const { return tuple_shapes_; }
  const Shape& tuple_shapes(int64_t i) const { return tuple_shapes_[i]; }
  std::vector<Shape>* mutable_tuple_shapes() { return &tuple_shapes_; }
  int64_t tuple_shapes_size() const { return static_cast<int64_t>(tuple_shapes_.size()); }

  // XLA's text: "f32[2,3]{1,0}", "f32[]", "(f32[2]{0}, s32[])". Without layouts: "f32[2,3]".
  std::string ToString(bool print_layout = true) const;

  // Exact equality: type, dimensions, dynamic flags, layout, tuple elements.
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  PrimitiveType element_type_ = PrimitiveType::PRIMITIVE_TYPE_INVALID;
  std::vector<int64_t> dimensions_;
  std::vector<bool> dynamic_;
  Layout layout_;
  std::vector<Shape> tuple_shapes_;
};

// Static helpers on shapes, named after XLA's ShapeUtil.
class ShapeUtil {
 public:
  static Shape MakeShape(PrimitiveType type, absl::Span<const int64_t> dimensions);
  static Shape MakeScalarShape(PrimitiveType type) { return MakeShape(type, {}); }
  // `minor_to_major` must be a permutation of [0, rank).
  static Shape MakeShapeWithLayout(PrimitiveType type, absl::Span<const int64_t> dimensions,
                                   absl::Span<const int64_t> minor_to_major);
  // Dimensions are bounds; `dynamic[i]` marks dimension i dynamic (`f32[<=10]`).
  static Shape MakeShapeWithDynamic(PrimitiveType type, absl::Span<const int64_t> dimensions,
                                    const std::vector<bool>& dynamic);
  static Shape MakeTupleShape(std::vector<Shape> elements);
  static Shape MakeTokenShape();
  // Same dimensions and layout, new element type.
  static Shape ChangeElementType(const Shape& shape, PrimitiveType type);

  // Product of the dimensions of an array (1 for a scalar, using bounds for dynamic dimensions);
  // INT64_MAX when it overflows (a shape that ValidateShape refuses).
  static int64_t ElementsIn(const Shape& shape);
  // Dense bytes of an array; for a tuple, the sum over its elements; 0 for a token. INT64_MAX on
  // overflow.
  static int64_t ByteSizeOf(const Shape& shape);
  static bool IsZeroElementArray(const Shape& shape);

  // Exact equality (layouts included).
  static bool Equal(const Shape& a, const Shape& b) { return a == b; }
  // Equal ignoring layouts and dynamic flags.
  static bool Compatible(const Shape& a, const Shape& b);
  // Same element type, ignoring layouts.
  static bool SameElementType(const Shape& a, const Shape& b) {
    return a.element_type() == b.element_type();
  }
  static bool SameDimensions(const Shape& a, const Shape& b) {
    return a.dimensions() == b.dimensions();
  }
  // Text without layouts ("f32[2,3]"); as used in error messages.
  static std::string HumanString(const Shape& shape) { return shape.ToString(false); }

  // Row-major strides (in elements) of `dimensions`.
  static std::vector<int64_t> RowMajorStrides(absl::Span<const int64_t> dimensions);
  // Checks an array shape: a valid element type, non-negative dimensions, a layout that is a
  // permutation of the dimensions. InvalidArgument naming the problem otherwise.
  static absl::Status ValidateShape(const Shape& shape);
};

// Parses XLA's text for a shape ("f32[2,3]{1,0}", "(f32[], s32[4])", "f32[<=10]"); a missing
// layout means row-major. InvalidArgument with the offending text otherwise.
absl::StatusOr<Shape> ParseShape(std::string_view text);

}  // namespace kiln::hlo

#endif  // KILN_HLO_SHAPE_H_
