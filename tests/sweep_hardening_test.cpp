// Sweeps against hostile-but-fair input (issue 23): what reaches the emitted scripts runs nothing and arrives
// unchanged, what cannot is refused; a finished run is reused only when it records the configuration asked
// for; --emit keeps sweep.json's statuses; a stopped or killed sweep leaves no child training; the sweep's own
// files are never written through a planted link.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_netc.h"

using namespace netc::testing;
namespace fs = std::filesystem;

namespace {

const std::string kModel = "models/deep_tanh.net";
const std::string kDataFile = "tests/data/pseudo_words.txt";

nlohmann::json readJson(const fs::path& p) { return nlohmann::json::parse(readFile(p)); }

// netc with its arguments as separate words (each quoted here), run in `cwd`.
CommandResult netcIn(const fs::path& cwd, const std::string& exe, const std::vector<std::string>& args) {
  std::string line = shellQuote(exe);
  for (const auto& a : args) line.append(" ").append(shellQuote(a));
  return runShellIn(cwd, line);
}

// Every file named PWNED under `dir` (what an injected `touch PWNED` would make).
std::vector<std::string> pwned(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->path().filename() == "PWNED") found.push_back(it->path().string());
  return found;
}

// One #SBATCH line's words as sbatch reads them (src/sbatch/opt.c, _get_argument): split at spaces outside
// quotes, a backslash takes the next character literally, quotes are removed, an unquoted '#' ends the line.
std::vector<std::string> sbatchWords(const std::string& line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size()) break;
    std::string w;
    bool escape = false, quoted = false, comment = false;
    char quote = 0;
    for (; i < line.size() && (quoted || !std::isspace(static_cast<unsigned char>(line[i]))); ++i) {
      char c = line[i];
      if (escape) escape = false;
      else if (c == '\\') { escape = true; continue; }
      else if (quoted) {
        if (c == quote) { quoted = false; continue; }
      } else if (c == '"' || c == '\'') { quoted = true, quote = c; continue; }
      else if (c == '#') { comment = true; break; }
      w += c;
    }
    REQUIRE_FALSE(quoted);
    if (!w.empty()) words.push_back(w);
    if (comment) break;
  }
  return words;
}

// A name with everything a shell or sbatch could take for syntax, but nothing a file name cannot hold.
const std::string kHostile = "h $(touch PWNED) `touch PWNED` 'sq' \"dq\" #c %a ;x";

}  // namespace

