// Private to backends/interpreter: the HLO evaluator behind the interpreter backend.
#ifndef KILN_BACKENDS_INTERPRETER_EVALUATOR_H_
#define KILN_BACKENDS_INTERPRETER_EVALUATOR_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/literal.h"

namespace kiln::backends::interpreter {

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
// evaluator.cc: sort, map, batch-norm inference, uniform quantize / dequantize.
absl::StatusOr<hlo::Literal> EvalSort(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalMap(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalBatchNormInference(const hlo::Instruction& instr, Operands ops);
absl::StatusOr<hlo::Literal> EvalQuantize(const hlo::Instruction& instr, Operands ops);
// evaluator_indexing.cc: gather, scatter, select-and-scatter, rng-bit-generator, batch-norm
// training / grad, custom-call.
absl::StatusOr<hlo::Literal> EvalIndexing(const hlo::Instruction& instr, Operands ops);
// Custom-call targets EvalIndexing evaluates ("Sharding": the identity on one device).
bool IsKnownCustomCallTarget(std::string_view target);

// Whether the evaluator implements `opcode`.
bool IsImplemented(hlo::Opcode opcode);

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

}  // namespace kiln::backends::interpreter

#endif  // KILN_BACKENDS_INTERPRETER_EVALUATOR_H_
