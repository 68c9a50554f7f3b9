// The layout of the flat statistics vectors the probe ops write (ops/probe_stats.cpp) and the runtime
// decodes (runtime/stats.cpp). One place, so writer and reader cannot drift apart; docs/stats.md shows it.
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

// tanh_stats(pre, t) with t of shape [rows, units] (every leading axis counts as rows):
namespace tanh {
enum : int64_t {
  PreMean, PreStd,     // of the pre-activations, unbiased std (n - 1) as torch.std()
  OutMean, OutStd,     // of the outputs
  Saturated,           // count of |t| > threshold (the attribute)
  Beyond99,            // count of |t| > 0.99
  DeadCount,           // units with |t| > 0.99 for every row
  OutHist,             // kBins counts over [kOutLo, kOutHi]; 1.0 falls into the last bin
  PreUnder = OutHist + kBins,  // count below kPreLo
  PreHist,             // kBins counts over [kPreLo, kPreHi)
  PreOver = PreHist + kBins,   // count at or above kPreHi
  Dead,                // `units` flags: 1 where the unit is dead
};
constexpr int64_t size(int64_t units) { return Dead + units; }
}  // namespace tanh

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
