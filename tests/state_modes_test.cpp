// State (values the step updates without a gradient) and modes (a train and an eval form of one model): the
// language, the graph at every stage, the engines, and what a run saves.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "engine/jit_engine.h"
#include "engine/make_engine.h"
#include "interp/interpreter.h"
#include "jit_compare.h"
#include "modes/specialize.h"
#include "runtime/files/safetensors.h"
#include "runtime/training/trainer.h"
#include "runtime/files/weights.h"
#include "run_netc.h"
#include "test_util.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

// A private folder per test process: ctest runs the cases of this file in parallel processes.
fs::path scratch() {
  static testing::ScratchDir dir("netc_state_");
  return dir.path();
}

// A model from text, reading the synthetic words.
Model modelFrom(const std::string& body, const std::string& name = "state_model") {
  fs::path p = scratch() / (name + ".net");
  std::ofstream(p) << "data \"words.txt\" {\n  context = 3\n}\n" << body;
  return testing::loadWithPseudoWords(p.string());
}

const std::string kHeader = R"(
input x : int[B, T]
input y : int[B]
param C : [V, 10] = randn
param W : [30, V] = randn * 0.1
)";

// A running mean of the logits and a step counter, and an eval form that uses the running mean.
const std::string kRunning = kHeader + R"(
state count : [] = zeros
state running : [V] = zeros
raw = flatten(C[x]) @ W
batch_mean = mean(raw, axis=0)
logits = mode(train = raw - batch_mean, eval = raw - running)
update running = 0.9 * running + 0.1 * batch_mean
update count = count + 1
loss = cross_entropy(logits, y)
minimize loss
)";

int countOps(const Graph& g, std::string_view op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op->name == op;
  return n;
}

std::vector<int32_t> randomIndices(Rng& rng, int64_t n, int limit) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(limit)));
  return v;
}

}  // namespace

TEST_CASE("state: updates read the step's values and land together for the next step") {
  Model m = modelFrom(kRunning);
  TrainForm f = trainForm(m);
  const Graph& g = f.step.graph;
  CHECK(g.states().size() == 2);
  CHECK(countOps(g, "assign") == 2);
  CHECK(countOps(g, "mode") == 0);
  // The update nodes are in the update phase and feed nothing on the way to the loss.
  for (const Node& n : g.nodes)
    if (n.op->assigns && n.op->name == std::string_view("assign")) CHECK(n.phase == Phase::Update);
  const int64_t B = 5;
  Graph bound = bindBatch(g, B);
  for (EngineKind kind : {EngineKind::Interp, EngineKind::Jit}) {
    auto e = makeEngine(bound, kind);
    loadParams(*e, initParams(g, 3), "init");
    std::vector<double> lr = {0.0};  // parameters fixed: the running mean follows the same logits
    e->write(f.step.lr, lr);
    Rng rng(7);
    std::vector<double> expect(static_cast<size_t>(m.vocab.size()), 0.0);
    const int raw = bound.find("raw"), running = bound.find("running"), count = bound.find("count");
    REQUIRE(raw >= 0);
    for (int step = 1; step <= 4; ++step) {
      e->writeIndices(f.model.contextInput, randomIndices(rng, B * 3, m.vocab.size()));
      e->writeIndices(f.model.targetInput, randomIndices(rng, B, m.vocab.size()));
      e->run();
      std::vector<double> r = e->read(raw);
      for (size_t v = 0; v < expect.size(); ++v) {
        double mean = 0;
        for (int64_t b = 0; b < B; ++b) mean += r[static_cast<size_t>(b) * expect.size() + v] / B;
        expect[v] = 0.9 * expect[v] + 0.1 * mean;
      }
      CHECK(e->readScalar(count) == doctest::Approx(step));
      std::vector<double> got = e->read(running);
      for (size_t v = 0; v < expect.size(); ++v) CHECK(got[v] == doctest::Approx(expect[v]).epsilon(1e-5));
    }
  }
}

