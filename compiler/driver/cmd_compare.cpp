// netc compare RUN_OR_SWEEP_DIR...: compare.html from run folders made anywhere (runtime/pages/compare.h).
#include <filesystem>
#include <fmt/format.h>

#include "driver/command.h"
#include "runtime/files/atomic_file.h"
#include "runtime/pages/compare.h"
#include "support/diag.h"

namespace netc::driver {

void registerCompare(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("compare", "one page comparing run folders (or sweep folders): compare.html");
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  cmd->add_option("dirs", *dirs, "run folders, or folders holding them (a sweep folder)")->required();
  cmd->add_option("--out", *out, "the page (default: DIR/compare.html for one folder, else ./compare.html)");
  cmd->callback([&action, dirs, out] {
    action = [dirs, out] {
      std::vector<std::string> runs = findRunFolders(*dirs);
      std::string page = !out->empty() ? *out
                         : dirs->size() == 1 ? (std::filesystem::path((*dirs)[0]) / "compare.html").string()
                                             : std::string("compare.html");
      refuseToOverwriteInput("--out", page, compareInputs(runs));
      // --out names a path (a device or a FIFO is written in place); the default is a file netc names.
      const OutputPath kind = out->empty() ? OutputPath::Own : OutputPath::Named;
      checkOutputPath(page, kind);  // before the run folders are read
      const ComparePage written = writeComparePage(runs, page, kind);
      for (const std::string& why : written.leftOut) fmt::print(stderr, "netc: warning: {}\n", why);  // made printable where it was written
      fmt::print("compared {} runs: {}{}\n", written.runs, printable(page),
                 written.leftOut.empty() ? "" : fmt::format(" ({} left out: see the warnings)", written.leftOut.size()));
      return 0;
    };
  });
}

}  // namespace netc::driver
