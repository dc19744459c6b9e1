// Transpose folding (declared in kiln/hlo/passes.h): transposes absorbed into the dimension numbers
// of dots and convolutions, transpose chains composed, and transposes that move only size-1
// dimensions turned into reshapes.
#include <algorithm>
#include <optional>
#include <vector>

#include "hlo/passes/pass_util.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

using passes_internal::InversePermutation;
using passes_internal::IsIdentityPermutation;

std::vector<int64_t> Map(const std::vector<int64_t>& dims, const std::vector<int64_t>& perm) {
  std::vector<int64_t> out;
  for (int64_t d : dims) out.push_back(perm[d]);
  return out;
}

bool Contains(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// dot(transpose(a), b) -> dot(a, b) for the operand `k`, when the transpose keeps the order of
// the operand's free (non-batch, non-contracting) dimensions, which order the dot's result.
std::optional<DotDimensionNumbers> FoldIntoDot(const Instruction* dot, int k) {
  const Instruction* t = dot->operand(k);
  if (t->opcode() != Opcode::kTranspose) return std::nullopt;
  DotDimensionNumbers d = dot->dot_dimension_numbers();
  std::vector<int64_t>& batch = k == 0 ? d.lhs_batch_dimensions : d.rhs_batch_dimensions;
  std::vector<int64_t>& contracting =
      k == 0 ? d.lhs_contracting_dimensions : d.rhs_contracting_dimensions;
  const std::vector<int64_t>& perm = t->dimensions();
  int64_t last_free = -1;
  for (int64_t i = 0; i < t->shape().rank(); ++i) {
    if (Contains(batch, i) || Contains(contracting, i)) continue;
    if (perm[i] < last_free) return std::nullopt;
    last_free = perm[i];
  }
  batch = Map(batch, perm);
  contracting = Map(contracting, perm);
  return d;
}

// The convolution's input (k = 0) or kernel (k = 1) dimension numbers re-expressed on the operand
// of a transpose feeding it.
std::optional<ConvolutionDimensionNumbers> FoldIntoConvolution(const Instruction* conv, int k) {
  const Instruction* t = conv->operand(k);
  if (t->opcode() != Opcode::kTranspose) return std::nullopt;
  const std::vector<int64_t>& perm = t->dimensions();
  ConvolutionDimensionNumbers d = conv->convolution_dimension_numbers();
  if (k == 0) {
    d.input_batch_dimension = perm[d.input_batch_dimension];
    d.input_feature_dimension = perm[d.input_feature_dimension];
    d.input_spatial_dimensions = Map(d.input_spatial_dimensions, perm);
  } else {
    d.kernel_input_feature_dimension = perm[d.kernel_input_feature_dimension];
    d.kernel_output_feature_dimension = perm[d.kernel_output_feature_dimension];
    d.kernel_spatial_dimensions = Map(d.kernel_spatial_dimensions, perm);
  }
  return d;
}

// Adds a copy of `instr` with new operands, shape and the given attribute change.
template <typename F>
Instruction* AddVariant(Instruction* instr, const Shape& shape, std::vector<Instruction*> operands,
                        F&& change) {
  std::unique_ptr<Instruction> v = instr->CloneWithNewOperands(shape, std::move(operands));
  change(v.get());
  return instr->parent()->AddInstruction(std::move(v));
}

// A replacement and whether this pass created it.
struct Fold {
  Instruction* replacement = nullptr;
  bool is_new = true;
};
Fold Existing(Instruction* i) { return {i, false}; }

// One rewrite of `instr`; a null replacement when none applies.
absl::StatusOr<Fold> FoldOne(Instruction* instr) {
  Computation* c = instr->parent();
  switch (instr->opcode()) {
    case Opcode::kDot:
      for (int k = 0; k < 2; ++k) {
        std::optional<DotDimensionNumbers> d = FoldIntoDot(instr, k);
        if (!d.has_value()) continue;
        std::vector<Instruction*> ops = instr->operands();
        ops[k] = ops[k]->operand(0);
        return Fold{AddVariant(instr, instr->shape(), ops,
                               [&](Instruction* v) { v->set_dot_dimension_numbers(*d); })};
      }
      return Fold{};
    case Opcode::kConvolution:
      for (int k = 0; k < 2; ++k) {
        std::optional<ConvolutionDimensionNumbers> d = FoldIntoConvolution(instr, k);
        if (!d.has_value()) continue;
        std::vector<Instruction*> ops = instr->operands();
        ops[k] = ops[k]->operand(0);
        return Fold{AddVariant(instr, instr->shape(), ops, [&](Instruction* v) {
          v->set_convolution_dimension_numbers(*d);
        })};
      }
      return Fold{};
    case Opcode::kTranspose: {
      const std::vector<int64_t>& perm = instr->dimensions();
      Instruction* x = instr->operand(0);
      // transpose(x, identity) -> x.
      if (IsIdentityPermutation(perm)) return Existing(x);
      // transpose(transpose(y, p), q) -> transpose(y, p o q).
      if (x->opcode() == Opcode::kTranspose) {
        std::vector<int64_t> composed;
        for (int64_t q : perm) composed.push_back(x->dimensions(q));
        if (IsIdentityPermutation(composed)) return Existing(x->operand(0));
        KILN_ASSIGN_OR_RETURN(Instruction* t,
                         passes_internal::MakeTranspose(c, x->operand(0), composed));
        return Fold{t};
      }
      // transpose(convolution) -> convolution writing its output in the transposed order (only
      // when the transpose is the convolution's one user, so no work is duplicated).
      if (x->opcode() == Opcode::kConvolution && x->user_count() == 1 &&
          x != c->root_instruction()) {
        std::vector<int64_t> inv = InversePermutation(perm);
        ConvolutionDimensionNumbers d = x->convolution_dimension_numbers();
        d.output_batch_dimension = inv[d.output_batch_dimension];
        d.output_feature_dimension = inv[d.output_feature_dimension];
        d.output_spatial_dimensions = Map(d.output_spatial_dimensions, inv);
        return Fold{AddVariant(x, instr->shape(), x->operands(),
                               [&](Instruction* v) { v->set_convolution_dimension_numbers(d); })};
      }
      // A transpose that keeps the order of every dimension of size > 1 moves no data: reshape.
      int64_t last = -1;
      for (int64_t i = 0; i < instr->shape().rank(); ++i) {
        if (instr->shape().dimensions(i) == 1) continue;
        if (perm[i] < last) return Fold{};
        last = perm[i];
      }
      KILN_ASSIGN_OR_RETURN(Instruction* r,
                       passes_internal::MakeReshape(c, x, instr->shape().dimensions()));
      return Fold{r};
    }
    default:
      return Fold{};
  }
}

}  // namespace

absl::StatusOr<bool> TransposeFolding::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    // Each rewrite removes a transpose from the instruction's operands or replaces the transpose
    // itself, so repeating until nothing changes terminates.
    bool again = true;
    while (again) {
      again = false;
      for (Instruction* instr : c->MakeInstructionPostOrder()) {
        if (instr->user_count() == 0 && instr != c->root_instruction()) continue;
        KILN_ASSIGN_OR_RETURN(Fold fold, FoldOne(instr));
        if (fold.replacement == nullptr) continue;
        KILN_ASSIGN_OR_RETURN(bool replaced, passes_internal::ReplaceInstruction(
                                            instr, fold.replacement, fold.is_new));
        if (!replaced) continue;
        again = changed = true;
        break;  // The post-order is stale.
      }
    }
  }
  return changed;
}

}  // namespace kiln::hlo
