#include "kiln/hlo/shape.h"

#include "kiln/support/strings.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

struct TypeInfo {
  PrimitiveType type;
  std::string_view name;
  int64_t bytes;
};
constexpr TypeInfo kTypes[] = {
    {PrimitiveType::PRED, "pred", 1}, {PrimitiveType::S8, "s8", 1},
    {PrimitiveType::U8, "u8", 1},     {PrimitiveType::S16, "s16", 2},
    {PrimitiveType::U16, "u16", 2},   {PrimitiveType::S32, "s32", 4},
    {PrimitiveType::U32, "u32", 4},   {PrimitiveType::S64, "s64", 8},
    {PrimitiveType::U64, "u64", 8},   {PrimitiveType::F16, "f16", 2},
    {PrimitiveType::BF16, "bf16", 2}, {PrimitiveType::F32, "f32", 4},
    {PrimitiveType::F64, "f64", 8},   {PrimitiveType::TUPLE, "tuple", 0},
    {PrimitiveType::TOKEN, "token", 0},
};

std::vector<int64_t> DefaultMinorToMajor(int64_t rank) {
  std::vector<int64_t> m(rank);
  for (int64_t i = 0; i < rank; ++i) m[i] = rank - 1 - i;
  return m;
}

}  // namespace

std::string_view PrimitiveTypeName(PrimitiveType type) {
  for (const TypeInfo& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "invalid";
}

absl::StatusOr<PrimitiveType> ParsePrimitiveType(std::string_view name) {
  for (const TypeInfo& t : kTypes) {
    if (t.name == name && t.type != PrimitiveType::TUPLE) return t.type;
  }
  return absl::InvalidArgumentError(kiln::StrCat("unknown element type '", name, "'"));
}

int64_t ByteWidth(PrimitiveType type) {
  for (const TypeInfo& t : kTypes) {
    if (t.type == type) return t.bytes;
  }
  return 0;
}
int64_t BitWidth(PrimitiveType type) { return 8 * ByteWidth(type); }

bool IsFloatingPointType(PrimitiveType type) {
  return type == PrimitiveType::F16 || type == PrimitiveType::BF16 || type == PrimitiveType::F32 ||
         type == PrimitiveType::F64;
}
bool IsSignedIntegralType(PrimitiveType type) {
  return type == PrimitiveType::S8 || type == PrimitiveType::S16 || type == PrimitiveType::S32 ||
         type == PrimitiveType::S64;
}
bool IsUnsignedIntegralType(PrimitiveType type) {
  return type == PrimitiveType::U8 || type == PrimitiveType::U16 || type == PrimitiveType::U32 ||
         type == PrimitiveType::U64;
}
bool IsIntegralType(PrimitiveType type) {
  return IsSignedIntegralType(type) || IsUnsignedIntegralType(type);
}
bool IsArrayType(PrimitiveType type) {
  return type == PrimitiveType::PRED || IsIntegralType(type) || IsFloatingPointType(type);
}

std::string Layout::ToString() const {
  std::string s = kiln::StrCat("{", absl::StrJoin(minor_to_major, ","));
  if (!tiles.empty()) {
    // XLA's form: one "T", then each tile: "{1,0:T(8,128)(2,1)}".
    kiln::StrAppend(&s, ":T");
    for (const Tile& t : tiles) kiln::StrAppend(&s, "(", absl::StrJoin(t.dimensions, ","), ")");
  }
  kiln::StrAppend(&s, "}");
  return s;
}

Shape::Shape(PrimitiveType element_type, std::vector<int64_t> dimensions)
    : element_type_(element_type), dimensions_(std::move(dimensions)) {
  dynamic_.assign(dimensions_.size(), false);
  layout_.minor_to_major = DefaultMinorToMajor(rank());
}

Shape::Shape(std::vector<Shape> tuple_shapes)
    : element_type_(PrimitiveType::TUPLE), tuple_shapes_(std::move(tuple_shapes)) {}

bool Shape::is_static() const {
  if (IsTuple()) {
    return std::all_of(tuple_shapes_.begin(), tuple_shapes_.end(),
                       [](const Shape& s) { return s.is_static(); });
  }
  return std::none_of(dynamic_.begin(), dynamic_.end(), [](bool b) { return b; });
}

bool Shape::has_default_layout() const {
  return layout_.tiles.empty() && layout_.minor_to_major == DefaultMinorToMajor(rank());
}

std::string Shape::ToString(bool print_layout) const {
  if (IsTuple()) {
    std::vector<std::string> parts;
    for (const Shape& s : tuple_shapes_) parts.push_back(s.ToString(print_layout));
    return kiln::StrCat("(", absl::StrJoin(parts, ", "), ")");
  }
  if (IsToken()) return "token[]";
  std::string s = kiln::StrCat(PrimitiveTypeName(element_type_), "[");
  for (int64_t i = 0; i < rank(); ++i) {
    if (i > 0) kiln::StrAppend(&s, ",");
    if (dynamic_[i]) kiln::StrAppend(&s, "<=");
    kiln::StrAppend(&s, dimensions_[i]);
  }
  kiln::StrAppend(&s, "]");
  if (print_layout && rank() > 0) kiln::StrAppend(&s, layout_.ToString());
  return s;
}

bool Shape::operator==(const Shape& other) const {
  return element_type_ == other.element_type_ && dimensions_ == other.dimensions_ &&
         dynamic_ == other.dynamic_ && (!IsArray() || layout_ == other.layout_) &&
         tuple_shapes_ == other.tuple_shapes_;
}

Shape ShapeUtil::MakeShape(PrimitiveType type, absl::Span<const int64_t> dimensions) {
  return Shape(type, std::vector<int64_t>(dimensions.begin(), dimensions.end()));
}

Shape ShapeUtil::MakeShapeWithLayout(PrimitiveType type, absl::Span<const int64_t> dimensions,
                                     absl::Span<const int64_t> minor_to_major) {
  Shape s = MakeShape(type, dimensions);
  s.mutable_layout()->minor_to_major.assign(minor_to_major.begin(), minor_to_major.end());
  return s;
}

Shape ShapeUtil::MakeShapeWithDynamic(PrimitiveType type, absl::Span<const int64_t> dimensions,
                                      const std::vector<bool>& dynamic) {
  Shape s = MakeShape(type, dimensions);
  for (size_t i = 0; i < dynamic.size() && i < dimensions.size(); ++i) {
    s.set_dynamic_dimension(i, dynamic[i]);
  }
  return s;
}

Shape ShapeUtil::MakeTupleShape(std::vector<Shape> elements) { return Shape(std::move(elements)); }

Shape ShapeUtil::MakeTokenShape() {
  Shape s;
  s.set_element_type(PrimitiveType::TOKEN);
  return s;
}

Shape ShapeUtil::ChangeElementType(const Shape& shape, PrimitiveType type) {
  Shape s = shape;
  s.set_element_type(type);
  return s;
}

int64_t ShapeUtil::ElementsIn(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape.dimensions()) {
    if (d == 0) return 0;
  }
  for (int64_t d : shape.dimensions()) {
    if (__builtin_mul_overflow(n, d, &n)) return std::numeric_limits<int64_t>::max();
  }
  return n;
}

