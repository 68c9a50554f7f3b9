// What a run leaves behind (the run folder's files) and what it shows (progress lines).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "runtime/training/progress.h"
#include "runtime/runs/run_folder.h"
#include "runtime/files/safetensors.h"
#include "runtime/training/trainer.h"
#include "run_netc.h"
#include "test_util.h"

using namespace netc;
using netc::testing::errorOf;
using netc::testing::runNetc;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("netc_run_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// The run files as every reader takes them: complete lines only (runtime/files/atomic_file.h).
std::vector<std::string> lines(const std::string& path) { return readCompleteLines(path); }

Model pseudoModel() { return testing::shippedModel("mlp_kaiming.net"); }

}  // namespace

TEST_CASE("run folder: losses, evaluations and the last good weights are on disk") {
  Model m = pseudoModel();
  Dataset d = loadDataset(m.data, m.vocab);
  TrainSpec spec = m.train;
  spec.steps = 12, spec.batch = 4, spec.logEvery = 5, spec.evalEvery = 10, spec.lr = {{0.1, 6}, {0.05, -1}};
  Trainer t(m, spec, EngineKind::Interp);
  std::string dir = (scratch() / "runs" / "a").string();
  TrainResult r;
  {
    RunFolder folder(dir);
    r = t.train(d, {&folder});
  }  // closing flushes the CSVs
  auto losses = lines(dir + "/losses.csv");
  REQUIRE(losses.size() == 13);
  CHECK(losses[0] == "step,loss,lr");
  CHECK(losses[1].rfind("0,", 0) == 0);
  CHECK(losses[6].substr(losses[6].rfind(',')) == ",0.1");   // step 5
  CHECK(losses[7].substr(losses[7].rfind(',')) == ",0.05");  // step 6: the schedule's second segment
  CHECK(std::stod(losses[1].substr(2)) == doctest::Approx(r.initialLoss).epsilon(1e-5));
  auto evals = lines(dir + "/evals.csv");
  REQUIRE(evals.size() == 5);
  CHECK(evals[0] == "done,split,loss");
  CHECK(evals[1].rfind("10,train,", 0) == 0);
  CHECK(evals[2].rfind("10,dev,", 0) == 0);
  CHECK(evals[4] == fmt::format("12,dev,{:.6f}", r.final[Split::Dev]));
  // The final checkpoint is the final weights (stored as F32).
  WeightMap saved = loadSafetensors(dir + "/weights.safetensors"), now = t.weights();
  REQUIRE(saved.size() == now.size());
  size_t differ = 0;
  for (auto& [name, tensor] : now)
    for (size_t i = 0; i < tensor.data.size(); ++i)
      differ += std::fabs(saved[name].data[i] - tensor.data[i]) > 1e-6 * (1 + std::fabs(tensor.data[i]));
  CHECK(differ == 0);

  // A default folder name never reuses an existing one.
  std::string p1 = RunFolder::defaultPath(scratch().string(), "mlp");
  CHECK(fs::path(p1).filename().string().rfind("mlp-", 0) == 0);
  fs::create_directories(p1);
  CHECK(RunFolder::defaultPath(scratch().string(), "mlp") != p1);
}

TEST_CASE("run folder: weights trained on another vocabulary are refused by name") {
  Model m = pseudoModel();
  std::string dir = (scratch() / "other_vocab").string();
  RunFolder folder(dir);
  folder.writeJson("config.json", {{"vocabulary", {{"chars", ".abcdefghijklmnopqrstuvwxyZ"}, {"size", 27}}}});
  folder.onCheckpoint(1, initParams(m.graph, 1));
  std::string err = errorOf([&] { loadWeightsFor(m, dir + "/weights.safetensors"); });
  CHECK(err.find("trained on the vocabulary \".abcdefghijklmnopqrstuvwxyZ\"") != std::string::npos);
  folder.writeJson("config.json", {{"vocabulary", describeVocabulary(m.vocab)}});
  CHECK(loadWeightsFor(m, dir + "/weights.safetensors").size() == 5);
  CHECK(errorOf([&] { loadWeightsFor(m, dir + "/missing.safetensors"); }).find("not found") != std::string::npos);
}

