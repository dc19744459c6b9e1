// The CPU backend: plans an HLO entry computation into a sequence of thunks over numbered buffer
// slots, emits one LLVM module for all loop kernels, and runs the thunks per call.
//
// Planning (Compile):
//   1. Every convolution and dot becomes a oneDNN thunk; a following bias add (broadcast of an
//      [O] vector along the output feature dimension) and clamp / maximum / minimum with constant
//      bounds are folded into the primitive when each intermediate has exactly one user. A
//      convolution also absorbs one residual add(chain, other) as a oneDNN sum post-op when `other`
//      is computed earlier: the destination is pre-filled with `other` (in place when `other` dies
//      there and has the destination's layout).
//   2. Elementwise ops form loop groups: an elementwise op joins the group of its users when all of
//      them are elementwise ops of one group with its dimensions; the group's root is materialized.
//   3. Index ops (broadcast, reshape, transpose, slice, pad, concatenate, reverse, iota) are computed
//      inline by whoever reads them, and materialized only for oneDNN operands and results. A
//      materialized reshape of a materialized value aliases its operand (no copy).
//   4. reduce and reduce-window are loop kernels of their own.
//   5. Convolutions with NCHW-style dimension numbers keep their values in oneDNN's channel-blocked
//      layout (nChw16c / nChw8c, `blocked_`), so consecutive convolutions run oneDNN's direct,
//      1x1 and depthwise kernels without reorders; a value gets a row-major copy (reorder thunk)
//      only when something other than such a convolution reads it (`PlainSlot`). `slot_` always
//      names row-major buffers.
//   6. Temporaries get offsets in one arena, reusing space once a value is dead. Each Run takes a
//      workspace (arena, oneDNN stream, the thunks' oneDNN memory objects) from a pool, so
//      concurrent runs share nothing mutable.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/cpu/cpu_fusion.h"
#include "backends/cpu/cpu_pipeline.h"
#include "backends/cpu/ir_emitter.h"
#include "backends/cpu/jit_compiler.h"
#include "backends/cpu/onednn_ops.h"
#include "kiln/backends/cpu.h"
#include "kiln/hlo/computation.h"
#include "kiln/support/status.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace kiln::backends {
namespace {

using cpu::PostOp;
using hlo::Instruction;
using hlo::Opcode;
using hlo::PrimitiveType;

constexpr size_t kAlign = 64;
size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool IsStandardConv(const Instruction& conv);

std::string OpName(const Instruction* instr) { return std::string(hlo::OpcodeString(instr->opcode())); }

bool IsF32(const hlo::Shape& s) { return cpu::IsRowMajorF32(s); }

// ---------------------------------------------------------------------------------------------
// Run-time state and thunks.

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

// ---------------------------------------------------------------------------------------------
// The executable.

struct Slot {
  enum class Kind { kParameter, kResult, kConstant, kTemp };
  Kind kind = Kind::kTemp;
  int64_t index = 0;     // Parameter / result number.
  size_t offset = 0;     // kTemp: offset in the arena.
  size_t bytes = 0;
  const void* constant = nullptr;  // kConstant: data owned by the executable's module.
  int def = -1;          // Thunk that writes it.
  int last_use = -1;     // Last thunk that reads it.
};

class CpuExecutable : public Executable {
 public:
  CpuExecutable(std::unique_ptr<hlo::Module> module) : Executable(*module), module_(std::move(module)) {}

  absl::Status Run(absl::Span<const BufferRef> args, absl::Span<const BufferRef> results,
                   RunContext& ctx) const override {
    KILN_RETURN_IF_ERROR(CheckBuffers(args, results));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<Workspace> ws, AcquireWorkspace());
    char* arena = ws->arena.get();
    RunState state;
    state.slots.resize(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      const Slot& slot = slots_[i];
      switch (slot.kind) {
        case Slot::Kind::kParameter: state.slots[i] = args[slot.index].data; break;
        case Slot::Kind::kResult: state.slots[i] = results[slot.index].data; break;
        case Slot::Kind::kConstant: state.slots[i] = const_cast<void*>(slot.constant); break;
        case Slot::Kind::kTemp: state.slots[i] = arena + slot.offset; break;
      }
    }
    state.scratch = arena + temp_bytes_;
    state.stream = ws->stream;
    absl::Status status;
    for (size_t i = 0; i < thunks_.size(); ++i) {
      state.cache = &ws->caches[i];
      status = thunks_[i]->Run(state);
      if (!status.ok()) break;
    }
    ReleaseWorkspace(std::move(ws));
    return Annotate(status, absl::StrCat("running module '", module_->name(), "' on the cpu backend"));
  }

 private:
  friend class Planner;