TEST_CASE("sweep --emit: hostile paths, --out, --data, --set and install path reach the run unchanged and run nothing") {
  ScratchDir scratch("netc_sweep_inject_");
  const fs::path dir = scratch.path() / kHostile;
  fs::create_directories(dir / ("bin " + kHostile));
  // netc installed under a hostile path: its path reaches the scripts as the default NETC.
  const fs::path exe = dir / ("bin " + kHostile) / "netc";
  fs::copy_file(NETC_BINARY, exe);
  const fs::path model = dir / ("-model " + kHostile + ".net"), data = dir / ("-data " + kHostile + ".txt");
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / kModel, model);
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / kDataFile, data);
  // A --set value that the model accepts (the rest of it is a comment) and that holds shell syntax.
  const std::string gain = "1 # $(touch PWNED) `touch PWNED` 'sq' \"dq\"";
  auto args = [&](const std::string& emit, const fs::path& out) {
    return std::vector<std::string>{"sweep", model.string(), "--data", data.string(), "--set", "gain=" + gain + ",3",
                                    "--steps", "20", "--no-stats", "--emit", emit, "--out", out.string()};
  };
  auto checkRun = [&](const fs::path& run) {
    REQUIRE_MESSAGE(fs::exists(run / "result.json"), run);
    nlohmann::json repeat = readJson(run / "config.json")["repeat"];
    CHECK(repeat["set"] == nlohmann::json::array({"gain=" + gain}));
    CHECK(repeat["data"] == data.string());
    CHECK(repeat["model_absolute"] == model.string());
  };

  SUBCASE("sweep.sbatch") {
    const fs::path out = dir / ("-out " + kHostile);
    CommandResult e = netcIn(scratch.path(), exe.string(), args("slurm", out));
    REQUIRE_MESSAGE(e.status == 0, e.out);
    const fs::path script = out / "sweep.sbatch";
    const std::string text = readFile(script);
    CHECK(runShellIn(scratch.path(), "bash -n " + shellQuote(script.string())).status == 0);
    // sbatch reads the #SBATCH lines itself: the --output path must come back whole, '%' doubled (literal).
    std::string outputLine;
    for (std::istringstream in(text); std::getline(in, outputLine);)
      if (outputLine.rfind("#SBATCH --output=", 0) == 0) break;
    std::vector<std::string> words = sbatchWords(outputLine.substr(7));
    std::string literal;
    for (char c : (out / "logs").string() + "/") literal += c == '%' ? std::string("%%") : std::string(1, c);
    REQUIRE(words.size() == 1);
    CHECK(words[0] == "--output=" + literal + "%a.log");
    // The task by hand, with NETC unset: the default is the hostile install path, and nothing in it runs.
    CommandResult t = runShellIn(scratch.path(), "unset NETC; SLURM_ARRAY_TASK_ID=0 bash " + shellQuote(script.string()));
    CHECK_MESSAGE(t.status == 0, t.out);
    checkRun(out / readJson(out / "sweep.json")["runs"][0]["name"].get<std::string>());
  }
  SUBCASE("commands.txt") {
    const fs::path out = dir / ("-cmds " + kHostile);
    CommandResult e = netcIn(scratch.path(), exe.string(), args("commands", out));
    REQUIRE_MESSAGE(e.status == 0, e.out);
    const std::string lines = readFile(out / "commands.txt");
    CHECK(std::count(lines.begin(), lines.end(), '\n') == 2);  // one line per run: nothing split it
    CommandResult t = runShellIn(scratch.path(), "head -n 1 " + shellQuote((out / "commands.txt").string()) + " | bash");
    CHECK_MESSAGE(t.status == 0, t.out);
    checkRun(out / readJson(out / "sweep.json")["runs"][0]["name"].get<std::string>());
  }
  CHECK(pwned(scratch.path()).empty());
  CHECK(pwned(NETC_SOURCE_DIR).empty());
}

TEST_CASE("sweep: a newline or control byte in a path or value that reaches a script is refused, naming it") {
  ScratchDir scratch("netc_sweep_newline_");
  const fs::path nl = scratch.path() / "a\nb";
  fs::create_directories(nl);
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / kModel, nl / "m.net");
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / kDataFile, nl / "d.txt");
  const std::string model = (fs::path(NETC_SOURCE_DIR) / kModel).string(), data = (fs::path(NETC_SOURCE_DIR) / kDataFile).string();
  const fs::path out = scratch.path() / "out";
  struct Case {
    std::vector<std::string> args;
    std::string option, found;
  };
  const std::vector<Case> cases = {
      {{(nl / "m.net").string(), "--data", data, "--set", "gain=1,3", "--out", out.string()}, "the model path", "a newline"},
      {{model, "--data", (nl / "d.txt").string(), "--set", "gain=1,3", "--out", out.string()}, "--data", "a newline"},
      {{model, "--data", data, "--set", "gain=1,3", "--out", (scratch.path() / "o\nut").string()}, "--out", "a newline"},
      {{model, "--data", data, "--set", "gain=1\t,3", "--out", out.string()}, "--set", "the control byte 0x09"},
      {{model, "--data", data, "--run", "gain=1\x1b", "--out", out.string()}, "--run", "the control byte 0x1b"},
  };
  for (const Case& c : cases)
    for (const std::vector<std::string>& emit : {std::vector<std::string>{"--emit", "slurm"},
                                                std::vector<std::string>{"--emit", "commands"}, std::vector<std::string>{}}) {
      std::vector<std::string> args = {"sweep"};
      args.insert(args.end(), c.args.begin(), c.args.end());
      args.insert(args.end(), {"--steps", "5", "--quiet"});
      args.insert(args.end(), emit.begin(), emit.end());
      CommandResult r = netcIn(NETC_SOURCE_DIR, NETC_BINARY, args);
      CAPTURE(r.out);
      CHECK(r.status == 2);
      CHECK(r.has("netc: error: " + c.option + " '"));
      CHECK(r.has("contains " + c.found));
      CHECK(!r.has("terminate called"));
    }
  // Nothing was written anywhere.
  CHECK(!fs::exists(out));
  CHECK(!fs::exists(scratch.path() / "o\nut"));
  CHECK(!fs::exists(nl / "out"));
}

