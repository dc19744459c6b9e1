// Batch-norm expansion into elementwise ops, broadcasts and reductions (declared in
// kiln/hlo/passes.h).
#include <vector>

#include "hlo/passes/pass_util.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {

using passes_internal::AddInferred;
using passes_internal::MakeBinary;
using passes_internal::MakeBroadcast;
using passes_internal::MakeScalarConstant;
using passes_internal::MakeUnary;

// Builds the expansion of one batch-norm instruction in its computation.
class Expander {
 public:
  explicit Expander(Instruction* bn)
      : bn_(bn), c_(bn->parent()), x_(bn->operand(0)), type_(x_->shape().element_type()),
        feature_(bn->feature_index()) {}

  // A per-feature vector [C] broadcast along the feature dimension of x.
  absl::StatusOr<Instruction*> AlongFeature(Instruction* v) {
    return MakeBroadcast(c_, v, x_->shape().dimensions(), {feature_});
  }
  // A scalar broadcast to `dims`.
  absl::StatusOr<Instruction*> Splat(double value, const std::vector<int64_t>& dims) {
    Instruction* s = MakeScalarConstant(c_, type_, value);
    return MakeBroadcast(c_, s, dims, {});
  }
  std::vector<int64_t> FeatureDims() const { return {x_->shape().dimensions(feature_)}; }

  // (x - mean) / sqrt(variance + epsilon) * scale + offset, with mean and variance of shape [C];
  // `centered` is x - broadcast(mean) when the caller already has it.
  absl::StatusOr<Instruction*> Normalize(Instruction* centered, Instruction* scale,
                                         Instruction* offset, Instruction* variance) {
    KILN_ASSIGN_OR_RETURN(Instruction* eps, Splat(bn_->epsilon(), FeatureDims()));
    KILN_ASSIGN_OR_RETURN(Instruction* var_eps, MakeBinary(c_, Opcode::kAdd, variance, eps));
    KILN_ASSIGN_OR_RETURN(Instruction* stddev, MakeUnary(c_, Opcode::kSqrt, var_eps));
    KILN_ASSIGN_OR_RETURN(Instruction* stddev_b, AlongFeature(stddev));
    KILN_ASSIGN_OR_RETURN(Instruction* normalized, MakeBinary(c_, Opcode::kDivide, centered, stddev_b));
    KILN_ASSIGN_OR_RETURN(Instruction* scale_b, AlongFeature(scale));
    KILN_ASSIGN_OR_RETURN(Instruction* scaled, MakeBinary(c_, Opcode::kMultiply, normalized, scale_b));
    KILN_ASSIGN_OR_RETURN(Instruction* offset_b, AlongFeature(offset));
    return MakeBinary(c_, Opcode::kAdd, scaled, offset_b);
  }

  absl::StatusOr<Instruction*> Center(Instruction* mean) {
    KILN_ASSIGN_OR_RETURN(Instruction* mean_b, AlongFeature(mean));
    return MakeBinary(c_, Opcode::kSubtract, x_, mean_b);
  }

  // The mean over every dimension but the feature dimension of `v` (shape of x): [C].
  absl::StatusOr<Instruction*> MeanOverBatch(Instruction* v) {
    std::vector<int64_t> reduced;
    int64_t count = 1;
    for (int64_t d = 0; d < x_->shape().rank(); ++d) {
      if (d == feature_) continue;
      reduced.push_back(d);
      count *= x_->shape().dimensions(d);
    }
    Instruction* zero = MakeScalarConstant(c_, type_, 0);
    auto reduce = Instruction::Create(Opcode::kReduce, Shape(), {v, zero});
    reduce->set_dimensions(reduced);
    reduce->set_called_computations(
        {passes_internal::GetOrAddScalarComputation(c_, Opcode::kAdd, type_)});
    KILN_ASSIGN_OR_RETURN(Instruction* sum, AddInferred(c_, std::move(reduce)));
    KILN_ASSIGN_OR_RETURN(Instruction* n, Splat(static_cast<double>(count), FeatureDims()));
    return MakeBinary(c_, Opcode::kDivide, sum, n);
  }

  absl::StatusOr<Instruction*> ExpandInference() {
    KILN_ASSIGN_OR_RETURN(Instruction* centered, Center(bn_->operand(3)));
    return Normalize(centered, bn_->operand(1), bn_->operand(2), bn_->operand(4));
  }

  absl::StatusOr<Instruction*> ExpandTraining() {
    KILN_ASSIGN_OR_RETURN(Instruction* mean, MeanOverBatch(x_));
    KILN_ASSIGN_OR_RETURN(Instruction* centered, Center(mean));
    KILN_ASSIGN_OR_RETURN(Instruction* squares,
                     MakeBinary(c_, Opcode::kMultiply, centered, centered));
    KILN_ASSIGN_OR_RETURN(Instruction* variance, MeanOverBatch(squares));
    KILN_ASSIGN_OR_RETURN(Instruction* y,
                     Normalize(centered, bn_->operand(1), bn_->operand(2), variance));
    return AddInferred(c_, Instruction::Create(Opcode::kTuple, Shape(), {y, mean, variance}));
  }

 private:
  Instruction* bn_;
  Computation* c_;
  Instruction* x_;
  PrimitiveType type_;
  int64_t feature_;
};

}  // namespace

absl::StatusOr<bool> BatchNormExpander::Run(Module* module) {
  bool changed = false;
  for (Computation* c : module->MakeComputationPostOrder()) {
    for (Instruction* instr : c->MakeInstructionPostOrder()) {
      Instruction* expansion = nullptr;
      if (instr->opcode() == Opcode::kBatchNormInference) {
        KILN_ASSIGN_OR_RETURN(expansion, Expander(instr).ExpandInference());
      } else if (instr->opcode() == Opcode::kBatchNormTraining) {
        KILN_ASSIGN_OR_RETURN(expansion, Expander(instr).ExpandTraining());
      } else {
        continue;
      }
      KILN_ASSIGN_OR_RETURN(bool replaced,
                       passes_internal::ReplaceInstruction(instr, expansion, true));
      KILN_CHECK(replaced, "batch-norm expansion not installed");
      changed = true;
    }
  }
  return changed;
}

}  // namespace kiln::hlo
