// Probe statistics: the instrumented graph's numbers against PyTorch (fixtures written by tools/torch_stats.py),
// the instrumentation pass leaving the plain step alone, the decoding and the diagnoses.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autodiff/autodiff.h"
#include "codegen/jit.h"
#include "engine/make_engine.h"
#include "codegen/plan.h"
#include "instrument/instrument.h"
#include "interp/interpreter.h"
#include "lower/model.h"
#include "ops/probe_layout.h"
#include "runtime/probes/diagnose.h"
#include "runtime/training/init.h"
#include "runtime/probes/stats.h"
#include "runtime/probes/stats_summary.h"
#include "runtime/files/weights.h"
#include "test_util.h"

using namespace netc;
using nlohmann::json;

namespace {

// tools/torch_stats.py's generator: splitmix64 outputs -> 53-bit uniforms -> Box-Muller (cosine branch).
class Portable {
 public:
  explicit Portable(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    s_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = s_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t s_;
};

json readFixture(const std::string& name) {
  std::ifstream in(std::string(NETC_SOURCE_DIR "/tests/fixtures/") + name + ".json");
  REQUIRE_MESSAGE(in.good(), "missing fixture ", name, ": run /usr/bin/python3 tools/torch_stats.py");
  return json::parse(in);
}

Model lectureModel() { return testing::shippedModel("mlp_original.net"); }

struct Instance {
  Model model;
  TrainingGraph tg;
  Instrumented inst;
};

Instance instrumented() {
  Instance r{lectureModel(), {}, {}};
  r.tg = buildTrainingGraph(r.model.graph);
  InstrumentOptions o;
  o.saturation = r.model.train.saturation;
  o.logits = r.model.logits;
  r.inst = instrument(r.tg, o);
  return r;
}

// Runs one instrumented training step of the fixture's weights and batch; returns the decoded statistics.
StatsSnapshot runFixture(const json& fx, Engine& e, const Instance& in) {
  const Graph& g = e.graph();
  Portable gen(fx.at("seed").get<uint64_t>());
  const json& scales = fx.at("scales");
  for (int p : g.params()) {  // declaration order, as the script draws them
    std::vector<double> v(numel(g[p].shape));
    double scale = scales.contains(g[p].name) ? scales.at(g[p].name).get<double>() : 1.0;
    for (double& x : v) x = gen.normal() * scale;
    if (g[p].name == "W1") {
      const json& chk = fx.at("generator_check");
      for (int i = 0; i < 3; ++i) REQUIRE(v[i] == doctest::Approx(chk.at("W1_first")[i].get<double>()).epsilon(1e-12));
    }
    e.write(p, v);
  }
  std::vector<int32_t> x, y;
  for (const json& row : fx.at("x"))
    for (const json& c : row) x.push_back(c.get<int32_t>());
  for (const json& c : fx.at("y")) y.push_back(c.get<int32_t>());
  e.writeIndices(in.model.contextInput, x);
  e.writeIndices(in.model.targetInput, y);
  double lr = fx.at("lr");
  e.write(in.tg.lr, std::span(&lr, 1));
  e.run();
  return readStats(e, in.inst.plan, 0, e.readScalar(in.tg.loss), lr);
}

void checkCounts(const std::vector<double>& got, const json& want, const char* what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(got[i] == want[i].get<double>(), what, " bin ", i);
}

// The interpreter computes in double precision from the same weights as PyTorch's float64: moments agree to
// rounding and every count exactly.
void compareWithTorch(const StatsSnapshot& s, const json& fx) {
  const json& ex = fx.at("expected");
  auto close = [](double a, double b) { return doctest::Approx(b).epsilon(1e-9).scale(1e-12) == a; };
  CHECK(close(s.loss, ex.at("loss")));
  const ProbeStats* h = s.probe("h");
  REQUIRE(h);
  const json& eh = ex.at("h");
  CHECK(h->rows == 32);
  CHECK(h->units == 200);
  CHECK(close(h->preMean, eh.at("pre_mean")));
  CHECK(close(h->preStd, eh.at("pre_std")));
  CHECK(close(h->mean, eh.at("mean")));
  CHECK(close(h->std, eh.at("std")));
  CHECK(h->saturatedShare == doctest::Approx(eh.at("saturated_share").get<double>()));
  CHECK(h->flatShare * 32 * 200 == doctest::Approx(eh.at("beyond99").get<double>()));
  CHECK(h->deadUnits == eh.at("dead").get<std::vector<int64_t>>());
  checkCounts(h->hist.counts, eh.at("hist"), "tanh output");
  checkCounts(h->preHist.counts, eh.at("pre_hist"), "pre-activation");
  CHECK(h->preHist.under == eh.at("pre_under").get<double>());
  CHECK(h->preHist.over == eh.at("pre_over").get<double>());
  // The dead-neuron image, row by row.
  REQUIRE(h->mask.size() == 32);
  for (size_t r = 0; r < 32; ++r) {
    std::vector<bool> bits = decodeMaskRow(h->mask[r], 200);
    CHECK(std::count(bits.begin(), bits.end(), true) == eh.at("mask_row_counts")[r].get<int>());
  }
  const ProbeStats* l = s.probe("logits");
  REQUIRE(l);
  const json& el = ex.at("logits");
  CHECK(l->logits);
  CHECK(close(l->mean, el.at("mean")));
  CHECK(close(l->std, el.at("std")));
  CHECK(close(l->min, el.at("min")));
  CHECK(close(l->max, el.at("max")));
  checkCounts(l->hist.counts, el.at("hist"), "logits");
  CHECK(l->hist.under == el.at("under").get<double>());
  CHECK(l->hist.over == el.at("over").get<double>());
  REQUIRE(s.params.size() == 5);
  for (const ParamStats& p : s.params) {
    INFO("parameter ", p.name);
    const json& ep = ex.at("params").at(p.name);
    // The mean of a gradient can be 0 up to rounding (b2's: softmax minus one-hot sums to 0 in each row), so
    // it is compared on the scale of its spread.
    CHECK(doctest::Approx(ep.at("grad_mean").get<double>()).epsilon(1e-9).scale(p.gradStd) == p.gradMean);
    CHECK(close(p.gradStd, ep.at("grad_std")));
    CHECK(close(p.dataMean, ep.at("data_mean")));
    CHECK(close(p.dataStd, ep.at("data_std")));
    CHECK(close(p.gradToData, ep.at("grad_to_data")));
    CHECK(close(p.updateToData, ep.at("update_to_data")));
  }
}

// The JIT computes in float32 with its own tanh: moments agree to float precision, and a count may move by a
// value or two that sits within rounding of a threshold or a bin edge.
void compareWithTorchF32(const StatsSnapshot& s, const json& fx) {
  const json& ex = fx.at("expected");
  auto close = [](double a, double b, double scale) { return doctest::Approx(b).epsilon(2e-4).scale(scale) == a; };
  auto counts = [](const std::vector<double>& got, const json& want, const char* what) {
    REQUIRE(got.size() == want.size());
    double total = 0, wantTotal = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK_MESSAGE(std::fabs(got[i] - want[i].get<double>()) <= 2, what, " bin ", i);
      total += got[i], wantTotal += want[i].get<double>();
    }
    return std::pair{total, wantTotal};
  };
  CHECK(close(s.loss, ex.at("loss"), 0));
  const ProbeStats* h = s.probe("h");
  REQUIRE(h);
  const json& eh = ex.at("h");
  CHECK(close(h->preMean, eh.at("pre_mean"), eh.at("pre_std")));
  CHECK(close(h->preStd, eh.at("pre_std"), 0));
  CHECK(close(h->mean, eh.at("mean"), eh.at("std")));
  CHECK(close(h->std, eh.at("std"), 0));
  CHECK(std::fabs(h->flatShare * 32 * 200 - eh.at("beyond99").get<double>()) <= 2);
  CHECK(std::fabs(h->saturatedShare * 32 * 200 - eh.at("saturated").get<double>()) <= 2);
  std::vector<int64_t> want = eh.at("dead").get<std::vector<int64_t>>(), diff;
  std::set_symmetric_difference(h->deadUnits.begin(), h->deadUnits.end(), want.begin(), want.end(),
                                std::back_inserter(diff));
  CHECK(diff.size() <= 1);
  auto [outGot, outWant] = counts(h->hist.counts, eh.at("hist"), "tanh output");
  CHECK(outGot == outWant);
  counts(h->preHist.counts, eh.at("pre_hist"), "pre-activation");
  const ProbeStats* l = s.probe("logits");
  REQUIRE(l);
  const json& el = ex.at("logits");
  CHECK(close(l->mean, el.at("mean"), el.at("std")));
  CHECK(close(l->std, el.at("std"), 0));
  CHECK(close(l->min, el.at("min"), el.at("std")));
  CHECK(close(l->max, el.at("max"), el.at("std")));
  counts(l->hist.counts, el.at("hist"), "logits");
  for (const ParamStats& p : s.params) {
    INFO("parameter ", p.name);
    const json& ep = ex.at("params").at(p.name);
    CHECK(close(p.gradMean, ep.at("grad_mean"), ep.at("grad_std")));
    CHECK(close(p.gradStd, ep.at("grad_std"), 0));
    CHECK(close(p.dataMean, ep.at("data_mean"), ep.at("data_std")));
    CHECK(close(p.dataStd, ep.at("data_std"), 0));
    CHECK(close(p.gradToData, ep.at("grad_to_data"), 0));
    CHECK(std::fabs(p.updateToData - ep.at("update_to_data").get<double>()) < 1e-3);
  }
}

}  // namespace

