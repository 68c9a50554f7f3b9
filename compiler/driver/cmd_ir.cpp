// netc ir MODEL.net --stage S: what the compiler made at each stage of the pipeline.
#include <fmt/format.h>

#include <fmt/ranges.h>

#include "codegen/jit.h"
#include "driver/command.h"
#include "pipeline/pipeline.h"

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
  pipeline::Options po;
  po.mode = eval ? Mode::Eval : Mode::Train;
  if (!eval) po.optimizer = m.train.optimizer;
  pipeline::Compiled c = pipeline::run(m, po, pipeline::Stage::Differentiate);
  int64_t batch = o.batch > 0 ? checkBatchFlag(c.latestGraph(), o.batch) : m.train.batch;
  po.batch = batch;
  po.codegen.plan.threads = o.threads;
  codegen::HostTarget target(po.codegen);
  po.target = &target.info();
  // What the JIT compiles: the graph with its storage layout applied (codegen/layout.h).
  const bool fused = o.stage == "fused";
  pipeline::resumeInPlace(c, po, pipeline::Stage::BindBatch,
                          fused ? pipeline::Stage::Plan : pipeline::Stage::BuildModules);
  if (fused) {
    fmt::print("; {} of {} at batch {}\n{}", eval ? "eval form" : "training step", m.name, batch,
               codegen::printPlan(c.code, c.plan));
    return 0;
  }
  llvm::Module& module = *c.modules.front().module;
  if (o.stage == "llvm") {
    fmt::print("{}", codegen::printModule(module));
    return 0;
  }
  codegen::optimize(module, target.machine());
  if (o.stage == "llvm-opt") fmt::print("{}", codegen::printModule(module));
  else fmt::print("{}", codegen::emitAssembly(module, target.machine()));
  return 0;
}

// The stages `--stage` takes, from the pipeline's table: "graph (forward), grad (+ backward and update), ...".
std::vector<std::string> stageNames() {
  std::vector<std::string> names;
  for (const pipeline::IrStage& s : pipeline::irStages()) names.push_back(s.name);
  return names;
}

std::string stageHelp() {
  std::vector<std::string> parts;
  for (const pipeline::IrStage& s : pipeline::irStages()) parts.push_back(fmt::format("{} ({})", s.name, s.help));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

void registerIr(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "ir", fmt::format("print the compiler's output at a stage: {}", fmt::join(stageNames(), ", ")));
  auto opts = std::make_shared<ModelOptions>();
  auto ir = std::make_shared<IrOptions>();
  opts->add(cmd);
  cmd->add_option("--stage", ir->stage, stageHelp())->check(CLI::IsMember(stageNames()));
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
      pipeline::Options po;
      if (ir->stage == "graph") {
        po.mode = ir->mode == "eval" ? Mode::Eval : Mode::Train;
        fmt::print("{}", printGraph(ir->mode.empty() ? m.graph
                                                     : pipeline::run(m, po, pipeline::Stage::Specialize).model.graph));
      } else if (ir->stage == "grad") {
        if (ir->mode == "eval") fail("--stage grad is the training step, which is the train form: drop --mode eval");
        po.optimizer = m.train.optimizer;
        fmt::print("{}", printGraph(pipeline::run(m, po, pipeline::Stage::Differentiate).training->graph));
      } else {
        return printCodeStage(m, *ir);
      }
      return 0;
    };
  });
}

}  // namespace netc::driver
