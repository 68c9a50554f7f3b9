// netc check MODEL.net: parse, lower, shape-check and verify, and what `netc run` checks before it trains
// (runtime/training/run_checks.h); print a one-line summary.
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "driver/command.h"
#include "modes/specialize.h"
#include "runtime/training/run_checks.h"

namespace netc::driver {

void registerCheck(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("check", "parse and shape-check a model, derive its gradients, report problems");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action, opts] {
    action = [opts] {
      Model m = opts->load();
      // Also proves that both forms specialise and every op on the loss path is differentiable.
      specializeModel(m, Mode::Eval);
      TrainingGraph t = trainForm(m).step;
      // What `netc run` refuses or warns about before training, with the model's own settings.
      checkRun(m, m.train, /*threads=*/0);
      int64_t params = 0;
      for (int p : m.graph.params()) params += numel(m.graph[p].shape);
      fmt::print("{}: ok: {} nodes forward, {} with backward and update, {} parameters ({} values), vocabulary {}\n",
                 opts->model, m.graph.size(), t.graph.size(), m.graph.params().size(), params, m.vocab.size());
      return 0;
    };
  });
}

}  // namespace netc::driver
