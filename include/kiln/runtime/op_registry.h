// The op registry: for each op type, its shape function and the factory of its CPU kernel.
#ifndef KILN_RUNTIME_OP_REGISTRY_H_
#define KILN_RUNTIME_OP_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/runtime/graph.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

// What is known statically about a value: its dtype, its dims (-1 = unknown extent) and, for
// constants (initializers and what folds from them), its value.
struct TensorType {
  DType dtype = DType::kInvalid;
  Dims dims;
  bool rank_known = true;
  std::optional<Tensor> value;  // Set when the value is a compile-time constant.

  bool fully_defined() const {
    if (!rank_known) return false;
    for (int64_t d : dims) if (d < 0) return false;
    return true;
  }
  std::string ToString() const;
};

// Saturating arithmetic for shape functions, whose operands may come from attributes and constant
// inputs of any size: on overflow the result is INT64_MAX (or INT64_MIN), which the check after each
// shape function refuses, instead of undefined behaviour. Callers handle unknown (-1) dims first.
inline int64_t SatMul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
  return r;
}
inline int64_t SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return a < 0 ? INT64_MIN : INT64_MAX;
  return r;
}
inline int64_t SatSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return a < 0 ? INT64_MIN : INT64_MAX;
  return r;
}

// Checks what a shape function inferred for one output: every dim -1 (unknown) or non-negative, and
// at most kMaxTensorElements elements. The error names the node and the output.
absl::Status CheckInferredType(const Node& node, int output, const TensorType& type);

// Shape inference for one node. `inputs[i]` is nullptr for an absent optional input.
class InferenceContext {
 public:
  InferenceContext(const Node& node, std::vector<const TensorType*> inputs)
      : node_(node), inputs_(std::move(inputs)) {}
  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const { return i < num_inputs() && inputs_[i] != nullptr; }
  const TensorType& input(int i) const { return *inputs_[i]; }
  std::vector<TensorType>& outputs() { return outputs_; }
  void set_output(int i, TensorType t) {
    if (outputs_.size() <= static_cast<size_t>(i)) outputs_.resize(i + 1);
    outputs_[i] = std::move(t);
  }
  // InvalidArgument naming the node and its op, e.g. "Conv node 'conv1': ..."; a message that already
  // starts with "Conv node 'conv1'" (say, a Node::GetInts error) is kept as it is, never prefixed twice.
  absl::Status Error(std::string_view message) const;

 private:
  const Node& node_;
  std::vector<const TensorType*> inputs_;
  std::vector<TensorType> outputs_;
};

// Supplies the memory of a node's outputs (the executor's memory plan). Allocate returns a
// tensor with unspecified contents (see KernelContext::AllocateOutput) of exactly `dtype` and `dims` for output `output`, from planned memory when the
// plan has a slot of that type, else from its own allocation.
class OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  virtual absl::StatusOr<Tensor> Allocate(int output, DType dtype, const Dims& dims) = 0;
};

// Per-call context of a kernel: its inputs (absent optional inputs are invalid Tensors) and outputs.
// Kernels get output memory from AllocateOutput (planned memory when the executor has a plan), or
// set an output to a tensor they already have (a view of an input, a constant) with SetOutput.
class KernelContext {
 public:
  KernelContext(const Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor>* outputs,
                OutputAllocator* allocator = nullptr)
      : node_(node), inputs_(std::move(inputs)), outputs_(outputs), allocator_(allocator) {}
  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  bool has_input(int i) const { return i < num_inputs() && inputs_[i] != nullptr && inputs_[i]->valid(); }
  const Tensor& input(int i) const { return *inputs_[i]; }
  int num_outputs() const { return static_cast<int>(node_.outputs.size()); }
  // Allocates output i and returns it; valid until the output is set again. Its contents are
  // unspecified (no zero-fill): the kernel writes every element, or calls AllocateZeroedOutput.
  // Tests catch a kernel that does not with PoisonUninitialized (kiln/tensor/tensor.h).
  absl::StatusOr<Tensor*> AllocateOutput(int i, DType dtype, Dims dims);
  // AllocateOutput, then every byte set to zero: for kernels that accumulate into their output or
  // write only some of its elements.
  absl::StatusOr<Tensor*> AllocateZeroedOutput(int i, DType dtype, Dims dims);
  // Sets output i to an existing tensor (for example an input reshaped without a copy).
  void SetOutput(int i, Tensor t) { (*outputs_)[i] = std::move(t); }
  // As InferenceContext::Error: one "<op> node '<name>': " prefix.
  absl::Status Error(std::string_view message) const;

 private:
  const Node& node_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor>* outputs_;
  OutputAllocator* allocator_;  // nullptr: each output gets its own allocation.
};

// A kernel is built once per node when a session is created and may then be called from several
// threads at once: Compute must not mutate shared state without its own synchronisation.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual absl::Status Compute(KernelContext& ctx) const = 0;
};

// What a kernel factory knows: the node and the static types of its inputs (with constant values).
struct KernelConstruction {
  const Node& node;
  std::vector<const TensorType*> input_types;  // nullptr for absent inputs.
  const std::vector<TensorType>* output_types = nullptr;
};

using ShapeFn = std::function<absl::Status(InferenceContext&)>;
using KernelFactory =
    std::function<absl::StatusOr<std::unique_ptr<OpKernel>>(const KernelConstruction&)>;

struct OpDef {
  std::string name;
  int min_inputs = 0;
  int max_inputs = 0;   // -1: variadic.
  int num_outputs = 1;  // -1: variadic (given by the node).
  ShapeFn shape_fn;
  KernelFactory kernel_factory;
};

// Thread-safe: ops may be registered (the JIT's launch op on first use) while other threads look ops
// up. An OpDef, once registered, never changes or moves, so Find's pointer stays valid.
class OpRegistry {
 public:
  // The process-wide registry, filled by RegisterStandardOps() (idempotent, thread-safe).
  static OpRegistry& Global();
  // AlreadyExists when an op of that name is registered: a name is registered once, never replaced.
  absl::Status Register(OpDef def);
  const OpDef* Find(const std::string& op) const;
  std::vector<std::string> OpNames() const;

 private:
  // std::shared_mutex rather than absl::Mutex: ThreadSanitizer sees it (Debian's Abseil is not
  // instrumented).
  mutable std::shared_mutex mu_;
  std::map<std::string, OpDef> ops_;  // Guarded by mu_.
};

// Registers every op of Kiln's op set into OpRegistry::Global(). Called by Session::Create and by
// tools; explicit, no static initializers.
void RegisterStandardOps();

// A kernel built from a plain function (for stateless ops).
std::unique_ptr<OpKernel> MakeFunctionKernel(std::function<absl::Status(KernelContext&)> fn);

// Infers the type of every value in `graph` from its inputs (with `input_overrides` replacing the
// declared types of the named inputs) and initializers, in topological order. Errors name the node.
absl::StatusOr<std::map<std::string, TensorType>> InferTypes(
    const Graph& graph, const std::map<std::string, TensorType>& input_overrides = {});

}  // namespace kiln

#endif  // KILN_RUNTIME_OP_REGISTRY_H_
