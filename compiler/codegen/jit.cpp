#include "codegen/jit.h"

#include <cstring>
#include <fmt/format.h>
#include <mutex>

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

namespace netc::codegen {

namespace {

void initLLVM() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

[[noreturn]] void llvmFail(std::string_view what, llvm::Error e) {
  fail(fmt::format("LLVM could not {}: {}", what, llvm::toString(std::move(e))));
}

template <class T>
T check(llvm::Expected<T> e, std::string_view what) {
  if (!e) llvmFail(what, e.takeError());
  return std::move(*e);
}

llvm::orc::JITTargetMachineBuilder hostBuilder() {
  initLLVM();
  auto jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "describe this machine");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return jtmb;
}

}  // namespace

HostTarget::HostTarget(const CodegenOptions& opts) {
  auto jtmb = hostBuilder();
  tm_ = check(jtmb.createTargetMachine(), "create a target machine for this machine");
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  bool avx512 = features.lookup("avx512f"), avx = features.lookup("avx");
  unsigned widest = avx512 ? 512 : avx ? 256 : 128;
  unsigned bits = opts.vectorBits ? std::min(opts.vectorBits, widest) : std::min(widest, 256u);
  info_.vectorLanes = bits / 32;
  // LLVM's cost model stays at 256 bits on AVX-512 parts unless a function asks for more.
  info_.preferWidth = bits >= 512 ? 512 : 0;
  info_.triple = tm_->getTargetTriple().str();
  info_.dataLayout = tm_->createDataLayout().getStringRepresentation();
}

HostTarget::~HostTarget() = default;

std::string HostTarget::cpu() const { return tm_->getTargetCPU().str(); }

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  // Declared in this order so they are destroyed in the reverse one, as the new pass manager requires.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  pto.LoopUnrolling = true;
  pto.LoopInterleaving = true;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(m, mam);
}

std::string printModule(const llvm::Module& m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os, nullptr);
  return s;
}

std::string emitAssembly(llvm::Module& m, llvm::TargetMachine& tm) {
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(m);  // code generation rewrites the module
  llvm::SmallString<0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    fail("LLVM cannot emit assembly for this machine");
  pm.run(*copy);
  return std::string(buf.str());
}

CompiledStep::CompiledStep(StepModule m, const HostTarget& target, bool optimized) {
  if (!optimized) optimize(*m.module, target.machine());
  jit_ = check(llvm::orc::LLJITBuilder()
                   .setJITTargetMachineBuilder(hostBuilder())
                   .setLinkProcessSymbolsByDefault(false)  // nothing from the process unless listed below
                   // No static constructors or TLS in generated code, so no platform runtime is needed.
                   .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                   .create(),
               "start the JIT");
  // The only functions generated code may call: LLVM turns zeroing and copying loops into these.
  llvm::orc::SymbolMap symbols;
  auto add = [&](const char* name, void* addr) {
    symbols[jit_->mangleAndIntern(name)] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(addr), llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  };
  add("memset", reinterpret_cast<void*>(&std::memset));
  add("memcpy", reinterpret_cast<void*>(&std::memcpy));
  add("memmove", reinterpret_cast<void*>(&std::memmove));
  if (llvm::Error e = jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
    llvmFail("register runtime symbols", std::move(e));
  if (llvm::Error e = jit_->addIRModule(llvm::orc::ThreadSafeModule(std::move(m.module), std::move(m.ctx))))
    llvmFail("add the module to the JIT", std::move(e));
  auto addr = check(jit_->lookup(kStepFunction), "compile the step function");
  step_ = addr.toPtr<StepFn>();
}

CompiledStep::~CompiledStep() = default;

}  // namespace netc::codegen