TEST_CASE("state: the JIT agrees with the interpreter on a model with state and modes") {
  Model m = modelFrom(kRunning);
  for (int64_t B : {1, 6}) {
    testing::CompareOptions o;
    o.batch = B;
    o.steps = 4;
    testing::compareTraining(m, "running-mean model", o);
  }
}

TEST_CASE("modes: the eval form drops the train form and the updates; the train form drops the eval form") {
  Model m = modelFrom(kRunning);
  Model train = specializeModel(m, Mode::Train), eval = specializeModel(m, Mode::Eval);
  CHECK(countOps(m.graph, "mode") == 1);
  CHECK(countOps(train.graph, "mode") == 0);
  CHECK(countOps(eval.graph, "mode") == 0);
  CHECK(countOps(eval.graph, "assign") == 0);
  CHECK(countOps(eval.graph, "mean") == 0);  // no batch reduction left
  CHECK(countOps(train.graph, "assign") == 2);
  // The mode node's name passes to the form it chose, in both.
  CHECK(train.graph.find("logits") >= 0);
  CHECK(eval.graph.find("logits") >= 0);
  CHECK(eval.logits == eval.graph.find("logits"));
  CHECK(eval.graph[eval.logits].op->name == std::string_view("sub"));
  // The states stay in both forms: one set of weights serves both.
  CHECK(eval.graph.states().size() == 2);
  // The eval form reads the running mean: evaluation with running = mean differs from running = 0.
  Graph bound = bindBatch(eval.graph, 4);
  Interpreter e(bound);
  WeightMap w = initParams(m.graph, 1);
  loadParams(e, w, "init");
  Rng rng(3);
  e.writeIndices(eval.contextInput, randomIndices(rng, 12, m.vocab.size()));
  e.writeIndices(eval.targetInput, randomIndices(rng, 4, m.vocab.size()));
  e.run();
  double base = e.readScalar(eval.graph.loss);
  std::fill(w["running"].data.begin(), w["running"].data.end(), 0.0);
  w["running"].data[0] = 5.0;
  loadParams(e, w, "shifted");
  e.run();
  CHECK(e.readScalar(eval.graph.loss) != doctest::Approx(base));
  // The printer shows states, the update phase and what each update writes.
  std::string text = printGraph(m.graph);
  CHECK(text.find("state init=zeros") != std::string::npos);
  CHECK(text.find("// update") != std::string::npos);
  CHECK(text.find("next %running") != std::string::npos);
  CHECK(text.find("mode ") != std::string::npos);
}

TEST_CASE("state: saved with the parameters, marked as state, and read back") {
  Model m = modelFrom(kRunning);
  WeightMap w = initParams(m.graph, 2);
  w["running"].data[3] = 1.25;
  fs::path file = scratch() / "w.safetensors";
  saveSafetensors(file.string(), w, {}, {{"netc.steps_done", "17"}});
  WeightMap back = loadSafetensors(file.string());
  CHECK(back.at("running").state);
  CHECK(back.at("count").state);
  CHECK_FALSE(back.at("W").state);
  CHECK(back.at("running").data[3] == 1.25);
  CHECK(loadSafetensorsMetadata(file.string()).at("netc.steps_done") == "17");
  // A file without the state is an error naming it.
  back.erase("running");
  Interpreter e(bindBatch(specializeModel(m, Mode::Eval).graph, 2));
  CHECK(testing::errorOf([&] { loadParams(e, back, "old.safetensors"); }).find("state 'running' is missing") != std::string::npos);
}

