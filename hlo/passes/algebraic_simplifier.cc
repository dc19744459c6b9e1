// The algebraic simplifier: a table of local rewrite rules (declared in kiln/hlo/passes.h).
//
// Each rule is one row {name, opcode, rewrite} of kRules (at the end of this file): `rewrite`
// looks at an instruction of `opcode` and returns the instruction that replaces it (an existing
// one, or one it added), or no replacement when the rule does not apply. A rule never changes a
// result bit; where IEEE semantics forbid a rewrite for floats (x * 0 is NaN for x = inf; -0 + 0
// is +0) the rule checks the element type or the sign of the zero.
#include <optional>
#include <vector>

#include "hlo/passes/pass_util.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

using passes_internal::IsIdentityPermutation;
using passes_internal::IsUniform;
using passes_internal::IsUniformNegativeZero;
using passes_internal::UniformValue;

// What a rewrite returns: the replacement and whether the rule created it.
struct Rewrite {
  Instruction* replacement = nullptr;
  bool is_new = false;
};
using RewriteFn = absl::StatusOr<Rewrite> (*)(Instruction*);

struct Rule {
  std::string_view name;
  Opcode opcode;
  RewriteFn rewrite;
};

Rewrite Existing(Instruction* i) { return {i, false}; }
Rewrite New(Instruction* i) { return {i, true}; }
constexpr Rewrite kNoMatch{};

bool IsInt(const Instruction* i) { return IsIntegralType(i->shape().element_type()); }
bool IsFloat(const Instruction* i) { return IsFloatingPointType(i->shape().element_type()); }
bool IsPred(const Instruction* i) { return i->shape().element_type() == PrimitiveType::PRED; }

// The additive identity of `i`'s type that is exact for every x: 0 for integers, -0.0 for
// floats (x + -0.0 == x bitwise, including x = -0.0).
bool IsAdditiveIdentity(const Instruction* i) {
  if (IsInt(i)) return IsUniform(i, 0);
  return IsUniformNegativeZero(i);
}
// The zero that x - 0 -> x may drop: 0 for integers, +0.0 for floats.
bool IsSubtractiveIdentity(const Instruction* i) {
  if (IsInt(i)) return IsUniform(i, 0);
  return IsFloat(i) && IsUniform(i, 0.0, /*check_zero_sign=*/true);
}
bool IsOne(const Instruction* i) { return !IsPred(i) && IsUniform(i, 1); }

// A constant of `like`'s shape (broadcast of a scalar) holding `value`.
absl::StatusOr<Instruction*> Splat(Instruction* like, double value) {
  Computation* c = like->parent();
  Instruction* s = passes_internal::MakeScalarConstant(c, like->shape().element_type(), value);
  if (like->shape().rank() == 0) return s;
  return passes_internal::MakeBroadcast(c, s, like->shape().dimensions(), {});
}

// The value of a PRED scalar/uniform constant, when `i` is one.
std::optional<bool> UniformPred(const Instruction* i) {
  if (!IsPred(i)) return std::nullopt;
  std::optional<Literal> v = UniformValue(i);
  if (!v.has_value()) return std::nullopt;
  return v->data<bool>()[0];
}

// Same element type and dimensions (layouts aside).
bool SameDims(const Instruction* a, const Instruction* b) {
  return a->shape().dimensions() == b->shape().dimensions() &&
         a->shape().element_type() == b->shape().element_type();
}

// x + 0 -> x, 0 + x -> x (floats: only a -0.0 zero is an exact identity).
absl::StatusOr<Rewrite> AddZero(Instruction* i) {
  if (IsAdditiveIdentity(i->operand(1))) return Existing(i->operand(0));
  if (IsAdditiveIdentity(i->operand(0))) return Existing(i->operand(1));
  return kNoMatch;
}

// x - 0 -> x (floats: only +0.0).
absl::StatusOr<Rewrite> SubtractZero(Instruction* i) {
  if (IsSubtractiveIdentity(i->operand(1))) return Existing(i->operand(0));
  return kNoMatch;
}

// x - x -> 0 (integers only: inf - inf and NaN - NaN are NaN).
absl::StatusOr<Rewrite> SubtractSelf(Instruction* i) {
  if (!IsInt(i) || i->operand(0) != i->operand(1)) return kNoMatch;
  KILN_ASSIGN_OR_RETURN(Instruction* z, Splat(i, 0));
  return New(z);
}

// x * 1 -> x, 1 * x -> x.
absl::StatusOr<Rewrite> MultiplyOne(Instruction* i) {
  if (IsOne(i->operand(1))) return Existing(i->operand(0));
  if (IsOne(i->operand(0))) return Existing(i->operand(1));
  return kNoMatch;
}

