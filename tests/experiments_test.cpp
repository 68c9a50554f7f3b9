// Experiments (issue 15): --set overrides, netc run --config, netc sweep (local, --emit slurm, --emit commands),
// netc compare rendered in headless Chromium, netc lr-find. No timings are asserted here.
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

const std::string kData = " --data tests/data/pseudo_words.txt";
const std::string kModel = "models/deep_tanh.net";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
nlohmann::json readJson(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

CommandResult shell(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool haveChromium() { return shell("command -v chromium >/dev/null").status == 0; }

std::map<std::string, std::string> renderedBody(const fs::path& page, const fs::path& scratch) {
  fs::path profile = scratch / "chromium-profile";
  CommandResult r = shell(fmt::format(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir={} --dump-dom "
      "'file://{}' 2>/dev/null",
      profile.string(), fs::absolute(page).string()));
  fs::remove_all(profile);
  REQUIRE(r.status == 0);
  size_t open = r.out.find("<body"), close = r.out.find('>', open);
  REQUIRE(open != std::string::npos);
  std::string text = r.out.substr(open + 5, close - open - 5);
  std::map<std::string, std::string> attrs;
  for (size_t at = 0; (at = text.find("=\"", at)) != std::string::npos;) {
    size_t nameStart = text.rfind(' ', at) + 1, end = text.find('"', at + 2);
    attrs[text.substr(nameStart, at - nameStart)] = text.substr(at + 2, end - at - 2);
    at = end + 1;
  }
  return attrs;
}

std::string losses(const fs::path& run) { return slurp(run / "losses.csv"); }

}  // namespace

TEST_CASE("--set overrides a const and a section setting, checked like the file") {
  CommandResult base = runNetc("check " + kModel + kData);
  REQUIRE(base.status == 0);
  CHECK(base.has("46497 values"));
  CommandResult r = runNetc("check " + kModel + kData + " --set H=50 --set gain=3 --set train.lr=0.05");
  CHECK(r.status == 0);
  // H = 50: 270 + 30*50+50 + 4*(50*50+50) + 50*27+27
  CHECK_MESSAGE(r.has("13397 values"), r.out);
}

TEST_CASE("--set errors are located at the command-line text, with did-you-mean") {
  CommandResult r = runNetc("check " + kModel + kData + " --set gain=3x");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.has("--set gain=3x: error:"), r.out);
  CHECK(r.has("      | --set gain=3x\n"));
  CommandResult typo = runNetc("check " + kModel + kData + " --set gian=3");
  CHECK(typo.status == 1);
  CHECK_MESSAGE(typo.has("unknown constant 'gian'"), typo.out);
  CHECK(typo.has("did you mean 'gain'?"));
  CommandResult bare = runNetc("check " + kModel + kData + " --set lr=0.1");
  CHECK_MESSAGE(bare.has("did you mean train.lr?"), bare.out);
  CommandResult key = runNetc("check " + kModel + kData + " --set train.lrr=0.1");
  CHECK_MESSAGE(key.has("unknown setting 'lrr' in the train section (did you mean 'lr'?)"), key.out);
  CommandResult type = runNetc("check " + kModel + kData + " --set train.steps=2.5");
  CHECK(type.status == 1);
  CHECK_MESSAGE(type.has("--set train.steps=2.5: error: steps must be a whole number, found 2.5"), type.out);
  CommandResult later = runNetc("check " + kModel + kData + " --set E=H");
  CHECK_MESSAGE(later.has("--set E=H: error: unknown identifier 'H'"), later.out);  // H is defined after E
  CommandResult twice = runNetc("check " + kModel + kData + " --set gain=1 --set gain=2");
  CHECK_MESSAGE(twice.has("'gain' is set twice"), twice.out);
  CommandResult noeq = runNetc("check " + kModel + kData + " --set gain");
  CHECK(noeq.status == 2);
  // A value cut short ends at the end of the value, not at a brace the user never wrote.
  CommandResult open = runNetc("check " + kModel + kData + " --set 'gain=(1'");
  CHECK(open.status == 1);
  CHECK_MESSAGE(open.has("--set gain=(1: error: expected ')' closing the parenthesis before the end of the value"), open.out);
  CHECK_FALSE(open.has("'}'"));
}

