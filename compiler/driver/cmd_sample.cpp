// netc sample: generate words from trained weights. (Placeholder until its issue lands.)
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

void registerSample(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("sample", "generate words from trained weights");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action] {
    action = [] {
      fmt::print(stderr, "netc sample: not implemented yet\n");
      return 3;
    };
  });
}

}  // namespace netc::driver
