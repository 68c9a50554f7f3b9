#include "runtime/init.h"

#include "ops/op.h"
#include "runtime/rng.h"

namespace netc {

WeightMap initParams(const Graph& g, uint64_t seed) {
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