TEST_CASE("probe statistics match PyTorch in the compiled step (JIT, float32)") {
  for (const char* name : {"stats_original", "stats_w1x10"}) {
    INFO("fixture ", name);
    json fx = readFixture(name);
    Instance in = instrumented();
    auto e = makeEngine(bindBatch(in.inst.graph, 32), EngineKind::Jit);
    compareWithTorchF32(runFixture(fx, *e, in), fx);
  }
}

TEST_CASE("probe statistics match PyTorch: the lecture's original initialisation (interpreter)") {
  json fx = readFixture("stats_original");
  Instance in = instrumented();
  Interpreter e(bindBatch(in.inst.graph, 32));
  StatsSnapshot s = runFixture(fx, e, in);
  compareWithTorch(s, fx);
  // What the lecture shows: most outputs saturated, yet no unit saturated for the whole batch.
  const ProbeStats* h = s.probe("h");
  CHECK(h->flatShare > 0.5);
  CHECK(h->deadUnits.empty());
}

TEST_CASE("probe statistics match PyTorch: a hidden layer started ten times larger has dead units (interpreter)") {
  json fx = readFixture("stats_w1x10");
  Instance in = instrumented();
  Interpreter e(bindBatch(in.inst.graph, 32));
  StatsSnapshot s = runFixture(fx, e, in);
  compareWithTorch(s, fx);
  CHECK(s.probe("h")->deadUnits.size() > 10);
}

