// NumPy .npy reading and writing (format described in numpy/lib/format.py's documentation).
//
// Layout: the magic "\x93NUMPY", a major and minor version byte, the header length (uint16 LE for
// version 1, uint32 LE for versions 2 and 3), then an ASCII Python dict literal with the keys
// 'descr', 'fortran_order' and 'shape', padded with spaces and ended by '\n', then the raw data.
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "kiln/support/strings.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "kiln/image/npy.h"
#include "kiln/support/files.h"
#include "kiln/support/read_file.h"
#include "kiln/support/status.h"

namespace kiln {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
// The largest .npy file read: a tensor at Tensor::Create's 16 GiB limit plus 1 MiB of header.
constexpr int64_t kMaxNpyFileBytes = (int64_t{16} << 30) + (int64_t{1} << 20);

struct DescrEntry {
  const char* descr;
  DType dtype;
};
// Accepted spellings: '<' (little-endian) for multi-byte types, '|' (not applicable) or '<' for bytes.
// The first entry of each dtype is the one written.
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kF32}, {"<f8", DType::kF64}, {"<f2", DType::kF16},  {"|i1", DType::kS8},
    {"<i1", DType::kS8},  {"<i2", DType::kS16}, {"<i4", DType::kS32},  {"<i8", DType::kS64},
    {"|u1", DType::kU8},  {"<u1", DType::kU8},  {"<u2", DType::kU16},  {"<u4", DType::kU32},
    {"<u8", DType::kU64}, {"|b1", DType::kBool}, {"<b1", DType::kBool},
};

const char* DescrOf(DType dtype) {
  for (const DescrEntry& e : kDescrs) {
    if (e.dtype == dtype) return e.descr;
  }
  return nullptr;
}

// A tiny reader for the header dict: {'key': value, ...} where a value is a quoted string, True,
// False or a tuple of integers.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  absl::Status Parse(std::string* descr, bool* fortran, Dims* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("header does not start with '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      KILN_ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipSpace();
      if (!Consume(':')) return Error(kiln::StrCat("expected ':' after '", key, "'"));
      SkipSpace();
      if (key == "descr") {
        KILN_ASSIGN_OR_RETURN(*descr, ParseString());
        have_descr = true;
      } else if (key == "fortran_order") {
        if (ConsumeWord("True")) {
          *fortran = true;
        } else if (ConsumeWord("False")) {
          *fortran = false;
        } else {
          return Error("fortran_order must be True or False");
        }
        have_fortran = true;
      } else if (key == "shape") {
        KILN_RETURN_IF_ERROR(ParseShape(shape));
        have_shape = true;
      } else {
        return Error(kiln::StrCat("unexpected key '", key, "'"));
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    if (!have_descr || !have_fortran || !have_shape) {
      return Error("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        kiln::StrCat(source_, ": malformed .npy header (", what, ") in \"", text_, "\""));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  absl::StatusOr<std::string> ParseString() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Error("expected a quoted string");
    }
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return Error("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  absl::Status ParseShape(Dims* shape) {
    shape->clear();
    if (!Consume('(')) return Error("shape must be a tuple");
    while (true) {
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
      size_t start = pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      // Python 2 era files may write longs as "3L".
      int64_t dim;
      if (!absl::SimpleAtoi(AsAbsl(text_.substr(start, pos_ - start)), &dim)) return Error("bad dimension in shape");
      Consume('L');
      shape->push_back(dim);
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
      return Error("expected ',' or ')' in shape");
    }
  }

  std::string_view text_;
  std::string_view source_;
  size_t pos_ = 0;
};

