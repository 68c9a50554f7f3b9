// netc sample: generate words from trained weights: netc sample MODEL.net --weights W --count N --seed S.
#include <fmt/format.h>
#include <limits>
#include <optional>

#include "driver/command.h"
#include "runtime/runs/run_folder.h"
#include "runtime/training/sampler.h"

namespace netc::driver {

namespace {

struct SampleOptions {
  ModelOptions model;
  std::string weights, engine = "jit";
  std::optional<int64_t> count;
  std::optional<uint64_t> seed;
};

int sampleCommand(const SampleOptions& o) {
  Model m = o.model.load();
  const int64_t count = o.count.value_or(m.sample.count);
  if (o.count) checkFlag("--count", *o.count, 0, std::numeric_limits<int64_t>::max());
  Sampler s(m, o.engine == "interp" ? EngineKind::Interp : EngineKind::Jit);
  s.setWeights(loadWeightsFor(m, o.weights), o.weights);
  // Printed as drawn: the first words show at once and memory stays flat, whatever the count.
  s.stream(count, o.seed.value_or(m.sample.seed), [](const std::string& w) { fmt::print("{}\n", w); });
  return 0;
}

}  // namespace

void registerSample(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("sample", "generate words from trained weights");
  auto o = std::make_shared<SampleOptions>();
  o->model.add(cmd);
  cmd->add_option("--weights", o->weights, "trained weights (.safetensors), e.g. runs/NAME/weights.safetensors")
      ->required();
  cmd->add_option("--count", o->count, "how many words (default: the sample section's count)");
  addSeedOption(cmd, o->seed, "sampling seed (default: the sample section's seed)");
  cmd->add_option("--engine", o->engine, "interp (reference) or jit")->check(CLI::IsMember({"interp", "jit"}));
  cmd->callback([&action, o] { action = [o] { return sampleCommand(*o); }; });
}

}  // namespace netc::driver
