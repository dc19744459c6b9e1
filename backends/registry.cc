// RegisterBackends(): the one place that lists every backend built into Kiln.
#include <mutex>

#include "kiln/backends/backend.h"
#include "kiln/backends/cpu.h"
#include "kiln/backends/interpreter.h"

namespace kiln::backends {

void RegisterBackends() {
  static std::once_flag once;
  std::call_once(once, [] {
    BackendRegistry& registry = BackendRegistry::Global();
    registry.Register(CreateInterpreterBackend());
    registry.Register(CreateCpuBackend());
  });
}

}  // namespace kiln::backends