TEST_CASE("netc run records its overrides in config.json and --config repeats the run") {
  ScratchDir dir("netc_exp_config_");
  const fs::path a = dir.path() / "a", b = dir.path() / "b";
  CommandResult r = runNetc("run " + kModel + kData + " --set gain=3 --set train.lr=0.05 --steps 30 --quiet --no-stats --out " + a.string());
  REQUIRE_MESSAGE(r.status == 0, r.out);
  nlohmann::json c = readJson(a / "config.json");
  CHECK(c["overrides"] == nlohmann::json::array({"gain=3", "train.lr=0.05"}));
  CHECK(c["constants"]["gain"] == 3.0);
  CHECK(c["train"]["lr"][0]["lr"] == 0.05);
  CommandResult again = runNetc("run --config " + (a / "config.json").string() + " --quiet --out " + b.string());
  REQUIRE_MESSAGE(again.status == 0, again.out);
  CHECK(losses(a) == losses(b));
  CHECK(readJson(b / "config.json")["overrides"] == c["overrides"]);
  // The default thread count, as chosen by the step's size: recorded as it ran, and repeated.
  CHECK(c["repeat"]["threads"].is_number_integer());
  CHECK(readJson(b / "config.json")["repeat"]["threads"] == c["repeat"]["threads"]);
  // On a team whose sums over the batch are split the floats are the team's: --config repeats its count.
  const fs::path t = dir.path() / "t", u = dir.path() / "u";
  REQUIRE(runNetc("run " + kModel + kData + " --batch 128 --threads 2 --steps 30 --quiet --no-stats --out " + t.string()).status == 0);
  CHECK(readJson(t / "config.json")["repeat"]["threads"] == 2);
  REQUIRE(runNetc("run --config " + (t / "config.json").string() + " --quiet --out " + u.string()).status == 0);
  CHECK(losses(t) == losses(u));
  CHECK(readJson(u / "config.json")["repeat"]["threads"] == 2);
}

TEST_CASE("netc sweep: the grid in parallel, a diverged run recorded, a restart skips finished runs, compare.html") {
  ScratchDir dir("netc_exp_sweep_");
  const fs::path sweep = dir.path() / "s";
  const std::string cmd = "sweep " + kModel + kData + " --set gain=1,5/3 --set train.lr=0.1,1000 --steps 40 --jobs 2 --out " + sweep.string();
  CommandResult r = runNetc(cmd);
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK(r.has("4 runs"));
  nlohmann::json s = readJson(sweep / "sweep.json");
  REQUIRE(s["runs"].size() == 4);
  CHECK(s["runs"][0]["name"] == "000-gain=1-lr=0.1");
  CHECK(s["runs"][2]["name"] == "002-gain=5_3-lr=0.1");
  CHECK(s["runs"][0]["status"] == "done");
  CHECK(s["runs"][1]["status"] == "diverged");  // lr 1000
  CHECK(s["runs"][2]["status"] == "done");
  CHECK(s["runs"][0]["final"]["dev"].is_number());
  CHECK(fs::exists(sweep / "compare.html"));
  // The run folders are `netc run`'s own.
  CHECK(readJson(sweep / "000-gain=1-lr=0.1" / "config.json")["overrides"] == nlohmann::json::array({"gain=1", "train.lr=0.1"}));
  const std::string before = losses(sweep / "002-gain=5_3-lr=0.1");
  CommandResult again = runNetc(cmd);
  CHECK_MESSAGE(again.has("4 finished before"), again.out);
  CHECK(losses(sweep / "002-gain=5_3-lr=0.1") == before);
  // An interrupted run (no result.json) is run again.
  fs::remove(sweep / "000-gain=1-lr=0.1" / "result.json");
  CommandResult third = runNetc(cmd);
  CHECK_MESSAGE(third.has("3 finished before"), third.out);
  CHECK(readJson(sweep / "sweep.json")["runs"][0]["status"] == "done");
  // A different grid in the same folder is refused.
  CommandResult other = runNetc("sweep " + kModel + kData + " --set gain=2,3 --steps 40 --out " + sweep.string());
  CHECK(other.status == 1);
  CHECK(other.has("holds another sweep"));
  // A bad value anywhere in the grid is found before anything runs.
  CommandResult bad = runNetc("sweep " + kModel + kData + " --set gain=1,3x --steps 40 --out " + (dir.path() / "bad").string());
  CHECK(bad.status == 1);
  CHECK_MESSAGE(bad.has("--set gain=3x: error:"), bad.out);
  CHECK(!fs::exists(dir.path() / "bad" / "000-gain=1"));
}

