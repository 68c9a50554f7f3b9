// netc ir MODEL.net --stage S: what the compiler made at each stage of the pipeline.
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "codegen/jit.h"
#include "codegen/layout.h"
#include "codegen/plan.h"
#include "driver/command.h"

namespace netc::driver {

namespace {

struct IrOptions {
  std::string stage = "graph";
  int64_t batch = 0;  // 0: the train section's batch size
};

// The code stages compile the training step (forward, backward, update) for one batch size.
int printCodeStage(const Model& m, const IrOptions& o) {
  TrainingGraph t = buildTrainingGraph(m.graph);
  int64_t batch = o.batch > 0 ? checkBatchFlag(m.graph, o.batch) : m.train.batch;
  Graph bound = bindBatch(t.graph, batch);
  codegen::CodegenOptions co;
  codegen::HostTarget target(co);
  // What the JIT compiles: the graph with its storage layout applied (codegen/layout.h).
  codegen::Layout layout = codegen::chooseLayout(bound, co, target.info().vectorLanes);
  codegen::Plan plan = codegen::makePlan(bound, co.plan);
  plan.transposed = layout.transposed;
  if (o.stage == "fused") {
    fmt::print("; training step of {} at batch {}\n{}", m.name, batch, codegen::printPlan(bound, plan));
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
  cmd->add_option("--batch", ir->batch, "batch size the code stages compile for (default: the train section's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->callback([&action, opts, ir] {
    action = [opts, ir] {
      Model m = opts->load();
      if (ir->stage == "graph") fmt::print("{}", printGraph(m.graph));
      else if (ir->stage == "grad") fmt::print("{}", printGraph(buildTrainingGraph(m.graph).graph));
      else return printCodeStage(m, *ir);
      return 0;
    };
  });
}

}  // namespace netc::driver
