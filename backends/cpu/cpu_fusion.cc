// The CPU backend's fusion pass (cpu_fusion.h): the decisions, then the rewrite into fusions.
#include "backends/cpu/cpu_fusion.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "kiln/support/strings.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/module.h"
#include "kiln/support/status.h"

namespace kiln::cpu {
namespace {

using hlo::Computation;
using hlo::Instruction;
using hlo::Opcode;

// The value of a scalar constant, a broadcast of one, or a constant whose elements are all equal.
std::optional<double> UniformConstant(const Instruction* instr) {
  if (instr->opcode() == Opcode::kBroadcast) instr = instr->operand(0);
  if (instr->opcode() != Opcode::kConstant) return std::nullopt;
  const hlo::Literal& lit = instr->literal();
  if (lit.element_count() == 0) return std::nullopt;
  const double v = lit.GetAsDouble(0);
  for (int64_t i = 1; i < lit.element_count(); ++i) {
    if (lit.GetAsDouble(i) != v) return std::nullopt;
  }
  return v;
}

// When `b` broadcasts an [O]-element vector (any number of size-1 dimensions) along result
// dimension `feature_dim` of size O, returns the vector's instruction. The vector must be a
// parameter or constant: outside a fusion its buffer exists before any thunk runs, inside one it
// is the fusion's parameter.
const Instruction* FeatureBroadcastSource(const Instruction* b, int64_t feature_dim) {
  if (b->opcode() != Opcode::kBroadcast) return nullptr;
  const Instruction* x = b->operand(0);
  if (!IsRowMajorF32(x->shape()) ||
      (x->opcode() != Opcode::kConstant && x->opcode() != Opcode::kParameter)) {
    return nullptr;
  }
  const int64_t o = b->shape().dimensions(feature_dim);
  int64_t mapped = -1, non_unit = 0;
  for (int64_t d = 0; d < x->shape().rank(); ++d) {
    if (x->shape().dimensions(d) != 1) {
      ++non_unit;
      mapped = b->dimensions(d);
    }
  }
  if (hlo::ShapeUtil::ElementsIn(x->shape()) != o) return nullptr;
  if (o != 1 && (non_unit != 1 || mapped != feature_dim)) return nullptr;
  return x;
}

int64_t FeatureDimension(const Instruction& contraction) {
  if (contraction.opcode() == Opcode::kConvolution) {
    return contraction.convolution_dimension_numbers().output_feature_dimension;
  }
  return contraction.shape().rank() - 1;
}

// A dot whose right operand has its own free dimension (N): only then is the last result
// dimension a feature dimension that a bias vector can run along.
bool DotHasN(const Instruction& dot) {
  return dot.operand(1)->shape().rank() ==
         static_cast<int64_t>(dot.dot_dimension_numbers().rhs_batch_dimensions.size()) + 2;
}

// When `v`'s users are exactly logistic(v) and multiply(v, logistic(v)) (SiLU), and the logistic
// has no other user: the multiply. Both row-major f32.
const Instruction* SwishMultiply(const Instruction* v) {
  if (v->user_count() != 2) return nullptr;
  const Instruction* logistic = nullptr;
  const Instruction* mul = nullptr;
  for (const Instruction* u : v->users()) {
    if (u->opcode() == Opcode::kLogistic && u->operand(0) == v) logistic = u;
    if (u->opcode() == Opcode::kMultiply) mul = u;
  }
  if (logistic == nullptr || mul == nullptr || logistic->user_count() != 1 || logistic->users()[0] != mul) return nullptr;
  const bool operands = (mul->operand(0) == v && mul->operand(1) == logistic) ||
                        (mul->operand(1) == v && mul->operand(0) == logistic);
  if (!operands || !IsRowMajorF32(logistic->shape()) || !IsRowMajorF32(mul->shape())) return nullptr;
  return mul;
}

// HardSwish as the JIT lowers it, multiply(v, clamp(0, add(divide(v, k), c), 1)) with uniform constants
// k and c, each intermediate with one user: the chain after v (divide, add, clamp, multiply), and k
// and c. Empty when `v`'s users are not that.
struct HardSwishMatch {
  std::vector<const Instruction*> chain;
  float divisor = 0, offset = 0;
};

HardSwishMatch MatchHardSwish(const Instruction* v) {
  HardSwishMatch m;
  if (v->user_count() != 2) return m;
  const Instruction* div = nullptr;
  for (const Instruction* u : v->users()) {
    if (u->opcode() == Opcode::kDivide && u->operand(0) == v && u->user_count() == 1) div = u;
  }
  if (div == nullptr) return m;
  const std::optional<double> k = UniformConstant(div->operand(1));
  const Instruction* add = div->users()[0];
  if (!k || add->opcode() != Opcode::kAdd || add->user_count() != 1) return m;
  const std::optional<double> c = UniformConstant(add->operand(0) == div ? add->operand(1) : add->operand(0));
  const Instruction* clamp = add->users()[0];
  if (!c || clamp->opcode() != Opcode::kClamp || clamp->operand(1) != add || clamp->user_count() != 1) return m;
  const std::optional<double> lo = UniformConstant(clamp->operand(0)), hi = UniformConstant(clamp->operand(2));
  const Instruction* mul = clamp->users()[0];
  if (!lo || !hi || *lo != 0.0 || *hi != 1.0 || mul->opcode() != Opcode::kMultiply) return m;
  const bool operands = (mul->operand(0) == v && mul->operand(1) == clamp) || (mul->operand(1) == v && mul->operand(0) == clamp);
  if (!operands) return m;
  for (const Instruction* i : {div, add, clamp, mul}) {
    if (!IsRowMajorF32(i->shape())) return m;
  }
  m.chain = {div, add, clamp, mul};
  m.divisor = static_cast<float>(*k);
  m.offset = static_cast<float>(*c);
  return m;
}

// A contraction and the chain of instructions its thunk absorbs.
struct Epilogue {
  std::vector<const Instruction*> chain;  // contraction, then each absorbed user, the last is final.
  const Instruction* bias = nullptr;      // The bias vector (outside).
  const Instruction* bias_add = nullptr;
  const Instruction* sum = nullptr;       // The residual value (outside).
  const Instruction* sum_add = nullptr;
  const Instruction* final() const { return chain.back(); }
};

// The decisions, over the entry computation's post order.
class Decisions {
 public:
  explicit Decisions(const Computation& entry);

