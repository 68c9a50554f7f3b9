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

#include "runtime/files/atomic_file.h"

namespace netc {

// Run folders among `dirs`: a folder with config.json is a run; any other folder contributes the run folders
// directly inside it (a sweep folder), in name order. Throws naming a folder that holds none.
std::vector<std::string> findRunFolders(const std::vector<std::string>& dirs);

// The files of a run folder that compare reads; each is read only when it is a regular file of bounded size
// (support/files.h, readRegularFile), so a FIFO or a link to a device is refused, never waited on.
inline constexpr const char* kRunFilesRead[] = {"config.json", "result.json", "losses.csv", "evals.csv", "stats.jsonl"};

// Every file writeComparePage reads from `runDirs`, for refuseToOverwriteInput (the page never replaces one).
std::vector<CommandInput> compareInputs(const std::vector<std::string>& runDirs);

struct ComparePage {
  int figures = 0;                   // how many figures the page draws
  size_t runs = 0;                   // the runs on it
  std::vector<std::string> leftOut;  // "left out run 'DIR': why", one per run that could not be read
};

// Writes the page atomically. A run whose files cannot be read (a damaged config.json or result.json, a
// field of the wrong type, a losses.csv that is not a regular file) is left out and said in `leftOut`, so
// one damaged run among many does not lose the page; when no run can be read, fails with every reason.
// Every name and value from the runs reaches the page as text (page_template.h). `kind`: a path the user
// named with --out, or one netc chose (runtime/files/atomic_file.h).
ComparePage writeComparePage(const std::vector<std::string>& runDirs, const std::string& path,
                             OutputPath kind = OutputPath::Own);

}  // namespace netc
