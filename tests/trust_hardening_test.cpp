// What netc trusts in the files it reads back: a safetensors header of any size is read in linear time, a
// checkpoint's step count and optimizer state are checked like command-line values, config.json's repeat
// section goes through the command line's own validators, and a resumed run is bit for bit the
// uninterrupted one with the default thread team.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_netc.h"
#include "runtime/files/safetensors.h"
#include "support/diag.h"

using namespace netc;
using netc::testing::CommandResult;
using netc::testing::readFile;
using netc::testing::runNetc;
using netc::testing::writeFile;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static netc::testing::ScratchDir dir("netc_trust_");
  return dir.path();
}

const std::string kData = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
// A small BatchNorm MLP with Adam, so the checkpoint holds a step count and second moments.
const std::string kAdamRun = "run models/mlp_batchnorm.net --data " + kData +
                             " --batch 16 --quiet --no-stats --set train.optimizer=adam ";

// One line, `netc: error:`, the status asked for, and every fragment in it.
void expectRefused(const CommandResult& r, int status, std::initializer_list<std::string> fragments) {
  CAPTURE(r.out);
  CHECK(r.status == status);
  CHECK(r.out.rfind("netc: error: ", 0) == 0);
  CHECK(r.out.find('\n') == r.out.size() - 1);
  for (const std::string& f : fragments) CHECK_MESSAGE(r.has(f), f);
}

// A checkpoint of kAdamRun after 4 steps, trained once per test process.
const std::string& adamCheckpoint() {
  static const std::string path = [] {
    const std::string out = (scratch() / "adam").string();
    CommandResult r = runNetc(kAdamRun + "--steps 4 --out " + out);
    INFO(r.out);
    REQUIRE(r.status == 0);
    return out + "/weights.safetensors";
  }();
  return path;
}

// The checkpoint rewritten with `edit` applied to its tensors and metadata, as a hostile or careless edit would.
template <class Edit>
std::string editedCheckpoint(const std::string& name, Edit edit) {
  WeightMap w = loadSafetensors(adamCheckpoint());
  std::map<std::string, std::string> meta = loadSafetensorsMetadata(adamCheckpoint());
  meta.erase("netc.state");  // written again from the tensors' state flags
  edit(w, meta);
  const std::string path = (scratch() / (name + ".safetensors")).string();
  saveSafetensors(path, w, {}, meta);
  return path;
}

CommandResult resumeFrom(const std::string& weights) {
  return runNetc(kAdamRun + "--steps 8 --force --init-from " + weights + " --resume --out " +
                 (scratch() / "resumed").string());
}

}  // namespace

TEST_CASE("trust: a safetensors header with 100,000 entries is read in linear time, and a repeated key refused") {
  // The duplicate-key check ran in quadratic time (20,000 entries: over two minutes, 100,000 far beyond the
  // test's timeout); one pass over the keys reads them in well under a second.
  constexpr int kEntries = 100'000;
  std::string header = "{";
  for (int i = 0; i < kEntries; ++i)
    header += fmt::format("{}\"t{}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", i ? "," : "", i);
  auto write = [&](const std::string& name, const std::string& text) {
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
    const std::string path = (scratch() / name).string();
    std::ofstream(path, std::ios::binary) << bytes << text;
    return path;
  };
  WeightMap w = loadSafetensors(write("many.safetensors", header + "}"));
  CHECK(w.size() == kEntries);
  // The same header with its first key again at the end.
  const std::string twice = write("twice.safetensors",
                                  header + ",\"t0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}");
  CHECK_THROWS_WITH_AS(loadSafetensors(twice), doctest::Contains("the header has the key 't0' twice"), Error);
}

TEST_CASE("trust: --resume reads netc.steps_done whole, a whole number of steps, or refuses the file") {
  for (const char* bad : {"1e3", "500abc", "abc", "-1", "", " 2", "99999999999999999999"}) {
    CAPTURE(bad);
    const std::string file = editedCheckpoint("steps_done", [&](WeightMap&, auto& meta) { meta["netc.steps_done"] = bad; });
    expectRefused(resumeFrom(file), 1, {file, "metadata 'netc.steps_done' is '" + std::string(bad) + "'",
                                        "expected a whole number of steps"});
  }
  // A whole number beyond the run's steps keeps its own message; one within them resumes.
  expectRefused(resumeFrom(editedCheckpoint("steps_9", [](WeightMap&, auto& meta) { meta["netc.steps_done"] = "9"; })),
                1, {"saved after 9 steps, more than the 8 steps of this run"});
  CHECK(resumeFrom(adamCheckpoint()).status == 0);
}

