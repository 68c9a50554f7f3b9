// Shapes of any rank: dimensions k·B (printed B*4, bound to k times the batch), reshape's -1, the node a
// permutation lowers to, unsqueeze/squeeze, and reductions over axis tuples computed against a direct loop
// over the elements in the interpreter (the count of a mean or variance includes B).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "autodiff/autodiff.h"
#include "engine/make_engine.h"
#include "instrument/instrument.h"
#include "interp/interpreter.h"
#include "modes/specialize.h"
#include "ops/op.h"
#include "runtime/files/weights.h"
#include "runtime/probes/stats.h"
#include "runtime/training/init.h"
#include "scratch_dir.h"
#include "test_util.h"

using namespace netc;

namespace {

const char* kPrelude = "data \"unused.txt\" {\n  context = 3\n}\ninput x : int[B, T]\ninput y : int[B]\n"
                       "param C : [V, 4] = randn\nparam W : [12, V] = randn\n";
const char* kLoss = "loss = cross_entropy(reshape(C[x], [B, -1]) @ W, y)\nminimize loss\n";

Model lower(const std::string& body, const char* loss = kLoss) {
  static testing::ScratchDir dir("netc_shapes_test_");
  const auto file = dir.path() / "m.net";
  std::ofstream(file) << kPrelude << body << "\n" << loss;
  return testing::loadWithPseudoWords(file.string());
}

const Node& named(const Model& m, const std::string& name) { return m.graph[m.graph.find(name)]; }

}  // namespace

TEST_CASE("shapes: a dimension k·B prints as B*k, binds to k times the batch and counts k per batch row") {
  const Shape s = {batchTimes(4), 30};
  CHECK(shapeStr(s) == "[B*4,30]");
  CHECK(shapeStr({kBatch, 3}) == "[B,3]");
  CHECK(bindBatch(s, 3) == Shape{12, 30});
  CHECK(perBatchNumel(s) == 120);
  CHECK(hasBatch(s));
  CHECK_FALSE(hasBatch({4, 30}));
}

TEST_CASE("shapes: B*T, 4*B and -1 in reshape; permutations lower to a view, transpose or permute") {
  Model m = lower("a = reshape(C[x], [B*T, 4])\nb = reshape(C[x], [T*B*2, 2])\nc = reshape(C[x], [-1, 4])\n"
                  "d = reshape(C[x], [B, -1])\ne = reshape(c, [B, T, -1])\nf = unsqueeze(C[x], axis=-1)\n"
                  "g = squeeze(f, axis=3)\nt2 = permute(W, [1, 0])\nv = permute(f, [0, 1, 3, 2])\n"
                  "p = permute(C[x], [2, 0, 1])");
  CHECK(named(m, "a").shape == Shape{batchTimes(3), 4});
  CHECK(named(m, "b").shape == Shape{batchTimes(6), 2});
  CHECK(named(m, "c").shape == Shape{batchTimes(3), 4});
  CHECK(named(m, "d").shape == Shape{kBatch, 12});
  CHECK(named(m, "e").shape == Shape{kBatch, 3, 4});
  CHECK(named(m, "f").shape == Shape{kBatch, 3, 4, 1});
  CHECK(named(m, "g").shape == Shape{kBatch, 3, 4});
  CHECK(std::string(named(m, "t2").op->name) == "transpose");  // op-name compare: which node the lowering made
  CHECK(std::string(named(m, "v").op->name) == "reshape");     // op-name compare: only a size-1 axis moves
  CHECK(std::string(named(m, "p").op->name) == "permute");     // op-name compare: a real permutation
  CHECK(named(m, "p").shape == Shape{4, kBatch, 3});
  CHECK(testing::errorOf([] { lower("a = reshape(C[x], [B*T*B, 4])"); }).find("'B' may appear only once") != std::string::npos);
  CHECK(testing::errorOf([] { lower("a = reshape(C[x], [B*T, B])"); }).find("'B' may appear only once") != std::string::npos);
  CHECK(testing::errorOf([] { lower("a = reshape(C[x], [B/2, 24])"); }).find("B times whole constants") != std::string::npos);
}

