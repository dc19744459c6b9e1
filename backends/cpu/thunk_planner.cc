#include "backends/cpu/thunk_planner.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "kiln/support/strings.h"
#include "backends/cpu/jit_compiler.h"
#include "backends/cpu/onednn_ops.h"
#include "kiln/hlo/computation.h"
#include "kiln/support/status.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace kiln::cpu {
namespace {

using hlo::Instruction;
using hlo::Opcode;

bool IsF32(const hlo::Shape& s) { return IsRowMajorF32(s); }

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int ThunkPlanner::PlainSlot(const Instruction* instr) {
  if (const int s = SlotOf(instr); s >= 0) return s;
  auto it = blocked_.find(instr);
  if (it == blocked_.end()) return -1;
  const int s = NewTemp(static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(instr->shape())));
  const dnnl::memory::desc plain = RowMajorDesc(it->second.desc.dims());
  absl::Status st = AddReorder(it->second.slot, it->second.desc, s, plain);
  if (!st.ok()) return -1;
  slot_[instr] = s;
  return s;
}

absl::StatusOr<int> ThunkPlanner::BlockedSlot(const Instruction* instr, const dnnl::memory::desc& desc) {
  auto it = blocked_.find(instr);
  if (it != blocked_.end() && it->second.desc == desc) return it->second.slot;
  const int plain = PlainSlot(instr);
  if (plain < 0) return absl::InternalError(kiln::StrCat("CPU backend: ", instr->name(), " has no buffer"));
  const int s = NewTemp(desc.get_size());
  KILN_RETURN_IF_ERROR(AddReorder(plain, RowMajorDesc(desc.dims()), s, desc));
  if (it == blocked_.end()) blocked_[instr] = {s, desc};
  return s;
}

absl::Status ThunkPlanner::AddReorder(int from_slot, const dnnl::memory::desc& from, int to_slot,
                                 const dnnl::memory::desc& to) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<ReorderPrimitive> prim, TimePrimitive([&] { return ReorderPrimitive::Create(from, to); }));
  AddThunk(std::make_unique<ReorderThunk>(std::move(prim), from_slot, to_slot), to_slot, {from_slot});
  return absl::OkStatus();
}

// The post-ops of a contraction thunk: the residual sum first, then the clamps.
std::vector<PostOp> PostOpsOf(const ContractionPlan& plan) {
  std::vector<PostOp> ops;
  if (plan.sum != nullptr) ops.push_back({PostOp::Kind::kSum});
  for (const EpilogueClamp& c : plan.clamps) {
    PostOp op;
    switch (c.kind) {
      case EpilogueClamp::Kind::kClamp: op.kind = PostOp::Kind::kClip; break;
      case EpilogueClamp::Kind::kSwish: op.kind = PostOp::Kind::kSwish; break;
      case EpilogueClamp::Kind::kHardSwish: op.kind = PostOp::Kind::kHardSwish; break;
    }
    op.lo = c.lo;
    op.hi = c.hi;
    ops.push_back(op);
  }
  return ops;
}

namespace {

// A plain layout of `dims` whose dimensions are ordered in memory as those of `like` (for an NHWC
// source, an NHWC destination).
dnnl::memory::desc PlainLike(const dnnl::memory::dims& dims, const dnnl::memory::desc& like) {
  const auto& like_strides = like.data.format_desc.blocking.strides;
  std::vector<int> order(dims.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  // Outermost first: larger strides, ties broken by the logical order.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return like_strides[a] > like_strides[b]; });
  dnnl::memory::dims strides(dims.size());
  int64_t stride = 1;
  for (int i = static_cast<int>(order.size()) - 1; i >= 0; --i) {
    strides[order[i]] = stride;
    stride *= dims[order[i]];
  }
  return StridedDesc(dims, strides);
}

}  // namespace

// Row-major strides with the channel dimension (1) innermost: NWC, NHWC, NDHWC.
dnnl::memory::desc ChannelsLastDesc(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size());
  int64_t stride = 1;
  strides[1] = stride;
  stride *= dims[1];
  for (size_t i = dims.size(); i-- > 2;) {
    strides[i] = stride;
    stride *= dims[i];
  }
  strides[0] = stride;
  return StridedDesc(dims, strides);
}

