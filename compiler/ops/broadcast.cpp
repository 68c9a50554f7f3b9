#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// broadcast(x, [dims]): x repeated to the shape [dims] by numpy's rules (size-1 or missing axes repeat), as
// makemore's learned start state `start.expand((b, -1))`: broadcast(start, [B, H]). Gradient: dy summed back
// to x's shape (the autodiff's sum_to, inserted because the shapes differ).
static void inferBroadcastTo(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Node& x = g[n.inputs[0]];
  Shape out;
  if (!broadcastShapes(x.shape, n.attrs.shape, out) || out != n.attrs.shape)
    shapeError(g, n, fmt::format("{} of shape {} does not broadcast to {}", g.describe(x.id), shapeStr(x.shape),
                                 shapeStr(n.attrs.shape)));
  n.dtype = DType::F32;
  n.shape = n.attrs.shape;
}

static void evalBroadcastTo(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const int64_t total = numel(out.shape);
  out.data.resize(total);
  for (int64_t i = 0; i < total; ++i) out.data[i] = in[0]->data[broadcastIndex(out.shape, in[0]->shape, i)];
}

extern const OpDef kBroadcastTo{
    .name = "broadcast", .summary = "repeat x to a shape: broadcast(start, [B, H])", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Kernel,
    .attrs = {{.name = "shape", .kind = AttrSpec::Shape, .slot = AttrSpec::Dims, .keyword = true}},
    .infer = inferBroadcastTo,
    .grad = [](GradBuilder&, const Node&, int dy, std::vector<int>& dx) { dx[0] = dy; },
    .eval = evalBroadcastTo};

}  // namespace netc::ops
