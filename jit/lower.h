// Lowering of runtime ops (ONNX semantics) to HLO through hlo::Builder. Private to jit/.
#ifndef KILN_JIT_LOWER_H_
#define KILN_JIT_LOWER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/backends/backend.h"
#include "kiln/hlo/module.h"
#include "kiln/runtime/graph.h"

namespace kiln::jit {

// Whether runtime op `op` has a lowering at all (a particular node may still fail to lower, e.g. a
// Reshape whose target shape is not a constant).
bool HasLowering(const std::string& op);

// Lowers `graph` to an HLO module named `module_name`. The entry computation takes one parameter
// per graph input, in order, of the input's dtype and of `input_dims[i]` (the declared dims when
// `input_dims` is empty; they must then be fully known). Initializers become HLO constants. The
// result is the graph output when there is one, else a tuple of the outputs in order.
// Errors (InvalidArgument / Unimplemented) name the node, its op and what does not lower.
absl::StatusOr<std::unique_ptr<hlo::Module>> LowerGraph(const Graph& graph,
                                                        const std::string& module_name,
                                                        const std::vector<Dims>& input_dims = {});

// The instructions of `module` (all computations) that `backend` does not support, as
// "opcode shape" strings, without duplicates; empty when it supports them all.
std::vector<std::string> UnsupportedInstructions(const hlo::Module& module,
                                                 const backends::Backend& backend);

}  // namespace kiln::jit

#endif  // KILN_JIT_LOWER_H_