TEST_CASE("netc sweep --emit slurm: the script passes bash -n and two tasks run by hand equal the local sweep") {
  ScratchDir dir("netc_exp_slurm_");
  const std::string grid = kModel + kData + " --set gain=1,3 --steps 30";
  const fs::path local = dir.path() / "local", cluster = dir.path() / "cluster";
  REQUIRE(runNetc("sweep " + grid + " --jobs 2 --quiet --out " + local.string()).status == 0);
  CommandResult e = runNetc("sweep " + grid + " --emit slurm --out " + cluster.string());
  REQUIRE_MESSAGE(e.status == 0, e.out);
  const fs::path script = cluster / "sweep.sbatch";
  REQUIRE(fs::exists(script));
  CHECK(slurp(script).find("#SBATCH --array=0-1") != std::string::npos);
  CHECK(shell("bash -n " + script.string()).status == 0);
  CHECK(shell("bash " + script.string()).status != 0);  // SLURM_ARRAY_TASK_ID unset
  for (int task : {0, 1}) {
    CommandResult t = shell(fmt::format("cd '{}' && SLURM_ARRAY_TASK_ID={} bash {}", NETC_SOURCE_DIR, task, script.string()));
    CHECK_MESSAGE(t.status == 0, t.out);
  }
  for (const char* name : {"000-gain=1", "001-gain=3"}) {
    REQUIRE(fs::exists(cluster / name / "losses.csv"));
    CHECK(losses(cluster / name) == losses(local / name));
    CHECK(readJson(cluster / name / "result.json")["final"] == readJson(local / name / "result.json")["final"]);
  }
  // Emitted again, the script lists only the runs still to do: none.
  CommandResult again = runNetc("sweep " + grid + " --emit slurm --out " + cluster.string());
  CHECK_MESSAGE(again.has("nothing to emit"), again.out);
  CommandResult cmds = runNetc("sweep " + grid + " --emit commands --out " + (dir.path() / "cmds").string());
  CHECK(cmds.status == 0);
  CHECK(std::count(cmds.out.begin(), cmds.out.end(), '\n') == 2);
  CHECK(cmds.has("--set gain=3"));
}

TEST_CASE("netc compare: every figure drawn in headless Chromium") {
  ScratchDir dir("netc_exp_compare_");
  const fs::path a = dir.path() / "a", b = dir.path() / "b";
  REQUIRE(runNetc("run " + kModel + kData + " --steps 30 --quiet --out " + a.string()).status == 0);
  REQUIRE(runNetc("run " + kModel + kData + " --set gain=0.5 --steps 30 --quiet --out " + b.string()).status == 0);
  const fs::path page = dir.path() / "cmp.html";
  CommandResult r = runNetc("compare " + a.string() + " " + b.string() + " --out " + page.string());
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(r.has("compared 2 runs"));
  std::string html = slurp(page);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<td>0.5</td>") != std::string::npos);  // the settings table
  CHECK(runNetc("compare " + (dir.path() / "nothing").string()).status == 1);
  if (!haveChromium()) {
    MESSAGE("chromium is not installed: compare.html was written but not rendered");
    return;
  }
  auto body = renderedBody(page, dir.path());
  CHECK(body["data-errors"] == "");
  CHECK(body["data-done"] == "1");
  CHECK(body["data-figures-expected"] == "5");  // loss, std, saturation, update:data of each run
  CHECK(body["data-figures-drawn"] == body["data-figures-expected"]);
}

TEST_CASE("netc lr-find: loss against the exponent, a plot and a suggested rate") {
  ScratchDir dir("netc_exp_lrfind_");
  CommandResult r = runNetc("lr-find " + kModel + kData + " --steps 60 --out " + dir.path().string());
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(r.has("suggested learning rate"));
  CHECK(fs::exists(dir.path() / "lr_find.html"));
  std::string csv = slurp(dir.path() / "lr_find.csv");
  CHECK(csv.rfind("step,exponent,lr,loss,smoothed\n0,-3,0.001,", 0) == 0);
}

