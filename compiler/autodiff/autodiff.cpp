#include "autodiff/autodiff.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>

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

const std::vector<int>& GradBuilder::productsReading(int v) {
  // Built once, on the first question: the forward graph does not change while its gradients are appended.
  if (!readersBuilt_) {
    for (const Node& u : g_.nodes)
      if (u.phase == Phase::Forward && u.op->matrixProduct) readers_[u.inputs[1]].push_back(u.id);
    readersBuilt_ = true;
  }
  static const std::vector<int> none;
  auto it = readers_.find(v);
  return it == readers_.end() ? none : it->second;
}

int GradBuilder::transposeOf(int v) {
  if (auto it = transposes_.find(v); it != transposes_.end()) return it->second;
  const std::vector<int>& readers = productsReading(v);
  const int saved = current_;
  if (!readers.empty()) current_ = readers.front();
  int t = op("transpose", {v});
  current_ = saved;
  transposes_[v] = t;
  return t;
}

namespace {

bool isPad(const Graph& g, int id) { return g[id].op->padsWithZeros; }

// Pieces of one value's gradient that are pad_slices of the same full shape along the same axis, side by side
// without overlapping (the slices x[:, t] of an unrolled loop: T pieces of [B, 1, E] in a zero [B, T, E]):
// summing them is concatenating them, so each run of adjacent pieces becomes one concat (padded only where
// the run does not cover the axis), instead of T full-size zero tensors and T - 1 full-size additions.
void mergeAdjacentPads(GradBuilder& b, std::vector<int>& parts) {
  const Graph& g = b.graph();
  std::vector<int> pads;
  for (int p : parts)
    if (isPad(g, p)) pads.push_back(p);
  if (pads.size() < 2) return;
  const int64_t axis = g[pads[0]].attrs.ints[0];
  const Shape full = g[pads[0]].attrs.shape;
  if (isBatchDim(full[static_cast<size_t>(axis)])) return;
  for (int p : pads)
    if (g[p].attrs.ints[0] != axis || g[p].attrs.shape != full) return;  // mixed: leave them as they are
  std::sort(pads.begin(), pads.end(), [&](int x, int y) { return g[x].attrs.ints[1] < g[y].attrs.ints[1]; });
  for (size_t k = 1; k < pads.size(); ++k)
    if (g[pads[k]].attrs.ints[1] < g[pads[k - 1]].attrs.ints[2]) return;  // overlapping: a real sum
  std::vector<int> merged;
  for (size_t a = 0; a < pads.size();) {
    size_t z = a + 1;
    while (z < pads.size() && g[pads[z]].attrs.ints[1] == g[pads[z - 1]].attrs.ints[2]) ++z;
    if (z - a == 1) {
      merged.push_back(pads[a]);
    } else {
      std::vector<int> pieces;
      for (size_t k = a; k < z; ++k) pieces.push_back(g[pads[k]].inputs[0]);
      Attrs cat;
      cat.ints = {axis};
      int joined = b.op("concat", pieces, cat);
      const int64_t start = g[pads[a]].attrs.ints[1], stop = g[pads[z - 1]].attrs.ints[2];
      if (start == 0 && stop == full[static_cast<size_t>(axis)]) {
        merged.push_back(joined);
      } else {
        Attrs pad;
        pad.ints = {axis, start, stop};
        pad.shape = full;
        merged.push_back(b.op("pad_slice", {joined}, pad));
      }
    }
    a = z;
  }
  std::vector<int> out;
  for (int p : parts)
    if (!isPad(g, p)) out.push_back(p);
  out.insert(out.end(), merged.begin(), merged.end());
  parts = out;
}

int sumContributions(GradBuilder& b, std::vector<int>& parts) {
  mergeAdjacentPads(b, parts);
  int acc = parts[0];
  for (size_t k = 1; k < parts.size(); ++k) acc = b.add(acc, parts[k]);
  return acc;
}

// Backward nodes nothing uses (the pieces mergeAdjacentPads replaced) are removed, and the later ones
// renumbered, so no dead kernel is ever planned or compiled. `grad` is rewritten to the new ids.
void removeDeadBackward(Graph& g, int forwardNodes, std::vector<int>& grad) {
  const int total = g.size();
  std::vector<bool> live(total, false);
  for (int i = 0; i < forwardNodes; ++i) live[i] = true;
  for (int v : grad)
    if (v >= 0) live[v] = true;
  for (int i = total - 1; i >= forwardNodes; --i)
    if (live[i])
      for (int in : g[i].inputs) live[in] = true;
  std::vector<int> renum(total, -1);
  std::vector<Node> kept;
  kept.reserve(total);
  for (int i = 0; i < total; ++i) {
    if (!live[i]) continue;
    renum[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(g.nodes[i]));
    Node& k = kept.back();
    k.id = renum[i];
    for (int& in : k.inputs) in = renum[in];
  }
  g.nodes = std::move(kept);
  for (int& v : grad)
    if (v >= 0) v = renum[v];
}

}  // namespace

