// The backend interface: a backend compiles an HLO module into an Executable that runs on dense
// buffers. Backends are registered by name, explicitly, in RegisterBackends().
#ifndef KILN_BACKENDS_BACKEND_H_
#define KILN_BACKENDS_BACKEND_H_

#include <cstddef>
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