TEST_CASE("minimize: any scalar expression trains; the split losses stay the cross-entropy") {
  Model m = modelFrom(kHeader + R"(
logits = flatten(C[x]) @ W
minimize cross_entropy(logits, y) + 0.01 * sum(W * W)
train {
  steps = 200
  batch = 16
  lr = 0.5
  log_every = 100
}
)", "l2_model");
  REQUIRE(m.dataLoss >= 0);
  CHECK(m.dataLoss != m.graph.loss);
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer t(m, m.train, EngineKind::Jit);
  SplitLosses before = t.evaluate(d, false);
  TrainResult r = t.train(d, {});
  REQUIRE_FALSE(r.diverged);
  CHECK(r.final[Split::Train] < before[Split::Train] - 0.1);
  // The minibatch loss logged is the minimized value, penalty included: above the data loss.
  CHECK(r.lastLoss > r.final[Split::Train] - 0.2);
  // The penalty shrinks W compared with training on the cross-entropy alone.
  double sq = 0;
  for (double v : t.weights().at("W").data) sq += v * v;
  Model plain = modelFrom(kHeader + "logits = flatten(C[x]) @ W\nminimize cross_entropy(logits, y)\ntrain {\n  steps = 200\n  batch = 16\n  lr = 0.5\n  log_every = 100\n}\n", "plain_model");
  Trainer tp(plain, plain.train, EngineKind::Jit);
  tp.train(d, {});
  double sqPlain = 0;
  for (double v : tp.weights().at("W").data) sqPlain += v * v;
  CHECK(sq < sqPlain);
}

TEST_CASE("batchnorm: its fused gradient equals the chain of primitives, in every convention") {
  // The same normalisation written by hand from mean, var and rsqrt, differentiated op by op.
  struct Form {
    const char* op;
    const char* byHand;
  } forms[] = {
      {"batchnorm(hpre, g, b, rm, rv, eps=0, momentum=0.001, correction=1, running=std)",
       "g * (hpre - mean(hpre, axis=0)) / std(hpre, axis=0, correction=1) + b"},
      {"batchnorm(hpre, g, b, rm, rv, eps=1e-5, momentum=0.1, correction=1)",
       "g * (hpre - mean(hpre, axis=0)) * rsqrt(var(hpre, axis=0, correction=1) + 1e-5) + b"},
      {"batchnorm(hpre, g, b, rm, rv)",
       "g * (hpre - mean(hpre, axis=0)) * rsqrt(var(hpre, axis=0, correction=0) + 1e-5) + b"},
  };
  const std::string decls = kHeader + "param W1 : [30, 12] = randn * 0.3\nparam g : [12] = ones\n"
                                      "param b : [12] = randn * 0.1\nparam W3 : [12, V] = randn * 0.3\n"
                                      "state rm : [12] = zeros\nstate rv : [12] = ones\nhpre = flatten(C[x]) @ W1\n";
  int k = 0;
  for (const Form& f : forms) {
    auto gradients = [&](const std::string& bn) {
      Model m = modelFrom(decls + "hbn = " + bn + "\nlogits = tanh(hbn) @ W3\nminimize cross_entropy(logits, y)\n",
                          fmt::format("bn_form_{}", k++));
      TrainForm t = trainForm(m);
      Interpreter e(bindBatch(t.step.graph, 6));
      loadParams(e, initParams(t.step.graph, 5), "init");
      Rng rng(9);
      e.writeIndices(t.model.contextInput, randomIndices(rng, 18, m.vocab.size()));
      e.writeIndices(t.model.targetInput, randomIndices(rng, 6, m.vocab.size()));
      e.run();
      std::map<std::string, std::vector<double>> out;
      for (auto [p, dp] : t.step.grads) out[t.step.graph[p].name] = e.read(dp);
      return std::pair{out, t.step.graph};
    };
    auto [fused, fusedGraph] = gradients(f.op);
    auto [chain, chainGraph] = gradients(f.byHand);
    CHECK(countOps(fusedGraph, "bn_normalize") == 1);
    CHECK(countOps(chainGraph, "bn_normalize") == 0);
    REQUIRE(fused.size() == chain.size());
    for (auto& [name, g] : fused) {
      INFO(f.op, ": gradient of ", name);
      CHECK(testing::relError(chain.at(name), g) <= 1e-9);
    }
  }
}

