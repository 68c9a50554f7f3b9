// Generating words from a trained character model, as makemore does: start from a context of '.'s, run the
// forward graph at batch 1, draw the next character from the softmax of the logits, stop at '.'.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "interp/engine.h"
#include "lower/model.h"
#include "modes/specialize.h"
#include "runtime/training/init.h"
#include "runtime/random/rng.h"

namespace netc {

class Sampler {
 public:
  // Compiles the eval form bound to batch 1. The model needs x, y and cross_entropy logits.
  Sampler(const Model& m, EngineKind kind);
  void setWeights(const WeightMap& w, const std::string& what);
  // One word (without the final '.'). A word that reaches maxLength characters is cut there.
  std::string next(Rng& rng, size_t maxLength = 100);
  // Hands each word to `each` as soon as it is drawn, so any count runs in constant memory.
  void stream(int64_t count, uint64_t seed, const std::function<void(const std::string&)>& each,
              size_t maxLength = 100);
  // The same words, collected (for a run's samples.txt).
  std::vector<std::string> sample(int64_t count, uint64_t seed, size_t maxLength = 100);

 private:
  Model model_;  // the eval form
  std::unique_ptr<Engine> engine_;
  std::vector<int32_t> context_;
  bool sequence_ = false;  // logits [B, T, V] (the sequence form), else [B, V]
  std::vector<double> probs_;
};

}  // namespace netc
