// netc grad MODEL.net --weights W --inputs BATCH --out GRADS: one forward and backward pass on a given batch,
// writing every trainable parameter's gradient under the parameter's name, and with --values the gradient of
// every named value under the value's name (driver/grad_values.h). It runs the very training graph
// `netc run` compiles, with the learning rate at 0, so what it checks is what training executes.
#include <fmt/format.h>
#include <optional>

#include "engine/make_engine.h"
#include "driver/command.h"
#include "driver/grad_values.h"
#include "pipeline/pipeline.h"
#include "runtime/files/atomic_file.h"
#include "runtime/data/batch_feed.h"
#include "runtime/files/safetensors.h"
#include "runtime/runs/stats_observer.h"
#include "runtime/files/weights.h"

namespace netc::driver {

namespace {
struct GradOptions : ModelOptions {
  std::string weights, inputs, out, stats;
  bool interp = false, eval = false;
  std::optional<std::string> values;  // --values: "" for every named value, else a comma-separated list
  std::string valuesList;  // what CLI11 read after --values; `values` is set from it when the flag is given
};

int runGrad(const GradOptions& o) {
  // The gradients of the train form (BatchNorm with batch statistics), or with --eval of the eval form.
  pipeline::Options po;
  po.mode = o.eval ? Mode::Eval : Mode::Train;
  pipeline::Compiled c = pipeline::run(o.load(), po, pipeline::Stage::Specialize);
  const Model& m = c.model;
  const std::vector<CommandInput> inputs = {{"the model file", o.model}, {"the data file", m.data.path},
                                            {"--weights", o.weights}, {"--inputs", o.inputs}};
  refuseToOverwriteInput("--out", o.out, inputs);
  if (!o.stats.empty()) {
    refuseToOverwriteInput("--stats", o.stats, inputs);
    refuseToOverwriteInput("--stats", o.stats, {{"--out", o.out}});
  }
  // Both outputs checked before either is written: a bad --stats must not leave --out's gradients behind.
  checkOutputPath(o.out, OutputPath::Named);
  if (!o.stats.empty()) checkOutputPath(o.stats, OutputPath::Named);
  WeightMap weights = loadSafetensors(o.weights);
  WeightMap batch = loadSafetensors(o.inputs);
  po.optimizer = OptimizerSpec{};  // plain SGD: its update at lr 0 changes nothing
  const std::vector<int> values = o.values ? valuesToDifferentiate(m.graph, o.values) : std::vector<int>{};
  po.adjointsOf = values;
  pipeline::resumeInPlace(c, po, pipeline::Stage::Differentiate, pipeline::Stage::Differentiate);
  const TrainingGraph& t = *c.training;
  int64_t B = batchSizeOf(m.graph, batch, o.inputs);
  // --stats: the same step with the probe statistics appended (every node keeps its id, so nothing else changes).
  // The step runs at lr 0, so the update ratios use the model's first learning rate: what one step of training
  // would do.
  if (!o.stats.empty()) {
    po.probes = instrumentOptions(m, m.train);
    po.probesReadLr = false;
  }
  po.batch = B;
  pipeline::resumeInPlace(c, po, pipeline::Stage::Instrument, pipeline::Stage::BindBatch);
  const std::optional<Instrumented>& probed = c.instrumented;
  const Graph& bound = c.bound;
  auto engine = makeEngine(bound, o.interp ? EngineKind::Interp : EngineKind::Jit);
  loadParams(*engine, weights, o.weights);
  feedBatch(*engine, batch, o.inputs, t.lr);
  // lr = 0: the update nodes leave the parameters as they were; only the gradients are wanted.
  engine->write(t.lr, std::vector<double>{0.0});
  engine->run();
  double loss = engine->readScalar(t.loss);

  WeightMap grads;
  for (int p : bound.params()) {
    const Node& n = bound[p];
    if (!n.trainable) continue;  // frozen parameters have no gradient
    auto it = t.grads.find(p);
    // A trainable parameter with no path to the loss has a gradient of exactly zero.
    grads[n.name] = NamedTensor{n.shape, it != t.grads.end() ? engine->read(it->second)
                                                             : std::vector<double>(numel(n.shape), 0.0)};
  }
  // d loss / d value under the value's name (names are unique across parameters and values). A value with no
  // path to the loss has a gradient of exactly zero.
  for (int v : values) {
    auto it = t.adjoints.find(v);
    grads[bound[v].name] = NamedTensor{bound[v].shape, it != t.adjoints.end() ? engine->read(it->second)
                                                                               : std::vector<double>(numel(bound[v].shape), 0.0)};
  }
  saveSafetensors(o.out, grads, {}, {}, OutputPath::Named);
  fmt::print("loss {:.9g}\n", loss);
  fmt::print("{}: {} gradients{}, batch {}, {}\n", printable(o.out), grads.size() - values.size(),
             values.empty() ? "" : fmt::format(" and {} of values", values.size()), B, o.interp ? "interpreter" : "jit");
  if (probed) fmt::print("{}{}: probe statistics\n", writeOneBatchStats(*engine, m, probed->plan, loss, o.stats), o.stats);
  return 0;
}
}  // namespace

void registerGrad(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("grad", "one forward/backward pass on a given batch; writes every gradient");
  auto opts = std::make_shared<GradOptions>();
  opts->add(cmd);
  cmd->add_option("--weights", opts->weights, "parameters (safetensors), e.g. from `netc init`")->required();
  cmd->add_option("--inputs", opts->inputs, "the batch (safetensors): the model's inputs by name, int32 or int64")
      ->required();
  cmd->add_option("--out", opts->out, "where to write the gradients (safetensors)")->required();
  cmd->add_option("--stats", opts->stats, "also write the probe statistics of this batch (JSON, docs/stats.md) and print them");
  auto* values = cmd->add_option("--values", opts->valuesList,
                                 "also write d loss / d value of every named value (or of --values=NAME,NAME), "
                                 "under its name")
                      ->expected(0, 1);
  cmd->add_flag("--eval", opts->eval, "differentiate the eval form (BatchNorm with its running statistics)");
  cmd->add_flag("--interp", opts->interp, "run on the reference interpreter (double precision) instead of the JIT");
  cmd->callback([&action, opts, values] {
    if (values->count() > 0) opts->values = opts->valuesList;
    action = [opts] { return runGrad(*opts); };
  });
}

}  // namespace netc::driver
