// Patterns over HLO instructions for pass tests, in the manner of XLA's pattern matcher: a test
// states the shape of the result it expects (`m::Add(m::Parameter(0), m::Constant())`) instead of
// matching substrings of a printed line. Used through gmock:
//
//   EXPECT_THAT(module->entry_computation()->root_instruction(),
//               GmockMatch(m::Multiply(m::Parameter(0), m::Broadcast(m::Constant()))));
//
// A failed match says which instruction failed which part of the pattern.
#ifndef KILN_TESTS_HLO_HLO_MATCHERS_H_
#define KILN_TESTS_HLO_HLO_MATCHERS_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>

#include "kiln/hlo/computation.h"
#include "kiln/hlo/instruction.h"
#include "kiln/hlo/module.h"
#include "kiln/hlo/literal.h"

namespace kiln::hlo::testing::m {

// One node of a pattern: an opcode (or any), optional operand patterns, optional properties.
class Pattern {
 public:
  Pattern() = default;  // Matches any instruction.
  explicit Pattern(Opcode opcode) : opcode_(opcode) {}
  Pattern(Opcode opcode, std::vector<Pattern> operands)
      : opcode_(opcode), operands_(std::move(operands)), check_operands_(true) {}

  // The instruction's name (as printed, without '%').
  Pattern WithName(std::string name) const {
    Pattern p = *this;
    p.name_ = std::move(name);
    return p;
  }
  // The instruction's shape as printed: without a layout ("f32[2,3]") the layout is not compared;
  // with one ("f32[2,3]{0,1}") it is.
  Pattern WithShape(std::string shape) const {
    Pattern p = *this;
    p.shape_ = std::move(shape);
    return p;
  }
  // A constant (or broadcast of a scalar constant) whose elements all equal `value`.
  Pattern WithUniformValue(double value) const {
    Pattern p = *this;
    p.uniform_value_ = value;
    return p;
  }
  // A constant with exactly these elements in row-major order (NaN matches a NaN of the same sign).
  Pattern WithValues(std::vector<double> values) const {
    Pattern p = *this;
    p.values_ = std::move(values);
    return p;
  }
  Pattern WithParameterNumber(int64_t n) const {
    Pattern p = *this;
    p.parameter_number_ = n;
    return p;
  }
  // All the instruction's attributes, exactly as printed after its operands ("window={size=3x3},
  // dim_labels=bf01_oi01->bf01"; "" for none).
  Pattern WithAttributes(std::string attributes) const {
    Pattern p = *this;
    p.attributes_ = std::move(attributes);
    return p;
  }
  // The instruction's dimensions attribute (broadcast, transpose, reduce, ...).
  Pattern WithDimensions(std::vector<int64_t> dimensions) const {
    Pattern p = *this;
    p.dimensions_ = std::move(dimensions);
    return p;
  }
  Pattern WithFusionKind(FusionKind kind) const {
    Pattern p = *this;
    p.fusion_kind_ = kind;
    return p;
  }

  // Whether `instr` matches; otherwise writes why to `why` (when not null).
  bool Match(const Instruction* instr, std::ostream* why) const {
    auto fail = [&](const std::string& what) {
      if (why != nullptr) *why << "%" << (instr ? instr->name() : "(null)") << " " << what;
      return false;
    };
    if (instr == nullptr) return fail("is missing");
    if (opcode_ && instr->opcode() != *opcode_) {
      return fail("is " + std::string(OpcodeString(instr->opcode())) + ", not " +
                  std::string(OpcodeString(*opcode_)));
    }
    if (name_ && instr->name() != *name_) return fail("is not named " + *name_);
    if (shape_) {
      const std::string actual = instr->shape().ToString(shape_->find('{') != std::string::npos);
      if (actual != *shape_) return fail("has shape " + actual + ", not " + *shape_);
    }
    if (attributes_) {
      std::string actual = instr->AttributesToString();
      if (actual.rfind(", ", 0) == 0) actual = actual.substr(2);
      if (actual != *attributes_) return fail("has attributes '" + actual + "', not '" + *attributes_ + "'");
    }
    if (parameter_number_ && (instr->opcode() != Opcode::kParameter ||
                              instr->parameter_number() != *parameter_number_)) {
      return fail("is not parameter(" + std::to_string(*parameter_number_) + ")");
    }
    if (fusion_kind_ && (instr->opcode() != Opcode::kFusion || instr->fusion_kind() != *fusion_kind_)) {
      return fail("is not a fusion of kind " + std::string(FusionKindString(*fusion_kind_)));
    }
    if (dimensions_ && instr->dimensions() != *dimensions_) return fail("has other dimensions={...}");
    if (values_ && !HasValues(instr, *values_)) return fail("has other values");
    if (uniform_value_ && !IsUniform(instr, *uniform_value_)) {
      return fail("is not a constant of value " + std::to_string(*uniform_value_));
    }
    if (check_operands_) {
      if (instr->operand_count() != static_cast<int64_t>(operands_.size())) {
        return fail("has " + std::to_string(instr->operand_count()) + " operands, not " +
                    std::to_string(operands_.size()));
      }
      for (size_t i = 0; i < operands_.size(); ++i) {
        std::ostringstream inner;
        if (!operands_[i].Match(instr->operand(static_cast<int64_t>(i)), &inner)) {
          return fail("operand " + std::to_string(i) + ": " + inner.str());
        }
      }
    }
    return true;
  }

