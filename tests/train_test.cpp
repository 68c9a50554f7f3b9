// Training: the loop's hooks, exact evaluation, divergence handling, and a real model learning names.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <fmt/format.h>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "engine/make_engine.h"
#include "runtime/data/dataset.h"
#include "runtime/training/evaluator.h"
#include "runtime/training/trainer.h"
#include "runtime/files/weights.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("netc_train_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// The lecture's Kaiming MLP with H hidden units, the given data file and train settings.
std::string writeMlp(const std::string& name, const std::string& data, int hidden, const std::string& train) {
  std::string path = (scratch() / name).string();
  std::ofstream(path) << "data \"" << data << "\" {\n  context = 3\n  split = 0.8, 0.1, 0.1\n  seed = 42\n}\n"
                      << "const E = 10\nconst H = " << hidden << "\n"
                      << "input x : int[B, T]\ninput y : int[B]\n"
                      << "param C  : [V, E]    = randn\n"
                      << "param W1 : [T*E, H]  = randn * (5/3) / sqrt(T*E)\n"
                      << "param b1 : [H]       = randn * 0.01\n"
                      << "param W2 : [H, V]    = randn * 0.01\n"
                      << "param b2 : [V]       = randn * 0\n"
                      << "h = tanh(reshape(C[x], [B, T*E]) @ W1 + b1)\n"
                      << "logits = h @ W2 + b2\nloss = cross_entropy(logits, y)\nminimize loss\n"
                      << "train {\n" << train << "\n}\n";
  return path;
}

const std::string kPseudo = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";

// Records every call, to check when the loop calls its observers.
struct Recorder : TrainObserver {
  std::vector<int64_t> steps, probes, evals, checkpoints;
  std::vector<double> losses;
  WeightMap lastGood;
  void onStep(int64_t step, double loss, double) override { steps.push_back(step), losses.push_back(loss); }
  void onProbe(Engine&, int64_t step, double) override { probes.push_back(step); }
  void onEval(int64_t done, const SplitLosses&) override { evals.push_back(done); }
  void onCheckpoint(int64_t done, const WeightMap& w) override { checkpoints.push_back(done), lastGood = w; }
};

// 200 steps of the small MLP at lr 0.1 for 30 steps, then at `lr`, which must make the run diverge after
// step 30 and before the end.
TrainResult divergingRun(const char* file, const char* lr, Recorder& rec) {
  std::string net = writeMlp(file, kPseudo, 16,
                             fmt::format("steps = 200\n batch = 8\n lr = 0.1 until 30, {}\n log_every = 1\n "
                                         "probe_every = 1000",
                                         lr));
  Model m = loadModel(net);
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer t(m, m.train, EngineKind::Interp);
  TrainResult r = t.train(d, {&rec});
  REQUIRE(r.diverged);
  MESSAGE(r.divergence);
  CHECK(r.done > 30);
  CHECK(r.done < 200);
  return r;
}

}  // namespace

TEST_CASE("trainer: observers are called at step 0, every probe/log/eval interval, and the end") {
  std::string net = writeMlp("hooks.net", kPseudo, 16,
                             "steps = 25\n batch = 8\n lr = 0.1\n log_every = 10\n eval_every = 20\n probe_every = 7");
  Model m = loadModel(net);
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer t(m, m.train, EngineKind::Interp);
  Recorder rec;
  TrainResult r = t.train(d, {&rec});
  CHECK_FALSE(r.diverged);
  CHECK(r.done == 25);
  CHECK(rec.steps.size() == 25);
  CHECK(rec.probes == std::vector<int64_t>{0, 7, 14, 21, 24});
  CHECK(rec.evals == std::vector<int64_t>{20, 25});
  CHECK(rec.checkpoints == std::vector<int64_t>{10, 20, 25});
  CHECK(r.lastCheckpoint == 25);
  CHECK(r.initialLoss == rec.losses.front());
  CHECK(std::isfinite(r.final[Split::Train]));
  CHECK(std::isfinite(r.final[Split::Dev]));
  CHECK(std::isnan(r.final[Split::Test]));  // only with --test

  // The same seed repeats the run exactly; another seed draws other weights and batches.
  Trainer again(m, m.train, EngineKind::Interp);
  Recorder rec2;
  again.train(d, {&rec2});
  CHECK(rec2.losses == rec.losses);
  TrainSpec other = m.train;
  other.seed = 99;
  Trainer third(m, other, EngineKind::Interp);
  Recorder rec3;
  third.train(d, {&rec3});
  CHECK(rec3.losses != rec.losses);
}

