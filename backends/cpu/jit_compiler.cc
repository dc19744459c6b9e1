#include "backends/cpu/jit_compiler.h"

#include <mutex>
#include <system_error>
#include <utility>

#include "kiln/support/strings.h"
#include "kiln/support/status.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

namespace kiln::cpu {
namespace {

// The one place where llvm::Error becomes absl::Status.
absl::Status ToStatus(llvm::Error error, std::string_view what) {
  if (!error) return absl::OkStatus();
  std::string message = llvm::toString(std::move(error));
  return absl::InternalError(kiln::StrCat("LLVM JIT: ", what, ": ", message));
}

void InitializeLlvmOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

}  // namespace

struct JitCompiler::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> target_machine;  // For the optimisation pipeline.
};

JitCompiler::~JitCompiler() = default;

absl::StatusOr<std::unique_ptr<JitCompiler>> JitCompiler::Create(const JitCompilerOptions& options) {
  InitializeLlvmOnce();
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) return ToStatus(jtmb.takeError(), "detecting the host CPU");
  // detectHost() fills in the CPU name; add every feature the host reports (AVX-512 and so on).
  jtmb->setCPU(llvm::sys::getHostCPUName().str());
  llvm::StringMap<bool> host_features = llvm::sys::getHostCPUFeatures();
  for (const auto& feature : host_features) {
    jtmb->getFeatures().AddFeature(feature.getKey(), feature.getValue());
  }
  jtmb->setCodeGenOptLevel(options.opt_level >= 3   ? llvm::CodeGenOptLevel::Aggressive
                           : options.opt_level == 0 ? llvm::CodeGenOptLevel::None
                                                    : llvm::CodeGenOptLevel::Default);

  auto compiler = std::unique_ptr<JitCompiler>(new JitCompiler());
  compiler->options_ = options;
  compiler->cpu_name_ = jtmb->getCPU();
  compiler->impl_ = std::make_unique<Impl>();

  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm = jtmb->createTargetMachine();
  if (!tm) return ToStatus(tm.takeError(), "creating the target machine");
  compiler->impl_->target_machine = std::move(*tm);

  llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> jit =
      llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) return ToStatus(jit.takeError(), "creating LLJIT");
  compiler->impl_->jit = std::move(*jit);
  return compiler;
}

const llvm::DataLayout& JitCompiler::data_layout() const { return impl_->jit->getDataLayout(); }

std::string JitCompiler::target_triple() const { return impl_->jit->getTargetTriple().str(); }

absl::Status JitCompiler::Compile(std::unique_ptr<llvm::LLVMContext> context,
                                  std::unique_ptr<llvm::Module> module) {
  module->setDataLayout(data_layout());
  module->setTargetTriple(target_triple());
  std::string verifier_message;
  llvm::raw_string_ostream verifier_stream(verifier_message);
  if (llvm::verifyModule(*module, &verifier_stream)) {
    return absl::InvalidArgumentError(
        kiln::StrCat("CPU backend emitted invalid LLVM IR for module '", module->getName().str(),
                     "': ", verifier_message, " (a CPU backend bug; please report it with the HLO)"));
  }
  // Functions carry the host CPU and features so the vectoriser's cost model sees AVX-512.
  llvm::TargetMachine& tm = *impl_->target_machine;
  for (llvm::Function& f : *module) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
  }

  if (options_.opt_level > 0) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions tuning;
    tuning.LoopVectorization = true;
    tuning.SLPVectorization = true;
    // No full or partial unrolling beyond what the vectorizer interleaves: Kiln's loop kernels have
    // constant trip counts that O3 would unroll completely (a layer-norm epilogue over 384 channels
    // became 5,600 lines of IR), which multiplied codegen time by ten for no steady-state gain
    // (docs/performance.md, "Compile time").
    tuning.LoopUnrolling = false;
    llvm::PassBuilder pb(&tm, tuning);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::OptimizationLevel level = options_.opt_level >= 3   ? llvm::OptimizationLevel::O3
                                    : options_.opt_level == 2 ? llvm::OptimizationLevel::O2
                                                              : llvm::OptimizationLevel::O1;
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
    mpm.run(*module, mam);
  }

  if (!options_.dump_ir_to.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream out(options_.dump_ir_to, ec, llvm::sys::fs::OF_Append);
    if (ec) {
      return absl::InvalidArgumentError(kiln::StrCat("cannot write LLVM IR dump '", options_.dump_ir_to,
                                                     "': ", ec.message()));
    }
    module->print(out, nullptr);
  }

  llvm::orc::ThreadSafeModule tsm(std::move(module), std::move(context));
  return ToStatus(impl_->jit->addIRModule(std::move(tsm)), "adding a module");
}

absl::StatusOr<void*> JitCompiler::Lookup(std::string_view name) {
  llvm::Expected<llvm::orc::ExecutorAddr> address = impl_->jit->lookup(llvm::StringRef(name.data(), name.size()));
  if (!address) {
    llvm::Error error = address.takeError();
    std::string message = llvm::toString(std::move(error));
    return absl::NotFoundError(kiln::StrCat("LLVM JIT: symbol '", name, "' not found: ", message));
  }
  return address->toPtr<void*>();
}

}  // namespace kiln::cpu