TEST_CASE("progress: plain lines every log_every and at the end, evaluations on their own line, quiet is silent") {
  std::FILE* f = std::tmpfile();
  Progress p(Progress::Mode::Lines, 25, 10, f);
  for (int i = 0; i < 25; ++i) p.onStep(i, 3.0 - 0.01 * i, 0.1);
  SplitLosses l;
  l.loss[0] = 2.5, l.loss[1] = 2.625;
  p.onEval(25, l);
  p.finish();
  Progress q(Progress::Mode::Quiet, 25, 10, f);
  for (int i = 0; i < 25; ++i) q.onStep(i, 1.0, 0.1);
  q.note("never shown");
  std::rewind(f);
  std::string text;
  for (char buf[256]; std::fgets(buf, sizeof buf, f);) text += buf;
  std::fclose(f);
  std::istringstream in(text);
  std::vector<std::string> got;
  for (std::string s; std::getline(in, s);) got.push_back(s);
  REQUIRE(got.size() == 5);
  CHECK(got[0].rfind("step  0/25  loss 3.0000  lr 0.1", 0) == 0);
  CHECK(got[1].rfind("step 10/25  loss 2.9000", 0) == 0);
  CHECK(got[3].rfind("step 24/25  loss 2.7600", 0) == 0);
  CHECK(got[4] == "eval after 25 steps:  train 2.5000  dev 2.6250");
  CHECK(formatDuration(12.34) == "12.3s");
  CHECK(formatDuration(125) == "2:05");
  CHECK(formatDuration(3725) == "1:02:05");
}

TEST_CASE("cli: netc run trains, evaluates, samples and saves, netc sample reads the weights back") {
  const std::string model = NETC_SOURCE_DIR "/models/mlp_kaiming.net", data = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  const std::string dir = (scratch() / "cli_run").string();
  auto [status, out] = runNetc("run " + model + " --data " + data +
                            " --engine interp --steps 40 --batch 16 --lr 0.05 --seed 5 --test --out " + dir);
  CAPTURE(out);
  REQUIRE(status == 0);
  CHECK(out.find("step 0: loss") != std::string::npos);  // not a terminal: plain lines
  CHECK(out.find("uniform baseline -ln(1/27) = 3.2958") != std::string::npos);
  CHECK(out.find("after 40 steps:  train ") != std::string::npos);
  // 20 samples, 10 shown: the line says so and where the rest are.
  CHECK(out.find(fmt::format("samples (10 of 20, all in {}/samples.txt): ", dir)) != std::string::npos);
  CHECK(out.find(" test ") != std::string::npos);
  for (const char* f : {"config.json", "losses.csv", "evals.csv", "weights.safetensors", "samples.txt", "result.json"})
    CHECK_MESSAGE(fs::exists(dir + "/" + f), f);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  CHECK(config["train"]["steps"] == 40);  // the overrides, resolved
  CHECK(config["train"]["batch"] == 16);
  CHECK(config["train"]["seed"] == 5);
  CHECK(config["train"]["lr"].size() == 1);
  CHECK(config["train"]["lr"][0]["lr"] == 0.05);
  CHECK(config["vocabulary"]["chars"] == ".abcdefghijklmnopqrstuvwxyz");
  CHECK(config["data"]["splits"]["train"]["words"] == 240);
  CHECK(lines(dir + "/losses.csv").size() == 41);
  auto samples = lines(dir + "/samples.txt");
  CHECK(samples.size() == 20);  // the sample section's count

  auto [s1, words] = runNetc("sample " + model + " --data " + data + " --engine interp --count 20 --seed 2147483657 " +
                          "--weights " + dir + "/weights.safetensors");
  CHECK(s1 == 0);
  std::string expected;
  for (auto& w : samples) expected += w + "\n";
  CHECK(words == expected);  // the same weights and seed give the words the run printed

  auto [s2, diverged] = runNetc("run " + model + " --data " + data + " --engine interp --steps 50 --lr 1e200 --quiet --out " +
                             (scratch() / "cli_diverged").string());
  CAPTURE(diverged);
  CHECK(s2 == 1);
  CHECK(diverged.find("training diverged at step 1: the minibatch loss is NaN") != std::string::npos);
  CHECK(diverged.find("smaller --lr") != std::string::npos);

  // A finite blow-up (lr 100 takes the loss from 3.3 into the thousands) stops the same way, and the run
  // folder keeps what it had: the configuration, the losses up to the limit, the statistics report, the result.
  const std::string blowDir = (scratch() / "cli_blowup").string();
  auto [s5, blowup] = runNetc("run " + model + " --data " + data + " --engine interp --steps 50 --batch 16 --lr 100 " +
                              "--quiet --out " + blowDir);
  CAPTURE(blowup);
  CHECK(s5 == 1);
  CHECK(blowup.find("training diverged at step ") != std::string::npos);
  CHECK(blowup.find("more than 100 x max(initial loss ") != std::string::npos);
  CHECK(blowup.find("no good weights were saved before it") != std::string::npos);  // log_every is 10000
  CHECK(blowup.find(" too high? Try a smaller --lr.") != std::string::npos);
  for (const char* f : {"config.json", "losses.csv", "result.json", "stats.jsonl", "report.html"})
    CHECK_MESSAGE(fs::exists(blowDir + "/" + f), f);
  CHECK_FALSE(fs::exists(blowDir + "/weights.safetensors"));
  CHECK_FALSE(fs::exists(blowDir + "/samples.txt"));
  nlohmann::json result = nlohmann::json::parse(std::ifstream(blowDir + "/result.json"));
  CHECK(result["diverged"] == true);
  const int64_t at = result["diverged_step"];
  CHECK(at > 0);
  CHECK(at < 50);
  CHECK(blowup.find(fmt::format("Learning rate 100 at step {} too high?", at)) != std::string::npos);
  CHECK(result["steps_done"] == at);
  CHECK(lines(blowDir + "/losses.csv").size() == static_cast<size_t>(at) + 1);  // the header and steps 0..at-1
  const double limit = 100 * std::max(double(result["initial_loss"]), std::log(27.0));
  for (auto& l : lines(blowDir + "/losses.csv"))
    if (l[0] != 's') CHECK(std::stod(l.substr(l.find(',') + 1)) <= limit);

  auto [s3, missing] = runNetc("sample " + model + " --data " + data + " --weights " + dir + "/nope.safetensors");
  CHECK(s3 == 1);
  CHECK(missing.find("nope.safetensors' not found") != std::string::npos);
  auto [s4, badStep] = runNetc("run " + model + " --data " + data + " --steps -3");
  CHECK(s4 == 2);  // a usage error (README)
  CHECK(badStep.find("--steps must be 0 or more") != std::string::npos);
}

