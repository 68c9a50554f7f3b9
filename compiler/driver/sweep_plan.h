// The runs of a sweep: the grid of `--set NAME=V1,V2,...` values, each run's name, folder and `netc run`
// command line. Shared by `netc sweep` (local, parallel), `--emit slurm` and `--emit commands`, so a run made
// anywhere from the same grid has the same folder name and the same command line.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace netc::driver {

struct SweepOptions {
  std::string model, data, out, emit;
  std::vector<std::string> sets;  // NAME=V1,V2,...
  std::vector<std::string> runs;  // --run "NAME=V;NAME=V": listed combinations (each crossed with the --set grid)
  std::optional<int64_t> steps, batch;
  std::optional<uint64_t> seed;
  std::string engine = "jit";
  bool noStats = false, force = false, quiet = false;
  int jobs = 0;  // 0: one per core
};

struct SweepRun {
  int index = 0;
  std::string name;                  // "003-gain=3-lr=0.05": the folder's name in the sweep folder
  std::vector<std::string> sets;     // NAME=VALUE, one per axis (and the fixed ones)
  std::vector<std::string> args;     // the `netc run` arguments after the executable
};

struct SweepPlan {
  std::string model;                 // absolute
  std::string folder;                // absolute
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;  // NAME -> values, in --set order
  std::vector<std::vector<std::string>> listed;  // --run combinations, NAME=VALUE each (one empty one without)
  std::vector<SweepRun> runs;
  nlohmann::json identity() const;   // what a restart must match: model, axes, options
  nlohmann::json options;            // steps, batch, seed, data, engine, no_stats
};

// Splits "0.5,1,5/3,3" at the commas outside brackets and parentheses.
std::vector<std::string> splitValues(const std::string& values);
SweepPlan makePlan(const SweepOptions& o, const std::string& folder);
// The one quoting of a word that reaches a script (sweep.sbatch, commands.txt, sweep.json's "command"): bare
// when it holds only characters no shell treats specially, else in POSIX single quotes, where nothing is
// special but the quote itself (written '\''). Bash, sh and GNU parallel's shell read it back unchanged.
std::string shellQuote(const std::string& s);
std::string shellLine(const std::vector<std::string>& argv);
// What makes `value` unsafe in a script line even when quoted, or "" when nothing does: a newline or other
// control byte (it ends a comment, an #SBATCH line or a GNU parallel command line), or a leading '-' (read as
// an option).
std::string scriptValueProblem(const std::string& value);
// Refuses (usage error, exit 2) a value that cannot reach a script safely, naming where it came from (`what`:
// "--out", "the model path") and the byte.
void checkScriptValue(const std::string& what, const std::string& value);

}  // namespace netc::driver
