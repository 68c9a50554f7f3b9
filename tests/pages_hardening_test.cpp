// Issue 23, pages and the commands that write them: hostile names rendered as text (compare.html, report.html,
// lr_find.html in headless Chromium), `netc compare` on damaged run folders (wrong JSON types, FIFOs, a link to
// /dev/zero), compare and lr-find refusing to overwrite their inputs, and lr-find's suggestion rule.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

#include "headless_chromium.h"
#include "run_netc.h"
#include "runtime/pages/page_template.h"
#include "support/diag.h"

using namespace netc::testing;
namespace fs = std::filesystem;

namespace {

const std::string kData = "tests/data/pseudo_words.txt";

// A small finished run folder (5 steps, no statistics) at `dir`.
void makeRun(const fs::path& dir, const std::string& extra = "") {
  CommandResult r = runNetc(fmt::format("run models/deep_tanh.net --data {} --steps 5 --quiet --no-stats {} --out '{}'", kData,
                                        extra, dir.string()));
  REQUIRE_MESSAGE(r.status == 0, r.out);
}

void checkError(const CommandResult& r, int status, const std::string& text) {
  CAPTURE(r.out);
  CHECK(r.status == status);
  CHECK(r.has("netc: error: "));
  CHECK(r.has(text));
  CHECK(!r.has("internal error"));
}

// What a hostile name must never do in a page: run its script (the payloads set the title to PWNED) or become
// an element. The page's own script must still have run to the end (data-done or data-figures-drawn).
void checkRenderedAsText(const fs::path& page, const fs::path& profile, const std::string& mustShow) {
  std::string dom = renderedDom(page, profile);
  CAPTURE(page.string());
  REQUIRE_MESSAGE(!dom.empty(), "chromium failed");
  CHECK(dom.find("<title>PWNED") == std::string::npos);
  CHECK(dom.find("<img") == std::string::npos);
  CHECK(dom.find("<script>document.title") == std::string::npos);
  CHECK_MESSAGE(dom.find(mustShow) != std::string::npos, "the hostile text is not shown as text: ", mustShow);
}

}  // namespace

TEST_CASE("pages: templates are filled in one pass; JSON in a script cannot end its element") {
  using namespace netc::page;
  // A value holding a placeholder is never expanded again.
  CHECK(fillTemplate("<p>@A@</p><i>@B@</i> a@b.c @", {{"A", "@B@"}, {"B", "x"}}) == "<p>@B@</p><i>x</i> a@b.c @");
  CHECK_THROWS_AS(fillTemplate("@A@ @C@", {{"A", ""}}), netc::Error);  // a placeholder without a value
  CHECK_THROWS_AS(fillTemplate("@A@", {{"A", ""}, {"B", ""}}), netc::Error);  // a value without a placeholder
  CHECK(htmlText("<b x=\"1\" y='2'>&</b>") == "&lt;b x=&quot;1&quot; y=&#39;2&#39;&gt;&amp;&lt;/b&gt;");
  const nlohmann::json data = {{"name", "</script><!-- \xE2\x80\xA8 \xE2\x80\xA9 & >"}, {"bad", "\xFF"}};
  const std::string js = scriptJson(data);
  CHECK(js.find_first_of("<>&") == std::string::npos);
  CHECK(js.find("\xE2\x80\xA8") == std::string::npos);
  CHECK(js.find("\xE2\x80\xA9") == std::string::npos);
  const nlohmann::json back = nlohmann::json::parse(js);
  CHECK(back["name"] == data["name"]);
  CHECK(back["bad"] == "\xEF\xBF\xBD");  // invalid UTF-8 as U+FFFD, not an exception
}