// x * 0 -> 0, 0 * x -> 0 (integers only: inf * 0 and NaN * 0 are NaN).
absl::StatusOr<Rewrite> MultiplyZero(Instruction* i) {
  if (!IsInt(i)) return kNoMatch;
  if (IsUniform(i->operand(1), 0) && i->operand(1)->shape() == i->shape()) {
    return Existing(i->operand(1));
  }
  if (IsUniform(i->operand(0), 0) && i->operand(0)->shape() == i->shape()) {
    return Existing(i->operand(0));
  }
  if (IsUniform(i->operand(0), 0) || IsUniform(i->operand(1), 0)) {
    KILN_ASSIGN_OR_RETURN(Instruction* z, Splat(i, 0));
    return New(z);
  }
  return kNoMatch;
}

// x / 1 -> x.
absl::StatusOr<Rewrite> DivideOne(Instruction* i) {
  if (IsOne(i->operand(1))) return Existing(i->operand(0));
  return kNoMatch;
}

// -(-x) -> x.
absl::StatusOr<Rewrite> NegateNegate(Instruction* i) {
  if (i->operand(0)->opcode() == Opcode::kNegate) return Existing(i->operand(0)->operand(0));
  return kNoMatch;
}

// not(not(x)) -> x.
absl::StatusOr<Rewrite> NotNot(Instruction* i) {
  if (i->operand(0)->opcode() == Opcode::kNot) return Existing(i->operand(0)->operand(0));
  return kNoMatch;
}

// abs(abs(x)) -> abs(x).
absl::StatusOr<Rewrite> AbsAbs(Instruction* i) {
  if (i->operand(0)->opcode() == Opcode::kAbs) return Existing(i->operand(0));
  return kNoMatch;
}

// max(x, x) -> x, min(x, x) -> x.
absl::StatusOr<Rewrite> MaxSelf(Instruction* i) {
  if (i->operand(0) == i->operand(1)) return Existing(i->operand(0));
  return kNoMatch;
}

absl::StatusOr<Rewrite> MinSelf(Instruction* i) {
  if (i->operand(0) == i->operand(1)) return Existing(i->operand(0));
  return kNoMatch;
}

// x and true -> x, x and x -> x (pred and integers: all-ones).
absl::StatusOr<Rewrite> AndIdentity(Instruction* i) {
  if (i->operand(0) == i->operand(1)) return Existing(i->operand(0));
  auto all_ones = [](const Instruction* x) {
    if (IsPred(x)) return UniformPred(x) == std::optional<bool>(true);
    return IsSignedIntegralType(x->shape().element_type()) && IsUniform(x, -1);
  };
  if (all_ones(i->operand(1))) return Existing(i->operand(0));
  if (all_ones(i->operand(0))) return Existing(i->operand(1));
  return kNoMatch;
}

// x or false -> x, x or x -> x.
absl::StatusOr<Rewrite> OrIdentity(Instruction* i) {
  if (i->operand(0) == i->operand(1)) return Existing(i->operand(0));
  if (IsUniform(i->operand(1), 0)) return Existing(i->operand(0));
  if (IsUniform(i->operand(0), 0)) return Existing(i->operand(1));
  return kNoMatch;
}

// select(true, a, b) -> a, select(false, a, b) -> b, select(p, a, a) -> a.
absl::StatusOr<Rewrite> SelectConstant(Instruction* i) {
  if (i->operand(1) == i->operand(2)) return Existing(i->operand(1));
  std::optional<bool> p = UniformPred(i->operand(0));
  if (!p.has_value()) return kNoMatch;
  return Existing(i->operand(*p ? 1 : 2));
}

// convert(x) to x's own type -> x.
absl::StatusOr<Rewrite> ConvertIdentity(Instruction* i) {
  if (SameDims(i, i->operand(0))) return Existing(i->operand(0));
  return kNoMatch;
}

// copy(x) with x's own layout -> x.
absl::StatusOr<Rewrite> CopyIdentity(Instruction* i) {
  if (i->shape() == i->operand(0)->shape()) return Existing(i->operand(0));
  return kNoMatch;
}

// broadcast(x) to x's own dimensions with dimensions={0,1,...} -> x.
absl::StatusOr<Rewrite> BroadcastIdentity(Instruction* i) {
  if (SameDims(i, i->operand(0)) && IsIdentityPermutation(i->dimensions())) {
    return Existing(i->operand(0));
  }
  return kNoMatch;
}

// broadcast(broadcast(x)) -> broadcast(x) with composed dimensions.
absl::StatusOr<Rewrite> BroadcastBroadcast(Instruction* i) {
  const Instruction* inner = i->operand(0);
  if (inner->opcode() != Opcode::kBroadcast) return kNoMatch;
  std::vector<int64_t> dims;
  for (int64_t d : inner->dimensions()) dims.push_back(i->dimensions(d));
  KILN_ASSIGN_OR_RETURN(Instruction* b, passes_internal::MakeBroadcast(
      i->parent(), inner->operand(0), i->shape().dimensions(), dims));
  return New(b);
}