namespace {

// A clock that moves only when told: `secondsPerStep` per onStep, to check the timing rules without waiting.
struct FakeClock {
  Progress::Clock::time_point t{};
  Progress::Now now() {
    return [this] { return t; };
  }
  void advance(double s) { t += std::chrono::duration_cast<Progress::Clock::duration>(std::chrono::duration<double>(s)); }
};

// Runs `steps` steps of `secondsPerStep` each through a Progress and returns what it printed, line by line.
std::vector<std::string> progressLines(Progress::Mode mode, int64_t steps, int64_t logEvery, double secondsPerStep,
                                       int64_t stopAfter = -1) {
  std::FILE* f = std::tmpfile();
  FakeClock clock;
  {
    Progress p(mode, steps, logEvery, f, clock.now());
    for (int64_t i = 0; i < steps && i != stopAfter; ++i) {
      p.onStep(i, 2.5, 0.1);
      clock.advance(secondsPerStep);
    }
    p.finish();
  }
  std::rewind(f);
  std::string text;
  for (char buf[512]; std::fgets(buf, sizeof buf, f);) text += buf;
  std::fclose(f);
  std::istringstream in(text);
  std::vector<std::string> got;
  for (std::string s; std::getline(in, s);) got.push_back(s);
  return got;
}

}  // namespace

TEST_CASE("progress: a slow run prints a line at least every 30 s, not only every log_every steps") {
  // One step a second (the interpreter at batch 8192) and log_every 1000: without the time rule, nothing
  // would show between step 0 and the end.
  auto got = progressLines(Progress::Mode::Lines, 200, 1000, 1.0);
  CAPTURE(got);
  REQUIRE(got.size() >= 7);
  CHECK(got.front().rfind("step   0/200", 0) == 0);
  CHECK(got[1].rfind("step  30/200  loss 2.5000  lr 0.1  1.0 steps/s  2:50 left", 0) == 0);
  CHECK(got[2].rfind("step  60/200", 0) == 0);
  CHECK(got.back().rfind("step 199/200", 0) == 0);
  CHECK(got.size() == 8);  // 0, 30, 60, ..., 180 and the last step
  // A fast run keeps to log_every.
  auto fast = progressLines(Progress::Mode::Lines, 200, 100, 0.001);
  CHECK(fast.size() == 3);
}

