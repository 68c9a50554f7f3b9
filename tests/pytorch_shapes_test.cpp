// netc against PyTorch on batchnorm over (0, 1) of [B, T, C] values, from the fixture
// tools/torch_shapes_reference.py writes with makemore part 5's own classes (FlattenConsecutive, Linear,
// BatchNorm1d, Tanh; float64): 5 SGD steps' losses, the first step's gradients, the parameters and the running
// statistics ([C]) after them, and the eval form's loss. The interpreter must agree to 1e-6, the JIT to float32
// rounding.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/make_engine.h"
#include "jit_compare.h"
#include "modes/specialize.h"
#include "runtime/files/safetensors.h"
#include "runtime/files/weights.h"

using namespace netc;

namespace {

const std::string kDir = NETC_SOURCE_DIR "/tests/fixtures/shapes/";

void feedStep(Engine& e, const Model& m, const WeightMap& batches, int step) {
  const NamedTensor& x = batches.at("x");
  const NamedTensor& y = batches.at("y");
  const int64_t B = x.shape[1], T = x.shape[2];
  std::vector<int32_t> xb(static_cast<size_t>(B * T)), yb(static_cast<size_t>(B));
  for (int64_t i = 0; i < B * T; ++i) xb[static_cast<size_t>(i)] = static_cast<int32_t>(x.data[static_cast<size_t>(step * B * T + i)]);
  for (int64_t i = 0; i < B; ++i) yb[static_cast<size_t>(i)] = static_cast<int32_t>(y.data[static_cast<size_t>(step * B + i)]);
  e.writeIndices(m.contextInput, xb);
  e.writeIndices(m.targetInput, yb);
}

void checkWavenetBatchnorm(EngineKind kind, double tol) {
  Model generic = loadModel(kDir + "wavenet_bn.net");
  WeightMap w = loadSafetensors(kDir + "wavenet_bn_weights.safetensors");
  WeightMap batches = loadSafetensors(kDir + "wavenet_bn_batches.safetensors");
  WeightMap want = loadSafetensors(kDir + "wavenet_bn_expected.safetensors");
  const int64_t B = batches.at("x").shape[1];
  TrainForm f = trainForm(generic);
  auto e = makeEngine(bindBatch(f.step.graph, B), kind);
  loadParams(*e, w, "fixture");
  std::vector<double> lr = {0.1};
  e->write(f.step.lr, lr);
  const std::vector<double>& losses = want.at("losses").data;
  for (size_t step = 0; step < losses.size(); ++step) {
    feedStep(*e, f.model, batches, static_cast<int>(step));
    e->run();
    INFO("step ", step, ": loss ", e->readScalar(f.step.loss), " vs ", losses[step]);
    CHECK(std::fabs(e->readScalar(f.step.loss) - losses[step]) <= tol * std::max(1.0, std::fabs(losses[step])));
    if (step == 0)
      for (auto [p, dp] : f.step.grads) {
        INFO("gradient of ", f.step.graph[p].name);
        CHECK(testing::relError(want.at("grad." + f.step.graph[p].name).data, e->read(dp)) <= tol);
      }
  }
  WeightMap after = readParams(*e);
  for (const char* name : {"C", "W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3", "rmean1", "rvar1",
                           "rmean2", "rvar2"}) {
    INFO(name, " after ", losses.size(), " steps");
    CHECK(testing::relError(want.at(name).data, after.at(name).data) <= tol);
  }
  Model eval = specializeModel(generic, Mode::Eval);
  auto ev = makeEngine(bindBatch(eval.graph, B), kind);
  loadParams(*ev, after, "trained");
  feedStep(*ev, eval, batches, static_cast<int>(losses.size()));
  ev->run();
  const double wantEval = want.at("eval_loss").data[0];
  INFO("eval-form loss");
  CHECK(std::fabs(ev->readScalar(eval.graph.loss) - wantEval) <= tol * std::max(1.0, wantEval));
}

}  // namespace

TEST_CASE("pytorch: part 5's BatchNorm1d over (0, 1) of [B, T, C] (forward, gradients, running statistics, eval)") {
  checkWavenetBatchnorm(EngineKind::Interp, 1e-6);
  checkWavenetBatchnorm(EngineKind::Jit, 2e-4);
}
