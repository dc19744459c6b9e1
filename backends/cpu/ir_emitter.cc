#include "backends/cpu/ir_emitter.h"

#include <algorithm>
#include <map>
#include <utility>

#include "kiln/support/strings.h"
#include "kiln/hlo/computation.h"
#include "kiln/hlo/shape.h"
#include "kiln/support/status.h"
#include "llvm/IR/BasicBlock.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"

namespace kiln::cpu {
namespace {

using hlo::ComparisonDirection;
using hlo::Instruction;
using hlo::Opcode;
using hlo::PrimitiveType;

bool IsFloat(PrimitiveType t) { return t == PrimitiveType::F32 || t == PrimitiveType::F64; }
bool IsSigned(PrimitiveType t) { return hlo::IsSignedIntegralType(t); }
bool IsPred(PrimitiveType t) { return t == PrimitiveType::PRED; }
bool IsInt(PrimitiveType t) { return hlo::IsIntegralType(t); }
// Element types the emitter computes with (16-bit floats are not supported).
bool IsEmittableType(PrimitiveType t) { return IsFloat(t) || IsInt(t) || IsPred(t); }

std::string TypeName(PrimitiveType t) { return std::string(hlo::PrimitiveTypeName(t)); }

// An index into an array of `dims`: a multi-dimensional index, a row-major linear index, or both
// (each computed from the other on demand).
struct Index {
  std::vector<int64_t> dims;
  std::vector<llvm::Value*> multi;
  llvm::Value* linear = nullptr;
  int id = 0;
};

// Emission state of one kernel function.
class KernelBuilder {
 public:
  KernelBuilder(llvm::LLVMContext& context, llvm::Module& module, const SlotFn& slot_of,
                const std::string& name)
      : context_(context), module_(module), slot_of_(slot_of), b_(context) {
    llvm::Type* ptr = llvm::PointerType::getUnqual(context);
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    fn_->addParamAttr(0, llvm::Attribute::NoAlias);
    fn_->addParamAttr(0, llvm::Attribute::ReadOnly);
    buffers_ = fn_->getArg(0);
    entry_ = llvm::BasicBlock::Create(context, "entry", fn_);
    llvm::BasicBlock* body = llvm::BasicBlock::Create(context, "body", fn_);
    b_.SetInsertPoint(body);
  }

  // Closes the function: branches from the entry block and attaches alias scopes so that LLVM
  // knows distinct slots never overlap.
  void Finish() {
    b_.CreateRetVoid();
    llvm::IRBuilder<> eb(entry_);
    eb.CreateBr(entry_->getNextNode());
    if (slot_ptrs_.size() < 2) return;
    llvm::MDBuilder md(context_);
    llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("kiln.slots");
    std::map<int, llvm::MDNode*> scopes;
    for (const auto& [slot, ptr] : slot_ptrs_) {
      scopes[slot] = md.createAnonymousAliasScope(domain, kiln::StrCat("slot", slot));
    }
    for (const auto& [inst, slot] : mem_ops_) {
      std::vector<llvm::Metadata*> others;
      for (const auto& [s, scope] : scopes) {
        if (s != slot) others.push_back(scope);
      }
      inst->setMetadata(llvm::LLVMContext::MD_alias_scope, llvm::MDNode::get(context_, {scopes[slot]}));
      inst->setMetadata(llvm::LLVMContext::MD_noalias, llvm::MDNode::get(context_, others));
    }
  }

  llvm::IRBuilder<>& b() { return b_; }
  llvm::Value* I64(int64_t v) { return b_.getInt64(v); }

  Index NewIndex(std::vector<int64_t> dims) {
    Index index;
    index.dims = std::move(dims);
    index.id = next_index_id_++;
    return index;
  }
  // A fresh index of a rank-0 array.
  Index ScalarIndex() {
    Index index = NewIndex({});
    index.linear = I64(0);
    return index;
  }

  llvm::Value* Linear(Index& index) {
    if (index.linear != nullptr) return index.linear;
    llvm::Value* linear = I64(0);
    int64_t stride = 1;
    for (int i = static_cast<int>(index.dims.size()) - 1; i >= 0; --i) {
      if (index.dims[i] != 1) linear = b_.CreateAdd(linear, b_.CreateMul(index.multi[i], I64(stride)));
      stride *= index.dims[i];
    }
    index.linear = linear;
    return linear;
  }

  const std::vector<llvm::Value*>& Multi(Index& index) {
    if (!index.multi.empty() || index.dims.empty()) return index.multi;
    std::vector<llvm::Value*> multi(index.dims.size());
    int64_t stride = 1;
    for (int i = static_cast<int>(index.dims.size()) - 1; i >= 0; --i) {
      if (index.dims[i] == 1) {
        multi[i] = I64(0);
      } else {
        llvm::Value* q = stride == 1 ? index.linear : b_.CreateUDiv(index.linear, I64(stride));
        multi[i] = i == 0 ? q : b_.CreateURem(q, I64(index.dims[i]));
      }
      stride *= index.dims[i];
    }
    index.multi = std::move(multi);
    return index.multi;
  }

  llvm::Type* RegisterType(PrimitiveType t) {
    switch (t) {
      case PrimitiveType::PRED: return b_.getInt1Ty();
      case PrimitiveType::S8: case PrimitiveType::U8: return b_.getInt8Ty();
      case PrimitiveType::S16: case PrimitiveType::U16: return b_.getInt16Ty();
      case PrimitiveType::S32: case PrimitiveType::U32: return b_.getInt32Ty();
      case PrimitiveType::S64: case PrimitiveType::U64: return b_.getInt64Ty();
      case PrimitiveType::F32: return b_.getFloatTy();
      case PrimitiveType::F64: return b_.getDoubleTy();
      default: return nullptr;
    }
  }
  llvm::Type* MemoryType(PrimitiveType t) { return IsPred(t) ? b_.getInt8Ty() : RegisterType(t); }

  // The data pointer of `slot`, loaded once in the entry block.
  llvm::Value* SlotPtr(int slot) {
    auto it = slot_ptrs_.find(slot);
    if (it != slot_ptrs_.end()) return it->second;
    llvm::IRBuilder<> eb(entry_);
    llvm::Type* ptr = llvm::PointerType::getUnqual(context_);
    llvm::Value* address = eb.CreateConstInBoundsGEP1_64(ptr, buffers_, slot);
    llvm::LoadInst* load = eb.CreateAlignedLoad(ptr, address, llvm::Align(8), kiln::StrCat("slot", slot));
    load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(context_, {}));
    slot_ptrs_[slot] = load;
    return load;
  }