int64_t ShapeUtil::ByteSizeOf(const Shape& shape) {
  if (shape.IsTuple()) {
    int64_t total = 0;
    for (const Shape& s : shape.tuple_shapes()) {
      if (__builtin_add_overflow(total, ByteSizeOf(s), &total)) return std::numeric_limits<int64_t>::max();
    }
    return total;
  }
  if (!shape.IsArray()) return 0;
  int64_t bytes;
  if (__builtin_mul_overflow(ElementsIn(shape), ByteWidth(shape.element_type()), &bytes)) {
    return std::numeric_limits<int64_t>::max();
  }
  return bytes;
}

bool ShapeUtil::IsZeroElementArray(const Shape& shape) {
  return shape.IsArray() && ElementsIn(shape) == 0;
}

bool ShapeUtil::Compatible(const Shape& a, const Shape& b) {
  if (a.element_type() != b.element_type()) return false;
  if (a.IsTuple()) {
    if (a.tuple_shapes_size() != b.tuple_shapes_size()) return false;
    for (int64_t i = 0; i < a.tuple_shapes_size(); ++i) {
      if (!Compatible(a.tuple_shapes(i), b.tuple_shapes(i))) return false;
    }
    return true;
  }
  return a.dimensions() == b.dimensions();
}

std::vector<int64_t> ShapeUtil::RowMajorStrides(absl::Span<const int64_t> dimensions) {
  std::vector<int64_t> strides(dimensions.size(), 1);
  for (int64_t i = static_cast<int64_t>(dimensions.size()) - 2; i >= 0; --i) {
    strides[i] = strides[i + 1] * dimensions[i + 1];
  }
  return strides;
}

absl::Status ShapeUtil::ValidateShape(const Shape& shape) {
  if (shape.IsTuple()) {
    for (const Shape& s : shape.tuple_shapes()) KILN_RETURN_IF_ERROR(ValidateShape(s));
    return absl::OkStatus();
  }
  if (shape.IsToken()) return absl::OkStatus();
  if (!shape.IsArray()) {
    return absl::InvalidArgumentError("shape has no valid element type");
  }
  int64_t bytes = ByteWidth(shape.element_type());
  for (int64_t d : shape.dimensions()) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          kiln::StrCat("shape ", shape.ToString(), " has a negative dimension"));
    }
    // The same rule as deserialization: the byte size, multiplied out in order, fits in 64 bits.
    if (__builtin_mul_overflow(bytes, d, &bytes)) {
      return absl::InvalidArgumentError(kiln::StrCat("shape ", shape.ToString(), ": array size overflows 64 bits"));
    }
  }
  std::vector<int64_t> m = shape.layout().minor_to_major;
  std::sort(m.begin(), m.end());
  for (int64_t i = 0; i < static_cast<int64_t>(m.size()); ++i) {
    if (m[i] != i || static_cast<int64_t>(m.size()) != shape.rank()) {
      return absl::InvalidArgumentError(kiln::StrCat(
          "layout of ", shape.ToString(), " is not a permutation of the dimensions"));
    }
  }
  if (static_cast<int64_t>(m.size()) != shape.rank()) {
    return absl::InvalidArgumentError(
        kiln::StrCat("layout of ", shape.ToString(), " does not match its rank"));
  }
  return absl::OkStatus();
}

