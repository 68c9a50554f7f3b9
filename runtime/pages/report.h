// report.html: one self-contained page per run (inline SVG, canvas, CSS and JS; no server, no network) with
// the figures the makemore lecture draws while it trains, each with a short explanation:
//   the loss curve (train minibatch and dev); the lecture's four figures over every layer and parameter at once
//   (1. the activation layers' output histograms, 2. the histograms of log10|d loss / d output| at those layers,
//   3. the rank-2 parameters' weight-gradient histograms, at step 0 or the last collection; 4. the update-to-data
//   ratios over time, rank-2 parameters by default); then per probe its cards: for a tanh, relu or sigmoid
//   layer the output and pre-activation histograms at step 0 and at the end, its saturation share over time
//   and the dead-neuron image (examples x units, white where the output is in the flat region); for a value
//   (logits, BatchNorm outputs) its histogram.
// When its script has drawn every figure it sets data-figures-drawn on <body> to the count in
// data-figures-expected (and data-errors when a figure failed), which the headless-browser test reads back.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/probes/diagnose.h"
#include "runtime/probes/stats.h"

namespace netc {

struct ReportData {
  std::string model;                               // the model's name, for the title
  int64_t vocab = 0;                               // V: the loss curve marks ln V, the uniform guess
  std::vector<std::pair<int64_t, double>> train;   // (step, minibatch loss), every step or a subset
  std::vector<std::pair<int64_t, double>> dev;     // (updates done, full dev-split loss)
  std::vector<StatsSnapshot> snapshots;            // every collection, in step order
  std::vector<Finding> initialFindings, finalFindings;
};

// The page as text. The training curve is averaged into at most `maxLossPoints` buckets.
std::string renderReport(const ReportData& d, size_t maxLossPoints = 1000);
// The number of figures the page draws for `d` (what data-figures-expected says).
int reportFigureCount(const ReportData& d);
// Writes the page atomically (a temporary file renamed over `path`); throws naming the path on failure.
void writeReport(const std::string& path, const ReportData& d);

// The HTML/CSS/JS around the data (runtime/pages/report_page.cpp): `@DATA@` marks where the JSON goes.
extern const char* const kReportPage;

}  // namespace netc
