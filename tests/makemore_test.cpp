// makemore.py's Bigram and MLP (models/bigram.net, models/makemore_mlp.net) against makemore.py's own classes
// in PyTorch (float64, tools/makemore_reference.py): the same loss and every parameter gradient for the same
// weights and batch, in the interpreter (1e-6 relative) and the JIT (float32 accuracy).
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.h"
#include "engine/make_engine.h"
#include "runtime/data/batch_feed.h"
#include "runtime/files/safetensors.h"
#include "runtime/files/weights.h"
#include "runtime/training/gradcheck.h"
#include "jit_compare.h"
#include "test_util.h"

using namespace netc;

TEST_CASE("makemore: makemore.py's Bigram and MLP in PyTorch (float64) give netc's loss and gradients") {
  const std::string dir = NETC_SOURCE_DIR "/tests/fixtures/torch_";
  for (std::string name : {"bigram", "makemore_mlp"}) {
    INFO(name);
    Model m = loadModel(dir + name + ".net");
    WeightMap w = loadSafetensors(dir + name + "_weights.safetensors");
    WeightMap batch = loadSafetensors(dir + name + "_batch.safetensors");
    WeightMap want = loadSafetensors(dir + name + "_expected.safetensors");
    const int64_t B = batchSizeOf(m.graph, batch, name);
    auto check = [&](const WeightMap& grads, double loss, double tol) {
      const double wl = want.at("loss").data[0];
      CHECK(std::fabs(loss - wl) <= tol * std::fabs(wl));
      int n = 0;
      for (const auto& [param, t] : want) {
        if (param == "loss") continue;
        INFO(param);
        REQUIRE(grads.count(param));
        CHECK(testing::relError(t.data, grads.at(param).data) <= tol);
        ++n;
      }
      CHECK(n == static_cast<int>(m.graph.params().size()));
    };
    Graph g = bindBatch(m.graph, B);
    double loss = 0;
    WeightMap grads = autodiffGradients(g, w, [&](Engine& e) { feedBatch(e, batch, name); }, &loss);
    check(grads, loss, 1e-6);
    TrainingGraph t = buildTrainingGraph(m.graph);
    auto e = makeEngine(bindBatch(t.graph, B), EngineKind::Jit);
    loadParams(*e, w, name);
    feedBatch(*e, batch, name, t.lr);
    e->write(t.lr, std::vector<double>{0.0});
    e->run();
    WeightMap jg;
    for (auto [p, dp] : t.grads) jg[t.graph[p].name] = NamedTensor{t.graph[p].shape, e->read(dp)};
    check(jg, e->readScalar(t.loss), 1e-3);
  }
}

TEST_CASE("makemore: the shipped models have makemore.py's parameter counts and read nn.Linear's weights in place") {
  Model bigram = testing::shippedModel("bigram.net");
  Model mlp = testing::shippedModel("makemore_mlp.net");
  auto count = [](const Model& m) {
    int64_t n = 0;
    for (int p : m.graph.params()) n += numel(m.graph[p].shape);
    return n;
  };
  // The pseudo words have names.txt's 27 symbols; their longest word sets T, so the MLP's count is its formula.
  const int64_t V = 27, T = static_cast<int64_t>(mlp.constants.at("T")), E = 64, H = 64;
  CHECK(count(bigram) == 729);
  CHECK(count(mlp) == (V + 1) * E + T * E * H + H + H * V + V);
  // `window @ transpose(W1)` and `h @ transpose(W2)`: one product each over all the positions ([B, T, T*E] @
  // [T*E, H]), flagged transB to read the [out, in] weight itself, and no transpose node.
  int flagged = 0, transposes = 0;
  for (const Node& n : mlp.graph.nodes) {
    if (n.op->matrixProduct && n.attrs.ints == std::vector<int64_t>{0, 1}) ++flagged;
    if (n.op->name == std::string_view("transpose")) ++transposes;
  }
  CHECK(flagged == 2);
  CHECK(transposes == 0);
}
