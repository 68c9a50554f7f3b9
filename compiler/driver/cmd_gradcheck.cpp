// netc gradcheck: check every gradient against central finite differences. (Placeholder until its issue lands.)
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

void registerGradcheck(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("gradcheck", "check every gradient against central finite differences");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action] {
    action = [] {
      fmt::print(stderr, "netc gradcheck: not implemented yet\n");
      return 3;
    };
  });
}

}  // namespace netc::driver