TEST_CASE("evaluator: the mean over a split is exact whatever the chunking") {
  std::string net = writeMlp("eval.net", kPseudo, 16, "steps = 1");
  Model m = loadModel(net);
  Dataset d = loadDataset(m.data, m.vocab);
  WeightMap w = initParams(m.graph, 3);
  const Examples& dev = d[Split::Dev];
  REQUIRE(dev.size() > 20);
  // The reference: one engine bound to the whole split.
  auto whole = makeEngine(bindBatch(m.graph, dev.size()), EngineKind::Interp);
  loadParams(*whole, w, "w");
  whole->writeIndices(m.contextInput, dev.x);
  whole->writeIndices(m.targetInput, dev.y);
  whole->run();
  const double expected = whole->readScalar(m.graph.loss);
  for (int64_t chunk : {int64_t{7}, int64_t{64}, dev.size(), int64_t{4096}}) {
    Evaluator e(m, EngineKind::Interp, chunk);
    CHECK(e.meanLoss(w, dev) == doctest::Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("trainer: a diverging run stops at the first non-finite loss and keeps the last good weights") {
  // 30 sane steps, then a learning rate that blows the parameters up.
  Recorder rec;
  TrainResult r = divergingRun("diverge.net", "1e200", rec);
  CHECK(r.divergence.find(fmt::format("training diverged at step {}", r.done)) != std::string::npos);
  // The NaN reached every parameter through the loss: no single one is blamed (it used to be the first, C).
  CHECK(r.divergence.find("all 5 parameters are non-finite") != std::string::npos);
  CHECK(r.divergence.find("parameter '") == std::string::npos);
  CHECK(r.divergence.find(fmt::format("last good loss {:.5g} at step {}", r.lastLoss, r.done - 1)) !=
        std::string::npos);
  // Whatever the checkpoints saw was finite: that is what a diverged run leaves on disk.
  // The checkpoint after step 30's huge update is finite but useless, and its loss (step 31's) is not: the last
  // good one is the weights after 30 updates at lr 0.1, modest in size.
  CHECK(r.lastCheckpoint == 30);
  CHECK(rec.checkpoints.back() == 30);
  double largest = 0;
  for (auto& [name, tensor] : rec.lastGood)
    for (double v : tensor.data) largest = std::max(largest, std::fabs(v));
  CHECK(largest < 100);
  CHECK(rec.evals.empty());
}

TEST_CASE("trainer: a loss that explodes but stays finite is divergence too, stopped at the limit") {
  // 30 sane steps, then lr 100: the loss climbs into the thousands and stays finite (no NaN, no inf).
  Recorder rec;
  TrainResult r = divergingRun("blowup.net", "100", rec);
  const double limit = 100 * std::max(r.initialLoss, std::log(27.0));
  CHECK(r.lossLimit == doctest::Approx(limit));
  CHECK(r.divergedStep == r.done);
  CHECK(r.divergence.find(fmt::format("training diverged at step {}: the minibatch loss is ", r.done)) !=
        std::string::npos);
  CHECK(r.divergence.find(fmt::format("more than 100 x max(initial loss {:.5g}, ln 27 = 3.2958) = {:.5g}",
                                      r.initialLoss, limit)) != std::string::npos);
  CHECK(r.divergence.find(fmt::format("last good loss {:.5g} at step {}", r.lastLoss, r.done - 1)) !=
        std::string::npos);
  CHECK(r.divergence.find("parameter '") == std::string::npos);  // every parameter is still finite
  // Every loss the observers saw is within the limit, and so was the loss computed from the last checkpoint.
  for (double l : rec.losses) CHECK(l <= limit);
  REQUIRE(rec.steps.size() == static_cast<size_t>(r.done));
  REQUIRE(r.lastCheckpoint >= 30);
  CHECK(r.lastCheckpoint == r.done - 1);  // the weights the exploding loss came from are not kept
  CHECK(rec.checkpoints.back() == r.lastCheckpoint);
}

TEST_CASE("trainer: the divergence limit is 100 x max(initial loss, ln V)") {
  CHECK(kDivergenceFactor == 100);
  CHECK(divergenceLimit(27.5504, 27) == doctest::Approx(2755.04));  // mlp_original's start
  CHECK(divergenceLimit(3.2781, 27) == doctest::Approx(100 * std::log(27.0)));  // a near-uniform start
  CHECK(divergenceLimit(0.5, 27) == doctest::Approx(100 * std::log(27.0)));  // --init-from trained weights
}

// A names dataset: the lecture's 32,033 names where they are beside the checkout, else the one
// tools/get-names.sh put in data/names.txt (on a fresh machine the npm registry's ~8,400 first names); "" if
// neither is there.
std::string namesDataset() {
  for (const char* p : {NETC_SOURCE_DIR "/../shared/data/names.txt", NETC_SOURCE_DIR "/data/names.txt"}) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec) && fs::file_size(p, ec) > 0) return p;
  }
  return "";
}

