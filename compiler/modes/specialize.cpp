#include "modes/specialize.h"

#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

const char* modeName(Mode m) { return m == Mode::Train ? "train" : "eval"; }

namespace {

bool isMode(const Node& n) { return n.op->selectsMode; }

}  // namespace

bool hasModes(const Graph& g) {
  for (const Node& n : g.nodes)
    if (isMode(n)) return true;
  return false;
}

Specialized specializeMode(const Graph& g, Mode mode, std::span<const int> keep) {
  const int n = g.size();
  const int form = mode == Mode::Train ? 0 : 1;
  // chosen[v]: the node that stands for v (itself, or for a mode node the node its form resolves to).
  std::vector<int> chosen(n);
  for (int v = 0; v < n; ++v) chosen[v] = isMode(g[v]) ? chosen[g[v].inputs[form]] : v;
  // A mode node passes its name and probe to the chosen node when that has no name of its own; otherwise it
  // stays as a copy (reshape to the same shape) carrying them.
  std::vector<int> renamedBy(n, -1);   // chosen node -> the mode node whose name it takes
  std::vector<bool> copy(n, false);    // mode node kept as a copy
  for (int v = 0; v < n; ++v) {
    if (!isMode(g[v]) || (g[v].name.empty() && !g[v].probe)) continue;
    int c = chosen[v];
    if (g[c].name.empty() && !g[c].probe && renamedBy[c] < 0 && g[c].op->cls != OpDef::Source) renamedBy[c] = v, chosen[v] = c;
    else copy[v] = true, chosen[v] = v;
  }
  // Liveness, from the roots backwards through the chosen inputs.
  std::vector<bool> live(n, false);
  auto root = [&](int v) {
    if (v >= 0) live[chosen[v]] = true;
  };
  root(g.loss);
  for (int v : keep) root(v);
  for (const Node& node : g.nodes) {
    if (isParam(node) || isState(node) || isInput(node)) live[node.id] = true;
    if (node.op->assigns && mode == Mode::Train) live[node.id] = true;
  }
  for (int v = n - 1; v >= 0; --v) {
    if (!live[v]) continue;
    if (isMode(g[v])) live[chosen[g[v].inputs[form]]] = true;  // a kept copy reads its form only
    else
      for (int in : g[v].inputs) live[chosen[in]] = true;
  }
  // Rebuild in order; a kept mode node becomes a reshape of its chosen form.
  Specialized out;
  out.graph.source = g.source;
  out.remap.assign(n, -1);
  for (int v = 0; v < n; ++v) {
    if (!live[v] || (isMode(g[v]) && !copy[v])) continue;
    Node node = g[v];
    if (isMode(node)) {
      node.op = &getOp("reshape");
      node.inputs = {g[v].inputs[form]};
      node.attrs = {};
      node.attrs.shape = node.shape;
    }
    if (renamedBy[v] >= 0) {
      const Node& m = g[renamedBy[v]];
      node.name = m.name;
      node.probe = m.probe;
      if (!m.span.empty()) node.span = m.span;
    }
    for (int& in : node.inputs) in = out.remap[chosen[in]];
    if (node.gradOf >= 0) node.gradOf = out.remap[node.gradOf];
    node.id = out.graph.size();
    out.remap[v] = node.id;
    out.graph.nodes.push_back(std::move(node));
  }
  // Mode nodes that were replaced map to the node standing for them.
  for (int v = 0; v < n; ++v)
    if (out.remap[v] < 0 && live[chosen[v]]) out.remap[v] = out.remap[chosen[v]];
  out.graph.loss = g.loss >= 0 ? out.remap[g.loss] : -1;
  verify(out.graph);
  return out;
}

Model specializeModel(const Model& m, Mode mode) {
  std::vector<int> keep;
  for (int v : {m.logits, m.dataLoss})
    if (v >= 0) keep.push_back(v);
  Specialized s = specializeMode(m.graph, mode, keep);
  Model out = m;
  out.graph = std::move(s.graph);
  auto map = [&](int v) { return v >= 0 ? s.remap[v] : -1; };
  out.contextInput = map(m.contextInput);
  out.targetInput = map(m.targetInput);
  out.logits = map(m.logits);
  out.dataLoss = map(m.dataLoss);
  return out;
}

TrainForm trainForm(const Model& m) {
  TrainForm f{specializeModel(m, Mode::Train), {}};
  f.step = buildTrainingGraph(f.model.graph, f.model.train.optimizer);
  return f;
}

}  // namespace netc
