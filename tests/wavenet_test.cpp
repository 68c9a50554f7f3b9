// models/wavenet.net, makemore part 5's final model: the notebook's parameter count, and, where the lecture's
// names.txt is beside the checkout, its step-0 loss (3.3167, printed by the notebook's training cell; the same
// weights and minibatch, as `generator = torch` with seed 42 draws what torch.manual_seed(42) does).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lower/model.h"
#include "runtime/data/dataset.h"
#include "runtime/training/trainer.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

int64_t parameterCount(const Graph& g) {
  int64_t n = 0;
  for (int id : g.params()) n += numel(g[id].shape);
  return n;
}

// The lecture's dataset (32,033 names) if it is beside the checkout; "" otherwise (another word list would
// give other numbers).
std::string lectureNames() {
  const std::string p = NETC_SOURCE_DIR "/../shared/data/names.txt";
  std::ifstream f(p);
  if (!f) return "";
  int64_t lines = 0;
  for (std::string w; std::getline(f, w);) ++lines;
  return lines == 32033 ? p : "";
}

}  // namespace

TEST_CASE("wavenet.net: the notebook's 76,579 parameters, named as its layers list indexes them") {
  LowerOptions o;
  o.dataOverride = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  Model m = loadModel(NETC_SOURCE_DIR "/models/wavenet.net", o);
  REQUIRE(m.vocab.size() == 27);
  CHECK(parameterCount(m.graph) == 76579);
  std::vector<std::string> names;
  for (int id : m.graph.params()) names.push_back(m.graph[id].name);
  CHECK(names == std::vector<std::string>{"layers.0.weight", "layers.2.weight", "layers.3.gamma", "layers.3.beta",
                                          "layers.6.weight", "layers.7.gamma", "layers.7.beta", "layers.10.weight",
                                          "layers.11.gamma", "layers.11.beta", "layers.13.weight", "layers.13.bias"});
}

TEST_CASE("wavenet.net: step 0 gives the notebook's loss 3.3167 on the lecture's names") {
  const std::string names = lectureNames();
  if (names.empty()) {
    MESSAGE("skipped: the lecture's names.txt is not beside the checkout (../shared/data/names.txt)");
    return;
  }
  LowerOptions o;
  o.dataOverride = names;
  Model m = loadModel(NETC_SOURCE_DIR "/models/wavenet.net", o);
  Dataset d = loadDataset(m.data, m.vocab);
  TrainSpec spec = m.train;
  spec.steps = 1;
  spec.evalEvery = 0;
  Trainer t(m, spec, EngineKind::Jit);
  TrainResult r = t.train(d, {});
  MESSAGE("step-0 loss " << r.initialLoss);
  CHECK(r.initialLoss == doctest::Approx(3.3167).epsilon(0.00005 / 3.3167));
}
