#include "autodiff/autodiff.h"

#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/op.h"

namespace netc {

int GradBuilder::op(std::string_view name, std::vector<int> inputs, Attrs attrs) {
  const Node& fwd = g_[current_];
  int id = g_.add(&getOp(name), std::move(inputs), std::move(attrs), fwd.loc);
  Node& n = g_[id];
  n.phase = Phase::Backward;
  n.gradOf = current_;
  inferNode(g_, id);
  return id;
}

int GradBuilder::constant(double v) {
  Attrs a;
  a.value = v;
  return op("const", {}, a);
}

std::map<int, int> differentiate(Graph& g, std::map<int, int>* adjoints) {
  if (g.loss < 0) fail("internal error: differentiate() needs a graph with a loss");
  const int n = g.size();
  // Forward: which values depend on a trainable parameter.
  std::vector<bool> fromParam(n, false);
  for (const Node& node : g.nodes) {
    if (node.op->name == std::string_view("param")) fromParam[node.id] = node.trainable;
    for (int in : node.inputs) fromParam[node.id] = fromParam[node.id] || fromParam[in];
  }
  // Backward: which values the loss depends on.
  std::vector<bool> toLoss(n, false);
  toLoss[g.loss] = true;
  for (int i = g.loss; i >= 0; --i)
    if (toLoss[i])
      for (int in : g[i].inputs) toLoss[in] = true;
  std::vector<bool> active(n);
  for (int i = 0; i < n; ++i) active[i] = fromParam[i] && toLoss[i];

  GradBuilder b(g, active);
  std::vector<int> grad(n, -1);
  if (!active[g.loss]) return {};
  b.setCurrent(g.loss);
  grad[g.loss] = b.constant(1.0);

  for (int i = g.loss; i >= 0; --i) {
    if (!active[i] || grad[i] < 0) continue;
    const Node node = g[i];  // copy: the builder appends to g.nodes
    if (node.inputs.empty()) continue;
    if (!node.op->grad)
      fail(g.source, node.loc, fmt::format("failed to compute gradient: op '{}' has no gradient rule", node.op->name));
    b.setCurrent(i);
    std::vector<int> dx(node.inputs.size(), -1);
    node.op->grad(b, node, grad[i], dx);
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      int in = node.inputs[k];
      if (!active[in] || dx[k] < 0) continue;
      int d = dx[k];
      // Undo broadcasting in one place: a gradient shaped like the output sums back to the operand's shape.
      if (g[d].shape != g[in].shape) {
        Attrs at;
        at.shape = g[in].shape;
        d = b.op("sum_to", {d}, at);
      }
      // A value used more than once accumulates the gradients of all its uses.
      grad[in] = grad[in] < 0 ? d : b.add(grad[in], d);
    }
  }
  if (adjoints)
    for (int i = 0; i < n; ++i)
      if (grad[i] >= 0) (*adjoints)[i] = grad[i];
  std::map<int, int> out;
  for (int p : g.params())
    if (active[p] && grad[p] >= 0) {
      out[p] = grad[p];
      if (g[grad[p]].name.empty()) g[grad[p]].name = "grad." + g[p].name;
    }
  return out;
}

TrainingGraph buildTrainingGraph(const Graph& forward, const OptimizerSpec& optimizer) {
  for (const Node& n : forward.nodes)
    if (n.op->name == std::string_view("mode"))
      fail("internal error: buildTrainingGraph needs a graph specialised to its train form");
  TrainingGraph t;
  t.graph = forward;
  Graph& g = t.graph;
  t.loss = g.loss;
  t.grads = differentiate(g, &t.adjoints);
  t.lr = g.add(&getOp("input"), {}, {}, SrcLoc{}, "lr");
  g[t.lr].dtype = DType::F32;
  g[t.lr].shape = {};
  g[t.lr].phase = Phase::Update;
  t.updates = appendOptimizer(g, t.grads, t.lr, optimizer);
  verify(g);
  return t;
}

Graph bindBatch(const Graph& g, int64_t batch) {
  // Every caller's batch (train section, --batch, evaluation chunks) passes here: no value may outgrow
  // kMaxElements, so no size computed from the bound shapes overflows.
  if (std::string why = batchProblem(g, batch); !why.empty()) fail(why);
  Graph out = g;
  for (Node& n : out.nodes) {
    n.shape = netc::bindBatch(n.shape, batch);
    n.attrs.shape = netc::bindBatch(n.attrs.shape, batch);
    // `B` used as a value: now a constant.
    if (n.op->name == std::string_view("batch_size")) {
      n.op = &getOp("const");
      n.attrs.value = static_cast<double>(batch);
    }
  }
  verify(out);
  return out;
}

}  // namespace netc
