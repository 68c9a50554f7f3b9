// netc against PyTorch: the loss and every gradient of two MLPs, from fixtures that tools/torch_reference.py
// writes (PyTorch, float64), and of a small WaveNet of part 5 built by the notebook's own classes
// (tools/torch_wavenet.py: rank-3 products, BatchNorm over (0, 1), blocks named as its layers list).
// The interpreter must agree to 1e-5, the JIT (float32) to 1e-3, and `netc grad` must reproduce the fixture
// from the command line.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "engine/make_engine.h"
#include "lower/model.h"
#include "modes/specialize.h"
#include "runtime/data/batch_feed.h"
#include "runtime/training/gradcheck.h"
#include "run_netc.h"
#include "runtime/files/safetensors.h"
#include "runtime/files/weights.h"

using namespace netc;
using netc::testing::CommandResult;
using netc::testing::runNetc;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = NETC_SOURCE_DIR "/tests/fixtures/";

struct Fixture {
  std::string name;
  Model model;
  WeightMap weights, batch, expected;
  int64_t B = 0;
  std::string path(const std::string& part) const { return kFixtures + "torch_" + name + part; }
};

Fixture fixture(const std::string& name) {
  Fixture f;
  f.name = name;
  // The train form: the WaveNet's BatchNorm has an eval form too, which the gradients do not see.
  f.model = specializeModel(loadModel(f.path(".net")), Mode::Train);
  f.weights = loadSafetensors(f.path("_weights.safetensors"));
  f.batch = loadSafetensors(f.path("_batch.safetensors"));
  f.expected = loadSafetensors(f.path("_expected.safetensors"));
  f.B = batchSizeOf(f.model.graph, f.batch, f.path("_batch.safetensors"));
  return f;
}

// The largest difference relative to the largest expected magnitude: per-element relative error is
// meaningless for the many gradient entries that are nearly zero.
double relErr(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  if (std::isnan(diff)) return INFINITY;
  return scale > 0 ? diff / scale : diff;
}

// Compares every expected gradient (and the loss) and returns the worst relative error.
double compare(const Fixture& f, const WeightMap& grads, double loss, double tol) {
  double worst = std::fabs(loss - f.expected.at("loss").data[0]) / std::fabs(f.expected.at("loss").data[0]);
  CHECK_MESSAGE(worst < tol, f.name, ": loss ", loss, " vs PyTorch ", f.expected.at("loss").data[0]);
  int n = 0;
  for (const auto& [name, want] : f.expected) {
    if (name == "loss") continue;
    auto it = grads.find(name);
    REQUIRE_MESSAGE(it != grads.end(), f.name, ": no gradient for ", name);
    CHECK(it->second.shape == want.shape);
    double e = relErr(it->second.data, want.data);
    CHECK_MESSAGE(e < tol, f.name, ": gradient of ", name, " off by ", e);
    worst = std::max(worst, e);
    ++n;
  }
  CHECK(n == static_cast<int>(f.model.graph.params().size()));
  return worst;
}


fs::path scratch() {
  static netc::testing::ScratchDir dir("netc_pt_");
  return dir.path();
}

}  // namespace

TEST_CASE("pytorch: the interpreter's loss and gradients match PyTorch float64") {
  for (std::string name : {"mlp", "deep", "wavenet"}) {
    Fixture f = fixture(name);
    Graph g = bindBatch(f.model.graph, f.B);
    double loss = 0;
    WeightMap grads = autodiffGradients(g, f.weights, [&](Engine& e) { feedBatch(e, f.batch, f.name); }, &loss);
    // Inputs are the same float32-rounded weights in both; the gradients are stored as float32.
    compare(f, grads, loss, 1e-5);
  }
}

TEST_CASE("pytorch: the training step through makeEngine(Jit) matches PyTorch to float32 accuracy") {
  for (std::string name : {"mlp", "deep", "wavenet"}) {
    Fixture f = fixture(name);
    TrainingGraph t = buildTrainingGraph(f.model.graph);
    auto e = makeEngine(bindBatch(t.graph, f.B), EngineKind::Jit);
    loadParams(*e, f.weights, f.name);
    feedBatch(*e, f.batch, f.name, t.lr);
    e->write(t.lr, std::vector<double>{0.0});
    e->run();
    WeightMap grads;
    for (auto [p, dp] : t.grads) grads[t.graph[p].name] = NamedTensor{t.graph[p].shape, e->read(dp)};
    compare(f, grads, e->readScalar(t.loss), 1e-3);
  }
}

TEST_CASE("netc grad reproduces the PyTorch gradients, on the interpreter and the JIT") {
  for (std::string name : {"mlp", "deep", "wavenet"}) {
    Fixture f = fixture(name);
    for (bool interp : {true, false}) {
      std::string out = (scratch() / (f.name + (interp ? "_interp" : "_jit") + ".safetensors")).string();
      CommandResult r = runNetc(fmt::format("grad tests/fixtures/torch_{0}.net --weights tests/fixtures/torch_{0}_weights.safetensors "
                                  "--inputs tests/fixtures/torch_{0}_batch.safetensors --out {1}{2}",
                                  name, out, interp ? " --interp" : ""));
      INFO(r.out);
      REQUIRE(r.status == 0);
      double loss = 0;
      REQUIRE(std::sscanf(r.out.c_str(), "loss %lf", &loss) == 1);
      compare(f, loadSafetensors(out), loss, interp ? 1e-5 : 1e-3);
    }
  }
}

TEST_CASE("netc grad: a batch that does not fit the model is a clear error") {
  Fixture f = fixture("mlp");
  std::string w = f.path("_weights.safetensors");
  auto run = [&](const WeightMap& batch, const std::string& file) {
    std::string path = (scratch() / file).string();
    std::vector<std::string> ints;
    for (auto& [n, t] : batch) ints.push_back(n);
    saveSafetensors(path, batch, ints);
    return runNetc(fmt::format("grad tests/fixtures/torch_mlp.net --weights {} --inputs {} --out {} --interp", w, path,
                            (scratch() / "never.safetensors").string()));
  };
  WeightMap bad = f.batch;
  bad["x"].data[5] = 27;  // V = 27: one past the last row
  CommandResult r = run(bad, "range.safetensors");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("input 'x' holds 27 at position 5; indices must be whole numbers in [0, 27)") != std::string::npos, r.out);

  WeightMap renamed = f.batch;
  renamed["xs"] = renamed["x"];
  renamed.erase("x");
  r = run(renamed, "renamed.safetensors");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("'xs' is not an input of the model (did you mean 'x'?)") != std::string::npos, r.out);

  WeightMap ragged = f.batch;
  ragged["y"] = NamedTensor{{5}, {1, 2, 3, 4, 5}};
  r = run(ragged, "ragged.safetensors");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.out.find("batch size 5") != std::string::npos, r.out);
  CHECK_FALSE(fs::exists(scratch() / "never.safetensors"));
}
