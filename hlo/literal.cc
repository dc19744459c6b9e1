#include "kiln/hlo/literal.h"

#include "kiln/support/strings.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_join.h"
#include "kiln/hlo/native_types.h"

namespace kiln::hlo {
namespace {

// Shortest text that reads back to the same value ("1", "0.5", "1e-05", "inf", "nan", and "-nan" for a
// NaN with the sign bit set, as XLA prints it; the payload is not kept).
template <typename F>
std::string FloatToString(F v) {
  if (std::isnan(v)) return std::signbit(v) ? "-nan" : "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

template <typename T>
std::string ElementToString(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (kIsF16Like<T>) {
    return FloatToString(ToCompute(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return FloatToString(v);
  } else {
    return kiln::StrCat(v);
  }
}

}  // namespace

Literal::Literal(const Shape& shape) : shape_(shape) {
  if (shape.IsTuple()) {
    for (const Shape& s : shape.tuple_shapes()) elements_.emplace_back(s);
    return;
  }
  if (shape.IsArray()) bytes_.assign(ShapeUtil::ByteSizeOf(shape), 0);
}

absl::StatusOr<Literal> Literal::CreateFromBytes(const Shape& shape, const void* bytes,
                                                 size_t size) {
  if (!shape.IsArray()) {
    return absl::InvalidArgumentError(
        kiln::StrCat("CreateFromBytes needs an array shape, got ", shape.ToString()));
  }
  Literal lit(shape);
  if (size != lit.bytes_.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("CreateFromBytes: ", size, " bytes for ",
                                                   shape.ToString(), " which needs ",
                                                   lit.bytes_.size()));
  }
  if (size > 0) std::memcpy(lit.bytes_.data(), bytes, size);
  return lit;
}

Literal Literal::MakeTuple(std::vector<Literal> elements) {
  std::vector<Shape> shapes;
  for (const Literal& e : elements) shapes.push_back(e.shape());
  Literal lit;
  lit.shape_ = ShapeUtil::MakeTupleShape(std::move(shapes));
  lit.elements_ = std::move(elements);
  return lit;
}

int64_t Literal::LinearIndex(absl::Span<const int64_t> index) const {
  KILN_CHECK(static_cast<int64_t>(index.size()) == shape_.rank(),
             "Literal index rank differs from " + shape_.ToString());
  int64_t linear = 0;
  for (int64_t i = 0; i < shape_.rank(); ++i) {
    KILN_CHECK(index[i] >= 0 && index[i] < shape_.dimensions(i), "Literal index out of range");
    linear = linear * shape_.dimensions(i) + index[i];
  }
  return linear;
}

double Literal::GetAsDouble(int64_t i) const {
  return DispatchArrayType(shape_.element_type(), [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(ToCompute(data<T>()[i]));
  });
}

int64_t Literal::GetAsInt64(int64_t i) const {
  return DispatchArrayType(shape_.element_type(), [&](auto tag) -> int64_t {
    using T = decltype(tag);
    return ConvertElement<int64_t>(data<T>()[i]);
  });
}

void Literal::SetFromDouble(int64_t i, double value) {
  DispatchArrayType(shape_.element_type(), [&](auto tag) {
    using T = decltype(tag);
    data<T>()[i] = ConvertElement<T>(value);
  });
}

absl::StatusOr<Literal> Literal::Convert(PrimitiveType type) const {
  if (!shape_.IsArray() || !IsArrayType(type)) {
    return absl::InvalidArgumentError(kiln::StrCat("cannot convert ", shape_.ToString(), " to ",
                                                   PrimitiveTypeName(type)));
  }
  Literal out(ShapeUtil::ChangeElementType(shape_, type));
  int64_t n = element_count();
  DispatchArrayType(shape_.element_type(), [&](auto from_tag) {
    using From = decltype(from_tag);
    DispatchArrayType(type, [&](auto to_tag) {
      using To = decltype(to_tag);
      const From* src = reinterpret_cast<const From*>(bytes_.data());
      To* dst = reinterpret_cast<To*>(out.bytes_.data());
      for (int64_t i = 0; i < n; ++i) dst[i] = ConvertElement<To>(src[i]);
    });
  });
  return out;
}

absl::StatusOr<Literal> Literal::Reshape(absl::Span<const int64_t> dimensions) const {
  Shape s = ShapeUtil::MakeShape(shape_.element_type(), dimensions);
  if (!shape_.IsArray() || ShapeUtil::ElementsIn(s) != element_count()) {
    return absl::InvalidArgumentError(
        kiln::StrCat("cannot reshape ", shape_.ToString(), " to ", s.ToString()));
  }
  Literal out = *this;
  out.shape_ = std::move(s);
  return out;
}

std::string Literal::ValuesToString() const {
  if (shape_.IsTuple()) {
    std::vector<std::string> parts;
    for (const Literal& e : elements_) parts.push_back(e.ToString());
    return kiln::StrCat("(", absl::StrJoin(parts, ", "), ")");
  }
  if (!shape_.IsArray()) return "";
  return DispatchArrayType(shape_.element_type(), [&](auto tag) -> std::string {
    using T = decltype(tag);
    absl::Span<const T> values = data<T>();
    if (shape_.rank() == 0) return ElementToString(values[0]);
    std::string out;
    std::vector<int64_t> strides = ShapeUtil::RowMajorStrides(shape_.dimensions());
    // Recursive nesting: one brace level per dimension.
    auto emit = [&](auto&& self, int64_t dim, int64_t offset) -> void {
      out += "{";
      for (int64_t i = 0; i < shape_.dimensions(dim); ++i) {
        if (i > 0) out += ", ";
        if (dim + 1 == shape_.rank()) {
          out += ElementToString(values[offset + i]);
        } else {
          self(self, dim + 1, offset + i * strides[dim]);
        }
      }
      out += "}";
    };
    emit(emit, 0, 0);
    return out;
  });
}

std::string Literal::ToString() const {
  if (shape_.IsTuple()) return ValuesToString();
  return kiln::StrCat(shape_.ToString(false), " ", ValuesToString());
}

bool Literal::operator==(const Literal& other) const {
  return ShapeUtil::Compatible(shape_, other.shape_) && bytes_ == other.bytes_ &&
         elements_ == other.elements_;
}

}  // namespace kiln::hlo
