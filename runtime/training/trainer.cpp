#include "runtime/training/trainer.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/make_engine.h"
#include "ops/op.h"
#include "pipeline/pipeline.h"
#include "runtime/data/minibatch_stream.h"
#include "runtime/training/run_checks.h"
#include "runtime/files/weights.h"

namespace netc {

namespace {

bool allFinite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

bool allFinite(const WeightMap& w) {
  for (auto& [name, t] : w)
    if (!allFinite(t.data)) return false;
  return true;
}

// The training step as the spec sets it: the train form, its optimizer, its batch size.
pipeline::Options trainingStep(const TrainSpec& spec) {
  pipeline::Options o;
  o.mode = Mode::Train;
  o.optimizer = spec.optimizer;
  o.batch = spec.batch;
  return o;
}

}  // namespace

Trainer::Trainer(const Model& m, const TrainSpec& spec, EngineKind kind, int threads)
    : model_(pipeline::run(m, trainingStep(spec), pipeline::Stage::Specialize).model), spec_(spec), kind_(kind),
      threads_(threads),
      tg_(*pipeline::resume({.model = model_}, trainingStep(spec), pipeline::Stage::Differentiate,
                            pipeline::Stage::Differentiate).training),
      eval_(m, kind) {
  checkTrainingInputs(m);
  pipeline::Compiled step{.model = model_, .training = tg_};
  pipeline::resumeInPlace(step, trainingStep(spec_), pipeline::Stage::BindBatch, pipeline::Stage::BindBatch);
  engine_ = makeEngine(step.bound, kind, threads_);
  // The same seed as `netc init --seed`, so a run starts from the weights that command writes; the optimizer's
  // state (declared after the model's own) starts at its initial zeros.
  loadParams(*engine_, initParams(tg_.graph, spec_.seed, spec_.generator, &torchAfterInit_, spec_.globalSeed), "initialisation");
}

void Trainer::enableProbes(const InstrumentOptions& options) {
  pipeline::Options o = trainingStep(spec_);
  o.probes = options;
  pipeline::Compiled step{.model = model_, .training = tg_};
  pipeline::resumeInPlace(step, o, pipeline::Stage::Instrument, pipeline::Stage::BindBatch);
  probePlan_ = step.instrumented->plan;
  probeEngine_ = makeEngine(step.bound, kind_, threads_);
}

// Every node of the plain graph keeps its id in the instrumented one, so the same writes and reads serve both.
// The probe engine only observes: it runs the step on a copy of the state, and the plain engine then runs the
// step that counts. With a thread team the two are not the same in the last bits (the instrumented graph's
// kernels are fused, and so their sums split, differently), and the weights must not depend on which steps
// were probed: a resumed run probes its first step and a shorter run its last.
Engine* Trainer::probeCopy(bool probe) {
  if (!probe || !probeEngine_) return nullptr;
  for (int p : engine_->graph().persistent()) probeEngine_->write(p, engine_->read(p));
  return probeEngine_.get();
}

std::vector<std::string> Trainer::setWeights(const WeightMap& w, const std::string& what) {
  start_ = what;
  return loadParams(*engine_, w, what);
}

WeightMap Trainer::weights() { return readParams(*engine_); }

SplitLosses Trainer::evaluate(const Dataset& d, bool test) {
  WeightMap w = weights();
  SplitLosses out;
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    if (s == Split::Test && !test) continue;
    if (d[s].size() > 0) out.loss[static_cast<int>(s)] = eval_.meanLoss(w, d[s]);
  }
  return out;
}

