#include "hlo/passes/pass_util.h"

#include <cmath>
#include <cstring>

#include "kiln/support/strings.h"
#include "kiln/hlo/module.h"
#include "kiln/hlo/shape_inference.h"
#include "kiln/support/status.h"

namespace kiln::hlo::passes_internal {

bool HasSideEffect(const Instruction* instr) {
  return instr->opcode() == Opcode::kCustomCall || instr->opcode() == Opcode::kRngBitGenerator ||
         instr->opcode() == Opcode::kParameter;
}

absl::StatusOr<Instruction*> AddInferred(Computation* c, std::unique_ptr<Instruction> instr) {
  absl::StatusOr<Shape> shape = InferShape(*instr);
  if (!shape.ok()) {
    // The detached instruction is still a user of its operands: detach before it is destroyed.
    instr->DetachOperands();
    return Annotate(shape.status(), kiln::StrCat("building ", OpcodeString(instr->opcode())));
  }
  *instr->mutable_shape() = *std::move(shape);
  return c->AddInstruction(std::move(instr));
}

absl::StatusOr<Instruction*> MakeUnary(Computation* c, Opcode opcode, Instruction* x) {
  return AddInferred(c, Instruction::Create(opcode, Shape(), {x}));
}

absl::StatusOr<Instruction*> MakeBinary(Computation* c, Opcode opcode, Instruction* a,
                                        Instruction* b) {
  return AddInferred(c, Instruction::Create(opcode, Shape(), {a, b}));
}

absl::StatusOr<Instruction*> MakeBroadcast(Computation* c, Instruction* x,
                                           absl::Span<const int64_t> dims,
                                           absl::Span<const int64_t> map) {
  auto b = Instruction::Create(Opcode::kBroadcast,
                               ShapeUtil::MakeShape(x->shape().element_type(), dims), {x});
  b->set_dimensions(std::vector<int64_t>(map.begin(), map.end()));
  return AddInferred(c, std::move(b));
}

absl::StatusOr<Instruction*> MakeReshape(Computation* c, Instruction* x,
                                         absl::Span<const int64_t> dims) {
  if (ShapeUtil::ElementsIn(ShapeUtil::MakeShape(x->shape().element_type(), dims)) !=
      ShapeUtil::ElementsIn(x->shape())) {
    return absl::InvalidArgumentError(kiln::StrCat("reshape of ", x->shape().ToString(false),
                                                   " changes the element count"));
  }
  auto r = Instruction::Create(Opcode::kReshape,
                               ShapeUtil::MakeShape(x->shape().element_type(), dims), {x});
  return c->AddInstruction(std::move(r));
}

absl::StatusOr<Instruction*> MakeTranspose(Computation* c, Instruction* x,
                                           absl::Span<const int64_t> permutation) {
  auto t = Instruction::Create(Opcode::kTranspose, Shape(), {x});
  t->set_dimensions(std::vector<int64_t>(permutation.begin(), permutation.end()));
  return AddInferred(c, std::move(t));
}

Instruction* MakeScalarConstant(Computation* c, PrimitiveType type, double value) {
  Literal l(ShapeUtil::MakeScalarShape(type));
  l.SetFromDouble(0, value);
  return c->AddInstruction(Instruction::CreateConstant(std::move(l)));
}

Computation* GetOrAddScalarComputation(Computation* c, Opcode binary, PrimitiveType type) {
  Module* m = c->parent();
  KILN_CHECK(m != nullptr, "GetOrAddScalarComputation: computation without a module");
  const Shape scalar = ShapeUtil::MakeScalarShape(type);
  for (Computation* existing : m->MakeComputationPostOrder()) {
    const Instruction* root = existing->root_instruction();
    if (existing == m->entry_computation() || existing->num_parameters() != 2 ||
        existing->instruction_count() != 3 || root == nullptr || root->opcode() != binary ||
        root->operand(0) != existing->parameter_instruction(0) ||
        root->operand(1) != existing->parameter_instruction(1) || !(root->shape() == scalar) ||
        !(existing->parameter_instruction(0)->shape() == scalar) ||
        !(existing->parameter_instruction(1)->shape() == scalar)) {
      continue;
    }
    return existing;
  }
  auto comp = std::make_unique<Computation>(
      kiln::StrCat(OpcodeString(binary), "_", PrimitiveTypeName(type)));
  Instruction* x = comp->AddInstruction(Instruction::CreateParameter(0, scalar, "x"));
  Instruction* y = comp->AddInstruction(Instruction::CreateParameter(1, scalar, "y"));
  Instruction* r = comp->AddInstruction(Instruction::Create(binary, scalar, {x, y}));
  comp->set_root_instruction(r);
  return m->AddEmbeddedComputation(std::move(comp));
}

std::optional<Literal> UniformValue(const Instruction* instr) {
  if (instr->opcode() == Opcode::kBroadcast) instr = instr->operand(0);
  if (instr->opcode() != Opcode::kConstant || !instr->shape().IsArray()) return std::nullopt;
  const Literal& l = instr->literal();
  if (l.element_count() == 0) return std::nullopt;
  const int64_t w = ByteWidth(l.shape().element_type());
  const auto* bytes = static_cast<const uint8_t*>(l.untyped_data());
  for (int64_t i = 1; i < l.element_count(); ++i) {
    if (std::memcmp(bytes, bytes + i * w, w) != 0) return std::nullopt;
  }
  Literal s(ShapeUtil::MakeScalarShape(l.shape().element_type()));
  std::memcpy(s.untyped_data(), bytes, w);
  return s;
}

bool IsUniform(const Instruction* instr, double value, bool check_zero_sign) {
  std::optional<Literal> v = UniformValue(instr);
  if (!v.has_value()) return false;
  double d = v->GetAsDouble(0);
  if (d != value) return false;
  if (check_zero_sign && d == 0 && std::signbit(d) != std::signbit(value)) return false;
  return true;
}

bool IsUniformNegativeZero(const Instruction* instr) {
  std::optional<Literal> v = UniformValue(instr);
  if (!v.has_value() || !IsFloatingPointType(v->shape().element_type())) return false;
  double d = v->GetAsDouble(0);
  return d == 0 && std::signbit(d);
}

bool IsIdentityPermutation(absl::Span<const int64_t> permutation) {
  for (size_t i = 0; i < permutation.size(); ++i) {
    if (permutation[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

std::vector<int64_t> InversePermutation(absl::Span<const int64_t> permutation) {
  std::vector<int64_t> inverse(permutation.size());
  for (size_t i = 0; i < permutation.size(); ++i) inverse[permutation[i]] = i;
  return inverse;
}

absl::StatusOr<bool> ReplaceInstruction(Instruction* old, Instruction* replacement,
                                        bool replacement_is_new) {
  if (old == replacement) return false;
  if (!ShapeUtil::Compatible(old->shape(), replacement->shape())) {
    return absl::InternalError(kiln::StrCat("replacing %", old->name(), " (",
                                            old->shape().ToString(), ") by %", replacement->name(),
                                            " (", replacement->shape().ToString(), ")"));
  }
  if (!(old->shape() == replacement->shape())) {
    if (!replacement_is_new) return false;
    *replacement->mutable_shape() = old->shape();
  }
  old->ReplaceAllUsesWith(replacement);
  Computation* c = old->parent();
  if (old->user_count() == 0 && old != c->root_instruction() &&
      old->opcode() != Opcode::kParameter) {
    KILN_RETURN_IF_ERROR(c->RemoveInstruction(old));
  }
  return true;
}

}  // namespace kiln::hlo::passes_internal