// --- Parsing ----------------------------------------------------------------------------------

namespace {

class ShapeParser {
 public:
  explicit ShapeParser(std::string_view text) : text_(text) {}

  absl::StatusOr<Shape> Parse() {
    KILN_ASSIGN_OR_RETURN(Shape s, ParseOne());
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing text");
    return s;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        kiln::StrCat("cannot parse shape '", text_, "' at offset ", pos_, ": ", what));
  }
  absl::StatusOr<int64_t> ParseInt() {
    SkipSpace();
    size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (start == pos_) return Error("expected an integer");
    int64_t value = 0;
    if (!absl::SimpleAtoi(absl::string_view(text_.data() + start, pos_ - start), &value)) {
      return Error("integer out of range");
    }
    return value;
  }
  absl::StatusOr<std::vector<int64_t>> ParseIntList(char close) {
    std::vector<int64_t> v;
    if (Consume(close)) return v;
    while (true) {
      KILN_ASSIGN_OR_RETURN(int64_t x, ParseInt());
      v.push_back(x);
      if (Consume(close)) return v;
      if (!Consume(',')) return Error("expected ','");
    }
  }

  absl::StatusOr<Shape> ParseOne() {
    SkipSpace();
    if (Consume('(')) {
      std::vector<Shape> elements;
      if (Consume(')')) return ShapeUtil::MakeTupleShape({});
      while (true) {
        KILN_ASSIGN_OR_RETURN(Shape e, ParseOne());
        elements.push_back(std::move(e));
        if (Consume(')')) return ShapeUtil::MakeTupleShape(std::move(elements));
        if (!Consume(',')) return Error("expected ',' or ')' in a tuple shape");
      }
    }
    size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') ||
                                   (text_[pos_] >= '0' && text_[pos_] <= '9'))) {
      ++pos_;
    }
    KILN_ASSIGN_OR_RETURN(PrimitiveType type, ParsePrimitiveType(text_.substr(start, pos_ - start)));
    if (!Consume('[')) return Error("expected '['");
    std::vector<int64_t> dims;
    std::vector<bool> dynamic;
    if (!Consume(']')) {
      while (true) {
        SkipSpace();
        bool dyn = false;
        if (text_.substr(pos_, 2) == "<=") {
          dyn = true;
          pos_ += 2;
        }
        KILN_ASSIGN_OR_RETURN(int64_t d, ParseInt());
        dims.push_back(d);
        dynamic.push_back(dyn);
        if (Consume(']')) break;
        if (!Consume(',')) return Error("expected ',' or ']' in dimensions");
      }
    }
    if (type == PrimitiveType::TOKEN) return ShapeUtil::MakeTokenShape();
    Shape shape = ShapeUtil::MakeShapeWithDynamic(type, dims, dynamic);
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '{') {
      ++pos_;
      std::vector<int64_t> m;
      SkipSpace();
      while (pos_ < text_.size() && text_[pos_] != '}' && text_[pos_] != ':') {
        KILN_ASSIGN_OR_RETURN(int64_t x, ParseInt());
        m.push_back(x);
        Consume(',');
        SkipSpace();
      }
      Layout layout;
      layout.minor_to_major = std::move(m);
      if (Consume(':')) {
        while (true) {
          SkipSpace();
          // "T(8,128)(2,1)" (XLA) and "T(8,128)T(2,1)" both read as two tiles.
          bool more = !layout.tiles.empty() && pos_ < text_.size() && text_[pos_] == '(';
          if (more || (pos_ + 1 < text_.size() && text_[pos_] == 'T' && text_[pos_ + 1] == '(')) {
            pos_ += more ? 1 : 2;
            KILN_ASSIGN_OR_RETURN(std::vector<int64_t> t, ParseIntList(')'));
            layout.tiles.push_back(Tile{std::move(t)});
            continue;
          }
          break;
        }
      }
      if (!Consume('}')) return Error("expected '}' after the layout");
      if (static_cast<int64_t>(layout.minor_to_major.size()) != shape.rank()) {
        return Error("layout rank differs from the shape's");
      }
      std::vector<int64_t> sorted = layout.minor_to_major;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < shape.rank(); ++i) {
        if (sorted[i] != i) return Error("the layout is not a permutation of the dimensions");
      }
      *shape.mutable_layout() = std::move(layout);
    }
    return shape;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Shape> ParseShape(std::string_view text) { return ShapeParser(text).Parse(); }

}  // namespace kiln::hlo