// slice(x) covering all of x with stride 1 -> x.
absl::StatusOr<Rewrite> SliceIdentity(Instruction* i) {
  const Shape& s = i->operand(0)->shape();
  for (int64_t d = 0; d < s.rank(); ++d) {
    if (i->slice_starts()[d] != 0 || i->slice_limits()[d] != s.dimensions(d) ||
        i->slice_strides()[d] != 1) {
      return kNoMatch;
    }
  }
  return Existing(i->operand(0));
}

// concatenate(x) -> x.
absl::StatusOr<Rewrite> ConcatenateSingle(Instruction* i) {
  if (i->operand_count() == 1) return Existing(i->operand(0));
  return kNoMatch;
}

// pad(x, v) with all-zero padding -> x.
absl::StatusOr<Rewrite> PadZero(Instruction* i) {
  for (const PaddingDimension& p : i->padding_config()) {
    if (p.edge_padding_low != 0 || p.edge_padding_high != 0 || p.interior_padding != 0) {
      return kNoMatch;
    }
  }
  return Existing(i->operand(0));
}

// reverse(x) over no dimension, or over size-1 dimensions only -> x.
absl::StatusOr<Rewrite> ReverseIdentity(Instruction* i) {
  for (int64_t d : i->dimensions()) {
    if (i->shape().dimensions(d) > 1) return kNoMatch;
  }
  return Existing(i->operand(0));
}

// The rule table: one row per rule, in the order they are tried.
// clang-format off
const Rule kRules[] = {
    {"add-zero", Opcode::kAdd, AddZero},                             // x + 0 -> x (float -0.0 only)
    {"subtract-zero", Opcode::kSubtract, SubtractZero},              // x - 0 -> x (float +0.0 only)
    {"subtract-self", Opcode::kSubtract, SubtractSelf},              // x - x -> 0 (integers)
    {"multiply-one", Opcode::kMultiply, MultiplyOne},                // x * 1 -> x
    {"multiply-zero", Opcode::kMultiply, MultiplyZero},              // x * 0 -> 0 (integers)
    {"divide-one", Opcode::kDivide, DivideOne},                      // x / 1 -> x
    {"negate-negate", Opcode::kNegate, NegateNegate},                // -(-x) -> x
    {"not-not", Opcode::kNot, NotNot},                               // not(not(x)) -> x
    {"abs-abs", Opcode::kAbs, AbsAbs},                               // abs(abs(x)) -> abs(x)
    {"max-self", Opcode::kMaximum, MaxSelf},                         // max(x, x) -> x
    {"min-self", Opcode::kMinimum, MinSelf},                         // min(x, x) -> x
    {"and-identity", Opcode::kAnd, AndIdentity},                     // x & true -> x, x & x -> x
    {"or-identity", Opcode::kOr, OrIdentity},                        // x | false -> x, x | x -> x
    {"select-constant", Opcode::kSelect, SelectConstant},            // select(true, a, b) -> a
    {"convert-identity", Opcode::kConvert, ConvertIdentity},         // convert(x) to its type -> x
    {"copy-identity", Opcode::kCopy, CopyIdentity},                  // copy(x) to its layout -> x
    {"broadcast-identity", Opcode::kBroadcast, BroadcastIdentity},   // broadcast to its dims -> x
    {"broadcast-broadcast", Opcode::kBroadcast, BroadcastBroadcast}, // bcast(bcast(x)) -> bcast(x)
    {"slice-identity", Opcode::kSlice, SliceIdentity},               // slice of all of x -> x
    {"concatenate-single", Opcode::kConcatenate, ConcatenateSingle}, // concatenate(x) -> x
    {"pad-zero", Opcode::kPad, PadZero},                             // pad(x) by nothing -> x
    {"reverse-identity", Opcode::kReverse, ReverseIdentity},         // reverse(size-1 dims) -> x
};
// clang-format on

}  // namespace

std::vector<std::string_view> AlgebraicSimplifier::RuleNames() {
  std::vector<std::string_view> names;
  for (const Rule& r : kRules) names.push_back(r.name);
  return names;
}

absl::StatusOr<bool> AlgebraicSimplifier::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    for (Instruction* instr : c->MakeInstructionPostOrder()) {
      // Dead instructions are DCE's business; rewriting them would only add more.
      if (instr->user_count() == 0 && instr != c->root_instruction()) continue;
      for (const Rule& rule : kRules) {
        if (rule.opcode != instr->opcode()) continue;
        absl::StatusOr<Rewrite> r = rule.rewrite(instr);
        if (!r.ok()) {
          return Annotate(r.status(), kiln::StrCat("rule ", rule.name, " on %", instr->name()));
        }
        if (r->replacement == nullptr) continue;
        KILN_ASSIGN_OR_RETURN(bool replaced, passes_internal::ReplaceInstruction(
                                                 instr, r->replacement, r->is_new));
        if (replaced) {
          changed = true;
          break;  // `instr` is gone.
        }
      }
    }
  }
  return changed;
}

}  // namespace kiln::hlo
