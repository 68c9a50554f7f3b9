// Initialisers as expressions of draws and constants, the second (`global`) stream, and `x @ transpose(W)`
// read in place. The values PyTorch gives the same expressions are pinned in tests/streams_test.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

#include "runtime/data/batch_feed.h"
#include "runtime/random/rng.h"
#include "runtime/training/gradcheck.h"
#include "runtime/training/init.h"
#include "runtime/training/init_program.h"
#include "jit_compare.h"
#include "test_util.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

Model lowerDecls(const std::string& decls, const std::string& train = "") {
  static int n = 0;
  fs::path dir = fs::temp_directory_path() / fmt::format("netc_init_{}", ::getpid());
  fs::create_directories(dir);
  fs::path p = dir / fmt::format("case{}.net", n++);
  std::ofstream(p) << "data \"unused.txt\" {\n  context = 3\n}\ninput x : int[B, T]\ninput y : int[B]\n"
                   << "param C : [V, 10] = randn\n" << decls
                   << "\nlogits = flatten(C[x]) @ W\nloss = cross_entropy(logits, y)\nminimize loss\n"
                   << (train.empty() ? "" : "train {\n" + train + "\n}\n");
  return testing::loadWithPseudoWords(p.string());
}

const InitSpec& initOf(const Model& m, const char* name) { return m.graph[m.graph.find(name)].init; }

}  // namespace

TEST_CASE("initialisers: expressions lower to programs in evaluation order; the simple form keeps its summary") {
  Model m = lowerDecls("param W : [30, V] = randn * (5/3) / sqrt(30)\n"
                       "param g : [1, 10] = randn * 0.1 + 1\n"
                       "param n : [7] = normal(0.5, 0.2)\n"
                       "param n2 : [7] = 2 * normal(0.5, 0.2)\n"
                       "param e : [7] = (randn + uniform(0, 1)) / 2 - ones\n"
                       "state s : [3] = 1 - normal(0, 2) * 3 global\n",
                       "  global_seed = 5");
  const InitSpec& W = initOf(m, "W");
  CHECK(W.kind == InitSpec::Randn);
  CHECK(W.scale == doctest::Approx(5.0 / 3.0 / std::sqrt(30.0)));
  CHECK(W.program.size() == 5);  // randn, 5/3, *, sqrt(30), /
  const InitSpec& g = initOf(m, "g");
  CHECK(g.kind == InitSpec::Expression);
  REQUIRE(g.program.size() == 5);
  CHECK(g.program[0].kind == InitOp::Randn);
  CHECK(g.program[1].kind == InitOp::Constant);
  CHECK(g.program[1].a == 0.1);
  CHECK(g.program[2].kind == InitOp::Mul);
  CHECK(g.program[4].kind == InitOp::Add);
  CHECK_FALSE(g.global);
  const InitSpec& n = initOf(m, "n");
  CHECK(n.kind == InitSpec::Expression);
  REQUIRE(n.program.size() == 1);
  CHECK(n.program[0].kind == InitOp::Normal);
  CHECK(n.program[0].a == 0.5);
  CHECK(n.program[0].b == 0.2);
  CHECK(initOf(m, "n2").kind == InitSpec::Expression);  // normal has no summary, wherever it stands
  const InitSpec& e = initOf(m, "e");
  std::vector<InitOp::Kind> kinds;
  for (const InitOp& op : e.program) kinds.push_back(op.kind);
  CHECK(kinds == std::vector<InitOp::Kind>{InitOp::Randn, InitOp::Uniform, InitOp::Add, InitOp::Constant, InitOp::Div,
                                          InitOp::Ones, InitOp::Sub});
  CHECK(initOf(m, "s").global);
  CHECK(m.train.globalSeed == std::optional<uint64_t>(5));
}