  llvm::Value* LoadElement(int slot, PrimitiveType t, llvm::Value* linear) {
    llvm::Type* mem = MemoryType(t);
    llvm::Value* address = b_.CreateInBoundsGEP(mem, SlotPtr(slot), linear);
    llvm::LoadInst* load = b_.CreateAlignedLoad(mem, address, llvm::Align(hlo::ByteWidth(t)));
    mem_ops_.push_back({load, slot});
    if (IsPred(t)) return b_.CreateICmpNE(load, b_.getInt8(0));
    return load;
  }

  void StoreElement(int slot, PrimitiveType t, llvm::Value* linear, llvm::Value* value) {
    llvm::Type* mem = MemoryType(t);
    if (IsPred(t)) value = b_.CreateZExt(value, mem);
    llvm::Value* address = b_.CreateInBoundsGEP(mem, SlotPtr(slot), linear);
    llvm::StoreInst* store = b_.CreateAlignedStore(value, address, llvm::Align(hlo::ByteWidth(t)));
    mem_ops_.push_back({store, slot});
  }

  // A counted loop [0, n), n > 0. Begin returns the induction variable; End closes the loop at the
  // current block and leaves the builder in the exit block.
  struct Loop {
    llvm::BasicBlock* header;
    llvm::PHINode* iv;
    int64_t n;
  };
  Loop BeginLoop(int64_t n, const char* name) {
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(context_, name, fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* iv = b_.CreatePHI(b_.getInt64Ty(), 2, name);
    iv->addIncoming(I64(0), pre);
    return Loop{header, iv, n};
  }
  void EndLoop(const Loop& loop) {
    llvm::Value* next = b_.CreateAdd(loop.iv, I64(1), "", /*HasNUW=*/true, /*HasNSW=*/true);
    loop.iv->addIncoming(next, b_.GetInsertBlock());
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(context_, "exit", fn_);
    b_.CreateCondBr(b_.CreateICmpULT(next, I64(loop.n)), loop.header, exit);
    b_.SetInsertPoint(exit);
  }

  llvm::AllocaInst* EntryAlloca(llvm::Type* type) {
    llvm::IRBuilder<> eb(entry_, entry_->begin());
    return eb.CreateAlloca(type);
  }

  llvm::Function* Intrinsic(llvm::Intrinsic::ID id, llvm::ArrayRef<llvm::Type*> types) {
    return llvm::Intrinsic::getDeclaration(&module_, id, types);
  }
  llvm::Value* CallIntrinsic(llvm::Intrinsic::ID id, llvm::ArrayRef<llvm::Value*> args) {
    return b_.CreateCall(Intrinsic(id, {args[0]->getType()}), args);
  }
  // Calls the libm function `name` (float flavour gets an "f" suffix).
  llvm::Value* CallLibm(const std::string& name, llvm::ArrayRef<llvm::Value*> args) {
    llvm::Type* t = args[0]->getType();
    std::string symbol = t->isFloatTy() ? name + "f" : name;
    std::vector<llvm::Type*> params(args.size(), t);
    llvm::FunctionCallee callee = module_.getOrInsertFunction(symbol, llvm::FunctionType::get(t, params, false));
    if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      f->setDoesNotThrow();
      f->setWillReturn();
    }
    return b_.CreateCall(callee, args);
  }

  // exp of a float: the same range reduction, polynomial and special-value selects as the runtime's
  // ExpInPlace (lib/support/vector_math.cc), in IR without calls so that the loop vectorizes (a call
  // to expf per element would not). Other float types call the intrinsic.
  llvm::Value* EmitExp(llvm::Value* x) {
    llvm::Type* t = x->getType();
    if (!t->isFloatTy()) return CallIntrinsic(llvm::Intrinsic::exp, {x});
    auto f = [&](double v) { return llvm::ConstantFP::get(t, v); };
    llvm::Type* i32 = b_.getInt32Ty();
    auto i = [&](int v) { return llvm::ConstantInt::get(i32, v); };
    llvm::Value* hi = f(88.7228317);
    llvm::Value* lo = f(-103.972084);
    llvm::Value* is_nan = b_.CreateFCmpUNO(x, x);
    llvm::Value* c = b_.CreateSelect(is_nan, f(0.0), x);
    c = b_.CreateSelect(b_.CreateFCmpOGT(c, hi), hi, c);
    c = b_.CreateSelect(b_.CreateFCmpOLT(c, lo), lo, c);
    llvm::Value* k = CallIntrinsic(llvm::Intrinsic::floor, {b_.CreateFAdd(b_.CreateFMul(c, f(1.44269504088896341)), f(0.5))});
    llvm::Value* r = b_.CreateFSub(b_.CreateFSub(c, b_.CreateFMul(k, f(0.693359375))), b_.CreateFMul(k, f(-2.12194440e-4)));
    llvm::Value* p = f(1.9875691500e-4);
    for (double coeff : {1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1}) {
      p = b_.CreateFAdd(b_.CreateFMul(p, r), f(coeff));
    }
    p = b_.CreateFAdd(b_.CreateFAdd(b_.CreateFMul(p, b_.CreateFMul(r, r)), r), f(1.0));
    llvm::Value* ki = b_.CreateFPToSI(k, i32);
    llvm::Value* half = b_.CreateAShr(ki, i(1));
    llvm::Value* s1 = b_.CreateBitCast(b_.CreateShl(b_.CreateAdd(half, i(127)), i(23)), t);
    llvm::Value* s2 = b_.CreateBitCast(b_.CreateShl(b_.CreateAdd(b_.CreateSub(ki, half), i(127)), i(23)), t);
    llvm::Value* e = b_.CreateFMul(b_.CreateFMul(p, s1), s2);
    e = b_.CreateSelect(b_.CreateFCmpOGT(x, hi), llvm::ConstantFP::getInfinity(t), e);
    e = b_.CreateSelect(b_.CreateFCmpOLT(x, lo), f(0.0), e);
    return b_.CreateSelect(is_nan, x, e);
  }

