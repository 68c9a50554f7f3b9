// Probes of a loop over time: the per-step probes (h@t0, h@t1, ...) folded into one record per value by their
// scope paths (never their names), its pooled numbers, the JSON round trip, and the diagnoses that read it: saturation over all steps, gates, and gradients
// that vanish through time, said on a recurrent model built to make them vanish and not said on makemore's.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <random>

#include "run_netc.h"
#include "runtime/probes/stats.h"
#include "runtime/probes/time_steps.h"

using namespace netc;
using netc::testing::runNetc;
using netc::testing::words;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static testing::ScratchDir dir("netc_timesteps_");
  return dir.path();
}

// A layer probe over `v` (rows x units), with population moments and the units in `dead`.
ProbeStats layerOf(const std::string& name, const std::vector<double>& v, int64_t units, std::vector<int64_t> dead,
                   double sat) {
  ProbeStats p;
  p.name = name, p.kind = "tanh", p.layer = true, p.units = units, p.rows = static_cast<int64_t>(v.size()) / units;
  double m = 0, sq = 0;
  for (double x : v) m += x, sq += x * x;
  m /= static_cast<double>(v.size()), sq /= static_cast<double>(v.size());
  p.mean = m, p.std = std::sqrt(sq - m * m);
  p.preMean = 2 * m, p.preStd = 2 * p.std;
  p.saturatedShare = sat;
  p.deadUnits = std::move(dead);
  p.hist.lo = -1, p.hist.hi = 1, p.hist.counts = {1, 2, 3};
  p.grad.present = true, p.grad.mean = m / 100, p.grad.std = p.std / 100, p.grad.hist.counts = {1, 1};
  return p;
}

// The scope path of step `t` (its iteration t - first) of the loop on `line` over variable `var`.
ScopePath stepPath(int64_t t, int line = 12, const std::string& var = "t", int64_t first = 0) {
  return ScopePath{{ScopeEntry{ScopeEntry::Kind::LoopStep, var, t - first, first, line}}};
}

// A layer probe of the value `local` at step t of a loop, named as lowering names it (h@t3).
ProbeStats stepOf(const std::string& local, int64_t t, const std::vector<double>& v, int64_t units,
                  std::vector<int64_t> dead, double sat, int line = 12) {
  ScopePath path = stepPath(t, line);
  ProbeStats p = layerOf(qualifiedName(local, path), v, units, std::move(dead), sat);
  p.scope = path;
  return p;
}

}  // namespace

TEST_CASE("scope paths: qualified names and their inverse, consecutive steps of one loop") {
  CHECK(qualifiedName("h", stepPath(12)) == "h@t12");
  CHECK(qualifiedName("h", stepPath(3, 12, "i", 1)) == "h@i3");
  CHECK(qualifiedName("h", {}) == "h");
  CHECK(localName("h@t12", stepPath(12)) == "h");
  CHECK(localName("tanh@25@t3", stepPath(3)) == "tanh@25");
  // Nothing is read out of a name: without the path's own suffix it is returned whole.
  CHECK(localName("h@t12", {}) == "h@t12");
  CHECK(localName("h@t12", stepPath(11)) == "h@t12");
  CHECK(localName("@t3", stepPath(3)) == "@t3");
  CHECK(isNextStep(stepPath(3), stepPath(4)));
  CHECK_FALSE(isNextStep(stepPath(4), stepPath(3)));
  CHECK_FALSE(isNextStep(stepPath(3), stepPath(5)));
  CHECK_FALSE(isNextStep(stepPath(3, 12), stepPath(4, 20)));  // another loop
  CHECK_FALSE(isNextStep({}, {}));
  CHECK(stepPath(4).loopStep()->value() == 4);
  CHECK(stepPath(4, 12, "t", 1).loopStep()->index == 3);
  CHECK(ScopePath{}.loopStep() == nullptr);
}

