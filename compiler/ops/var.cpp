// var(x, axis=k, correction=c): the variance over one axis (or over everything), dividing the sum of squared
// deviations from the mean by n - c, as torch.var: correction 1 (the default) is the unbiased estimate,
// 0 the biased one. Attrs::ints = {axis} or {} for all axes; Attrs::value = the correction.
// std(x) lowers to sqrt(var(x)), and keepdim=1 to a reshape of the result (lower/lower.cpp).
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/reduce.h"

namespace netc::ops {

VarSplit varSplit(const Node& n, const Shape& xs) {
  VarSplit s;
  int64_t ax = n.attrs.ints.empty() ? -1 : (n.attrs.ints[0] < 0 ? n.attrs.ints[0] + static_cast<int64_t>(xs.size())
                                                                 : n.attrs.ints[0]);
  for (int64_t i = 0; i < static_cast<int64_t>(xs.size()); ++i) {
    bool reduced = ax < 0 || i == ax;
    if (reduced && isBatchDim(xs[i])) s.batchInK = true;
    int64_t d = isBatchDim(xs[i]) ? batchFactor(xs[i]) : xs[i];  // k·B counts k; B is multiplied in later
    (reduced ? s.K : i < ax ? s.outer : s.inner) *= d;
  }
  return s;
}

namespace {

void inferVar(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Node& x = g[n.inputs[0]];
  n.dtype = DType::F32;
  if (n.attrs.ints.empty()) n.shape = {};
  else {
    int ax = normAxis(g, n, n.attrs.ints[0], x.shape.size());
    n.shape = x.shape;
    n.shape.erase(n.shape.begin() + ax);
  }
  // The count is known once B is bound (verify() re-runs this rule after bindBatch).
  VarSplit s = varSplit(n, x.shape);
  double c = n.attrs.value;
  if (s.batchInK || static_cast<double>(s.K) - c > 0) return;
  std::string over = n.attrs.ints.empty() ? "all elements" : fmt::format("axis {}", n.attrs.ints[0]);
  if (s.K == 1)
    shapeError(g, n, fmt::format("the unbiased variance of one example is undefined: var over {} of {} (shape {}) "
                                 "has 1 element and correction {}; use correction=0, or more than one example (for "
                                 "the batch axis, a batch of 2 or more)",
                                 over, g.describe(x.id), shapeStr(x.shape), c));
  shapeError(g, n, fmt::format("var over {} of {} (shape {}) has {} elements, and with correction {} it would divide "
                               "by {} - {} <= 0; the correction must be below the element count",
                               over, g.describe(x.id), shapeStr(x.shape), s.K, c, s.K, c));
}

void evalVar(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& x = *in[0];
  VarSplit s = varSplit(n, x.shape);
  double denom = static_cast<double>(s.K) - n.attrs.value;
  out.data.assign(s.outer * s.inner, 0.0);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      double sum = 0, sq = 0;
      for (int64_t k = 0; k < s.K; ++k) sum += x.data[(o * s.K + k) * s.inner + i];
      double mean = sum / static_cast<double>(s.K);
      for (int64_t k = 0; k < s.K; ++k) {
        double d = x.data[(o * s.K + k) * s.inner + i] - mean;
        sq += d * d;
      }
      out.data[o * s.inner + i] = sq / denom;
    }
}

// Repeats a reduced value (shape of n) back over x's shape along the reduced axis.
int expandBack(GradBuilder& b, const Node& n, int v) {
  Attrs at;
  at.shape = b.node(n.inputs[0]).shape;
  at.ints = n.attrs.ints;
  return b.op("expand", {v}, at);
}

// dx = 2 (x - mean) / (n - c) * dy, with mean and dy repeated along the reduced axis. n may involve B, so the
// factor is built from batch_size nodes, which become constants when the batch is bound.
void gradVar(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  int x = n.inputs[0];
  VarSplit s = varSplit(n, b.node(x).shape);
  Attrs m;
  m.ints = n.attrs.ints;
  int mean = b.op("mean", {x}, m);
  int count = b.constant(static_cast<double>(s.K));
  if (s.batchInK) count = b.mul(count, b.op("batch_size", {}));
  int scale = b.div(b.constant(2.0), b.sub(count, b.constant(n.attrs.value)));
  int centred = b.sub(x, expandBack(b, n, mean));
  dx[0] = b.mul(centred, expandBack(b, n, b.mul(dy, scale)));
}

}  // namespace

extern const OpDef kVar{
    .name = "var", .summary = "variance over an axis (axis=k), several (axis=(0, 1)) or everything, dividing by n - correction (default 1)",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .keyword = true, .optional = true},
              {.name = "correction", .kind = AttrSpec::Float, .slot = AttrSpec::Value, .def = 1, .keyword = true},
              {.name = "keepdim", .kind = AttrSpec::Bool, .slot = AttrSpec::Lowered, .keyword = true}},
    .infer = inferVar, .grad = gradVar, .eval = evalVar};

}  // namespace netc::ops