TEST_CASE("sweep: a finished run of another --steps or model is not adopted; --emit keeps sweep.json's statuses") {
  ScratchDir scratch("netc_sweep_adopt_");
  const fs::path sweep = scratch.path() / "s";
  const std::string grid = kModel + " --data " + kDataFile + " --set gain=1,3 --no-stats --jobs 2 --quiet --out " + sweep.string();
  REQUIRE(runNetc("sweep " + grid + " --steps 20").status == 0);
  const fs::path run0 = sweep / "000-gain=1", run1 = sweep / "001-gain=3";
  auto lossRows = [](const fs::path& run) {
    const std::string l = readFile(run / "losses.csv");
    return std::count(l.begin(), l.end(), '\n') - 1;
  };
  REQUIRE(lossRows(run0) == 20);

  SUBCASE("another --steps: refused without --force, run again with it") {
    fs::remove(sweep / "sweep.json");  // nothing left to tell the sweeps apart but the run folders
    CommandResult refused = runNetc("sweep " + grid + " --steps 30");
    CAPTURE(refused.out);
    CHECK(refused.status == 1);
    CHECK(refused.has("holds a finished run of another configuration"));
    CHECK(refused.has("steps 20 (asked: 30)"));
    CHECK(lossRows(run0) == 20);
    CommandResult forced = runNetc("sweep " + grid + " --steps 30 --force");
    CHECK_MESSAGE(forced.status == 0, forced.out);
    CHECK(lossRows(run0) == 30);
    CHECK(lossRows(run1) == 30);
    CHECK(readJson(run0 / "config.json")["repeat"]["steps"] == 30);
  }
  SUBCASE("another model: its runs are listed again, not reported as this sweep's") {
    const fs::path other = scratch.path() / "other.net";
    fs::copy_file(fs::path(NETC_SOURCE_DIR) / kModel, other);
    const std::string otherGrid = other.string() + " --data " + kDataFile + " --set gain=1,3 --steps 20 --no-stats --out " + sweep.string();
    CommandResult e = runNetc("sweep " + otherGrid + " --force --emit commands");
    CAPTURE(e.out);
    REQUIRE(e.status == 0);
    const std::string lines = readFile(sweep / "commands.txt");
    CHECK(std::count(lines.begin(), lines.end(), '\n') == 2);
    CHECK(readJson(sweep / "sweep.json")["runs"][0]["status"] == "pending");
    CommandResult local = runNetc("sweep " + otherGrid + " --force --quiet");
    CHECK_MESSAGE(local.status == 0, local.out);
    CHECK(readJson(run0 / "config.json")["repeat"]["model_absolute"] == other.string());
  }
  SUBCASE("--emit into a finished sweep keeps its statuses and lists only the runs still to do") {
    const nlohmann::json before = readJson(sweep / "sweep.json");
    REQUIRE(before["runs"][0]["status"] == "done");
    for (const char* emit : {"slurm", "commands"}) {
      CommandResult e = runNetc("sweep " + grid + " --steps 20 --emit " + emit);
      CHECK_MESSAGE(e.status == 0, e.out);
      CHECK(e.has("nothing to emit"));
      const nlohmann::json after = readJson(sweep / "sweep.json");
      for (int i : {0, 1}) {
        CHECK(after["runs"][i]["status"] == "done");
        CHECK(after["runs"][i]["final"] == before["runs"][i]["final"]);
      }
    }
    fs::remove(run1 / "result.json");
    CommandResult e = runNetc("sweep " + grid + " --steps 20 --emit slurm");
    REQUIRE_MESSAGE(e.status == 0, e.out);
    CHECK(readFile(sweep / "sweep.sbatch").find("#SBATCH --array=1\n") != std::string::npos);
    const nlohmann::json after = readJson(sweep / "sweep.json");
    CHECK(after["runs"][0]["status"] == "done");
    CHECK(after["runs"][1]["status"] == "pending");
  }
}