  std::map<const Instruction*, Epilogue> contractions;  // conv / dot -> its epilogue.
  std::set<const Instruction*> absorbed;                // Computed inside a contraction's thunk.
  std::set<const Instruction*> finals;                  // Values produced by contraction thunks.
  std::set<const Instruction*> materialized;            // Loop kernel roots (have buffers).

 private:
  bool IsOutput(const Instruction* v) const { return outputs_.count(v) > 0; }
  const Instruction* SoleUser(const Instruction* v) const;
  bool ComputedBefore(const Instruction* v, int64_t pos) const;
  Epilogue Match(const Instruction* contraction, bool allow_sum);
  void DecideLoops(const std::vector<Instruction*>& order);

  const Instruction* root_;
  std::set<const Instruction*> outputs_;
  std::set<const Instruction*> force_buffer_;  // Read as raw buffers by contraction thunks.
  std::map<const Instruction*, const Instruction*> group_;  // Elementwise op -> group root.
  std::map<const Instruction*, int64_t> pos_;
};

const Instruction* Decisions::SoleUser(const Instruction* v) const {
  if (v->user_count() != 1 || IsOutput(v) || v == root_) return nullptr;
  const Instruction* u = v->users()[0];
  int uses = 0;
  for (const Instruction* o : u->operands()) uses += o == v;
  return uses == 1 ? u : nullptr;
}

bool Decisions::ComputedBefore(const Instruction* v, int64_t pos) const {
  const Opcode op = v->opcode();
  if (op == Opcode::kParameter || op == Opcode::kConstant) return true;
  if (finals.count(v)) return true;  // Its thunk comes from an earlier contraction.
  if (absorbed.count(v) || op == Opcode::kTuple || op == Opcode::kGetTupleElement) return false;
  auto it = pos_.find(v);
  return it != pos_.end() && it->second < pos;
}

Epilogue Decisions::Match(const Instruction* contraction, bool allow_sum) {
  Epilogue ep;
  ep.chain.push_back(contraction);
  const int64_t feature_dim = FeatureDimension(*contraction);
  const int64_t pos = pos_.at(contraction);
  auto other_of = [&](const Instruction* u) {
    return u->operand(0) == ep.final() ? u->operand(1) : u->operand(0);
  };
  const Instruction* u = SoleUser(ep.final());
  if (u != nullptr && u->opcode() == Opcode::kAdd && IsRowMajorF32(u->shape())) {
    if (const Instruction* bias = FeatureBroadcastSource(other_of(u), feature_dim)) {
      ep.bias = bias;
      ep.bias_add = u;
      ep.chain.push_back(u);
    }
  }
  bool clamped = false;
  while ((u = SoleUser(ep.final())) != nullptr && IsRowMajorF32(u->shape())) {
    float lo = -std::numeric_limits<float>::infinity(), hi = -lo;
    if (u->opcode() == Opcode::kAdd) {
      // The sum only as the first post-op (after the bias), where every oneDNN implementation
      // takes it, and only of a value computed before the contraction (no cycle).
      const Instruction* other = other_of(u);
      if (!allow_sum || ep.sum != nullptr || clamped || !IsRowMajorF32(other->shape()) ||
          other->shape().dimensions() != u->shape().dimensions() || !ComputedBefore(other, pos)) {
        break;
      }
      ep.sum = other;
      ep.sum_add = u;
      ep.chain.push_back(u);
      continue;
    }
    if (u->opcode() == Opcode::kMaximum || u->opcode() == Opcode::kMinimum) {
      std::optional<double> c = UniformConstant(other_of(u));
      if (!c) break;
      (u->opcode() == Opcode::kMaximum ? lo : hi) = static_cast<float>(*c);
    } else if (u->opcode() == Opcode::kClamp && u->operand(1) == ep.final()) {
      std::optional<double> l = UniformConstant(u->operand(0));
      std::optional<double> h = UniformConstant(u->operand(2));
      if (!l || !h || *l > *h) break;
      lo = static_cast<float>(*l);
      hi = static_cast<float>(*h);
    } else {
      break;
    }
    // Clamps run over padded blocked buffers too (cpu::PostOp): only those that keep 0 at 0 fuse.
    if (!(lo <= 0.0f && hi >= 0.0f)) break;
    clamped = true;
    ep.chain.push_back(u);
  }
  // SiLU last (it maps 0 to 0, so it runs over padded blocked buffers too): the logistic and the
  // multiply join the chain; nothing of the chain may be an output but the multiply.
  // HardSwish likewise (MobileNetV3, LR-ASPP, DeepLabV3).
  if (!IsOutput(ep.final()) && ep.final() != root_) {
    if (const Instruction* mul = SwishMultiply(ep.final())) {
      const Instruction* logistic = mul->operand(0) == ep.final() ? mul->operand(1) : mul->operand(0);
      if (!IsOutput(logistic) && logistic != root_) {
        ep.chain.push_back(logistic);
        ep.chain.push_back(mul);
      }
    } else if (HardSwishMatch hs = MatchHardSwish(ep.final()); !hs.chain.empty()) {
      bool inner_output = false;
      for (size_t i = 0; i + 1 < hs.chain.size(); ++i) inner_output |= IsOutput(hs.chain[i]) || hs.chain[i] == root_;
      if (!inner_output) ep.chain.insert(ep.chain.end(), hs.chain.begin(), hs.chain.end());
    }
  }
  return ep;
}

Decisions::Decisions(const Computation& entry) : root_(entry.root_instruction()) {
  const std::vector<Instruction*> order = entry.MakeInstructionPostOrder();
  for (size_t i = 0; i < order.size(); ++i) pos_[order[i]] = static_cast<int64_t>(i);
  if (root_->opcode() == Opcode::kTuple) {
    for (const Instruction* r : root_->operands()) outputs_.insert(r);
  } else {
    outputs_.insert(root_);
  }
  for (const Instruction* instr : order) {
    if (absorbed.count(instr)) continue;
    const Opcode op = instr->opcode();
    if (op != Opcode::kConvolution && op != Opcode::kDot) continue;
    Epilogue ep = (op == Opcode::kDot && !DotHasN(*instr))
                      ? Epilogue{{instr}}
                      : Match(instr, /*allow_sum=*/op == Opcode::kConvolution);
    for (size_t i = 0; i + 1 < ep.chain.size(); ++i) absorbed.insert(ep.chain[i]);
    finals.insert(ep.final());
    if (ep.bias) force_buffer_.insert(ep.bias);
    if (ep.sum) force_buffer_.insert(ep.sum);
    force_buffer_.insert(instr->operand(0));
    force_buffer_.insert(instr->operand(1));
    contractions[instr] = std::move(ep);
  }
  DecideLoops(order);
}

void Decisions::DecideLoops(const std::vector<Instruction*>& order) {
  // Consumers before producers.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Instruction* instr = *it;
    if (absorbed.count(instr) || finals.count(instr) || contractions.count(instr)) continue;
    const Opcode op = instr->opcode();
    if (op == Opcode::kParameter || op == Opcode::kConstant || op == Opcode::kTuple ||
        op == Opcode::kGetTupleElement) {
      continue;
    }
    bool needs = IsOutput(instr) || force_buffer_.count(instr) > 0 || op == Opcode::kReduce ||
                 op == Opcode::kReduceWindow;
    if (instr->IsElementwise()) {
      if (!needs) {
        // Join the users' group when every user is an elementwise op of one group.
        const Instruction* group = nullptr;
        bool joins = instr->user_count() > 0;
        for (const Instruction* u : instr->users()) {
          auto g = group_.find(u);
          if (!u->IsElementwise() || absorbed.count(u) || g == group_.end() ||
              u->shape().dimensions() != instr->shape().dimensions() ||
              (group != nullptr && g->second != group)) {
            joins = false;
            break;
          }
          group = g->second;
        }
        if (joins) {
          group_[instr] = group;
          continue;
        }
      }
      group_[instr] = instr;
      materialized.insert(instr);
      continue;
    }
    // Index ops: read inline by their users unless some user needs a buffer. Contraction thunks
    // read only the operands in force_buffer_ (a bias broadcast an epilogue absorbed is dead).
    for (const Instruction* u : instr->users()) {
      if (u->opcode() == Opcode::kTuple || u->opcode() == Opcode::kGetTupleElement) needs = true;
    }
    if (needs) materialized.insert(instr);
  }
}

// Builds one fused computation: parameters for the values read from buffers, clones of the rest.
class FusedBuilder {
 public:
  // `fused_as`: the values earlier fusions replaced, and their fusions (Finish adds to it). The
  // decisions name original instructions; an operand that a fusion already computes must be read
  // from that fusion, or the replaced instructions would come back to life and run twice.
  FusedBuilder(hlo::Module& module, std::string name,
               std::map<const Instruction*, Instruction*>& fused_as)
      : module_(module), computation_(std::make_unique<Computation>(std::move(name))),
        fused_as_(fused_as) {}

