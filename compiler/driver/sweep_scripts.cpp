#include "driver/sweep_scripts.h"

#include <filesystem>
#include <fmt/format.h>

#include "support/diag.h"

namespace netc::driver {

namespace fs = std::filesystem;

std::string arrayRanges(const std::vector<int>& todo) {
  std::string out;
  for (size_t i = 0; i < todo.size();) {
    size_t j = i;
    while (j + 1 < todo.size() && todo[j + 1] == todo[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + (j == i ? std::to_string(todo[i]) : fmt::format("{}-{}", todo[i], todo[j]));
    i = j + 1;
  }
  return out;
}

std::string sbatchQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"' || c == '#') out += '\\';
    out += c;
  }
  return out + "\"";
}

void checkSlurmFolder(const std::string& folder) {
  if (folder.find('\\') != std::string::npos)
    usageFail(fmt::format("--out '{}' contains a backslash: Slurm would not expand %a (the task number) in the "
                          "#SBATCH --output path under it; choose a folder without one for --emit slurm",
                          printable(folder)));
}

std::string slurmScript(const SweepPlan& p, const std::string& exe, const std::vector<int>& todo) {
  std::string logPattern = (fs::path(p.folder) / "logs").string() + "/";
  // '%' starts a Slurm filename pattern; "%%" is a literal one.
  std::string literalFolder;
  for (char c : logPattern) literalFolder += c == '%' ? std::string("%%") : std::string(1, c);
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# netc sweep of {}: {} runs, {} to do, one Slurm array task each. Submit with: sbatch {}\n",
                   shellQuote(p.model), p.runs.size(), todo.size(), shellQuote((fs::path(p.folder) / "sweep.sbatch").string()));
  s += "# Each task is one `netc run` into its folder under the sweep folder. To finish the sweep after some tasks\n";
  s += "# failed, run the same netc sweep --emit slurm again: the new script lists only the runs still to do.\n";
  s += "# Afterwards: netc compare " + shellQuote(p.folder) + "\n";
  // The job name is shown by squeue; the folder name's characters are made plain rather than quoted.
  std::string job = "netc-";
  for (char c : fs::path(p.model).stem().string())
    job += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  s += "#SBATCH --job-name=" + job + "\n";
  s += "#SBATCH --array=" + arrayRanges(todo) + "\n";
  s += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n";
  s += "#SBATCH --output=" + sbatchQuote(literalFolder + "%a.log") + "\n";
  s += "set -euo pipefail\n";
  // NETC from the environment, else the netc that wrote this script: single-quoted, so nothing in the path
  // it is installed under runs when a task starts.
  s += "NETC=\"${NETC:-}\"\n";
  s += "if [ -z \"$NETC\" ]; then NETC=" + shellQuote(exe) + "; fi\n";
  s += ": \"${SLURM_ARRAY_TASK_ID:?not set: submit with sbatch, or set it to run one task by hand}\"\n";
  s += "case \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (int i : todo) {
    const SweepRun& r = p.runs[static_cast<size_t>(i)];
    s += fmt::format("  {}) ARGS=({}) ;;\n", r.index, shellLine(r.args));
  }
  s += "  *) echo \"netc sweep: no task $SLURM_ARRAY_TASK_ID in this script (" + arrayRanges(todo) +
       ")\" >&2; exit 2 ;;\nesac\n";
  s += "exec \"$NETC\" \"${ARGS[@]}\"\n";
  return s;
}

std::string commandLines(const SweepPlan& p, const std::string& exe, const std::vector<int>& todo) {
  std::string lines;
  for (int i : todo) {
    std::vector<std::string> a = {exe};
    const SweepRun& r = p.runs[static_cast<size_t>(i)];
    a.insert(a.end(), r.args.begin(), r.args.end());
    lines += shellLine(a) + "\n";
  }
  return lines;
}

}  // namespace netc::driver
