// Diagnoses in plain words from the probe statistics: what the makemore lecture teaches people to look for
// (a confidently wrong start, saturated or dead activation layers, a stack whose activations or gradients shrink
// or grow with depth, update-to-data ratios far from 1e-3), each said once, with the numbers, the cause and the
// fix, naming the layers and parameters involved. docs/stats.md lists them with their thresholds.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "instrument/instrument.h"
#include "runtime/probes/stats.h"

namespace netc {

struct Finding {
  enum Level { Good, Warning } level = Good;
  std::string topic;  // "initial loss", "h", "stack", "update ratios": what the finding is about
  std::string text;
};

struct DiagnosisContext {
  int64_t vocab = 0;  // V: the uniform guess has loss ln V (3.2958 for 27)
  std::vector<std::string> outputParams;                       // ProbePlan::outputParams
  std::map<std::string, std::vector<std::string>> layerParams;  // layer probe -> ProbeEntry::layerParams
  bool stepIsLrTimesGrad = true;  // plain sgd: the update ratios are judged (ProbePlan::stepIsLrTimesGrad)
};
DiagnosisContext diagnosisContext(const ProbePlan& plan, int64_t vocab);

// Thresholds, exposed for the documentation and the tests.
constexpr double kConfidentlyWrong = 1.5;  // initial loss above 1.5 x ln V
constexpr double kSomewhatHigh = 1.1;      // ... above 1.1 x ln V: worth a note
// Share saturated (tanh |t| > 0.97) that makes a layer "saturated". Not lower: the lecture's own Kaiming-initialised
// first layer (randn embeddings into gain 5/3 / sqrt(fan_in)) sits near 20% and is the healthy reference.
constexpr double kSaturatedShare = 0.25;
constexpr double kHeavilySaturated = 0.50;
// A stack (two or more layers of one kind, in graph order) whose output std changes by this factor per layer on
// average (the geometric mean of std[i+1] / std[i]) shrinks or grows with depth. The lecture's deep tanh net
// at gain 5/3 keeps ~0.97 per layer; gain 1 shrinks by ~0.85, gain 0.5 by ~0.5; a linear stack at 5/3 grows 1.67x.
constexpr double kShrinkPerLayer = 0.9, kGrowPerLayer = 1.15;
// A pre-activation std below this in a layer after the first of a shrinking stack: the signal is collapsing.
constexpr double kSmallPreStd = 0.5;
// Gradients at the first layer of a stack against its last: outside [1/kGradDepthRatio, kGradDepthRatio] they
// vanish or explode with depth.
constexpr double kGradDepthRatio = 4;
// At initialisation, an output-layer weight whose grad:data ratio is this many times the median of the other
// weights' is the lecture's outlier of a layer scaled down on purpose.
constexpr double kGradToDataOutlier = 3;
// A loop value whose gradient at its first step is below 1/kVanishThroughTime of the one at its last: the
// gradients vanish through time (two orders of magnitude: "orders of magnitude below").
constexpr double kVanishThroughTime = 100;
constexpr double kUpdateRatioLow = -4.0, kUpdateRatioHigh = -2.0;  // log10(update/data) around the ~-3 rule

// `initial`: the collection at step 0, when the loss is compared with the uniform baseline. Update-to-data ratios
// are judged only later: after one step, a parameter started at zeros or shrunk on purpose (an output layer
// scaled by 0.01) has a huge ratio that says nothing about the learning rate. `first`, for a later collection:
// the step-0 one, to say how training changed the layers.
std::vector<Finding> diagnose(const StatsSnapshot& s, const DiagnosisContext& c, bool initial,
                              const StatsSnapshot* first = nullptr);

}  // namespace netc