// A convolution whose operands' layouts (as the HLO dimension numbers give them, e.g. an NHWC source
// and an NCHW destination after transpose folding) have only oneDNN's reference kernel, which is
// 100x slower than its direct kernels, or (with `avoid_gemm`) only its im2col GEMM kernel, which
// for a spatial kernel is several times slower than a direct one (a dilated 3x3 convolution with
// 960 input channels: 78 ms against 25 ms). Tried in turn: the source as it is with a destination
// laid out like it, both channel-blocked, both channels-last; the destination is reordered into
// the HLO buffer afterwards. Returns false when none has an acceptable kernel (the caller keeps its
// plan).
absl::StatusOr<bool> ThunkPlanner::EmitStagedConv(const ContractionPlan& plan, ConvSpec spec,
                                                  const dnnl::memory::desc& src_plain,
                                                  const dnnl::memory::desc& dst_plain, const void* const_weights,
                                                  bool avoid_gemm) {
  const dnnl::memory::dims src_dims = src_plain.dims();
  const dnnl::memory::dims dst_dims = dst_plain.dims();
  struct Staging {
    dnnl::memory::desc src, dst;
  };
  std::vector<Staging> stagings = {{src_plain, PlainLike(dst_dims, src_plain)}};
  if (src_dims.size() >= 3 && src_dims.size() <= 5) {
    stagings.push_back({BlockedDesc(src_dims), BlockedDesc(dst_dims)});
    stagings.push_back({ChannelsLastDesc(src_dims), ChannelsLastDesc(dst_dims)});
  }
  for (const Staging& staging : stagings) {
    spec.src = staging.src;
    spec.dst = staging.dst;
    absl::StatusOr<std::unique_ptr<ConvPrimitive>> p =
        TimePrimitive([&] { return ConvPrimitive::Create(spec, const_weights); });
    if (!p.ok() || (*p)->impl_name().rfind("ref", 0) == 0) continue;
    if (avoid_gemm && (*p)->impl_name().find("gemm") != std::string::npos) continue;
    int src = PlainSlot(plan.input);
    const int w = PlainSlot(plan.weights);
    const int bias = plan.bias ? PlainSlot(plan.bias) : -1;
    if (src < 0 || w < 0 || (plan.bias && bias < 0)) {
      return absl::InternalError(kiln::StrCat("CPU backend: an operand of ", plan.contraction->name(),
                                              " has no buffer"));
    }
    if (!(staging.src == src_plain)) {
      const int staged_src = NewTemp(staging.src.get_size());
      KILN_RETURN_IF_ERROR(AddReorder(src, src_plain, staged_src, staging.src));
      src = staged_src;
    }
    std::set<int> reads = {src, w};
    if (bias >= 0) reads.insert(bias);
    const int staged_dst = NewTemp(staging.dst.get_size());
    AddThunk(std::make_unique<ConvThunk>(*std::move(p), src, w, bias, staged_dst), staged_dst, reads);
    const Instruction* f = plan.result;
    const int result_slot = SlotOf(f);
    const int dst = result_slot >= 0 ? result_slot
                                     : NewTemp(static_cast<size_t>(hlo::ShapeUtil::ByteSizeOf(f->shape())));
    KILN_RETURN_IF_ERROR(AddReorder(staged_dst, staging.dst, dst, dst_plain));
    emitted_.insert(f);
    slot_[f] = dst;
    return true;
  }
  return false;
}

