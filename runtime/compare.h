// compare.html: runs side by side, from any run folders (a sweep's, or runs made on other machines and copied
// together). One self-contained page (inline SVG drawn by its script from embedded JSON; no network):
//   a table of each run's settings (its --set overrides), status, initial and final train/dev losses;
//   the loss curves overlaid (minibatch loss averaged into buckets, dev evaluations as points);
//   per-layer output std and saturated share at step 0 and at the end, a line per run (from stats.jsonl);
//   update:data over time per run (log10, rank-2 parameters, the lecture's -3 guide);
//   the diagnoses of each run at step 0 and at the end, in columns.
// As report.html does, the script sets data-figures-drawn on <body> to data-figures-expected when done
// (data-errors when a figure failed), which tests/compare_test.cpp reads back in headless Chromium.
#pragma once
#include <string>
#include <vector>

#include "runtime/atomic_file.h"

namespace netc {

// Run folders among `dirs`: a folder with config.json is a run; any other folder contributes the run folders
// directly inside it (a sweep folder), in name order. Throws naming a folder that holds none.
std::vector<std::string> findRunFolders(const std::vector<std::string>& dirs);

// Writes the page atomically (`kind`: a path the user named with --out, or one netc chose; see
// runtime/atomic_file.h); returns how many figures it draws.
int writeComparePage(const std::vector<std::string>& runDirs, const std::string& path, OutputPath kind = OutputPath::Own);

}  // namespace netc