  // The parameter for outside value `v` (one per distinct value, in order of first use).
  Instruction* Param(const Instruction* v) {
    auto it = map_.find(v);
    if (it != map_.end()) return it->second;
    const int64_t n = static_cast<int64_t>(operands_.size());
    Instruction* p = computation_->AddInstruction(
        Instruction::CreateParameter(n, v->shape(), kiln::StrCat("param_", n)));
    auto fused = fused_as_.find(v);
    operands_.push_back(fused != fused_as_.end() ? fused->second : const_cast<Instruction*>(v));
    map_[v] = p;
    return p;
  }
  // A clone of `v` whose operands are `mapped(operand)`.
  template <typename Fn>
  Instruction* Clone(const Instruction* v, Fn mapped) {
    auto it = map_.find(v);
    if (it != map_.end()) return it->second;
    std::vector<Instruction*> operands;
    for (const Instruction* o : v->operands()) operands.push_back(mapped(o));
    Instruction* c = computation_->AddInstruction(v->CloneWithNewOperands(v->shape(), operands));
    map_[v] = c;
    return c;
  }
  bool Has(const Instruction* v) const { return map_.count(v) > 0; }

  // Adds the computation to the module and replaces `replaced` in its computation by a fusion
  // of `kind` whose root is the clone of `root`.
  Instruction* Finish(const Instruction* root, hlo::FusionKind kind, Instruction* replaced) {
    computation_->set_root_instruction(map_.at(root));
    Computation* fused = module_.AddEmbeddedComputation(std::move(computation_));
    auto fusion = Instruction::Create(Opcode::kFusion, replaced->shape(), operands_);
    fusion->set_fusion_kind(kind);
    fusion->set_called_computations({fused});
    fusion->set_name("fusion");
    Instruction* added = replaced->parent()->AddInstruction(std::move(fusion));
    replaced->ReplaceAllUsesWith(added);
    fused_as_[replaced] = added;
    return added;
  }

