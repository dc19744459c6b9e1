// External oracle for the HLO layer: every module under tests/hlo/oracle/cases/ is XLA's HLO text
// as JAX lowered it (before optimisation), with inputs and the outputs XLA CPU computed
// (tests/hlo/oracle/generate.py writes them; docs/operation_semantics.md, "External oracle").
// For each case: parse, verify, check that printing re-parses to the same text (and that XLA's
// long form, `<name>.full.hlo` where present, parses to the same module), run the interpreter and
// compare with XLA. Integer, predicate and bitwise results must match exactly;
// floating point within the tolerances documented at `Tolerance` below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/hlo/evaluator.h"
#include "kiln/hlo/literal.h"
#include "kiln/hlo/parser.h"
#include "kiln/hlo/verifier.h"

namespace kiln::hlo {
namespace {

namespace fs = std::filesystem;

const char kCaseDir[] = KILN_SOURCE_DIR "/tests/hlo/oracle/cases";

struct Case {
  std::string name;
  std::string hlo;
  std::string full_hlo;  // XLA's long form of the same module, for some cases; else empty.
  std::vector<Literal> args;
  std::vector<Literal> outs;
};

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One `arg|out <shape> <hex>` line.
absl::StatusOr<Literal> ParseValueLine(const std::string& shape_text, const std::string& hex) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ParseShape(shape_text));
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd hex length");
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return Literal::CreateFromBytes(shape, bytes.data(), bytes.size());
}

absl::StatusOr<Case> LoadCase(const fs::path& hlo_path) {
  Case c;
  c.name = hlo_path.stem().string();
  KILN_ASSIGN_OR_RETURN(c.hlo, ReadFile(hlo_path));
  fs::path full_path = hlo_path;
  full_path.replace_extension(".full.hlo");
  if (fs::exists(full_path)) {
    KILN_ASSIGN_OR_RETURN(c.full_hlo, ReadFile(full_path));
  }
  fs::path lit_path = hlo_path;
  lit_path.replace_extension(".lit");
  KILN_ASSIGN_OR_RETURN(std::string lit, ReadFile(lit_path));
  std::istringstream lines(lit);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string kind, shape, hex;
    fields >> kind >> shape >> hex;
    absl::StatusOr<Literal> value = ParseValueLine(shape, hex);
    if (!value.ok()) return Annotate(value.status(), lit_path.string());
    Literal l = *std::move(value);
    if (kind == "arg") {
      c.args.push_back(std::move(l));
    } else if (kind == "out") {
      c.outs.push_back(std::move(l));
    } else {
      return absl::InvalidArgumentError(lit_path.string() + ": bad line kind " + kind);
    }
  }
  return c;
}

