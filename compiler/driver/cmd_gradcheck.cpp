// netc gradcheck MODEL.net: every parameter's gradient against central finite differences of the loss, in
// double precision on the reference interpreter, along random directions (so a rule that is right only for
// an all-ones upstream gradient cannot pass) plus single elements. Exits 1 when any check is off.
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "driver/command.h"
#include "modes/specialize.h"
#include "runtime/data/batch_feed.h"
#include "runtime/training/gradcheck.h"
#include "runtime/files/safetensors.h"
#include "runtime/files/weights.h"

namespace netc::driver {

namespace {
struct GradcheckCmdOptions : ModelOptions {
  int64_t batch = 8;
  uint64_t seed = 1;
  std::string weights;
  GradcheckOptions check;
};

// A positive finite number (CLI11's PositiveNumber spells out DBL_MAX in its message).
std::string positive(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || !(v > 0))
    return fmt::format("must be a positive number, found '{}'", text);
  return "";
}

// A usage error found after parsing (it depends on the weights): the message, and exit status 2.
int usageError(const std::string& msg) {
  fmt::print(stderr, "netc gradcheck: error: {}\n", printable(msg));
  return 2;
}

int runGradcheck(const GradcheckCmdOptions& o) {
  if (!(o.check.eps > 0)) usageFail(fmt::format("--eps must be positive, found {}", o.check.eps));
  // A check that checks nothing must not print "ok".
  if (o.check.directions + static_cast<int64_t>(o.check.elements) < 1)
    return usageError(fmt::format("--directions {} and --elements {}: nothing would be checked (at least one "
                                  "of them must be 1 or more)", o.check.directions, o.check.elements));
  Model m = specializeModel(o.load(), Mode::Train);  // the gradients training uses
  checkBatchFlag(m.graph, o.batch);
  Graph bound = bindBatch(m.graph, o.batch);
  WeightMap weights = o.weights.empty() ? initParams(m.graph, o.seed, m.train.globalSeed) : loadSafetensors(o.weights);
  requireFinite(m.graph, weights, o.weights.empty() ? "the initialised weights" : o.weights);
  if (double least = smallestResolvableEps(m.graph, weights); o.check.eps < least)
    return usageError(fmt::format("--eps {:g} is below what float64 resolves at these weights: perturbing values up "
                                  "to {:g} by steps of eps/2 leaves mostly rounding in the difference of two losses "
                                  "(eps must be at least {:.3g})", o.check.eps, largestTrainable(m.graph, weights), least));
  // Random valid indices rather than dataset rows: the check is about derivatives, not about the data.
  WeightMap batch = randomBatch(bound, o.seed + 1);
  GradcheckOptions opts = o.check;
  opts.seed = o.seed + 2;
  GradcheckReport r = gradcheck(bound, weights, [&](Engine& e) { feedBatch(e, batch, "random batch"); }, opts);
  fmt::print("{}: batch {}, seed {}, loss {:.6f}; eps {:g}, {} random directions + {} elements per parameter\n",
             o.model, o.batch, o.seed, r.loss, opts.eps, opts.directions, opts.elements);
  fmt::print("{}", formatGradcheckTable(r, opts));
  int checks = 0;
  for (const ParamCheck& p : r.params) checks += p.checks;
  if (checks == 0) fail(fmt::format("{}: nothing was checked: the model has no trainable parameter", o.model));
  if (!r.ok()) {
    fmt::print(stderr, "netc gradcheck: error: gradients disagree with finite differences beyond rtol {:g}\n",
               opts.rtol);
    return 1;
  }
  fmt::print("ok: all gradients within rtol {:g}\n", opts.rtol);
  return 0;
}
}  // namespace

void registerGradcheck(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("gradcheck", "check every gradient against central finite differences");
  auto opts = std::make_shared<GradcheckCmdOptions>();
  opts->add(cmd);
  cmd->add_option("--batch", opts->batch, "batch size of the random batch")->capture_default_str();
  addSeedOption(cmd, opts->seed, "seed of the weights, the batch and the directions")->capture_default_str();
  cmd->add_option("--weights", opts->weights, "check at these parameters (safetensors) instead of fresh ones");
  cmd->add_option("--eps", opts->check.eps, "finite-difference step")->capture_default_str()->check(CLI::Validator(positive, "POSITIVE"));
  cmd->add_option("--rtol", opts->check.rtol, "relative tolerance")->capture_default_str()->check(CLI::Validator(positive, "POSITIVE"));
  cmd->add_option("--directions", opts->check.directions, "random directions per parameter")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  cmd->add_option("--elements", opts->check.elements, "single-element checks per parameter")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  cmd->callback([&action, opts] { action = [opts] { return runGradcheck(*opts); }; });
}

}  // namespace netc::driver