TEST_CASE("initialisers: netc's generator folds products by constants as it always has, and evaluates the rest") {
  Model m = lowerDecls("param W : [30, V] = -randn * (5/3) / sqrt(30)\n"
                       "param g : [1, 10] = randn * 0.1 + 1\n"
                       "param u : [40] = 2 * uniform(-1, 3) - 0.5\n"
                       "param n : [40] = normal(1, 0.5)\n");
  WeightMap w = initParams(m.graph, 9);
  Rng rng(9);
  auto draws = [&](int64_t count, auto f) {
    std::vector<double> v(static_cast<size_t>(count));
    for (double& d : v) d = f();
    return v;
  };
  std::vector<double> C = draws(27 * 10, [&] { return rng.normal(); });
  CHECK(w["C"].data == C);
  // One factor, folded first: (-1 * (5/3)) / sqrt(30), then each draw times it.
  const double scale = -1.0 * (5.0 / 3.0) / std::sqrt(30.0);
  std::vector<double> W = draws(30 * 27, [&] { return rng.normal() * scale; });
  CHECK(w["W"].data == W);
  std::vector<double> g = draws(10, [&] { return rng.normal() * 0.1 + 1; });
  CHECK(w["g"].data == g);
  std::vector<double> u = draws(40, [&] { return 2 * (-1 + 4 * rng.uniform()) - 0.5; });
  CHECK(w["u"].data == u);
  std::vector<double> n = draws(40, [&] { return 1 + 0.5 * rng.normal(); });
  CHECK(w["n"].data == n);
}

TEST_CASE("initialisers: declarations marked global draw from the second stream, the others are unchanged") {
  Model plain = lowerDecls("param W : [30, V] = uniform(-0.2, 0.2)\nparam a : [5] = randn\n",
                           "  generator = torch\n  global_seed = 42");
  Model marked = lowerDecls("param g : [64] = randn * 0.1 + 1 global\nparam W : [30, V] = uniform(-0.2, 0.2)\n"
                            "param a : [5] = randn\nstate s : [3] = randn global\n",
                            "  generator = torch\n  global_seed = 42");
  for (Generator kind : {Generator::Torch, Generator::Netc}) {
    WeightMap p = initParams(plain.graph, 7, kind, nullptr, uint64_t{42});
    WeightMap m = initParams(marked.graph, 7, kind, nullptr, uint64_t{42});
    for (const char* name : {"C", "W", "a"}) CHECK(p[name].data == m[name].data);
    if (kind == Generator::Torch) {  // torch.manual_seed(42); torch.randn(64) * 0.1 + 1.0; torch.randn(3)
      TorchGenerator global(42);
      std::vector<float> g = global.randn(64);
      for (float& v : g) v = v * 0.1f + 1.0f;
      CHECK(m["g"].data == std::vector<double>(g.begin(), g.end()));
      std::vector<float> s = global.randn(3);
      CHECK(m["s"].data == std::vector<double>(s.begin(), s.end()));
    }
    // Another global seed changes the marked tensors only.
    WeightMap other = initParams(marked.graph, 7, kind, nullptr, uint64_t{43});
    CHECK(other["W"].data == m["W"].data);
    CHECK(other["g"].data != m["g"].data);
  }
}

TEST_CASE("initialisers: `x @ transpose(W)` is one product reading W transposed, with correct gradients") {
  Model m = lowerDecls("param L : [V, 30] = uniform(-1 / sqrt(30), 1 / sqrt(30))\n"
                       "param K : [30, 30] = randn * 0.2\n"
                       "W = transpose(K) @ transpose(L) + transpose(L * 0.5)\n");
  int flagged = 0, transposes = 0;
  for (const Node& n : m.graph.nodes) {
    if (n.op->name == std::string_view("transpose")) ++transposes;
    if (n.op->name == std::string_view("matmul") && n.attrs.ints == std::vector<int64_t>{1, 1}) ++flagged;
  }
  CHECK(flagged == 1);     // transpose(K) @ transpose(L): both operands read in place
  CHECK(transposes == 1);  // a transpose that is no operand of a product stays an op
  Graph g = bindBatch(m.graph, 4);
  WeightMap w = initParams(g, 3);
  WeightMap b = randomBatch(g, 5);
  GradcheckOptions o;
  GradcheckReport r = gradcheck(g, w, [&](Engine& e) { feedBatch(e, b, "batch"); }, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
  testing::compareTraining(m, "transposed operands", testing::CompareOptions{});
}