TEST_CASE("shapes: sum, mean, var and std over axis tuples equal direct loops, B counted") {
  Model m = lower("e = C[x]\ns01 = sum(e, axis=(0, 1))\nm01 = mean(e, axis=(1, 0), keepdim=1)\n"
                  "v02 = var(e, axis=[0, 2])\nsd12 = std(e, axis=(-1, 1), correction=0, keepdim=1)");
  CHECK(named(m, "m01").shape == Shape{1, 1, 4});
  CHECK(named(m, "v02").shape == Shape{3});
  CHECK(named(m, "sd12").shape == Shape{kBatch, 1, 1});
  const int64_t B = 5, T = 3, E = 4;
  Interpreter in(bindBatch(m.graph, B));
  loadParams(in, initParams(m.graph, 3), "init");
  std::vector<int32_t> xs(static_cast<size_t>(B * T)), ys(static_cast<size_t>(B), 0);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int32_t>((i * 7 + 3) % 27);
  in.writeIndices(m.graph.find("x"), xs);
  in.writeIndices(m.graph.find("y"), ys);
  in.run();
  const std::vector<double> e = in.read(m.graph.find("e"));
  auto at = [&](int64_t b, int64_t t, int64_t k) { return e[static_cast<size_t>((b * T + t) * E + k)]; };
  const std::vector<double> s01 = in.read(m.graph.find("s01")), m01 = in.read(m.graph.find("m01"));
  for (int64_t k = 0; k < E; ++k) {
    double sum = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) sum += at(b, t, k);
    CHECK(s01[static_cast<size_t>(k)] == doctest::Approx(sum).epsilon(1e-12));
    CHECK(m01[static_cast<size_t>(k)] == doctest::Approx(sum / (B * T)).epsilon(1e-12));
  }
  const std::vector<double> v02 = in.read(m.graph.find("v02"));
  for (int64_t t = 0; t < T; ++t) {
    double sum = 0, sq = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < E; ++k) sum += at(b, t, k);
    const double mean = sum / (B * E);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < E; ++k) sq += (at(b, t, k) - mean) * (at(b, t, k) - mean);
    CHECK(v02[static_cast<size_t>(t)] == doctest::Approx(sq / (B * E - 1)).epsilon(1e-12));
  }
  const std::vector<double> sd12 = in.read(m.graph.find("sd12"));
  for (int64_t b = 0; b < B; ++b) {
    double sum = 0, sq = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < E; ++k) sum += at(b, t, k);
    const double mean = sum / (T * E);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < E; ++k) sq += (at(b, t, k) - mean) * (at(b, t, k) - mean);
    CHECK(sd12[static_cast<size_t>(b)] == doctest::Approx(std::sqrt(sq / (T * E))).epsilon(1e-12));
  }
}

// The probes on rank-3 values: a relu layer of [B, T, H] (leading axes are rows, the last the units) with one unit
// whose pre-activation is negative everywhere (dead), and batchnorm over (0, 1) with its default probe.
TEST_CASE("shapes: probes see a [B, T, H] layer as B*T rows of H units (saturation, dead units, the batchnorm probe)") {
  Model m = lower("param W1 : [4, 6] = randn\nparam k : [6] = ones\nparam g : [6] = ones\nparam be : [6] = zeros\n"
                  "state rm : [6] = zeros\nstate rv : [6] = ones\n"
                  "pre = reshape(reshape(C[x], [B*T, 4]) @ W1, [B, T, 6]) * k\n"
                  "h = relu(pre)\nu = tanh(batchnorm(pre, g, be, rm, rv))\n"
                  "extra = mean(h * h) + mean(u * u)",
                  "loss = cross_entropy(reshape(C[x], [B, -1]) @ W, y) + 0.1 * extra\nminimize loss\n");
  m = specializeModel(m, Mode::Train);  // node ids of the train form from here on
  TrainingGraph tg = buildTrainingGraph(m.graph);
  InstrumentOptions o;
  o.logits = m.logits;
  o.saturation = m.train.saturation;
  Instrumented inst = instrument(tg, o);
  const int64_t B = 5, T = 3;
  WeightMap w = initParams(m.graph, 2);
  // Unit 2 of the relu layer is dead: C is positive, W1's column 2 all ones, and k[2] = -100 makes its
  // pre-activation negative in every row.
  for (double& c : w.at("C").data) c = std::fabs(c) + 0.1;
  for (int64_t r = 0; r < 4; ++r) w.at("W1").data[static_cast<size_t>(r * 6 + 2)] = 1.0;
  w.at("k").data[2] = -100;
  for (EngineKind kind : {EngineKind::Interp, EngineKind::Jit}) {
    auto e = makeEngine(bindBatch(inst.graph, B), kind);
    loadParams(*e, w, "weights");
    std::vector<int32_t> xs(static_cast<size_t>(B * T)), ys(static_cast<size_t>(B), 1);
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int32_t>((i * 5 + 1) % 27);
    e->writeIndices(m.contextInput, xs);
    e->writeIndices(m.targetInput, ys);
    double lr = 0.1;
    e->write(tg.lr, std::span(&lr, 1));
    e->run();
    StatsSnapshot s = readStats(*e, inst.plan, 0, e->readScalar(tg.loss), lr);
    const ProbeStats* h = s.probe("h");
    REQUIRE(h);
    CHECK(h->layer);
    CHECK(h->rows == B * T);
    CHECK(h->units == 6);
    CHECK(h->deadUnits == std::vector<int64_t>{2});
    const ProbeStats* u = s.probe("u");
    REQUIRE(u);
    CHECK(u->rows == B * T);
    // The shares of tanh outputs beyond the saturation threshold and in the flat region, counted directly.
    const std::vector<double> uv = e->read(m.graph.find("u"));
    double saturated = 0, flat = 0;
    for (double v : uv) {
      saturated += std::fabs(v) > m.train.saturation ? 1 : 0;
      flat += std::fabs(v) > 0.99 ? 1 : 0;
    }
    CHECK(saturated > 0);
    CHECK(u->saturatedShare == doctest::Approx(saturated / static_cast<double>(uv.size())).epsilon(1e-6));
    CHECK(u->flatShare == doctest::Approx(flat / static_cast<double>(uv.size())).epsilon(1e-6));
    bool batchnormProbe = false;
    for (const ProbeStats& p : s.probes) batchnormProbe = batchnormProbe || p.name.rfind("batchnorm@", 0) == 0;
    CHECK(batchnormProbe);
  }
}