  absl::StatusOr<std::unique_ptr<Workspace>> AcquireWorkspace() const {
    {
      std::lock_guard<std::mutex> lock(arena_mu_);
      if (!free_workspaces_.empty()) {
        std::unique_ptr<Workspace> ws = std::move(free_workspaces_.back());
        free_workspaces_.pop_back();
        return ws;
      }
    }
    auto ws = std::make_unique<Workspace>();
    const size_t bytes = std::max<size_t>(kAlign, AlignUp(temp_bytes_ + scratch_bytes_));
    ws->arena.reset(static_cast<char*>(std::aligned_alloc(kAlign, bytes)));
    if (ws->arena == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat("CPU backend: cannot allocate ", bytes, " bytes of temporaries"));
    }
    try {
      ws->stream = dnnl::stream(cpu::CpuEngine());
    } catch (const dnnl::error& e) {
      return absl::InternalError(absl::StrCat("oneDNN stream creation failed: ", e.what()));
    }
    ws->caches.resize(thunks_.size());
    return ws;
  }
  void ReleaseWorkspace(std::unique_ptr<Workspace> ws) const {
    std::lock_guard<std::mutex> lock(arena_mu_);
    if (free_workspaces_.size() < 8) free_workspaces_.push_back(std::move(ws));
  }

  std::unique_ptr<hlo::Module> module_;  // Owns the constants' data.
  std::unique_ptr<cpu::JitCompiler> jit_;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Thunk>> thunks_;
  size_t temp_bytes_ = 0;
  size_t scratch_bytes_ = 0;
  mutable std::mutex arena_mu_;
  mutable std::vector<std::unique_ptr<Workspace>> free_workspaces_;
};

// ---------------------------------------------------------------------------------------------
// The planner.

class Planner {
 public:
  Planner(const CpuBackendOptions& options, const CompileOptions& compile_options)
      : options_(options), compile_options_(compile_options) {}

  absl::StatusOr<std::unique_ptr<Executable>> Run(std::unique_ptr<hlo::Module> module);

 private:
  bool IsOutput(const Instruction* instr) const { return outputs_.count(instr) > 0; }
  int NewSlot(Slot slot) {
    exe_->slots_.push_back(slot);
    return static_cast<int>(exe_->slots_.size()) - 1;
  }
  // The row-major buffer of `instr`'s value, or -1.
  int SlotOf(const Instruction* instr) const {
    auto it = slot_.find(instr);
    return it == slot_.end() ? -1 : it->second;
  }
  // The emitter's view while it emits the loop kernel of kLoop fusion `loop_fusion_`: the fused
  // computation's parameters are the fusion's operands and its root is the fusion.
  int KernelSlotOf(const Instruction* instr) const {
    if (loop_fusion_ != nullptr && instr->parent() == loop_fusion_->fused_computation()) {
      if (instr->opcode() == Opcode::kParameter) return SlotOf(loop_fusion_->operand(instr->parameter_number()));
      return instr == loop_fusion_->fused_computation()->root_instruction() ? SlotOf(loop_fusion_) : -1;
    }
    return SlotOf(instr);
  }
  bool HasSlot(const Instruction* instr) const { return slot_.count(instr) > 0 || blocked_.count(instr) > 0; }
  // The row-major buffer of a computed value; when only its channel-blocked copy exists, adds a
  // reorder thunk into a new row-major temporary (once). -1 when the value has no buffer yet.
  int PlainSlot(const Instruction* instr);
  // The channel-blocked buffer (layout `desc`) of a computed value, adding a reorder from its
  // row-major buffer when there is none.
  absl::StatusOr<int> BlockedSlot(const Instruction* instr, const dnnl::memory::desc& desc);
  // Makes row-major buffers exist for every value a loop kernel rooted at `root` reads.
  void EnsurePlainReads(const Instruction* root);
  absl::Status AddReorder(int from_slot, const dnnl::memory::desc& from, int to_slot, const dnnl::memory::desc& to);
  int NewTemp(size_t bytes) { return NewSlot({Slot::Kind::kTemp, 0, 0, bytes}); }
  // Slots a kernel rooted at `root` reads (through inlined instructions).
  void CollectReads(const Instruction* root, std::set<int>& reads) const;
  absl::Status EmitConv(const cpu::ContractionPlan& plan);
  absl::Status EmitDot(const cpu::ContractionPlan& plan);
  absl::Status EmitLoopKernel(const Instruction* instr, cpu::IrEmitter& emitter, std::vector<KernelThunk*>& kernels);
  void AddThunk(std::unique_ptr<Thunk> thunk, int def_slot, const std::set<int>& reads) {
    const int t = static_cast<int>(exe_->thunks_.size());
    exe_->thunks_.push_back(std::move(thunk));
    if (def_slot >= 0 && exe_->slots_[def_slot].def < 0) exe_->slots_[def_slot].def = t;
    for (int r : reads) exe_->slots_[r].last_use = std::max(exe_->slots_[r].last_use, t);
  }
  void AssignArena();

