// The backend interface: a backend compiles an HLO module into an Executable that runs on dense
// buffers. Backends are registered by name, explicitly, in RegisterBackends().
#ifndef KILN_BACKENDS_BACKEND_H_
#define KILN_BACKENDS_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/hlo/instruction.h"
#include "kiln/hlo/module.h"
#include "kiln/hlo/shape.h"

namespace kiln::backends {

// A caller-owned byte buffer. Array data is dense and row-major (the shape's logical order).
struct BufferRef {
  void* data = nullptr;
  size_t size = 0;  // Bytes.
};

struct CompileOptions {
  // When non-empty, the backend writes its artifacts (HLO text before/after its passes, IR) into
  // this existing folder, one file per module, named after the module.
  std::string dump_to;
};

// Where one Compile spent its time, measured with std::chrono::steady_clock, in milliseconds.
// A backend fills in the phases it has and leaves the others at zero; the JIT adds the phases
// before the backend (lowering, cache key). Printed by `--log_compiles` and written next to the
// HLO dump as cluster_<fingerprint>_<n>.compile.txt (docs/jit.md, "Compile-time report").
struct CompileTimes {
  double lower_ms = 0;          // Runtime graph -> HLO module (the JIT).
  double cache_key_ms = 0;      // Canonical HLO text and fingerprint (the JIT).
  double pipeline_ms = 0;       // The backend's HLO pass pipeline.
  double planning_ms = 0;       // Buffer and thunk planning, excluding the primitives and IR below.
  double primitives_ms = 0;     // Creating library primitives (oneDNN convolutions, matmuls, reorders).
  double ir_emission_ms = 0;    // Emitting LLVM IR for the loop kernels.
  double llvm_opt_ms = 0;       // LLVM's optimisation pipeline (verify, passes).
  double llvm_codegen_ms = 0;   // JIT creation, instruction selection, object emission and linking.
  int64_t ir_instructions = 0;  // LLVM IR instructions emitted, before optimisation.
  int64_t kernels = 0;          // LLVM loop kernels.
  int64_t primitives = 0;       // Library primitives created.

  // Sum of the phases.
  double total_ms() const;
  // One line: "total 12.3 ms: lower 0.1, cache_key 0.0, pipeline 1.2, ... (34 kernels, 5678 IR instrs)".
  std::string ToString() const;
};

// Per-call execution context. Empty for now: reserved for a caller-provided thread pool and
// scratch allocator, so that adding them does not change Run's signature.
struct RunContext {};

// A compiled module. Run may be called concurrently from several threads on one Executable.
class Executable {
 public:
  virtual ~Executable();

  // Runs the module. `args`: one buffer per entry parameter, in parameter order, each holding
  // exactly ByteSizeOf(parameter shape) bytes. `results`: one buffer per tuple element when the
  // root's shape is a tuple, else one buffer; allocated by the caller (64-byte aligned), each of
  // ByteSizeOf(result shape) bytes. InvalidArgument when counts or sizes differ.
  virtual absl::Status Run(absl::Span<const BufferRef> args, absl::Span<const BufferRef> results,
                           RunContext& ctx) const = 0;

  // The entry computation's parameter shapes, and the result shapes (the root's tuple elements,
  // or the root's shape alone).
  const std::vector<hlo::Shape>& parameter_shapes() const { return parameter_shapes_; }
  const std::vector<hlo::Shape>& result_shapes() const { return result_shapes_; }
  // True when the root is a tuple (results are its elements).
  bool result_is_tuple() const { return result_is_tuple_; }

  // Where compiling this executable spent its time. Set by the backend's Compile (its phases) and
  // by the JIT (lowering, cache key) before the executable is shared; read-only afterwards.
  const CompileTimes& compile_times() const { return compile_times_; }
  CompileTimes& mutable_compile_times() { return compile_times_; }

 protected:
  // Records the shapes of `module`'s entry computation.
  explicit Executable(const hlo::Module& module);
  // Checks buffer counts and sizes against the shapes; InvalidArgument naming the first mismatch.
  absl::Status CheckBuffers(absl::Span<const BufferRef> args,
                            absl::Span<const BufferRef> results) const;

 private:
  std::vector<hlo::Shape> parameter_shapes_;
  std::vector<hlo::Shape> result_shapes_;
  bool result_is_tuple_ = false;
  CompileTimes compile_times_;
};

class Backend {
 public:
  virtual ~Backend();
  // The registry key ("interpreter", "cpu").
  virtual std::string_view name() const = 0;
  // What compiled code depends on besides the module: options, target CPU name and features.
  // Part of the JIT's compilation-cache key, so executables compiled for another target or with
  // other options are not reused. Defaults to the backend's name.
  virtual std::string TargetDescription() const { return std::string(name()); }
  // Whether Compile accepts modules containing `instruction` (its opcode, types and attributes).
  virtual bool IsOpSupported(const hlo::Instruction& instruction) const = 0;
  // Compiles a verified module. Thread-safe.
  virtual absl::StatusOr<std::unique_ptr<Executable>> Compile(std::unique_ptr<hlo::Module> module,
                                                              const CompileOptions& options) = 0;
};

// The process-wide set of backends, by name. Thread-safe.
class BackendRegistry {
 public:
  static BackendRegistry& Global();
  // Adds `backend`; a backend of the same name is replaced.
  void Register(std::unique_ptr<Backend> backend);
  // nullptr when no backend has `name`.
  Backend* Find(std::string_view name) const;
  // Sorted names.
  std::vector<std::string> Names() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Backend>> backends_;
  // Replaced backends stay alive (callers may hold pointers from Find).
  std::vector<std::unique_ptr<Backend>> retired_;
};

// Registers every backend built into Kiln (defined in backends/registry.cc). Idempotent.
void RegisterBackends();

}  // namespace kiln::backends

#endif  // KILN_BACKENDS_BACKEND_H_
