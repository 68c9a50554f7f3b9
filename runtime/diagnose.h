// Diagnoses in plain words from one collection of probe statistics: what the makemore lecture teaches people to
// look for (a confidently wrong start, saturated tanh layers, dead units, update-to-data ratios far from 1e-3),
// each with its cause and the fix, naming the parameters involved.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "instrument/instrument.h"
#include "runtime/stats.h"

namespace netc {

struct Finding {
  enum Level { Good, Warning } level = Good;
  std::string topic;  // "initial loss", "h", "update ratios": what the finding is about
  std::string text;
};

struct DiagnosisContext {
  int64_t vocab = 0;  // V: the uniform guess has loss ln V (3.2958 for 27)
  std::vector<std::string> outputParams;                       // ProbePlan::outputParams
  std::map<std::string, std::vector<std::string>> layerParams;  // tanh probe -> ProbeEntry::layerParams
};
DiagnosisContext diagnosisContext(const ProbePlan& plan, int64_t vocab);

// Thresholds, exposed for the documentation and the tests.
constexpr double kConfidentlyWrong = 1.5;  // initial loss above 1.5 x ln V
constexpr double kSomewhatHigh = 1.1;      // ... above 1.1 x ln V: worth a note
// Share of |t| > saturation (0.97) that makes a layer "saturated". Not lower: the lecture's own Kaiming-initialised
// first layer (randn embeddings into gain 5/3 / sqrt(fan_in)) sits near 20% and is the healthy reference.
constexpr double kSaturatedShare = 0.25;
constexpr double kHeavilySaturated = 0.50;
constexpr double kUpdateRatioLow = -4.0, kUpdateRatioHigh = -2.0;  // log10(update/data) around the ~-3 rule

// `initial`: the collection at step 0, when the loss is compared with the uniform baseline. Update-to-data ratios
// are judged only later: after one step, a parameter started at zeros or shrunk on purpose (an output layer
// scaled by 0.01) has a huge ratio that says nothing about the learning rate.
std::vector<Finding> diagnose(const StatsSnapshot& s, const DiagnosisContext& c, bool initial);

}  // namespace netc