TEST_CASE("pages: hostile run, model and --set names are text in compare.html, report.html and lr_find.html") {
  ScratchDir dir("netc_pages_hostile_");
  // A model file whose name (the model's name) is markup, and a run folder whose name is too; the folder's
  // name also holds compare.html's data placeholder, which the page's filling must not expand.
  const std::string imgName = "x<img src=x onerror=document.title='PWNED'>@DATA@";
  const fs::path model = dir.path() / (imgName + ".net");
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / "models/deep_tanh.net", model);
  const fs::path run = dir.path() / "runs" / imgName;
  const std::string scriptText = "</script><script>document.title='PWNED'</script>@DATA@";
  CommandResult r = runShell(fmt::format(
      "\"$NETC\" run \"{}\" --data {} --steps 5 --quiet --set \"train.seed=7 # {}\" --out \"{}\"", model.string(), kData,
      scriptText, run.string()));
  REQUIRE_MESSAGE(r.status == 0, r.out);
  const fs::path page = dir.path() / "cmp.html";
  r = runShell(fmt::format("\"$NETC\" compare \"{}\" --out \"{}\"", run.string(), page.string()));
  REQUIRE_MESSAGE(r.status == 0, r.out);
  // One pass: the placeholder in the names is left as it is, never replaced by the page's data.
  const std::string html = readFile(page);
  CHECK(html.find("@DATA@") != std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("</script><script>document.title") == std::string::npos);
  const fs::path lrDir = dir.path() / "lr";
  r = runShell(fmt::format("\"$NETC\" lr-find \"{}\" --data {} --steps 20 --out \"{}\"", model.string(), kData, lrDir.string()));
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(readFile(lrDir / "lr_find.html").find("<img") == std::string::npos);
  if (!haveChromium()) {
    MESSAGE("chromium is not installed (apt-get install -y chromium): the pages were written but not rendered");
    return;
  }
  const std::string shownName = "x&lt;img src=x onerror=document.title='PWNED'&gt;@DATA@";
  checkRenderedAsText(page, dir.path() / "profile", shownName);
  checkRenderedAsText(page, dir.path() / "profile", "&lt;/script&gt;&lt;script&gt;document.title='PWNED'&lt;/script&gt;@DATA@");
  checkRenderedAsText(run / "report.html", dir.path() / "profile", shownName);
  checkRenderedAsText(lrDir / "lr_find.html", dir.path() / "profile", shownName);
  CHECK(renderedDom(page, dir.path() / "profile").find("data-done=\"1\"") != std::string::npos);
}

TEST_CASE("compare: config.json and result.json with wrong types are named errors; a damaged run among others is left out") {
  ScratchDir dir("netc_pages_types_");
  const fs::path good = dir.path() / "good";
  makeRun(good);
  const nlohmann::json config = nlohmann::json::parse(readFile(good / "config.json"));
  const nlohmann::json result = nlohmann::json::parse(readFile(good / "result.json"));
  struct Damage {
    const char* file;
    std::function<void(nlohmann::json&)> edit;
    const char* said;  // what the message must name
  };
  const Damage damages[] = {
      {"config.json", [](auto& j) { j = nlohmann::json::array(); }, "should hold a JSON object, found an array"},
      {"config.json", [](auto& j) { j["model"] = "deep"; }, "\"model\" should be an object, found a string (\"deep\")"},
      {"config.json", [](auto& j) { j["model"]["name"] = 5; }, "\"model.name\" should be a string, found a number (5)"},
      {"config.json", [](auto& j) { j["overrides"] = "H=5"; }, "\"overrides\" should be an array of strings"},
      {"config.json", [](auto& j) { j["overrides"] = {1}; }, "\"overrides[0]\" should be a string, found a number (1)"},
      {"config.json", [](auto& j) { j["train"]["steps"] = "abc"; }, "\"train.steps\" should be a whole number, found a string"},
      {"config.json", [](auto& j) { j["vocabulary"]["size"] = {{"a", 1}}; }, "\"vocabulary.size\" should be a whole number, found an object"},
      {"result.json", [](auto& j) { j["diverged"] = "no"; }, "\"diverged\" should be true or false"},
      {"result.json", [](auto& j) { j["final"] = {1, 2}; }, "\"final\" should be an object, found an array"},
      {"result.json", [](auto& j) { j["final"]["train"] = "low"; }, "\"final.train\" should be a number, found a string"},
      {"result.json", [](auto& j) { j["steps_done"] = 2.5; }, "\"steps_done\" should be a whole number, found a number (2.5)"},
      {"result.json", [](auto& j) { j = nullptr; }, "should hold a JSON object, found null"},
  };
  int n = 0;
  for (const Damage& d : damages) {
    const fs::path run = dir.path() / fmt::format("bad{}", n++);
    fs::create_directories(run);
    for (const char* name : {"config.json", "result.json", "losses.csv"}) fs::copy_file(good / name, run / name);
    nlohmann::json j = std::string(d.file) == "config.json" ? config : result;
    d.edit(j);
    writeFile(run / d.file, j.dump());
    CommandResult r = runNetc(fmt::format("compare '{}' --out '{}'", run.string(), (dir.path() / "page.html").string()));
    CAPTURE(d.said);
    checkError(r, 1, d.said);
    CHECK(r.has((run / d.file).string()));
  }
  // The last damaged run next to the good one: the page is written without it, and a warning says why.
  const fs::path page = dir.path() / "both.html";
  CommandResult r = runNetc(fmt::format("compare '{}' '{}' --out '{}'", good.string(), (dir.path() / "bad11").string(), page.string()));
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.has("netc: warning: left out run"));
  CHECK(r.has("should hold a JSON object, found null"));
  CHECK(r.has("compared 1 runs"));
  CHECK(fs::exists(page));
}

