// The training loop: minibatch SGD on the compiled training graph (forward + backward + update in one
// engine run per step), exact full-split evaluation, divergence detection and checkpoint hooks.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "instrument/instrument.h"
#include "interp/engine.h"
#include "lower/model.h"
#include "modes/specialize.h"
#include "runtime/data/dataset.h"
#include "runtime/training/evaluator.h"
#include "runtime/training/init.h"
#include "runtime/training/train_observer.h"

namespace netc {

// A loss can blow up and stay finite (lr 100 takes the lecture MLP from 3.3 to thousands within a few steps),
// so a minibatch or full-split loss above this limit counts as divergence, like NaN or inf: kDivergenceFactor
// times the larger of the step-0 loss and ln V, the loss of a uniform guess over V symbols. Generous on
// purpose: the lecture's worst start (mlp_original, 27.5) allows 2755 and only ever goes down from there.
inline constexpr double kDivergenceFactor = 100;
inline double divergenceLimit(double initialLoss, int vocab) {
  return kDivergenceFactor * std::max(initialLoss, std::log(static_cast<double>(std::max(vocab, 2))));
}

// What a divergence came from, so that the message blames the right thing.
enum class DivergenceCause {
  None,
  StartingWeights,  // a non-finite loss before this run's first update: the model or its starting weights
  StateUpdate,      // a state non-finite while every parameter is finite: that state's update expression
  Training,         // the updates: the learning rate, most often
};

struct TrainResult {
  int64_t done = 0;  // updates applied
  double initialLoss = std::numeric_limits<double>::quiet_NaN();  // the step-0 minibatch loss
  double lastLoss = std::numeric_limits<double>::quiet_NaN();     // the last finite minibatch loss
  int64_t lastGoodStep = -1;                                      // its step
  SplitLosses final;
  bool diverged = false;
  std::string divergence;      // the step, the offending loss or parameter, and the last good loss
  int64_t divergedStep = -1;   // the step whose loss (or update) diverged, -1 when none
  DivergenceCause cause = DivergenceCause::None;
  // The minibatch loss became NaN or infinite in one step (not a loss that grew past the limit): what a
  // non-finite gradient does at any learning rate, as well as a rate far too high.
  bool jumpedToNonFinite = false;
  double lossLimit = std::numeric_limits<double>::infinity();  // divergenceLimit() once step 0 has run
  int64_t lastCheckpoint = -1; // `done` of the last onCheckpoint, -1 when none
  // Wall time of the steps alone (observers included), and of the full-split evaluations, whose engines are
  // compiled at the first one: steps / stepSeconds is the training speed, not diluted by compiling.
  double stepSeconds = 0, evalSeconds = 0;
  double finalEvalSeconds = 0;  // the last evaluation alone (every split of it; its engines were compiled before)
};

class Trainer {
 public:
  // Compiles the train form's training graph (with spec's optimizer) bound to spec.batch, and initialises the
  // parameters and state with spec.seed. `threads` runs each JIT step on a thread team (0: chosen by the
  // step's size, codegen::chooseThreads); evaluation and sampling stay on one thread.
  Trainer(const Model& m, const TrainSpec& spec, EngineKind kind, int threads = 1);
  // Replaces the parameters and state (e.g. --init-from); shape mismatches are errors naming `what`. Returns
  // the optimizer states `w` lacked (they start from zero).
  std::vector<std::string> setWeights(const WeightMap& w, const std::string& what);
  WeightMap weights();
  Engine& engine() { return *engine_; }
  const Model& model() const { return model_; }  // the train form: its ids are the engine graph's
  // Compiles a second variant of the step with the statistics nodes of instrument/ appended, run at every probe
  // step on a copy of the state before the plain step, whose update is the one kept (the plain step's code is
  // left exactly as it was).
  void enableProbes(const InstrumentOptions& options);
  const ProbePlan* probePlan() const { return probeEngine_ ? &probePlan_ : nullptr; }
  const TrainingGraph& trainingGraph() const { return tg_; }

  // Train and dev (and test when `test`) losses of the current weights.
  SplitLosses evaluate(const Dataset& d, bool test);
  // spec.steps steps on d's training split; evaluates at eval_every and at the end. Stops at the first
  // non-finite loss or parameter, or loss above divergenceLimit(), and reports it in the result instead of
  // throwing.
  // `firstStep` > 0 resumes a run that had done that many steps (its weights and state set by setWeights):
  // the schedule and the minibatch stream continue where it stopped, so the losses are the uninterrupted run's.
  TrainResult train(const Dataset& d, const std::vector<TrainObserver*>& observers, bool test = false,
                    int64_t firstStep = 0);

 private:
  // Which persistent tensors are non-finite after the step: "parameter 'W1' (line 3) has non-finite values",
  // or "" when none; `statesOnly` when every parameter is finite and some state is not.
  struct NonFinite {
    std::string text;
    bool statesOnly = false;
  };
  NonFinite findNonFinite();
  Engine* probeCopy(bool probe);  // at a probe step, the probe engine holding the state of the plain one
  Model model_;  // the train form (specializeMode): node ids below refer to its graph
  TrainSpec spec_;
  EngineKind kind_;
  int threads_ = 1;  // the JIT step's thread team (0: chosen by size)
  TrainingGraph tg_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Engine> probeEngine_;  // the instrumented step, when enabled
  ProbePlan probePlan_;
  std::optional<TorchGenerator> torchAfterInit_;  // generator = torch: where the initialisation left it
  std::string start_ = "the initialisation";     // where the starting weights came from (setWeights)
  Evaluator eval_;
};

}  // namespace netc