// Which parameters are non-finite after the step. Once a NaN reaches the loss, the backward pass spreads it
// into every gradient and the update into every parameter, so "the first parameter that is NaN" would always
// blame the first one declared (C for a NaN in W1). Only a parameter that went bad on its own (others still
// finite) is named; when all did, the message says so instead of picking one. A non-finite value that came
// in with the weights never gets here: loadParams rejects it, naming the tensor and element.
// A state is named only when every parameter is finite: then nothing the learning rate moves is bad, and the
// state's own update (`update S = ...`, a BatchNorm running statistic) made the value.
Trainer::NonFinite Trainer::findNonFinite() {
  Engine& e = *engine_;  // the plain step's engine: the probe copy only observes
  const Graph& g = e.graph();
  std::vector<std::string> bad;
  size_t total = 0;
  for (int p : g.params()) {
    ++total;
    bool value = !allFinite(e.read(p));
    auto it = tg_.grads.find(p);
    bool grad = it != tg_.grads.end() && !allFinite(e.read(it->second));
    if (value || grad)
      bad.push_back(fmt::format("parameter '{}' (line {}) has non-finite {}", g[p].name, g[p].loc.line,
                                value && grad ? "values and gradient" : value ? "values" : "gradient"));
  }
  if (bad.size() == total && total > 1)
    return {fmt::format("all {} parameters are non-finite after it (the NaN spreads from the loss through every "
                        "gradient into every update)", total)};
  if (!bad.empty()) return {fmt::format("{}", fmt::join(bad, "; "))};
  for (int s : g.states()) {
    if (allFinite(e.read(s))) continue;
    int update = -1;
    for (const Node& n : g.nodes)
      if (n.op->assigns && n.inputs[0] == s) update = n.id;
    bad.push_back(update >= 0 ? fmt::format("the state '{}' (line {}) is non-finite after its update on line {}",
                                            g[s].name, g[s].loc.line, g[update].loc.line)
                              : fmt::format("the state '{}' (line {}) is non-finite", g[s].name, g[s].loc.line));
  }
  if (bad.empty()) return {};
  return {fmt::format("{}, while every parameter is finite: the update's expression made it, not the learning rate",
                      fmt::join(bad, "; ")),
          true};
}

