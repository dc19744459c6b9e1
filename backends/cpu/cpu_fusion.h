// The CPU backend's fusion pass and what the rest of the backend reads back from its fusions.
//
// `CpuFusion` ("cpu-fusion") decides what each thunk of the CPU backend computes and writes the
// decision into the module as `fusion` instructions (kiln/hlo/instruction.h, FusionKind), so a
// dump after the pass shows it and lit tests check it (tests/backends/lit):
//
//   - kOutput: a convolution or dot (oneDNN) with its epilogue: a following bias add (broadcast of
//     an [O] vector along the output feature dimension, the vector a parameter or constant), then
//     clamp / maximum / minimum with constant bounds that keep 0 at 0, and (convolution only, as
//     the first post-op after the bias) one residual add(chain, other) whose `other` is computed
//     before the convolution. Each absorbed value has exactly one user and is not a result.
//     Operands: input, weights, then the bias vector, then the residual value, when present.
//   - kLoop: one loop nest rooted at a value that needs a buffer (a result, an operand of a
//     oneDNN thunk, a reduce or reduce-window, the root of an elementwise group, an index op read
//     by a tuple) computing inline every elementwise op of its group (an elementwise op joins the
//     group of its users when all of them are elementwise ops of one group with its dimensions),
//     the index ops (broadcast, reshape, transpose, slice, pad, concatenate, reverse, iota) that
//     nothing else needs materialized, and scalar constants. Operands: the values it reads from
//     buffers (parameters, non-scalar constants, other fusions' results).
//   - A value that needs a buffer but computes nothing inline stays an ordinary instruction (one
//     loop kernel of its own, or an alias for a reshape of a materialized value); a convolution or
//     dot without an epilogue stays an ordinary instruction too.
// The pass runs after layout assignment; the dead instructions it leaves behind go with the DCE
// that follows it in the CPU pipeline (cpu_pipeline.cc).
#ifndef KILN_BACKENDS_CPU_CPU_FUSION_H_
#define KILN_BACKENDS_CPU_CPU_FUSION_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/hlo/instruction.h"
#include "kiln/hlo/pass.h"

namespace kiln::cpu {

// f32 with the default (row-major) layout: what oneDNN thunks and the fusions take.
bool IsRowMajorF32(const hlo::Shape& shape);

class CpuFusion : public hlo::Pass {
 public:
  std::string_view name() const override { return "cpu-fusion"; }
  absl::StatusOr<bool> Run(hlo::Module* module) override;
};

// An elementwise epilogue fused into a oneDNN primitive (cpu::PostOp without the oneDNN types), run
// after the primitive: a clamp to [lo, hi], x * logistic(x) (kSwish), or x * clamp(x / lo + hi, 0, 1)
// (kHardSwish).
struct EpilogueClamp {
  enum class Kind { kClamp, kSwish, kHardSwish };
  float lo, hi;
  Kind kind = Kind::kClamp;
};

// What the planner needs of a convolution or dot and its epilogue: the contraction (inside the
// fused computation, or the instruction itself when unfused) for its attributes, and the values
// outside the fusion that the thunk reads and writes.
struct ContractionPlan {
  const hlo::Instruction* contraction = nullptr;  // kConvolution / kDot (attributes only).
  const hlo::Instruction* input = nullptr;
  const hlo::Instruction* weights = nullptr;
  const hlo::Instruction* bias = nullptr;  // [O] vector or nullptr.
  const hlo::Instruction* sum = nullptr;   // Residual operand (pre-fills the destination) or nullptr.
  bool sum_first = false;                  // The sum post-op precedes the clamps (always, today).
  std::vector<EpilogueClamp> clamps;       // After the sum, in order.
  const hlo::Instruction* result = nullptr;  // The value the thunk produces (fusion or contraction).
};

// For a kOutput fusion made by CpuFusion, or a bare convolution / dot: the plan. InvalidArgument
// naming the instruction when the fused computation is not of the form CpuFusion writes.
absl::StatusOr<ContractionPlan> DescribeContraction(const hlo::Instruction& instr);

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_CPU_FUSION_H_
