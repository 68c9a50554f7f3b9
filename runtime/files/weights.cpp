#include "runtime/files/weights.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "autodiff/optimizer.h"
#include "ops/op.h"

namespace netc {

namespace {

// "[3, 17]": the position of row-major element `flat` in `shape`.
std::string position(const Shape& shape, size_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    int64_t n = std::max<int64_t>(shape[d], 1);
    idx[d] = static_cast<int64_t>(flat) % n;
    flat /= static_cast<size_t>(n);
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

}  // namespace

// Every parameter must be finite where it enters an engine: a NaN or inf read from a file (or drawn by an
// initialiser that overflows float) would otherwise surface steps later as a divergence blamed on whichever
// tensor the NaN reached first. Checked in declaration order, so the message names the first bad element.
void requireFinite(const Graph& g, const WeightMap& w, const std::string& what) {
  for (int p : g.persistent()) {
    auto it = w.find(g[p].name);
    if (it == w.end()) continue;
    const std::vector<double>& v = it->second.data;
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        fail(fmt::format("{}: parameter '{}' element {} (flat index {}) is {}: the input holds a non-finite value, "
                         "so nothing can be computed from it",
                         what, g[p].name, position(it->second.shape, i), i, v[i]));
  }
}

// Optimizer state is named "<param>.<slot>" by the compiler ('.' cannot occur in a .net name).
static bool optimizerState(const std::string& name) { return name.find('.') != std::string::npos; }

std::vector<std::string> loadParams(Engine& e, const WeightMap& w, const std::string& what) {
  const Graph& g = e.graph();
  std::vector<std::string> names;
  for (int p : g.persistent()) names.push_back(g[p].name);
  // Only parameters and state: a tensor named like another value of the model (`h`, `x`) would be ignored, so
  // it is an error like any other stray name. Another optimizer's state is not the model's business.
  for (auto& [name, t] : w)
    if (std::find(names.begin(), names.end(), name) == names.end() && !optimizerState(name)) {
      int other = g.find(name);
      fail(fmt::format("{}: tensor '{}' is not a parameter or state of the model{}", what, name,
                       other >= 0 ? fmt::format(" (the model's '{}' is {} value, not a parameter)", name,
                                                isInput(g[other]) ? "an input" : "a computed")
                                  : didYouMean(name, names)));
    }
  std::vector<std::string> fresh;
  for (int p : g.persistent()) {
    const Node& n = g[p];
    const char* kind = isState(n) ? "state" : "parameter";
    auto it = w.find(n.name);
    if (it == w.end() && optimizerState(n.name)) {
      fresh.push_back(n.name);  // e.g. weights from `netc init` or an SGD run: the moments start from zero
      continue;
    }
    if (it == w.end()) fail(fmt::format("{}: {} '{}' is missing", what, kind, n.name));
    if (it->second.shape != n.shape)
      fail(fmt::format("{}: {} '{}' has shape {}, but the model declares {}", what, kind, n.name,
                       shapeStr(it->second.shape), shapeStr(n.shape)));
  }
  requireFinite(g, w, what);
  // A resumed run continues from its optimizer state as it stands: a negative step count or second moment
  // (an edited file) would compute plausible-looking garbage rather than fail.
  for (int p : g.persistent())
    if (auto it = w.find(g[p].name); it != w.end() && optimizerState(g[p].name))
      if (std::string why = optimizerStateProblem(g[p].name, it->second.data); !why.empty())
        fail(fmt::format("{}: optimizer state '{}': {}", what, g[p].name, why));
  for (int p : g.persistent())
    if (w.count(g[p].name)) e.write(p, w.at(g[p].name).data);
  return fresh;
}

WeightMap readParams(Engine& e) {
  const Graph& g = e.graph();
  WeightMap out;
  for (int p : g.persistent())
    out[g[p].name] = NamedTensor{g[p].shape, e.read(p), isState(g[p])};
  return out;
}

void loadInput(Engine& e, const std::string& name, const NamedTensor& t, const std::string& what) {
  const Graph& g = e.graph();
  int id = g.find(name);
  if (id < 0 || !isInput(g[id]))
    fail(fmt::format("{}: the model has no input named '{}'", what, name));
  if (t.shape != g[id].shape)
    fail(fmt::format("{}: input '{}' has shape {}, but the model expects {}", what, name, shapeStr(t.shape),
                     shapeStr(g[id].shape)));
  e.write(id, t.data);
}

}  // namespace netc
