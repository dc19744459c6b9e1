// Shared pieces of the runtime-op → HLO lowering (jit/lower*.cc). Private to jit/.
//
// jit/lower.cc holds the driver (LowerGraph), the table from op type to lowering function and the
// helpers below; each op family's lowerings live in their own file:
//   lower_elementwise.cc  Add, Sub, Mul, Div, Pow, Mod, Max, Min, Sum, Mean, Relu, Clip, Reciprocal,
//                         HardSigmoid, HardSwish, Gelu and the unary math ops
//   lower_matmul.cc       Gemm, MatMul
//   lower_nn.cc           Conv, NhwcConv, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Softmax,
//                         LayerNormalization
//   lower_reduce.cc       ReduceMean (and MeanOver, which GlobalAveragePool shares)
//   lower_shape.cc        Reshape, Squeeze, Unsqueeze, Flatten, Transpose, Concat, Pad, Identity, Constant
#ifndef KILN_JIT_LOWER_INTERNAL_H_
#define KILN_JIT_LOWER_INTERNAL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/hlo/builder.h"
#include "kiln/runtime/graph.h"

namespace kiln::jit::lowering {

using hlo::Op;
using hlo::PrimitiveType;

absl::StatusOr<PrimitiveType> ToPrimitiveType(DType dtype);

// An HLO constant holding `tensor`'s dtype, dims and bytes.
absl::StatusOr<Op> ConstantFromTensor(hlo::Builder& b, const Tensor& tensor);

// A runtime value during lowering: its HLO op (created lazily for constants) and, for compile-time
// constants, the tensor itself (read by ops whose attributes arrive as inputs).
struct Value {
  Op op;
  std::optional<Tensor> constant;
};

// What an op lowering sees: the builder, the node and its inputs.
class LowerContext {
 public:
  LowerContext(hlo::Builder& b, const Node& node, std::vector<Value*> inputs)
      : b_(b), node_(node), inputs_(std::move(inputs)) {}

  hlo::Builder& b() { return b_; }
  const Node& node() const { return node_; }
  bool has_input(int i) const { return i < static_cast<int>(inputs_.size()) && inputs_[i] != nullptr; }

  // Input i as an HLO op (a constant input becomes an HLO constant on first use).
  absl::StatusOr<Op> input(int i);
  // Input i's value, which must be a compile-time constant.
  absl::StatusOr<Tensor> constant(int i);
  absl::StatusOr<std::vector<int64_t>> constant_ints(int i);
  absl::StatusOr<float> constant_scalar(int i);

  void set_output(int i, Op op) { outputs_[i] = Value{op, std::nullopt}; }
  void set_output(int i, Value v) { outputs_[i] = std::move(v); }
  std::map<int, Value>& outputs() { return outputs_; }

  // InvalidArgument / Unimplemented, prefixed with the node's op and name.
  absl::Status Error(std::string_view message) const;
  absl::Status Unimplemented(std::string_view message) const;

 private:
  hlo::Builder& b_;
  const Node& node_;
  std::vector<Value*> inputs_;
  std::map<int, Value> outputs_;
};

inline const std::vector<int64_t>& DimsOf(Op op) { return op.shape().dimensions(); }
inline int64_t Rank(Op op) { return op.shape().rank(); }

// ONNX axis (negative counts from the end) into [0, rank).
absl::StatusOr<int64_t> NormalizeAxis(LowerContext& ctx, int64_t axis, int64_t rank);

// ONNX multidirectional (numpy) broadcasting of two operands, as explicit XLA broadcasts.
absl::StatusOr<std::pair<Op, Op>> BroadcastPair(LowerContext& ctx, Op a, Op b);

// Sum over `dims` (kept as size-1 dims when keep_dims), divided by their element count.
// Defined in lower_reduce.cc.
Op MeanOver(hlo::Builder& b, Op x, const std::vector<int64_t>& dims, bool keep_dims);

// lower_elementwise.cc
absl::Status LowerBinary(LowerContext& ctx, hlo::Opcode opcode);
absl::Status LowerUnary(LowerContext& ctx, hlo::Opcode opcode);
absl::Status LowerRelu(LowerContext& ctx);
absl::Status LowerClip(LowerContext& ctx);
absl::Status LowerReciprocal(LowerContext& ctx);
absl::Status LowerPow(LowerContext& ctx);
absl::Status LowerMod(LowerContext& ctx);
absl::Status LowerHardSigmoid(LowerContext& ctx);
absl::Status LowerHardSwish(LowerContext& ctx);
absl::Status LowerGelu(LowerContext& ctx);
absl::Status LowerNegativeBranchActivation(LowerContext& ctx);
absl::Status LowerPRelu(LowerContext& ctx);

// lower_matmul.cc
absl::Status LowerGemm(LowerContext& ctx);
absl::Status LowerMatMul(LowerContext& ctx);

// lower_nn.cc
absl::Status LowerConv(LowerContext& ctx);
absl::Status LowerNhwcConv(LowerContext& ctx);
absl::Status LowerConvTranspose(LowerContext& ctx);
absl::Status LowerMaxPool(LowerContext& ctx);
absl::Status LowerAveragePool(LowerContext& ctx);
absl::Status LowerGlobalAveragePool(LowerContext& ctx);
absl::Status LowerBatchNormalization(LowerContext& ctx);
absl::Status LowerSoftmax(LowerContext& ctx);
absl::Status LowerLayerNormalization(LowerContext& ctx);

// lower_reduce.cc
absl::Status LowerReduce(LowerContext& ctx);

// lower_shape.cc
absl::Status LowerReshape(LowerContext& ctx);
absl::Status LowerSqueeze(LowerContext& ctx);
absl::Status LowerUnsqueeze(LowerContext& ctx);
absl::Status LowerFlatten(LowerContext& ctx);
absl::Status LowerTranspose(LowerContext& ctx);
absl::Status LowerConcat(LowerContext& ctx);
absl::Status LowerSplit(LowerContext& ctx);
absl::Status LowerCast(LowerContext& ctx);
absl::Status LowerPad(LowerContext& ctx);
absl::Status LowerResize(LowerContext& ctx);
absl::Status LowerSlice(LowerContext& ctx);
absl::Status LowerExpand(LowerContext& ctx);
absl::Status LowerTile(LowerContext& ctx);
absl::Status LowerDropout(LowerContext& ctx);
absl::Status LowerIdentity(LowerContext& ctx);
absl::Status LowerConstant(LowerContext& ctx);

}  // namespace kiln::jit::lowering

#endif  // KILN_JIT_LOWER_INTERNAL_H_
