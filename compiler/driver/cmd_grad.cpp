// netc grad: one forward/backward pass on a given batch; writes every gradient. (Placeholder until its issue lands.)
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

void registerGrad(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("grad", "one forward/backward pass on a given batch; writes every gradient");
  auto opts = std::make_shared<ModelOptions>();
  opts->add(cmd);
  cmd->callback([&action] {
    action = [] {
      fmt::print(stderr, "netc grad: not implemented yet\n");
      return 3;
    };
  });
}

}  // namespace netc::driver