TEST_CASE("instrumentation leaves the plain step untouched and keeps every node id") {
  Model m = lectureModel();
  TrainingGraph tg = buildTrainingGraph(m.graph);
  const std::string before = printGraph(tg.graph);
  InstrumentOptions o;
  o.logits = m.logits;
  Instrumented inst = instrument(tg, o);
  CHECK(printGraph(tg.graph) == before);
  // The instrumented graph starts with the plain graph, node for node; the rest is in the probe phase and
  // feeds nothing but itself.
  REQUIRE(inst.graph.size() > tg.graph.size());
  CHECK(inst.plan.firstStatsNode == tg.graph.size());
  for (int i = 0; i < tg.graph.size(); ++i) {
    const Node &a = tg.graph[i], &b = inst.graph[i];
    CHECK(a.op == b.op);
    CHECK(a.inputs == b.inputs);
    CHECK(a.shape == b.shape);
    CHECK(a.name == b.name);
  }
  for (int i = tg.graph.size(); i < inst.graph.size(); ++i) CHECK(inst.graph[i].phase == Phase::Probe);
  Graph truncated = inst.graph;
  truncated.nodes.resize(tg.graph.size());
  CHECK(printGraph(truncated) == before);
  // One param_stats per trainable parameter, reading the parameter after its update.
  CHECK(inst.plan.params.size() == tg.grads.size());
  for (const ParamProbe& p : inst.plan.params) CHECK(inst.graph[p.stats].inputs[0] == tg.updates.at(p.param));
  CHECK(inst.plan.outputParams == std::vector<std::string>{"W2", "b2"});
}