TEST_CASE("compare: a FIFO or a device among a run's files is refused, never waited on or read without end") {
  ScratchDir dir("netc_pages_fifo_");
  const fs::path good = dir.path() / "good";
  makeRun(good);
  auto damagedCopy = [&](const std::string& name) {
    const fs::path run = dir.path() / name;
    fs::create_directories(run);
    for (const char* f : {"config.json", "result.json", "losses.csv", "evals.csv"}) fs::copy_file(good / f, run / f);
    return run;
  };
  // Memory and time bounded, so that the old behaviour (reading /dev/zero until memory runs out, waiting on
  // the FIFO forever) fails the test instead of the machine.
  auto compare = [&](const fs::path& run) {
    return runShell(fmt::format("ulimit -v 4000000; timeout 60 \"$NETC\" compare '{}' --out '{}'", run.string(),
                                (dir.path() / "page.html").string()));
  };
  const fs::path fifoConfig = damagedCopy("fifo_config");
  fs::remove(fifoConfig / "config.json");
  REQUIRE(::mkfifo((fifoConfig / "config.json").c_str(), 0644) == 0);
  checkError(compare(fifoConfig), 1, "config.json': it is a FIFO (named pipe), not a regular file");
  const fs::path fifoLosses = damagedCopy("fifo_losses");
  fs::remove(fifoLosses / "losses.csv");
  REQUIRE(::mkfifo((fifoLosses / "losses.csv").c_str(), 0644) == 0);
  checkError(compare(fifoLosses), 1, "losses.csv': it is a FIFO (named pipe), not a regular file");
  const fs::path zero = damagedCopy("zero_losses");
  fs::remove(zero / "losses.csv");
  fs::create_symlink("/dev/zero", zero / "losses.csv");
  checkError(compare(zero), 1, "losses.csv': it is a character device, not a regular file");
  // Next to a readable run, the damaged ones are left out with a warning each.
  CommandResult all = compare(dir.path());
  CAPTURE(all.out);
  CHECK(all.status == 0);
  CHECK(all.has("compared 1 runs"));
  CHECK(all.has("(3 left out: see the warnings)"));
}