 private:
  static bool HasValues(const Instruction* instr, const std::vector<double>& values) {
    if (instr->opcode() != Opcode::kConstant || !instr->shape().IsArray()) return false;
    const Literal& l = instr->literal();
    if (l.element_count() != static_cast<int64_t>(values.size())) return false;
    for (size_t i = 0; i < values.size(); ++i) {
      const double v = l.GetAsDouble(static_cast<int64_t>(i));
      const bool same = std::isnan(values[i]) ? std::isnan(v) && std::signbit(v) == std::signbit(values[i])
                                              : v == values[i];
      if (!same) return false;
    }
    return true;
  }
  static bool IsUniform(const Instruction* instr, double value) {
    if (instr->opcode() == Opcode::kBroadcast) instr = instr->operand(0);
    if (instr->opcode() != Opcode::kConstant || !instr->shape().IsArray()) return false;
    const Literal& l = instr->literal();
    const int64_t n = l.element_count();
    for (int64_t i = 0; i < n; ++i) {
      if (l.GetAsDouble(i) != value) return false;
    }
    return n > 0;
  }

  std::optional<Opcode> opcode_;
  std::vector<Pattern> operands_;
  bool check_operands_ = false;
  std::optional<std::string> name_, shape_, attributes_;
  std::optional<double> uniform_value_;
  std::optional<std::vector<double>> values_;
  std::optional<int64_t> parameter_number_;
  std::optional<std::vector<int64_t>> dimensions_;
  std::optional<FusionKind> fusion_kind_;
};

inline Pattern Any() { return Pattern(); }
inline Pattern Named(std::string name) { return Pattern().WithName(std::move(name)); }
inline Pattern Op(Opcode opcode) { return Pattern(opcode); }
inline Pattern Parameter(int64_t n) { return Pattern(Opcode::kParameter).WithParameterNumber(n); }
inline Pattern Constant() { return Pattern(Opcode::kConstant); }
inline Pattern Constant(double value) { return Pattern(Opcode::kConstant).WithUniformValue(value); }
inline Pattern Fusion(FusionKind kind) { return Pattern(Opcode::kFusion).WithFusionKind(kind); }

// m::Add(a, b), m::Negate(a), ...: the opcode with exactly these operands; m::Add() any operands.
#define KILN_HLO_PATTERN_(name, opcode)                                          \
  template <typename... Operands>                                                \
  Pattern name(Operands... operands) {                                           \
    if constexpr (sizeof...(operands) == 0) {                                    \
      return Pattern(Opcode::opcode);                                            \
    } else {                                                                     \
      return Pattern(Opcode::opcode, std::vector<Pattern>{Pattern(operands)...}); \
    }                                                                            \
  }
KILN_HLO_PATTERN_(Abs, kAbs)
KILN_HLO_PATTERN_(Add, kAdd)
KILN_HLO_PATTERN_(Broadcast, kBroadcast)
KILN_HLO_PATTERN_(Clamp, kClamp)
KILN_HLO_PATTERN_(Concatenate, kConcatenate)
KILN_HLO_PATTERN_(Convert, kConvert)
KILN_HLO_PATTERN_(Convolution, kConvolution)
KILN_HLO_PATTERN_(Copy, kCopy)
KILN_HLO_PATTERN_(Divide, kDivide)
KILN_HLO_PATTERN_(Dot, kDot)
KILN_HLO_PATTERN_(Exp, kExp)
KILN_HLO_PATTERN_(GetTupleElement, kGetTupleElement)
KILN_HLO_PATTERN_(Maximum, kMaximum)
KILN_HLO_PATTERN_(Minimum, kMinimum)
KILN_HLO_PATTERN_(Multiply, kMultiply)
KILN_HLO_PATTERN_(Negate, kNegate)
KILN_HLO_PATTERN_(Reduce, kReduce)
KILN_HLO_PATTERN_(Reshape, kReshape)
KILN_HLO_PATTERN_(Rsqrt, kRsqrt)
KILN_HLO_PATTERN_(Select, kSelect)
KILN_HLO_PATTERN_(Slice, kSlice)
KILN_HLO_PATTERN_(Sqrt, kSqrt)
KILN_HLO_PATTERN_(Subtract, kSubtract)
KILN_HLO_PATTERN_(Transpose, kTranspose)
KILN_HLO_PATTERN_(Tuple, kTuple)
#undef KILN_HLO_PATTERN_

}  // namespace kiln::hlo::testing::m

namespace kiln::hlo::testing {

// The instruction named `name` in any computation of `module`, or null.
inline const Instruction* FindInstruction(const Module& module, std::string_view name) {
  for (const Computation* c : module.MakeComputationPostOrder()) {
    for (const Instruction* i : c->instructions()) {
      if (i->name() == name) return i;
    }
  }
  return nullptr;
}

// How many instructions of `opcode` the module has, over all computations.
inline int64_t CountInstructions(const Module& module, Opcode opcode) {
  int64_t n = 0;
  for (const Computation* c : module.MakeComputationPostOrder()) {
    for (const Instruction* i : c->instructions()) n += i->opcode() == opcode;
  }
  return n;
}

// gmock matcher over `const Instruction*` (or Instruction*).
MATCHER_P(GmockMatch, pattern, "matches the HLO pattern") {
  return pattern.Match(arg, result_listener->stream());
}

}  // namespace kiln::hlo::testing

#endif  // KILN_TESTS_HLO_HLO_MATCHERS_H_