absl::Status ThunkPlanner::EmitConv(const ContractionPlan& plan) {
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
  ConvSpec spec;
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
  const dnnl::memory::desc src_plain = StridedDesc(src_dims, src_strides);
  const dnnl::memory::desc dst_plain = StridedDesc(dst_dims, dst_strides);
  spec.weights = StridedDesc(w_dims, w_strides);
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
  std::unique_ptr<ConvPrimitive> prim;
  Choice chosen{false, false};
  for (size_t i = 0; i < choices.size(); ++i) {
    spec.src = choices[i].src_blocked ? BlockedDesc(src_dims) : src_plain;
    spec.dst = choices[i].dst_blocked ? BlockedDesc(dst_dims) : dst_plain;
    absl::StatusOr<std::unique_ptr<ConvPrimitive>> p = TimePrimitive([&] { return ConvPrimitive::Create(spec, const_weights); });
    if (!p.ok()) {
      if (i + 1 == choices.size()) return p.status();
      continue;
    }
    if (choices[i].dst_blocked && (*p)->impl_name().rfind("ref", 0) == 0) continue;
    prim = *std::move(p);
    chosen = choices[i];
    break;
  }
  if (!chosen.src_blocked && !chosen.dst_blocked && plan.sum == nullptr &&
      prim->impl_name().rfind("ref", 0) == 0) {
    KILN_ASSIGN_OR_RETURN(bool staged, EmitStagedConv(plan, spec, src_plain, dst_plain, const_weights));
    if (staged) return absl::OkStatus();
  }
  // An ungrouped convolution with a spatial kernel that only oneDNN's im2col GEMM takes in these
  // layouts (dilated convolutions, whose blocked form has only the reference kernel).
  int64_t kernel_taps = 1;
  for (int64_t d : dn.kernel_spatial_dimensions) kernel_taps *= k.dimensions(d);
  if (!chosen.src_blocked && !chosen.dst_blocked && plan.sum == nullptr && groups == 1 && kernel_taps > 1 &&
      prim->impl_name().find("gemm") != std::string::npos) {
    KILN_ASSIGN_OR_RETURN(bool staged, EmitStagedConv(plan, spec, src_plain, dst_plain, const_weights,
                                                      /*avoid_gemm=*/true));
    if (staged) return absl::OkStatus();
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
    return absl::InternalError(kiln::StrCat("CPU backend: an operand of ", conv->name(), " has no buffer"));
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
        if (from < 0) return absl::InternalError(kiln::StrCat("CPU backend: ", sum->name(), " has no buffer"));
        KILN_RETURN_IF_ERROR(AddReorder(from, RowMajorDesc(dst_dims), dst, spec.dst));
      } else {
        auto it = blocked_.find(sum);
        if (it == blocked_.end()) {
          return absl::InternalError(kiln::StrCat("CPU backend: ", sum->name(), " has no buffer"));
        }
        KILN_RETURN_IF_ERROR(AddReorder(it->second.slot, it->second.desc, dst, RowMajorDesc(it->second.desc.dims())));
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
    if (result_slot >= 0) KILN_RETURN_IF_ERROR(AddReorder(dst, spec.dst, result_slot, RowMajorDesc(dst_dims)));
  } else {
    slot_[f] = dst;
  }
  return absl::OkStatus();
}

absl::Status ThunkPlanner::EmitDot(const ContractionPlan& plan) {
  const Instruction* dot = plan.contraction;
  const hlo::DotDimensionNumbers& dn = dot->dot_dimension_numbers();
  const hlo::Shape& l = dot->operand(0)->shape();
  const hlo::Shape& r = dot->operand(1)->shape();
  const int64_t nb = static_cast<int64_t>(dn.lhs_batch_dimensions.size());
  const std::vector<int64_t> lst = hlo::ShapeUtil::RowMajorStrides(l.dimensions());
  const std::vector<int64_t> rst = hlo::ShapeUtil::RowMajorStrides(r.dimensions());
  const int64_t lk = dn.lhs_contracting_dimensions[0], rk = dn.rhs_contracting_dimensions[0];
  int64_t lm = -1, rn = -1;
  auto is_batch = [](const std::vector<int64_t>& batch_dims, int64_t d) {
    return std::find(batch_dims.begin(), batch_dims.end(), d) != batch_dims.end();
  };
  for (int64_t d = 0; d < l.rank(); ++d) if (d != lk && !is_batch(dn.lhs_batch_dimensions, d)) lm = d;
  for (int64_t d = 0; d < r.rank(); ++d) if (d != rk && !is_batch(dn.rhs_batch_dimensions, d)) rn = d;
  const int64_t m = lm >= 0 ? l.dimensions(lm) : 1, kk = l.dimensions(lk), n = rn >= 0 ? r.dimensions(rn) : 1;
  dnnl::memory::dims src_dims = {m, kk}, src_strides = {lm >= 0 ? lst[lm] : kk * lst[lk], lst[lk]};
  dnnl::memory::dims w_dims = {kk, n}, w_strides = {rst[rk], rn >= 0 ? rst[rn] : kk * rst[rk]};
  dnnl::memory::dims dst_dims = {m, n};
  // Batch dimensions may sit anywhere in the operands (the pipeline folds transposes into the
  // dot); each becomes a leading oneDNN dimension with the operand's own stride. The result's
  // batch dimensions lead, in order.
  for (int64_t i = nb - 1; i >= 0; --i) {
    const int64_t lb = dn.lhs_batch_dimensions[i], rb = dn.rhs_batch_dimensions[i];
    src_dims.insert(src_dims.begin(), l.dimensions(lb));
    src_strides.insert(src_strides.begin(), lst[lb]);
    w_dims.insert(w_dims.begin(), r.dimensions(rb));
    w_strides.insert(w_strides.begin(), rst[rb]);
    dst_dims.insert(dst_dims.begin(), l.dimensions(lb));
  }
  MatmulSpec spec;
  spec.src = StridedDesc(src_dims, src_strides);
  spec.weights = StridedDesc(w_dims, w_strides);
  spec.dst = RowMajorDesc(dst_dims);
  spec.has_bias = plan.bias != nullptr;
  spec.post_ops = PostOpsOf(plan);
  const void* const_weights =
      plan.weights->opcode() == Opcode::kConstant ? plan.weights->literal().untyped_data() : nullptr;
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<MatmulPrimitive> prim,
                        TimePrimitive([&] { return MatmulPrimitive::Create(spec, const_weights); }));
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