TEST_CASE("the object cache: a second compile of a model reuses the cached step, with the same results") {
  ScratchDir dir("netc_exp_cache_");
  const fs::path cache = dir.path() / "cache";
  auto run = [&](const std::string& out, const std::string& extra = "") {
    return shell(fmt::format("cd '{}' && NETC_CACHE_DIR='{}' '{}' run {}{} --steps 20 --quiet --no-stats --out '{}' {}",
                             NETC_SOURCE_DIR, cache.string(), NETC_BINARY, kModel, kData, (dir.path() / out).string(), extra));
  };
  auto count = [&](const std::string& ext) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(cache)) n += e.path().extension() == ext;
    return n;
  };
  REQUIRE(run("a").status == 0);
  const size_t objects = count(".o"), steps = count(".step");
  CHECK(objects > 0);
  CHECK(steps >= 1);  // the step's list of objects, under its step key (the train and eval forms: one each)
  REQUIRE(run("b").status == 0);
  size_t temporaries = 0;
  for (const auto& e : fs::directory_iterator(cache)) temporaries += e.path().string().find(".tmp") != std::string::npos;
  CHECK(count(".o") == objects);  // every module found: nothing compiled again
  CHECK(count(".step") == steps);
  CHECK(temporaries == 0);
  CHECK(losses(dir.path() / "a") == losses(dir.path() / "b"));
  // A changed model is a new step key (and new code), never the old step's objects.
  REQUIRE(run("h", "--set H=50").status == 0);
  CHECK(count(".step") > steps);
  CHECK(losses(dir.path() / "h") != losses(dir.path() / "a"));
  // The same with the step list gone: the modules are found by their IR.
  for (const auto& e : fs::directory_iterator(cache))
    if (e.path().extension() == ".step") fs::remove(e.path());
  REQUIRE(run("c").status == 0);
  CHECK(losses(dir.path() / "c") == losses(dir.path() / "a"));
  // netc bench says where the code came from (its second compile).
  shell(fmt::format("cd '{}' && NETC_CACHE_DIR='{}' '{}' bench {}{} --steps 10 --warmup 0", NETC_SOURCE_DIR, cache.string(),
                    NETC_BINARY, kModel, kData));
  CommandResult bench = shell(fmt::format("cd '{}' && NETC_CACHE_DIR='{}' '{}' bench {}{} --steps 10 --warmup 0", NETC_SOURCE_DIR,
                                          cache.string(), NETC_BINARY, kModel, kData));
  INFO(bench.out);
  CHECK(bench.has("came from the object cache"));
  // Bounded: with a limit below what it holds, the next compile prunes the least recently used files (with a
  // limit of 0, all but the files that compile used: object_cache_test.cpp has the details).
  const size_t before = count(".o");
  REQUIRE(before > objects);
  REQUIRE(shell(fmt::format("cd '{}' && NETC_CACHE_MAX_MB=0 NETC_CACHE_DIR='{}' '{}' run {}{} --steps 5 --quiet --no-stats "
                            "--set H=40 --out '{}'", NETC_SOURCE_DIR, cache.string(), NETC_BINARY, kModel, kData,
                            (dir.path() / "pruned").string())).status == 0);
  CHECK(count(".o") < before);
  CHECK(count(".o") <= objects);  // one model's worth
  // Off: nothing written.
  CHECK(shell(fmt::format("cd '{}' && NETC_CACHE_DIR=off '{}' run {}{} --steps 5 --quiet --no-stats --out '{}'", NETC_SOURCE_DIR,
                          NETC_BINARY, kModel, kData, (dir.path() / "off").string())).status == 0);
}

TEST_CASE("netc sweep --run: listed combinations, crossed with the --set grid") {
  ScratchDir dir("netc_exp_listed_");
  const fs::path sweep = dir.path() / "s";
  CommandResult r = runNetc("sweep " + kModel + kData + " --run 'gain=1;train.lr=0.1' --run 'gain=5/3; H=50' --set train.batch=16,32 "
                            "--steps 20 --quiet --out " + sweep.string());
  REQUIRE_MESSAGE(r.status == 0, r.out);
  nlohmann::json s = readJson(sweep / "sweep.json");
  REQUIRE(s["runs"].size() == 4);
  CHECK(s["runs"][3]["name"] == "003-gain=5_3-H=50-batch=32");
  CHECK(s["runs"][3]["set"] == nlohmann::json::array({"gain=5/3", "H=50", "train.batch=32"}));
  CHECK(readJson(sweep / "003-gain=5_3-H=50-batch=32" / "config.json")["train"]["batch"] == 32);
  CommandResult twice = runNetc("sweep " + kModel + kData + " --run 'gain=1;gain=2' --steps 20 --out " + (dir.path() / "t").string());
  CHECK(twice.status == 1);
  CHECK(twice.has("'gain' is set twice"));
}