 private:
  hlo::Module& module_;
  std::unique_ptr<Computation> computation_;
  std::map<const Instruction*, Instruction*>& fused_as_;
  std::map<const Instruction*, Instruction*> map_;
  std::vector<Instruction*> operands_;
};

// Clones a clamp bound (a constant, or a broadcast of one) into the fused computation.
Instruction* CloneBound(FusedBuilder& b, const Instruction* bound) {
  if (bound->opcode() == Opcode::kBroadcast) {
    const Instruction* c = bound->operand(0);
    return b.Clone(bound, [&](const Instruction*) { return b.Clone(c, [](const Instruction*) { return nullptr; }); });
  }
  return b.Clone(bound, [](const Instruction*) { return nullptr; });
}

void FuseContraction(hlo::Module& module, const Epilogue& ep,
                     std::map<const Instruction*, Instruction*>& fused_as) {
  const Instruction* contraction = ep.chain.front();
  FusedBuilder b(module, kiln::StrCat("fused_", contraction->name()), fused_as);
  Instruction* input = b.Param(contraction->operand(0));
  Instruction* weights = b.Param(contraction->operand(1));
  Instruction* bias = ep.bias != nullptr ? b.Param(ep.bias) : nullptr;
  Instruction* sum = ep.sum != nullptr ? b.Param(ep.sum) : nullptr;
  b.Clone(contraction, [&](const Instruction* o) { return o == contraction->operand(0) ? input : weights; });
  for (size_t i = 1; i < ep.chain.size(); ++i) {
    const Instruction* u = ep.chain[i];
    const Instruction* prev = ep.chain[i - 1];
    b.Clone(u, [&](const Instruction* o) -> Instruction* {
      // An earlier element of the chain (the previous one, or SiLU's input for its multiply).
      if (o == prev || std::find(ep.chain.begin(), ep.chain.begin() + i, o) != ep.chain.begin() + i) {
        return b.Clone(o, [](const Instruction*) { return nullptr; });  // Mapped.
      }
      if (u == ep.bias_add) {
        return b.Clone(o, [&](const Instruction*) { return bias; });  // broadcast(bias).
      }
      if (u == ep.sum_add) return sum;
      return CloneBound(b, o);
    });
  }
  b.Finish(ep.final(), hlo::FusionKind::kOutput, const_cast<Instruction*>(ep.final()));
}

// Whether a loop kernel reads `v` from a buffer (else it computes `v` inline).
bool ReadFromBuffer(const Decisions& d, const Instruction* v) {
  const Opcode op = v->opcode();
  if (op == Opcode::kConstant) return !v->shape().IsScalar();
  return op == Opcode::kParameter || op == Opcode::kGetTupleElement || op == Opcode::kTuple ||
         op == Opcode::kFusion || d.materialized.count(v) > 0 || d.finals.count(v) > 0 ||
         d.contractions.count(v) > 0;
}

// Makes `root` (materialized) a kLoop fusion when its kernel computes anything inline.
bool FuseLoop(hlo::Module& module, const Decisions& d, Instruction* root,
              std::map<const Instruction*, Instruction*>& fused_as) {
  bool inlines = false;
  for (const Instruction* o : root->operands()) inlines |= !ReadFromBuffer(d, o);
  if (!inlines) return false;
  FusedBuilder b(module, kiln::StrCat("fused_", root->name()), fused_as);
  std::function<Instruction*(const Instruction*)> map = [&](const Instruction* v) -> Instruction* {
    if (v != root && ReadFromBuffer(d, v)) return b.Param(v);
    return b.Clone(v, map);
  };
  map(root);
  b.Finish(root, hlo::FusionKind::kLoop, root);
  return true;
}

}  // namespace

