// The CPU executable's steps: a thunk runs one LLVM loop kernel, one oneDNN primitive (convolution,
// matmul, reorder) or one copy over the numbered buffer slots of a run.
#ifndef KILN_BACKENDS_CPU_THUNKS_H_
#define KILN_BACKENDS_CPU_THUNKS_H_

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "backends/cpu/onednn_ops.h"

namespace kiln::cpu {

// What one Run() uses and no concurrent Run() may share: the arena of temporaries and scratch, a
// oneDNN stream and the oneDNN memory objects of each thunk (bound to arena addresses, which stay
// put). Kept in a pool between calls.
struct Workspace {
  std::unique_ptr<char, void (*)(void*)> arena{nullptr, &std::free};
  dnnl::stream stream;
  std::vector<cpu::ArgCache> caches;  // One per thunk.
};

struct RunState {
  std::vector<void*> slots;
  dnnl::stream stream;
  char* scratch = nullptr;  // Shared scratch for oneDNN thunks (one runs at a time).
  cpu::ArgCache* cache = nullptr;  // The running thunk's memory objects.
};

class Thunk {
 public:
  virtual ~Thunk() = default;
  virtual absl::Status Run(RunState& state) const = 0;
  virtual size_t scratch_bytes() const { return 0; }
};

using KernelFn = void (*)(void**);

class KernelThunk : public Thunk {
 public:
  explicit KernelThunk(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  void set_fn(KernelFn fn) { fn_ = fn; }
  absl::Status Run(RunState& state) const override {
    fn_(state.slots.data());
    return absl::OkStatus();
  }

 private:
  std::string name_;
  KernelFn fn_ = nullptr;
};

// A oneDNN convolution or matmul (cpu::ConvPrimitive, cpu::MatmulPrimitive): src, weights, optional
// bias (slot -1: none) and dst.
template <typename Primitive>
class WeightedThunk : public Thunk {
 public:
  WeightedThunk(std::unique_ptr<Primitive> prim, int src, int weights, int bias, int dst)
      : prim_(std::move(prim)), src_(src), weights_(weights), bias_(bias), dst_(dst) {}
  absl::Status Run(RunState& s) const override {
    return prim_->Execute(s.stream, s.slots[src_], s.slots[weights_], bias_ >= 0 ? s.slots[bias_] : nullptr,
                          s.slots[dst_], s.scratch, *s.cache);
  }
  size_t scratch_bytes() const override { return prim_->scratch_bytes(); }

 private:
  std::unique_ptr<Primitive> prim_;
  int src_, weights_, bias_, dst_;
};
using ConvThunk = WeightedThunk<cpu::ConvPrimitive>;
using MatmulThunk = WeightedThunk<cpu::MatmulPrimitive>;

class ReorderThunk : public Thunk {
 public:
  ReorderThunk(std::unique_ptr<cpu::ReorderPrimitive> prim, int src, int dst)
      : prim_(std::move(prim)), src_(src), dst_(dst) {}
  absl::Status Run(RunState& s) const override {
    return prim_->Execute(s.stream, s.slots[src_], s.slots[dst_], *s.cache);
  }

 private:
  std::unique_ptr<cpu::ReorderPrimitive> prim_;
  int src_, dst_;
};

class CopyThunk : public Thunk {
 public:
  CopyThunk(int src, int dst, size_t bytes) : src_(src), dst_(dst), bytes_(bytes) {}
  absl::Status Run(RunState& s) const override {
    if (bytes_ > 0) std::memcpy(s.slots[dst_], s.slots[src_], bytes_);
    return absl::OkStatus();
  }

 private:
  int src_, dst_;
  size_t bytes_;
};

}  // namespace kiln::cpu

#endif  // KILN_BACKENDS_CPU_THUNKS_H_
