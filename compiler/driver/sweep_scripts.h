// The scripts `netc sweep --emit` writes: sweep.sbatch (a Slurm job array) and commands.txt (one `netc run`
// line per run, for GNU parallel or any scheduler). Each lists only the runs still to do. Every word that
// reaches them (paths, --set values, the netc executable) goes through shellQuote, and makePlan has already
// refused the values no quoting can carry (newlines, control bytes, a leading '-').
#pragma once
#include <string>
#include <vector>

#include "driver/sweep_plan.h"

namespace netc::driver {

// The job array: one task per index in `todo` (plan run indices), each `exec`ing one `netc run`.
std::string slurmScript(const SweepPlan& p, const std::string& exe, const std::vector<int>& todo);

// One `netc run` command line per index in `todo`.
std::string commandLines(const SweepPlan& p, const std::string& exe, const std::vector<int>& todo);

// Slurm's --array list for `todo` (ascending): "0-3", "0,2,5-7".
std::string arrayRanges(const std::vector<int>& todo);

// A value in an #SBATCH line, as sbatch reads it back: sbatch splits these lines at spaces itself, with its
// own rules (a double-quoted stretch is one word, a backslash takes the next character literally, an
// unescaped '#' starts a comment), not a shell's.
std::string sbatchQuote(const std::string& s);

// Refuses (usage error) a sweep folder that Slurm cannot take in --output: a backslash there turns off the
// %a pattern that names each task's log.
void checkSlurmFolder(const std::string& folder);

}  // namespace netc::driver