  CpuBackendOptions options_;
  CompileOptions compile_options_;
  std::unique_ptr<CpuExecutable> exe_;
  std::set<const Instruction*> outputs_;  // Values that are module results.
  const Instruction* loop_fusion_ = nullptr;  // The kLoop fusion being emitted (KernelSlotOf).
  std::map<const Instruction*, int> slot_;
  // Values kept in oneDNN's channel-blocked layout between convolutions: slot and layout.
  struct Blocked {
    int slot;
    dnnl::memory::desc desc;
  };
  std::map<const Instruction*, Blocked> blocked_;
  std::set<const Instruction*> emitted_;  // Contraction results whose thunks exist.
};

int Planner::PlainSlot(const Instruction* instr) {
  if (const int s = SlotOf(instr); s >= 0) return s;
  auto it = blocked_.find(instr);
  if (it == blocked_.end()) return -1;
  const int s = NewTemp(static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(instr->shape())));
  const dnnl::memory::desc plain = cpu::RowMajorDesc(it->second.desc.dims());
  absl::Status st = AddReorder(it->second.slot, it->second.desc, s, plain);
  if (!st.ok()) return -1;
  slot_[instr] = s;
  return s;
}

absl::StatusOr<int> Planner::BlockedSlot(const Instruction* instr, const dnnl::memory::desc& desc) {
  auto it = blocked_.find(instr);
  if (it != blocked_.end() && it->second.desc == desc) return it->second.slot;
  const int plain = PlainSlot(instr);
  if (plain < 0) return absl::InternalError(absl::StrCat("CPU backend: ", instr->name(), " has no buffer"));
  const int s = NewTemp(desc.get_size());
  KILN_RETURN_IF_ERROR(AddReorder(plain, cpu::RowMajorDesc(desc.dims()), s, desc));
  if (it == blocked_.end()) blocked_[instr] = {s, desc};
  return s;
}

absl::Status Planner::AddReorder(int from_slot, const dnnl::memory::desc& from, int to_slot,
                                 const dnnl::memory::desc& to) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<cpu::ReorderPrimitive> prim, cpu::ReorderPrimitive::Create(from, to));
  AddThunk(std::make_unique<ReorderThunk>(std::move(prim), from_slot, to_slot), to_slot, {from_slot});
  return absl::OkStatus();
}

void Planner::EnsurePlainReads(const Instruction* root) {
  std::vector<const Instruction*> stack(root->operands().begin(), root->operands().end());
  std::set<const Instruction*> seen;
  while (!stack.empty()) {
    const Instruction* instr = stack.back();
    stack.pop_back();
    if (!seen.insert(instr).second) continue;
    if (HasSlot(instr)) {
      PlainSlot(instr);
      continue;
    }
    for (const Instruction* o : instr->operands()) stack.push_back(o);
  }
}

void Planner::CollectReads(const Instruction* root, std::set<int>& reads) const {
  std::vector<const Instruction*> stack(root->operands().begin(), root->operands().end());
  std::set<const Instruction*> seen;
  while (!stack.empty()) {
    const Instruction* instr = stack.back();
    stack.pop_back();
    if (!seen.insert(instr).second) continue;
    const int s = SlotOf(instr);
    if (s >= 0) {
      reads.insert(s);
      continue;
    }
    for (const Instruction* o : instr->operands()) stack.push_back(o);
  }
}

// The post-ops of a contraction thunk: the residual sum first, then the clamps.
std::vector<PostOp> PostOpsOf(const cpu::ContractionPlan& plan) {
  std::vector<PostOp> ops;
  if (plan.sum != nullptr) ops.push_back({PostOp::Kind::kSum});
  for (const cpu::EpilogueClamp& c : plan.clamps) {
    PostOp op;
    op.kind = PostOp::Kind::kClip;
    op.lo = c.lo;
    op.hi = c.hi;
    ops.push_back(op);
  }
  return ops;
}

