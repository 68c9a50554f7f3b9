// The JIT engine: the batch-bound graph planned, lowered to LLVM IR, optimised and compiled in-process. Values
// live in one float32/int32 arena at the plan's offsets; run() is one call of the compiled step function.
#pragma once
#include <memory>

#include "codegen/jit.h"
#include "codegen/layout.h"
#include "codegen/options.h"
#include "codegen/plan.h"
#include "codegen/team.h"
#include "interp/engine.h"

namespace netc {

class JitEngine final : public Engine {
 public:
  explicit JitEngine(const Graph& bound, const codegen::CodegenOptions& opts = {});
  ~JitEngine() override;
  const Graph& graph() const override { return g_; }
  // Inputs and parameters only. Index values are checked against every table they index (embedding rows,
  // cross-entropy classes) here, once, so the compiled code never sees an out-of-range index.
  void write(int node, std::span<const double> values) override;
  void writeIndices(int node, std::span<const int32_t> values) override;
  // Any value the plan keeps in memory: inputs, parameters, named values, the loss, gradients.
  std::vector<double> read(int node) override;
  double readScalar(int node) override;
  void run() override;

  const codegen::Plan& plan() const { return plan_; }
  // Milliseconds of each compilation phase, for netc bench: plan and IR on the calling thread, then LLVM's
  // work (optimise and machine code summed over its threads, link, and the wall time of all three).
  struct CompileTimes {
    double plan = 0, ir = 0;
    codegen::CompileStats llvm;
  };
  const CompileTimes& compileTimes() const { return times_; }
  std::string targetDescription() const { return target_; }  // e.g. "znver3, 8-float vectors"
  int threads() const override { return plan_.threads; }  // threads running each step (CodegenOptions::plan.threads)
  const codegen::ThreadTeam& team() const { return *team_; }  // how many steps it ran as a team
  // With CodegenOptions::plan.profile: time-stamp-counter ticks spent in each kernel since the last reset (on
  // thread 0, with a team: a kernel it does not share counts as its whole time, the barrier waits do not).
  std::vector<uint64_t> kernelTicks(int thread = 0) const;  // thread: whose row of counters
  void resetKernelTicks();

 private:
  void* bufferOf(int node, const char* what);  // checks the node and that it is stored
  void checkIndex(int node, size_t pos, double v) const;

  Graph g_;                // the graph as given: shapes and values as the model declares them
  Graph code_graph_;       // the compiled code's copy, with the storage layout applied
  codegen::Layout layout_;
  codegen::Plan plan_;
  std::unique_ptr<codegen::CompiledStep> code_;
  std::unique_ptr<codegen::ThreadTeam> team_;  // started once, with the engine
  struct FreeArena {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, FreeArena> arena_;
  std::vector<int64_t> ignoredValue_;  // per node: a target value cross_entropy ignores (allowed), else 0
  std::vector<int64_t> indexLimit_;  // per node: values must lie in [0, limit); -1 when unconstrained
  CompileTimes times_;
  std::string target_;
};

}  // namespace netc
