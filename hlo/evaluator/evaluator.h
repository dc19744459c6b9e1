// Private to hlo/evaluator: the kernels and driver behind hlo::Evaluate (kiln/hlo/evaluator.h).
#ifndef KILN_HLO_EVALUATOR_EVALUATOR_H_
#define KILN_HLO_EVALUATOR_EVALUATOR_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/literal.h"

namespace kiln::hlo::evaluator {

// Evaluates `computation` on `args` (one per parameter). Stateless; thread-safe.
absl::StatusOr<hlo::Literal> EvaluateComputation(const hlo::Computation& computation,
                                                 absl::Span<const hlo::Literal* const> args);

// Per-opcode kernels (evaluator_*.cc). Each takes the instruction and its operand values.
using Operands = absl::Span<const hlo::Literal* const>;
absl::StatusOr<hlo::Literal> EvalElementwise(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalDataMovement(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalDot(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalConvolution(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalReduce(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalReduceWindow(const hlo::Instruction& instr, Operands ops);
// evaluator.cc: sort, map, uniform quantize / dequantize.
absl::StatusOr<hlo::Literal> EvalSort(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalMap(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalQuantize(const hlo::Instruction& instr, Operands ops);
// evaluator_batchnorm.cc: batch-norm inference, training and grad.
absl::StatusOr<hlo::Literal> EvalBatchNormInference(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalBatchNormTraining(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalBatchNormGrad(const hlo::Instruction& instr, Operands ops);
// evaluator_rng.cc: rng-bit-generator (XLA's Philox and ThreeFry bit generators).
absl::StatusOr<hlo::Literal> EvalRngBitGenerator(const hlo::Instruction& instr, Operands ops);
// evaluator_indexing.cc: gather, scatter, select-and-scatter, custom-call.
absl::StatusOr<hlo::Literal> EvalIndexing(const hlo::Instruction& instr, Operands ops);
// Custom-call targets EvalIndexing evaluates ("Sharding": the identity on one device).
bool IsKnownCustomCallTarget(std::string_view target);

// The position of `index` in row-major order, given the shape's row-major `strides`.
inline int64_t Linear(absl::Span<const int64_t> index, absl::Span<const int64_t> strides) {
  int64_t l = 0;
  for (size_t i = 0; i < index.size(); ++i) l += index[i] * strides[i];
  return l;
}

// Element `i` (row-major) of array literal `l`, as a scalar literal of its element type.
hlo::Literal ScalarAt(const hlo::Literal& l, int64_t i);
// Stores scalar literal `s` as element `i` (row-major) of `l`, which has the same element type.
void StoreScalarAt(hlo::Literal& l, int64_t i, const hlo::Literal& s);

// When `c` is `ROOT binary(p0, p1)` on scalars, its binary opcode (the reduction fast paths).
std::optional<hlo::Opcode> SimpleBinaryComputation(const hlo::Computation& c);

// Visits every index of `dims` in row-major order, calling f(index) (nothing for zero elements).
template <typename F>
void ForEachIndex(absl::Span<const int64_t> dims, F&& f) {
  for (int64_t d : dims) {
    if (d == 0) return;
  }
  std::vector<int64_t> index(dims.size(), 0);
  while (true) {
    f(absl::Span<const int64_t>(index));
    int64_t i = static_cast<int64_t>(dims.size()) - 1;
    for (; i >= 0; --i) {
      if (++index[i] < dims[i]) break;
      index[i] = 0;
    }
    if (i < 0) return;
  }
}

}  // namespace kiln::hlo::evaluator

#endif  // KILN_HLO_EVALUATOR_EVALUATOR_H_
