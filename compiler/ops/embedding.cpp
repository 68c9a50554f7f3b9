#include <cmath>
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// embedding(C, x), written C[x]: row lookup. C is [V, E] float, x any-shaped int; out is x.shape + [E].
// Gradient: a scatter-ADD of dy into a zero [V, E] table, so every repeated index counts.
static void inferEmbedding(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireRank(g, n, 0, 2, "the embedding table");
  const Node& x = g[n.inputs[1]];
  if (x.dtype != DType::I32)
    shapeError(g, n, fmt::format("the index must be int, but {} is {}{}", g.describe(x.id), dtypeName(x.dtype),
                                 shapeStr(x.shape)));
  n.dtype = DType::F32;
  n.shape = x.shape;
  n.shape.push_back(g[n.inputs[0]].shape[1]);
}

static void evalEmbedding(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& C = *in[0];
  const Tensor& x = *in[1];
  int64_t V = C.shape[0], E = C.shape[1];
  out.data.assign(numel(out.shape), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i) {
    double idx = x.data[i];
    if (!(idx >= 0 && idx < static_cast<double>(V)))
      fail(fmt::format("embedding index {} is out of range for a table of {} rows", idx, V));
    for (int64_t e = 0; e < E; ++e) out.data[i * E + e] = C.data[static_cast<int64_t>(idx) * E + e];
  }
}

static void gradEmbedding(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.ints = {b.node(n.inputs[0]).shape[0]};
  dx[0] = b.op("scatter_add", {dy, n.inputs[1]}, at);
}

extern const OpDef kEmbedding{.name = "embedding", .summary = "row lookup C[x]", .minInputs = 2, .maxInputs = 2,
                       .cls = OpDef::Kernel,
                       .indexBound = {.input = 1, .limit = IndexBound::RowsOfInput0},
                       .args = "C, x",
                       .infer = inferEmbedding, .grad = gradEmbedding, .eval = evalEmbedding};

// scatter_add(dy, x) with Attrs::ints = {V}: a [V, E] table of zeros with each dy row added at row x[i].
static void inferScatterAdd(const Graph& g, Node& n) {
  const Node& dy = g[n.inputs[0]];
  n.dtype = DType::F32;
  n.shape = {n.attrs.ints.at(0), dy.shape.back()};
}

static void evalScatterAdd(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& dy = *in[0];
  const Tensor& x = *in[1];
  int64_t E = out.shape[1];
  out.data.assign(numel(out.shape), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i) {
    int64_t row = static_cast<int64_t>(x.data[i]);
    for (int64_t e = 0; e < E; ++e) out.data[row * E + e] += dy.data[i * E + e];
  }
}

extern const OpDef kScatterAdd{.name = "scatter_add", .summary = "accumulate rows of dy at indices x (embedding gradient)",
                        .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
                        .attrs = {{.name = "rows", .kind = AttrSpec::Index}},
                        .indexBound = {.input = 1, .limit = IndexBound::Attr0},
                        .infer = inferScatterAdd, .eval = evalScatterAdd};

}  // namespace netc::ops
