// The compiler's passes, named and in order, in one place: from a lowered model (lower/model.h) to the LLVM
// modules of one compiled step. Every command and engine asks run() for the stage it needs and gets what the
// passes made up to it; a verifier runs after each pass (graph.h verify, verify_plan.h) and names the pass it caught.
//
//   specialize      the train or eval form: mode nodes resolved, nodes nothing needs removed (modes/)
//   differentiate   the backward graph and the optimizer's update of every trainable parameter (autodiff/)
//   instrument      the probes' statistics nodes appended (instrument/)
//   bind-batch      the batch dimension B replaced by the batch size (autodiff.h bindBatch)
//   layout          narrow output weights stored transposed, the code's copy of the graph rewritten (codegen/layout.h)
//   plan            kernels fused and ordered, every stored value placed in the arena (codegen/plan.h)
//   build-modules   the LLVM IR of every kernel and the step function (codegen/module_builder.h)
//
// LLVM's own optimisation and machine code come after (codegen/jit.h: CompiledStep, on compile threads).
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "codegen/layout.h"
#include "codegen/module_builder.h"
#include "codegen/options.h"
#include "codegen/plan.h"
#include "instrument/instrument.h"
#include "lower/model.h"
#include "modes/specialize.h"

namespace netc::pipeline {

enum class Stage { Specialize, Differentiate, Instrument, BindBatch, Layout, Plan, BuildModules };

// What the passes made so far. Each pass fills its own fields and reads earlier ones. Move-only (the modules own
// their LLVM contexts): to go on from a result kept elsewhere, build one from the parts the later passes read,
// as Compiled{.model = m, .training = t}.
struct Compiled {
  Model model;                               // the model as given; after specialize, its train or eval form
  std::optional<TrainingGraph> training;     // differentiate: the training step (node ids extend the model's)
  std::optional<Instrumented> instrumented;  // instrument: the step with its probes' statistics
  Graph bound;                               // bind-batch: the latest graph above at one batch size
  Graph code;                                // layout: the compiled code's copy of `bound` (same node ids)
  codegen::Layout layout;
  codegen::Plan plan;
  std::vector<codegen::StepModule> modules;  // build-modules

  // The graph bind-batch binds: the instrumented step, else the training step, else the model's graph.
  const Graph& latestGraph() const;
};

struct Options;
using PassFn = std::function<void(Compiled&, const Options&)>;

// A pass a test inserts after one of the pipeline's, to check that the verifier catches what it breaks.
struct ExtraPass {
  Stage after;
  std::string name;  // what the verifier's message names
  PassFn run;
};

struct Options {
  Mode mode = Mode::Train;                     // specialize
  std::optional<OptimizerSpec> optimizer;      // differentiate with it; none: the forward graph only
  // differentiate: forward values whose d loss / d value is kept as a named node (netc grad --values).
  std::vector<int> adjointsOf;
  std::optional<InstrumentOptions> probes;     // instrument with them; none: no probes
  // instrument: the update ratios read the training step's `lr` input; false: InstrumentOptions::lr, a constant
  // (`netc grad --stats`, whose step runs at lr 0).
  bool probesReadLr = true;
  int64_t batch = 0;                           // bind-batch: the batch size (> 0)
  codegen::CodegenOptions codegen;             // layout, plan and build-modules
  const codegen::TargetInfo* target = nullptr;  // layout's vector width and the modules' target (required there)
  int modules = 1;  // build-modules: the code split into this many modules (1: one, as `netc ir` prints)
  // true: every verifier after every pass; false: none; unset: verifyByDefault().
  std::optional<bool> verify;
  // Tests only: passes inserted after a stage, and stages whose pass is replaced (the verifier then names the
  // replaced pass).
  std::vector<ExtraPass> extraPasses;
  std::map<Stage, PassFn> replacedPasses;
};

// One row of the pipeline's table.
struct Pass {
  Stage stage;
  const char* name;         // as messages and `netc ir` name it
  const char* description;  // one line
  PassFn run;
  // Which option the pass needs to run at all (differentiate: an optimizer); a pass it skips is not verified.
  bool (*applies)(const Compiled&, const Options&);
  // The verifier of its output (verify_passes.h): throws netc::Error.
  void (*verify)(const Compiled&);
  // Whether that verifier runs in a release build without NETC_VERIFY_PASSES: only checks that nothing else
  // repeats and whose cost is not measurable (see verifyByDefault).
  bool verifyAlways;
  const char* irStage;  // the `netc ir --stage` that prints its output, or nullptr
  const char* irHelp;   // what that stage shows, for --help
};

// The passes in order: what run() executes and what `netc ir --stage` lists.
std::span<const Pass> passes();
const Pass& pass(Stage s);

// Runs the passes from the model up to and including `upTo`.
Compiled run(const Model& m, const Options& o, Stage upTo);
// Runs the passes `from` .. `upTo` on what an earlier run (or a caller) made: the evaluator binds one
// specialised model at several batch sizes, the JIT engine starts at layout from a bound graph.
Compiled resume(Compiled c, const Options& o, Stage from, Stage upTo);
void resumeInPlace(Compiled& c, const Options& o, Stage from, Stage upTo);

// Which verifiers run when Options::verify does not say: every one after every pass in debug builds, in the
// tests (ctest sets NETC_VERIFY_PASSES=1) and with NETC_VERIFY_PASSES=1 (any value but 0) in a release build;
// none with NETC_VERIFY_PASSES=0; otherwise, in a release build, those marked verifyAlways (layout's and
// plan's, whose cost is below measurement; the graph passes end by verifying their own graphs already).
enum class Verify { None, Always, All };
Verify verifyByDefault();

// `netc ir --stage`: the stages it prints, in pipeline order: the passes with an irStage, then LLVM's.
struct IrStage {
  std::string name, help;
  std::optional<Stage> stage;  // the pass whose output it prints; none for LLVM's own stages after the pipeline
};
std::vector<IrStage> irStages();

}  // namespace netc::pipeline