TEST_CASE("schedule: linear warmup, then cosine decay to min_lr at the last step") {
  TrainSpec t;
  t.steps = 110;
  t.lr = {{0.5, -1}};
  t.warmup = 10;
  t.cosine = true;
  t.minLr = 0.05;
  CHECK(t.learningRate(0) == doctest::Approx(0.05));   // (0 + 1) / 10 of the rate
  CHECK(t.learningRate(9) == doctest::Approx(0.5));
  CHECK(t.learningRate(10) == doctest::Approx(0.5));   // the decay starts at the top
  CHECK(t.learningRate(60) == doctest::Approx(0.05 + 0.5 * 0.45 * (1 + std::cos(M_PI * 0.5))));
  CHECK(t.learningRate(110) == doctest::Approx(0.05));
  for (int64_t i = 11; i < 110; ++i) CHECK(t.learningRate(i) <= t.learningRate(i - 1));
}

TEST_CASE("cli: netc grad differentiates the train form, and with --eval the eval form") {
  const std::string dir = NETC_SOURCE_DIR "/tests/fixtures/state/";
  fs::path tmp = fs::temp_directory_path() / fmt::format("netc_grad_eval_{}", ::getpid());
  fs::create_directories(tmp);
  // One batch of the fixture's, as [B, T] and [B] int32.
  WeightMap batches = loadSafetensors(dir + "bn_class_batches.safetensors");
  const int64_t B = batches.at("x").shape[1], T = batches.at("x").shape[2];
  WeightMap one;
  one["x"] = NamedTensor{{B, T}, std::vector<double>(batches.at("x").data.begin(), batches.at("x").data.begin() + B * T)};
  one["y"] = NamedTensor{{B}, std::vector<double>(batches.at("y").data.begin(), batches.at("y").data.begin() + B)};
  saveSafetensors((tmp / "batch.safetensors").string(), one, {"x", "y"});
  // Running statistics far from the batch's, so the two forms must differ.
  WeightMap w = loadSafetensors(dir + "bn_class_weights.safetensors");
  for (double& v : w.at("rmean").data) v = 0.5;
  for (double& v : w.at("rvar").data) v = 4.0;
  saveSafetensors((tmp / "w.safetensors").string(), w);
  auto grad = [&](const std::string& flag, const std::string& out) {
    auto r = testing::runNetc(fmt::format("grad {}bn_class.net --weights {} --inputs {} --out {} {}", dir,
                                          (tmp / "w.safetensors").string(), (tmp / "batch.safetensors").string(),
                                          (tmp / out).string(), flag));
    CAPTURE(r.out);
    REQUIRE(r.status == 0);
    double loss = 0;
    REQUIRE(std::sscanf(r.out.c_str(), "loss %lf", &loss) == 1);
    return std::pair{loss, loadSafetensors((tmp / out).string())};
  };
  auto [trainLoss, trainGrads] = grad("--interp", "train.safetensors");
  auto [evalLoss, evalGrads] = grad("--interp --eval", "eval.safetensors");
  // The eval form's loss, computed here from the running statistics.
  Model eval = specializeModel(loadModel(dir + "bn_class.net"), Mode::Eval);
  Interpreter e(bindBatch(eval.graph, B));
  loadParams(e, w, "weights");
  for (const char* in : {"x", "y"}) loadInput(e, in, one.at(in), "batch");
  e.run();
  CHECK(evalLoss == doctest::Approx(e.readScalar(eval.graph.loss)).epsilon(1e-7));
  CHECK(trainLoss != doctest::Approx(evalLoss));
  CHECK(testing::relError(trainGrads.at("W1").data, evalGrads.at("W1").data) > 1e-3);
  fs::remove_all(tmp);
}
