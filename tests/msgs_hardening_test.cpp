// Messages and outputs that must not mislead: a command checks every output path before it writes any (no half
// result left by a failed command), an error in --config's repeat.set names the entry at fault, and
// bidirectional controls in a user's text are shown escaped in messages and pages, never raw.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "headless_chromium.h"
#include "run_netc.h"
#include "runtime/files/atomic_file.h"
#include "runtime/pages/page_template.h"
#include "support/diag.h"

using netc::testing::CommandResult;
using netc::testing::haveChromium;
using netc::testing::renderedDom;
using netc::testing::readFile;
using netc::testing::runNetc;
using netc::testing::ScratchDir;
using netc::testing::shellQuote;
using netc::testing::writeFile;
namespace fs = std::filesystem;

namespace {
const std::string kGrad =
    "grad tests/fixtures/torch_mlp.net --weights tests/fixtures/torch_mlp_weights.safetensors "
    "--inputs tests/fixtures/torch_mlp_batch.safetensors";
const std::string kRlo = "\xe2\x80\xae";  // U+202E RIGHT-TO-LEFT OVERRIDE
}  // namespace

TEST_CASE("outputs: netc grad checks --stats before it writes --out") {
  ScratchDir dir("netc_msgs_grad_");
  const fs::path out = dir.path() / "g.safetensors";
  // A --stats in a folder that does not exist, then one that is a folder: refused, and no gradients written.
  for (const fs::path& stats : {dir.path() / "missing" / "s.json", dir.path()}) {
    CAPTURE(stats);
    CommandResult r = runNetc(kGrad + " --out " + shellQuote(out.string()) + " --stats " + shellQuote(stats.string()));
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.has("cannot write '" + stats.string() + "'"), r.out);
    CHECK_FALSE(r.has("gradients"));
    CHECK_FALSE(fs::exists(out));
  }
  // The checks leave no temporary behind, and good paths still get both files.
  CommandResult ok = runNetc(kGrad + " --out " + shellQuote(out.string()) + " --stats " + shellQuote((dir.path() / "s.json").string()));
  REQUIRE_MESSAGE(ok.status == 0, ok.out);
  CHECK(fs::exists(out));
  CHECK(fs::exists(dir.path() / "s.json"));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 2);
}

TEST_CASE("outputs: checkOutputPath refuses what the write would refuse, and writes nothing") {
  ScratchDir dir("netc_msgs_check_");
  CHECK_THROWS_WITH_AS(netc::checkOutputPath((dir.path() / "no" / "f").string(), netc::OutputPath::Named),
                       doctest::Contains("No such file or directory"), netc::Error);
  CHECK_THROWS_AS(netc::checkOutputPath(dir.path().string(), netc::OutputPath::Named), netc::Error);
  fs::create_symlink(dir.path() / "nowhere", dir.path() / "dangling");
  CHECK_THROWS_AS(netc::checkOutputPath((dir.path() / "dangling").string(), netc::OutputPath::Named), netc::Error);
  CHECK_NOTHROW(netc::checkOutputPath((dir.path() / "new").string(), netc::OutputPath::Named));
  CHECK_NOTHROW(netc::checkOutputPath("/dev/null", netc::OutputPath::Named));
  CHECK_FALSE(fs::exists(dir.path() / "new"));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);  // the link only: no temporary left
}

TEST_CASE("config: an error in a repeat.set entry names the entry") {
  ScratchDir dir("netc_msgs_config_");
  const fs::path a = dir.path() / "a";
  CommandResult r = runNetc("run models/deep_tanh.net --data tests/data/pseudo_words.txt --set gain=3 --steps 1 "
                            "--quiet --no-stats --out " + a.string());
  REQUIRE_MESSAGE(r.status == 0, r.out);
  nlohmann::json j = nlohmann::json::parse(readFile(a / "config.json"));
  struct Case {
    nlohmann::json sets;
    int status;
    std::string expected;
  };
  const Case cases[] = {
      {{"gain=3", "train.lr=0.1", "train.lr=abc"}, 1, "repeat.set[2]: --set train.lr=abc: error: 'train.lr' is set twice"},
      {{"gain=3", 5}, 2, "repeat.set[1] must be a string, found 5"},
      {{"gain=3", "nosuch=1"}, 1, "repeat.set[1]: --set nosuch=1: error: unknown constant 'nosuch'"},
      {{"gain=3", "train.lr"}, 2, "repeat.set[1]: --set train.lr: expected NAME=VALUE"},
      {{"gain=(1"}, 1, "repeat.set[0]: --set gain=(1: error: expected ')'"},
  };
  int n = 0;
  for (const Case& c : cases) {
    CAPTURE(c.sets.dump());
    j["repeat"]["set"] = c.sets;
    const fs::path config = dir.path() / ("c" + std::to_string(n++) + ".json");
    writeFile(config, j.dump());
    CommandResult bad = runNetc("run --config " + config.string() + " --steps 1 --quiet --out " + (dir.path() / "b").string());
    CHECK(bad.status == c.status);
    CHECK_MESSAGE(bad.has("--config " + config.string() + ": " + c.expected), bad.out);
  }
  // A --set on the command line replaces the entry of its name: an error in it is the command line's.
  j["repeat"]["set"] = {"gain=3"};
  writeFile(dir.path() / "ok.json", j.dump());
  CommandResult here = runNetc("run --config " + (dir.path() / "ok.json").string() + " --set gain=zz --steps 1 --quiet --out " +
                               (dir.path() / "b").string());
  CHECK(here.status != 0);
  CHECK_MESSAGE(here.has("--set gain=zz"), here.out);
  CHECK_FALSE(here.has("repeat.set"));
}

