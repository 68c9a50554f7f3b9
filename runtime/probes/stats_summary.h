// The terminal summary of one collection of probe statistics: a compact table per probe, one-line text
// histograms, the parameters' gradient and update ratios, then the diagnoses in plain words.
#pragma once
#include <string>
#include <vector>

#include "runtime/probes/diagnose.h"
#include "runtime/probes/stats.h"

namespace netc {

// A histogram as one line of block characters (one per bin, height by count, blank for empty bins).
std::string sparkline(const Histogram& h);

// `title` heads the block, e.g. "step 0 (initialisation)".
std::string formatSummary(const StatsSnapshot& s, const std::vector<Finding>& findings, const std::string& title);

}  // namespace netc
