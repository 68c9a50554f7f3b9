// Probe statistics as the runtime sees them: the flat vectors of the instrumented graph's stats nodes
// decoded into structs, and their JSON form (one line per collection in the run folder's stats.jsonl;
// the schema is docs/stats.md).
#pragma once
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "instrument/instrument.h"
#include "interp/engine.h"
#include "runtime/files/atomic_file.h"

namespace netc {

// Counts over fixed bins: [lo, hi) split into counts.size() equal bins, plus what fell outside.
struct Histogram {
  double lo = 0, hi = 0;
  std::vector<double> counts;
  double under = 0, over = 0;
};

// The gradient of the loss with respect to a value or a parameter (grad_stats). Its histogram is of log10|g|
// (hist.lo, hist.hi in decades); exact zeros are counted apart.
struct GradStats {
  bool present = false;  // false: the loss does not depend on the value (or it is not a rank-2 parameter)
  double mean = 0, std = 0;
  double zeroShare = 0;  // share of exact zeros
  Histogram hist;        // log10|g|; under: 0 < |g| < 10^lo (and NaN); over: |g| >= 10^hi
  // Some gradient reached the value: a finite, nonzero spread (a loop step past the end of every word gets none).
  bool flows() const { return present && std::isfinite(std) && std > 0; }
};

struct ProbeStats {
  std::string name;
  std::string kind = "value";  // "tanh", "sigmoid", "relu" (activation layers) or "value"
  bool layer = false;          // an activation layer: pre-activations, saturation, dead units
  bool logits = false;         // the model's logits
  ProbeSpec spec;
  int64_t rows = 0, units = 0;      // layer: examples x units; value: units = element count
  double mean = 0, std = 0;         // of the values (layer: the outputs)
  double min = 0, max = 0;          // value probes only
  double preMean = 0, preStd = 0;   // layer: the pre-activations
  double saturation = 0;            // layer: the threshold of the saturated shares
  // layer: share saturated (tanh |t| > saturation; sigmoid s < 1 - saturation or s > saturation; relu exactly 0),
  // and its low and high sides (relu: all low).
  double saturatedShare = 0, saturatedLowShare = 0, saturatedHighShare = 0;
  // layer: share in the flat region (tanh |t| > 0.99, sigmoid within 0.01 of 0 or 1, relu exactly 0).
  double flatShare = 0;
  std::vector<int64_t> deadUnits;   // layer: units flat for every example, ascending
  Histogram hist;                   // the values (layer: outputs over the activation's range)
  Histogram preHist;                // layer: pre-activations
  // layer: the dead-neuron image, one string per example; each hex digit holds 4 units, the first unit in
  // its highest bit, so the string read as bits left to right is units 0, 1, 2, ... (1: flat).
  std::vector<std::string> mask;
  GradStats grad;                   // d loss / d value
  // Where the probed value was made (Node::scope, graph/scope_path.h): empty at the top level of the file, a
  // loop step for a value of a loop body. A value named in a loop body has one probe per step (h@t0, h@t1,
  // ...); foldTimeSteps (runtime/probes/time_steps.h) folds them, by their scopes, into one record over all the steps:
  // `name` is "h@t0..15", `scope` the path around the loop, the numbers above are pooled over the steps, and
  // each step's own record is in timeSteps, t = firstStep + index. Empty for other probes.
  ScopePath scope;
  int64_t firstStep = 0;
  std::vector<ProbeStats> timeSteps;
  bool series() const { return !timeSteps.empty(); }
};

struct ParamStats {
  std::string name;
  Shape shape;
  ScopePath scope;                   // the parameter's (Node::scope): empty for the file's own, a block's once blocks exist
  double initGain = 0;               // randn * s of rank 2: s * sqrt(fan_in); NaN otherwise (ParamProbe)
  bool fanInScaled = false;          // initGain in [0.3, 3]
  double gradMean = 0, gradStd = 0;
  double dataMean = 0, dataStd = 0;  // the parameter after this step's update
  double gradToData = 0;             // std(grad) / std(data)
  double updateToData = 0;           // log10(std(lr * grad) / std(data)); about -3 is healthy
  GradStats grad;                    // rank 2: the weight gradient's histogram (grad.present)
};

// One collection: everything the probes measured at one step.
struct StatsSnapshot {
  int64_t step = 0;
  double loss = 0, lr = 0;
  std::vector<ProbeStats> probes;
  std::vector<ParamStats> params;
  const ProbeStats* probe(std::string_view name) const;
  const ParamStats* param(std::string_view name) const;
};

// Reads and decodes every stats node of `plan` from an engine that has just run the instrumented graph.
StatsSnapshot readStats(Engine& e, const ProbePlan& plan, int64_t step, double loss, double lr);

// The mask encoding above, both ways (bits: 0/1 per unit).
std::string encodeMaskRow(const double* bits, int64_t units);
std::vector<bool> decodeMaskRow(const std::string& hex, int64_t units);

// JSON with non-finite numbers as null (JSON has no inf/NaN); fromJson reads null back as NaN.
nlohmann::json toJson(const StatsSnapshot& s);
StatsSnapshot snapshotFromJson(const nlohmann::json& j);

// stats.jsonl: one JSON object per line, flushed per collection so a killed run keeps what it measured.
class StatsLog {
 public:
  // Empties the file, or appends to it (OpenMode::Keep, a resumed run); throws naming the path when it cannot write.
  explicit StatsLog(const std::string& path, OpenMode mode = OpenMode::Truncate);
  void append(const StatsSnapshot& s);         // throws naming the path when the write fails
  void close();                                // fsyncs; throws naming the path on failure
  const std::string& path() const { return out_.path(); }

 private:
  AppendFile out_;
};

// Reads a stats.jsonl back (tests, and re-rendering a report); a bad line is an error naming its number, a
// partial last line (a killed run) is left out.
std::vector<StatsSnapshot> readStatsLog(const std::string& path);

}  // namespace netc
