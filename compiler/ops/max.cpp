// max(x, axis=k, keepdim=1): the largest value along one axis (or over everything), as torch.max(x, dim).values
// (and torch.max(x) without an axis). Its gradient goes to the arg max alone, the first index on ties as
// torch's, and a NaN wins (torch propagates it): max_grad(x, dy) puts dy there and zero elsewhere.
#include <cmath>
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/max.h"
#include "ops/reduce.h"

namespace netc::ops {

MaxSplit maxSplit(const Node& n, const Shape& xs) {
  MaxSplit s;
  if (allAxes(n)) {
    s.K = numel(xs);
    return s;
  }
  const int64_t rank = static_cast<int64_t>(xs.size());
  const int64_t ax = n.attrs.ints[0] < 0 ? n.attrs.ints[0] + rank : n.attrs.ints[0];
  for (int64_t i = 0; i < ax; ++i) s.outer *= xs[i];
  s.K = xs[ax];
  for (int64_t i = ax + 1; i < rank; ++i) s.inner *= xs[i];
  return s;
}

// Whether x takes the place of the running maximum m: larger, or NaN, and m not already NaN (the first NaN
// stays, as the first of equal values does).
static bool beats(double x, double m) { return !std::isnan(m) && (x > m || std::isnan(x)); }

// The index along the axis of the maximum of the line (o, i), the first on ties.
static int64_t argMax(const MaxSplit& s, const std::vector<double>& x, int64_t o, int64_t i) {
  int64_t best = 0;
  double m = x[o * s.K * s.inner + i];
  for (int64_t k = 1; k < s.K; ++k) {
    const double v = x[(o * s.K + k) * s.inner + i];
    if (beats(v, m)) m = v, best = k;
  }
  return best;
}

static void inferMax(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Shape& xs = g[n.inputs[0]].shape;
  n.dtype = DType::F32;
  if (allAxes(n)) {
    n.shape = {};
    return;
  }
  const int ax = normAxis(g, n, n.attrs.ints[0], xs.size());
  if (xs[static_cast<size_t>(ax)] == 0) shapeError(g, n, "max over an empty axis has no value");
  n.shape = xs;
  n.shape.erase(n.shape.begin() + ax);
}

static void evalMax(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& x = *in[0];
  const MaxSplit s = maxSplit(n, x.shape);
  out.data.assign(static_cast<size_t>(s.outer * s.inner), 0.0);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i)
      out.data[o * s.inner + i] = x.data[(o * s.K + argMax(s, x.data, o, i)) * s.inner + i];
}

static void gradMax(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  dx[0] = b.op("max_grad", {n.inputs[0], dy}, n.attrs);
}

extern const OpDef kMax{
    .name = "max", .summary = "largest value over an axis (axis=k) or over everything; keepdim=1 keeps it as size 1",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .keyword = true, .optional = true},
              {.name = "keepdim", .kind = AttrSpec::Bool, .slot = AttrSpec::Lowered, .keyword = true}},
    .infer = inferMax, .grad = gradMax, .eval = evalMax};

// max_grad(x, dy), the axis as max's: x's shape, dy at each line's arg max and 0 elsewhere.
static void inferMaxGrad(const Graph& g, Node& n) {
  n.dtype = DType::F32;
  n.shape = g[n.inputs[0]].shape;
}

static void evalMaxGrad(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& x = *in[0];
  const MaxSplit s = maxSplit(n, x.shape);
  out.data.assign(x.data.size(), 0.0);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i)
      out.data[(o * s.K + argMax(s, x.data, o, i)) * s.inner + i] = in[1]->data[o * s.inner + i];
}

extern const OpDef kMaxGrad{
    .name = "max_grad", .summary = "dy placed at the arg max along max's axis (first on ties), zeros elsewhere",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .optional = true}},
    .infer = inferMaxGrad, .eval = evalMaxGrad};

}  // namespace netc::ops