uint32_t ReadLE(std::string_view bytes, size_t offset, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[offset + i]);
  return v;
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(std::string_view bytes, std::string_view source_name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) {
    return absl::InvalidArgumentError(
        kiln::StrCat(source_name, ": not a .npy file (no \\x93NUMPY magic string)"));
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_start, header_len;
  if (major == 1) {
    header_start = 10;
    header_len = ReadLE(bytes, 8, 2);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return absl::DataLossError(kiln::StrCat(source_name, ": truncated .npy header"));
    header_start = 12;
    header_len = ReadLE(bytes, 8, 4);
  } else {
    return absl::InvalidArgumentError(
        kiln::StrCat(source_name, ": unsupported .npy format version ", major, ".",
                     static_cast<unsigned char>(bytes[7]), " (supported: 1.0, 2.0, 3.0)"));
  }
  if (bytes.size() - header_start < header_len) {
    return absl::DataLossError(kiln::StrCat(source_name, ": truncated .npy header (", header_len,
                                            " bytes announced, ", bytes.size() - header_start, " present)"));
  }
  std::string_view header = bytes.substr(header_start, header_len);
  std::string descr;
  bool fortran = false;
  Dims dims;
  KILN_RETURN_IF_ERROR(HeaderParser(FromAbsl(absl::StripAsciiWhitespace(AsAbsl(header))), source_name).Parse(&descr, &fortran, &dims));

  DType dtype = DType::kInvalid;
  for (const DescrEntry& e : kDescrs) {
    if (descr == e.descr) dtype = e.dtype;
  }
  if (dtype == DType::kInvalid) {
    if (!descr.empty() && descr[0] == '>') {
      return absl::InvalidArgumentError(kiln::StrCat(
          source_name, ": big-endian dtype '", descr,
          "' is not supported; save a little-endian copy (numpy: a.astype(a.dtype.newbyteorder('<')))"));
    }
    return absl::InvalidArgumentError(kiln::StrCat(
        source_name, ": unsupported .npy dtype '", descr,
        "' (supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1); convert the array with a.astype(...)"));
  }
  if (fortran) {
    int non_unit = 0;
    for (int64_t d : dims) non_unit += d != 1;
    if (non_unit > 1) {  // With at most one dimension above 1, Fortran and C order agree.
      return absl::InvalidArgumentError(kiln::StrCat(
          source_name, ": Fortran-order arrays are not supported; save with np.ascontiguousarray(a)"));
    }
  }
  // The shape is checked before it sizes anything: NumElements is -1 on overflow, and the element
  // count is bounded, so `need` cannot overflow either. A dim over the bound is refused even in an
  // empty tensor, as the runtime refuses it (no kernel has to handle one).
  const int64_t n = NumElements(dims);
  bool dim_too_big = false;
  for (int64_t d : dims) dim_too_big = dim_too_big || d > kMaxTensorElements;
  if (n < 0 || n > kMaxTensorElements || dim_too_big) {
    return absl::InvalidArgumentError(kiln::StrCat(source_name, ": shape ", DimsToString(dims),
                                                   " is larger than Kiln accepts for one tensor (at most ",
                                                   kMaxTensorElements, " elements, and no dimension over that)"));
  }
  const size_t data_start = header_start + header_len;
  const size_t need = static_cast<size_t>(n) * DTypeSize(dtype);
  const size_t have = bytes.size() - data_start;
  if (have < need) {
    return absl::DataLossError(kiln::StrCat(source_name, ": truncated .npy data: shape ", DimsToString(dims),
                                            " of ", descr, " needs ", need, " bytes, file has ", have));
  }
  if (have > need) {
    return absl::InvalidArgumentError(kiln::StrCat(source_name, ": .npy file has ", have - need,
                                                   " bytes after the data its header describes"));
  }
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(dtype, dims));
  if (need > 0) std::memcpy(t.raw_data(), bytes.data() + data_start, need);
  if (dtype == DType::kBool) {
    for (int64_t i = 0; i < n; ++i) {
      uint8_t& b = t.data<uint8_t>()[i];
      if (b > 1) return absl::InvalidArgumentError(kiln::StrCat(source_name, ": bool value ", b, " at ", i));
    }
  }
  return t;
}

absl::StatusOr<Tensor> ReadNpyFile(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadRegularFile(path, ".npy file", {.max_bytes = kMaxNpyFileBytes}));
  return ParseNpy(bytes, path);
}

absl::StatusOr<std::string> SerializeNpy(const Tensor& tensor) {
  if (!tensor.valid()) return absl::InvalidArgumentError("SerializeNpy: absent tensor");
  const char* descr = DescrOf(tensor.dtype());
  if (descr == nullptr) {
    return absl::InvalidArgumentError(kiln::StrCat(
        "a ", DTypeName(tensor.dtype()), " tensor cannot be written as .npy: NumPy has no ", DTypeName(tensor.dtype()),
        " dtype; convert it to f32 first (in the model: a Cast to float, ONNX Cast to=1, on that output; in C++: an "
        "f32 copy of the tensor)"));
  }
  std::string shape;
  if (tensor.rank() == 1) {
    shape = kiln::StrCat("(", tensor.dim(0), ",)");
  } else {
    shape = kiln::StrCat("(", absl::StrJoin(tensor.dims(), ", "), ")");
  }
  std::string dict = kiln::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Pad with spaces and a final newline so magic + version + length + header is a multiple of 64.
  auto padded = [&](size_t prefix) {
    size_t total = prefix + dict.size() + 1;
    return dict + std::string((64 - total % 64) % 64, ' ') + "\n";
  };
  std::string header = padded(10);
  std::string out(kMagic);
  if (header.size() <= 0xFFFF) {
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xFF);
    out += static_cast<char>(header.size() >> 8);
  } else {
    header = padded(12);
    out += '\x02';
    out += '\x00';
    for (int i = 0; i < 4; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  }
  out += header;
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
  return out;
}

absl::Status WriteNpyFile(const std::string& path, const Tensor& tensor) {
  absl::StatusOr<std::string> bytes = SerializeNpy(tensor);
  if (!bytes.ok()) return Annotate(bytes.status(), path);
  return WriteFileBytes(path, *bytes, ".npy file");
}

}  // namespace kiln
