// HLO text parser. Line-oriented, as XLA prints modules: one instruction per line, computations
// introduced by a line ending in '{' and closed by a line '}'. Accepts both the long form
// (`%add = f32[2]{0} add(f32[2]{0} %x, f32[2]{0} %y)`) and the short one (`add = f32[2]{0} add(x, y)`).
// Unknown attributes (metadata, sharding, frontend_attributes, ...) are skipped.
#include "kiln/hlo/parser.h"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <type_traits>
#include <cstdlib>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/native_types.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {


std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view StripPercent(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '%') s.remove_prefix(1);
  return s;
}

// `s` without /*...*/ comments outside quoted strings (XLA prints /*index=5*/ in long lists).
std::string StripComments(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') {
      size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\') ++j;
      }
      out.append(s.substr(i, std::min(j, s.size() - 1) - i + 1));
      i = j;
      continue;
    }
    if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      if (end == std::string_view::npos) break;
      i = end + 1;
      continue;
    }
    out += s[i];
  }
  return out;
}

// Index just past the bracket matching the one at `pos` (s[pos] is '(', '{' or '['); npos if
// unbalanced. Skips quoted strings.
size_t MatchBracket(std::string_view s, size_t pos) {
  int depth = 0;
  for (size_t i = pos; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
      }
      continue;
    }
    if (c == '(' || c == '{' || c == '[') ++depth;
    if (c == ')' || c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// Splits at top-level commas.
std::vector<std::string_view> SplitTopLevel(std::string_view s) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
      }
      continue;
    }
    if (c == '(' || c == '{' || c == '[') ++depth;
    if (c == ')' || c == '}' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(Trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  std::string_view last = Trim(s.substr(start));
  if (!last.empty()) parts.push_back(last);
  return parts;
}

// Length of the shape text at the start of `s` ("f32[2,3]{1,0}", "(f32[], s32[])", "token[]").
size_t ShapeLength(std::string_view s) {
  if (s.empty()) return 0;
  if (s[0] == '(') {
    size_t end = MatchBracket(s, 0);
    return end == std::string_view::npos ? 0 : end;
  }
  size_t i = s.find('[');
  if (i == std::string_view::npos) return 0;
  for (size_t k = 0; k < i; ++k) {
    if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9'))) return 0;
  }
  size_t end = MatchBracket(s, i);
  if (end == std::string_view::npos) return 0;
  if (end < s.size() && s[end] == '{') {
    size_t lend = MatchBracket(s, end);
    if (lend != std::string_view::npos) end = lend;
  }
  return end;
}

absl::StatusOr<int64_t> ParseInt(std::string_view s) {
  s = Trim(s);
  std::string str(s);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(str.c_str(), &end, 10);
  if (str.empty() || end != str.c_str() + str.size()) {
    return absl::InvalidArgumentError(kiln::StrCat("expected an integer, got '", s, "'"));
  }
  if (errno == ERANGE) return absl::InvalidArgumentError(kiln::StrCat("integer '", s, "' is out of the range of s64"));
  return v;
}

// Gather's and scatter's dimension-number attributes that hold lists, by attribute name.
template <typename Numbers>
using ListFields = std::pair<std::string_view, std::vector<int64_t> Numbers::*>;
constexpr ListFields<GatherDimensionNumbers> kGatherLists[] = {
    {"offset_dims", &GatherDimensionNumbers::offset_dims},
    {"collapsed_slice_dims", &GatherDimensionNumbers::collapsed_slice_dims},
    {"start_index_map", &GatherDimensionNumbers::start_index_map},
    {"operand_batching_dims", &GatherDimensionNumbers::operand_batching_dims},
    {"start_indices_batching_dims", &GatherDimensionNumbers::start_indices_batching_dims}};
constexpr ListFields<ScatterDimensionNumbers> kScatterLists[] = {
    {"update_window_dims", &ScatterDimensionNumbers::update_window_dims},
    {"inserted_window_dims", &ScatterDimensionNumbers::inserted_window_dims},
    {"scatter_dims_to_operand_dims", &ScatterDimensionNumbers::scatter_dims_to_operand_dims},
    {"input_batching_dims", &ScatterDimensionNumbers::input_batching_dims},
    {"scatter_indices_batching_dims", &ScatterDimensionNumbers::scatter_indices_batching_dims}};

template <typename Numbers, size_t N>
std::vector<int64_t> Numbers::*ListField(const ListFields<Numbers> (&fields)[N], std::string_view key) {
  for (const auto& [name, field] : fields) {
    if (name == key) return field;
  }
  return nullptr;
}

absl::StatusOr<std::vector<int64_t>> ParseIntList(std::string_view s);

// Sets the field `key` names (a list, or index_vector_dim) from its text.
template <typename Numbers, size_t N>
absl::Status SetDimensionNumbersField(const ListFields<Numbers> (&fields)[N], std::string_view key,
                                      std::string_view value, Numbers* numbers) {
  if (key == "index_vector_dim") {
    KILN_ASSIGN_OR_RETURN(numbers->index_vector_dim, ParseInt(value));
  } else {
    KILN_ASSIGN_OR_RETURN(numbers->*ListField(fields, key), ParseIntList(value));
  }
  return absl::OkStatus();
}

// The text between the brackets of "{...}" (or another pair); an error naming `what` otherwise.
absl::StatusOr<std::string_view> Bracketed(std::string_view s, char open, char close, std::string_view what) {
  s = Trim(s);
  if (s.size() < 2 || s.front() != open || s.back() != close) {
    return absl::InvalidArgumentError(kiln::StrCat(what, " must be written ", std::string(1, open), "...",
                                          std::string(1, close), ", got '", s, "'"));
  }
  return s.substr(1, s.size() - 2);
}

absl::StatusOr<std::vector<int64_t>> ParseIntList(std::string_view s) {
  s = Trim(s);
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') {
    return absl::InvalidArgumentError(kiln::StrCat("expected {a,b,...}, got '", s, "'"));
  }
  std::vector<int64_t> out;
  std::string inner(s.substr(1, s.size() - 2));
  for (absl::string_view part : absl::StrSplit(inner, ',', absl::SkipWhitespace())) {
    KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(std::string_view(part.data(), part.size())));
    out.push_back(v);
  }
  return out;
}