TEST_CASE("foldTimeSteps: interleaved steps of two values become two records pooled over their steps") {
  std::mt19937 rng(7);
  std::normal_distribution<double> n01;
  StatsSnapshot s;
  std::vector<double> all;
  std::vector<std::vector<double>> rs;
  for (int t = 0; t < 3; ++t) {
    std::vector<double> v(8 * 4);
    for (double& x : v) x = 0.5 * t + n01(rng);
    all.insert(all.end(), v.begin(), v.end());
    s.probes.push_back(stepOf("r", t, v, 4, t == 1 ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{1, 2}, 0.1 * t));
    s.probes.push_back(stepOf("z", t, v, 4, {}, 0));
  }
  s.probes.push_back(layerOf("logits", all, 4, {}, 0));
  foldTimeSteps(s);
  REQUIRE(s.probes.size() == 3);
  CHECK(s.probes[0].name == "r@t0..2");
  CHECK(s.probes[1].name == "z@t0..2");
  CHECK(s.probes[2].name == "logits");
  const ProbeStats r = s.probes[0];  // a copy: folding again rebuilds s.probes
  REQUIRE(r.series());
  CHECK(r.timeSteps.size() == 3);
  CHECK(r.timeSteps[2].name == "r@t2");
  CHECK(r.firstStep == 0);
  CHECK(r.scope.empty());  // the folded record stands for the whole loop: its scope is the one around it
  CHECK(r.timeSteps[2].scope == stepPath(2));
  // Pooled moments are those of the union of the steps' values.
  const ProbeStats direct = s.probes[2];
  CHECK(r.mean == doctest::Approx(direct.mean).epsilon(1e-12));
  CHECK(r.std == doctest::Approx(direct.std).epsilon(1e-12));
  CHECK(r.preStd == doctest::Approx(2 * direct.std).epsilon(1e-12));
  CHECK(r.grad.std == doctest::Approx(direct.std / 100).epsilon(1e-9));
  CHECK(r.rows == 24);
  CHECK(r.saturatedShare == doctest::Approx(0.1));
  CHECK(r.deadUnits == std::vector<int64_t>{1});  // dead at every step
  CHECK(r.hist.counts == std::vector<double>{3, 6, 9});
  CHECK(r.mask.empty());
  // Folding again changes nothing, and the JSON keeps every step.
  foldTimeSteps(s);
  CHECK(s.probes.size() == 3);
  StatsSnapshot back = snapshotFromJson(toJson(s));
  REQUIRE(back.probes.size() == 3);
  REQUIRE(back.probes[0].series());
  CHECK(back.probes[0].timeSteps.size() == 3);
  CHECK(back.probes[0].timeSteps[1].deadUnits == std::vector<int64_t>{1, 3});
  CHECK(back.probes[0].std == doctest::Approx(r.std));
  CHECK(back.probes[0].timeSteps[1].scope == stepPath(1));  // each step's scope survives the round trip
  // A parameter's scope (a block instance's, once the language has blocks) survives it too.
  ParamStats w;
  w.name = "layer1.W", w.scope = ScopePath{{ScopeEntry{ScopeEntry::Kind::Block, "layer1", 0, 0, 4}}};
  s.params.push_back(w);
  StatsSnapshot withParam = snapshotFromJson(toJson(s));
  REQUIRE(withParam.params.size() == 1);
  CHECK(withParam.params[0].scope == w.scope);
  CHECK(snapshotFromJson(toJson(back)).params.empty());
  // A log with each step's record apart (and its scope) is folded when read.
  StatsSnapshot apart;
  for (int t = 0; t < 3; ++t) apart.probes.push_back(stepOf("r", t, all, 4, {}, 0));
  StatsSnapshot read = snapshotFromJson(toJson(apart));
  REQUIRE(read.probes.size() == 1);
  CHECK(read.probes[0].name == "r@t0..2");
}

