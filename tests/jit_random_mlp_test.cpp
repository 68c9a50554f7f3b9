// The JIT against the interpreter on randomly generated MLPs: random depth, widths (including 1 and sizes that
// are not multiples of the vector width), context length, embedding size, activations, an optional
// regulariser built from mean/sum, BatchNorm on some layers (in its three conventions), any optimizer, and
// batch sizes including 1 and odd ones (2 or more with BatchNorm). The .net text is built here.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "jit_compare.h"

using namespace netc;

namespace {

struct Spec {
  int T, E, depth;
  std::vector<int> widths;
  std::vector<std::string> acts;
  bool regulariser;
  int64_t batch;
  std::vector<int> batchnorm;  // per layer: -1 none, else the convention (kBatchnorm)
  std::string optimizer;
};

const char* kBatchnorm[] = {"eps=0, momentum=0.001, correction=1, running=std", "eps=1e-5, momentum=0.1, correction=1", "momentum=0.1"};

Spec randomSpec(Rng& rng) {
  Spec s;
  s.T = 1 + static_cast<int>(rng.below(5));
  s.E = 1 + static_cast<int>(rng.below(12));
  s.depth = 1 + static_cast<int>(rng.below(3));
  const std::vector<std::string> acts = {"tanh", "relu", "sigmoid", "tanh_scaled"};
  for (int i = 0; i < s.depth; ++i) {
    s.widths.push_back(1 + static_cast<int>(rng.below(70)));
    s.acts.push_back(acts[rng.below(acts.size())]);
  }
  s.regulariser = rng.below(2) == 1;
  const int64_t batches[] = {1, 2, 3, 5, 8, 13, 17, 32, 33};
  s.batch = batches[rng.below(9)];
  // Drawn last, so the specs above stay those of earlier versions of this test.
  bool any = false;
  for (int i = 0; i < s.depth; ++i) {
    s.batchnorm.push_back(rng.below(2) == 1 ? static_cast<int>(rng.below(3)) : -1);
    any = any || s.batchnorm.back() >= 0;
  }
  if (any && s.batch == 1) s.batch = 2;  // the train form's unbiased variance needs two examples
  const char* optimizers[] = {"sgd", "momentum", "adam", "adamw"};
  s.optimizer = optimizers[rng.below(4)];
  return s;
}

std::string activation(const std::string& act, const std::string& x) {
  if (act == "tanh_scaled") return fmt::format("tanh({}) * 0.5 + sigmoid({}) * 0.25", x, x);
  return fmt::format("{}({})", act, x);
}

std::string netText(const Spec& s) {
  std::string t = fmt::format("data \"unused.txt\" {{\n  context = {}\n}}\nconst E = {}\n", s.T, s.E);
  t += "input x : int[B, T]\ninput y : int[B]\nparam C : [V, E] = randn\n";
  std::string prev = "T*E";
  for (int i = 0; i < s.depth; ++i) {
    t += fmt::format("param W{} : [{}, {}] = randn * 0.4\n", i, prev, s.widths[i]);
    if (s.batchnorm[i] < 0) t += fmt::format("param b{} : [{}] = randn * 0.1\n", i, s.widths[i]);
    if (s.batchnorm[i] >= 0)
      t += fmt::format("param g{0} : [{1}] = ones\nparam be{0} : [{1}] = zeros\nstate rm{0} : [{1}] = zeros\n"
                       "state rv{0} : [{1}] = ones\n", i, s.widths[i]);
    prev = std::to_string(s.widths[i]);
  }
  t += fmt::format("param Wo : [{}, V] = randn * 0.2\nparam bo : [V] = zeros\n", prev);
  t += "h0 = flatten(C[x])\n";
  for (int i = 0; i < s.depth; ++i) {
    std::string pre = fmt::format("h{} @ W{} + b{}", i, i, i);
    if (s.batchnorm[i] >= 0) {
      // Named, so an activation that reads it twice does not run two BatchNorms; without the bias, whose
      // gradient is exactly zero under BatchNorm (only rounding would be compared), as in the lecture.
      t += fmt::format("p{} = batchnorm(h{} @ W{}, g{}, be{}, rm{}, rv{}, {})\n", i, i, i, i, i, i, i,
                       kBatchnorm[s.batchnorm[i]]);
      pre = fmt::format("p{}", i);
    }
    t += fmt::format("h{} = {}\n", i + 1, activation(s.acts[i], pre));
  }
  t += fmt::format("logits = h{} @ Wo + bo\n", s.depth);
  if (s.regulariser)
    t += fmt::format("loss = cross_entropy(logits, y) + 0.01 * mean(h1 * h1) + 0.001 * sum(mean(h{}, axis=0))\n",
                     s.depth);
  else
    t += "loss = cross_entropy(logits, y)\n";
  t += "minimize loss\n";
  t += fmt::format("train {{\n  optimizer = {}\n}}\n", s.optimizer);
  return t;
}

}  // namespace

TEST_CASE("jit: randomly generated MLPs train like the interpreter") {
  Rng rng(20240601);
  // Per process: parallel test runs (other build folders) must not share the files.
  std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("netc_jit_random_mlp_{}", ::getpid());
  std::filesystem::create_directories(dir);
  for (int trial = 0; trial < 8; ++trial) {
    Spec s = randomSpec(rng);
    std::string text = netText(s);
    std::filesystem::path file = dir / fmt::format("mlp{}.net", trial);
    std::ofstream(file) << text;
    LowerOptions o;
    o.dataOverride = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
    Model m = loadModel(file.string(), o);
    testing::CompareOptions c;
    c.batch = s.batch;
    c.seed = static_cast<uint64_t>(trial) + 7;
    INFO("model:\n", text);
    testing::compareTraining(m, fmt::format("random mlp {}", trial), c);
  }
  std::filesystem::remove_all(dir);
}