// "3x3" -> {3, 3}; elements may be "1_1" pairs (returned as strings).
std::vector<std::string> SplitX(std::string_view s) {
  std::vector<std::string> out;
  for (absl::string_view p : absl::StrSplit(std::string(s), 'x')) out.emplace_back(p);
  return out;
}

absl::StatusOr<Window> ParseWindow(std::string_view s) {
  s = Trim(s);
  if (s.size() < 2 || s.front() != '{') return absl::InvalidArgumentError("window must be {...}");
  Window w;
  std::string inner(s.substr(1, s.size() - 2));
  for (absl::string_view field : absl::StrSplit(inner, ' ', absl::SkipWhitespace())) {
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return absl::InvalidArgumentError("bad window field");
    std::string key(field.substr(0, eq));
    std::vector<std::string> vals = SplitX(std::string_view(field.data() + eq + 1, field.size() - eq - 1));
    if (key == "size") w.dimensions.resize(vals.size());
    if (vals.size() != w.dimensions.size()) {
      return absl::InvalidArgumentError(kiln::StrCat("window field ", key, " has the wrong rank"));
    }
    for (size_t i = 0; i < vals.size(); ++i) {
      WindowDimension& d = w.dimensions[i];
      if (key == "pad") {
        size_t u = vals[i].find('_', 1);
        if (u == std::string::npos) return absl::InvalidArgumentError("pad must be lo_hi");
        KILN_ASSIGN_OR_RETURN(d.padding_low, ParseInt(std::string_view(vals[i]).substr(0, u)));
        KILN_ASSIGN_OR_RETURN(d.padding_high, ParseInt(std::string_view(vals[i]).substr(u + 1)));
        continue;
      }
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(vals[i]));
      if (key == "size") d.size = v;
      else if (key == "stride") d.stride = v;
      else if (key == "lhs_dilate") d.base_dilation = v;
      else if (key == "rhs_dilate") d.window_dilation = v;
      else if (key == "rhs_reversal") d.window_reversal = v != 0;
      else return absl::InvalidArgumentError(kiln::StrCat("unknown window field ", key));
    }
  }
  return w;
}

