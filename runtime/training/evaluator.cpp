#include "runtime/training/evaluator.h"

#include <fmt/format.h>

#include "engine/make_engine.h"
#include "pipeline/pipeline.h"
#include "runtime/files/weights.h"

namespace netc {

namespace {
// The eval form's forward pass: no differentiation, no probes.
pipeline::Options evalForm(int64_t batch = 0) {
  pipeline::Options o;
  o.mode = Mode::Eval;
  o.batch = batch;
  return o;
}
}  // namespace

Evaluator::Evaluator(const Model& m, EngineKind kind, int64_t maxBatch)
    : model_(pipeline::run(m, evalForm(), pipeline::Stage::Specialize).model), kind_(kind), maxBatch_(maxBatch) {}

Engine& Evaluator::engineFor(int64_t batch) {
  auto& e = engines_[batch];
  if (!e) {
    pipeline::Compiled form{.model = model_};
    pipeline::resumeInPlace(form, evalForm(batch), pipeline::Stage::BindBatch, pipeline::Stage::BindBatch);
    e = makeEngine(form.bound, kind_);
  }
  return *e;
}

double Evaluator::meanLoss(const WeightMap& weights, const Examples& ex) {
  const int64_t n = ex.size(), T = ex.context;
  if (n == 0) fail("internal error: evaluating the loss over no examples");
  // A loss over several targets per example (the sequence form) is a mean over the targets that count, so the
  // chunks' means are weighted by their counted targets; otherwise by their examples.
  const int64_t Y = ex.targets;
  double total = 0, weight = 0;
  Engine* loaded = nullptr;  // weights go into each engine once per call, not once per chunk
  for (int64_t start = 0; start < n; start += maxBatch_) {
    const int64_t b = std::min(maxBatch_, n - start);
    Engine& e = engineFor(b);
    if (&e != loaded) loadParams(e, weights, "evaluation"), loaded = &e;
    e.writeIndices(model_.contextInput, std::span(ex.x).subspan(start * T, b * T));
    e.writeIndices(model_.targetInput, std::span(ex.y).subspan(start * Y, b * Y));
    const double w = static_cast<double>(Y > 1 ? ex.counted(start, b) : b);
    if (w == 0) continue;
    e.run();
    total += e.readScalar(model_.dataLoss >= 0 ? model_.dataLoss : model_.graph.loss) * w;
    weight += w;
  }
  return total / weight;
}

}  // namespace netc
