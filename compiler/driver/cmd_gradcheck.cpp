// netc gradcheck MODEL.net: every parameter's gradient against central finite differences of the loss, in
// double precision on the reference interpreter, along random directions (so a rule that is right only for
// an all-ones upstream gradient cannot pass) plus single elements. Exits 1 when any check is off.
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "driver/command.h"
#include "runtime/batch_feed.h"
#include "runtime/gradcheck.h"
#include "runtime/safetensors.h"

namespace netc::driver {

namespace {
struct GradcheckCmdOptions : ModelOptions {
  int64_t batch = 8;
  uint64_t seed = 1;
  std::string weights;
  GradcheckOptions check;
};

int runGradcheck(const GradcheckCmdOptions& o) {
  if (!(o.check.eps > 0)) usageFail(fmt::format("--eps must be positive, found {}", o.check.eps));
  Model m = o.load();
  checkBatchFlag(m.graph, o.batch);
  Graph bound = bindBatch(m.graph, o.batch);
  WeightMap weights = o.weights.empty() ? initParams(m.graph, o.seed) : loadSafetensors(o.weights);
  // Random valid indices rather than dataset rows: the check is about derivatives, not about the data.
  WeightMap batch = randomBatch(bound, o.seed + 1);
  GradcheckOptions opts = o.check;
  opts.seed = o.seed + 2;
  GradcheckReport r = gradcheck(bound, weights, [&](Engine& e) { feedBatch(e, batch, "random batch"); }, opts);
  fmt::print("{}: batch {}, seed {}, loss {:.6f}; eps {:g}, {} random directions + {} elements per parameter\n",
             o.model, o.batch, o.seed, r.loss, opts.eps, opts.directions, opts.elements);
  fmt::print("{}", formatGradcheckTable(r, opts));
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
  cmd->add_option("--seed", opts->seed, "seed of the weights, the batch and the directions")->capture_default_str();
  cmd->add_option("--weights", opts->weights, "check at these parameters (safetensors) instead of fresh ones");
  cmd->add_option("--eps", opts->check.eps, "finite-difference step")->capture_default_str();
  cmd->add_option("--rtol", opts->check.rtol, "relative tolerance")->capture_default_str();
  cmd->add_option("--directions", opts->check.directions, "random directions per parameter")->capture_default_str();
  cmd->add_option("--elements", opts->check.elements, "single-element checks per parameter")->capture_default_str();
  cmd->callback([&action, opts] { action = [opts] { return runGradcheck(*opts); }; });
}

}  // namespace netc::driver