  // tanh of a float without calls: for |x| < 0.625 an odd polynomial x (1 + x^2 P(x^2)) (the Cephes
  // library's tanhf coefficients), otherwise 1 - 2 / (exp(2|x|) + 1) with the sign of x (exp
  // overflowing to +inf gives exactly 1). NaN propagates through the exp. Other float types call libm.
  llvm::Value* EmitTanh(llvm::Value* x) {
    llvm::Type* t = x->getType();
    if (!t->isFloatTy()) return CallLibm("tanh", {x});
    auto f = [&](double v) { return llvm::ConstantFP::get(t, v); };
    llvm::Value* ax = CallIntrinsic(llvm::Intrinsic::fabs, {x});
    llvm::Value* z = b_.CreateFMul(x, x);
    llvm::Value* p = f(-5.70498872745e-3);
    for (double coeff : {2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1}) {
      p = b_.CreateFAdd(b_.CreateFMul(p, z), f(coeff));
    }
    // x (1 + z P(z)) rather than x + x z P(z), which would turn -0 into +0.
    llvm::Value* small = b_.CreateFMul(x, b_.CreateFAdd(f(1.0), b_.CreateFMul(p, z)));
    llvm::Value* e = EmitExp(b_.CreateFMul(ax, f(2.0)));
    llvm::Value* large = b_.CreateFSub(f(1.0), b_.CreateFDiv(f(2.0), b_.CreateFAdd(e, f(1.0))));
    large = b_.CreateCall(Intrinsic(llvm::Intrinsic::copysign, {t}), {large, x});
    return b_.CreateSelect(b_.CreateFCmpOLT(ax, f(0.625)), small, large);
  }

  // erf of a float without calls (GELU's exact form), within 3 ulp of libm's erff: for |x| < 1 an
  // odd polynomial x P(x^2); beyond, 1 - exp(Q(|x| - 2.5)) with the sign of x, where Q fits
  // log(erfc) on [1, 3.95] (above 3.95 erf rounds to 1 in float; |x| is clamped there, so +-Inf give
  // +-1). Kiln's own least-squares fits on Chebyshev nodes. Other float types call libm.
  llvm::Value* EmitErf(llvm::Value* x) {
    llvm::Type* t = x->getType();
    if (!t->isFloatTy()) return CallLibm("erf", {x});
    auto f = [&](double v) { return llvm::ConstantFP::get(t, v); };
    auto horner = [&](llvm::Value* v, std::initializer_list<double> coeffs) {
      llvm::Value* acc = nullptr;
      for (double c : coeffs) acc = acc == nullptr ? f(c) : b_.CreateFAdd(b_.CreateFMul(acc, v), f(c));
      return acc;
    };
    llvm::Value* ax = CallIntrinsic(llvm::Intrinsic::fabs, {x});
    llvm::Value* small = b_.CreateFMul(
        horner(b_.CreateFMul(x, x), {-9.728399552888038e-06, 1.1288171356690225e-04, -8.4872672059767e-04,
                                     5.221261454124715e-03, -2.68655174266659e-02, 1.1283784111440028e-01,
                                     -3.761263859038998e-01, 1.128379167082272}),
        x);
    llvm::Value* clamped = b_.CreateSelect(b_.CreateFCmpOGT(ax, f(3.95)), f(3.95), ax);
    llvm::Value* q = horner(b_.CreateFSub(clamped, f(2.5)),
                            {1.6337533602537716e-06, -1.3292794141487507e-05, 7.731953960255644e-05,
                             -4.201987552093299e-04, 2.1652475220446496e-03, -1.0858467847778873e-02,
                             -9.438936718834628e-01, -5.3526806917827745, -7.806815275332623});
    llvm::Value* large = b_.CreateFSub(f(1.0), EmitExp(q));
    large = b_.CreateCall(Intrinsic(llvm::Intrinsic::copysign, {t}), {large, x});
    return b_.CreateSelect(b_.CreateFCmpOLT(ax, f(1.0)), small, large);
  }

  // The value of `instr` at `index` (loaded when materialized).
  absl::StatusOr<llvm::Value*> EmitValue(const Instruction* instr, Index& index);
  // The value of `instr` at `index`, computed from its operands even when it has a slot.
  absl::StatusOr<llvm::Value*> EmitComputed(const Instruction* instr, Index& index);

  const SlotFn& slot_of() const { return slot_of_; }

 private:
  absl::StatusOr<llvm::Value*> EmitOperandAt(const Instruction* instr, int64_t i, Index& index);
  absl::StatusOr<llvm::Value*> EmitElementwise(const Instruction* instr, Index& index);
  absl::StatusOr<llvm::Value*> EmitReduce(const Instruction* instr, Index& index);
  absl::StatusOr<llvm::Value*> EmitReduceWindow(const Instruction* instr, Index& index);
  absl::StatusOr<llvm::Value*> EmitPad(const Instruction* instr, Index& index);
  absl::StatusOr<llvm::Value*> EmitConcatenate(const Instruction* instr, Index& index);
  llvm::Value* EmitConstantScalar(const hlo::Literal& literal, int64_t i, PrimitiveType t);

 public:
  llvm::Value* EmitBinary(Opcode op, PrimitiveType t, llvm::Value* x, llvm::Value* y);
  llvm::Value* EmitUnary(Opcode op, PrimitiveType t, llvm::Value* x);
  llvm::Value* EmitConvert(PrimitiveType from, PrimitiveType to, llvm::Value* x);
  llvm::Value* EmitCompare(ComparisonDirection dir, PrimitiveType t, llvm::Value* x, llvm::Value* y);

