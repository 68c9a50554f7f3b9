// Reductions and their adjoints: sum and mean over one axis (or all), sum_to (undoing a broadcast)
// and expand (the broadcast that differentiates a sum). They share the axis arithmetic.
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/reduce.h"

namespace netc::ops {

static void inferReduce(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Shape& xs = g[n.inputs[0]].shape;
  n.dtype = DType::F32;
  if (allAxes(n)) { n.shape = {}; return; }
  int ax = normAxis(g, n, n.attrs.ints[0], xs.size());
  n.shape = xs;
  n.shape.erase(n.shape.begin() + ax);
}

// out[outer, inner] = sum over k of x[outer, k, inner]
static void evalSumAxis(const Shape& xs, int ax, const std::vector<double>& x, std::vector<double>& out) {
  int64_t outer = 1, inner = 1, K = xs[ax];
  for (int i = 0; i < ax; ++i) outer *= xs[i];
  for (size_t i = ax + 1; i < xs.size(); ++i) inner *= xs[i];
  out.assign(outer * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < inner; ++i) out[o * inner + i] += x[(o * K + k) * inner + i];
}

static int64_t reducedCount(const Node& n, const Shape& xs) {
  return allAxes(n) ? numel(xs) : xs[n.attrs.ints[0] < 0 ? n.attrs.ints[0] + xs.size() : n.attrs.ints[0]];
}

static void evalReduce(const Node& n, const std::vector<const Tensor*>& in, Tensor& out, bool mean) {
  const Tensor& x = *in[0];
  if (allAxes(n)) {
    double s = 0;
    for (double v : x.data) s += v;
    out.data = {s};
  } else {
    int64_t ax = n.attrs.ints[0] < 0 ? n.attrs.ints[0] + x.shape.size() : n.attrs.ints[0];
    evalSumAxis(x.shape, static_cast<int>(ax), x.data, out.data);
  }
  if (mean) {
    double k = static_cast<double>(reducedCount(n, x.shape));
    for (double& v : out.data) v /= k;
  }
}

// The count a mean divides by is known only once B is bound, so expand carries it as a flag
// (Attrs::value = 1) rather than as a constant in the graph.
static int expandGrad(GradBuilder& b, const Node& n, int dy, bool divideByCount = false) {
  Attrs at;
  at.shape = b.node(n.inputs[0]).shape;
  at.ints = n.attrs.ints;
  at.value = divideByCount ? 1.0 : 0.0;
  return b.op("expand", {dy}, at);
}

extern const OpDef kSum{
    .name = "sum", .summary = "sum over an axis (axis=k), several (axis=(0, 1)) or everything; keepdim=1 keeps them as size 1", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Kernel,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .keyword = true, .optional = true},
              {.name = "keepdim", .kind = AttrSpec::Bool, .slot = AttrSpec::Lowered, .keyword = true}},
    .infer = inferReduce,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) { dx[0] = expandGrad(b, n, dy); },
    .eval = [](const Node& n, const std::vector<const Tensor*>& in, Tensor& out) { evalReduce(n, in, out, false); }};

extern const OpDef kMean{
    .name = "mean", .summary = "mean over an axis (axis=k), several (axis=(0, 1)) or everything; keepdim=1 keeps them as size 1", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Kernel,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .keyword = true, .optional = true},
              {.name = "keepdim", .kind = AttrSpec::Bool, .slot = AttrSpec::Lowered, .keyword = true}},
    .infer = inferReduce,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      dx[0] = expandGrad(b, n, dy, /*divideByCount=*/true);
    },
    .eval = [](const Node& n, const std::vector<const Tensor*>& in, Tensor& out) { evalReduce(n, in, out, true); }};

// expand(dy) with Attrs::shape = target and Attrs::ints = {axis}: inserts the reduced axis again and repeats
// dy along it; with no axis, dy is a scalar repeated everywhere. Attrs::value = 1 also divides by the number
// of repeats (the gradient of mean).
static void inferExpand(const Graph& g, Node& n) {
  n.dtype = DType::F32;
  n.shape = n.attrs.shape;
}

static void evalExpand(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Shape& s = out.shape;
  out.data.assign(numel(s), 0.0);
  if (n.attrs.ints.empty()) {
    double scale = n.attrs.value != 0 ? 1.0 / static_cast<double>(numel(s)) : 1.0;
    for (double& v : out.data) v = in[0]->data[0] * scale;
    return;
  }
  int64_t ax = n.attrs.ints[0] < 0 ? n.attrs.ints[0] + s.size() : n.attrs.ints[0];
  int64_t outer = 1, inner = 1, K = s[ax];
  for (int64_t i = 0; i < ax; ++i) outer *= s[i];
  for (size_t i = ax + 1; i < s.size(); ++i) inner *= s[i];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < inner; ++i) out.data[(o * K + k) * inner + i] = in[0]->data[o * inner + i];
  if (n.attrs.value != 0)
    for (double& v : out.data) v /= static_cast<double>(K);
}

extern const OpDef kExpand{
    .name = "expand", .summary = "repeat along a reduced axis (the gradient of sum)", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "axis", .kind = AttrSpec::Axis, .optional = true, .of = -1},
              {.name = "mean", .kind = AttrSpec::Bool, .slot = AttrSpec::Value},
              {.name = "shape", .kind = AttrSpec::Shape, .slot = AttrSpec::Dims}},
    .infer = inferExpand,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      Attrs at;
      at.ints = n.attrs.ints;
      dx[0] = b.op(n.attrs.value != 0 ? "mean" : "sum", {dy}, at);
    },
    .eval = evalExpand};

// sum_to(x) with Attrs::shape = target: sums x over the axes a broadcast expanded, back to the target
// shape. The autodiff inserts it centrally whenever a gradient's shape differs from its operand's.
static void evalSumTo(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& x = *in[0];
  out.data.assign(numel(out.shape), 0.0);
  for (int64_t i = 0; i < numel(x.shape); ++i) out.data[broadcastIndex(x.shape, out.shape, i)] += x.data[i];
}

extern const OpDef kSumTo{
    .name = "sum_to", .summary = "sum over broadcast axes back to a shape", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "shape", .kind = AttrSpec::Shape, .slot = AttrSpec::Dims}},
    .infer = [](const Graph&, Node& n) { n.dtype = DType::F32; n.shape = n.attrs.shape; },
    .eval = evalSumTo};

}  // namespace netc::ops
