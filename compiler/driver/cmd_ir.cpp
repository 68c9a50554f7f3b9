// netc ir MODEL.net --stage S: what the compiler made at each stage of the pipeline.
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "codegen/jit.h"
#include "codegen/layout.h"
#include "codegen/plan.h"
#include "driver/command.h"
#include "modes/specialize.h"

namespace netc::driver {

namespace {

struct IrOptions {
  std::string stage = "graph";
  std::string mode;  // "" : the graph as written (both forms); train or eval: specialised
  int64_t batch = 0;  // 0: the train section's batch size
  int threads = 1;    // the thread team the code is split for (1: none)
};

// The code stages compile, for one batch size, the training step (forward, backward, update) or, with
// --mode eval, the eval form's forward pass (what evaluation and sampling run).
int printCodeStage(const Model& m, const IrOptions& o) {
  const bool eval = o.mode == "eval";
  Graph g = eval ? specializeModel(m, Mode::Eval).graph : trainForm(m).step.graph;
  int64_t batch = o.batch > 0 ? checkBatchFlag(g, o.batch) : m.train.batch;
  Graph bound = bindBatch(g, batch);
  codegen::CodegenOptions co;
  co.plan.threads = o.threads;
  codegen::HostTarget target(co);
  // What the JIT compiles: the graph with its storage layout applied (codegen/layout.h).
  codegen::Layout layout = codegen::chooseLayout(bound, co, target.info().vectorLanes);
  codegen::Plan plan = codegen::makePlan(bound, co.plan);
  plan.transposed = layout.transposed;
  if (o.stage == "fused") {
    fmt::print("; {} of {} at batch {}\n{}", eval ? "eval form" : "training step", m.name, batch,
               codegen::printPlan(bound, plan));
    return 0;
  }
  codegen::StepModule mod = codegen::buildStepModule(bound, plan, co, target.info());
  if (o.stage == "llvm") {
    fmt::print("{}", codegen::printModule(*mod.module));
    return 0;
  }
  codegen::optimize(*mod.module, target.machine());
  if (o.stage == "llvm-opt") fmt::print("{}", codegen::printModule(*mod.module));
  else fmt::print("{}", codegen::emitAssembly(*mod.module, target.machine()));
  return 0;
}

}  // namespace

void registerIr(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("ir", "print the compiler's output at a stage: graph, grad, fused, llvm, llvm-opt, asm");
  auto opts = std::make_shared<ModelOptions>();
  auto ir = std::make_shared<IrOptions>();
  opts->add(cmd);
  cmd->add_option("--stage", ir->stage,
                  "graph (forward), grad (+ backward and update), fused (kernels and buffer plan), llvm (IR before "
                  "optimisation), llvm-opt (after), asm (host assembly)")
      ->check(CLI::IsMember({"graph", "grad", "fused", "llvm", "llvm-opt", "asm"}));
  cmd->add_option("--mode", ir->mode,
                  "train or eval: the graph specialised to one form (graph: default both forms, as written; code "
                  "stages: default train, the training step; eval compiles the forward pass of evaluation)")
      ->check(CLI::IsMember({"train", "eval"}));
  cmd->add_option("--batch", ir->batch, "batch size the code stages compile for (default: the train section's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--threads", ir->threads,
                  "threads the code stages are split for (default 1): products shared by rows, barriers in the plan")
      ->check(CLI::Range(1, codegen::kMaxThreads));
  cmd->callback([&action, opts, ir] {
    action = [opts, ir] {
      Model m = opts->load();
      if (ir->stage == "graph") {
        fmt::print("{}", printGraph(ir->mode.empty() ? m.graph : specializeModel(m, ir->mode == "eval" ? Mode::Eval : Mode::Train).graph));
      } else if (ir->stage == "grad") {
        if (ir->mode == "eval") fail("--stage grad is the training step, which is the train form: drop --mode eval");
        fmt::print("{}", printGraph(trainForm(m).step.graph));
      } else {
        return printCodeStage(m, *ir);
      }
      return 0;
    };
  });
}

}  // namespace netc::driver
