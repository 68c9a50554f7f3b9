#include "runtime/weights.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

// Optimizer state is named "<param>.<slot>" by the compiler ('.' cannot occur in a .net name).
static bool optimizerState(const std::string& name) { return name.find('.') != std::string::npos; }

std::vector<std::string> loadParams(Engine& e, const WeightMap& w, const std::string& what) {
  const Graph& g = e.graph();
  std::vector<std::string> names;
  for (int p : g.persistent()) names.push_back(g[p].name);
  for (auto& [name, t] : w)
    if (std::find(names.begin(), names.end(), name) == names.end() && g.find(name) < 0 && !optimizerState(name))
      fail(fmt::format("{}: tensor '{}' is not a parameter or state of the model{}", what, name, didYouMean(name, names)));
  std::vector<std::string> fresh;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    const char* kind = n.op->name == std::string_view("state") ? "state" : "parameter";
    auto it = w.find(n.name);
    if (it == w.end() && optimizerState(n.name)) {
      fresh.push_back(n.name);  // e.g. weights from `netc init` or an SGD run: the moments start from zero
      continue;
    }
    if (it == w.end()) fail(fmt::format("{}: {} '{}' is missing", what, kind, n.name));
    if (it->second.shape != n.shape)
      fail(fmt::format("{}: {} '{}' has shape {}, but the model declares {}", what, kind, n.name,
                       shapeStr(it->second.shape), shapeStr(n.shape)));
    e.write(p, it->second.data);
  }
  return fresh;
}

WeightMap readParams(Engine& e) {
  const Graph& g = e.graph();
  WeightMap out;
  for (int p : g.persistent())
    out[g[p].name] = NamedTensor{g[p].shape, e.read(p), g[p].op->name == std::string_view("state")};
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
