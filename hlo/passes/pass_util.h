// Private to hlo/passes: helpers that passes use to add and replace instructions.
#ifndef KILN_HLO_PASSES_PASS_UTIL_H_
#define KILN_HLO_PASSES_PASS_UTIL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/instruction.h"

namespace kiln::hlo::passes_internal {

// Parameters, custom-calls and rng-bit-generators: never removed, merged or folded.
bool HasSideEffect(const Instruction* instr);

// Infers `instr`'s shape from its operands and attributes (default layout) and adds it to `c`.
// InvalidArgument naming the opcode when inference fails.
absl::StatusOr<Instruction*> AddInferred(Computation* c, std::unique_ptr<Instruction> instr);

absl::StatusOr<Instruction*> MakeUnary(Computation* c, Opcode opcode, Instruction* x);
absl::StatusOr<Instruction*> MakeBinary(Computation* c, Opcode opcode, Instruction* a,
                                        Instruction* b);
// broadcast(x) to `dims` (element type of x), operand dimension i -> result dimension map[i].
absl::StatusOr<Instruction*> MakeBroadcast(Computation* c, Instruction* x,
                                           absl::Span<const int64_t> dims,
                                           absl::Span<const int64_t> map);
absl::StatusOr<Instruction*> MakeReshape(Computation* c, Instruction* x,
                                         absl::Span<const int64_t> dims);
absl::StatusOr<Instruction*> MakeTranspose(Computation* c, Instruction* x,
                                           absl::Span<const int64_t> permutation);
// A scalar constant of `type` holding `value` (converted as `convert` does).
Instruction* MakeScalarConstant(Computation* c, PrimitiveType type, double value);
// A scalar computation `(x: T[], y: T[]) -> T[] { ROOT binary(x, y) }` in `c`'s module (an
// existing one of that form is reused).
Computation* GetOrAddScalarComputation(Computation* c, Opcode binary, PrimitiveType type);

// When `instr` is a constant whose elements are all equal, or a broadcast of such a constant, the
// scalar literal of that value; std::nullopt otherwise.
std::optional<Literal> UniformValue(const Instruction* instr);
// Whether UniformValue(instr) exists and equals `value` (exact; for floats the sign of a zero
// matters only when `check_zero_sign`).
bool IsUniform(const Instruction* instr, double value, bool check_zero_sign = false);
// Whether every element of the uniform value of `instr` is a negative zero (floats only).
bool IsUniformNegativeZero(const Instruction* instr);

// Whether `permutation` is 0, 1, ..., n-1.
bool IsIdentityPermutation(absl::Span<const int64_t> permutation);
// inverse[permutation[i]] = i.
std::vector<int64_t> InversePermutation(absl::Span<const int64_t> permutation);

// Replaces every use of `old` (and the root, when it is) by `replacement` and removes `old`.
// When the two shapes differ only in layout, `replacement` takes `old`'s layout if it was created
// by the caller (`replacement_is_new`); otherwise nothing changes and the result is false.
absl::StatusOr<bool> ReplaceInstruction(Instruction* old, Instruction* replacement,
                                        bool replacement_is_new);

}  // namespace kiln::hlo::passes_internal

#endif  // KILN_HLO_PASSES_PASS_UTIL_H_
