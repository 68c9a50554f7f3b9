// The inputs a user names (a model file, --data, --config, --init-from, --weights, --inputs) are read under one
// rule: a regular file or a pipe is read, up to a bound per kind; a device, a socket or a directory is refused.
// And the JSON files netc reads take no key twice, and no negative count. Every command that could hang or
// exhaust memory on the old code runs under `timeout 60` and `ulimit -v`, so the old behaviour fails the test
// instead of the machine.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <string>

#include "run_netc.h"
#include "runtime/files/json_fields.h"
#include "support/diag.h"

using netc::testing::CommandResult;
using netc::testing::readFile;
using netc::testing::runShell;
using netc::testing::ScratchDir;
using netc::testing::shellQuote;
using netc::testing::writeFile;
namespace fs = std::filesystem;

namespace {

const std::string kData = "tests/data/pseudo_words.txt";
const std::string kModel = "models/deep_tanh.net";

// `line` with at most 60 seconds and 4 GB of address space: an endless read ends as a failure, not a hang.
CommandResult bounded(const std::string& line) { return runShell("ulimit -v 4000000; timeout 60 " + line); }

// One `netc: error:` line, exit 1, naming every fragment.
void expectRefused(const CommandResult& r, std::initializer_list<std::string> fragments) {
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.rfind("netc: error: ", 0) == 0);
  CHECK(r.out.find('\n') == r.out.size() - 1);
  for (const std::string& f : fragments) CHECK_MESSAGE(r.has(f), f);
}

const fs::path& scratch() {
  static ScratchDir dir("netc_inputs_");
  return dir.path();
}

// A short run folder, made once per test process.
const fs::path& trainedRun() {
  static const fs::path run = [] {
    const fs::path out = scratch() / "run";
    CommandResult r = bounded(fmt::format("$NETC run {} --data {} --steps 3 --quiet --no-stats --out {}", kModel, kData,
                                          shellQuote(out.string())));
    REQUIRE_MESSAGE(r.status == 0, r.out);
    return out;
  }();
  return run;
}

// A copy of trainedRun() with `file` replaced by `text`.
fs::path runWith(const std::string& name, const std::string& file, const std::string& text) {
  const fs::path run = scratch() / name;
  fs::remove_all(run);
  fs::create_directories(run);
  for (const char* f : {"config.json", "result.json", "losses.csv"}) fs::copy_file(trainedRun() / f, run / f);
  writeFile(run / file, text);
  return run;
}

// `text`, a JSON object, with `"key": first` put before its other keys: the key twice when it has one.
std::string withKeyFirst(const std::string& text, const std::string& key, const std::string& first) {
  REQUIRE(text.front() == '{');
  return "{\"" + key + "\":" + first + "," + text.substr(1);
}

}  // namespace

TEST_CASE("inputs: a device named as an input is refused before it is read, never read without end") {
  const std::string weights = (trainedRun() / "weights.safetensors").string();
  const std::string grad = "$NETC grad tests/fixtures/torch_mlp.net ";
  const std::string batch = "tests/fixtures/torch_mlp_batch.safetensors";
  const std::string out = shellQuote((scratch() / "out").string());
  const std::string device = "it is a character device (such as /dev/zero or a terminal), not a file: netc reads files and pipes";
  expectRefused(bounded("$NETC check /dev/zero"), {"model file '/dev/zero'", device});
  expectRefused(bounded(fmt::format("$NETC run {} --data /dev/zero --steps 1 --out {}", kModel, out)),
                {"dataset file '/dev/zero'", device});
  expectRefused(bounded("$NETC run --config /dev/zero --out " + out), {"config file '/dev/zero'", device});
  expectRefused(bounded(fmt::format("$NETC run {} --data {} --steps 1 --init-from /dev/zero --out {}", kModel, kData, out)),
                {"weights file '/dev/zero'", device});
  expectRefused(bounded(grad + "--weights /dev/zero --inputs " + batch + " --out " + out), {"'/dev/zero'", device});
  expectRefused(bounded(grad + "--weights tests/fixtures/torch_mlp_weights.safetensors --inputs /dev/zero --out " + out),
                {"'/dev/zero'", device});
}

TEST_CASE("inputs: an endless pipe ends with the bound's error, not memory exhaustion") {
  const std::string out = shellQuote((scratch() / "out").string());
  expectRefused(bounded(fmt::format("yes abc | $NETC run {} --data /dev/stdin --steps 1 --out {}", kModel, out)),
                {"dataset file '/dev/stdin'", "more than 1 GiB", "netc reads at most 1 GiB"});
  expectRefused(bounded("yes 'input x: [1]' | $NETC check /dev/stdin"),
                {"model file '/dev/stdin'", "netc reads at most 16 MiB"});
  expectRefused(bounded("yes '{' | $NETC run --config /dev/stdin --out " + out),
                {"config file '/dev/stdin'", "netc reads at most 64 MiB"});
  // A safetensors file is read as far as its header says: "y\ny\n..." is an 8-byte header length of 10^18.
  expectRefused(bounded("yes | $NETC grad tests/fixtures/torch_mlp.net --weights tests/fixtures/torch_mlp_weights.safetensors "
                        "--inputs /dev/stdin --out " + out),
                {"/dev/stdin", "header length", "netc reads for a header"});
}

