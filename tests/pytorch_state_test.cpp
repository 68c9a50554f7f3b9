// netc against PyTorch on state and modes, from fixtures tools/torch_state_reference.py writes: BatchNorm in three
// conventions (forward losses, gradients, parameters and running statistics after 5 steps, the eval form's
// loss; float64, so the interpreter must agree to 1e-6) and every optimizer over 20 steps of the lecture's MLP
// (float32 like torch.optim, 1e-5 relative).
#include <doctest/doctest.h>

#include <cmath>
#include <fmt/format.h>

#include "engine/make_engine.h"
#include "jit_compare.h"
#include "modes/specialize.h"
#include "runtime/files/safetensors.h"
#include "runtime/files/weights.h"

using namespace netc;

namespace {

const std::string kDir = NETC_SOURCE_DIR "/tests/fixtures/state/";

// Writes batch `step` of x [S, B, T] and y [S, B] into the engine's inputs.
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

void checkBatchnorm(const std::string& conv, EngineKind kind, double tol) {
  Model generic = loadModel(kDir + "bn_" + conv + ".net");
  WeightMap w = loadSafetensors(kDir + "bn_" + conv + "_weights.safetensors");
  WeightMap batches = loadSafetensors(kDir + "bn_" + conv + "_batches.safetensors");
  WeightMap want = loadSafetensors(kDir + "bn_" + conv + "_expected.safetensors");
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
    INFO(conv, " step ", step);
    CHECK(std::fabs(e->readScalar(f.step.loss) - losses[step]) <= tol * std::max(1.0, std::fabs(losses[step])));
    if (step == 0)
      for (auto [p, dp] : f.step.grads) {
        INFO("gradient of ", f.step.graph[p].name);
        CHECK(testing::relError(want.at("grad." + f.step.graph[p].name).data, e->read(dp)) <= tol);
      }
  }
  WeightMap after = readParams(*e);
  for (const char* name : {"C", "W1", "gamma", "beta", "W2", "b2", "rmean", "rvar"}) {
    INFO(conv, ": ", name, " after ", losses.size(), " steps");
    CHECK(testing::relError(want.at(name).data, after.at(name).data) <= tol);
  }
  // The eval form (running statistics) on the next batch, as model.eval() computes it.
  Model eval = specializeModel(generic, Mode::Eval);
  auto ev = makeEngine(bindBatch(eval.graph, B), kind);
  loadParams(*ev, after, "trained");
  feedStep(*ev, eval, batches, static_cast<int>(losses.size()));
  ev->run();
  double wantEval = want.at("eval_loss").data[0];
  INFO(conv, ": eval-form loss");
  CHECK(std::fabs(ev->readScalar(eval.graph.loss) - wantEval) <= tol * std::max(1.0, wantEval));
}

}  // namespace

TEST_CASE("pytorch: batchnorm in the lecture's first form, its BatchNorm1d class and torch.nn.BatchNorm1d") {
  for (const char* conv : {"lecture1", "class", "torch"}) {
    checkBatchnorm(conv, EngineKind::Interp, 1e-6);
    checkBatchnorm(conv, EngineKind::Jit, 2e-4);
  }
}

TEST_CASE("pytorch: every optimizer ends 20 steps where torch.optim does") {
  WeightMap init = loadSafetensors(kDir + "opt_weights.safetensors");
  WeightMap batches = loadSafetensors(kDir + "opt_batches.safetensors");
  const int64_t B = batches.at("x").shape[1];
  const int steps = static_cast<int>(batches.at("x").shape[0]);
  for (const char* name : {"sgd", "sgd_wd", "momentum", "nesterov", "adam", "adam_l2", "adamw", "adamw_clip"}) {
    Model generic = loadModel(kDir + "opt_" + name + ".net");
    WeightMap want = loadSafetensors(kDir + "opt_" + name + "_expected.safetensors");
    TrainForm f = trainForm(generic);
    for (EngineKind kind : {EngineKind::Interp, EngineKind::Jit}) {
      auto e = makeEngine(bindBatch(f.step.graph, B), kind);
      loadParams(*e, init, "fixture");  // the optimizer's state starts at zero, as torch's does
      for (int step = 0; step < steps; ++step) {
        std::vector<double> lr = {generic.train.learningRate(step)};
        e->write(f.step.lr, lr);
        feedStep(*e, f.model, batches, step);
        e->run();
      }
      WeightMap got = readParams(*e);
      for (const char* p : {"C", "W1", "b1", "W2", "b2"}) {
        INFO(name, (kind == EngineKind::Jit ? " jit" : " interpreter"), ": ", p, " after ", steps, " steps");
        CHECK(testing::relError(want.at(p).data, got.at(p).data) <= 1e-5);
      }
    }
  }
}
