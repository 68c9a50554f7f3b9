// What the training loop tells the views that watch it (the progress bar, the run folder's files, the probe
// statistics): one interface, in its own header so that a view needs neither the trainer nor its engines.
#pragma once
#include <cstdint>
#include <limits>

#include "interp/engine.h"
#include "runtime/data/dataset.h"
#include "runtime/training/init.h"

namespace netc {

// Mean loss over each split; NaN where a split was not evaluated (the test split without --test, or empty).
struct SplitLosses {
  double loss[3] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN(),
                    std::numeric_limits<double>::quiet_NaN()};
  double operator[](Split s) const { return loss[static_cast<int>(s)]; }
};

// What the loop reports as it goes. The step counter is 0-based: step i uses learningRate(i), and its loss is
// the minibatch loss before its own update. `done` counts the updates applied so far (i + 1 after step i).
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  // Every step; must be cheap (no allocation), it runs 200000 times.
  virtual void onStep(int64_t step, double loss, double lr) {}
  // Step 0, every probe_every steps and the last step. The engine still holds this step's forward values
  // (its parameters already carry this step's update), so probes can read activations and gradients. With
  // enableProbes() it is the instrumented engine, holding the statistics nodes of probePlan() too.
  virtual void onProbe(Engine& e, int64_t step, double loss) {}
  // Full-split losses after `done` updates: at each eval_every and at the end.
  virtual void onEval(int64_t done, const SplitLosses& losses) {}
  // Weights after `done` updates (every log_every, at evals and at the end), passed on only once a loss
  // computed from them (the next minibatch's, or the evaluation's) was finite: the last good checkpoint, so a
  // diverged run still leaves good weights behind.
  virtual void onCheckpoint(int64_t done, const WeightMap& weights) {}
};

}  // namespace netc