absl::Status Planner::EmitConv(const cpu::ContractionPlan& plan) {
  const Instruction* conv = plan.contraction;
  const hlo::ConvolutionDimensionNumbers& dn = conv->convolution_dimension_numbers();
  const hlo::Shape& in = conv->operand(0)->shape();
  const hlo::Shape& k = conv->operand(1)->shape();
  const hlo::Shape& out = conv->shape();
  const std::vector<int64_t> ist = hlo::ShapeUtil::RowMajorStrides(in.dimensions());
  const std::vector<int64_t> kst = hlo::ShapeUtil::RowMajorStrides(k.dimensions());
  const std::vector<int64_t> ost = hlo::ShapeUtil::RowMajorStrides(out.dimensions());
  const int64_t groups = conv->feature_group_count();
  const int64_t o = k.dimensions(dn.kernel_output_feature_dimension);

  dnnl::memory::dims src_dims = {in.dimensions(dn.input_batch_dimension), in.dimensions(dn.input_feature_dimension)};
  dnnl::memory::dims src_strides = {ist[dn.input_batch_dimension], ist[dn.input_feature_dimension]};
  dnnl::memory::dims dst_dims = {out.dimensions(dn.output_batch_dimension), out.dimensions(dn.output_feature_dimension)};
  dnnl::memory::dims dst_strides = {ost[dn.output_batch_dimension], ost[dn.output_feature_dimension]};
  dnnl::memory::dims w_dims, w_strides;
  if (groups > 1) {
    w_dims = {groups, o / groups};
    w_strides = {kst[dn.kernel_output_feature_dimension] * (o / groups), kst[dn.kernel_output_feature_dimension]};
  } else {
    w_dims = {o};
    w_strides = {kst[dn.kernel_output_feature_dimension]};
  }
  w_dims.push_back(k.dimensions(dn.kernel_input_feature_dimension));
  w_strides.push_back(kst[dn.kernel_input_feature_dimension]);
  cpu::ConvSpec spec;
  for (size_t i = 0; i < dn.input_spatial_dimensions.size(); ++i) {
    src_dims.push_back(in.dimensions(dn.input_spatial_dimensions[i]));
    src_strides.push_back(ist[dn.input_spatial_dimensions[i]]);
    dst_dims.push_back(out.dimensions(dn.output_spatial_dimensions[i]));
    dst_strides.push_back(ost[dn.output_spatial_dimensions[i]]);
    w_dims.push_back(k.dimensions(dn.kernel_spatial_dimensions[i]));
    w_strides.push_back(kst[dn.kernel_spatial_dimensions[i]]);
    const hlo::WindowDimension& w = conv->window().dimensions[i];
    spec.strides.push_back(w.stride);
    spec.dilations.push_back(w.window_dilation - 1);
    spec.pad_l.push_back(w.padding_low);
    spec.pad_r.push_back(w.padding_high);
  }
  const dnnl::memory::desc src_plain = cpu::StridedDesc(src_dims, src_strides);
  const dnnl::memory::desc dst_plain = cpu::StridedDesc(dst_dims, dst_strides);
  spec.weights = cpu::StridedDesc(w_dims, w_strides);
  spec.has_bias = plan.bias != nullptr;
  spec.post_ops = PostOpsOf(plan);
  const Instruction* input = plan.input;
  const Instruction* weights = plan.weights;
  const void* const_weights = weights->opcode() == Opcode::kConstant ? weights->literal().untyped_data() : nullptr;

  // Layouts, best first: activations stay channel-blocked between convolutions (oneDNN's direct
  // and depthwise kernels); a row-major input is read as is where oneDNN has a direct kernel for
  // it (the first convolution of a network, few input channels), else reordered. Blocked layouts
  // are dropped when oneDNN would only run them with its reference implementation.
  struct Choice {
    bool src_blocked, dst_blocked;
  };
  std::vector<Choice> choices;
  if (IsStandardConv(*conv) && options_.blocked_layouts) {
    if (!blocked_.count(input)) choices.push_back({false, true});
    choices.push_back({true, true});
  }
  choices.push_back({false, false});
  std::unique_ptr<cpu::ConvPrimitive> prim;
  Choice chosen{false, false};
  for (size_t i = 0; i < choices.size(); ++i) {
    spec.src = choices[i].src_blocked ? cpu::BlockedDesc(src_dims) : src_plain;
    spec.dst = choices[i].dst_blocked ? cpu::BlockedDesc(dst_dims) : dst_plain;
    absl::StatusOr<std::unique_ptr<cpu::ConvPrimitive>> p = cpu::ConvPrimitive::Create(spec, const_weights);
    if (!p.ok()) {
      if (i + 1 == choices.size()) return p.status();
      continue;
    }
    if (choices[i].dst_blocked && (*p)->impl_name().rfind("ref", 0) == 0) continue;
    prim = *std::move(p);
    chosen = choices[i];
    break;
  }

  int src = -1;
  if (chosen.src_blocked) {
    KILN_ASSIGN_OR_RETURN(src, BlockedSlot(input, spec.src));
  } else {
    src = PlainSlot(input);
  }
  const int w = PlainSlot(weights);
  const int bias = plan.bias ? PlainSlot(plan.bias) : -1;
  if (src < 0 || w < 0 || (plan.bias && bias < 0)) {
    return absl::InternalError(absl::StrCat("CPU backend: an operand of ", conv->name(), " has no buffer"));
  }
  std::set<int> reads = {src, w};
  if (bias >= 0) reads.insert(bias);

  // The destination. A result keeps its row-major result buffer (a blocked destination is
  // reordered into it).
  const Instruction* f = plan.result;
  const Instruction* sum = plan.sum;
  const int result_slot = SlotOf(f);
  const size_t dst_bytes = chosen.dst_blocked ? spec.dst.get_size()
                                              : static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(f->shape()));
  int dst = -1;
  if (sum != nullptr) {
    // Pre-fill the destination with the residual operand: in place when that buffer has the
    // destination's layout, is a temporary and nothing reads the operand afterwards.
    int same = -1;
    if (chosen.dst_blocked) {
      auto it = blocked_.find(sum);
      if (it != blocked_.end() && it->second.desc == spec.dst) same = it->second.slot;
    } else {
      same = SlotOf(sum);  // Both are the row-major buffers of one HLO shape.
    }
    bool dies_here = same >= 0 && exe_->slots_[same].kind == Slot::Kind::kTemp && !IsOutput(sum) &&
                     (chosen.dst_blocked || result_slot < 0) && reads.count(same) == 0;
    // Every other reader of `sum` must be a contraction thunk that already ran.
    for (const Instruction* u : sum->users()) {
      if (u != f && !emitted_.count(u)) dies_here = false;
    }
    if (dies_here) {
      dst = same;
    } else {
      dst = (!chosen.dst_blocked && result_slot >= 0) ? result_slot : NewTemp(dst_bytes);
      if (same >= 0) {
        AddThunk(std::make_unique<CopyThunk>(same, dst, dst_bytes), dst, {same});
      } else if (chosen.dst_blocked) {
        const int from = PlainSlot(sum);
        if (from < 0) return absl::InternalError(absl::StrCat("CPU backend: ", sum->name(), " has no buffer"));
        KILN_RETURN_IF_ERROR(AddReorder(from, cpu::RowMajorDesc(dst_dims), dst, spec.dst));
      } else {
        auto it = blocked_.find(sum);
        if (it == blocked_.end()) {
          return absl::InternalError(absl::StrCat("CPU backend: ", sum->name(), " has no buffer"));
        }
        KILN_RETURN_IF_ERROR(AddReorder(it->second.slot, it->second.desc, dst, cpu::RowMajorDesc(it->second.desc.dims())));
      }
    }
    reads.insert(dst);
  } else {
    dst = (!chosen.dst_blocked && result_slot >= 0) ? result_slot : NewTemp(dst_bytes);
  }
  AddThunk(std::make_unique<ConvThunk>(std::move(prim), src, w, bias, dst), dst, reads);
  emitted_.insert(f);
  if (chosen.dst_blocked) {
    blocked_[f] = {dst, spec.dst};
    if (result_slot >= 0) KILN_RETURN_IF_ERROR(AddReorder(dst, spec.dst, result_slot, cpu::RowMajorDesc(dst_dims)));
  } else {
    slot_[f] = dst;
  }
  return absl::OkStatus();
}