bool IsRowMajorF32(const hlo::Shape& s) {
  return s.IsArray() && s.element_type() == hlo::PrimitiveType::F32 && s.has_default_layout();
}

absl::StatusOr<bool> CpuFusion::Run(hlo::Module* module) {
  Computation* entry = module->entry_computation();
  if (entry == nullptr) return absl::InvalidArgumentError("cpu-fusion: the module has no entry computation");
  for (const Instruction* instr : entry->instructions()) {
    if (instr->opcode() == Opcode::kFusion) return false;  // Fused already (the pass ran before).
  }
  const Decisions d(*entry);
  const std::vector<Instruction*> order = entry->MakeInstructionPostOrder();
  bool changed = false;
  std::map<const Instruction*, Instruction*> fused_as;  // Replaced value -> its fusion.
  // Output fusions first: a loop fusion made later takes the place of their operands (through
  // ReplaceAllUsesWith), while the values an epilogue names stay valid until its fusion exists.
  for (const Instruction* instr : order) {
    auto it = d.contractions.find(instr);
    if (it == d.contractions.end() || it->second.chain.size() == 1) continue;  // Nothing absorbed.
    FuseContraction(*module, it->second, fused_as);
    changed = true;
  }
  for (Instruction* instr : order) {
    if (d.materialized.count(instr)) changed |= FuseLoop(*module, d, instr, fused_as);
  }
  return changed;
}