TEST_CASE("diag: bidirectional controls are escaped in messages and pages") {
  // Each of them, as UTF-8, is shown as \uXXXX; the letters around them and other non-ASCII text stay.
  const std::pair<const char*, const char*> controls[] = {
      {"\xd8\x9c", "\\u061c"},     {"\xe2\x80\x8e", "\\u200e"}, {"\xe2\x80\x8f", "\\u200f"},
      {"\xe2\x80\xaa", "\\u202a"}, {"\xe2\x80\xae", "\\u202e"}, {"\xe2\x81\xa6", "\\u2066"},
      {"\xe2\x81\xa9", "\\u2069"},
  };
  for (const auto& [raw, escaped] : controls) {
    CAPTURE(escaped);
    CHECK(netc::printable(std::string("a") + raw + "b") == std::string("a") + escaped + "b");
    CHECK(netc::page::htmlText(std::string("a") + raw + "<") == std::string("a") + escaped + "&lt;");
  }
  CHECK(netc::printable("caf\xc3\xa9 \xe2\x80\x94 \xe2\x80\xad") == "caf\xc3\xa9 \xe2\x80\x94 \\u202d");
  CHECK(netc::printable("\xe2\x80\x8d\xe2\x81\xa5") == "\xe2\x80\x8d\xe2\x81\xa5");  // U+200D, U+2065: not bidi controls
  // A message with one reaches the terminal escaped: a --data file name, and a --set value.
  CommandResult r = runNetc("check models/deep_tanh.net --data " + shellQuote("x" + kRlo + "y.txt"));
  CHECK(r.status != 0);
  CHECK_MESSAGE(r.has("x\\u202ey.txt"), r.out);
  CHECK_FALSE(r.has(kRlo));
  CommandResult s = runNetc("check models/deep_tanh.net --data tests/data/pseudo_words.txt --set " + shellQuote("gain=" + kRlo + "3"));
  CHECK(s.status != 0);
  CHECK_MESSAGE(s.has("\\u202e"), s.out);
  CHECK_FALSE(s.has(kRlo));
}

TEST_CASE("pages: a bidirectional control in a model's name is shown escaped in report.html and compare.html") {
  ScratchDir dir("netc_msgs_pages_");
  const fs::path model = dir.path() / ("a" + kRlo + "b.net");
  fs::copy_file(fs::path(NETC_SOURCE_DIR) / "models/deep_tanh.net", model);
  const fs::path run = dir.path() / "run", page = dir.path() / "compare.html";
  CommandResult r = runNetc("run " + shellQuote(model.string()) + " --data tests/data/pseudo_words.txt --steps 2 --quiet --out " + run.string());
  REQUIRE_MESSAGE(r.status == 0, r.out);
  REQUIRE(runNetc("compare " + run.string() + " --out " + page.string()).status == 0);
  CHECK(readFile(page).find("<title>netc compare: a\\u202eb") != std::string::npos);  // htmlText
  if (!haveChromium()) {
    MESSAGE("chromium is not installed: the pages were written but not rendered");
    return;
  }
  for (const fs::path& p : {run / "report.html", page}) {
    CAPTURE(p);
    std::string dom = renderedDom(p, dir.path() / "profile");
    REQUIRE(!dom.empty());
    // What is shown: the data in <script> elements (read back by the page as it was) left out.
    for (size_t at = dom.find("<script"); at != std::string::npos; at = dom.find("<script", at))
      dom.erase(at, dom.find("</script>", at) + 9 - at);
    CHECK(dom.find("a\\u202eb") != std::string::npos);
    CHECK(dom.find(kRlo) == std::string::npos);
  }
}