absl::Status Planner::EmitDot(const cpu::ContractionPlan& plan) {
  const Instruction* dot = plan.contraction;
  const hlo::DotDimensionNumbers& dn = dot->dot_dimension_numbers();
  const hlo::Shape& l = dot->operand(0)->shape();
  const hlo::Shape& r = dot->operand(1)->shape();
  const int64_t nb = static_cast<int64_t>(dn.lhs_batch_dimensions.size());
  const std::vector<int64_t> lst = hlo::ShapeUtil::RowMajorStrides(l.dimensions());
  const std::vector<int64_t> rst = hlo::ShapeUtil::RowMajorStrides(r.dimensions());
  int64_t batch = 1;
  for (int64_t d = 0; d < nb; ++d) batch *= l.dimensions(d);
  const int64_t lk = dn.lhs_contracting_dimensions[0], rk = dn.rhs_contracting_dimensions[0];
  int64_t lm = -1, rn = -1;
  for (int64_t d = nb; d < l.rank(); ++d) if (d != lk) lm = d;
  for (int64_t d = nb; d < r.rank(); ++d) if (d != rk) rn = d;
  const int64_t m = lm >= 0 ? l.dimensions(lm) : 1, kk = l.dimensions(lk), n = rn >= 0 ? r.dimensions(rn) : 1;
  dnnl::memory::dims src_dims = {m, kk}, src_strides = {lm >= 0 ? lst[lm] : kk * lst[lk], lst[lk]};
  dnnl::memory::dims w_dims = {kk, n}, w_strides = {rst[rk], rn >= 0 ? rst[rn] : kk * rst[rk]};
  dnnl::memory::dims dst_dims = {m, n};
  if (nb > 0) {
    src_dims.insert(src_dims.begin(), batch);
    src_strides.insert(src_strides.begin(), m * kk);
    w_dims.insert(w_dims.begin(), batch);
    w_strides.insert(w_strides.begin(), kk * n);
    dst_dims.insert(dst_dims.begin(), batch);
  }
  cpu::MatmulSpec spec;
  spec.src = cpu::StridedDesc(src_dims, src_strides);
  spec.weights = cpu::StridedDesc(w_dims, w_strides);
  spec.dst = cpu::RowMajorDesc(dst_dims);
  spec.has_bias = plan.bias != nullptr;
  spec.post_ops = PostOpsOf(plan);
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<cpu::MatmulPrimitive> prim, cpu::MatmulPrimitive::Create(spec));
  const Instruction* f = plan.result;
  if (!slot_.count(f)) slot_[f] = NewTemp(static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(f->shape())));
  const int src = PlainSlot(plan.input), w = PlainSlot(plan.weights), dst = SlotOf(f);
  const int bias = plan.bias ? PlainSlot(plan.bias) : -1;
  std::set<int> reads = {src, w};
  if (bias >= 0) reads.insert(bias);
  AddThunk(std::make_unique<MatmulThunk>(std::move(prim), src, w, bias, dst), dst, reads);
  emitted_.insert(f);
  return absl::OkStatus();
}

