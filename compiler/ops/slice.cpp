#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/slice.h"

namespace netc::ops {

// slice(x, axis=A, start=S, stop=E): the elements of x with index S <= i < E along axis A, every other axis
// whole; out has x's shape with that axis E - S long. `x[:, t]` and `x[:, 2:5]` lower to it (an index also
// drops its axis, through a reshape). Attrs::ints = {axis, start, stop}, the axis already made non-negative.
// Gradient: pad_slice, which puts dy back at [S, E) of a zero tensor of x's shape.
AxisRun axisRun(const Shape& s, int64_t axis) {
  AxisRun r;
  for (int64_t i = 0; i < axis; ++i) r.outer *= s[i];
  r.K = s[axis];
  for (size_t i = axis + 1; i < s.size(); ++i) r.inner *= s[i];
  return r;
}

// The three ints of a slice or pad_slice node, checked against the shape `full` of the unsliced value.
static void checkRange(const Graph& g, const Node& n, const Shape& full) {
  if (n.attrs.ints.size() != 3)
    shapeError(g, n, "slice needs axis=, start= and stop=, e.g. slice(x, axis=1, start=0, stop=3)");
  int64_t ax = n.attrs.ints[0], start = n.attrs.ints[1], stop = n.attrs.ints[2];
  if (ax < 0 || ax >= static_cast<int64_t>(full.size()))
    shapeError(g, n, fmt::format("axis {} is out of range for a value of rank {}", ax, full.size()));
  if (isBatchDim(full[ax]))
    shapeError(g, n, fmt::format("cannot slice along the batch axis B of {}", shapeStr(full)));
  if (start < 0 || stop > full[ax] || start >= stop)
    shapeError(g, n, fmt::format("the range {}:{} is out of bounds for axis {} of size {} (shape {})", start, stop, ax,
                                 full[ax], shapeStr(full)));
}

static void inferSlice(const Graph& g, Node& n) {
  const Node& x = g[n.inputs[0]];
  if (!n.attrs.ints.empty()) n.attrs.ints[0] = normAxis(g, n, n.attrs.ints[0], x.shape.size());
  checkRange(g, n, x.shape);
  n.dtype = x.dtype;
  n.shape = x.shape;
  n.shape[n.attrs.ints[0]] = n.attrs.ints[2] - n.attrs.ints[1];
}

// Copies run r of the sliced axis: dst[o, j, i] = src[o, j + off, i] (or the reverse for pad).
static void evalCopy(const Shape& big, int64_t axis, int64_t start, int64_t len, const std::vector<double>& from,
                     std::vector<double>& to, bool toBig) {
  AxisRun r = axisRun(big, axis);
  for (int64_t o = 0; o < r.outer; ++o)
    for (int64_t j = 0; j < len; ++j)
      for (int64_t i = 0; i < r.inner; ++i) {
        int64_t b = (o * r.K + start + j) * r.inner + i, s = (o * len + j) * r.inner + i;
        if (toBig) to[b] = from[s];
        else to[s] = from[b];
      }
}

static void evalSlice(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  out.data.assign(numel(out.shape), 0.0);
  evalCopy(in[0]->shape, n.attrs.ints[0], n.attrs.ints[1], n.attrs.ints[2] - n.attrs.ints[1], in[0]->data, out.data,
           false);
}

static void gradSlice(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.ints = n.attrs.ints;
  at.shape = b.node(n.inputs[0]).shape;
  dx[0] = b.op("pad_slice", {dy}, at);
}

extern const OpDef kSlice{
    .name = "slice", .summary = "x[:, S:E] along one axis: slice(x, axis=A, start=S, stop=E)", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Kernel,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .index = 0, .keyword = true},
              {.name = "start", .kind = AttrSpec::Index, .index = 1, .keyword = true},
              {.name = "stop", .kind = AttrSpec::Index, .index = 2, .keyword = true}},
    .keepsElements = true,
    .infer = inferSlice, .grad = gradSlice, .eval = evalSlice};

// pad_slice(dy) with Attrs::ints = {axis, start, stop} and Attrs::shape = the full shape: zeros, with dy at
// [start, stop) along the axis (the gradient of slice). Its gradient is the slice again.
static void inferPad(const Graph& g, Node& n) {
  checkRange(g, n, n.attrs.shape);
  n.dtype = DType::F32;
  n.shape = n.attrs.shape;
}

static void evalPad(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  out.data.assign(numel(out.shape), 0.0);
  evalCopy(out.shape, n.attrs.ints[0], n.attrs.ints[1], n.attrs.ints[2] - n.attrs.ints[1], in[0]->data, out.data,
           true);
}

static void gradPad(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.ints = n.attrs.ints;
  dx[0] = b.op("slice", {dy}, at);
}

extern const OpDef kPadSlice{
    .name = "pad_slice", .summary = "zeros with dy placed at a slice (the gradient of slice)", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .index = 0, .of = -1},
              {.name = "start", .kind = AttrSpec::Index, .index = 1},
              {.name = "stop", .kind = AttrSpec::Index, .index = 2},
              {.name = "shape", .kind = AttrSpec::Shape, .slot = AttrSpec::Dims}},
    .padsWithZeros = true,
    .infer = inferPad, .grad = gradPad, .eval = evalPad};

}  // namespace netc::ops
