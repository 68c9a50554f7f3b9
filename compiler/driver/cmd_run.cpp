// netc run: train a model on its dataset, evaluate, sample, save. (Placeholder until its issue lands.)
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

void registerRun(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "train a model on its dataset, evaluate, sample, save");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action] {
    action = [] {
      fmt::print(stderr, "netc run: not implemented yet\n");
      return 3;
    };
  });
}

}  // namespace netc::driver