// A loop kernel that stores `instr` (a kLoop fusion, or an instruction whose operands all have
// buffers) into its buffer; a reshape of a buffer aliases it instead.
absl::Status ThunkPlanner::EmitLoopKernel(const Instruction* instr, IrEmitter& emitter,
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
  const std::string name = kiln::StrCat("kiln_k", kernels.size());
  // Every operand has a buffer (Run checks; cpu-fusion put everything computed inline inside the
  // fusion): make the row-major one exist and record the reads.
  std::set<int> reads;
  for (const Instruction* operand : instr->operands()) {
    const int s = PlainSlot(operand);
    if (s < 0) return absl::InternalError(kiln::StrCat("CPU backend: ", operand->name(), " has no row-major buffer"));
    reads.insert(s);
  }
  const bool fused = op == Opcode::kFusion;
  const Instruction* root = fused ? instr->fused_computation()->root_instruction() : instr;
  loop_fusion_ = fused ? instr : nullptr;
  std::vector<const Instruction*> outs = {root};
  absl::Status st = emitter.EmitLoopKernel(name, outs);
  loop_fusion_ = nullptr;
  KILN_RETURN_IF_ERROR(Annotate(st, kiln::StrCat("emitting ", instr->ToString())));
  auto thunk = std::make_unique<KernelThunk>(name);
  kernels.push_back(thunk.get());
  AddThunk(std::move(thunk), SlotOf(instr), reads);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<backends::Executable>> ThunkPlanner::Run(std::unique_ptr<hlo::Module> module) {
  const hlo::Computation* entry = module->entry_computation();
  if (entry == nullptr) return absl::InvalidArgumentError("CPU backend: module has no entry computation");
  const auto planning_start = std::chrono::steady_clock::now();
  double ir_emission_ms = 0;
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
      return absl::UnimplementedError(kiln::StrCat("CPU backend: module '", module_name,
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
  IrEmitter emitter(*context, *llvm_module, [this](const Instruction* i) { return KernelSlotOf(i); });
  std::vector<KernelThunk*> kernels;

  for (const Instruction* instr : order) {
    const Opcode op = instr->opcode();
    if (op == Opcode::kParameter || op == Opcode::kTuple || op == Opcode::kConstant) continue;
    if (op == Opcode::kGetTupleElement) {
      const Instruction* v = resolve(instr);
      if (v == instr) {
        return absl::UnimplementedError(kiln::StrCat("CPU backend: get-tuple-element ", instr->name(),
                                                     " of a non-tuple instruction"));
      }
      if (HasSlot(v) && !slot_.count(instr)) slot_[instr] = PlainSlot(v);
      continue;
    }
    for (const Instruction* operand : instr->operands()) {
      if (!HasSlot(operand) && !(operand->opcode() == Opcode::kConstant)) {
        return absl::InternalError(kiln::StrCat("CPU backend: operand ", operand->name(), " of ", instr->name(),
                                                " has no buffer (cpu-fusion should have fused it)"));
      }
    }
    if (op == Opcode::kConvolution || op == Opcode::kDot ||
        (op == Opcode::kFusion && instr->fusion_kind() == hlo::FusionKind::kOutput)) {
      KILN_ASSIGN_OR_RETURN(const ContractionPlan plan, DescribeContraction(*instr));
      KILN_RETURN_IF_ERROR(plan.contraction->opcode() == Opcode::kConvolution ? EmitConv(plan) : EmitDot(plan));
      continue;
    }
    const auto emit_start = std::chrono::steady_clock::now();
    const double primitives_before = primitives_ms_;  // Reorders created on the way count there.
    KILN_RETURN_IF_ERROR(EmitLoopKernel(instr, emitter, kernels));
    ir_emission_ms += MsSince(emit_start) - (primitives_ms_ - primitives_before);
  }
  for (const auto& [result_slot, value] : result_copies) {
    const int src = PlainSlot(value);
    if (src < 0) {
      return absl::InternalError(kiln::StrCat("CPU backend: result ", value->name(), " has no buffer"));
    }
    AddThunk(std::make_unique<CopyThunk>(src, result_slot, exe_->slots_[result_slot].bytes), result_slot, {src});
  }
  exe_->AssignArena();

  backends::CompileTimes& times = exe_->mutable_compile_times();
  times.primitives_ms = primitives_ms_;
  times.primitives = primitives_;
  times.ir_emission_ms = ir_emission_ms;
  times.planning_ms = MsSince(planning_start) - primitives_ms_ - ir_emission_ms;
  times.kernels = static_cast<int64_t>(kernels.size());
  for (const llvm::Function& f : *llvm_module) times.ir_instructions += f.getInstructionCount();

  // Compile the kernels: Compile runs LLVM's optimiser; ORC generates code lazily, at the first
  // Lookup.
  const auto codegen_start = std::chrono::steady_clock::now();
  JitCompilerOptions jit_options;
  jit_options.opt_level = options_.opt_level;
  if (!compile_options_.dump_to.empty()) {
    jit_options.dump_ir_to = kiln::StrCat(compile_options_.dump_to, "/", module_name, ".cpu.ll");
  }
  KILN_ASSIGN_OR_RETURN(exe_->jit_, JitCompiler::Create(jit_options));
  if (!kernels.empty()) {
    times.llvm_codegen_ms += MsSince(codegen_start);
    const auto opt_start = std::chrono::steady_clock::now();
    KILN_RETURN_IF_ERROR(exe_->jit_->Compile(std::move(context), std::move(llvm_module)));
    times.llvm_opt_ms = MsSince(opt_start);
    const auto lookup_start = std::chrono::steady_clock::now();
    for (KernelThunk* k : kernels) {
      KILN_ASSIGN_OR_RETURN(void* fn, exe_->jit_->Lookup(k->name()));
      k->set_fn(reinterpret_cast<KernelFn>(fn));
    }
    times.llvm_codegen_ms += MsSince(lookup_start);
  } else {
    times.llvm_codegen_ms = MsSince(codegen_start);
  }
  return std::unique_ptr<backends::Executable>(std::move(exe_));
}

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
  // Batch dimensions anywhere (EmitDot gives oneDNN each operand's strides), but not contracted.
  if (dn.lhs_contracting_dimensions.size() != 1 || dn.rhs_contracting_dimensions.size() != 1) return false;
  if (l.rank() < nb + 1 || l.rank() > nb + 2 || r.rank() < nb + 1 || r.rank() > nb + 2) return false;
  for (int64_t d = 0; d < nb; ++d) {
    if (dn.lhs_batch_dimensions[d] == dn.lhs_contracting_dimensions[0] ||
        dn.rhs_batch_dimensions[d] == dn.rhs_contracting_dimensions[0]) {
      return false;
    }
  }
  return hlo::ShapeUtil::ElementsIn(dot.shape()) > 0 && hlo::ShapeUtil::ElementsIn(l) > 0 &&
         hlo::ShapeUtil::ElementsIn(r) > 0;
}

}  // namespace kiln::cpu
