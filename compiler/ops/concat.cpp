#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/slice.h"

namespace netc::ops {

// concat(a, b, ..., axis=A): the values side by side along axis A; every other axis must agree (B with B).
// Attrs::ints = {axis}, made non-negative. Gradient: input i gets the slice of dy where it was placed.
// A loop's stacked output (`hs[:, t] = h`) is a concat of the steps' values, each with the axis inserted.
static void inferConcat(const Graph& g, Node& n) {
  if (n.attrs.ints.size() != 1) shapeError(g, n, "concat needs axis=, e.g. concat(x, h, axis=1)");
  const Node& first = g[n.inputs[0]];
  int64_t ax = normAxis(g, n, n.attrs.ints[0], first.shape.size());
  n.attrs.ints[0] = ax;
  if (isBatchDim(first.shape[ax])) shapeError(g, n, "cannot concatenate along the batch axis B");
  Shape out = first.shape;
  out[ax] = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const Node& x = g[n.inputs[i]];
    bool same = x.shape.size() == first.shape.size() && x.dtype == first.dtype;
    for (size_t d = 0; same && d < x.shape.size(); ++d) same = d == static_cast<size_t>(ax) || x.shape[d] == first.shape[d];
    if (!same)
      shapeError(g, n, fmt::format("operand {} ({}) has shape {}{}, which does not match operand 1 ({}) of shape {}{} "
                                   "on every axis but axis {}",
                                   i + 1, g.describe(x.id), dtypeName(x.dtype), shapeStr(x.shape), g.describe(first.id),
                                   dtypeName(first.dtype), shapeStr(first.shape), ax));
    out[ax] += x.shape[ax];
  }
  n.dtype = first.dtype;
  n.shape = out;
}

static void evalConcat(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const int64_t ax = n.attrs.ints[0];
  AxisRun r = axisRun(out.shape, ax);
  out.data.assign(numel(out.shape), 0.0);
  int64_t off = 0;
  for (const Tensor* x : in) {
    const int64_t len = x->shape[ax];
    for (int64_t o = 0; o < r.outer; ++o)
      for (int64_t j = 0; j < len * r.inner; ++j)
        out.data[(o * r.K + off) * r.inner + j] = x->data[o * len * r.inner + j];
    off += len;
  }
}

static void gradConcat(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  const int64_t ax = n.attrs.ints[0];
  int64_t off = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int64_t len = b.node(n.inputs[i]).shape[ax];
    if (b.needs(n, static_cast<int>(i))) {
      Attrs at;
      at.ints = {ax, off, off + len};
      dx[i] = b.op("slice", {dy}, at);
    }
    off += len;
  }
}

extern const OpDef kConcat{
    .name = "concat", .summary = "values side by side along one axis: concat(x, h, axis=1)", .minInputs = 1,
    .maxInputs = 4096, .cls = OpDef::Kernel,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .keyword = true}},
    .args = "a, b, ...",
    .infer = inferConcat, .grad = gradConcat, .eval = evalConcat};

}  // namespace netc::ops
