#include "runtime/init.h"

#include "ops/op.h"
#include "runtime/rng.h"
#include "support/sizes.h"

namespace netc {

WeightMap initParams(const Graph& g, uint64_t seed) {
  // The parameters in double precision, counted before they are drawn (a [46000, 46000] matrix is 17 GB).
  int64_t bytes = 0;
  for (int p : g.params()) bytes = checkedAdd(bytes, checkedMul(numel(g[p].shape), 8, "a parameter"), "the parameters");
  checkFitsInMemory(bytes, "the parameters (in double precision)", ": use smaller layers");
  Rng rng(seed);
  WeightMap out;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    NamedTensor t{n.shape, std::vector<double>(numel(n.shape)), n.op->name == std::string_view("state")};
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

}  // namespace netc