TEST_CASE("sweep: SIGTERM, SIGHUP or SIGKILL to a running sweep leaves no child training") {
  ScratchDir scratch("netc_sweep_signal_");
  for (const char* sig : {"TERM", "HUP", "KILL"}) {
    CAPTURE(sig);
    const fs::path out = scratch.path() / (std::string("s-") + sig);
    // Two runs far too long to finish; the children are found as the sweep's, before the signal.
    const std::string line = fmt::format(
        "{} sweep {} --data {} --set gain=1,3 --steps 1000000 --no-stats --jobs 2 --quiet --out {} > sweep.log 2>&1 & "
        "SP=$!; for i in $(seq 300); do [ \"$(pgrep -P $SP | wc -l)\" -ge 2 ] && break; sleep 0.1; done; "
        "KIDS=$(pgrep -P $SP | tr '\\n' ' '); echo \"kids: $KIDS\"; sleep 0.5; kill -{} $SP; wait $SP; echo \"rc=$?\"; "
        "for i in $(seq 50); do A=; for k in $KIDS; do S=$(sed 's/.*) //' /proc/$k/stat 2>/dev/null | cut -c1); "
        "[ -n \"$S\" ] && [ \"$S\" != Z ] && A=\"$A $k\"; done; [ -z \"$A\" ] && break; sleep 0.1; done; "
        "echo \"alive:$A.\"; for k in $A; do kill -9 $k; done; cat sweep.log",  // none left behind, even on failure
        shellQuote(NETC_BINARY), shellQuote((fs::path(NETC_SOURCE_DIR) / kModel).string()), shellQuote((fs::path(NETC_SOURCE_DIR) / kDataFile).string()),
        shellQuote(out.string()), sig);
    fs::create_directories(out.parent_path());
    CommandResult r = runShellIn(scratch.path(), line);
    CAPTURE(r.out);
    CHECK(r.has("alive:."));
    const size_t kids = r.out.find("kids: ");
    REQUIRE(kids != std::string::npos);
    CHECK(r.out.substr(kids, r.out.find('\n', kids) - kids).size() > 8);  // the two children were seen
    if (std::string(sig) == "KILL") continue;
    CHECK(r.has(fmt::format("netc sweep: stopped by SIG{}: every run it started has ended", sig)));
    CHECK(r.has(std::string("rc=") + (std::string(sig) == "TERM" ? "143" : "129")));
    const nlohmann::json s = readJson(out / "sweep.json");
    CHECK(s["state"] == "interrupted");
    CHECK(s["runs"][0]["status"] == "interrupted");
    CHECK(s["runs"][1]["status"] == "interrupted");
  }
}

TEST_CASE("sweep: a run folder still locked by a live netc run is running elsewhere, not failed") {
  ScratchDir scratch("netc_sweep_busy_");
  const fs::path sweep = scratch.path() / "s";
  const fs::path run0 = sweep / "000-gain=1";
  fs::create_directories(run0);
  // A live process holds the run folder's lock, as a `netc run` does while it trains.
  const std::string line = fmt::format(
      "exec 9>{}; flock -x 9; echo $$ >&9; ( {} sweep {} --data {} --set gain=1,3 --steps 5 --no-stats --quiet --out {} ); "
      "echo \"rc=$?\"",
      shellQuote((run0 / ".netc.lock").string()), shellQuote(NETC_BINARY), shellQuote((fs::path(NETC_SOURCE_DIR) / kModel).string()),
      shellQuote((fs::path(NETC_SOURCE_DIR) / kDataFile).string()), shellQuote(sweep.string()));
  CommandResult r = runShellIn(scratch.path(), line);
  CAPTURE(r.out);
  CHECK(r.has("rc=1"));
  CHECK(r.has("is in use by a netc run still going"));
  CHECK(!fs::exists(run0 / "result.json"));
  CHECK(!fs::exists(sweep / "001-gain=3" / "result.json"));  // refused before anything started
}