std::vector<fs::path> CasePaths() {
  std::vector<fs::path> paths;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kCaseDir, ec)) {
    std::string name = e.path().filename().string();
    bool full = name.size() > 9 && name.compare(name.size() - 9, 9, ".full.hlo") == 0;
    if (e.path().extension() == ".hlo" && !full) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// The opcodes whose floating-point results depend on the order of accumulation (XLA CPU
// vectorises and reassociates these sums; the interpreter accumulates in index order), or that
// feed such results through further math.
bool Accumulates(Opcode op) {
  switch (op) {
    case Opcode::kDot:
    case Opcode::kConvolution:
    case Opcode::kReduce:
    case Opcode::kReduceWindow:
    case Opcode::kScatter:
    case Opcode::kSelectAndScatter:
    case Opcode::kBatchNormTraining:
    case Opcode::kBatchNormGrad:
      return true;
    default:
      return false;
  }
}

// Tolerance for one floating-point output element: |actual - expected| <= rtol*|expected| + atol.
//  - elementwise modules: rtol = max(1e-5, one ulp of the element type), atol = 1e-6. 1e-5 is ~80
//    f32 ulps: XLA CPU evaluates exp/log/tanh/erf/sin... with its own polynomial approximations,
//    the interpreter with the C library; both are accurate to a few ulps, and a chain of a few
//    such ops stays well inside. For f16 (ulp 2^-10) and bf16 (ulp 2^-7) results, both compute
//    in f32 and round once, so they agree or differ by the one ulp a near-tie f32 difference flips.
//  - modules with an accumulating op (Accumulates): rtol = max(1e-4, 2 ulps of the type),
//    atol = 1e-5 * (1 + max |expected| of that output) (2 ulps + 8 * 2^-8 scale for bf16/f16
//    results). The inputs are O(1) and sums have at most ~150 terms, so reordering changes a
//    sum by at most n * eps * sum|terms| ~ 150 * 6e-8 * (n * max) relative to the output scale;
//    the atol term scaled by the output's largest magnitude covers cancellation (a small element
//    of an output whose other elements are large).
struct Tolerance {
  double rtol;
  double atol;
};

double Ulp(PrimitiveType t) {
  switch (t) {
    case PrimitiveType::F16:
      return std::ldexp(1.0, -10);
    case PrimitiveType::BF16:
      return std::ldexp(1.0, -7);
    case PrimitiveType::F32:
      return std::ldexp(1.0, -23);
    default:
      return std::ldexp(1.0, -52);
  }
}

Tolerance ToleranceFor(PrimitiveType t, bool accumulating, double max_abs) {
  if (!accumulating) return {std::max(1e-5, Ulp(t)), 1e-6};
  double rtol = std::max(1e-4, 2 * Ulp(t));
  double scale = (t == PrimitiveType::F16 || t == PrimitiveType::BF16) ? 8 * Ulp(t) : 1e-5;
  return {rtol, scale * (1 + max_abs)};
}

// Compares one output leaf; returns an empty string when it matches, else a description of the
// first mismatches. Raises *max_rel_err to the largest |actual - expected| / bound seen (the
// fraction of the tolerance used; <= 1 when the leaf matches).
std::string CompareLeaf(const Literal& actual, const Literal& expected, bool accumulating,
                        double* max_rel_err) {
  if (!ShapeUtil::Compatible(actual.shape(), expected.shape())) {
    return "shape " + actual.shape().ToString(false) + ", XLA " + expected.shape().ToString(false);
  }
  PrimitiveType t = expected.shape().element_type();
  if (!IsFloatingPointType(t)) {
    if (actual.size_bytes() == expected.size_bytes() &&
        std::memcmp(actual.untyped_data(), expected.untyped_data(), actual.size_bytes()) == 0) {
      return "";
    }
    std::string msg;
    int shown = 0;
    for (int64_t i = 0; i < expected.element_count() && shown < 4; ++i) {
      if (actual.GetAsInt64(i) != expected.GetAsInt64(i)) {
        msg += " [" + std::to_string(i) + "] got " + std::to_string(actual.GetAsInt64(i)) +
               " want " + std::to_string(expected.GetAsInt64(i)) + ";";
        ++shown;
      }
    }
    return "exact mismatch:" + msg;
  }
  double max_abs = 0;
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    double e = expected.GetAsDouble(i);
    if (std::isfinite(e)) max_abs = std::max(max_abs, std::fabs(e));
  }
  Tolerance tol = ToleranceFor(t, accumulating, max_abs);
  std::string msg;
  int shown = 0;
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    double a = actual.GetAsDouble(i), e = expected.GetAsDouble(i);
    bool ok;
    if (std::isnan(e) || std::isinf(e)) {
      ok = std::isnan(e) ? std::isnan(a) : a == e;
    } else {
      double err = std::fabs(a - e);
      double bound = tol.rtol * std::fabs(e) + tol.atol;
      ok = err <= bound;
      if (std::isfinite(a)) *max_rel_err = std::max(*max_rel_err, err / bound);
    }
    if (!ok && shown < 4) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), " [%lld] got %.9g want %.9g;", static_cast<long long>(i), a,
                    e);
      msg += buf;
      ++shown;
    }
  }
  if (msg.empty()) return "";
  char buf[96];
  std::snprintf(buf, sizeof(buf), "beyond rtol %g atol %g:", tol.rtol, tol.atol);
  return buf + msg;
}

void Flatten(const Literal& l, std::vector<const Literal*>* out) {
  if (l.shape().IsTuple()) {
    for (const Literal& e : l.tuple_elements()) Flatten(e, out);
    return;
  }
  out->push_back(&l);
}