TEST_CASE("inputs: a FIFO or a pipe is still read: a named pipe as --data, a model on /dev/stdin") {
  const fs::path fifo = scratch() / "words.fifo";
  fs::remove(fifo);
  const std::string out = shellQuote((scratch() / "fifo_run").string());
  CommandResult r = bounded(fmt::format("mkfifo {0} && {{ cat {1} > {0} & }} && $NETC run {2} --data {0} --steps 2 --quiet "
                                        "--no-stats --force --out {3}",
                                        shellQuote(fifo.string()), kData, kModel, out));
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(fs::exists(scratch() / "fifo_run" / "weights.safetensors"));
  CommandResult piped = bounded(fmt::format("cat {} | $NETC check /dev/stdin --data {}", kModel, kData));
  CAPTURE(piped.out);
  CHECK(piped.status == 0);
}

TEST_CASE("inputs: a key given twice in --config's config.json is refused, not read as its last value") {
  // The repeat section of a real run's config.json with "steps" given twice: the old code ran the last value.
  const std::string config = readFile(trainedRun() / "config.json");
  nlohmann::json j = nlohmann::json::parse(config);
  REQUIRE(j["repeat"].is_object());
  j["repeat"].erase("steps");
  std::string repeat = j["repeat"].dump();
  j.erase("repeat");
  const std::string text = "{\"repeat\":" + withKeyFirst(withKeyFirst(repeat, "steps", "2"), "steps", "1") + "," +
                           j.dump().substr(1);
  const fs::path path = scratch() / "twice.json";
  writeFile(path, text);
  const fs::path out = scratch() / "twice_run";
  expectRefused(bounded(fmt::format("$NETC run --config {} --quiet --force --out {}", shellQuote(path.string()),
                                    shellQuote(out.string()))),
                {path.string(), "has the key \"steps\" twice in one object"});
  CHECK(!fs::exists(out / "weights.safetensors"));
}

TEST_CASE("inputs: compare refuses a key given twice and a negative count in a run's files") {
  const std::string config = readFile(trainedRun() / "config.json"), result = readFile(trainedRun() / "result.json");
  nlohmann::json r = nlohmann::json::parse(result);
  r.erase("diverged");
  struct Case {
    std::string name, file, text, said;
  };
  nlohmann::json negativeSteps = nlohmann::json::parse(config), negativeDone = nlohmann::json::parse(result);
  negativeSteps["train"]["steps"] = -3;
  negativeDone["steps_done"] = -1;
  const Case cases[] = {
      {"diverged_twice", "result.json", withKeyFirst(withKeyFirst(r.dump(), "diverged", "true"), "diverged", "false"),
       "has the key \"diverged\" twice in one object"},
      {"model_twice", "config.json", withKeyFirst(config, "model", "{\"name\":\"other\"}"),
       "has the key \"model\" twice in one object"},
      {"negative_steps", "config.json", negativeSteps.dump(), "\"train.steps\" should be a whole number of at least 0, found a number (-3)"},
      {"negative_done", "result.json", negativeDone.dump(), "\"steps_done\" should be a whole number of at least 0, found a number (-1)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const fs::path run = runWith(c.name, c.file, c.text);
    const fs::path page = scratch() / (c.name + ".html");
    expectRefused(bounded(fmt::format("$NETC compare {} --out {}", shellQuote(run.string()), shellQuote(page.string()))),
                  {(run / c.file).string(), c.said});
    // Beside a good run the damaged one is left out, said in a warning.
    CommandResult both = bounded(fmt::format("$NETC compare {} {} --out {}", shellQuote(trainedRun().string()),
                                             shellQuote(run.string()), shellQuote(page.string())));
    CAPTURE(both.out);
    CHECK(both.status == 0);
    CHECK(both.has("left out run"));
    CHECK(both.has(c.said));
  }
}

TEST_CASE("inputs: the config.json beside --init-from weights takes no key twice") {
  // The vocabulary check reads it: with "vocabulary" twice the old code checked against the last one only.
  const fs::path run = scratch() / "init_twice";
  fs::remove_all(run);
  fs::create_directories(run);
  fs::copy_file(trainedRun() / "weights.safetensors", run / "weights.safetensors");
  const std::string config = readFile(trainedRun() / "config.json");
  writeFile(run / "config.json", withKeyFirst(config, "vocabulary", "{\"chars\":\".xyz\",\"size\":4}"));
  expectRefused(bounded(fmt::format("$NETC run {} --data {} --steps 1 --quiet --no-stats --force --init-from {} --out {}",
                                    kModel, kData, shellQuote((run / "weights.safetensors").string()),
                                    shellQuote((scratch() / "init_out").string()))),
                {(run / "config.json").string(), "has the key \"vocabulary\" twice in one object"});
}

TEST_CASE("inputs: parseStrictJson refuses a key twice in any one object, and only that") {
  auto error = [](const std::string& text) {
    try {
      netc::parseStrictJson(text, "f.json");
    } catch (const netc::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error(R"({"a": {"b": 1, "c": [{"b": 2}], "b": 3}})").find("'f.json' has the key \"b\" twice") != std::string::npos);
  CHECK(error(R"([{"k": 1}, {"k": 2, "k": 3}])").find("the key \"k\" twice") != std::string::npos);
  // The same key in different objects, or a value equal to a key, is fine.
  CHECK(error(R"({"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 2}, {"x": 3}], "d": "a"})").empty());
  CHECK(error(R"({"a": 1,})").find("'f.json' is not valid JSON") != std::string::npos);
}