TEST_CASE("compare --out and lr-find --out never replace a file the command reads") {
  ScratchDir dir("netc_pages_overwrite_");
  const fs::path run = dir.path() / "run";
  makeRun(run);
  for (const char* name : {"config.json", "result.json", "losses.csv", "evals.csv"}) {
    const std::string before = readFile(run / name);
    // Another spelling of the same file: through "..".
    const fs::path out = run / ".." / "run" / name;
    CommandResult r = runNetc(fmt::format("compare '{}' --out '{}'", run.string(), out.string()));
    checkError(r, 1, "netc never overwrites one of its inputs");
    CHECK(readFile(run / name) == before);
  }
  // lr-find's outputs are lr_find.csv and lr_find.html in --out: a data file by either name is kept.
  const fs::path lr = dir.path() / "lr";
  fs::create_directories(lr);
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / kData, lr / "lr_find.csv");
  const std::string words = readFile(lr / "lr_find.csv");
  CommandResult r = runNetc(fmt::format("lr-find models/deep_tanh.net --data '{}' --steps 10 --out '{}'",
                                        (lr / "lr_find.csv").string(), lr.string()));
  checkError(r, 1, "netc never overwrites one of its inputs");
  CHECK(readFile(lr / "lr_find.csv") == words);
  // --out naming a file (the data file itself) is said in words.
  r = runNetc(fmt::format("lr-find models/deep_tanh.net --data '{}' --steps 10 --out '{}'", (lr / "lr_find.csv").string(),
                          (lr / "lr_find.csv").string()));
  checkError(r, 1, "is a file; lr-find writes lr_find.csv and lr_find.html into a folder");
  CHECK(readFile(lr / "lr_find.csv") == words);
}

TEST_CASE("lr-find: no NaN and no rate at which the loss diverged is ever suggested") {
  ScratchDir dir("netc_pages_lrfind_");
  // Every rate too high: the loss rises from the first step and diverges within a few. The files are still
  // written (the plot shows why), and the command fails saying there is no usable rate.
  const fs::path high = dir.path() / "high";
  CommandResult r = runNetc(fmt::format("lr-find models/deep_tanh.net --data {} --from 2 --to 4 --steps 10 --out '{}'", kData,
                                        high.string()));
  checkError(r, 1, "lr-find found no usable learning rate");
  CHECK(!r.has("suggested learning rate"));
  CHECK(!r.has("nan"));
  const std::string html = readFile(high / "lr_find.html");
  CHECK(html.find("No rate is suggested") != std::string::npos);
  CHECK(html.find("</svg>") != std::string::npos);
  CHECK(html.find("nan") == std::string::npos);
  CHECK(fs::exists(high / "lr_find.csv"));
  // Rates that are not finite numbers are refused before anything runs.
  for (const char* flags : {"--from -inf", "--to inf", "--from nan", "--to 400"}) {
    r = runNetc(fmt::format("lr-find models/deep_tanh.net --data {} --steps 10 {} --out '{}'", kData, flags,
                            (dir.path() / "flags").string()));
    CAPTURE(flags);
    checkError(r, 2, "must be from -20 to 20");
  }
  // A range that ends in divergence: the suggestion lies before it, and is a finite rate.
  const fs::path mixed = dir.path() / "mixed";
  r = runNetc(fmt::format("lr-find models/deep_tanh.net --data {} --from -3 --to 3 --steps 80 --out '{}'", kData, mixed.string()));
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  CHECK(r.has("diverged at step"));
  double suggested = 0;
  int64_t diverged = 0;
  REQUIRE(std::sscanf(r.out.substr(r.out.find("suggested learning rate ")).c_str(), "suggested learning rate %lf", &suggested) == 1);
  REQUIRE(std::sscanf(r.out.substr(r.out.find("diverged at step ")).c_str(), "diverged at step %ld", &diverged) == 1);
  CHECK(std::isfinite(suggested));
  // Step k's rate is 10^(-3 + 6k/79); the loss of step `diverged` came from step diverged-1's rate.
  CHECK(suggested < std::pow(10.0, -3 + 6.0 * static_cast<double>(diverged - 1) / 79) * 0.999);
}
