// Layout assignment (declared in kiln/hlo/passes.h): every array gets a layout, operands get the
// layouts their users require, `copy` instructions change layouts where they differ.
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "hlo/passes/pass_util.h"
#include "kiln/support/strings.h"
#include "kiln/hlo/passes.h"
#include "kiln/support/status.h"

namespace kiln::hlo {
namespace {


// How an opcode constrains layouts.
enum class LayoutClass {
  kFollow,     // parameter, constant, iota, copy, tuple, get-tuple-element: no operand constraint.
  kPreserve,   // Output takes the first equal-rank operand's layout; other equal-rank operands too.
  kTranspose,  // Output layout makes the transpose a bitcast of its operand.
  kDefault,    // Operands and output use the default layout.
};

// The constraint table.
LayoutClass ClassOf(const Instruction& instr, const LayoutAssignmentOptions& options) {
  switch (instr.opcode()) {
    case Opcode::kParameter:
    case Opcode::kConstant:
    case Opcode::kIota:
    case Opcode::kCopy:
    case Opcode::kTuple:
    case Opcode::kGetTupleElement:
      return LayoutClass::kFollow;
    default:
      break;
  }
  if (!options.propagate) return LayoutClass::kDefault;
  switch (instr.opcode()) {
    case Opcode::kTranspose:
      return LayoutClass::kTranspose;
    case Opcode::kSlice:
    case Opcode::kPad:
    case Opcode::kConcatenate:
    case Opcode::kReverse:
    case Opcode::kDynamicSlice:
    case Opcode::kDynamicUpdateSlice:
    case Opcode::kReducePrecision:
      return LayoutClass::kPreserve;
    case Opcode::kBitcastConvert:
      // Only a same-width bitcast-convert keeps the rank.
      return instr.shape().rank() == instr.operand(0)->shape().rank() ? LayoutClass::kPreserve
                                                                        : LayoutClass::kDefault;
    default:
      return instr.IsElementwise() ? LayoutClass::kPreserve : LayoutClass::kDefault;
  }
}

Layout DefaultLayout(int64_t rank) {
  Layout l;
  for (int64_t d = rank - 1; d >= 0; --d) l.minor_to_major.push_back(d);
  return l;
}

bool IsValidLayout(const Shape& s) {
  const std::vector<int64_t>& m = s.layout().minor_to_major;
  if (static_cast<int64_t>(m.size()) != s.rank()) return false;
  std::vector<bool> seen(s.rank(), false);
  for (int64_t d : m) {
    if (d < 0 || d >= s.rank() || seen[d]) return false;
    seen[d] = true;
  }
  return true;
}

// `s` with every array given the default layout (recursively for tuples).
Shape WithDefaultLayouts(Shape s) {
  if (s.IsTuple()) {
    for (Shape& e : *s.mutable_tuple_shapes()) e = WithDefaultLayouts(std::move(e));
  } else if (s.IsArray()) {
    *s.mutable_layout() = DefaultLayout(s.rank());
  }
  return s;
}
// `s` with each array's layout kept when valid, else the default one.
Shape WithValidLayouts(Shape s) {
  if (s.IsTuple()) {
    for (Shape& e : *s.mutable_tuple_shapes()) e = WithValidLayouts(std::move(e));
  } else if (s.IsArray() && !IsValidLayout(s)) {
    *s.mutable_layout() = DefaultLayout(s.rank());
  }
  return s;
}

// The layout of transpose(operand) that makes it a bitcast: result dimension i is operand
// dimension perm[i].
Layout TransposeLayout(const Layout& operand, const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv = passes_internal::InversePermutation(perm);
  Layout l;
  for (int64_t d : operand.minor_to_major) l.minor_to_major.push_back(inv[d]);
  return l;
}

// The shape `instr` must have, given its operands' (already assigned) shapes.
Shape RequiredResultShape(const Instruction& instr, LayoutClass cls, bool is_entry) {
  Shape s = instr.shape();
  switch (instr.opcode()) {
    case Opcode::kParameter:
      return is_entry ? WithValidLayouts(std::move(s)) : WithDefaultLayouts(std::move(s));
    case Opcode::kCopy:
      // Copies change layouts: in the entry they keep theirs (so a second run changes nothing).
      return is_entry ? WithValidLayouts(std::move(s)) : WithDefaultLayouts(std::move(s));
    case Opcode::kTuple: {
      std::vector<Shape> elements;
      for (const Instruction* op : instr.operands()) elements.push_back(op->shape());
      return ShapeUtil::MakeTupleShape(std::move(elements));
    }
    case Opcode::kGetTupleElement:
      return instr.operand(0)->shape().tuple_shapes(instr.tuple_index());
    default:
      break;
  }
  if (!s.IsArray()) return WithDefaultLayouts(std::move(s));
  if (cls == LayoutClass::kPreserve) {
    for (const Instruction* op : instr.operands()) {
      if (op->shape().IsArray() && op->shape().rank() == s.rank()) {
        *s.mutable_layout() = op->shape().layout();
        return s;
      }
    }
  }
  if (cls == LayoutClass::kTranspose) {
    *s.mutable_layout() = TransposeLayout(instr.operand(0)->shape().layout(), instr.dimensions());
    return s;
  }
  return WithDefaultLayouts(std::move(s));
}

// The shape operand `i` of `instr` must have, or std::nullopt when any layout will do.
std::optional<Shape> RequiredOperandShape(const Instruction& instr, int64_t i, LayoutClass cls) {
  const Shape& op = instr.operand(i)->shape();
  switch (cls) {
    case LayoutClass::kFollow:
    case LayoutClass::kTranspose:
      return std::nullopt;
    case LayoutClass::kPreserve:
      if (!op.IsArray() || op.rank() != instr.shape().rank()) return std::nullopt;
      {
        Shape s = op;
        *s.mutable_layout() = instr.shape().layout();
        return s;
      }
    case LayoutClass::kDefault:
      return WithDefaultLayouts(op);
  }
  return std::nullopt;
}

class Assigner {
 public:
  explicit Assigner(const LayoutAssignmentOptions& options) : options_(options) {}