absl::StatusOr<PaddingConfig> ParsePadding(std::string_view s) {
  PaddingConfig p;
  if (Trim(s).empty()) return p;  // A rank-0 pad.
  for (const std::string& dim : SplitX(Trim(s))) {
    // Values may be negative: split on '_' that are not a leading minus sign.
    std::vector<int64_t> v;
    size_t start = 0;
    for (size_t i = 1; i <= dim.size(); ++i) {
      if (i == dim.size() || (dim[i] == '_' )) {
        KILN_ASSIGN_OR_RETURN(int64_t x, ParseInt(std::string_view(dim).substr(start, i - start)));
        v.push_back(x);
        start = i + 1;
        ++i;
      }
    }
    if (v.size() < 2 || v.size() > 3) return absl::InvalidArgumentError(kiln::StrCat("bad padding '", dim, "'"));
    p.push_back({v[0], v[1], v.size() == 3 ? v[2] : 0});
  }
  return p;
}

absl::StatusOr<ConvolutionDimensionNumbers> ParseDimLabels(std::string_view s) {
  size_t us = s.find('_'), arrow = s.find("->");
  if (us == std::string_view::npos || arrow == std::string_view::npos || arrow < us || us < 2) {
    return absl::InvalidArgumentError(kiln::StrCat("bad dim_labels '", s, "' (expected e.g. b01f_01io->b01f)"));
  }
  std::string_view in = s.substr(0, us), k = s.substr(us + 1, arrow - us - 1), out = s.substr(arrow + 2);
  ConvolutionDimensionNumbers d;
  size_t ns = in.size() - 2;
  d.input_spatial_dimensions.assign(ns, -1);
  d.kernel_spatial_dimensions.assign(ns, -1);
  d.output_spatial_dimensions.assign(ns, -1);
  auto fill = [&](std::string_view labels, char a, int64_t* da, char b, int64_t* db,
                  std::vector<int64_t>* spatial) -> absl::Status {
    if (labels.size() != ns + 2) return absl::InvalidArgumentError("dim_labels ranks differ");
    *da = *db = -1;
    for (size_t i = 0; i < labels.size(); ++i) {
      char c = labels[i];
      int64_t* slot = c == a ? da : c == b ? db
                    : (c >= '0' && c <= '9' && static_cast<size_t>(c - '0') < ns) ? &(*spatial)[c - '0']
                                                                                   : nullptr;
      if (slot == nullptr || *slot != -1) {
        return absl::InvalidArgumentError(kiln::StrCat("bad dim_labels '", s, "' (each label once per part)"));
      }
      *slot = static_cast<int64_t>(i);
    }
    return absl::OkStatus();
  };
  KILN_RETURN_IF_ERROR(fill(in, 'b', &d.input_batch_dimension, 'f', &d.input_feature_dimension,
                       &d.input_spatial_dimensions));
  KILN_RETURN_IF_ERROR(fill(k, 'o', &d.kernel_output_feature_dimension, 'i',
                       &d.kernel_input_feature_dimension, &d.kernel_spatial_dimensions));
  KILN_RETURN_IF_ERROR(fill(out, 'b', &d.output_batch_dimension, 'f', &d.output_feature_dimension,
                       &d.output_spatial_dimensions));
  return d;
}

