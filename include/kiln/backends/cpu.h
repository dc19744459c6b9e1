// The CPU backend ("cpu"): oneDNN for convolution and dot (with bias and clamp/relu epilogues fused
// into the primitive), LLVM IR compiled by ORC LLJIT for everything else (each connected group of
// elementwise ops becomes one loop kernel; broadcasts, reshapes, transposes, slices, pads,
// concatenations, reductions and reduce-windows are loops too).
#ifndef KILN_BACKENDS_CPU_H_
#define KILN_BACKENDS_CPU_H_

#include <memory>

#include "kiln/backends/backend.h"

namespace kiln::backends {

struct CpuBackendOptions {
  int opt_level = 3;  // LLVM pipeline level (0..3).
  // Keep activations in oneDNN's channel-blocked layout between NCHW convolutions (reordered to
  // row-major for every other reader); false runs every convolution on row-major buffers.
  bool blocked_layouts = true;
};

// A new CPU backend. Compile() is thread-safe; executables may Run concurrently.
std::unique_ptr<Backend> CreateCpuBackend(const CpuBackendOptions& options = {});

}  // namespace kiln::backends

#endif  // KILN_BACKENDS_CPU_H_
