// netc init MODEL.net --seed S --out W.safetensors: the parameters as the .net initialisers draw them.
// The default seed is the train section's, so `netc init` writes exactly the weights training starts from.
#include <fmt/format.h>
#include <optional>

#include "driver/command.h"
#include "runtime/files/atomic_file.h"
#include "runtime/training/init.h"
#include "runtime/files/safetensors.h"

namespace netc::driver {

namespace {
struct InitOptions : ModelOptions {
  std::optional<uint64_t> seed;
  std::string out;
};
}  // namespace

void registerInit(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("init", "write initialised parameters: netc init MODEL.net --seed S --out W.safetensors");
  auto opts = std::make_shared<InitOptions>();
  opts->add(cmd);
  addSeedOption(cmd, opts->seed, "random seed (default: the train section's seed)");
  cmd->add_option("--out", opts->out, "the safetensors file to write")->required();
  cmd->callback([&action, opts] {
    action = [opts] {
      Model m = opts->load();
      refuseToOverwriteInput("--out", opts->out, {{"the model file", opts->model}, {"the data file", m.data.path}});
      checkOutputPath(opts->out, OutputPath::Named);
      uint64_t seed = opts->seed.value_or(m.train.seed);
      WeightMap w = initParams(m.graph, seed, m.train.generator, nullptr, m.train.globalSeed);
      saveSafetensors(opts->out, w, {}, {}, OutputPath::Named);
      int64_t values = 0;
      for (auto& [name, t] : w) values += numel(t.shape);
      fmt::print("{}: {} parameters ({} values), seed {}\n", printable(opts->out), w.size(), values, seed);
      return 0;
    };
  });
}

}  // namespace netc::driver