// The LLVM IR (before optimisation) of a batch-bound graph, as the JIT would compile it.
static std::string irOf(const Graph& g) {
  Graph bound = bindBatch(g, 32);
  codegen::CodegenOptions opts;
  codegen::HostTarget target(opts);
  codegen::StepModule m = codegen::buildStepModule(bound, codegen::makePlan(bound, opts.plan), opts, target.info());
  return codegen::printModule(*m.module);
}

TEST_CASE("instrumentation does not change the plain step's generated code") {
  Model m = lectureModel();
  TrainingGraph tg = buildTrainingGraph(m.graph);
  const std::string plain = irOf(tg.graph);
  InstrumentOptions o;
  o.logits = m.logits;
  Instrumented inst = instrument(tg, o);
  CHECK(irOf(tg.graph) == plain);  // the same graph, compiled after the pass ran on it
  std::string probed = irOf(inst.graph);
  CHECK(probed != plain);
  CHECK(probed.find("layer_stats") != std::string::npos);  // kernels are named after their op
}

TEST_CASE("instrumentation: @probe marks, the logits and the parameters feeding each layer") {
  Instance in = instrumented();
  const ProbePlan& plan = in.inst.plan;
  REQUIRE(plan.probes.size() == 2);
  CHECK(plan.probes[0].name == "h");
  CHECK(plan.probes[0].kind == ProbeEntry::Layer);
  CHECK(!plan.probes[0].implicit);
  CHECK(plan.probes[0].layerParams == std::vector<std::string>{"W1", "b1"});
  CHECK(plan.probes[0].mask >= 0);
  CHECK(plan.probes[1].name == "logits");
  CHECK(plan.probes[1].kind == ProbeEntry::Value);
  CHECK(plan.probes[1].implicit);  // not marked in mlp_original.net: measured for the initial-loss diagnosis
  // A forward graph alone: probes but no parameter statistics.
  InstrumentOptions o;
  o.logits = in.model.logits;
  Instrumented fwd = instrument(in.model.graph, {}, {}, -1, o);
  CHECK(fwd.plan.params.empty());
  CHECK(fwd.plan.probes.size() == 2);
}

TEST_CASE("probe ops reject what they cannot describe") {
  Instance in = instrumented();
  Graph g = in.inst.graph;
  int h = g.find("h");
  Attrs a;
  a.value = 1.5;  // a share threshold must lie in (0.5, 1)
  a.ints = {0};   // tanh
  int bad = g.add(findOp("layer_stats"), {g[h].inputs[0], h}, a, g[h].loc);
  CHECK_THROWS_WITH_AS(inferNode(g, bad), doctest::Contains("saturation threshold"), Error);
  int mismatched = g.add(findOp("param_stats"), {g.find("W1"), g.find("W2"), in.tg.lr}, {}, g[h].loc);
  CHECK_THROWS_WITH_AS(inferNode(g, mismatched), doctest::Contains("same shape"), Error);
}

