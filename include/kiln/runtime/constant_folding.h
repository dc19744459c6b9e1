// Load-time constant folding of a runtime Graph: nodes whose inputs are all constants are evaluated
// once with the runtime kernels and replaced by initializers.
#ifndef KILN_RUNTIME_CONSTANT_FOLDING_H_
#define KILN_RUNTIME_CONSTANT_FOLDING_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "kiln/runtime/graph.h"

namespace kiln {

struct ConstantFoldingOptions {
  // A node is folded only when each of its outputs takes at most this many bytes; larger results
  // (a huge ConstantOfShape or Expand of a scalar) stay computed at run time.
  int64_t max_output_bytes = int64_t{64} << 20;
  // Folded bytes in all; once reached, the remaining nodes stay as they are.
  int64_t max_total_bytes = int64_t{1} << 30;
};

struct ConstantFoldingStats {
  int folded_nodes = 0;     // Nodes replaced by initializers.
  int64_t folded_bytes = 0;  // Bytes of the initializers they became.
};

// Folds, in topological order (so chains fold), every node that is deterministic (not a random op:
// RandomNormal, RandomUniform, RandomNormalLike, RandomUniformLike, Multinomial, Bernoulli), has no
// subgraph attribute and no control edge, and whose present inputs are all initializers that are not
// also graph inputs (an ONNX input with a default may be fed), outputs of folded nodes, or values whose
// type from shape inference carries a value (Shape of an input declared with static dims: folding
// takes the declared dims as the contract). Its outputs
// become initializers of the same names, so a graph output fed by a folded node is still produced
// (the executor serves initializers as values). Initializers that only folded nodes read are removed.
// A node whose kernel cannot be built or fails, or whose result exceeds the byte bounds, stays in the
// graph unchanged (the same error surfaces at run time). Errors: only the graph's own (a cycle, an
// undefined value, or a type error from shape inference).
absl::StatusOr<ConstantFoldingStats> FoldConstantNodes(Graph* graph, const ConstantFoldingOptions& options = {});

// Folds each inference-form BatchNormalization (training_mode 0, only its first output used) into
// the Conv that feeds it, as ONNX Runtime and the exporters do, when the Conv's output has no other
// reader and is not a graph output, neither node has a control input, no node names the BN as one,
// and the Conv's weights (and bias) and the BN's scale, B, mean and var are f32 initializers that are
// not graph inputs: with s = scale / sqrt(var + epsilon) (in double), W'[o] = W[o] s[o] and b'[o] =
// (b[o] - mean[o]) s[o] + B[o] become new initializers, the Conv writes the BN's output and the BN
// node goes; the old weights go too when nothing else reads them. A Conv with per-channel constant
// scaling then runs as one oneDNN convolution with its bias, with the JIT on or off (light_resnet50:
// 53 convolutions, each followed by a BN). Returns the number of pairs fused (none in a graph with
// subgraphs, which may read values by name); errors only for a graph that has no topological order.
absl::StatusOr<int> FuseConvBatchNorm(Graph* graph);

}  // namespace kiln

#endif  // KILN_RUNTIME_CONSTANT_FOLDING_H_
