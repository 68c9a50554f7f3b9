// netc init: write initialised parameters: netc init MODEL.net --seed S --out W.safetensors. (Placeholder until its issue lands.)
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

void registerInit(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("init", "write initialised parameters: netc init MODEL.net --seed S --out W.safetensors");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action] {
    action = [] {
      fmt::print(stderr, "netc init: not implemented yet\n");
      return 3;
    };
  });
}

}  // namespace netc::driver
