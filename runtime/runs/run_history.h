// A resumed run keeps its history. `netc run MODEL --init-from DIR/weights.safetensors --resume --out DIR`
// continues the run in DIR after the step its weights were saved at, and DIR then describes one run from
// step 0: what the earlier run wrote up to that step is kept, what it wrote after it (a run killed some steps
// after its last checkpoint) is dropped, and the resumed run appends its own lines:
//   losses.csv   the steps before `step` (the resumed run writes step `step` on)
//   evals.csv    the evaluations after at most `step` updates (fewer when the resumed run evaluates again
//                after `step`: a finished run resumed has no step left and evaluates its weights)
//   stats.jsonl  the collections at steps before `step` (the resumed run probes its first step)
// Each is cut after its last kept line (one ftruncate: a kill leaves the earlier file or the trimmed one), a
// partial last line included, so an appended line never continues a partial one. Only the dropped end is read:
// resuming a run of 10^9 steps does not read its whole losses.csv here. result.json, samples.txt and report.html, written at the
// earlier run's end, are removed: they would describe a finished run while this one goes on; the resumed
// run writes them again at its end (report.html from the whole history, see StatsObserver).
// weights.safetensors is never touched here: the resumed run replaces it, by rename, at its first checkpoint.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/probes/stats.h"

namespace netc {

// losses.csv must hold the line of every step before `step` (a checkpoint is saved only after they are on
// disk): one cut short (a torn or missing last line before `step`, the file halved or gone) is refused before
// anything is written, naming the file and its last kept line; continuing it would leave a hole.
// Trims the history in the run folder `dir` to the run's first `step` steps (see above); `evaluatesAtStep`:
// the resumed run evaluates after `step` updates, so the earlier run's evaluation there goes. Throws naming a
// file that cannot be read or written, that is not a regular file, or a losses.csv cut short.
void keepHistoryBefore(const std::string& dir, int64_t step, bool evaluatesAtStep = false);

// What the kept history says, for the report of the resumed run: (step, minibatch loss) from losses.csv and
// (updates done, dev loss) from evals.csv, lines that do not parse left out; and each stats.jsonl record in
// turn (a bad one is an error naming its line). Read as streams: memory does not grow with the file.
std::vector<std::pair<int64_t, double>> readLossHistory(const std::string& dir);
std::vector<std::pair<int64_t, double>> readDevHistory(const std::string& dir);
void forEachStatsRecord(const std::string& dir, const std::function<void(StatsSnapshot)>& f);

}  // namespace netc