void Planner::AssignArena() {
  // Temporaries in definition order; first fit among the blocks whose live ranges overlap.
  struct Block {
    size_t offset, bytes;
    int def, last_use;
  };
  std::vector<Block> placed;
  size_t total = 0;
  std::vector<int> temps;
  for (size_t i = 0; i < exe_->slots_.size(); ++i) {
    if (exe_->slots_[i].kind == Slot::Kind::kTemp) temps.push_back(static_cast<int>(i));
  }
  std::sort(temps.begin(), temps.end(), [&](int a, int b) { return exe_->slots_[a].def < exe_->slots_[b].def; });
  for (int t : temps) {
    Slot& s = exe_->slots_[t];
    const int def = s.def, last = std::max(s.last_use, s.def);
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Block& b : placed) {
      if (!(b.last_use < def || last < b.def)) busy.push_back({b.offset, b.offset + b.bytes});
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    const size_t bytes = AlignUp(std::max<size_t>(s.bytes, 1));
    for (const auto& [lo, hi] : busy) {
      if (offset + bytes <= lo) break;
      offset = std::max(offset, hi);
    }
    s.offset = offset;
    placed.push_back({offset, bytes, def, last});
    total = std::max(total, offset + bytes);
  }
  exe_->temp_bytes_ = total;
  size_t scratch = 0;
  for (const auto& thunk : exe_->thunks_) scratch = std::max(scratch, thunk->scratch_bytes());
  exe_->scratch_bytes_ = scratch;
}