TrainResult Trainer::train(const Dataset& d, const std::vector<TrainObserver*>& observers, bool test,
                           int64_t firstStep) {
  const Examples& tr = d[Split::Train];
  const int64_t B = spec_.batch, T = tr.context, n = tr.size();
  if (n == 0) fail(fmt::format("{}: the training split has no examples", d.path));
  if (T != model_.data.context)
    fail(fmt::format("internal error: dataset context {} but the model declares {}", T, model_.data.context));
  TrainResult r;
  MinibatchStream rows(spec_.seed, torchAfterInit_, n);
  if (firstStep < 0 || firstStep > spec_.steps)
    fail(fmt::format("cannot resume at step {}: the run has {} steps", firstStep, spec_.steps));
  rows.skip(firstStep * B);  // the draws already made
  // Preallocated: the loop itself neither allocates nor dispatches per op; the engine does the work.
  const int64_t Y = tr.targets;  // targets per example: 1, or T in the sequence form
  std::vector<int32_t> xb(B * T), yb(B * Y);
  const int contextIn = model_.contextInput, targetIn = model_.targetInput, lossNode = tg_.loss, lrIn = tg_.lr;

  // Finite is not enough for a checkpoint (one huge step leaves finite garbage): weights are only handed to
  // onCheckpoint once the next loss computed from them, minibatch or full split, is finite too.
  int64_t pendingDone = -1;
  WeightMap pending;
  auto commit = [&] {
    if (pendingDone < 0) return;
    for (auto* o : observers) o->onCheckpoint(pendingDone, pending);
    r.lastCheckpoint = pendingDone, pendingDone = -1;
  };
  using Clock = std::chrono::steady_clock;
  const auto loopStart = Clock::now();
  // Every return below goes through here: the loop's time, less the evaluations', is the steps' time.
  auto timed = [&]() -> TrainResult& {
    r.stepSeconds = std::max(0.0, std::chrono::duration<double>(Clock::now() - loopStart).count() - r.evalSeconds);
    return r;
  };
  // `fromStart`: the loss of the run's first step, computed from the weights it started from before any
  // update, so the learning rate had no part in it (nor are the parameters the step then updated from a NaN a
  // clue). A step before the first is the given weights' evaluation (--steps 0, or a finished run).
  auto diverge = [&](int64_t step, std::string what, bool fromStart = false) {
    fromStart = fromStart || step < firstStep;
    NonFinite bad = findNonFinite();
    const std::string where = fromStart ? "" : bad.text;
    r.diverged = true;
    r.divergedStep = step;
    r.cause = fromStart ? DivergenceCause::StartingWeights
              : bad.statesOnly ? DivergenceCause::StateUpdate : DivergenceCause::Training;
    if (fromStart && step >= 0)
      what += fmt::format(" before any update, from the starting weights ({}): the model or its initialisation "
                          "gives a non-finite loss, not the learning rate", start_);
    r.divergence = step < 0 ? fmt::format("the given weights, before any step: {}", what)
                            : fmt::format("training diverged at step {}: {}{}{}", step, what, where.empty() ? "" : "; ", where);
    r.divergence += r.lastGoodStep < 0 ? " (no finite loss before it)"
                                       : fmt::format(" (last good loss {:.5g} at step {})", r.lastLoss, r.lastGoodStep);
    return timed();
  };
  // "is 1234.5, more than 100 x max(initial loss 3.3098, ln 27 = 3.2958) = 330.98"
  const int vocab = model_.vocab.size();
  auto overLimit = [&](double loss) {
    return fmt::format("is {:.5g}, more than {:g} x max(initial loss {:.5g}, ln {} = {:.4f}) = {:.5g}", loss,
                       kDivergenceFactor, r.initialLoss, vocab, std::log(static_cast<double>(vocab)), r.lossLimit);
  };
  auto evaluateAt = [&](int64_t done, bool last) -> bool {
    const auto evalStart = Clock::now();
    SplitLosses l = evaluate(d, last && test);
    const double seconds = std::chrono::duration<double>(Clock::now() - evalStart).count();
    r.evalSeconds += seconds;
    if (last) r.finalEvalSeconds = seconds;
    for (Split s : {Split::Train, Split::Dev, Split::Test}) {
      if (std::isinf(l[s]) || (std::isnan(l[s]) && d[s].size() > 0 && (s != Split::Test || (last && test)))) {
        diverge(done - 1, fmt::format("the mean {} loss is {}", splitName(s), l[s]));
        return false;
      }
      if (l[s] > r.lossLimit) {
        diverge(done - 1, fmt::format("the mean {} loss {}", splitName(s), overLimit(l[s])));
        return false;
      }
    }
    commit();
    if (last) r.final = l;
    for (auto* o : observers) o->onEval(done, l);
    return true;
  };

  auto drawBatch = [&] {
    for (int64_t b = 0; b < B; ++b) {
      tr.gather(rows.next(), b, xb, yb);
    }
  };

  // One step on the drawn batch; returns its minibatch loss.
  auto runStep = [&](Engine& e, double lr) {
    e.writeIndices(contextIn, xb);
    e.writeIndices(targetIn, yb);
    e.write(lrIn, std::span(&lr, 1));
    e.run();
    return e.readScalar(lossNode);
  };

  r.done = firstStep;
  if (spec_.steps == firstStep) {  // --steps 0 (or a finished run): evaluate the given weights only
    // At initialisation with probes (the natural way to look at a start, as the lecture breaks after one step):
    // the first step's batch through the instrumented step, its update left out. The probe engine computes the
    // update (the update ratios say what the first step would do), but the parameters stay the plain engine's.
    if (firstStep == 0 && probeEngine_) {
      drawBatch();
      Engine& e = *probeCopy(true);
      const double loss = runStep(e, spec_.learningRate(0));
      if (std::isfinite(loss)) r.initialLoss = loss, r.lossLimit = divergenceLimit(loss, vocab);
      for (auto* o : observers) o->onProbe(e, 0, loss);  // no onStep: no step was taken
    }
    evaluateAt(firstStep, true);
    return timed();
  }
  for (int64_t i = firstStep; i < spec_.steps; ++i) {
    drawBatch();
    const double lr = spec_.learningRate(i);
    const bool last = i + 1 == spec_.steps, probe = i % spec_.probeEvery == 0 || last || i == firstStep;
    Engine* probing = probeCopy(probe);
    if (probing) runStep(*probing, lr);
    const double loss = runStep(*engine_, lr);
    if (!std::isfinite(loss)) {
      r.jumpedToNonFinite = true;
      return diverge(i, fmt::format("the minibatch loss is {}", std::isnan(loss) ? "NaN" : loss > 0 ? "+inf" : "-inf"),
                     i == firstStep);
    }
    if (loss > r.lossLimit) return diverge(i, fmt::format("the minibatch loss {}", overLimit(loss)));
    commit();
    if (i == firstStep) r.initialLoss = loss, r.lossLimit = divergenceLimit(loss, vocab);
    r.lastLoss = loss, r.lastGoodStep = i, r.done = i + 1;
    for (auto* o : observers) o->onStep(i, loss, lr);
    if (probe)
      for (auto* o : observers) o->onProbe(probing ? *probing : *engine_, i, loss);
    const bool eval = last || (spec_.evalEvery > 0 && (i + 1) % spec_.evalEvery == 0);
    if (eval || (i + 1) % spec_.logEvery == 0) {
      pending = weights();
      if (!allFinite(pending)) return diverge(i, "the loss was finite, but the weights or state after this step are not");
      pendingDone = i + 1;
    }
    if (eval && !evaluateAt(i + 1, last)) return timed();
  }
  return timed();
}

}  // namespace netc