// Reads the element values of a constant ("{{1, 2}, {3, 4}}", "7", "true", "-inf", "nan").
absl::StatusOr<Literal> ParseLiteral(const Shape& shape, std::string_view text) {
  if (!shape.IsArray()) return absl::UnimplementedError("only array constants are parsed");
  Literal lit(shape);
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : text) {
    if (c == '{' || c == '}' || c == ',' || c == ' ' || c == '\n') {
      if (!cur.empty()) tokens.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(cur);
  if (static_cast<int64_t>(tokens.size()) != lit.element_count()) {
    return absl::InvalidArgumentError(kiln::StrCat("constant has ", tokens.size(), " values, ",
                                          shape.ToString(false), " needs ", lit.element_count()));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t == "true" || t == "false") {
      lit.SetFromDouble(i, t == "true" ? 1 : 0);
      continue;
    }
    if (IsIntegralType(shape.element_type())) {
      // Each value must fit the element type: `s8 300` or a u64 above 2^64-1 is an error, not a
      // silently wrapped or saturated value.
      absl::Status status;
      DispatchArrayType(shape.element_type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          char* end = nullptr;
          errno = 0;
          bool fits = false;
          T value{};
          if constexpr (std::is_unsigned_v<T>) {
            const bool negative = !t.empty() && t[0] == '-';
            unsigned long long u = std::strtoull(t.c_str(), &end, 10);
            fits = !negative && errno != ERANGE && u <= std::numeric_limits<T>::max();
            value = static_cast<T>(u);
          } else {
            long long v = std::strtoll(t.c_str(), &end, 10);
            fits = errno != ERANGE && v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
            value = static_cast<T>(v);
          }
          if (t.empty() || end != t.c_str() + t.size()) {
            status = absl::InvalidArgumentError(kiln::StrCat("bad integer constant value '", t, "'"));
          } else if (!fits) {
            status = absl::InvalidArgumentError(
                kiln::StrCat("constant value ", t, " does not fit ", PrimitiveTypeName(shape.element_type())));
          } else {
            lit.data<T>()[i] = value;
          }
        } else {
          absl::StatusOr<int64_t> v = ParseInt(t);
          if (!v.ok()) {
            status = v.status();
          } else {
            lit.data<T>()[i] = ConvertElement<T>(*v);
          }
        }
      });
      KILN_RETURN_IF_ERROR(status);
      continue;
    }
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size()) {
      return absl::InvalidArgumentError(kiln::StrCat("bad constant value '", t, "'"));
    }
    if (shape.element_type() == PrimitiveType::F32) {
      lit.data<float>()[i] = std::strtof(t.c_str(), nullptr);
    } else {
      lit.SetFromDouble(i, v);
    }
  }
  return lit;
}

class Parser {
 public:
  absl::StatusOr<std::unique_ptr<Module>> Parse(std::string_view text) {
    std::vector<std::string_view> lines;
    for (absl::string_view l : absl::StrSplit(AsAbsl(text), '\n')) {
      lines.emplace_back(l.data(), l.size());
    }
    std::unique_ptr<Module> module;
    std::unique_ptr<Computation> current;
    bool current_is_entry = false;
    bool in_debug_table = false;
    Instruction* root = nullptr;
    for (size_t n = 0; n < lines.size(); ++n) {
      line_ = n + 1;
      std::string uncommented = StripComments(lines[n]);
      std::string_view line = Trim(uncommented);
      // XLA's long form prints source-location tables (FileNames, FunctionNames, FileLocations,
      // StackFrames) between the module header and the computations, each ending at a blank line.
      if (current == nullptr && (line == "FileNames" || line == "FunctionNames" ||
                                 line == "FileLocations" || line == "StackFrames")) {
        in_debug_table = true;
        continue;
      }
      if (in_debug_table && !line.empty()) continue;
      in_debug_table = false;
      if (line.empty() || line.substr(0, 2) == "//") continue;
      if (line.substr(0, 10) == "HloModule ") {
        std::string_view rest = Trim(line.substr(10));
        size_t end = rest.find_first_of(", ");
        if (module != nullptr) return Error("a second 'HloModule' line");
        if (!IsValidHloName(rest.substr(0, end))) {
          return Error(kiln::StrCat("bad module name '", rest.substr(0, end), "' (use A-Z a-z 0-9 _ . -)"));
        }
        module = std::make_unique<Module>(std::string(rest.substr(0, end)));
        continue;
      }
      if (module == nullptr) return Error("expected 'HloModule name' first");
      if (current == nullptr) {
        if (line.back() != '{') return Error("expected a computation header ending in '{'");
        current_is_entry = line.substr(0, 6) == "ENTRY ";
        if (current_is_entry) line = Trim(line.substr(6));
        line = StripPercent(line);
        size_t end = line.find_first_of(" ({");
        if (!IsValidHloName(line.substr(0, end))) {
          return Error(kiln::StrCat("bad computation name '", line.substr(0, end), "' (use A-Z a-z 0-9 _ . -)"));
        }
        if (computations_.count(std::string(line.substr(0, end))) != 0) {
          return Error(kiln::StrCat("computation '", line.substr(0, end), "' is defined twice"));
        }
        current = std::make_unique<Computation>(std::string(line.substr(0, end)));
        values_.clear();
        root = nullptr;
        continue;
      }
      if (line == "}") {
        if (root == nullptr) {
          std::vector<Instruction*> all = current->instructions();
          if (all.empty()) return Error("empty computation");
          root = all.back();
        }
        current->set_root_instruction(root);
        std::string name = current->name();
        Computation* added = current_is_entry ? module->AddEntryComputation(std::move(current))
                                              : module->AddEmbeddedComputation(std::move(current));
        computations_[name] = added;
        continue;
      }
      bool is_root = false;
      if (line.substr(0, 5) == "ROOT ") {
        is_root = true;
        line = Trim(line.substr(5));
      }
      absl::StatusOr<Instruction*> instr = ParseInstruction(line, current.get());
      if (!instr.ok()) return Error(std::string(instr.status().message()));
      if (is_root) root = *instr;
    }
    if (module == nullptr) return Error("no HloModule line");
    if (current != nullptr) return Error("unterminated computation (missing '}')");
    if (module->entry_computation() == nullptr) {
      // Without an ENTRY marker, the last computation is the entry (as in XLA).
      std::vector<Computation*> comps = module->MakeComputationPostOrder();
      if (comps.empty()) return Error("module has no computations");
      return Error("module has no ENTRY computation");
    }
    return module;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(kiln::StrCat("HLO text line ", line_, ": ", what));
  }