  absl::StatusOr<bool> Run(Module* module) {
    for (Computation* c : module->MakeComputationPostOrder()) {
      KILN_RETURN_IF_ERROR(RunOn(c, c == module->entry_computation()));
    }
    return changed_;
  }

 private:
  absl::Status RunOn(Computation* c, bool is_entry) {
    // The entry's result keeps the layout the module declares; other computations return the
    // default layout (their callers require it).
    const Shape root_shape = is_entry ? WithValidLayouts(c->root_instruction()->shape())
                                      : WithDefaultLayouts(c->root_instruction()->shape());
    copies_.clear();
    for (Instruction* instr : c->MakeInstructionPostOrder()) {
      LayoutClass cls = ClassOf(*instr, options_);
      // The result first: a layout-preserving op's operand requirement is its result layout.
      Shape result = RequiredResultShape(*instr, cls, is_entry);
      if (!(result == instr->shape())) {
        *instr->mutable_shape() = std::move(result);
        changed_ = true;
      }
      for (int64_t i = 0; i < instr->operand_count(); ++i) {
        std::optional<Shape> want = RequiredOperandShape(*instr, i, cls);
        if (!want.has_value() || instr->operand(i)->shape() == *want) continue;
        KILN_ASSIGN_OR_RETURN(Instruction* fixed, Convert(instr->operand(i), *want));
        instr->ReplaceOperandWith(i, fixed);
        changed_ = true;
      }
    }
    Instruction* root = c->root_instruction();
    if (!(root->shape() == root_shape)) {
      KILN_ASSIGN_OR_RETURN(Instruction* fixed, Convert(root, root_shape));
      c->set_root_instruction(fixed);
      changed_ = true;
    }
    return absl::OkStatus();
  }

