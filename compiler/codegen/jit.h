// The LLVM side of the pipeline: the host target, the O3 optimisation pipeline, assembly output and ORC LLJIT.
// Every llvm::Error becomes a netc::Error here, so nothing LLVM reports can abort the process.
#pragma once
#include <memory>
#include <string>

#include "codegen/module_builder.h"

namespace llvm {
class TargetMachine;
namespace orc {
class LLJIT;
}
}  // namespace llvm

namespace netc::codegen {

// The machine we run on, as LLVM sees it (JITTargetMachineBuilder::detectHost).
class HostTarget {
 public:
  explicit HostTarget(const CodegenOptions& opts);
  ~HostTarget();
  const TargetInfo& info() const { return info_; }
  llvm::TargetMachine& machine() const { return *tm_; }
  std::string cpu() const;

 private:
  std::unique_ptr<llvm::TargetMachine> tm_;
  TargetInfo info_;
};

// LLVM's default per-module pipeline at O3 for this target (loop and SLP vectorisation included).
void optimize(llvm::Module& m, llvm::TargetMachine& tm);
std::string printModule(const llvm::Module& m);
// Host assembly of the module (run after optimize for the code that executes).
std::string emitAssembly(llvm::Module& m, llvm::TargetMachine& tm);

using StepFn = void (*)(void* arena);

// A module compiled to machine code in this process. Owns the JIT, so the code lives as long as this does.
class CompiledStep {
 public:
  // Optimises `m` (unless already done) and compiles it; external symbols are only those registered here.
  CompiledStep(StepModule m, const HostTarget& target, bool optimized);
  ~CompiledStep();
  StepFn step() const { return step_; }

 private:
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  StepFn step_ = nullptr;
};

}  // namespace netc::codegen