// Runs one case; returns "" on success or the reason it failed.
std::string RunCase(const Case& c, std::set<Opcode>* opcodes, bool* accumulates,
                    double* max_rel_err) {
  absl::StatusOr<std::unique_ptr<Module>> module = ParseModule(c.hlo);
  if (!module.ok()) return "parse: " + std::string(module.status().message());
  bool accumulating = false;
  for (const Computation* comp : (*module)->MakeComputationPostOrder()) {
    for (const Instruction* i : comp->instructions()) {
      opcodes->insert(i->opcode());
      if (Accumulates(i->opcode())) accumulating = true;
    }
  }
  *accumulates = accumulating;
  if (absl::Status s = VerifyModule(**module); !s.ok())
    return "verify: " + std::string(s.message());
  std::string printed = (*module)->ToString();
  absl::StatusOr<std::unique_ptr<Module>> reparsed = ParseModule(printed);
  if (!reparsed.ok())
    return "re-parse: " + std::string(reparsed.status().message()) + "\n" + printed;
  if ((*reparsed)->ToString() != printed) {
    return "printing the re-parsed module differs:\n" + printed + "\n---\n" +
           (*reparsed)->ToString();
  }
  if (!c.full_hlo.empty()) {
    absl::StatusOr<std::unique_ptr<Module>> full = ParseModule(c.full_hlo);
    if (!full.ok()) return "parse long form: " + std::string(full.status().message());
    if ((*full)->ToString() != printed) {
      return "the long form parses to another module:\n" + (*full)->ToString() + "\n---\n" +
             printed;
    }
  }
  absl::StatusOr<Literal> result = hlo::Evaluate(**module, c.args);
  if (!result.ok()) return "evaluate: " + std::string(result.status().message());
  std::vector<const Literal*> leaves;
  Flatten(*result, &leaves);
  if (leaves.size() != c.outs.size()) {
    return "result has " + std::to_string(leaves.size()) + " leaves, XLA " +
           std::to_string(c.outs.size());
  }
  std::string failures;
  for (size_t k = 0; k < leaves.size(); ++k) {
    std::string m = CompareLeaf(*leaves[k], c.outs[k], accumulating, max_rel_err);
    if (!m.empty()) failures += "output " + std::to_string(k) + ": " + m + "\n";
  }
  return failures;
}

TEST(OracleTest, CorpusIsPresent) {
  // The generator writes well over 150 modules; fewer means the corpus was lost or truncated.
  EXPECT_GE(CasePaths().size(), 150u) << kCaseDir;
}

TEST(OracleTest, MatchesXlaCpu) {
  std::vector<fs::path> paths = CasePaths();
  ASSERT_FALSE(paths.empty()) << "no cases under " << kCaseDir;
  struct OpStats {
    int cases = 0;
    int passed = 0;
  };
  std::map<std::string, OpStats> per_op;
  int passed = 0;
  // Largest fraction of the tolerance used, per tolerance class, and the case it was seen in.
  double worst[2] = {0, 0};
  std::string worst_case[2];
  for (const fs::path& p : paths) {
    absl::StatusOr<Case> c = LoadCase(p);
    ASSERT_TRUE(c.ok()) << c.status();
    std::set<Opcode> opcodes;
    bool accumulates = false;
    double err = 0;
    std::string failure = RunCase(*c, &opcodes, &accumulates, &err);
    if (err > worst[accumulates]) {
      worst[accumulates] = err;
      worst_case[accumulates] = c->name;
    }
    bool ok = failure.empty();
    EXPECT_TRUE(ok) << c->name << ": " << failure;
    if (ok) ++passed;
    for (Opcode op : opcodes) {
      OpStats& s = per_op[std::string(OpcodeString(op))];
      ++s.cases;
      if (ok) ++s.passed;
    }
  }
  std::printf("HLO oracle: %d of %zu XLA CPU modules match\n", passed, paths.size());
  std::printf(
      "largest fraction of the float tolerance used: elementwise %.3g (%s), "
      "accumulating %.3g (%s)\n",
      worst[0], worst_case[0].c_str(), worst[1], worst_case[1].c_str());
  std::printf("%-26s %6s %6s\n", "opcode", "cases", "passed");
  for (const auto& [name, s] : per_op)
    std::printf("%-26s %6d %6d\n", name.c_str(), s.cases, s.passed);
}

}  // namespace
}  // namespace kiln::hlo
