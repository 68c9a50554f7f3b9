// The exact mean data loss (the cross-entropy) of a model's eval form over a whole split, with forward-only
// engines: one bound to a large batch for the bulk of the examples, and one bound to the remainder, so no
// example is padded or dropped.
#pragma once
#include <map>
#include <memory>

#include "interp/engine.h"
#include "lower/model.h"
#include "modes/specialize.h"
#include "runtime/data/dataset.h"
#include "runtime/training/init.h"

namespace netc {

// The batch of the bulk engine (memory grows with it; 4096 keeps an MLP's activations small).
inline constexpr int64_t kEvalBatch = 4096;

class Evaluator {
 public:
  Evaluator(const Model& m, EngineKind kind, int64_t maxBatch = kEvalBatch);
  // Mean of the model's loss over every example: the sum of each chunk's mean times its size, over the total.
  double meanLoss(const WeightMap& weights, const Examples& ex);

 private:
  Engine& engineFor(int64_t batch);
  Model model_;  // the eval form
  EngineKind kind_;
  int64_t maxBatch_;
  std::map<int64_t, std::unique_ptr<Engine>> engines_;  // by batch size, compiled once each
};

}  // namespace netc
