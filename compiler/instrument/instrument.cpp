#include "instrument/instrument.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>
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

// An activation layer in the lecture's sense: a tanh, sigmoid or relu with units on a fixed last axis (one dead
// flag each). One of some other shape ([B], a scalar) is still probed, as a plain value.
std::optional<probe::Activation> layerActivation(const Node& n) {
  if (n.shape.empty() || isBatchDim(n.shape.back())) return std::nullopt;
  if (!n.op->activation) return std::nullopt;
  return static_cast<probe::Activation>(n.op->activation->probeKind);
}

// 1 where the layer's output is flat (probe::flatSide), from general ops: |t| > 0.99 (tanh), |s - 0.5| > 0.49
// (sigmoid), 1 - (|t| > 0) (relu: exactly zero).
int addFlatMask(Graph& g, probe::Activation act, int t, const Node& about, const std::string& name) {
  switch (act) {
    case probe::Activation::Tanh:
      return addNode(g, "abs_gt", {t, addConst(g, probe::kDeadThreshold, about)}, {}, about, name);
    case probe::Activation::Sigmoid: {
      int centred = addNode(g, "sub", {t, addConst(g, 0.5, about)}, {}, about, {});
      return addNode(g, "abs_gt", {centred, addConst(g, 0.5 - probe::kFlatMargin, about)}, {}, about, name);
    }
    case probe::Activation::Relu: {
      int positive = addNode(g, "abs_gt", {t, addConst(g, 0, about)}, {}, about, {});
      return addNode(g, "sub", {addConst(g, 1, about), positive}, {}, about, name);
    }
  }
  return -1;
}

// randn * s of rank 2: s * sqrt(fan_in), Kaiming's gain (5/3 for tanh, sqrt 2 for relu), 1 for Xavier's
// 1 / sqrt(fan_in); NaN for any other initialisation.
double initGain(const Node& p) {
  if (p.init.kind != InitSpec::Randn || p.shape.size() != 2 || p.shape[0] <= 0) return std::nan("");
  return std::fabs(p.init.scale) * std::sqrt(static_cast<double>(p.shape[0]));
}

std::string probeName(const Graph& g, int id) {
  return g[id].name.empty() ? g.valueName(id) : g[id].name;
}

// grad_stats(g, log10|g|), the log from elementwise nodes the planner fuses and vectorises: log(g * g) / (2 ln 10).
int addGradStats(Graph& g, int grad, const Node& about, const std::string& name) {
  int squared = addNode(g, "mul", {grad, grad}, {}, about, {});
  int lg = addNode(g, "mul", {addNode(g, "log", {squared}, {}, about, {}), addConst(g, 0.5 / std::log(10.0), about)},
                   {}, about, {});
  return addNode(g, "grad_stats", {grad, lg}, {}, about, name);
}

}  // namespace

std::vector<int> linearParamsOf(const Graph& g, int node) {
  std::vector<int> out;
  std::vector<bool> seen(g.size(), false);
  std::vector<int> stack = {node};
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (id < 0 || seen[id]) continue;
    seen[id] = true;
    const Node& n = g[id];
    if (isParam(n)) {
      if (n.trainable) out.push_back(id);
    } else if (n.op->linearPath) {
      for (int in : n.inputs) stack.push_back(in);
    }
  }
  std::sort(out.begin(), out.end());  // declaration order
  return out;
}

Instrumented instrument(const Graph& g, const std::map<int, int>& grads, const std::map<int, int>& updates,
                        int lrNode, const InstrumentOptions& o, const std::map<int, int>& adjoints) {
  Instrumented r{g, {}};
  Graph& out = r.graph;
  ProbePlan& plan = r.plan;
  plan.saturation = o.saturation;
  plan.stepIsLrTimesGrad = o.stepIsLrTimesGrad;
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
    e.implicit = !e.spec.marked;
    if (auto act = layerActivation(node)) {
      e.kind = ProbeEntry::Layer;
      e.activation = *act;
      e.pre = node.inputs[0];
      for (int p : linearParamsOf(g, e.pre)) e.layerParams.push_back(g[p].name);
      Attrs a;
      a.ints = {static_cast<int64_t>(*act)};
      a.value = o.saturation;
      e.stats = addNode(out, "layer_stats", {e.pre, id}, a, node, "stats." + e.name);
      if (e.spec.dead || e.spec.saturation) e.mask = addFlatMask(out, *act, id, node, "mask." + e.name);
    } else {
      e.kind = ProbeEntry::Value;
      for (int p : linearParamsOf(g, id)) e.layerParams.push_back(g[p].name);
      Attrs a;
      a.ints = {probe::kValueLo, probe::kValueHi};
      e.stats = addNode(out, "value_stats", {id}, a, node, "stats." + e.name);
    }
    if (auto adj = adjoints.find(id); adj != adjoints.end())
      e.grad = addGradStats(out, adj->second, node, "stats.grad." + e.name);
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
    pp.shape = g[p].shape;
    pp.initGain = initGain(g[p]);
    pp.fanInScaled = pp.initGain >= 0.3 && pp.initGain <= 3;
    pp.stats = addNode(out, "param_stats", {data, dp->second, lr}, {}, g[p], "stats." + pp.name);
    if (g[p].shape.size() == 2)
      pp.gradHist = addGradStats(out, dp->second, g[p], "stats.grad." + pp.name);
    plan.params.push_back(pp);
  }
  verify(out);
  return r;
}

Instrumented instrument(const TrainingGraph& t, const InstrumentOptions& o) {
  return instrument(t.graph, t.grads, t.updates, t.lr, o, t.adjoints);
}

}  // namespace netc