TEST_CASE("mask rows encode units left to right, four to a hex digit") {
  std::vector<double> bits = {1, 0, 0, 0, 0, 1, 1, 1, 1};
  std::string hex = encodeMaskRow(bits.data(), 9);
  CHECK(hex == "878");
  std::vector<bool> back = decodeMaskRow(hex, 9);
  for (size_t i = 0; i < bits.size(); ++i) CHECK(back[i] == (bits[i] != 0));
  CHECK_THROWS_AS(decodeMaskRow("87", 9), Error);
  CHECK_THROWS_AS(decodeMaskRow("8x8", 9), Error);
}

TEST_CASE("statistics survive the JSON round trip, non-finite ratios as null") {
  json fx = readFixture("stats_w1x10");
  Instance in = instrumented();
  Interpreter e(bindBatch(in.inst.graph, 32));
  StatsSnapshot s = runFixture(fx, e, in);
  s.params[0].updateToData = std::numeric_limits<double>::infinity();
  json j = toJson(s);
  CHECK(j["params"][0]["update_to_data"].is_null());
  StatsSnapshot back = snapshotFromJson(json::parse(j.dump()));
  CHECK(std::isnan(back.params[0].updateToData));
  CHECK(back.params[1].gradStd == s.params[1].gradStd);
  CHECK(back.probe("h")->deadUnits == s.probe("h")->deadUnits);
  CHECK(back.probe("h")->mask == s.probe("h")->mask);
  CHECK(back.probe("h")->preHist.counts == s.probe("h")->preHist.counts);
  CHECK(back.probe("logits")->max == s.probe("logits")->max);
}

TEST_CASE("diagnoses: confidently wrong start, saturated layer, dead units by index") {
  json fx = readFixture("stats_w1x10");
  Instance in = instrumented();
  Interpreter e(bindBatch(in.inst.graph, 32));
  StatsSnapshot s = runFixture(fx, e, in);
  std::vector<Finding> f = diagnose(s, diagnosisContext(in.inst.plan, 27), /*initial=*/true);
  std::string all;
  for (const Finding& x : f) all += x.text + "\n";
  INFO(all);
  CHECK(all.find("confidently wrong") != std::string::npos);
  CHECK(all.find("3.30") != std::string::npos);
  CHECK(all.find("W2 and b2") != std::string::npos);
  CHECK(all.find("heavily saturated") != std::string::npos);
  CHECK(all.find("W1 and b1") != std::string::npos);
  const ProbeStats* h = s.probe("h");
  CHECK(all.find(fmt::format("{} dead units", h->deadUnits.size())) != std::string::npos);
  CHECK(all.find(fmt::format("index {}, {}", h->deadUnits[0], h->deadUnits[1])) != std::string::npos);
  // The summary shows the same numbers as the snapshot.
  std::string text = formatSummary(s, f, "step 0");
  CHECK(text.find(fmt::format("{}/200", h->deadUnits.size())) != std::string::npos);
}

TEST_CASE("diagnoses: a near-uniform start and a healthy layer are said to be fine") {
  StatsSnapshot s;
  s.loss = 3.31;
  ProbeStats h;
  h.name = "h", h.kind = "tanh", h.layer = true, h.units = 200, h.rows = 32, h.preStd = 1.1, h.saturation = 0.97;
  h.saturatedShare = 0.02;
  s.probes.push_back(h);
  ParamStats p;
  p.name = "W1", p.updateToData = -3.1;
  s.params.push_back(p);
  DiagnosisContext c;
  c.vocab = 27;
  std::vector<Finding> f = diagnose(s, c, true);
  for (const Finding& x : f) CHECK_MESSAGE(x.level == Finding::Good, x.text);
  REQUIRE(f.size() == 2);  // the initial loss and the layer; update ratios wait until training has begun
  CHECK(f[0].topic == "initial loss");
  f = diagnose(s, c, false);
  REQUIRE(f.size() == 2);  // the layer and the update ratios
  for (const Finding& x : f) CHECK_MESSAGE(x.level == Finding::Good, x.text);
  // Far from -3, the update ratio is named; a layer a third saturated is flagged.
  s.params[0].updateToData = -1.2;
  s.probes[0].saturatedShare = 0.3;
  f = diagnose(s, c, false);
  REQUIRE(f.size() == 2);
  CHECK(f[0].level == Finding::Warning);
  CHECK(f[0].text.find("Layer h is saturated: 30.0%") != std::string::npos);
  CHECK(f[1].level == Finding::Warning);
  CHECK(f[1].text.find("W1 moves fast") != std::string::npos);
}