 private:
  llvm::LLVMContext& context_;
  llvm::Module& module_;
  const SlotFn& slot_of_;
  llvm::IRBuilder<> b_;
  llvm::Function* fn_ = nullptr;
  llvm::Value* buffers_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  std::map<int, llvm::Value*> slot_ptrs_;
  std::vector<std::pair<llvm::Instruction*, int>> mem_ops_;
  std::map<std::pair<const Instruction*, int>, llvm::Value*> memo_;
  int next_index_id_ = 0;
};

llvm::Value* KernelBuilder::EmitConstantScalar(const hlo::Literal& literal, int64_t i, PrimitiveType t) {
  llvm::Type* type = RegisterType(t);
  if (IsFloat(t)) return llvm::ConstantFP::get(type, literal.GetAsDouble(i));
  return llvm::ConstantInt::get(type, static_cast<uint64_t>(literal.GetAsInt64(i)), IsSigned(t));
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitValue(const Instruction* instr, Index& index) {
  const int slot = slot_of_(instr);
  if (instr->opcode() == Opcode::kConstant && instr->shape().IsScalar()) {
    return EmitConstantScalar(instr->literal(), 0, instr->shape().element_type());
  }
  if (slot >= 0) {
    auto key = std::make_pair(instr, index.id);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    llvm::Value* v = LoadElement(slot, instr->shape().element_type(), Linear(index));
    memo_[key] = v;
    return v;
  }
  return EmitComputed(instr, index);
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitOperandAt(const Instruction* instr, int64_t i, Index& index) {
  const Instruction* operand = instr->operand(i);
  // Scalar operands of select/clamp apply to every element.
  if (operand->shape().rank() == 0 && instr->shape().rank() != 0) {
    Index scalar = ScalarIndex();
    return EmitValue(operand, scalar);
  }
  return EmitValue(operand, index);
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitComputed(const Instruction* instr, Index& index) {
  auto key = std::make_pair(instr, index.id);
  auto it = memo_.find(key);
  if (it != memo_.end()) return it->second;
  const hlo::Shape& shape = instr->shape();
  const PrimitiveType type = shape.element_type();
  llvm::Value* result = nullptr;
  switch (instr->opcode()) {
    case Opcode::kConstant: {
      // Non-scalar constants always have a slot; this is only reached for scalars.
      result = EmitConstantScalar(instr->literal(), 0, type);
      break;
    }
    case Opcode::kIota: {
      llvm::Value* i = Multi(index)[instr->dimensions(0)];
      result = EmitConvert(PrimitiveType::S64, type, i);
      break;
    }
    case Opcode::kBroadcast: {
      const Instruction* operand = instr->operand(0);
      Index in = NewIndex(operand->shape().dimensions());
      if (operand->shape().rank() == 0) {
        in.linear = I64(0);
      } else {
        const std::vector<llvm::Value*>& out = Multi(index);
        for (int64_t d = 0; d < operand->shape().rank(); ++d) {
          in.multi.push_back(operand->shape().dimensions(d) == 1 ? I64(0) : out[instr->dimensions(d)]);
        }
      }
      KILN_ASSIGN_OR_RETURN(result, EmitValue(operand, in));
      break;
    }
    case Opcode::kReshape:
    case Opcode::kBitcast: {
      const Instruction* operand = instr->operand(0);
      Index in = NewIndex(operand->shape().dimensions());
      in.linear = Linear(index);
      KILN_ASSIGN_OR_RETURN(result, EmitValue(operand, in));
      break;
    }
    case Opcode::kTranspose: {
      const Instruction* operand = instr->operand(0);
      Index in = NewIndex(operand->shape().dimensions());
      const std::vector<llvm::Value*>& out = Multi(index);
      in.multi.resize(out.size());
      for (size_t i = 0; i < out.size(); ++i) in.multi[instr->dimensions(i)] = out[i];
      KILN_ASSIGN_OR_RETURN(result, EmitValue(operand, in));
      break;
    }
    case Opcode::kSlice: {
      const Instruction* operand = instr->operand(0);
      Index in = NewIndex(operand->shape().dimensions());
      const std::vector<llvm::Value*>& out = Multi(index);
      for (size_t i = 0; i < out.size(); ++i) {
        llvm::Value* v = out[i];
        if (instr->slice_strides()[i] != 1) v = b_.CreateMul(v, I64(instr->slice_strides()[i]));
        if (instr->slice_starts()[i] != 0) v = b_.CreateAdd(v, I64(instr->slice_starts()[i]));
        in.multi.push_back(v);
      }
      KILN_ASSIGN_OR_RETURN(result, EmitValue(operand, in));
      break;
    }
    case Opcode::kReverse: {
      const Instruction* operand = instr->operand(0);
      Index in = NewIndex(operand->shape().dimensions());
      in.multi = Multi(index);
      for (int64_t d : instr->dimensions()) in.multi[d] = b_.CreateSub(I64(shape.dimensions(d) - 1), in.multi[d]);
      KILN_ASSIGN_OR_RETURN(result, EmitValue(operand, in));
      break;
    }
    case Opcode::kPad:
    {
      KILN_ASSIGN_OR_RETURN(result, EmitPad(instr, index));
      break;
    }
    case Opcode::kConcatenate:
    {
      KILN_ASSIGN_OR_RETURN(result, EmitConcatenate(instr, index));
      break;
    }
    case Opcode::kReduce:
    {
      KILN_ASSIGN_OR_RETURN(result, EmitReduce(instr, index));
      break;
    }
    case Opcode::kReduceWindow:
    {
      KILN_ASSIGN_OR_RETURN(result, EmitReduceWindow(instr, index));
      break;
    }
    default: {
      if (!instr->IsElementwise()) {
        return absl::UnimplementedError(kiln::StrCat("CPU backend: cannot emit '",
                                                     std::string(hlo::OpcodeString(instr->opcode())),
                                                     "' (", instr->name(), ") as a loop"));
      }
      KILN_ASSIGN_OR_RETURN(result, EmitElementwise(instr, index));
    }
  }
  memo_[key] = result;
  return result;
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitElementwise(const Instruction* instr, Index& index) {
  std::vector<llvm::Value*> ops;
  for (int64_t i = 0; i < instr->operand_count(); ++i) {
    KILN_ASSIGN_OR_RETURN(llvm::Value * v, EmitOperandAt(instr, i, index));
    ops.push_back(v);
  }
  const PrimitiveType type = instr->shape().element_type();
  const PrimitiveType in_type = instr->operand(0)->shape().element_type();
  switch (instr->opcode()) {
    case Opcode::kConvert:
      return EmitConvert(in_type, type, ops[0]);
    case Opcode::kCompare:
      return EmitCompare(instr->comparison_direction(), in_type, ops[0], ops[1]);
    case Opcode::kSelect:
      return b_.CreateSelect(ops[0], ops[1], ops[2]);
    case Opcode::kClamp:
      return EmitBinary(Opcode::kMinimum, type, EmitBinary(Opcode::kMaximum, type, ops[1], ops[0]), ops[2]);
    default:
      break;
  }
  if (ops.size() == 1) return EmitUnary(instr->opcode(), type, ops[0]);
  return EmitBinary(instr->opcode(), type, ops[0], ops[1]);
}

llvm::Value* KernelBuilder::EmitUnary(Opcode op, PrimitiveType t, llvm::Value* x) {
  llvm::Type* type = x->getType();
  if (IsFloat(t)) {
    switch (op) {
      case Opcode::kAbs: return CallIntrinsic(llvm::Intrinsic::fabs, {x});
      case Opcode::kCeil: return CallIntrinsic(llvm::Intrinsic::ceil, {x});
      case Opcode::kFloor: return CallIntrinsic(llvm::Intrinsic::floor, {x});
      case Opcode::kRound: return CallIntrinsic(llvm::Intrinsic::round, {x});
      case Opcode::kRoundNearestEven: return CallIntrinsic(llvm::Intrinsic::roundeven, {x});
      case Opcode::kCos: return CallIntrinsic(llvm::Intrinsic::cos, {x});
      case Opcode::kSin: return CallIntrinsic(llvm::Intrinsic::sin, {x});
      case Opcode::kTan: return CallLibm("tan", {x});
      case Opcode::kTanh: return EmitTanh(x);
      case Opcode::kExp: return EmitExp(x);
      case Opcode::kExpm1: return CallLibm("expm1", {x});
      case Opcode::kLog: return CallIntrinsic(llvm::Intrinsic::log, {x});
      case Opcode::kLog1p: return CallLibm("log1p", {x});
      case Opcode::kLogistic: {
        // 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below (no overflow, subnormal results kept).
        llvm::Value* e = EmitExp(b_.CreateFNeg(CallIntrinsic(llvm::Intrinsic::fabs, {x})));
        llvm::Value* one = llvm::ConstantFP::get(type, 1.0);
        llvm::Value* denom = b_.CreateFAdd(one, e);
        return b_.CreateSelect(b_.CreateFCmpOGE(x, llvm::ConstantFP::get(type, 0.0)), b_.CreateFDiv(one, denom),
                               b_.CreateFDiv(e, denom));
      }
      case Opcode::kNegate: return b_.CreateFNeg(x);
      case Opcode::kRsqrt:
        return b_.CreateFDiv(llvm::ConstantFP::get(type, 1.0), CallIntrinsic(llvm::Intrinsic::sqrt, {x}));
      case Opcode::kSqrt: return CallIntrinsic(llvm::Intrinsic::sqrt, {x});
      case Opcode::kCbrt: return CallLibm("cbrt", {x});
      case Opcode::kErf: return EmitErf(x);
      case Opcode::kSign: {
        llvm::Value* zero = llvm::ConstantFP::get(type, 0.0);
        llvm::Value* r = b_.CreateSelect(b_.CreateFCmpOLT(x, zero), llvm::ConstantFP::get(type, -1.0), x);
        return b_.CreateSelect(b_.CreateFCmpOGT(x, zero), llvm::ConstantFP::get(type, 1.0), r);
      }
      case Opcode::kIsFinite:
        return b_.CreateFCmpONE(CallIntrinsic(llvm::Intrinsic::fabs, {x}),
                                llvm::ConstantFP::getInfinity(type));
      case Opcode::kCopy: return x;
      default: return nullptr;
    }
  }
  switch (op) {
    case Opcode::kAbs:
      return IsSigned(t) ? b_.CreateCall(Intrinsic(llvm::Intrinsic::abs, {type}), {x, b_.getFalse()}) : x;
    case Opcode::kCeil: case Opcode::kFloor: case Opcode::kRound: case Opcode::kRoundNearestEven:
    case Opcode::kCopy:
      return x;
    case Opcode::kNegate: return b_.CreateNeg(x);
    case Opcode::kNot: return b_.CreateNot(x);
    case Opcode::kPopulationCount: return CallIntrinsic(llvm::Intrinsic::ctpop, {x});
    case Opcode::kClz: return b_.CreateCall(Intrinsic(llvm::Intrinsic::ctlz, {type}), {x, b_.getFalse()});
    case Opcode::kSign: {
      if (!IsSigned(t)) return b_.CreateZExt(b_.CreateICmpNE(x, llvm::ConstantInt::get(type, 0)), type);
      llvm::Value* pos = b_.CreateZExt(b_.CreateICmpSGT(x, llvm::ConstantInt::get(type, 0)), type);
      llvm::Value* neg = b_.CreateZExt(b_.CreateICmpSLT(x, llvm::ConstantInt::get(type, 0)), type);
      return b_.CreateSub(pos, neg);
    }
    case Opcode::kIsFinite: return b_.getTrue();
    default: return nullptr;
  }
}

llvm::Value* KernelBuilder::EmitBinary(Opcode op, PrimitiveType t, llvm::Value* x, llvm::Value* y) {
  llvm::Type* type = x->getType();
  if (IsFloat(t)) {
    switch (op) {
      case Opcode::kAdd: return b_.CreateFAdd(x, y);
      case Opcode::kSubtract: return b_.CreateFSub(x, y);
      case Opcode::kMultiply: return b_.CreateFMul(x, y);
      case Opcode::kDivide: return b_.CreateFDiv(x, y);
      case Opcode::kRemainder: return b_.CreateFRem(x, y);
      case Opcode::kMaximum: return CallIntrinsic(llvm::Intrinsic::maximum, {x, y});
      case Opcode::kMinimum: return CallIntrinsic(llvm::Intrinsic::minimum, {x, y});
      case Opcode::kPower: return CallIntrinsic(llvm::Intrinsic::pow, {x, y});
      case Opcode::kAtan2: return CallLibm("atan2", {x, y});
      default: return nullptr;
    }
  }
  const bool is_signed = IsSigned(t);
  const unsigned bits = type->getIntegerBitWidth();
  llvm::Value* zero = llvm::ConstantInt::get(type, 0);
  switch (op) {
    case Opcode::kAdd: return b_.CreateAdd(x, y);
    case Opcode::kSubtract: return b_.CreateSub(x, y);
    case Opcode::kMultiply: return b_.CreateMul(x, y);
    case Opcode::kAnd: return b_.CreateAnd(x, y);
    case Opcode::kOr: return b_.CreateOr(x, y);
    case Opcode::kXor: return b_.CreateXor(x, y);
    case Opcode::kMaximum:
      return CallIntrinsic(is_signed ? llvm::Intrinsic::smax : llvm::Intrinsic::umax, {x, y});
    case Opcode::kMinimum:
      return CallIntrinsic(is_signed ? llvm::Intrinsic::smin : llvm::Intrinsic::umin, {x, y});
    case Opcode::kDivide:
    case Opcode::kRemainder: {
      // XLA: x / 0 = -1 (all bits set), x % 0 = x; INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0.
      llvm::Value* by_zero = b_.CreateICmpEQ(y, zero);
      llvm::Value* bad = by_zero;
      if (is_signed) {
        llvm::Value* overflow = b_.CreateAnd(b_.CreateICmpEQ(x, llvm::ConstantInt::get(type, llvm::APInt::getSignedMinValue(bits))),
                                             b_.CreateICmpEQ(y, llvm::ConstantInt::getSigned(type, -1)));
        bad = b_.CreateOr(by_zero, overflow);
      }
      llvm::Value* safe = b_.CreateSelect(bad, llvm::ConstantInt::get(type, 1), y);
      if (op == Opcode::kDivide) {
        llvm::Value* q = is_signed ? b_.CreateSDiv(x, safe) : b_.CreateUDiv(x, safe);
        return b_.CreateSelect(by_zero, llvm::ConstantInt::getSigned(type, -1), q);
      }
      llvm::Value* r = is_signed ? b_.CreateSRem(x, safe) : b_.CreateURem(x, safe);
      return b_.CreateSelect(by_zero, x, r);
    }
    case Opcode::kShiftLeft:
    case Opcode::kShiftRightLogical:
    case Opcode::kShiftRightArithmetic: {
      // Shift amounts >= the bit width (as unsigned) shift every bit out.
      llvm::Value* too_far = b_.CreateICmpUGE(y, llvm::ConstantInt::get(type, bits));
      llvm::Value* safe = b_.CreateSelect(too_far, zero, y);
      if (op == Opcode::kShiftLeft) return b_.CreateSelect(too_far, zero, b_.CreateShl(x, safe));
      if (op == Opcode::kShiftRightLogical) return b_.CreateSelect(too_far, zero, b_.CreateLShr(x, safe));
      return b_.CreateAShr(x, b_.CreateSelect(too_far, llvm::ConstantInt::get(type, bits - 1), y));
    }
    default: return nullptr;
  }
}

llvm::Value* KernelBuilder::EmitCompare(ComparisonDirection dir, PrimitiveType t, llvm::Value* x, llvm::Value* y) {
  if (IsFloat(t)) {
    switch (dir) {
      case ComparisonDirection::kEq: return b_.CreateFCmpOEQ(x, y);
      case ComparisonDirection::kNe: return b_.CreateFCmpUNE(x, y);
      case ComparisonDirection::kLt: return b_.CreateFCmpOLT(x, y);
      case ComparisonDirection::kLe: return b_.CreateFCmpOLE(x, y);
      case ComparisonDirection::kGt: return b_.CreateFCmpOGT(x, y);
      case ComparisonDirection::kGe: return b_.CreateFCmpOGE(x, y);
    }
  }
  const bool s = IsSigned(t);
  switch (dir) {
    case ComparisonDirection::kEq: return b_.CreateICmpEQ(x, y);
    case ComparisonDirection::kNe: return b_.CreateICmpNE(x, y);
    case ComparisonDirection::kLt: return s ? b_.CreateICmpSLT(x, y) : b_.CreateICmpULT(x, y);
    case ComparisonDirection::kLe: return s ? b_.CreateICmpSLE(x, y) : b_.CreateICmpULE(x, y);
    case ComparisonDirection::kGt: return s ? b_.CreateICmpSGT(x, y) : b_.CreateICmpUGT(x, y);
    case ComparisonDirection::kGe: return s ? b_.CreateICmpSGE(x, y) : b_.CreateICmpUGE(x, y);
  }
  return nullptr;
}

llvm::Value* KernelBuilder::EmitConvert(PrimitiveType from, PrimitiveType to, llvm::Value* x) {
  llvm::Type* dst = RegisterType(to);
  if (from == to) return x;
  if (IsPred(to)) {
    if (IsFloat(from)) return b_.CreateFCmpUNE(x, llvm::ConstantFP::get(x->getType(), 0.0));
    return b_.CreateICmpNE(x, llvm::ConstantInt::get(x->getType(), 0));
  }
  if (IsFloat(from) && IsFloat(to)) return b_.CreateFPCast(x, dst);
  if (IsFloat(from)) {
    // Saturating, NaN -> 0.
    auto id = IsSigned(to) ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat;
    return b_.CreateCall(Intrinsic(id, {dst, x->getType()}), {x});
  }
  const bool from_signed = IsSigned(from);  // PRED converts as unsigned 0/1.
  if (IsFloat(to)) return from_signed ? b_.CreateSIToFP(x, dst) : b_.CreateUIToFP(x, dst);
  return b_.CreateIntCast(x, dst, from_signed);
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitReduce(const Instruction* instr, Index& index) {
  const Instruction* operand = instr->operand(0);
  const PrimitiveType type = instr->shape().element_type();
  KILN_ASSIGN_OR_RETURN(Opcode op, ReducerOpcode(*instr->to_apply()));
  Index init_index = ScalarIndex();
  KILN_ASSIGN_OR_RETURN(llvm::Value * init, EmitValue(instr->operand(1), init_index));
  const std::vector<int64_t>& in_dims = operand->shape().dimensions();
  std::vector<bool> reduced(in_dims.size(), false);
  for (int64_t d : instr->dimensions()) reduced[d] = true;
  int64_t reduced_count = 1;
  for (int64_t d : instr->dimensions()) reduced_count *= in_dims[d];
  if (reduced_count == 0) return init;

  llvm::AllocaInst* acc = EntryAlloca(RegisterType(type));
  b_.CreateStore(init, acc);
  const std::vector<llvm::Value*>& out = Multi(index);
  Index in = NewIndex(in_dims);
  in.multi.resize(in_dims.size());
  std::vector<Loop> loops;
  size_t out_pos = 0;
  for (size_t d = 0; d < in_dims.size(); ++d) {
    if (!reduced[d]) {
      in.multi[d] = out[out_pos++];
    } else if (in_dims[d] == 1) {
      in.multi[d] = I64(0);
    } else {
      loops.push_back(BeginLoop(in_dims[d], "reduce"));
      in.multi[d] = loops.back().iv;
    }
  }
  KILN_ASSIGN_OR_RETURN(llvm::Value * x, EmitValue(operand, in));
  llvm::Value* a = b_.CreateLoad(RegisterType(type), acc);
  // Reassociation lets LLVM vectorise float reductions (a documented tolerance difference from the
  // interpreter's index-order sum).
  llvm::FastMathFlags fmf;
  fmf.setAllowReassoc();
  llvm::IRBuilder<>::FastMathFlagGuard guard(b_);
  b_.setFastMathFlags(fmf);
  b_.CreateStore(EmitBinary(op, type, a, x), acc);
  for (auto it = loops.rbegin(); it != loops.rend(); ++it) EndLoop(*it);
  return b_.CreateLoad(RegisterType(type), acc);
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitReduceWindow(const Instruction* instr, Index& index) {
  const Instruction* operand = instr->operand(0);
  const PrimitiveType type = instr->shape().element_type();
  KILN_ASSIGN_OR_RETURN(Opcode op, ReducerOpcode(*instr->to_apply()));
  Index init_index = ScalarIndex();
  KILN_ASSIGN_OR_RETURN(llvm::Value * init, EmitValue(instr->operand(1), init_index));
  const std::vector<int64_t>& in_dims = operand->shape().dimensions();
  const hlo::Window& window = instr->window();
  for (int64_t d : in_dims) {
    if (d == 0) return init;
  }
  llvm::AllocaInst* acc = EntryAlloca(RegisterType(type));
  b_.CreateStore(init, acc);
  const std::vector<llvm::Value*>& out = Multi(index);
  Index in = NewIndex(in_dims);
  std::vector<Loop> loops;
  llvm::Value* in_bounds = b_.getTrue();
  for (size_t d = 0; d < in_dims.size(); ++d) {
    const hlo::WindowDimension& w = window.dimensions[d];
    llvm::Value* pos = b_.CreateMul(out[d], I64(w.stride));
    if (w.size > 1) {
      loops.push_back(BeginLoop(w.size, "window"));
      pos = b_.CreateAdd(pos, b_.CreateMul(loops.back().iv, I64(w.window_dilation)));
    }
    pos = b_.CreateSub(pos, I64(w.padding_low));
    if (w.padding_low != 0 || w.padding_high != 0) {
      in_bounds = b_.CreateAnd(in_bounds, b_.CreateICmpULT(pos, I64(in_dims[d])));
      pos = b_.CreateSelect(b_.CreateICmpSLT(pos, I64(0)), I64(0),
                            b_.CreateSelect(b_.CreateICmpSGE(pos, I64(in_dims[d])), I64(in_dims[d] - 1), pos));
    }
    in.multi.push_back(pos);
  }
  KILN_ASSIGN_OR_RETURN(llvm::Value * x, EmitValue(operand, in));
  x = b_.CreateSelect(in_bounds, x, init);  // Padding elements take the init value.
  llvm::Value* a = b_.CreateLoad(RegisterType(type), acc);
  b_.CreateStore(EmitBinary(op, type, a, x), acc);
  for (auto it = loops.rbegin(); it != loops.rend(); ++it) EndLoop(*it);
  return b_.CreateLoad(RegisterType(type), acc);
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitPad(const Instruction* instr, Index& index) {
  const Instruction* operand = instr->operand(0);
  Index scalar = ScalarIndex();
  KILN_ASSIGN_OR_RETURN(llvm::Value * pad_value, EmitValue(instr->operand(1), scalar));
  const std::vector<int64_t>& in_dims = operand->shape().dimensions();
  for (int64_t d : in_dims) {
    if (d == 0) return pad_value;
  }
  const std::vector<llvm::Value*>& out = Multi(index);
  Index in = NewIndex(in_dims);
  llvm::Value* valid = b_.getTrue();
  for (size_t d = 0; d < in_dims.size(); ++d) {
    const hlo::PaddingDimension& p = instr->padding_config()[d];
    llvm::Value* t = b_.CreateSub(out[d], I64(p.edge_padding_low));
    valid = b_.CreateAnd(valid, b_.CreateICmpSGE(t, I64(0)));
    t = b_.CreateSelect(b_.CreateICmpSLT(t, I64(0)), I64(0), t);
    llvm::Value* q = t;
    if (p.interior_padding > 0) {
      q = b_.CreateUDiv(t, I64(p.interior_padding + 1));
      valid = b_.CreateAnd(valid, b_.CreateICmpEQ(b_.CreateURem(t, I64(p.interior_padding + 1)), I64(0)));
    }
    valid = b_.CreateAnd(valid, b_.CreateICmpSLT(q, I64(in_dims[d])));
    in.multi.push_back(b_.CreateSelect(b_.CreateICmpSGE(q, I64(in_dims[d])), I64(in_dims[d] - 1), q));
  }
  KILN_ASSIGN_OR_RETURN(llvm::Value * x, EmitValue(operand, in));
  return b_.CreateSelect(valid, x, pad_value);
}

absl::StatusOr<llvm::Value*> KernelBuilder::EmitConcatenate(const Instruction* instr, Index& index) {
  const int64_t dim = instr->dimensions(0);
  const std::vector<llvm::Value*>& out = Multi(index);
  // Value of the last non-empty operand, then select backwards by offset.
  std::vector<std::pair<int64_t, llvm::Value*>> parts;  // (offset, value)
  int64_t offset = 0;
  for (const Instruction* operand : instr->operands()) {
    const int64_t size = operand->shape().dimensions(dim);
    if (size == 0) continue;
    Index in = NewIndex(operand->shape().dimensions());
    in.multi = out;
    llvm::Value* local = b_.CreateSub(out[dim], I64(offset));
    local = b_.CreateSelect(b_.CreateICmpSLT(local, I64(0)), I64(0),
                            b_.CreateSelect(b_.CreateICmpSGE(local, I64(size)), I64(size - 1), local));
    in.multi[dim] = local;
    KILN_ASSIGN_OR_RETURN(llvm::Value * v, EmitValue(operand, in));
    parts.push_back({offset, v});
    offset += size;
  }
  llvm::Value* result = parts.back().second;
  for (int i = static_cast<int>(parts.size()) - 2; i >= 0; --i) {
    result = b_.CreateSelect(b_.CreateICmpSLT(out[dim], I64(parts[i + 1].first)), parts[i].second, result);
  }
  return result;
}

}  // namespace

absl::StatusOr<Opcode> ReducerOpcode(const hlo::Computation& reducer) {
  const Instruction* root = reducer.root_instruction();
  if (reducer.num_parameters() == 2 && root != nullptr && root->operand_count() == 2 &&
      root->operand(0)->opcode() == Opcode::kParameter && root->operand(1)->opcode() == Opcode::kParameter &&
      root->operand(0) != root->operand(1)) {
    switch (root->opcode()) {
      case Opcode::kAdd: case Opcode::kMultiply: case Opcode::kMaximum: case Opcode::kMinimum:
      case Opcode::kAnd: case Opcode::kOr: case Opcode::kXor:
        return root->opcode();
      default:
        break;
    }
  }
  return absl::UnimplementedError(kiln::StrCat("CPU backend: reducer computation '", reducer.name(),
                                               "' is not a single add/multiply/maximum/minimum/and/or/xor "
                                               "of its two parameters"));
}

bool EmitterSupports(const Instruction& instr) {
  const hlo::Shape& shape = instr.shape();
  auto array_ok = [](const hlo::Shape& s) {
    return s.IsArray() && IsEmittableType(s.element_type()) && s.has_default_layout() && s.is_static();
  };
  if (instr.opcode() == Opcode::kTuple || instr.opcode() == Opcode::kGetTupleElement) return true;
  if (!array_ok(shape)) return false;
  for (const Instruction* operand : instr.operands()) {
    if (!array_ok(operand->shape())) return false;
  }
  const PrimitiveType t = shape.element_type();
  const PrimitiveType in = instr.operand_count() > 0 ? instr.operand(0)->shape().element_type() : t;
  switch (instr.opcode()) {
    case Opcode::kParameter: case Opcode::kConstant: case Opcode::kIota: case Opcode::kBroadcast:
    case Opcode::kReshape: case Opcode::kTranspose: case Opcode::kSlice: case Opcode::kReverse:
    case Opcode::kPad: case Opcode::kConcatenate: case Opcode::kConvert: case Opcode::kCopy:
    case Opcode::kSelect: case Opcode::kCompare:
      return true;
    case Opcode::kReduce:
      return instr.operand_count() == 2 && ReducerOpcode(*instr.to_apply()).ok() &&
             (IsFloat(t) || IsInt(t) ||
              ReducerOpcode(*instr.to_apply()).value() == Opcode::kAnd ||
              ReducerOpcode(*instr.to_apply()).value() == Opcode::kOr ||
              ReducerOpcode(*instr.to_apply()).value() == Opcode::kXor);
    case Opcode::kReduceWindow: {
      if (instr.operand_count() != 2 || !ReducerOpcode(*instr.to_apply()).ok()) return false;
      if (IsPred(t)) return false;
      for (const hlo::WindowDimension& w : instr.window().dimensions) {
        if (w.base_dilation != 1 || w.window_reversal || w.stride < 1 || w.window_dilation < 1) return false;
      }
      return true;
    }
    // Float-only math.
    case Opcode::kCos: case Opcode::kSin: case Opcode::kTan: case Opcode::kTanh: case Opcode::kExp:
    case Opcode::kExpm1: case Opcode::kLog: case Opcode::kLog1p: case Opcode::kLogistic:
    case Opcode::kRsqrt: case Opcode::kSqrt: case Opcode::kCbrt: case Opcode::kErf: case Opcode::kPower:
    case Opcode::kAtan2: case Opcode::kIsFinite:
      return IsFloat(in);
    case Opcode::kAbs: case Opcode::kCeil: case Opcode::kFloor: case Opcode::kRound:
    case Opcode::kRoundNearestEven: case Opcode::kNegate: case Opcode::kSign: case Opcode::kAdd:
    case Opcode::kSubtract: case Opcode::kMultiply: case Opcode::kDivide: case Opcode::kRemainder:
    case Opcode::kMaximum: case Opcode::kMinimum: case Opcode::kClamp:
      return IsFloat(t) || IsInt(t);
    case Opcode::kNot: case Opcode::kAnd: case Opcode::kOr: case Opcode::kXor:
      return IsInt(t) || IsPred(t);
    case Opcode::kPopulationCount: case Opcode::kClz: case Opcode::kShiftLeft:
    case Opcode::kShiftRightArithmetic: case Opcode::kShiftRightLogical:
      return IsInt(t);
    default:
      return false;
  }
}

IrEmitter::IrEmitter(llvm::LLVMContext& context, llvm::Module& module, SlotFn slot_of)
    : context_(context), module_(module), slot_of_(std::move(slot_of)) {}

absl::Status IrEmitter::EmitLoopKernel(const std::string& name,
                                       absl::Span<const Instruction* const> outputs) {
  KernelBuilder kb(context_, module_, slot_of_, name);
  const std::vector<int64_t>& dims = outputs[0]->shape().dimensions();
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  for (const Instruction* out : outputs) {
    if (slot_of_(out) < 0 || out->shape().dimensions() != dims) {
      return absl::InternalError(kiln::StrCat("CPU backend: kernel ", name, " output ", out->name(),
                                              " has no buffer or other dimensions"));
    }
  }
  if (count > 0) {
    // Index-free groups (only elementwise ops, reshapes and loads) iterate over one flat loop;
    // the others get one loop per dimension so broadcasts and transposes need no division.
    bool flat = true;
    std::vector<const Instruction*> stack(outputs.begin(), outputs.end());
    std::map<const Instruction*, bool> seen;
    bool first = true;
    while (!stack.empty() && flat) {
      const Instruction* instr = stack.back();
      stack.pop_back();
      const bool is_output = first || std::find(outputs.begin(), outputs.end(), instr) != outputs.end();
      first = false;
      if (seen[instr]) continue;
      seen[instr] = true;
      if (!is_output && (slot_of_(instr) >= 0 || instr->opcode() == Opcode::kConstant)) continue;
      const Opcode op = instr->opcode();
      if (op != Opcode::kReshape && op != Opcode::kBitcast && !instr->IsElementwise()) flat = false;
      for (int64_t i = 0; i < instr->operand_count(); ++i) {
        const Instruction* operand = instr->operand(i);
        if (instr->IsElementwise() && operand->shape().rank() == 0 && instr->shape().rank() != 0) continue;
        stack.push_back(operand);
      }
    }
    Index index = kb.NewIndex(dims);
    std::vector<KernelBuilder::Loop> loops;
    if (flat || dims.size() <= 1) {
      if (count > 1) {
        loops.push_back(kb.BeginLoop(count, "i"));
        index.linear = loops.back().iv;
      } else {
        index.linear = kb.I64(0);
      }
    } else {
      llvm::Value* linear = kb.I64(0);
      for (size_t d = 0; d < dims.size(); ++d) {
        llvm::Value* iv = kb.I64(0);
        if (dims[d] > 1) {
          loops.push_back(kb.BeginLoop(dims[d], "i"));
          iv = loops.back().iv;
        }
        index.multi.push_back(iv);
        linear = d == 0 ? iv : kb.b().CreateAdd(kb.b().CreateMul(linear, kb.I64(dims[d])), iv);
      }
      index.linear = linear;
    }
    for (const Instruction* out : outputs) {
      KILN_ASSIGN_OR_RETURN(llvm::Value * v, kb.EmitComputed(out, index));
      if (v == nullptr) {
        return absl::InternalError(kiln::StrCat("CPU backend: no IR for ", out->ToString()));
      }
      kb.StoreElement(slot_of_(out), out->shape().element_type(), index.linear, v);
    }
    for (auto it = loops.rbegin(); it != loops.rend(); ++it) kb.EndLoop(*it);
  }
  kb.Finish();
  return absl::OkStatus();
}

}  // namespace kiln::cpu