absl::StatusOr<ContractionPlan> DescribeContraction(const Instruction& instr) {
  ContractionPlan plan;
  plan.result = &instr;
  if (instr.opcode() == Opcode::kConvolution || instr.opcode() == Opcode::kDot) {
    plan.contraction = &instr;
    plan.input = instr.operand(0);
    plan.weights = instr.operand(1);
    return plan;
  }
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(kiln::StrCat("cpu: fusion ", instr.name(), " is not an output fusion of a "
                                                   "convolution or dot as cpu-fusion writes them: ", why));
  };
  if (instr.opcode() != Opcode::kFusion || instr.fusion_kind() != hlo::FusionKind::kOutput) {
    return bad("not a kOutput fusion");
  }
  const Computation* fused = instr.fused_computation();
  for (const Instruction* i : fused->instructions()) {
    if (i->opcode() == Opcode::kConvolution || i->opcode() == Opcode::kDot) plan.contraction = i;
  }
  if (plan.contraction == nullptr) return bad("no convolution or dot");
  auto outside = [&](const Instruction* p) -> const Instruction* {
    if (p->opcode() != Opcode::kParameter || p->parameter_number() >= instr.operand_count()) return nullptr;
    return instr.operand(p->parameter_number());
  };
  plan.input = outside(plan.contraction->operand(0));
  plan.weights = outside(plan.contraction->operand(1));
  if (plan.input == nullptr || plan.weights == nullptr) return bad("contraction operands are not parameters");
  const Instruction* v = plan.contraction;
  const int64_t feature_dim = FeatureDimension(*plan.contraction);
  while (v != fused->root_instruction()) {
    if (const Instruction* mul = SwishMultiply(v)) {
      plan.clamps.push_back(EpilogueClamp{0.0f, 0.0f, EpilogueClamp::Kind::kSwish});
      v = mul;
      continue;
    }
    if (HardSwishMatch hs = MatchHardSwish(v); !hs.chain.empty()) {
      plan.clamps.push_back(EpilogueClamp{hs.divisor, hs.offset, EpilogueClamp::Kind::kHardSwish});
      v = hs.chain.back();
      continue;
    }
    if (v->user_count() != 1) return bad(kiln::StrCat(v->name(), " has ", v->user_count(), " users"));
    const Instruction* u = v->users()[0];
    const Instruction* other = u->operand(0) == v ? u->operand(1) : u->operand(0);
    if (u->opcode() == Opcode::kAdd && v == plan.contraction && other->opcode() == Opcode::kBroadcast &&
        FeatureBroadcastSource(other, feature_dim) != nullptr) {
      plan.bias = outside(other->operand(0));
      if (plan.bias == nullptr) return bad("the bias is not a parameter");
    } else if (u->opcode() == Opcode::kAdd) {
      if (plan.sum != nullptr || !plan.clamps.empty()) return bad("a second or late residual add");
      plan.sum = outside(other);
      if (plan.sum == nullptr) return bad("the residual is not a parameter");
    } else if (u->opcode() == Opcode::kMaximum || u->opcode() == Opcode::kMinimum) {
      std::optional<double> c = UniformConstant(other);
      if (!c) return bad(kiln::StrCat(u->name(), " has no constant bound"));
      constexpr float kInf = std::numeric_limits<float>::infinity();
      plan.clamps.push_back(u->opcode() == Opcode::kMaximum ? EpilogueClamp{static_cast<float>(*c), kInf}
                                                             : EpilogueClamp{-kInf, static_cast<float>(*c)});
    } else if (u->opcode() == Opcode::kClamp && u->operand(1) == v) {
      std::optional<double> lo = UniformConstant(u->operand(0)), hi = UniformConstant(u->operand(2));
      if (!lo || !hi) return bad(kiln::StrCat(u->name(), " has no constant bounds"));
      plan.clamps.push_back({static_cast<float>(*lo), static_cast<float>(*hi)});
    } else {
      return bad(kiln::StrCat("unexpected ", u->name()));
    }
    v = u;
  }
  return plan;
}

}  // namespace kiln::cpu
