// Sampling: deterministic for a seed, words drawn from the vocabulary, and draws that follow the softmax.
#include <doctest/doctest.h>

#include "runtime/training/init.h"
#include "runtime/training/sampler.h"
#include "test_util.h"

using namespace netc;

namespace {

Model pseudoModel() { return testing::shippedModel("mlp_kaiming.net"); }

}  // namespace

TEST_CASE("sampler: the same seed gives the same words, which use only vocabulary characters") {
  Model m = pseudoModel();
  Sampler s(m, EngineKind::Interp);
  s.setWeights(initParams(m.graph, 5), "init");
  auto a = s.sample(30, 123);
  CHECK(a.size() == 30);
  CHECK(s.sample(30, 123) == a);
  CHECK(s.sample(30, 124) != a);
  size_t letters = 0;
  std::string outside;  // characters that are '.' or not in the vocabulary
  for (const auto& w : a) {
    letters += w.size();
    for (char c : w)
      if (m.vocab.index[static_cast<unsigned char>(c)] <= 0) outside += c;
  }
  CHECK(outside == "");
  CHECK(letters > 0);  // near-uniform logits: '.' has 1/27, so words are long, not all empty
}

TEST_CASE("sampler: draws follow the softmax of the logits") {
  Model m = pseudoModel();
  WeightMap w = initParams(m.graph, 5);
  // Zero output weights leave the logits equal to b2: '.' and 'a' at even odds, everything else ~e^-30.
  std::fill(w["W2"].data.begin(), w["W2"].data.end(), 0.0);
  std::fill(w["b2"].data.begin(), w["b2"].data.end(), -30.0);
  const int a = m.vocab.index['a'];
  w["b2"].data[0] = 0, w["b2"].data[a] = 0;
  Sampler s(m, EngineKind::Interp);
  s.setWeights(w, "even odds");
  // The length is geometric with p = 1/2: mean 1, and P(length 0) = 1/2.
  auto words = s.sample(2000, 9);
  double total = 0, empty = 0, other = 0;
  for (const auto& word : words) {
    total += static_cast<double>(word.size());
    empty += word.empty();
    other += word != std::string(word.size(), 'a');
  }
  CHECK(other == 0);
  CHECK(total / 2000 == doctest::Approx(1.0).epsilon(0.1));
  CHECK(empty / 2000 == doctest::Approx(0.5).epsilon(0.1));

  // A model that never ends a word is cut at the length limit instead of looping forever.
  w["b2"].data[0] = -30;
  s.setWeights(w, "never ends");
  CHECK(s.sample(1, 1, 12).at(0) == std::string(12, 'a'));
}

TEST_CASE("sampler: streamed words are the collected words, one at a time as they are drawn") {
  Model m = pseudoModel();
  Sampler s(m, EngineKind::Interp);
  s.setWeights(initParams(m.graph, 5), "init");
  std::vector<std::string> streamed;
  size_t calls = 0;
  s.stream(25, 77, [&](const std::string& w) { streamed.push_back(w), ++calls; });
  CHECK(calls == 25);
  CHECK(streamed == s.sample(25, 77));
}
