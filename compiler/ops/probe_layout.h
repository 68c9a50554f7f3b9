// The layout of the flat statistics vectors the probe ops write (ops/*_stats.cpp) and the runtime
// decodes (runtime/probes/stats.cpp). One place, so writer and reader cannot drift apart; docs/stats.md shows it.
#pragma once
#include <cstdint>

namespace netc::probe {

// The lecture's saturation test, `abs(h) > 0.99`: fixed, because "dead" and the dead-neuron image are
// defined by it. The share threshold (train.saturation, default 0.97) is the tanh_stats attribute.
constexpr double kDeadThreshold = 0.99;

// Fixed-bin histograms, so collections at different steps share their bins and can be compared.
constexpr int kBins = 50;
constexpr double kOutLo = -1, kOutHi = 1;    // tanh outputs: [-1, 1] holds every value
constexpr double kPreLo = -10, kPreHi = 10;  // pre-activations: wide enough for randn-initialised layers
// value_stats: the default range written into Attrs::ints = {lo, hi} by the instrumentation pass.
constexpr int64_t kValueLo = -20, kValueHi = 20;

// The activation layers the probes understand, each with its flat region (where the local gradient vanishes):
//   tanh     outputs in [-1, 1]; saturated |t| > threshold; flat |t| > 0.99 (the lecture's test)
//   sigmoid  outputs in [0, 1];  saturated s < 1 - threshold or s > threshold; flat s < 0.01 or s > 0.99
//   relu     outputs in [0, inf); saturated and flat: exactly 0 (no gradient flows back through it)
// A unit is dead when it is flat for every row (example) of the batch.
enum class Activation : int64_t { Tanh = 0, Sigmoid = 1, Relu = 2 };
inline const char* activationName(Activation a) {
  return a == Activation::Tanh ? "tanh" : a == Activation::Sigmoid ? "sigmoid" : "relu";
}
constexpr double kFlatMargin = 0.01;  // sigmoid: flat within 0.01 of 0 or 1, as tanh within 0.01 of -1 or 1
// Output histogram ranges: tanh [-1, 1] and sigmoid [0, 1] hold every value (the top edge folds into the last
// bin); relu's [0, 10) counts larger outputs as over.
constexpr double kReluOutHi = 10;
inline double outLo(Activation a) { return a == Activation::Tanh ? -1 : 0; }
inline double outHi(Activation a) { return a == Activation::Relu ? kReluOutHi : 1; }
// Which side of the flat region v is in: -1 low, +1 high, 0 none (NaN is in none).
inline int flatSide(Activation a, double v) {
  switch (a) {
    case Activation::Tanh: return v > kDeadThreshold ? 1 : v < -kDeadThreshold ? -1 : 0;
    case Activation::Sigmoid: return v > 1 - kFlatMargin ? 1 : v < kFlatMargin ? -1 : 0;
    case Activation::Relu: return v == 0 ? -1 : 0;
  }
  return 0;
}
inline int saturatedSide(Activation a, double v, double threshold) {
  switch (a) {
    case Activation::Tanh: return v > threshold ? 1 : v < -threshold ? -1 : 0;
    case Activation::Sigmoid: return v > threshold ? 1 : v < 1 - threshold ? -1 : 0;
    case Activation::Relu: return v == 0 ? -1 : 0;
  }
  return 0;
}

// layer_stats(pre, t) with t of shape [rows, units] (every leading axis counts as rows), Attrs::ints = {activation},
// Attrs::value = the saturation threshold:
namespace layer {
enum : int64_t {
  PreMean, PreStd,     // of the pre-activations, unbiased std (n - 1) as torch.std()
  OutMean, OutStd,     // of the outputs
  SaturatedLow,        // count saturated on the low side (tanh t < -threshold, sigmoid s < 1 - threshold, relu 0)
  SaturatedHigh,       // count saturated on the high side (tanh t > threshold, sigmoid s > threshold)
  Flat,                // count in the flat region (tanh |t| > 0.99, sigmoid within 0.01 of 0 or 1, relu 0)
  DeadCount,           // units flat for every row
  OutUnder,            // outputs below the histogram range (NaN included)
  OutHist,             // kBins counts over [outLo, outHi]
  OutOver = OutHist + kBins,  // outputs at or above outHi (relu only: tanh and sigmoid fold it into the last bin)
  PreUnder,            // count below kPreLo (NaN included)
  PreHist,             // kBins counts over [kPreLo, kPreHi)
  PreOver = PreHist + kBins,  // count at or above kPreHi
  Dead,                // `units` flags: 1 where the unit is dead
};
constexpr int64_t size(int64_t units) { return Dead + units; }
}  // namespace layer

// grad_stats(g): the gradient of the loss with respect to a probed value or a parameter. Gradients are small
// and their scale differs by orders of magnitude between layers and over training, so their histogram is of
// log10|g| over fixed decades: [kGradLo, kGradHi) in kBins bins of 0.2 decades. Fixed bins keep every layer and
// every step comparable bin for bin; the sign is left to the mean (gradients are near symmetric about 0).
constexpr double kGradLo = -9, kGradHi = 1;
namespace grad {
enum : int64_t {
  Mean, Std,           // of g, unbiased std as torch.std()
  Zero,                // exactly 0 (a dead ReLU's inputs, a masked position)
  Under,               // 0 < |g| < 10^kGradLo, and NaN
  Hist,                // kBins counts of log10|g| over [kGradLo, kGradHi)
  Over = Hist + kBins, // |g| >= 10^kGradHi (inf included)
  Size,
};
}  // namespace grad

// value_stats(x) with Attrs::ints = {lo, hi}:
namespace value {
enum : int64_t {
  Mean, Std, Min, Max,
  Under,               // count below lo
  Hist,                // kBins counts over [lo, hi)
  Over = Hist + kBins, // count at or above hi
  Size,
};
}  // namespace value

// param_stats(p, dp, lr), p being the parameter after this step's update (as the lecture measures it):
namespace param {
enum : int64_t {
  GradMean, GradStd,
  DataMean, DataStd,
  GradToData,          // std(dp) / std(p)
  UpdateToData,        // log10(std(lr * dp) / std(p)); the lecture's rule of thumb: about -3
  Size,
};
}  // namespace param

// The bin of v among kBins equal bins over [lo, hi): -1 below, kBins at or above hi.
inline int64_t binOf(double v, double lo, double hi) {
  if (!(v >= lo)) return -1;  // NaN counts as below: it is never silently dropped
  if (v >= hi) return kBins;
  int64_t b = static_cast<int64_t>((v - lo) / (hi - lo) * kBins);
  return b < kBins ? b : kBins - 1;  // rounding at the top edge
}

}  // namespace netc::probe