TEST_CASE("progress: a run estimated at hours says so once, after its first steps, even when quiet") {
  auto slow = progressLines(Progress::Mode::Lines, 200000, 1000, 1.0, 10);
  CAPTURE(slow);
  int warnings = 0;
  for (auto& l : slow)
    if (l.rfind("warning: at 1.0 steps/s, 200000 steps will take 56 h", 0) == 0) ++warnings;
  CHECK(warnings == 1);
  auto quiet = progressLines(Progress::Mode::Quiet, 200000, 1000, 1.0, 10);
  CAPTURE(quiet);
  REQUIRE(quiet.size() == 1);
  CHECK(quiet[0].rfind("warning: at 1.0 steps/s, 200000 steps will take 56 h", 0) == 0);
  // Not before kEstimateAfter (one step is no rate), and never for a run of minutes.
  CHECK(progressLines(Progress::Mode::Quiet, 200000, 1000, 1.0, 2).empty());
  CHECK(progressLines(Progress::Mode::Quiet, 200000, 1000, 0.01, 1000).empty());  // 2000 s in all
  CHECK(longRunWarning(7200, 0.5).find("at 0.5 steps/s, 7200 steps will take 4 h") != std::string::npos);
  CHECK(longRunWarning(1000, 0.5).empty());
  // The driver adds what would make this run faster.
  std::FILE* f = std::tmpfile();
  FakeClock clock;
  Progress p(Progress::Mode::Quiet, 200000, 1000, f, clock.now());
  p.setLongRunHint("--engine jit is much faster than interp");
  for (int i = 0; i < 5; ++i) p.onStep(i, 2.5, 0.1), clock.advance(1.0);
  std::rewind(f);
  char buf[512] = {};
  CHECK(std::fgets(buf, sizeof buf, f) != nullptr);
  std::fclose(f);
  CHECK(std::string(buf).find("make it shorter, and --engine jit is much faster than interp") != std::string::npos);
}

TEST_CASE("cli: a run resumed with --init-from --resume continues exactly as the uninterrupted run") {
  // Adam, so the moments and the step count are state that must come back too.
  const std::string model = (scratch() / "resume_model.net").string();
  {
    std::ifstream in(NETC_SOURCE_DIR "/models/mlp_batchnorm.net");
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    s.replace(s.find("optimizer = sgd"), std::string("optimizer = sgd").size(), "optimizer = adamw\n  betas = 0.9, 0.99");
    s.replace(s.find("lr = 0.1 until 100000, 0.01"), std::string("lr = 0.1 until 100000, 0.01").size(), "lr = 0.01");
    std::ofstream(model) << s;
  }
  const std::string data = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  const std::string full = (scratch() / "resume_full").string(), half = (scratch() / "resume_half").string(),
                    rest = (scratch() / "resume_rest").string();
  const std::string common = "run " + model + " --data " + data + " --batch 16 --quiet --no-stats ";
  REQUIRE(runNetc(common + "--steps 60 --out " + full).status == 0);
  REQUIRE(runNetc(common + "--steps 30 --out " + half).status == 0);
  auto resumed = runNetc(common + "--steps 60 --init-from " + half + "/weights.safetensors --resume --out " + rest);
  CAPTURE(resumed.out);
  REQUIRE(resumed.status == 0);
  auto lines = [](const std::string& f) {
    std::vector<std::string> out;
    std::ifstream in(f);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  std::vector<std::string> a = lines(full + "/losses.csv"), b = lines(rest + "/losses.csv");
  REQUIRE(a.size() == 61);  // header + 60 steps
  REQUIRE(b.size() == 31);  // header + steps 30..59
  for (size_t i = 1; i < b.size(); ++i) CHECK(b[i] == a[i + 30]);
  CHECK(lines(full + "/evals.csv") == lines(rest + "/evals.csv"));
  // The saved file marks the state (running statistics and Adam's moments) and the steps done.
  WeightMap w = loadSafetensors(full + "/weights.safetensors");
  CHECK(w.at("bnmean_running").state);
  CHECK(w.at("W1.exp_avg_sq").state);
  CHECK(w.at("optimizer.step").data[0] == 60);
  CHECK_FALSE(w.at("W1").state);
  CHECK(loadSafetensorsMetadata(full + "/weights.safetensors").at("netc.steps_done") == "60");
  // Without --resume the same weights start a new run from step 0.
  CHECK(runNetc(common + "--steps 5 --resume --out " + (scratch() / "resume_bad").string()).has("--resume continues"));
}
