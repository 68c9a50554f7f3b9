#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// reshape(x, [dims]): same elements, new shape (Attrs::shape). B may appear in one dimension, times a whole
// constant (B*4), and only when x has B too: the elements per unit of B must agree, so [B, T, C] -> [B*T, C]
// holds for every batch size. `flatten(x)` lowers to reshape(x, [d0, d1*d2*...]); `-1`, unsqueeze and squeeze
// are resolved into the shape by the lowering (lower/shape_calls.cpp).
static void inferReshape(const Graph& g, Node& n) {
  const Node& x = g[n.inputs[0]];
  const Shape& to = n.attrs.shape;
  if (hasBatch(x.shape) != hasBatch(to))
    shapeError(g, n, fmt::format("cannot reshape {} of shape {} to {}: the batch dimension B must be on both sides "
                                 "or on neither", g.describe(x.id), shapeStr(x.shape), shapeStr(to)));
  if (perBatchNumel(x.shape) != perBatchNumel(to))
    shapeError(g, n, fmt::format("cannot reshape {} of shape {} ({} elements{}) to {} ({} elements)", g.describe(x.id),
                                 shapeStr(x.shape), perBatchNumel(x.shape), hasBatch(x.shape) ? " per batch row" : "",
                                 shapeStr(to), perBatchNumel(to)));
  n.dtype = x.dtype;
  n.shape = to;
}

static void gradReshape(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.shape = b.node(n.inputs[0]).shape;
  dx[0] = b.op("reshape", {dy}, at);
}

extern const OpDef kReshape{
    .name = "reshape", .summary = "same elements, new shape: reshape(x, [B, T*E])", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Kernel,
    .attrs = {{.name = "shape", .kind = AttrSpec::Shape, .slot = AttrSpec::Dims, .keyword = true}},
    .view = true, .keepsElements = true, .linearPath = true,
    .infer = inferReshape, .grad = gradReshape,
    .eval = [](const Node&, const std::vector<const Tensor*>& in, Tensor& out) { out.data = in[0]->data; }};

}  // namespace netc::ops
