#include "runtime/weights.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

void loadParams(Engine& e, const WeightMap& w, const std::string& what) {
  const Graph& g = e.graph();
  std::vector<std::string> names;
  for (int p : g.params()) names.push_back(g[p].name);
  for (auto& [name, t] : w)
    if (std::find(names.begin(), names.end(), name) == names.end() && g.find(name) < 0)
      fail(fmt::format("{}: tensor '{}' is not a parameter of the model{}", what, name, didYouMean(name, names)));
  for (int p : g.params()) {
    const Node& n = g[p];
    auto it = w.find(n.name);
    if (it == w.end()) fail(fmt::format("{}: parameter '{}' is missing", what, n.name));
    if (it->second.shape != n.shape)
      fail(fmt::format("{}: parameter '{}' has shape {}, but the model declares {}", what, n.name,
                       shapeStr(it->second.shape), shapeStr(n.shape)));
    e.write(p, it->second.data);
  }
}

WeightMap readParams(Engine& e) {
  const Graph& g = e.graph();
  WeightMap out;
  for (int p : g.params()) out[g[p].name] = NamedTensor{g[p].shape, e.read(p)};
  return out;
}

void loadInput(Engine& e, const std::string& name, const NamedTensor& t, const std::string& what) {
  const Graph& g = e.graph();
  int id = g.find(name);
  if (id < 0 || g[id].op->name != std::string_view("input"))
    fail(fmt::format("{}: the model has no input named '{}'", what, name));
  if (t.shape != g[id].shape)
    fail(fmt::format("{}: input '{}' has shape {}, but the model expects {}", what, name, shapeStr(t.shape),
                     shapeStr(g[id].shape)));
  e.write(id, t.data);
}

}  // namespace netc