std::map<int, int> differentiate(Graph& g, std::map<int, int>* adjoints, const std::vector<int>& wanted) {
  if (g.loss < 0) fail("internal error: differentiate() needs a graph with a loss");
  const int n = g.size();
  // Forward: which values depend on a trainable parameter (or on a value whose gradient is wanted).
  std::vector<bool> fromParam(n, false);
  for (int w : wanted) fromParam.at(static_cast<size_t>(w)) = true;
  for (const Node& node : g.nodes) {
    if (isParam(node)) fromParam[node.id] = node.trainable;
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

  // The gradient contributions of each value's uses, summed when the sweep reaches the value (all its users
  // have larger ids, so all have contributed by then).
  std::vector<std::vector<int>> parts(n);
  for (int i = g.loss; i >= 0; --i) {
    if (!parts[i].empty()) {
      b.setCurrent(i);
      grad[i] = sumContributions(b, parts[i]);
    }
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
      parts[in].push_back(d);
    }
  }
  removeDeadBackward(g, n, grad);
  for (int w : wanted)
    if (grad[w] >= 0 && g[grad[w]].name.empty()) g[grad[w]].name = "grad." + g[w].name;
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

TrainingGraph buildTrainingGraph(const Graph& forward, const OptimizerSpec& optimizer, const std::vector<int>& wanted) {
  for (const Node& n : forward.nodes)
    if (n.op->selectsMode)
      fail("internal error: buildTrainingGraph needs a graph specialised to its train form");
  TrainingGraph t;
  t.graph = forward;
  Graph& g = t.graph;
  t.loss = g.loss;
  t.grads = differentiate(g, &t.adjoints, wanted);
  t.lr = g.add(&getOp("input"), {}, {}, SrcLoc{}, "lr");
  g[t.lr].dtype = DType::F32;
  g[t.lr].shape = {};
  g[t.lr].phase = Phase::Update;
  t.updates = appendOptimizer(g, t.grads, t.lr, optimizer);
  verify(g);
  return t;
}

namespace {

// Scalars made of constants alone, B now one of them (`1 / (B - 1)`, part 4's Bessel correction written out): one
// that is not finite at this batch size would make every step's loss NaN, so it is an error at its expression,
// as var's unbiased variance of one example is.
void refuseNonFiniteScalars(const Graph& g, int64_t batch) {
  std::vector<std::optional<double>> value(static_cast<size_t>(g.size()));
  for (const Node& n : g.nodes) {
    if (isConst(n)) {
      value[n.id] = n.attrs.value;
      continue;
    }
    if (n.op->cls != OpDef::Elementwise || !n.op->scalar || !n.shape.empty() || n.inputs.empty()) continue;
    std::vector<double> args;
    for (int in : n.inputs)
      if (value[in]) args.push_back(*value[in]);
    if (args.size() != n.inputs.size()) continue;
    const double v = n.op->scalar(args.data());
    bool finiteInputs = true;
    for (double a : args) finiteInputs = finiteInputs && std::isfinite(a);
    if (finiteInputs && !std::isfinite(v))
      fail(g.source, n.loc,
           fmt::format("{} is {} at batch size {}{}", g.describe(n.id), v, batch,
                       batch == 1 ? ": a division by B - 1 (an unbiased variance written out) of one example is undefined"
                                  : ""));
    value[n.id] = v;
  }
}

}  // namespace

Graph bindBatch(const Graph& g, int64_t batch) {
  // Every caller's batch (train section, --batch, evaluation chunks) passes here: no value may outgrow
  // kMaxElements, so no size computed from the bound shapes overflows.
  if (std::string why = batchProblem(g, batch); !why.empty()) fail(why);
  Graph out = g;
  for (Node& n : out.nodes) {
    n.shape = netc::bindBatch(n.shape, batch);
    n.attrs.shape = netc::bindBatch(n.attrs.shape, batch);
    // `B` used as a value: now a constant.
    if (isBatchSize(n)) {
      n.op = &getOp("const");
      n.attrs.value = static_cast<double>(batch);
    }
  }
  verify(out);  // first: its shape rules say why a batch is refused where they can (var's n - correction > 0)
  refuseNonFiniteScalars(out, batch);
  return out;
}

}  // namespace netc