  // `x` in the layouts of `want` (same shape otherwise): a copy for an array, element-wise copies
  // reassembled into a tuple for a tuple. Copies are shared between users.
  absl::StatusOr<Instruction*> Convert(Instruction* x, const Shape& want) {
    if (x->shape() == want) return x;
    auto key = std::make_pair(x, want.ToString());
    auto it = copies_.find(key);
    if (it != copies_.end()) return it->second;
    Computation* c = x->parent();
    Instruction* result = nullptr;
    if (want.IsTuple()) {
      std::vector<Instruction*> elements;
      for (int64_t i = 0; i < want.tuple_shapes_size(); ++i) {
        auto gte = Instruction::Create(Opcode::kGetTupleElement, x->shape().tuple_shapes(i), {x});
        gte->set_tuple_index(i);
        Instruction* e = c->AddInstruction(std::move(gte));
        KILN_ASSIGN_OR_RETURN(Instruction* converted, Convert(e, want.tuple_shapes(i)));
        elements.push_back(converted);
      }
      result = c->AddInstruction(Instruction::Create(Opcode::kTuple, want, elements));
    } else if (want.IsArray()) {
      result = c->AddInstruction(Instruction::Create(Opcode::kCopy, want, {x}));
    } else {
      return absl::InternalError(kiln::StrCat("layout-assignment: cannot convert %", x->name(), " (",
                                     x->shape().ToString(), ") to ", want.ToString()));
    }
    copies_[key] = result;
    return result;
  }

  const LayoutAssignmentOptions& options_;
  bool changed_ = false;
  std::map<std::pair<Instruction*, std::string>, Instruction*> copies_;
};

absl::Status LayoutError(const Computation* c, const Instruction* instr, std::string_view what) {
  return absl::InvalidArgumentError(
      kiln::StrCat("layouts: %", instr->name(), " in %", c->name(), ": ", what));
}

absl::Status CheckShapeLayouts(const Computation* c, const Instruction* instr, const Shape& s) {
  if (s.IsTuple()) {
    for (const Shape& e : s.tuple_shapes()) KILN_RETURN_IF_ERROR(CheckShapeLayouts(c, instr, e));
    return absl::OkStatus();
  }
  if (s.IsArray() && !IsValidLayout(s)) {
    return LayoutError(c, instr, kiln::StrCat("layout ", s.layout().ToString(), " is not a permutation of ",
                                     s.rank(), " dimensions"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> LayoutAssignment::Run(Module* module) {
  if (module->entry_computation() == nullptr) {
    return absl::InvalidArgumentError("layout-assignment: module has no entry computation");
  }
  KILN_ASSIGN_OR_RETURN(bool changed, Assigner(options_).Run(module));
  // The pass's own guarantee, checked on every run (cheap: one walk over the module).
  if (absl::Status s = VerifyLayouts(*module, options_); !s.ok()) {
    return absl::InternalError(kiln::StrCat("layout-assignment left inconsistent layouts: ", s.message()));
  }
  return changed;
}

absl::Status VerifyLayouts(const Module& module, LayoutAssignmentOptions options) {
  for (const Computation* c : module.MakeComputationPostOrder()) {
    const bool is_entry = c == module.entry_computation();
    for (const Instruction* instr : c->MakeInstructionPostOrder()) {
      KILN_RETURN_IF_ERROR(CheckShapeLayouts(c, instr, instr->shape()));
      LayoutClass cls = ClassOf(*instr, options);
      for (int64_t i = 0; i < instr->operand_count(); ++i) {
        std::optional<Shape> want = RequiredOperandShape(*instr, i, cls);
        if (want.has_value() && !(instr->operand(i)->shape() == *want)) {
          return LayoutError(c, instr,
                             kiln::StrCat("operand ", i, " is ", instr->operand(i)->shape().ToString(),
                                 ", ", OpcodeString(instr->opcode()), " requires ",
                                 want->ToString()));
        }
      }
      if (instr->opcode() == Opcode::kParameter && is_entry) continue;
      // Copies change layouts: in the entry they may produce any (the declared result layout, or
      // the layout a user needs).
      if (instr->opcode() == Opcode::kCopy && is_entry) continue;
      Shape want = RequiredResultShape(*instr, cls, is_entry);
      if (!(instr->shape() == want)) {
        return LayoutError(c, instr, kiln::StrCat("result is ", instr->shape().ToString(), ", expected ",
                                         want.ToString()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::hlo