TEST_CASE("training: the lecture MLP (hidden 64) learns names well below the uniform loss") {
  const std::string names = namesDataset();
  if (names.empty()) {
    MESSAGE("skipped: no names dataset (neither ../shared/data/names.txt nor data/names.txt); "
            "bash tools/get-names.sh fetches one");
    return;
  }
  MESSAGE("names from " << names);
  std::string net = writeMlp("names64.net", names, 64,
                             "steps = 4000\n batch = 32\n lr = 0.1\n seed = 2147483647\n log_every = 1000");
  Model m = loadModel(net);
  Dataset d = loadDataset(m.data, m.vocab);
  REQUIRE(m.vocab.size() == 27);
  const auto t0 = std::chrono::steady_clock::now();
  // The JIT, once it lands; the interpreter takes far longer here.
  Trainer t(m, m.train, EngineKind::Jit);
  TrainResult r = t.train(d, {});
  MESSAGE("4000 steps and the evaluation took "
          << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
  REQUIRE_FALSE(r.diverged);
  // Kaiming init starts near ln 27 = 3.2958; 4000 steps at lr 0.1 reach about 2.4.
  CHECK(r.initialLoss == doctest::Approx(std::log(27.0)).epsilon(0.05));
  CHECK(r.final[Split::Dev] < 2.6);
  CHECK(r.final[Split::Train] < 2.6);
}

TEST_CASE("trainer: steps/s counts the steps alone, not compiling the evaluation engines or evaluating") {
  std::string net = writeMlp("timing.net", kPseudo, 16, "steps = 5\n batch = 8\n lr = 0.1\n log_every = 1");
  Model m = loadModel(net);
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer t(m, m.train, EngineKind::Jit);
  const auto t0 = std::chrono::steady_clock::now();
  TrainResult r = t.train(d, {});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("steps " << r.stepSeconds << " s, evaluation " << r.evalSeconds << " s, train() " << wall << " s");
  REQUIRE(r.done == 5);
  CHECK(r.stepSeconds > 0);
  CHECK(r.evalSeconds > 0);
  CHECK(r.stepSeconds + r.evalSeconds <= wall);
  // The final evaluation compiles two engines (full chunks and the remainder): far longer than 5 small steps.
  CHECK(r.stepSeconds < r.evalSeconds);
}

TEST_CASE("trainer: generator = torch draws the batches after the weights, and a resumed run continues its stream") {
  std::string net = writeMlp("torch_stream.net", kPseudo, 16,
                             "steps = 20\n batch = 8\n lr = 0.1\n log_every = 10\n probe_every = 1000\n generator = torch");
  Model m = loadModel(net);
  REQUIRE(m.train.generator == Generator::Torch);
  Dataset d = loadDataset(m.data, m.vocab);
  struct AtTen : Recorder {
    WeightMap ten;
    void onCheckpoint(int64_t done, const WeightMap& w) override {
      if (done == 10) ten = w;
    }
  } rec;
  Trainer t(m, m.train, EngineKind::Interp);
  REQUIRE_FALSE(t.train(d, {&rec}).diverged);
  REQUIRE(rec.losses.size() == 20);
  REQUIRE_FALSE(rec.ten.empty());

  // Resuming at step 10 from the step-10 weights replays the 80 rows already drawn: the same 10 losses.
  Trainer resumed(m, m.train, EngineKind::Interp);
  resumed.setWeights(rec.ten, "step 10");
  Recorder rest;
  resumed.train(d, {&rest}, false, 10);
  CHECK(rest.losses == std::vector<double>(rec.losses.begin() + 10, rec.losses.end()));

  // netc's own generator draws other weights and batches from the same seed.
  TrainSpec own = m.train;
  own.generator = Generator::Netc;
  Trainer netcStream(m, own, EngineKind::Interp);
  Recorder other;
  netcStream.train(d, {&other});
  CHECK(other.losses != rec.losses);
}
