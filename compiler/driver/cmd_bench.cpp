// netc bench: time the compiled training step. (Placeholder until its issue lands.)
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

void registerBench(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("bench", "time the compiled training step");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action] {
    action = [] {
      fmt::print(stderr, "netc bench: not implemented yet\n");
      return 3;
    };
  });
}

}  // namespace netc::driver