TEST_CASE("diagnoses: the lecture's Kaiming-initialised model starts near uniform with a healthy layer") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  TrainingGraph tg = buildTrainingGraph(m.graph);
  InstrumentOptions o;
  o.logits = m.logits;
  o.saturation = m.train.saturation;
  Instrumented inst = instrument(tg, o);
  Interpreter e(bindBatch(inst.graph, 32));
  loadParams(e, initParams(m.graph, m.train.seed), "init");
  Portable gen(7);
  std::vector<int32_t> x(32 * 3), y(32);
  for (int32_t& v : x) v = static_cast<int32_t>(gen.uniform() * 27);
  for (int32_t& v : y) v = static_cast<int32_t>(gen.uniform() * 27);
  e.writeIndices(m.contextInput, x);
  e.writeIndices(m.targetInput, y);
  double lr = 0.1;
  e.write(tg.lr, std::span(&lr, 1));
  e.run();
  StatsSnapshot s = readStats(e, inst.plan, 0, e.readScalar(tg.loss), lr);
  std::vector<Finding> f = diagnose(s, diagnosisContext(inst.plan, 27), true);
  // The start, the layer and the output layer's grad:data outlier (W2 = randn * 0.01), explained, not warned of.
  REQUIRE(f.size() == 3);
  for (const Finding& x : f) CHECK_MESSAGE(x.level == Finding::Good, x.text);
  CHECK(f[1].text.find("Layer h looks healthy") != std::string::npos);
  CHECK(f[2].text.find("W2's grad:data ratio") != std::string::npos);
  CHECK(f[2].text.find("not a sign of a wrong learning rate") != std::string::npos);
  CHECK(s.probe("h")->deadUnits.empty());
}

TEST_CASE("instrumentation: an int value cannot be probed, a tanh without a units axis is probed as a value") {
  std::string path = (std::filesystem::temp_directory_path() / fmt::format("netc_probe_{}.net", ::getpid())).string();
  auto load = [&](const std::string& body) {
    std::ofstream(path) << "data \"" NETC_SOURCE_DIR "/tests/data/pseudo_words.txt\" { context = 3 }\n"
                        << "input x : int[B, T]\ninput y : int[B]\nparam C : [V, 4] = randn\n"
                        << "param W : [T*4, V] = randn\n" << body
                        << "logits = flatten(C[x]) @ W\nloss = cross_entropy(logits, y)\nminimize loss\n";
    Model m = loadModel(path);
    InstrumentOptions o;
    o.logits = m.logits;
    return std::pair{m.graph, o};
  };
  auto [g1, o1] = load("@probe\nz = reshape(x, [B, T])\n");
  CHECK_THROWS_WITH_AS(instrument(g1, {}, {}, -1, o1), doctest::Contains("only float values can be probed"), Error);
  auto [g2, o2] = load("@probe\ns = tanh(sum(flatten(C[x]), axis=1))\n");
  Instrumented inst = instrument(g2, {}, {}, -1, o2);
  REQUIRE(inst.plan.probes.size() == 2);
  CHECK(inst.plan.probes[0].name == "s");
  CHECK(inst.plan.probes[0].kind == ProbeEntry::Value);
  std::filesystem::remove(path);
}
