// The gradient checker itself: it must catch wrong gradients (a checker that always passes proves nothing) and
// pass on every model in models/. It runs the reference interpreter only; `netc gradcheck` is in
// gradcheck_cli_test.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <limits>

#include "autodiff/autodiff.h"
#include "lower/model.h"
#include "runtime/data/batch_feed.h"
#include "modes/specialize.h"
#include "runtime/training/gradcheck.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

const char* kData = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";

Model model(const std::string& file) {
  LowerOptions o;
  o.dataOverride = kData;
  return loadModel(std::string(NETC_SOURCE_DIR "/models/") + file, o);
}

struct Setup {
  Graph g;
  WeightMap weights, batch;
  Feed feed;
};

Setup setup(const std::string& file, int64_t B, uint64_t seed) {
  Setup s;
  Model m = specializeModel(model(file), Mode::Train);  // the gradients training uses
  s.g = bindBatch(m.graph, B);
  s.weights = initParams(m.graph, seed);
  s.batch = randomBatch(s.g, seed + 1);
  s.feed = [b = s.batch](Engine& e) { feedBatch(e, b, "random batch"); };
  return s;
}

bool anyFails(const GradcheckReport& r, const std::string& name) {
  for (const auto& p : r.params)
    if (p.name == name) return !p.ok;
  return false;
}


}  // namespace

TEST_CASE("gradcheck: the true gradients pass and every kind of wrong one is caught") {
  Setup s = setup("mlp_kaiming.net", 6, 3);
  double loss = 0;
  WeightMap good = autodiffGradients(s.g, s.weights, s.feed, &loss);
  CHECK(std::isfinite(loss));
  GradcheckOptions o;
  GradcheckReport ok = checkGradients(s.g, s.weights, s.feed, good, o);
  INFO(formatGradcheckTable(ok, o));
  CHECK(ok.ok());

  // A gradient 0.1% too large (a wrong 1/N, a missing mean factor) ...
  WeightMap scaled = good;
  for (double& v : scaled["W1"].data) v *= 1.001;
  CHECK(anyFails(checkGradients(s.g, s.weights, s.feed, scaled, o), "W1"));
  // ... one wrong element (a scatter that overwrites instead of adding) ...
  WeightMap one = good;
  auto& c = one["C"].data;
  size_t big = std::max_element(c.begin(), c.end(), [](double a, double b) { return std::fabs(a) < std::fabs(b); }) - c.begin();
  c[big] *= 0.5;
  CHECK(anyFails(checkGradients(s.g, s.weights, s.feed, one, o), "C"));
  // ... the right values in the wrong places (a transposed or mis-broadcast upstream gradient), which an
  // all-ones upstream would not reveal: the sum of the gradient is unchanged ...
  WeightMap permuted = good;
  std::reverse(permuted["b1"].data.begin(), permuted["b1"].data.end());
  CHECK(anyFails(checkGradients(s.g, s.weights, s.feed, permuted, o), "b1"));
  // ... a NaN, and a missing gradient for a parameter that does reach the loss.
  WeightMap nan = good;
  nan["W2"].data[0] = std::numeric_limits<double>::quiet_NaN();
  CHECK(anyFails(checkGradients(s.g, s.weights, s.feed, nan, o), "W2"));
  WeightMap missing = good;
  missing.erase("b2");
  CHECK(anyFails(checkGradients(s.g, s.weights, s.feed, missing, o), "b2"));
}

TEST_CASE("gradcheck: every model in models/ passes") {
  int models = 0;
  for (const auto& entry : fs::directory_iterator(NETC_SOURCE_DIR "/models")) {
    if (entry.path().extension() != ".net") continue;
    std::string file = entry.path().filename().string();
    Setup s = setup(file, 5, 11);
    GradcheckOptions o;
    GradcheckReport r = gradcheck(s.g, s.weights, s.feed, o);
    INFO(file, "\n", formatGradcheckTable(r, o));
    CHECK(r.ok());
    CHECK(r.params.size() == s.g.params().size());
    ++models;
  }
  CHECK(models >= 5);
}