  absl::StatusOr<Computation*> FindComputation(std::string_view name) const {
    auto it = computations_.find(std::string(StripPercent(name)));
    if (it == computations_.end()) {
      return absl::InvalidArgumentError(
          kiln::StrCat("unknown computation '", name, "' (callees must precede their callers)"));
    }
    return it->second;
  }

  absl::StatusOr<Instruction*> ParseInstruction(std::string_view line, Computation* comp) {
    size_t eq = line.find(" = ");
    if (eq == std::string_view::npos) return absl::InvalidArgumentError("expected 'name = ...'");
    std::string name(StripPercent(line.substr(0, eq)));
    if (!IsValidHloName(name)) return absl::InvalidArgumentError(kiln::StrCat("bad instruction name '", name, "' (use A-Z a-z 0-9 _ . -)"));
    if (values_.count(name) != 0) return absl::InvalidArgumentError(kiln::StrCat("instruction name '", name, "' is used twice"));
    std::string_view rest = Trim(line.substr(eq + 3));
    size_t shape_len = ShapeLength(rest);
    if (shape_len == 0) return absl::InvalidArgumentError(kiln::StrCat("expected a shape in '", rest, "'"));
    KILN_ASSIGN_OR_RETURN(Shape shape, ParseShape(rest.substr(0, shape_len)));
    rest = Trim(rest.substr(shape_len));
    size_t paren = rest.find('(');
    if (paren == std::string_view::npos) return absl::InvalidArgumentError("expected '(' after the opcode");
    std::string_view opcode_text = Trim(rest.substr(0, paren));
    KILN_ASSIGN_OR_RETURN(Opcode opcode, StringToOpcode(opcode_text));
    size_t close = MatchBracket(rest, paren);
    if (close == std::string_view::npos) return absl::InvalidArgumentError("unbalanced operands");
    std::string_view operand_text = rest.substr(paren + 1, close - paren - 2);
    std::string_view attr_text = Trim(rest.substr(close));
    if (!attr_text.empty() && attr_text.front() == ',') attr_text = Trim(attr_text.substr(1));

    std::unique_ptr<Instruction> instr;
    if (opcode == Opcode::kParameter) {
      KILN_ASSIGN_OR_RETURN(int64_t number, ParseInt(operand_text));
      if (number < 0 || number >= kMaxParameters) {
        return absl::InvalidArgumentError(
            kiln::StrCat("parameter number ", number, " of %", name, " is outside [0, ", kMaxParameters, ")"));
      }
      if (number < comp->num_parameters() && comp->parameter_instruction(number) != nullptr) {
        return absl::InvalidArgumentError(kiln::StrCat("parameter number ", number, " is used twice (%", name, ")"));
      }
      instr = Instruction::CreateParameter(number, shape, name);
    } else if (opcode == Opcode::kConstant) {
      KILN_RETURN_IF_ERROR(ShapeUtil::ValidateShape(shape));
      // Each element is written out, so the text bounds the element count (and the allocation).
      if (shape.IsArray() && ShapeUtil::ElementsIn(shape) > static_cast<int64_t>(operand_text.size()) + 1) {
        return absl::InvalidArgumentError(kiln::StrCat("constant %", name, " of shape ", shape.ToString(), " has ",
                                              ShapeUtil::ElementsIn(shape), " elements but ",
                                              operand_text.size(), " characters of values"));
      }
      KILN_ASSIGN_OR_RETURN(Literal lit, ParseLiteral(shape, operand_text));
      instr = Instruction::CreateConstant(std::move(lit));
      *instr->mutable_shape() = shape;
    } else {
      std::vector<Instruction*> operands;
      for (std::string_view op : SplitTopLevel(operand_text)) {
        size_t len = ShapeLength(op);
        // "f32[2]{0} %x" (long form) or "x" (short form).
        if (len > 0 && len < op.size() && op[len] == ' ') op = Trim(op.substr(len));
        auto it = values_.find(std::string(StripPercent(op)));
        if (it == values_.end()) {
          return absl::InvalidArgumentError(kiln::StrCat("unknown operand '", op, "' of %", name));
        }
        operands.push_back(it->second);
      }
      instr = Instruction::Create(opcode, shape, std::move(operands));
    }
    instr->set_name(name);
    KILN_RETURN_IF_ERROR(Annotate(ParseAttributes(attr_text, instr.get()), kiln::StrCat("%", name)));
    Instruction* added = comp->AddInstruction(std::move(instr));
    values_[name] = added;
    return added;
  }

