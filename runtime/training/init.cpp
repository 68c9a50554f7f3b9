#include "runtime/training/init.h"

#include <fmt/format.h>

#include "ops/op.h"
#include "runtime/random/rng.h"
#include "runtime/training/init_program.h"
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

WeightMap initParams(const Graph& g, uint64_t seed, std::optional<uint64_t> globalSeed) {
  checkParamMemory(g);
  Rng rng(seed), global(globalSeed.value_or(seed + 2));
  WeightMap out;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    out[n.name] = NamedTensor{n.shape, evalInitNetc(n.init, numel(n.shape), n.init.global ? global : rng), isState(n)};
  }
  return out;
}

void applySteps(std::span<float> values, const std::vector<InitStep>& steps) {
  for (const InitStep& s : steps) {
    const float by = static_cast<float>(s.by);
    for (float& v : values) v = s.divide ? v / by : v * by;
  }
}

WeightMap initParams(const Graph& g, TorchGenerator& gen, TorchGenerator& global) {
  checkParamMemory(g);
  WeightMap out;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    std::vector<float> v = evalInitTorch(n.init, numel(n.shape), n.init.global ? global : gen);
    out[n.name] = NamedTensor{n.shape, std::vector<double>(v.begin(), v.end()), isState(n)};
  }
  return out;
}

WeightMap initParams(const Graph& g, uint64_t seed, Generator kind, std::optional<TorchGenerator>* afterInit,
                     std::optional<uint64_t> globalSeed) {
  if (kind == Generator::Netc) return initParams(g, seed, globalSeed);
  TorchGenerator gen(seed), global(globalSeed.value_or(seed + 2));
  WeightMap w = initParams(g, gen, global);
  if (afterInit) *afterInit = gen;
  return w;
}

}  // namespace netc
