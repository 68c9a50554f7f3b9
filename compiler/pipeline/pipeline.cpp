#include "pipeline/pipeline.h"

#include <cstdlib>
#include <fmt/format.h>

#include "ops/cross_entropy.h"
#include "pipeline/verify_plan.h"

namespace netc::pipeline {

namespace {

// ---- the passes ----

void specializePass(Compiled& c, const Options& o) { c.model = specializeModel(c.model, o.mode); }

void differentiatePass(Compiled& c, const Options& o) {
  c.training = buildTrainingGraph(c.model.graph, *o.optimizer, o.adjointsOf);
}

void instrumentPass(Compiled& c, const Options& o) {
  if (!c.training) {  // a forward graph: no gradients, no updates, the learning rate a constant
    c.instrumented = instrument(c.model.graph, {}, {}, -1, *o.probes);
    return;
  }
  const TrainingGraph& t = *c.training;
  c.instrumented = instrument(t.graph, t.grads, t.updates, o.probesReadLr ? t.lr : -1, *o.probes, t.adjoints);
}

void bindBatchPass(Compiled& c, const Options& o) {
  if (o.batch <= 0) fail(fmt::format("internal error: the pipeline binds batch size {}", o.batch));
  c.bound = bindBatch(c.latestGraph(), o.batch);
}

const codegen::TargetInfo& targetOf(const Options& o) {
  if (!o.target) fail("internal error: the pipeline's code passes need a target (Options::target)");
  return *o.target;
}

void layoutPass(Compiled& c, const Options& o) {
  c.code = c.bound;
  // The loss gradient's formula (general ops, for the reader) computed in the loss's own pass, as one kernel.
  if (o.codegen.plan.fuse) ops::cross_entropy::fuseGradFormulas(c.code);
  c.layout = codegen::chooseLayout(c.code, o.codegen, targetOf(o).vectorLanes);
}

void planPass(Compiled& c, const Options& o) {
  c.plan = codegen::makePlan(c.code, o.codegen.plan);
  c.plan.transposed = c.layout.transposed;
}

void buildModulesPass(Compiled& c, const Options& o) {
  c.modules = codegen::buildStepModules(c.code, c.plan, o.codegen, targetOf(o), o.modules);
}

bool always(const Compiled&, const Options&) { return true; }
bool hasOptimizer(const Compiled&, const Options& o) { return o.optimizer.has_value(); }
bool hasProbes(const Compiled&, const Options& o) { return o.probes.has_value(); }

// ---- what is checked after each ----
// specialize, differentiate, instrument and bind-batch verify the graph they make themselves (graph.h verify,
// which throws a user's error where a shape rule needs the batch size); with every verifier on (the flag, debug
// builds, the tests) the pipeline checks it again after them, so that a pass added or changed later without
// that call is caught too, named. Without the flag a release build leaves the repeat out (verifyAlways false).

void verifySpecialized(const Compiled& c) { verify(c.model.graph); }
void verifyTraining(const Compiled& c) { verify(c.training->graph); }
void verifyInstrumented(const Compiled& c) { verify(c.instrumented->graph); }
void verifyBound(const Compiled& c) { verify(c.bound); }
void verifyLaidOut(const Compiled& c) {
  verify(c.code);
  verifyLayout(c.bound, c.code, c.layout);
}
void verifyPlanned(const Compiled& c) { verifyPlan(c.code, c.plan); }
void verifyModules(const Compiled&) {}  // buildStepModules verifies every module it builds (LLVM's verifier)

const Pass kPasses[] = {
    {Stage::Specialize, "specialize", "the train or eval form: mode nodes resolved, nodes nothing needs removed",
     specializePass, always, verifySpecialized, false, "graph", "forward"},
    {Stage::Differentiate, "differentiate",
     "the backward graph and the optimizer's update of every trainable parameter appended", differentiatePass,
     hasOptimizer, verifyTraining, false, "grad", "+ backward and update"},
    {Stage::Instrument, "instrument", "the probes' statistics nodes appended", instrumentPass, hasProbes,
     verifyInstrumented, false, nullptr, nullptr},
    {Stage::BindBatch, "bind-batch", "the batch dimension B replaced by the batch size", bindBatchPass, always,
     verifyBound, false, nullptr, nullptr},
    {Stage::Layout, "layout", "narrow output weights stored transposed, the code's copy of the graph rewritten",
     layoutPass, always, verifyLaidOut, true, nullptr, nullptr},
    {Stage::Plan, "plan", "kernels fused and ordered, every stored value placed in the arena", planPass, always,
     verifyPlanned, true, "fused", "kernels and buffer plan"},
    {Stage::BuildModules, "build-modules", "the LLVM IR of every kernel and of the step function", buildModulesPass,
     always, verifyModules, false, "llvm", "IR before optimisation"},
};

// "file:3:5: error: graph verifier: ..." -> "file:3:5: error: internal error: after pass 'plan': graph verifier: ..."
std::string namingPass(const std::string& message, std::string_view pass) {
  const std::string what = fmt::format("internal error: after pass '{}': ", pass);
  const size_t at = message.find("error: ");
  if (at == std::string::npos) return what + message;
  return message.substr(0, at + 7) + what + message.substr(at + 7);
}

void check(const Pass& p, const Compiled& c, std::string_view name, Verify level) {
  if (level == Verify::None || (level == Verify::Always && !p.verifyAlways)) return;
  try {
    p.verify(c);
  } catch (const Error& e) {
    throw Error(namingPass(e.what(), name));
  }
}

}  // namespace

const Graph& Compiled::latestGraph() const {
  return instrumented ? instrumented->graph : training ? training->graph : model.graph;
}

std::span<const Pass> passes() { return kPasses; }

const Pass& pass(Stage s) { return kPasses[static_cast<size_t>(s)]; }

Verify verifyByDefault() {
  static const Verify level = [] {
    const char* flag = std::getenv("NETC_VERIFY_PASSES");
    if (flag && *flag) return std::string_view(flag) == "0" ? Verify::None : Verify::All;
#ifdef NDEBUG
    return Verify::Always;
#else
    return Verify::All;
#endif
  }();
  return level;
}

void resumeInPlace(Compiled& c, const Options& o, Stage from, Stage upTo) {
  const Verify level = o.verify ? (*o.verify ? Verify::All : Verify::None) : verifyByDefault();
  for (const Pass& p : kPasses) {
    if (p.stage < from || p.stage > upTo || !p.applies(c, o)) continue;
    auto replaced = o.replacedPasses.find(p.stage);
    (replaced != o.replacedPasses.end() ? replaced->second : p.run)(c, o);
    check(p, c, p.name, level);
    for (const ExtraPass& extra : o.extraPasses)
      if (extra.after == p.stage) {
        extra.run(c, o);
        check(p, c, extra.name, level);
      }
  }
}

Compiled resume(Compiled c, const Options& o, Stage from, Stage upTo) {
  resumeInPlace(c, o, from, upTo);
  return c;
}

Compiled run(const Model& m, const Options& o, Stage upTo) {
  Compiled c;
  c.model = m;
  resumeInPlace(c, o, Stage::Specialize, upTo);
  return c;
}

std::vector<IrStage> irStages() {
  std::vector<IrStage> out;
  for (const Pass& p : kPasses)
    if (p.irStage) out.push_back({p.irStage, p.irHelp, p.stage});
  // What LLVM makes of the modules after the pipeline (codegen/jit.h: optimize, emitAssembly).
  out.push_back({"llvm-opt", "after", std::nullopt});
  out.push_back({"asm", "host assembly", std::nullopt});
  return out;
}

}  // namespace netc::pipeline
