#include "runtime/training/init.h"

#include <fmt/format.h>

#include "ops/op.h"
#include "runtime/random/rng.h"
#include "support/diag.h"
#include "support/sizes.h"

namespace netc {

namespace {

// The parameters in double precision, counted before they are drawn (a [46000, 46000] matrix is 17 GB).
void checkParamMemory(const Graph& g) {
  int64_t bytes = 0;
  for (int p : g.params()) bytes = checkedAdd(bytes, checkedMul(numel(g[p].shape), 8, "a parameter"), "the parameters");
  checkFitsInMemory(bytes, "the parameters (in double precision)", ": use smaller layers");
}

}  // namespace

WeightMap initParams(const Graph& g, uint64_t seed) {
  checkParamMemory(g);
  Rng rng(seed);
  WeightMap out;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    NamedTensor t{n.shape, std::vector<double>(numel(n.shape)), isState(n)};
    for (double& v : t.data) {
      switch (n.init.kind) {
        case InitSpec::Randn: v = rng.normal(); break;
        case InitSpec::Zeros: v = 0; break;
        case InitSpec::Ones: v = 1; break;
        case InitSpec::Uniform: v = n.init.a + (n.init.b - n.init.a) * rng.uniform(); break;
      }
      v *= n.init.scale;
    }
    out[n.name] = std::move(t);
  }
  return out;
}

void applySteps(std::span<float> values, const std::vector<InitStep>& steps) {
  for (const InitStep& s : steps) {
    const float by = static_cast<float>(s.by);
    for (float& v : values) v = s.divide ? v / by : v * by;
  }
}

WeightMap initParams(const Graph& g, TorchGenerator& gen) {
  checkParamMemory(g);
  WeightMap out;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    const int64_t count = numel(n.shape);
    std::vector<float> v;
    switch (n.init.kind) {
      case InitSpec::Randn: v = gen.randn(count); break;
      case InitSpec::Zeros: v.assign(count, 0.0f); break;
      case InitSpec::Ones: v.assign(count, 1.0f); break;
      case InitSpec::Uniform:
        fail(fmt::format("internal error: '{}' starts from uniform(a, b), which generator = torch does not draw", n.name));
    }
    applySteps(v, n.init.steps);
    out[n.name] = NamedTensor{n.shape, std::vector<double>(v.begin(), v.end()), isState(n)};
  }
  return out;
}

WeightMap initParams(const Graph& g, uint64_t seed, Generator kind, std::optional<TorchGenerator>* afterInit) {
  if (kind == Generator::Netc) return initParams(g, seed);
  TorchGenerator gen(seed);
  WeightMap w = initParams(g, gen);
  if (afterInit) *afterInit = gen;
  return w;
}

}  // namespace netc
