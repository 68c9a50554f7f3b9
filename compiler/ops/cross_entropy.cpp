#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include <functional>

#include "autodiff/grad_builder.h"
#include "ops/cross_entropy.h"
#include "ops/helpers.h"

namespace netc::ops {

using namespace cross_entropy;

// cross_entropy(logits [N, V], targets int [N]): mean over rows of -log softmax(logits)[target], with the
// softmax fused in (computed stably by subtracting the row max; see RowLogSumExp for the loss term). Gradient: (softmax - onehot) / N * dy.
static void inferCrossEntropy(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Node& l = g[n.inputs[0]];
  const Node& t = g[n.inputs[1]];
  if (l.shape.size() < 2)
    shapeError(g, n, fmt::format("the logits {} must have rank 2 or more ([N, V], or [B, T, V] for a loss at every "
                                 "position), found shape {}", g.describe(l.id), shapeStr(l.shape)));
  const Shape rows(l.shape.begin(), l.shape.end() - 1);
  if (t.dtype != DType::I32 || t.shape != rows)
    shapeError(g, n, fmt::format("targets {} must be int{} to match logits {}{}, found {}{}", g.describe(t.id),
                                 shapeStr(rows), g.describe(l.id), shapeStr(l.shape), dtypeName(t.dtype),
                                 shapeStr(t.shape)));
  n.dtype = DType::F32;
  n.shape = {};
}

// cross_entropy(logits, y, ignore_index=-1): ignores, ignoreValue and rowsOf in ops/cross_entropy.h.

// A row's log-sum-exp in two parts, max and log(sum exp(x - max)), shared by the forward and the gradient.
// They are never added up into one number before the target logit is taken off: max + log(sum) rounds
// log(sum) away once the max is large (a shared offset of 1e8 in float, 1e30 in double), so the loss term is
// formed as (max - target logit) + log(sum), whose first part is exact when the two logits are close.
// A non-finite logit makes logSum NaN: overflowed logits are a diverged run, never a finite loss.
struct RowLogSumExp {
  double max, logSum;
};

static RowLogSumExp logSumExp(const double* row, int64_t V) {
  double mx = row[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
  double s = 0;
  for (int64_t v = 0; v < V; ++v) {
    if (!std::isfinite(row[v])) return {mx, std::nan("")};
    s += std::exp(row[v] - mx);
  }
  return {mx, std::log(s)};
}

static bool ignored(const Node& n, const Tensor& t, int64_t r) {
  return ignores(n) && t.data[r] == static_cast<double>(ignoreValue(n));
}

static double countedRows(const Node& n, const Tensor& t) {
  if (!ignores(n)) return static_cast<double>(t.data.size());
  double c = 0;
  for (size_t r = 0; r < t.data.size(); ++r) c += ignored(n, t, static_cast<int64_t>(r)) ? 0 : 1;
  return c;
}

static int64_t target(const Tensor& t, int64_t r, int64_t V) {
  double v = t.data[r];
  if (!(v >= 0 && v < static_cast<double>(V)))
    fail(fmt::format("cross_entropy target {} is out of range for {} classes", v, V));
  return static_cast<int64_t>(v);
}

static void evalCrossEntropy(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& L = *in[0];
  int64_t N = rowsOf(L.shape), V = L.shape.back();
  double total = 0;
  for (int64_t r = 0; r < N; ++r) {
    if (ignored(n, *in[1], r)) continue;
    const double* row = &L.data[r * V];
    RowLogSumExp lse = logSumExp(row, V);
    total += (lse.max - row[target(*in[1], r, V)]) + lse.logSum;
  }
  out.data = {total / countedRows(n, *in[1])};
}

// The gradient as its formula in general ops, so `netc ir --stage grad` shows it as it shows BatchNorm's:
//   dlogits = (softmax(logits) - onehot(y)) * (dy / n)
// with softmax = exp(logits - max) / sum(exp(logits - max)) over the last axis and n the rows; with ignore_index,
// an ignored row's onehot is all zeros, its softmax is multiplied by 0 (the row's sum of its onehot) and n counts
// the kept rows (the sum of the whole onehot). The interpreter evaluates these nodes; the CPU code generator
// computes them in the loss's own pass over the logits (matchGradFormula below, fuseCrossEntropyGradients).
static void gradCrossEntropy(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  const int L = n.inputs[0], y = n.inputs[1];
  const Shape logits = b.node(L).shape;
  Attrs lastAxis, rowShape;
  lastAxis.ints = {-1};
  rowShape.shape = logits;
  rowShape.shape.back() = 1;
  auto perRow = [&](const char* reduce, int x) { return b.op("reshape", {b.op(reduce, {x}, lastAxis)}, rowShape); };
  const int counts = b.op("exp", {b.sub(L, perRow("max", L))});
  int softmax = b.div(counts, perRow("sum", counts));
  const int onehot = b.op("onehot", {L, y}, n.attrs);
  int rows = -1;
  if (ignores(n)) {
    softmax = b.mul(softmax, perRow("sum", onehot));  // 0 for an ignored row
    rows = b.op("sum", {onehot});
  } else {
    // The rows: every leading dimension, B's value once bound (k times it for a dimension B*k).
    int64_t fixed = 1;
    bool batch = false;
    for (size_t i = 0; i + 1 < logits.size(); ++i) {
      if (isBatchDim(logits[i])) {
        batch = true;
        fixed *= batchFactor(logits[i]);
      } else {
        fixed *= logits[i];
      }
    }
    rows = batch ? b.op("batch_size", {}) : b.constant(static_cast<double>(fixed));
    if (batch && fixed != 1) rows = b.mul(rows, b.constant(static_cast<double>(fixed)));
  }
  dx[0] = b.mul(b.sub(softmax, onehot), b.div(dy, rows));
}

extern const OpDef kCrossEntropy{.name = "cross_entropy", .summary = "mean softmax cross-entropy of logits [..., V] and int targets [...]; ignore_index=-1 skips those",
                          .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel,
                          .attrs = {{.name = "ignore_index", .kind = AttrSpec::Int, .keyword = true, .optional = true}},
                          .indexBound = {.input = 1, .limit = IndexBound::LastDimOfInput0, .ignoredValueInAttr0 = true},
                          .dataLoss = true,
                          .args = "logits, targets",
                          .infer = inferCrossEntropy, .grad = gradCrossEntropy, .eval = evalCrossEntropy};

static void evalCrossEntropyGrad(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& L = *in[0];
  int64_t N = rowsOf(L.shape), V = L.shape.back();
  double scale = in[2]->data[0] / countedRows(n, *in[1]);
  out.data.assign(N * V, 0.0);
  for (int64_t r = 0; r < N; ++r) {
    if (ignored(n, *in[1], r)) continue;
    const double* row = &L.data[r * V];
    RowLogSumExp lse = logSumExp(row, V);
    for (int64_t v = 0; v < V; ++v) out.data[r * V + v] = std::exp((row[v] - lse.max) - lse.logSum) * scale;
    out.data[r * V + target(*in[1], r, V)] -= scale;
  }
}

extern const OpDef kCrossEntropyGrad{
    .name = "cross_entropy_grad", .summary = "(softmax(logits) - onehot(targets)) / N * dy", .minInputs = 3,
    .maxInputs = 3, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "ignore_index", .kind = AttrSpec::Int, .optional = true}},
    .indexBound = {.input = 1, .limit = IndexBound::LastDimOfInput0, .ignoredValueInAttr0 = true},
    .joinsKernelOf = &kCrossEntropy,
    .infer = [](const Graph& g, Node& n) { n.dtype = DType::F32; n.shape = g[n.inputs[0]].shape; },
    .eval = evalCrossEntropyGrad};

