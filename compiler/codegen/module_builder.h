// Plan -> LLVM IR: one internal function per kernel, taking each buffer it touches as a separate noalias
// pointer, and the exported step function that calls them in order with pointers into the arena.
#pragma once
#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "codegen/options.h"
#include "codegen/plan.h"

namespace netc::codegen {

// void netc_step(ptr arena, i64 thread, ptr barrier, ptr team): thread (0..threads-1) says which share of
// the split kernels to compute; barrier(team) is called where the plan puts a barrier (never with one thread).
constexpr const char* kStepFunction = "netc_step";
// With a team: the same signature, the whole step on the calling thread (the split kernels share by share).
constexpr const char* kSoloStepFunction = "netc_step_solo";

struct StepModule {
  std::unique_ptr<llvm::LLVMContext> ctx;
  std::unique_ptr<llvm::Module> module;
};

struct TargetInfo {
  std::string triple, dataLayout;
  unsigned vectorLanes = 8;    // floats per explicit vector
  unsigned preferWidth = 0;    // "prefer-vector-width" attribute in bits, 0 for LLVM's default
};

// Builds and verifies the module; a malformed module is an internal error (netc::Error), never an abort.
StepModule buildStepModule(const Graph& g, const Plan& plan, const CodegenOptions& opts, const TargetInfo& target);
// The same code split into `parts` modules of about equal size, each with its own context, so they can be
// optimised and compiled on several threads at once (the step function calls across them by name).
std::vector<StepModule> buildStepModules(const Graph& g, const Plan& plan, const CodegenOptions& opts,
                                         const TargetInfo& target, int parts);

}  // namespace netc::codegen
