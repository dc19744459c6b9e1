// The interpreter backend: a thin wrapper over the HLO evaluator (kiln/hlo/evaluator.h). Compile
// checks that the evaluator implements every instruction and keeps the module; Run converts the
// argument buffers to literals, evaluates, and copies the results back.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/support/strings.h"
#include "kiln/backends/interpreter.h"
#include "kiln/hlo/evaluator.h"
#include "kiln/support/status.h"

namespace kiln::backends {
namespace {

class InterpreterExecutable : public Executable {
 public:
  explicit InterpreterExecutable(std::unique_ptr<hlo::Module> module)
      : Executable(*module), module_(std::move(module)) {}

  absl::Status Run(absl::Span<const BufferRef> args, absl::Span<const BufferRef> results,
                   RunContext& ctx) const override {
    KILN_RETURN_IF_ERROR(CheckBuffers(args, results));
    std::vector<hlo::Literal> arg_literals;
    for (size_t i = 0; i < args.size(); ++i) {
      KILN_ASSIGN_OR_RETURN(hlo::Literal l, hlo::Literal::CreateFromBytes(parameter_shapes()[i],
                                                                          args[i].data, args[i].size));
      arg_literals.push_back(std::move(l));
    }
    KILN_ASSIGN_OR_RETURN(hlo::Literal result, hlo::Evaluate(*module_, arg_literals));
    std::vector<const hlo::Literal*> parts;
    if (result_is_tuple()) {
      for (const hlo::Literal& e : result.tuple_elements()) parts.push_back(&e);
    } else {
      parts.push_back(&result);
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i]->shape().IsArray()) {
        return absl::UnimplementedError("interpreter: nested tuple results are not supported");
      }
      if (parts[i]->size_bytes() > 0) {
        std::memcpy(results[i].data, parts[i]->untyped_data(), parts[i]->size_bytes());
      }
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<hlo::Module> module_;
};

class InterpreterBackend : public Backend {
 public:
  std::string_view name() const override { return "interpreter"; }
  bool IsOpSupported(const hlo::Instruction& instruction) const override {
    return hlo::CanEvaluate(instruction);
  }
  absl::StatusOr<std::unique_ptr<Executable>> Compile(std::unique_ptr<hlo::Module> module,
                                                      const CompileOptions& options) override {
    for (const hlo::Computation* c : module->MakeComputationPostOrder()) {
      for (const hlo::Instruction* i : c->instructions()) {
        if (!IsOpSupported(*i)) {
          return absl::UnimplementedError(kiln::StrCat(
              "interpreter: ", std::string(hlo::OpcodeString(i->opcode())), " (instruction %",
              i->name(), ") is not implemented"));
        }
      }
    }
    return std::unique_ptr<Executable>(new InterpreterExecutable(std::move(module)));
  }
};

}  // namespace

std::unique_ptr<Backend> CreateInterpreterBackend() {
  return std::make_unique<InterpreterBackend>();
}

void RegisterInterpreterBackend() {
  if (BackendRegistry::Global().Find("interpreter") != nullptr) return;
  BackendRegistry::Global().Register(CreateInterpreterBackend());
}

}  // namespace kiln::backends