// ---- the formula, found again for the code generator ----

namespace cross_entropy {

std::optional<GradFormula> matchGradFormula(const Graph& g, int result) {
  auto is = [&](int v, const OpDef& op) { return g[v].op == &op; };
  const Node& r = g[result];
  if (r.phase != Phase::Backward || r.gradOf < 0 || !is(r.gradOf, kCrossEntropy) || !is(result, getOp("mul")) ||
      !is(r.inputs[1], getOp("div")))
    return std::nullopt;
  GradFormula f;
  f.loss = r.gradOf;
  f.dy = g[r.inputs[1]].inputs[0];
  const Node& loss = g[f.loss];
  // Every node from the result back to the logits, the targets and dy must be one the rule made for this loss.
  std::vector<char> seen(static_cast<size_t>(g.size()), 0);
  std::function<bool(int)> walk = [&](int v) {
    if (v == loss.inputs[0] || v == loss.inputs[1] || v == f.dy || seen[static_cast<size_t>(v)]) return true;
    seen[static_cast<size_t>(v)] = 1;
    if (g[v].phase != Phase::Backward || g[v].gradOf != f.loss) return false;
    f.nodes.push_back(v);
    for (int in : g[v].inputs)
      if (!walk(in)) return false;
    return true;
  };
  if (!walk(result)) return std::nullopt;
  std::sort(f.nodes.begin(), f.nodes.end());
  return f;
}

int fuseGradFormulas(Graph& code) {
  std::vector<std::vector<int>> users(static_cast<size_t>(code.size()));
  for (const Node& n : code.nodes)
    for (int in : n.inputs) users[static_cast<size_t>(in)].push_back(n.id);
  int fused = 0;
  for (int v = code.size() - 1; v >= 0; --v) {
    std::optional<GradFormula> f = matchGradFormula(code, v);
    if (!f) continue;
    bool inner = true;  // every node but the result read only inside the formula, and observable by no one
    for (int u : f->nodes) {
      if (u == v) continue;
      const Node& n = code[u];
      inner = inner && n.name.empty() && !n.probe && u != code.loss;
      for (int r : users[static_cast<size_t>(u)])
        inner = inner && std::binary_search(f->nodes.begin(), f->nodes.end(), r);
    }
    if (!inner) continue;
    const Node& loss = code[f->loss];
    for (int u : f->nodes) {
      Node& n = code[u];
      if (u == v) {
        n.op = &kCrossEntropyGrad;
        n.inputs = {loss.inputs[0], loss.inputs[1], f->dy};
        n.attrs = loss.attrs;
      } else {
        n.op = &getOp("folded");
        n.inputs = {loss.inputs[0]};
        n.attrs = {};
      }
    }
    ++fused;
  }
  return fused;
}

}  // namespace cross_entropy

}  // namespace netc::ops