TEST_CASE("trust: a checkpoint's optimizer step count and second moments are checked before a run continues") {
  for (double step : {-10.0, 1e30, 2.5}) {
    CAPTURE(step);
    const std::string file = editedCheckpoint("step", [&](WeightMap& w, auto&) { w.at("optimizer.step").data[0] = step; });
    expectRefused(resumeFrom(file), 1, {file, "optimizer state 'optimizer.step'", "expected a whole number of steps"});
  }
  // Fewer steps than the metadata says were done: Adam counts every step it took.
  const std::string fewer = editedCheckpoint("fewer", [](WeightMap& w, auto&) { w.at("optimizer.step").data[0] = 2; });
  expectRefused(resumeFrom(fewer), 1, {fewer, "'optimizer.step' is 2, but its metadata says 4 steps were done"});
  const std::string negative = editedCheckpoint("moment", [](WeightMap& w, auto&) { w.at("W1.exp_avg_sq").data[3] = -0.5; });
  expectRefused(resumeFrom(negative), 1,
                {negative, "optimizer state 'W1.exp_avg_sq'", "element 3 is -0.5", "second moment", "0 or more"});
}

TEST_CASE("trust: --config's repeat section is checked by the command line's own validators, naming the key") {
  // A config.json whose repeat section is a correct one with `key` set to `value` (null: removed).
  auto configWith = [](const std::string& key, const nlohmann::json& value) {
    nlohmann::json repeat = {{"model", "models/mlp_batchnorm.net"}, {"data", kData}, {"set", {"train.steps=3"}},
                             {"batch", 16}, {"threads", 1}, {"no_stats", true}};
    repeat[key] = value;
    const std::string path = (scratch() / "config.json").string();
    std::ofstream(path) << nlohmann::json{{"repeat", repeat}}.dump();
    return path;
  };
  auto run = [](const std::string& config) {
    return runNetc("run --config " + config + " --quiet --force --out " + (scratch() / "repeat").string());
  };
  // The command line refuses 1000 threads; so does the config (it ran 64).
  CHECK(runNetc("run models/mlp_batchnorm.net --threads 1000").status == 2);
  expectRefused(run(configWith("threads", 1000)), 2, {"repeat.threads is 1000", "--threads", "1000"});
  // A step count as a string was dropped, and the model's own steps ran.
  expectRefused(run(configWith("steps", "1000")), 2, {"repeat.steps must be a whole number", "\"1000\""});
  expectRefused(run(configWith("steps", 2.5)), 2, {"repeat.steps must be a whole number", "2.5"});
  // A key netc run never writes was ignored.
  expectRefused(run(configWith("stepz", 5)), 2, {"unknown key repeat.stepz", "did you mean 'steps'"});
  expectRefused(run(configWith("test", "yes")), 2, {"repeat.test must be true or false"});
  expectRefused(run(configWith("set", "train.steps=3")), 2, {"repeat.set must be a list of strings"});
  expectRefused(run(configWith("engine", "fast")), 2, {"repeat.engine is \"fast\"", "fast"});
  // Values the command line checks after parsing name the key too.
  expectRefused(run(configWith("steps", -5)), 2, {"repeat.steps (as --steps) must be 0 or more, found -5"});
  expectRefused(run(configWith("lr", 0)), 2, {"repeat.lr (as --lr) must be a positive number"});
  expectRefused(run(configWith("batch", 0)), 2, {"repeat.batch (as --batch) must be at least 1"});
  // A recorded resume without starting weights started a fresh run and recorded resume false; the command line
  // refuses --resume without --init-from.
  CHECK(runNetc("run models/mlp_batchnorm.net --resume --steps 1 --quiet --out " + (scratch() / "alone").string()).status == 1);
  expectRefused(run(configWith("resume", true)), 1, {"--resume continues the run whose weights --init-from names"});
  // A correct one repeats, and the command line still takes precedence.
  CommandResult ok = run(configWith("steps", 2));
  INFO(ok.out);
  CHECK(ok.status == 0);
  std::ifstream in(scratch() / "repeat" / "config.json");
  nlohmann::json written = nlohmann::json::parse(in);
  CHECK(written["repeat"]["steps"] == 2);
  CHECK(runNetc("run --config " + configWith("steps", 2) + " --steps 1 --quiet --force --out " +
                (scratch() / "repeat").string()).status == 0);
  std::ifstream in2(scratch() / "repeat" / "config.json");
  CHECK(nlohmann::json::parse(in2)["train"]["steps"] == 1);
}