TEST_CASE("sweep: a planted link at logs/NAME.log is refused, and the file it points at is unchanged") {
  ScratchDir scratch("netc_sweep_link_");
  const fs::path sweep = scratch.path() / "s", victim = scratch.path() / "victim.txt";
  {
    std::ofstream(victim) << "precious\n";
  }
  fs::create_directories(sweep / "logs");
  fs::create_symlink(victim, sweep / "logs" / "000-gain=1.log");
  CommandResult r = runNetc("sweep " + kModel + " --data " + kDataFile + " --set gain=1,3 --steps 5 --no-stats --quiet --out " +
                            sweep.string());
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("is a symbolic link, where a sweep keeps a file of its own"));
  CHECK(readFile(victim) == "precious\n");
  // A planted link at the sweep's lock is refused the same way.
  fs::remove(sweep / "logs" / "000-gain=1.log");
  fs::remove(sweep / ".sweep.lock");
  fs::create_symlink(victim, sweep / ".sweep.lock");
  CommandResult lock = runNetc("sweep " + kModel + " --data " + kDataFile + " --set gain=1,3 --steps 5 --no-stats --quiet --out " +
                               sweep.string());
  CHECK(lock.status == 1);
  CHECK(lock.has("is a symbolic link"));
  CHECK(readFile(victim) == "precious\n");
  // A link at the sweep's compare.html is refused before any run trains.
  fs::remove(sweep / ".sweep.lock");
  fs::create_symlink(victim, sweep / "compare.html");
  CommandResult page = runNetc("sweep " + kModel + " --data " + kDataFile + " --set gain=1,3 --steps 5 --no-stats --quiet --out " +
                               sweep.string());
  CHECK(page.status == 1);
  CHECK(page.has("compare.html' is not a regular file"));
  CHECK(!fs::exists(sweep / "000-gain=1"));
  CHECK(readFile(victim) == "precious\n");
}

TEST_CASE("sweep: a link planted as a run folder is refused, and the folder it points at is unchanged") {
  ScratchDir scratch("netc_sweep_runlink_");
  const fs::path victim = scratch.path() / "victim", sweep = scratch.path() / "s";
  fs::create_directories(victim);
  writeFile(victim / "weights.safetensors", "precious\n");
  fs::create_directories(sweep);
  fs::create_symlink(victim, sweep / "000-gain=1");
  for (const char* force : {"", " --force"}) {
    CommandResult r = runNetc("sweep " + kModel + " --data " + kDataFile + " --set gain=1,3 --steps 3 --no-stats --quiet --out " +
                              sweep.string() + force);
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(r.has("is a symbolic link, not a folder"));
    CHECK(readFile(victim / "weights.safetensors") == "precious\n");
    CHECK(!fs::exists(victim / "config.json"));
  }
}

TEST_CASE("sweep: none of the sweep's own files may be its model or its data") {
  ScratchDir scratch("netc_sweep_ownfiles_");
  const std::string words = readFile(fs::path(NETC_SOURCE_DIR) / kDataFile);
  for (const char* name : {"sweep.json", "compare.html", "commands.txt", "sweep.sbatch"}) {
    const fs::path sweep = scratch.path() / (std::string("data-") + name);
    fs::create_directories(sweep);
    writeFile(sweep / name, words);
    CommandResult r = runNetc("sweep " + kModel + " --data " + (sweep / name).string() + " --set gain=1 --steps 3 --no-stats " +
                              "--quiet --out " + sweep.string());
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(r.has("is the same file as the data file"));
    CHECK(readFile(sweep / name) == words);
  }
  const std::string model = readFile(fs::path(NETC_SOURCE_DIR) / kModel);
  for (const char* emit : {"commands", "slurm"}) {
    const fs::path sweep = scratch.path() / (std::string("model-") + emit);
    const fs::path file = sweep / (std::string(emit) == "commands" ? "commands.txt" : "sweep.sbatch");
    fs::create_directories(sweep);
    writeFile(file, model);
    CommandResult r = runNetc("sweep " + file.string() + " --data " + kDataFile + " --set gain=1 --steps 3 --emit " + emit +
                              " --out " + sweep.string());
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(r.has("is the same file as the model file"));
    CHECK(readFile(file) == model);
  }
}

TEST_CASE("sweep: a finished run whose weights were removed is run again, not counted done") {
  ScratchDir scratch("netc_sweep_gone_");
  const fs::path sweep = scratch.path() / "s";
  const std::string line = "sweep " + kModel + " --data " + kDataFile + " --set gain=1,3 --steps 3 --no-stats --quiet --out " + sweep.string();
  REQUIRE(runNetc(line).status == 0);
  fs::remove(sweep / "000-gain=1" / "weights.safetensors");
  CommandResult again = runNetc(line);
  CAPTURE(again.out);
  CHECK(again.status == 0);
  CHECK(fs::is_regular_file(sweep / "000-gain=1" / "weights.safetensors"));
}
