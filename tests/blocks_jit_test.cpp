// The JIT against the interpreter on random models written with nested blocks: a block holding a loop over
// the context positions (carried through it), used by another block, used in a loop over layers; random widths
// (1 and sizes that are not multiples of the vector width), depths, activations, BatchNorm in some blocks,
// optimizers and batch sizes (1 and odd ones), and a 256-bit vector build beside the default.
#include <filesystem>
#include <sstream>

#include "jit_compare.h"
#include "run_netc.h"
#include "runtime/probes/stats.h"
#include "runtime/files/safetensors.h"
#include "scratch_dir.h"
#include "test_util.h"

using namespace netc;

namespace {

Model lowerText(const std::string& text) { return testing::lowerWithPseudoWords(text); }

std::string randomModel(Rng& rng, bool& batchnorm) {
  const int T = 2 + static_cast<int>(rng.below(3)), E = 1 + static_cast<int>(rng.below(9));  // the loop 1..T runs
  const int H = 1 + static_cast<int>(rng.below(19)), depth = 1 + static_cast<int>(rng.below(3));
  const char* acts[] = {"tanh", "relu", "sigmoid"};
  const std::string act = acts[rng.below(3)];
  batchnorm = rng.below(2) == 1;
  const char* optimizers[] = {"sgd", "momentum", "adam", "adamw"};
  std::string t = fmt::format("data \"unused.txt\" {{\n  context = {}\n}}\nconst E = {}\nconst H = {}\n", T, E, H);
  t += "input x : int[B, T]\ninput y : int[B]\nparam C : [V, E] = randn\n";
  // A recurrence over the positions: its own loop, its state carried through it.
  t += "block Recur(emb, n_in, n) {\n  param U : [n_in, n] = randn * 0.4\n  param R : [n, n] = randn * 0.3\n"
       "  s = emb[:, 0] @ U\n  for t in 1..T {\n    s = " + act + "(emb[:, t] @ U + s @ R)\n  }\n  return s\n}\n";
  // A dense layer, optionally with BatchNorm.
  t += "block Dense(x, n_in, n_out) {\n  param W : [n_in, n_out] = randn / sqrt(n_in)\n";
  if (batchnorm)
    t += "  param g : [n_out] = ones\n  param b : [n_out] = zeros\n  state m : [n_out] = zeros\n"
         "  state v : [n_out] = ones\n  return " + act + "(batchnorm(x @ W, g, b, m, v, eps=1e-5, momentum=0.1, correction=1))\n}\n";
  else
    t += "  param b : [n_out] = randn * 0.1\n  return " + act + "(x @ W + b)\n}\n";
  // A residual pair of dense layers: a block using a block twice.
  t += "block Pair(x, n) {\n  a = Dense(x, n, n) as first\n  return x + Dense(a, n, n) as second\n}\n";
  t += "h = Recur(C[x], E, H) as rec\n";
  t += fmt::format("for i in 0..{} {{\n  h = Pair(h, H) as blocks.(i)\n}}\n", depth);
  t += "param Wo : [H, V] = randn * 0.2\nloss = cross_entropy(h @ Wo, y)\nminimize loss\n";
  t += fmt::format("train {{\n  optimizer = {}\n}}\n", optimizers[rng.below(4)]);
  return t;
}

}  // namespace

TEST_CASE("blocks: random models of nested blocks train alike in the JIT and the interpreter") {
  Rng rng(2525);
  for (int trial = 0; trial < 6; ++trial) {
    bool batchnorm = false;
    const std::string text = randomModel(rng, batchnorm);
    INFO(text);
    Model m = lowerText(text);
    // BatchNorm needs 3 or more: at 2 its unbiased normalisation gives +-0.7071 whatever the input, so the
    // gradients through it are rounding noise in both engines, and the next layer's batch mean is 0.
    const int64_t batches[] = {1, 2, 3, 5, 9, 17};
    testing::CompareOptions c;
    c.batch = batches[batchnorm ? 2 + rng.below(4) : rng.below(6)];
    c.seed = static_cast<uint64_t>(trial) + 11, c.lr = 0.05;
    if (trial % 2 == 1) c.codegen.vectorBits = 256;
    testing::compareTraining(m, fmt::format("random nested blocks {}", trial), c);
  }
}

TEST_CASE("blocks: deep_batchnorm.net's weights file names every layer's tensors by its path") {
  Model m = testing::shippedModel("deep_batchnorm.net");
  const WeightMap w = initParams(m.graph, 3);
  for (int l = 0; l < 6; ++l)
    for (const char* t : {"W", "gamma", "beta", "running_mean", "running_var"}) {
      const std::string name = fmt::format("layers.{}.{}", l, t);
      INFO(name);
      CHECK(w.count(name) == 1);
    }
  CHECK(w.size() == 31);  // C and 6 x 5
  testing::ScratchDir dir("netc_blocks_weights_");
  const std::string file = (dir.path() / "w.safetensors").string();
  saveSafetensors(file, w);
  const WeightMap back = loadSafetensors(file);
  REQUIRE(back.count("layers.3.W") == 1);
  const std::vector<double>& saved = w.at("layers.3.W").data;
  const std::vector<double>& read = back.at("layers.3.W").data;
  REQUIRE(read.size() == saved.size());
  for (size_t i = 0; i < saved.size(); ++i) CHECK(static_cast<float>(read[i]) == static_cast<float>(saved[i]));
}

TEST_CASE("blocks: stats.jsonl records each layer's instance and report.html groups the layers by it") {
  testing::ScratchDir dir("netc_blocks_run_");
  const std::string out = (dir.path() / "run").string();
  testing::CommandResult r = testing::runNetc(
      fmt::format("run models/deep_batchnorm.net --data tests/data/pseudo_words.txt --steps 0 --out '{}' --force", out));
  INFO(r.out);
  REQUIRE(r.status == 0);
  std::vector<StatsSnapshot> s = readStatsLog(out + "/stats.jsonl");
  REQUIRE(s.size() == 1);
  // Every tanh layer is one instance's: its scope's innermost Block entry, not its name, says which.
  std::vector<std::string> instances;
  for (const ProbeStats& p : s[0].probes)
    if (p.layer) {
      REQUIRE(!p.scope.empty());
      const ScopeEntry& block = p.scope.entries.back();
      CHECK(block.kind == ScopeEntry::Kind::Block);
      CHECK(block.block == "Layer");
      instances.push_back(block.name);
    }
  CHECK(instances == std::vector<std::string>{"layers.0", "layers.1", "layers.2", "layers.3", "layers.4"});
  // The page's data names the instance of every layer, from which its script draws one heading per instance.
  std::ifstream page(out + "/report.html");
  std::stringstream text;
  text << page.rdbuf();
  for (int l = 0; l < 5; ++l)
    CHECK(text.str().find(fmt::format("\"instance\":{{\"block\":\"Layer\",\"line\":{},\"path\":\"layers.{}\"}}",
                                      l == 0 ? 41 : 43, l)) != std::string::npos);
  CHECK(text.str().find("'Instance ' + inst") != std::string::npos);
}