  // The computations an instruction's attributes name, by role, until ParseAttributes assigns
  // them in the order the opcode calls them.
  struct CalledComputations {
    std::vector<Computation*> called;  // to_apply, calls or branch_computations.
    Computation* true_comp = nullptr;
    Computation* false_comp = nullptr;
    Computation* select = nullptr;
    Computation* scatter = nullptr;
    Computation* condition = nullptr;
    Computation* body = nullptr;
  };

  absl::Status ParseAttributes(std::string_view text, Instruction* instr) {
    CalledComputations calls;
    for (std::string_view attr : SplitTopLevel(text)) {
      size_t eq = attr.find('=');
      if (eq == std::string_view::npos) return absl::InvalidArgumentError(kiln::StrCat("bad attribute '", attr, "'"));
      std::string key(Trim(attr.substr(0, eq)));
      std::string_view value = Trim(attr.substr(eq + 1));
      KILN_ASSIGN_OR_RETURN(bool called, ParseCalledComputation(key, value, calls));
      if (!called) KILN_RETURN_IF_ERROR(ParseDataAttribute(key, value, instr));
    }
    std::vector<Computation*> called = std::move(calls.called);
    if (calls.select && calls.scatter) called = {calls.select, calls.scatter};
    if (calls.condition && calls.body) called = {calls.condition, calls.body};
    if (calls.true_comp && calls.false_comp) called = {calls.true_comp, calls.false_comp};
    if (!called.empty()) instr->set_called_computations(std::move(called));
    return absl::OkStatus();
  }

  // An attribute that names computations; false when `key` is not one.
  absl::StatusOr<bool> ParseCalledComputation(const std::string& key, std::string_view value,
                                              CalledComputations& calls) {
    if (key == "calls" || key == "to_apply") {
      KILN_ASSIGN_OR_RETURN(Computation * c, FindComputation(value));
      calls.called = {c};
    } else if (key == "select") {
      KILN_ASSIGN_OR_RETURN(calls.select, FindComputation(value));
    } else if (key == "scatter") {
      KILN_ASSIGN_OR_RETURN(calls.scatter, FindComputation(value));
    } else if (key == "condition") {
      KILN_ASSIGN_OR_RETURN(calls.condition, FindComputation(value));
    } else if (key == "body") {
      KILN_ASSIGN_OR_RETURN(calls.body, FindComputation(value));
    } else if (key == "true_computation") {
      KILN_ASSIGN_OR_RETURN(calls.true_comp, FindComputation(value));
    } else if (key == "false_computation") {
      KILN_ASSIGN_OR_RETURN(calls.false_comp, FindComputation(value));
    } else if (key == "branch_computations") {
      calls.called.clear();
      KILN_ASSIGN_OR_RETURN(std::string_view all, Bracketed(value, '{', '}', "branch_computations"));
      for (std::string_view c : SplitTopLevel(all)) {
        KILN_ASSIGN_OR_RETURN(Computation * comp, FindComputation(c));
        calls.called.push_back(comp);
      }
    } else {
      return false;
    }
    return true;
  }

