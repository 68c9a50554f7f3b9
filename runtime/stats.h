// Probe statistics as the runtime sees them: the flat vectors of the instrumented graph's stats nodes
// decoded into structs, and their JSON form (one line per collection in the run folder's stats.jsonl;
// the schema is docs/stats.md).
#pragma once
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "instrument/instrument.h"
#include "interp/engine.h"
#include "runtime/atomic_file.h"

namespace netc {

// Counts over fixed bins: [lo, hi) split into counts.size() equal bins, plus what fell outside.
struct Histogram {
  double lo = 0, hi = 0;
  std::vector<double> counts;
  double under = 0, over = 0;
};

struct ProbeStats {
  std::string name;
  bool tanh = false;    // a tanh layer (pre-activations, saturation, dead units) or any other value
  bool logits = false;  // the model's logits
  ProbeSpec spec;
  int64_t rows = 0, units = 0;      // tanh: examples x units; value: units = element count
  double mean = 0, std = 0;         // of the values (tanh: the outputs)
  double min = 0, max = 0;          // value probes only
  double preMean = 0, preStd = 0;   // tanh: the pre-activations
  double saturation = 0;            // tanh: the threshold of saturatedShare
  double saturatedShare = 0;        // tanh: share of |t| > saturation
  double beyond99Share = 0;         // tanh: share of |t| > 0.99
  std::vector<int64_t> deadUnits;   // tanh: units with |t| > 0.99 for every example, ascending
  Histogram hist;                   // the values (tanh: outputs over [-1, 1])
  Histogram preHist;                // tanh: pre-activations
  // tanh: the dead-neuron image, one string per example; each hex digit holds 4 units, the first unit in
  // its highest bit, so the string read as bits left to right is units 0, 1, 2, ... (1: |t| > 0.99).
  std::vector<std::string> mask;
};

struct ParamStats {
  std::string name;
  double gradMean = 0, gradStd = 0;
  double dataMean = 0, dataStd = 0;  // the parameter after this step's update
  double gradToData = 0;             // std(grad) / std(data)
  double updateToData = 0;           // log10(std(lr * grad) / std(data)); about -3 is healthy
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
  explicit StatsLog(const std::string& path);  // truncates; throws naming the path when it cannot write
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