TEST_CASE("foldTimeSteps reads steps from scope paths: a name like a step's is not a step, any loop variable is") {
  // Values named like loop steps but made outside every loop (hand-made records; the language has no such names).
  StatsSnapshot s;
  for (int t = 0; t < 3; ++t) s.probes.push_back(layerOf(fmt::format("h@t{}", t), std::vector<double>(8, 0.5), 4, {}, 0));
  foldTimeSteps(s);
  REQUIRE(s.probes.size() == 3);
  for (const ProbeStats& p : s.probes) CHECK_FALSE(p.series());
  // Steps of a loop over `i`, and two loops on different lines whose values share a name.
  StatsSnapshot l;
  for (int t = 0; t < 2; ++t) {
    ScopePath path = stepPath(t, 7, "i");
    l.probes.push_back(layerOf(qualifiedName("h", path), std::vector<double>(8, 0.5), 4, {}, 0));
    l.probes.back().scope = path;
  }
  l.probes.push_back(stepOf("g", 0, std::vector<double>(8, 0.5), 4, {}, 0, 12));
  l.probes.push_back(stepOf("g", 1, std::vector<double>(8, 0.5), 4, {}, 0, 30));
  foldTimeSteps(l);
  REQUIRE(l.probes.size() == 3);
  CHECK(l.probes[0].name == "h@i0..1");
  CHECK(l.probes[0].series());
  CHECK(l.probes[1].name == "g@t0");
  CHECK(l.probes[2].name == "g@t1");
}

TEST_CASE("foldTimeSteps leaves a lone step, and steps of different widths, apart") {
  StatsSnapshot s;
  s.probes.push_back(stepOf("h", 0, std::vector<double>(8, 0.5), 4, {}, 0));
  s.probes.push_back(stepOf("g", 0, std::vector<double>(8, 0.5), 4, {}, 0));
  s.probes.push_back(stepOf("g", 1, std::vector<double>(8, 0.5), 2, {}, 0));
  foldTimeSteps(s);
  REQUIRE(s.probes.size() == 3);
  CHECK(s.probes[0].name == "h@t0");
  CHECK_FALSE(s.probes[1].series());
}

namespace {

// A recurrent model that reads 8 characters and predicts the next one from its last state only, with the
// recurrent weights at `gain`: the loss reaches the early steps only through the recurrence.
std::string lastStepRnn(double gain) {
  return fmt::format(R"(data ")" NETC_SOURCE_DIR R"(/tests/data/pseudo_words.txt" {{ context = 8 }}
input x : int[B, T]
input y : int[B]
param C : [V, 10] = randn
param start : [1, 32] = zeros
param Wx : [10, 32] = randn / sqrt(10)
param Wh : [32, 32] = randn * {} / sqrt(32)
param Wo : [32, V] = randn * 0.01
param bo : [V] = zeros
emb = C[x]
h = broadcast(start, [B, 32])
for t in 0..T {{
  h = tanh(emb[:, t] @ Wx + h @ Wh)
}}
logits = h @ Wo + bo
minimize cross_entropy(logits, y)
train {{
  batch = 32
  seed = 3
}}
)",
                     gain);
}

std::string runAtInit(const std::string& name, const std::string& model, const std::string& extra = "") {
  fs::path file = scratch() / (name + ".net");
  std::ofstream(file) << model;
  auto r = runNetc(fmt::format("run '{}' --steps 0 --out '{}' --force {}", file.string(), (scratch() / name).string(), extra));
  INFO(r.out);
  REQUIRE(r.status == 0);
  return words(r.out);
}

}  // namespace

TEST_CASE("vanishing gradients through time: said when the first step gets orders of magnitude less") {
  std::string small = runAtInit("vanish", lastStepRnn(0.05));
  INFO(small);
  CHECK(small.find("h@t0..7") != std::string::npos);
  CHECK(small.find("per time step, t = 0..7") != std::string::npos);
  CHECK(small.find("! Gradients vanish through time: d loss / d h has std") != std::string::npos);
  CHECK(small.find("at t = 0 and") != std::string::npos);
  CHECK(small.find("at t = 7") != std::string::npos);
  // The steps are one layer over time, not an 8-layer stack.
  CHECK(small.find("from layer to layer") == std::string::npos);
  CHECK(small.find("vanish on their way back") == std::string::npos);

  std::string unit = runAtInit("steady", lastStepRnn(1.0));
  INFO(unit);
  CHECK(unit.find("Gradients vanish through time") == std::string::npos);
  CHECK(unit.find("ok The gradient reaches the first steps back in time") != std::string::npos);
}