  // An attribute that sets the instruction's data (dimensions, window, dimension numbers, ...).
  // Anything else (metadata, sharding, frontend_attributes, precision, ...) is skipped.
  absl::Status ParseDataAttribute(const std::string& key, std::string_view value, Instruction* instr) {
    const Opcode op = instr->opcode();
    if (key == "dimensions") {
      KILN_ASSIGN_OR_RETURN(std::vector<int64_t> d, ParseIntList(value));
      instr->set_dimensions(std::move(d));
    } else if (key == "iota_dimension") {
      KILN_ASSIGN_OR_RETURN(int64_t d, ParseInt(value));
      instr->set_dimensions({d});
    } else if (key == "slice") {
      KILN_RETURN_IF_ERROR(ParseSlice(value, instr));
    } else if (key == "dynamic_slice_sizes" || key == "slice_sizes") {
      KILN_ASSIGN_OR_RETURN(std::vector<int64_t> d, ParseIntList(value));
      instr->set_slice_sizes(std::move(d));
    } else if (key == "padding") {
      KILN_ASSIGN_OR_RETURN(PaddingConfig p, ParsePadding(value));
      instr->set_padding_config(std::move(p));
    } else if (key == "window") {
      KILN_ASSIGN_OR_RETURN(Window w, ParseWindow(value));
      instr->set_window(std::move(w));
    } else if (key == "dim_labels") {
      KILN_ASSIGN_OR_RETURN(ConvolutionDimensionNumbers d, ParseDimLabels(value));
      instr->set_convolution_dimension_numbers(std::move(d));
    } else if (key == "feature_group_count") {
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(value));
      instr->set_feature_group_count(v);
    } else if (key == "batch_group_count") {
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(value));
      instr->set_batch_group_count(v);
    } else if (key == "lhs_batch_dims" || key == "rhs_batch_dims" ||
               key == "lhs_contracting_dims" || key == "rhs_contracting_dims") {
      KILN_ASSIGN_OR_RETURN(std::vector<int64_t> d, ParseIntList(value));
      DotDimensionNumbers dn = instr->dot_dimension_numbers();
      if (key == "lhs_batch_dims") dn.lhs_batch_dimensions = d;
      if (key == "rhs_batch_dims") dn.rhs_batch_dimensions = d;
      if (key == "lhs_contracting_dims") dn.lhs_contracting_dimensions = d;
      if (key == "rhs_contracting_dims") dn.rhs_contracting_dimensions = d;
      instr->set_dot_dimension_numbers(std::move(dn));
    } else if (key == "direction") {
      KILN_ASSIGN_OR_RETURN(ComparisonDirection d, ParseComparisonDirection(value));
      instr->set_comparison_direction(d);
    } else if (key == "type" && op == Opcode::kCompare) {
      KILN_ASSIGN_OR_RETURN(ComparisonType t, ParseComparisonType(value));
      instr->set_comparison_type(t);
    } else if (key == "index") {
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(value));
      instr->set_tuple_index(v);
    } else if (key == "exponent_bits") {
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(value));
      instr->set_reduce_precision(v, instr->mantissa_bits());
    } else if (key == "mantissa_bits") {
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(value));
      instr->set_reduce_precision(instr->exponent_bits(), v);
    } else if (key == "epsilon") {
      instr->set_epsilon(std::strtof(std::string(value).c_str(), nullptr));
    } else if (key == "feature_index") {
      KILN_ASSIGN_OR_RETURN(int64_t v, ParseInt(value));
      instr->set_feature_index(v);
    } else if (key == "is_stable") {
      instr->set_is_stable(value == "true");
    } else if (key == "indices_are_sorted") {
      instr->set_indices_are_sorted(value == "true");
    } else if (key == "unique_indices") {
      instr->set_unique_indices(value == "true");
    } else if (ListField(kGatherLists, key) != nullptr || (key == "index_vector_dim" && op == Opcode::kGather)) {
      GatherDimensionNumbers g = instr->gather_dimension_numbers();
      KILN_RETURN_IF_ERROR(SetDimensionNumbersField(kGatherLists, key, value, &g));
      instr->set_gather_dimension_numbers(std::move(g));
    } else if (ListField(kScatterLists, key) != nullptr || key == "index_vector_dim") {
      ScatterDimensionNumbers sc = instr->scatter_dimension_numbers();
      KILN_RETURN_IF_ERROR(SetDimensionNumbersField(kScatterLists, key, value, &sc));
      instr->set_scatter_dimension_numbers(std::move(sc));
    } else if (key == "algorithm") {
      RandomAlgorithm a = RandomAlgorithm::kDefault;
      if (value == "rng_three_fry") a = RandomAlgorithm::kThreeFry;
      if (value == "rng_philox") a = RandomAlgorithm::kPhilox;
      instr->set_rng_algorithm(a);
    } else if (key == "scale") {
      KILN_RETURN_IF_ERROR(ParseScales(value, instr));
    } else if (key == "zero_point") {
      QuantizationParams q = instr->quantization();
      KILN_ASSIGN_OR_RETURN(q.zero_points, ParseIntList(value));
      instr->set_quantization(std::move(q));
    } else if (key == "quantization_dimension") {
      QuantizationParams q = instr->quantization();
      KILN_ASSIGN_OR_RETURN(q.quantization_dimension, ParseInt(value));
      instr->set_quantization(std::move(q));
    } else if (key == "custom_call_target") {
      KILN_ASSIGN_OR_RETURN(std::string_view target, Bracketed(value, '"', '"', "custom_call_target"));
      instr->set_custom_call_target(std::string(target));
    } else if (key == "backend_config") {
      std::string v;
      if (!value.empty() && value.front() == '"') {
        for (size_t i = 1; i + 1 < value.size(); ++i) {
          if (value[i] == '\\' && i + 2 < value.size()) ++i;
          v += value[i];
        }
      } else {
        v = std::string(value);
      }
      instr->set_backend_config(std::move(v));
    } else if (key == "kind" && op == Opcode::kFusion) {
      KILN_ASSIGN_OR_RETURN(FusionKind kind, ParseFusionKind(value));
      instr->set_fusion_kind(kind);
    }
    return absl::OkStatus();
  }

  // slice={[start:limit(:stride)], ...}
  absl::Status ParseSlice(std::string_view value, Instruction* instr) {
    std::vector<int64_t> starts, limits, strides;
    KILN_ASSIGN_OR_RETURN(std::string_view all, Bracketed(value, '{', '}', "slice"));
    for (std::string_view part : SplitTopLevel(all)) {
      KILN_ASSIGN_OR_RETURN(std::string_view one, Bracketed(part, '[', ']', "a slice dimension"));
      std::string inner(one);
      std::vector<std::string> f;
      for (absl::string_view x : absl::StrSplit(inner, ':')) f.emplace_back(x);
      if (f.size() < 2) return absl::InvalidArgumentError("bad slice");
      KILN_ASSIGN_OR_RETURN(int64_t s, ParseInt(f[0]));
      KILN_ASSIGN_OR_RETURN(int64_t l, ParseInt(f[1]));
      int64_t st = 1;
      if (f.size() == 3) {
        KILN_ASSIGN_OR_RETURN(st, ParseInt(f[2]));
      }
      starts.push_back(s);
      limits.push_back(l);
      strides.push_back(st);
    }
    instr->set_slice(starts, limits, strides);
    return absl::OkStatus();
  }

  // scale={s0,s1,...}
  absl::Status ParseScales(std::string_view value, Instruction* instr) {
    QuantizationParams q = instr->quantization();
    q.scales.clear();
    KILN_ASSIGN_OR_RETURN(std::string_view all, Bracketed(value, '{', '}', "scale"));
    std::string inner(all);
    for (absl::string_view p : absl::StrSplit(inner, ',', absl::SkipWhitespace())) {
      double v = 0;
      if (!absl::SimpleAtod(p, &v)) return absl::InvalidArgumentError(kiln::StrCat("bad scale '", p, "'"));
      q.scales.push_back(v);
    }
    instr->set_quantization(std::move(q));
    return absl::OkStatus();
  }

  size_t line_ = 0;
  // Parameter numbers index a table; a computation has fewer parameters than this.
  static constexpr int64_t kMaxParameters = int64_t{1} << 20;
  std::map<std::string, Instruction*> values_;
  std::map<std::string, Computation*> computations_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Module>> ParseModule(std::string_view text) {
  return Parser().Parse(text);
}

}  // namespace kiln::hlo
