// LLVM ORC wrapper of the CPU backend: optimises an llvm::Module for the host CPU and JIT-compiles it.
// LLVM types appear only here and in the IR emitter; everything crossing the backend boundary is
// absl::Status / plain pointers.
#ifndef KILN_BACKENDS_CPU_JIT_COMPILER_H_
#define KILN_BACKENDS_CPU_JIT_COMPILER_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace llvm {
class LLVMContext;
class Module;
class DataLayout;
namespace orc {
class LLJIT;
}  // namespace orc
}  // namespace llvm

namespace kiln::cpu {

struct JitCompilerOptions {
  int opt_level = 3;        // 0..3: the new pass manager's default pipeline level.
  std::string dump_ir_to;   // When set, the optimised IR of each module is written to this file.
};

// One JIT-compiled code object. Create() targets the host CPU (name and features from
// llvm::sys), initialising LLVM's native target once per process (thread-safe). Symbols of the
// current process (libm, ...) resolve from generated code.
//
// Thread safety: Compile() and Lookup() must not race with each other; the returned function
// addresses may be called from any thread for as long as this object lives.
class JitCompiler {
 public:
  static absl::StatusOr<std::unique_ptr<JitCompiler>> Create(const JitCompilerOptions& options = {});
  ~JitCompiler();
  JitCompiler(const JitCompiler&) = delete;
  JitCompiler& operator=(const JitCompiler&) = delete;

  // The data layout and triple that modules given to Compile() must use.
  const llvm::DataLayout& data_layout() const;
  std::string target_triple() const;
  // The host CPU name LLVM detected ("znver4", ...), for logs and cache keys.
  const std::string& cpu_name() const { return cpu_name_; }

  // Verifies, optimises (O`opt_level`) and compiles `module`, which must live in `context`.
  // InvalidArgument when the module fails verification (a bug in the emitter; the message holds
  // the verifier's complaint).
  absl::Status Compile(std::unique_ptr<llvm::LLVMContext> context, std::unique_ptr<llvm::Module> module);

  // Address of the compiled function `name`; NotFound when no compiled module defines it.
  absl::StatusOr<void*> Lookup(std::string_view name);

 private:
  JitCompiler() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string cpu_name_;
  JitCompilerOptions options_;
};

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_JIT_COMPILER_H_
