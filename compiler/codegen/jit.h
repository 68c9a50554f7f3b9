// The LLVM side of the pipeline: the host target, the O3 optimisation pipeline, assembly output and ORC LLJIT.
// Every llvm::Error becomes a netc::Error here, so nothing LLVM reports can abort the process.
#pragma once
#include <memory>
#include <string>

#include "codegen/module_builder.h"
#include "codegen/step_fn.h"

namespace llvm {
class MemoryBuffer;
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
// A relocatable object file of the module.
std::unique_ptr<llvm::MemoryBuffer> emitObject(llvm::Module& m, llvm::TargetMachine& tm);


// Where compilation time went (milliseconds). With several threads the optimise and machine-code times are
// summed over threads, the wall time is what the caller waited.
struct CompileStats {
  unsigned threads = 1;
  double optimize = 0, machineCode = 0, link = 0, wall = 0;
  unsigned cachedModules = 0;  // modules whose object code came from the object cache (object_cache.h)
  bool cachedStep = false;     // the whole step came from the cache by its step key: no IR was built
};

// Code compiled in this process. Owns the JIT, so the code lives as long as this does. External symbols are
// only those registered here.
class CompiledStep {
 public:
  // The modules of buildStepModules, each optimised and turned into an object file by a pool of `threads`
  // workers (0: one per hardware thread), then linked. With a `stepKey` (stepCacheKey), the object cache
  // remembers which objects make this step, for fromCache.
  CompiledStep(std::vector<StepModule> parts, unsigned threads, const std::string& stepKey = "");
  // The step an earlier compile with the same key left in the object cache, linked; nullptr when there is
  // none (or no cache, or an empty key).
  static std::unique_ptr<CompiledStep> fromCache(const std::string& stepKey);
  ~CompiledStep();
  StepFn step() const { return step_; }
  // Another function of the step's signature by name (netc_step_solo), or null when the code has none.
  StepFn function(const char* name) const;
  const CompileStats& stats() const { return stats_; }

 private:
  CompiledStep() = default;
  void link(std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects);
  void startJit();
  void lookupStep();
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  StepFn step_ = nullptr;
  CompileStats stats_;
};

}  // namespace netc::codegen
