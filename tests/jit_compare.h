// Shared by the JIT tests: train a batch-bound graph side by side in the reference interpreter and in the JIT
// and compare the loss, every gradient and every parameter within float32 tolerance.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <string>

#include "autodiff/autodiff.h"
#include "engine/jit_engine.h"
#include "interp/interpreter.h"
#include "lower/model.h"
#include "modes/specialize.h"
#include "runtime/training/init.h"
#include "runtime/random/rng.h"
#include "runtime/files/weights.h"

namespace netc::testing {

// Largest difference relative to the larger magnitude in the reference tensor (with a floor for all-zero ones):
// float32 rounding and the polynomial tanh/exp/log stay well under 1e-3 of a tensor's scale.
inline double relError(const std::vector<double>& ref, const std::vector<double>& got) {
  REQUIRE(ref.size() == got.size());
  double scale = 1e-6, err = 0, largest = 0;
  for (double v : ref) scale = std::max(scale, std::fabs(v)), largest = std::max(largest, std::fabs(v));
  // A value that vanishes in exact arithmetic (makemore part 4's b1, whose gradient BatchNorm's mean cancels) is
  // rounding noise in both engines, the interpreter's near 1e-17, the JIT's float32 noise near 1e-8: judged
  // against 1e-4, so a real gradient where there should be none still fails.
  if (largest < 1e-12) scale = 1e-4;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    err = std::max(err, std::fabs(ref[i] - got[i]));
  }
  return err / scale;
}

struct CompareOptions {
  int64_t batch = 8;
  int steps = 3;
  double lr = 0.1;
  uint64_t seed = 1;
  double tol = 1e-3;
  codegen::CodegenOptions codegen;
  int64_t ignore = 0;  // != 0: about a quarter of the loss's targets are set to this (cross_entropy's ignore_index)
};

// Random contexts and targets (every int input) in [0, V), the same for both engines.
inline void feedBatch(const Model& m, Engine& a, Engine& b, Rng& rng, int64_t ignore = 0) {
  const Graph& g = a.graph();
  int V = m.vocab.size();
  for (int in : g.inputs()) {
    if (g[in].dtype != DType::I32) continue;
    std::vector<int32_t> v(static_cast<size_t>(numel(g[in].shape)));
    for (auto& x : v) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V)));
    if (ignore != 0 && in == m.targetInput)
      for (auto& x : v)
        if (rng.below(4) == 0) x = static_cast<int32_t>(ignore);
    a.writeIndices(in, v);
    b.writeIndices(in, v);
  }
}

// Trains `opts.steps` SGD steps in both engines and checks loss, gradients and parameters after each.
inline void compareTraining(const Model& generic, const std::string& label, const CompareOptions& opts) {
  TrainForm form = trainForm(generic);  // with the model's own optimizer
  const Model& m = form.model;
  const TrainingGraph& t = form.step;
  Graph bound = bindBatch(t.graph, opts.batch);
  Interpreter ref(bound);
  JitEngine jit(bound, opts.codegen);
  WeightMap w = initParams(t.graph, opts.seed);
  loadParams(ref, w, "init");
  loadParams(jit, w, "init");
  std::vector<double> lr = {opts.lr};
  ref.write(t.lr, lr);
  jit.write(t.lr, lr);
  Rng rng(opts.seed + 100);
  for (int step = 0; step < opts.steps; ++step) {
    feedBatch(m, ref, jit, rng, opts.ignore);
    ref.run();
    jit.run();
    std::string at = fmt::format("{} B={} step {}", label, opts.batch, step);
    double l0 = ref.readScalar(t.loss), l1 = jit.readScalar(t.loss);
    INFO(at, ": loss ", l0, " vs ", l1);
    CHECK(std::fabs(l0 - l1) <= opts.tol * std::max(1.0, std::fabs(l0)));
    for (auto [p, dp] : t.grads) {
      INFO(at, ": gradient ", bound.valueName(dp));
      CHECK(relError(ref.read(dp), jit.read(dp)) <= opts.tol);
    }
    for (int p : bound.persistent()) {
      INFO(at, ": parameter or state ", bound.valueName(p), " after the update");
      CHECK(relError(ref.read(p), jit.read(p)) <= opts.tol);
    }
  }
}

}  // namespace netc::testing
