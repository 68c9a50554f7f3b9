#include "instrument/instrument.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "ops/op.h"
#include "ops/probe_layout.h"

namespace netc {

namespace {

// Appends one Probe-phase node; shapes are inferred at once so a bad probe fails here, naming its line.
int addNode(Graph& g, std::string_view op, std::vector<int> inputs, Attrs attrs, const Node& about,
            std::string name) {
  int id = g.add(&getOp(op), std::move(inputs), std::move(attrs), about.loc, std::move(name));
  g[id].phase = Phase::Probe;
  inferNode(g, id);
  return id;
}

int addConst(Graph& g, double v, const Node& about) {
  Attrs a;
  a.value = v;
  return addNode(g, "const", {}, a, about, {});
}

// A tanh layer in the lecture's sense: units on a fixed last axis (one dead flag each). A tanh of some other
// shape ([B], a scalar) is still probed, as a plain value.
bool isTanhLayer(const Node& n) {
  return n.op->name == std::string_view("tanh") && !n.shape.empty() && n.shape.back() != kBatch;
}

std::string probeName(const Graph& g, int id) {
  return g[id].name.empty() ? g.valueName(id) : g[id].name;
}

}  // namespace

std::vector<int> linearParamsOf(const Graph& g, int node) {
  static const std::set<std::string_view> linear = {"add", "sub", "mul", "div", "neg", "matmul", "reshape"};
  std::vector<int> out;
  std::vector<bool> seen(g.size(), false);
  std::vector<int> stack = {node};
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (id < 0 || seen[id]) continue;
    seen[id] = true;
    const Node& n = g[id];
    if (n.op->name == std::string_view("param")) {
      if (n.trainable) out.push_back(id);
    } else if (linear.count(n.op->name)) {
      for (int in : n.inputs) stack.push_back(in);
    }
  }
  std::sort(out.begin(), out.end());  // declaration order
  return out;
}

Instrumented instrument(const Graph& g, const std::map<int, int>& grads, const std::map<int, int>& updates,
                        int lrNode, const InstrumentOptions& o) {
  Instrumented r{g, {}};
  Graph& out = r.graph;
  ProbePlan& plan = r.plan;
  plan.saturation = o.saturation;
  plan.loss = g.loss;
  plan.logits = o.logits;
  plan.firstStatsNode = out.size();
  for (int p : linearParamsOf(g, o.logits >= 0 ? o.logits : -1)) plan.outputParams.push_back(g[p].name);

  const int n = g.size();  // only the original nodes are candidates
  for (int id = 0; id < n; ++id) {
    const Node& node = g[id];
    bool isLogits = id == o.logits;
    if (!node.probe && !isLogits) continue;
    if (node.dtype != DType::F32)
      fail(g.source, node.loc, fmt::format("@probe on '{}': only float values can be probed, found {}{}",
                                           probeName(g, id), dtypeName(node.dtype), shapeStr(node.shape)));
    ProbeEntry e;
    e.name = probeName(g, id);
    e.node = id;
    e.spec = node.probe.value_or(ProbeSpec{});
    e.logits = isLogits;
    e.implicit = !node.probe;
    if (isTanhLayer(node)) {
      e.kind = ProbeEntry::Tanh;
      e.pre = node.inputs[0];
      for (int p : linearParamsOf(g, e.pre)) e.layerParams.push_back(g[p].name);
      Attrs a;
      a.value = o.saturation;
      e.stats = addNode(out, "tanh_stats", {e.pre, id}, a, node, "stats." + e.name);
      if (e.spec.dead || e.spec.saturation)
        e.mask = addNode(out, "abs_gt", {id, addConst(out, probe::kDeadThreshold, node)}, {}, node, "mask." + e.name);
    } else {
      e.kind = ProbeEntry::Value;
      Attrs a;
      a.ints = {probe::kValueLo, probe::kValueHi};
      e.stats = addNode(out, "value_stats", {id}, a, node, "stats." + e.name);
    }
    plan.probes.push_back(e);
  }

  int lr = lrNode;
  for (int p : g.params()) {
    auto dp = grads.find(p);
    if (dp == grads.end()) continue;  // frozen, or not on a path to the loss: no gradient to describe
    if (lr < 0) lr = addConst(out, o.lr, g[p]);
    auto up = updates.find(p);
    int data = up != updates.end() ? up->second : p;
    ParamProbe pp;
    pp.name = g[p].name;
    pp.param = p;
    pp.stats = addNode(out, "param_stats", {data, dp->second, lr}, {}, g[p], "stats." + pp.name);
    plan.params.push_back(pp);
  }
  verify(out);
  return r;
}

Instrumented instrument(const TrainingGraph& t, const InstrumentOptions& o) {
  return instrument(t.graph, t.grads, t.updates, t.lr, o);
}

}  // namespace netc