// A loop kernel that stores `instr` (a kLoop fusion, or an instruction whose operands all have
// buffers) into its buffer; a reshape of a buffer aliases it instead.
absl::Status Planner::EmitLoopKernel(const Instruction* instr, cpu::IrEmitter& emitter,
                                     std::vector<KernelThunk*>& kernels) {
  const Opcode op = instr->opcode();
  if ((op == Opcode::kReshape || op == Opcode::kBitcast) && HasSlot(instr->operand(0)) && !slot_.count(instr)) {
    slot_[instr] = PlainSlot(instr->operand(0));  // A row-major reshape is the same bytes.
    return absl::OkStatus();
  }
  if (!slot_.count(instr)) {
    slot_[instr] = NewSlot({Slot::Kind::kTemp, 0, 0, static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(instr->shape()))});
  }
  if (hlo::ShapeUtil::ElementsIn(instr->shape()) == 0) return absl::OkStatus();
  const std::string name = absl::StrCat("kiln_k", kernels.size());
  EnsurePlainReads(instr);
  const bool fused = op == Opcode::kFusion;
  const Instruction* root = fused ? instr->fused_computation()->root_instruction() : instr;
  loop_fusion_ = fused ? instr : nullptr;
  std::vector<const Instruction*> outs = {root};
  absl::Status st = emitter.EmitLoopKernel(name, outs);
  loop_fusion_ = nullptr;
  KILN_RETURN_IF_ERROR(Annotate(st, absl::StrCat("emitting ", instr->ToString())));
  auto thunk = std::make_unique<KernelThunk>(name);
  kernels.push_back(thunk.get());
  std::set<int> reads;
  CollectReads(instr, reads);
  AddThunk(std::move(thunk), SlotOf(instr), reads);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Executable>> Planner::Run(std::unique_ptr<hlo::Module> module) {
  const hlo::Computation* entry = module->entry_computation();
  if (entry == nullptr) return absl::InvalidArgumentError("CPU backend: module has no entry computation");
  const std::string module_name = module->name();
  exe_ = std::make_unique<CpuExecutable>(std::move(module));
  const std::vector<Instruction*> order = entry->MakeInstructionPostOrder();

  // Results, in order.
  const Instruction* root = entry->root_instruction();
  std::vector<const Instruction*> results;
  if (root->opcode() == Opcode::kTuple) {
    results.assign(root->operands().begin(), root->operands().end());
  } else {
    results.push_back(root);
  }
  auto resolve = [](const Instruction* v) {
    while (v->opcode() == Opcode::kGetTupleElement && v->operand(0)->opcode() == Opcode::kTuple) {
      v = v->operand(0)->operand(v->tuple_index());
    }
    return v;
  };
  for (const Instruction*& r : results) {
    r = resolve(r);
    if (!r->shape().IsArray()) {
      return absl::UnimplementedError(absl::StrCat("CPU backend: module '", module_name,
                                                   "' returns a nested tuple (", r->name(), "); flatten it"));
    }
    outputs_.insert(r);
  }

  // Slots: parameters, then the values that are results, constants, temporaries.
  for (int64_t i = 0; i < entry->num_parameters(); ++i) {
    const Instruction* p = entry->parameter_instruction(i);
    slot_[p] = NewSlot({Slot::Kind::kParameter, i, 0, static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(p->shape()))});
  }
  std::vector<int> result_slots;
  std::vector<std::pair<int, const Instruction*>> result_copies;  // (result slot, source value)
  for (size_t i = 0; i < results.size(); ++i) {
    const Instruction* r = results[i];
    const int s = NewSlot({Slot::Kind::kResult, static_cast<int64_t>(i), 0,
                           static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(r->shape()))});
    result_slots.push_back(s);
    const bool computed = r->opcode() != Opcode::kParameter && r->opcode() != Opcode::kConstant && !slot_.count(r) &&
                          !(r->opcode() == Opcode::kReshape || r->opcode() == Opcode::kBitcast);
    if (computed) {
      slot_[r] = s;
    } else {
      result_copies.push_back({s, r});
    }
  }

  // Constants first: oneDNN thunks may read a bias constant that comes later in post order.
  for (const Instruction* instr : order) {
    if (instr->opcode() == Opcode::kConstant) {
      slot_[instr] = NewSlot({Slot::Kind::kConstant, 0, 0, instr->literal().size_bytes(), instr->literal().untyped_data()});
    }
  }

  std::unique_ptr<llvm::LLVMContext> context = std::make_unique<llvm::LLVMContext>();
  auto llvm_module = std::make_unique<llvm::Module>(module_name, *context);
  cpu::IrEmitter emitter(*context, *llvm_module, [this](const Instruction* i) { return KernelSlotOf(i); });
  std::vector<KernelThunk*> kernels;

  for (const Instruction* instr : order) {
    const Opcode op = instr->opcode();
    if (op == Opcode::kParameter || op == Opcode::kTuple || op == Opcode::kConstant) continue;
    if (op == Opcode::kGetTupleElement) {
      const Instruction* v = resolve(instr);
      if (v == instr) {
        return absl::UnimplementedError(absl::StrCat("CPU backend: get-tuple-element ", instr->name(),
                                                     " of a non-tuple instruction"));
      }
      if (HasSlot(v) && !slot_.count(instr)) slot_[instr] = PlainSlot(v);
      continue;
    }
    for (const Instruction* operand : instr->operands()) {
      if (!HasSlot(operand) && !(operand->opcode() == Opcode::kConstant)) {
        return absl::InternalError(absl::StrCat("CPU backend: operand ", operand->name(), " of ", instr->name(),
                                                " has no buffer (cpu-fusion should have fused it)"));
      }
    }
    if (op == Opcode::kConvolution || op == Opcode::kDot ||
        (op == Opcode::kFusion && instr->fusion_kind() == hlo::FusionKind::kOutput)) {
      KILN_ASSIGN_OR_RETURN(const cpu::ContractionPlan plan, cpu::DescribeContraction(*instr));
      KILN_RETURN_IF_ERROR(plan.contraction->opcode() == Opcode::kConvolution ? EmitConv(plan) : EmitDot(plan));
      continue;
    }
    KILN_RETURN_IF_ERROR(EmitLoopKernel(instr, emitter, kernels));
  }
  for (const auto& [result_slot, value] : result_copies) {
    const int src = PlainSlot(value);
    if (src < 0) {
      return absl::InternalError(absl::StrCat("CPU backend: result ", value->name(), " has no buffer"));
    }
    AddThunk(std::make_unique<CopyThunk>(src, result_slot, exe_->slots_[result_slot].bytes), result_slot, {src});
  }
  AssignArena();

  // Compile the kernels.
  cpu::JitCompilerOptions jit_options;
  jit_options.opt_level = options_.opt_level;
  if (!compile_options_.dump_to.empty()) {
    jit_options.dump_ir_to = absl::StrCat(compile_options_.dump_to, "/", module_name, ".cpu.ll");
  }
  KILN_ASSIGN_OR_RETURN(exe_->jit_, cpu::JitCompiler::Create(jit_options));
  if (!kernels.empty()) {
    KILN_RETURN_IF_ERROR(exe_->jit_->Compile(std::move(context), std::move(llvm_module)));
    for (KernelThunk* k : kernels) {
      KILN_ASSIGN_OR_RETURN(void* fn, exe_->jit_->Lookup(k->name()));
      k->set_fn(reinterpret_cast<KernelFn>(fn));
    }
  }
  return std::unique_ptr<Executable>(std::move(exe_));
}

// ---------------------------------------------------------------------------------------------
// Support checks.

