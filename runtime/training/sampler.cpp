#include "runtime/training/sampler.h"

#include <cmath>
#include <fmt/format.h>

#include "engine/make_engine.h"
#include "pipeline/pipeline.h"
#include "runtime/files/weights.h"

namespace netc {

namespace {
// The eval form's forward pass, one word at a time.
pipeline::Options oneWordAtATime() {
  pipeline::Options o;
  o.mode = Mode::Eval;
  o.batch = 1;
  return o;
}
}  // namespace

Sampler::Sampler(const Model& generic, EngineKind kind)
    : model_(pipeline::run(generic, oneWordAtATime(), pipeline::Stage::Specialize).model) {
  const Model& m = model_;
  if (m.logits < 0 || m.contextInput < 0 || m.targetInput < 0)
    fail(fmt::format("{}: sampling needs a model with inputs x (int[B, T]), y (int[B]) and a cross_entropy(logits, y) "
                     "loss whose logits give the next character",
                     m.name));
  const Shape& ls = m.graph[m.logits].shape;
  // The sequence form's logits [B, T, V] hold the next character at every position: a word is drawn one
  // character at a time, position p's logits read after the word so far is written at 1..p.
  sequence_ = ls.size() == 3;
  if ((ls.size() != 2 && !sequence_) || ls.back() != m.vocab.size())
    fail(fmt::format("{}: the logits {} must have one column per vocabulary character ({})", m.name, shapeStr(ls),
                     m.vocab.size()));
  engine_ = makeEngine(pipeline::resume({.model = m}, oneWordAtATime(), pipeline::Stage::BindBatch,
                                        pipeline::Stage::BindBatch).bound,
                       kind);
  context_.assign(m.data.context, 0);
  probs_.resize(m.vocab.size());
  // The target is unused for sampling, but the forward graph computes the loss too: give it valid indices.
  const std::vector<int32_t> zeros(static_cast<size_t>(numel(bindBatch(m.graph[m.targetInput].shape, 1))), 0);
  engine_->writeIndices(m.targetInput, zeros);
}

void Sampler::setWeights(const WeightMap& w, const std::string& what) { loadParams(*engine_, w, what); }

std::string Sampler::next(Rng& rng, size_t maxLength) {
  std::string word;
  std::fill(context_.begin(), context_.end(), 0);
  while (word.size() < maxLength) {
    const size_t pos = word.size();
    if (sequence_ && pos + 1 >= context_.size()) break;  // T - 1 characters at most, as makemore.py samples
    engine_->writeIndices(model_.contextInput, context_);
    engine_->run();
    std::vector<double> logits = engine_->read(model_.logits);
    if (sequence_) {
      const size_t V = probs_.size();
      logits = std::vector<double>(logits.begin() + static_cast<std::ptrdiff_t>(pos * V),
                                   logits.begin() + static_cast<std::ptrdiff_t>((pos + 1) * V));
    }
    // Softmax, shifted by the max so large logits cannot overflow.
    double mx = logits[0], sum = 0;
    for (double l : logits) mx = std::max(mx, l);
    for (size_t v = 0; v < logits.size(); ++v) sum += probs_[v] = std::exp(logits[v] - mx);
    if (!std::isfinite(sum)) fail("sampling: the logits are not finite (are the weights diverged?)");
    double u = rng.uniform() * sum;
    size_t ix = 0;
    while (ix + 1 < probs_.size() && u >= probs_[ix]) u -= probs_[ix++];
    if (ix == 0) break;  // '.' ends the word
    word += model_.vocab.chars[ix];
    if (sequence_) {
      if (pos + 1 < context_.size()) context_[pos + 1] = static_cast<int32_t>(ix);
      continue;
    }
    std::copy(context_.begin() + 1, context_.end(), context_.begin());
    context_.back() = static_cast<int32_t>(ix);
  }
  return word;
}

void Sampler::stream(int64_t count, uint64_t seed, const std::function<void(const std::string&)>& each,
                     size_t maxLength) {
  Rng rng(seed);
  for (int64_t i = 0; i < count; ++i) each(next(rng, maxLength));
}

std::vector<std::string> Sampler::sample(int64_t count, uint64_t seed, size_t maxLength) {
  std::vector<std::string> out;
  stream(count, seed, [&out](const std::string& w) { out.push_back(w); }, maxLength);
  return out;
}

}  // namespace netc
