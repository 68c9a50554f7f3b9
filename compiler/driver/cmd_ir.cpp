// netc ir MODEL.net --stage S: what the compiler made at each stage of the pipeline.
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "driver/command.h"

namespace netc::driver {

void registerIr(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("ir", "print the compiler's output at a stage: graph, grad, fused, llvm, llvm-opt, asm");
  auto opts = std::make_shared<ModelOptions>();
  auto stage = std::make_shared<std::string>("graph");
  opts->add(cmd);
  cmd->add_option("--stage", *stage, "graph | grad")
      ->check(CLI::IsMember({"graph", "grad"}));
  cmd->callback([&action, opts, stage] {
    action = [opts, stage] {
      Model m = opts->load();
      if (*stage == "graph") fmt::print("{}", printGraph(m.graph));
      else if (*stage == "grad") fmt::print("{}", printGraph(buildTrainingGraph(m.graph).graph));
      return 0;
    };
  });
}

}  // namespace netc::driver