TEST_CASE("trust: deep_batchnorm resumed with the default thread team is the uninterrupted run bit for bit") {
  // With a team, the probe step (statistics) splits its sums unlike the plain step, and a run that is probed
  // at other steps (a shorter run probes its last, a resumed one its first) took other floats. The default
  // team where this machine has the cores for one; two threads asked for otherwise, so the test always
  // exercises a team.
  const std::string common = "run models/deep_batchnorm.net --data " + kData + " --quiet --force ";
  const std::string full = (scratch() / "bn_full").string(), half = (scratch() / "bn_half").string();
  auto team = [](const std::string& run) {
    std::ifstream in(run + "/config.json");
    return nlohmann::json::parse(in)["repeat"]["threads"].get<int>();
  };
  std::string threads;  // the default
  REQUIRE(runNetc(common + "--steps 6 --out " + full).status == 0);
  if (team(full) == 1) {
    threads = "--threads 2 ";
    REQUIRE(runNetc(common + threads + "--steps 6 --out " + full).status == 0);
  }
  REQUIRE(runNetc(common + threads + "--steps 3 --out " + half).status == 0);
  CommandResult resumed = runNetc(common + threads + "--steps 6 --init-from " + half + "/weights.safetensors --resume --out " + half);
  INFO(resumed.out);
  REQUIRE(resumed.status == 0);
  WeightMap a = loadSafetensors(full + "/weights.safetensors"), b = loadSafetensors(half + "/weights.safetensors");
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    CAPTURE(name);
    CHECK(t.data == b.at(name).data);
  }
}

TEST_CASE("trust: --resume continues only the run that stopped: its settings, its optimizer") {
  const std::string base = "run models/mlp_kaiming.net --data " + kData + " --no-stats --quiet ";
  const fs::path sgd = scratch() / "resume_sgd", adam = scratch() / "resume_adam";
  REQUIRE(runNetc(base + "--steps 10 --force --out " + sgd.string()).status == 0);
  REQUIRE(runNetc(base + "--steps 10 --set train.optimizer=adam --force --out " + adam.string()).status == 0);
  auto resume = [&](const fs::path& dir, const std::string& extra) {
    return runNetc(base + "--steps 20 " + extra + " --out " + dir.string() + " --init-from " + (dir / "weights.safetensors").string() +
                   " --resume");
  };
  // Another batch size, seed or optimizer is another run: refused, naming what differs.
  expectRefused(resume(sgd, "--batch 16"), 1, {"records train.batch 32, but this run has 16"});
  expectRefused(resume(sgd, "--seed 7"), 1, {"records train.seed"});
  expectRefused(resume(adam, ""), 1, {"records train.optimizer", "\"sgd\""});
  // Without its config.json, Adam's moments in an SGD run still say which optimizer saved the checkpoint.
  const fs::path lone = scratch() / "lone" / "weights.safetensors";  // a folder with no config.json
  fs::create_directories(lone.parent_path());
  fs::copy_file(adam / "weights.safetensors", lone, fs::copy_options::overwrite_existing);
  CommandResult r = runNetc(base + "--steps 20 --out " + (scratch() / "resume_lone").string() + " --init-from " + lone.string() +
                            " --resume");
  expectRefused(r, 1, {"state of an optimizer this run does not use (it trains with sgd)"});
  // A config.json beside the weights that records no settings cannot vouch for the run: refused.
  const std::string recorded = readFile(sgd / "config.json");
  writeFile(sgd / "config.json", "{}");
  expectRefused(resume(sgd, "--batch 7"), 1, {"records no train settings"});
  writeFile(sgd / "config.json", recorded);
  // The same settings, more steps: resumed.
  CHECK(resume(sgd, "").status == 0);
}
