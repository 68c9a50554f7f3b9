// Probes of a loop body over time. An unrolled `for t in a..b` loop names each step's values h@t0, h@t1, ...,
// so a 16-step GRU has 16 probes of each gate: as separate layers they would read as a 48-layer stack.
// foldTimeSteps gathers each value's steps into one record (ProbeStats::timeSteps) pooled over all of them, at
// the place of its first step; the summary, the diagnoses, the report and the comparison page all see that
// record, and the per-step numbers (saturation and gradient per time step) stay inside it.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/probes/stats.h"

namespace netc {

// "h@t12" -> ("h", 12); nullopt for a name without a step suffix.
std::optional<std::pair<std::string, int64_t>> splitStepName(std::string_view name);

// Folds every run of probes base@tA, base@tA+1, ..., base@tB (two or more consecutive steps of one kind and
// width) into one record named "base@tA..B". Probes already folded, and every other probe, are left as they are.
void foldTimeSteps(StatsSnapshot& s);

// One record of several equal-sized ones: means, pooled spreads (from each step's mean and std), summed
// histograms, averaged shares; units dead at every step; no dead-neuron image. Exposed for the tests.
ProbeStats poolSteps(const std::string& name, int64_t firstStep, std::vector<ProbeStats> steps);

}  // namespace netc