bool ConvSupported(const Instruction& conv) {
  if (!IsF32(conv.shape()) || !IsF32(conv.operand(0)->shape()) || !IsF32(conv.operand(1)->shape())) return false;
  const hlo::ConvolutionDimensionNumbers& dn = conv.convolution_dimension_numbers();
  const size_t spatial = dn.input_spatial_dimensions.size();
  if (spatial < 1 || spatial > 3 || conv.batch_group_count() != 1 || conv.feature_group_count() < 1) return false;
  for (const hlo::WindowDimension& w : conv.window().dimensions) {
    if (w.base_dilation != 1 || w.window_reversal || w.padding_low < 0 || w.padding_high < 0 || w.stride < 1 ||
        w.window_dilation < 1) {
      return false;
    }
  }
  return hlo::ShapeUtil::ElementsIn(conv.shape()) > 0 && hlo::ShapeUtil::ElementsIn(conv.operand(1)->shape()) > 0;
}

// NCHW-style dimension numbers (batch, feature, spatial... in order; kernel OI + spatial), rank 3-5:
// the convolutions that can keep activations channel-blocked.
bool IsStandardConv(const Instruction& conv) {
  const hlo::ConvolutionDimensionNumbers& dn = conv.convolution_dimension_numbers();
  const size_t spatial = dn.input_spatial_dimensions.size();
  if (spatial < 1 || spatial > 3 || dn.input_batch_dimension != 0 || dn.input_feature_dimension != 1 ||
      dn.output_batch_dimension != 0 || dn.output_feature_dimension != 1 || dn.kernel_output_feature_dimension != 0 ||
      dn.kernel_input_feature_dimension != 1) {
    return false;
  }
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t d = static_cast<int64_t>(i) + 2;
    if (dn.input_spatial_dimensions[i] != d || dn.output_spatial_dimensions[i] != d ||
        dn.kernel_spatial_dimensions[i] != d) {
      return false;
    }
  }
  return true;
}

bool DotSupported(const Instruction& dot) {
  const hlo::Shape& l = dot.operand(0)->shape();
  const hlo::Shape& r = dot.operand(1)->shape();
  if (!IsF32(dot.shape()) || !IsF32(l) || !IsF32(r)) return false;
  const hlo::DotDimensionNumbers& dn = dot.dot_dimension_numbers();
  const int64_t nb = static_cast<int64_t>(dn.lhs_batch_dimensions.size());
  for (int64_t d = 0; d < nb; ++d) {
    if (dn.lhs_batch_dimensions[d] != d || dn.rhs_batch_dimensions[d] != d) return false;
  }
  if (dn.lhs_contracting_dimensions.size() != 1 || dn.rhs_contracting_dimensions.size() != 1) return false;
  if (l.rank() < nb + 1 || l.rank() > nb + 2 || r.rank() < nb + 1 || r.rank() > nb + 2) return false;
  if (dn.lhs_contracting_dimensions[0] < nb || dn.rhs_contracting_dimensions[0] < nb) return false;
  return hlo::ShapeUtil::ElementsIn(dot.shape()) > 0 && hlo::ShapeUtil::ElementsIn(l) > 0 &&
         hlo::ShapeUtil::ElementsIn(r) > 0;
}

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options) : options_(options) {}
  std::string_view name() const override { return "cpu"; }

  bool IsOpSupported(const Instruction& instr) const override {
    switch (instr.opcode()) {
      case Opcode::kConvolution: return ConvSupported(instr);
      case Opcode::kDot: return DotSupported(instr);
      case Opcode::kFusion: {
        for (const Instruction* i : instr.fused_computation()->instructions()) {
          if (!IsOpSupported(*i)) return false;
        }
        return true;
      }
      default: return cpu::EmitterSupports(instr);
    }
  }

  absl::StatusOr<std::unique_ptr<Executable>> Compile(std::unique_ptr<hlo::Module> module,
                                                      const CompileOptions& options) override {
    if (module == nullptr || module->entry_computation() == nullptr) {
      return absl::InvalidArgumentError("CPU backend: Compile was given no module / no entry computation");
    }
    for (const Instruction* instr : module->entry_computation()->instructions()) {
      if (!IsOpSupported(*instr)) {
        return absl::UnimplementedError(absl::StrCat(
            "CPU backend does not support instruction ", instr->ToString(), " in module '", module->name(),
            "'; the JIT should leave it to the runtime kernels (check Backend::IsOpSupported)"));
      }
    }
    hlo::PipelineOptions pipeline_options;
    pipeline_options.dump_to = options.dump_to;  // The module after every pass that changed it.
    std::unique_ptr<hlo::Pipeline> pipeline = cpu::BuildCpuPipeline(pipeline_options);
    KILN_RETURN_IF_ERROR(Annotate(pipeline->Run(module.get()).status(),
                                  absl::StrCat("running the cpu pipeline on module '", module->name(), "'")));
    Planner planner(options_, options);
    return planner.Run(std::move(module));
  }

 private:
  CpuBackendOptions options_;
};

}  // namespace

std::unique_ptr<Backend> CreateCpuBackend(const CpuBackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace kiln::backends