TEST_CASE("probes over time: a loop over any variable is folded by its scope, and diagnosed as one value") {
  // The steps were once found by reading "@t" out of names; a loop over `i` names its values h@i0, h@i1, ...
  std::string model = lastStepRnn(0.05);
  for (auto [from, to] : {std::pair{"for t in 0..T", "for i in 0..T"}, std::pair{"emb[:, t]", "emb[:, i]"}}) {
    REQUIRE(model.find(from) != std::string::npos);
    model.replace(model.find(from), std::string(from).size(), to);
  }
  std::string out = runAtInit("loop_i", model);
  INFO(out);
  CHECK(out.find("h@i0..7") != std::string::npos);
  CHECK(out.find("h@i1 ") == std::string::npos);
  CHECK(out.find("per time step, i = 0..7") != std::string::npos);
  CHECK(out.find("! Gradients vanish through time: d loss / d h has std") != std::string::npos);
  // stats.jsonl keeps each step's scope, and reading it back folds nothing twice.
  std::vector<StatsSnapshot> log = readStatsLog((scratch() / "loop_i" / "stats.jsonl").string());
  REQUIRE(!log.empty());
  const ProbeStats* h = log[0].probe("h@i0..7");
  REQUIRE(h);
  REQUIRE(h->timeSteps.size() == 8);
  CHECK(h->scope.empty());
  REQUIRE(h->timeSteps[3].scope.loopStep());
  CHECK(h->timeSteps[3].scope.loopStep()->name == "i");
  CHECK(h->timeSteps[3].scope.loopStep()->value() == 3);
}

TEST_CASE("makemore's RNN and GRU at initialisation: one record per loop value, gates judged, no vanishing") {
  const std::string data = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  std::ifstream rnnFile(NETC_SOURCE_DIR "/models/rnn.net"), gruFile(NETC_SOURCE_DIR "/models/gru.net");
  std::string rnn((std::istreambuf_iterator<char>(rnnFile)), {}), gru((std::istreambuf_iterator<char>(gruFile)), {});
  std::string r = runAtInit("rnn", rnn, "--data '" + data + "'");
  INFO(r);
  CHECK(r.find("ok The gradient reaches the first steps back in time: d loss / d h") != std::string::npos);
  CHECK(r.find("h@t1 ") == std::string::npos);  // no step printed as a layer of its own
  std::string g = runAtInit("gru", gru, "--data '" + data + "'");
  INFO(g);
  CHECK(g.find("Layer hbar@t0..") != std::string::npos);
  CHECK(g.find("The 2 sigmoid layers look healthy (r@t0..") != std::string::npos);
  CHECK(g.find("(s < 0.03 or s > 0.97)") != std::string::npos);
  CHECK(g.find("Gradients vanish through time") == std::string::npos);
}

TEST_CASE("saturated gates: said as gates, over all the steps") {
  // The GRU's gates fed by weights far too large: both sigmoids pinned near 0 or 1 at every step.
  std::ifstream gruFile(NETC_SOURCE_DIR "/models/gru.net");
  std::string gru((std::istreambuf_iterator<char>(gruFile)), {});
  const std::string data = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  std::string big = gru;
  for (const char* w : {"param Wr    : [E + H, H] = uniform(-1 / sqrt(E + H), 1 / sqrt(E + H))",
                        "param Wz    : [E + H, H] = uniform(-1 / sqrt(E + H), 1 / sqrt(E + H))"}) {
    size_t at = big.find(w);
    REQUIRE(at != std::string::npos);
    std::string name = std::string(w).substr(6, 2);
    big.replace(at, std::string(w).size(), "param " + name + "    : [E + H, H] = randn * 3");
  }
  std::string s = runAtInit("gru_gates", big, "--data '" + data + "'");
  INFO(s);
  CHECK(s.find("! Every sigmoid layer is saturated: r@t0..") != std::string::npos);
  CHECK(s.find("In a recurrent cell these sigmoids are gates") != std::string::npos);
}
