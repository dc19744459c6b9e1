// LLVM IR emission for the CPU backend's loop kernels. A kernel is `void name(void** buffers)`:
// `buffers[slot]` points at the dense row-major data of every materialized value (parameters,
// results, constants, temporaries). Values that are not materialized (elementwise ops fused into
// the kernel, broadcasts, reshapes, transposes, slices, pads, concatenations, iotas, scalar
// constants) are computed per element from their operands with index arithmetic.
#ifndef KILN_BACKENDS_CPU_IR_EMITTER_H_
#define KILN_BACKENDS_CPU_IR_EMITTER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/instruction.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace kiln::cpu {

// Buffer slot of a materialized instruction, or -1 when the emitter must compute the instruction
// inline from its operands.
using SlotFn = std::function<int(const hlo::Instruction*)>;

// True when the emitter can compute `instruction` inline or as a kernel root (its opcode, element
// types and attributes). Convolution and dot are not emitted here (oneDNN runs them).
bool EmitterSupports(const hlo::Instruction& instruction);

// For reduce / reduce-window: the binary opcode of the reducer computation (add, multiply,
// maximum, minimum, and, or, xor applied to its two parameters), or an error naming what is not
// supported.
absl::StatusOr<hlo::Opcode> ReducerOpcode(const hlo::Computation& reducer);

class IrEmitter {
 public:
  // Emits into `module` (which lives in `context`). `slot_of` must stay valid while emitting.
  IrEmitter(llvm::LLVMContext& context, llvm::Module& module, SlotFn slot_of);

  // Emits `void name(void** buffers)` that loops once over the dimensions shared by `outputs` and
  // stores each output's element into its slot. Every output must be materialized (have a slot)
  // and have the same dimensions; the first output's own operands are computed inline or loaded.
  absl::Status EmitLoopKernel(const std::string& name,
                              absl::Span<const hlo::Instruction* const> outputs);

 private:
  llvm::LLVMContext& context_;
  llvm::Module& module_;
  SlotFn slot_of_;
};

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_IR_EMITTER_H_
