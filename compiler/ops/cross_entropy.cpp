#include <cmath>
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// cross_entropy(logits [N, V], targets int [N]): mean over rows of -log softmax(logits)[target], with the
// softmax fused in (computed stably by subtracting the row max). Gradient: (softmax - onehot) / N * dy.
static void inferCrossEntropy(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireRank(g, n, 0, 2, "the logits");
  const Node& l = g[n.inputs[0]];
  const Node& t = g[n.inputs[1]];
  if (t.dtype != DType::I32 || t.shape.size() != 1 || t.shape[0] != l.shape[0])
    shapeError(g, n, fmt::format("targets {} must be int[{}] to match logits {}{}, found {}{}", g.valueName(t.id),
                                 l.shape[0] == kBatch ? "B" : std::to_string(l.shape[0]), g.valueName(l.id),
                                 shapeStr(l.shape), dtypeName(t.dtype), shapeStr(t.shape)));
  n.dtype = DType::F32;
  n.shape = {};
}

// Row r's log-sum-exp, shared by the forward and the gradient.
static double logSumExp(const double* row, int64_t V) {
  double mx = row[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
  double s = 0;
  for (int64_t v = 0; v < V; ++v) s += std::exp(row[v] - mx);
  return mx + std::log(s);
}

static int64_t target(const Tensor& t, int64_t r, int64_t V) {
  double v = t.data[r];
  if (!(v >= 0 && v < static_cast<double>(V)))
    fail(fmt::format("cross_entropy target {} is out of range for {} classes", v, V));
  return static_cast<int64_t>(v);
}

static void evalCrossEntropy(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& L = *in[0];
  int64_t N = L.shape[0], V = L.shape[1];
  double total = 0;
  for (int64_t r = 0; r < N; ++r) {
    const double* row = &L.data[r * V];
    total += logSumExp(row, V) - row[target(*in[1], r, V)];
  }
  out.data = {total / static_cast<double>(N)};
}

static void gradCrossEntropy(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  dx[0] = b.op("cross_entropy_grad", {n.inputs[0], n.inputs[1], dy});
}

extern const OpDef kCrossEntropy{.name = "cross_entropy", .summary = "mean softmax cross-entropy of logits and int targets",
                          .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel,
                          .infer = inferCrossEntropy, .grad = gradCrossEntropy, .eval = evalCrossEntropy};

static void evalCrossEntropyGrad(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& L = *in[0];
  int64_t N = L.shape[0], V = L.shape[1];
  double scale = in[2]->data[0] / static_cast<double>(N);
  out.data.assign(N * V, 0.0);
  for (int64_t r = 0; r < N; ++r) {
    const double* row = &L.data[r * V];
    double lse = logSumExp(row, V);
    for (int64_t v = 0; v < V; ++v) out.data[r * V + v] = std::exp(row[v] - lse) * scale;
    out.data[r * V + target(*in[1], r, V)] -= scale;
  }
}

extern const OpDef kCrossEntropyGrad{
    .name = "cross_entropy_grad", .summary = "(softmax(logits) - onehot(targets)) / N * dy", .minInputs = 3,
    .maxInputs = 3, .cls = OpDef::Kernel, .internal = true,
    .infer = [](const Graph& g, Node& n) { n.dtype = DType::F32; n.shape = g[n.inputs[0]].shape; },
    .eval = evalCrossEntropyGrad};

}  // namespace netc::ops
