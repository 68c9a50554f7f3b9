#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// transpose(x): the matrix transpose of a rank-2 value, [R, C] -> [C, R]. The autodiff makes one for a weight
// that several products read (GradBuilder::transposeOf); a .net file may write it too. Gradient: dy transposed.
static void inferTranspose(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireRank(g, n, 0, 2, "the argument of transpose");
  const Shape& s = g[n.inputs[0]].shape;
  n.dtype = DType::F32;
  n.shape = {s[1], s[0]};
}

static void evalTranspose(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const int64_t R = in[0]->shape[0], C = in[0]->shape[1];
  out.data.resize(static_cast<size_t>(R * C));
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j) out.data[static_cast<size_t>(j * R + i)] = in[0]->data[static_cast<size_t>(i * C + j)];
}

extern const OpDef kTranspose{
    .name = "transpose", .summary = "the matrix transpose of a rank-2 value: transpose(W)", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Kernel,
    .infer = inferTranspose,
    .grad = [](GradBuilder& b, const Node&, int dy, std::vector<int>& dx) { dx[0] = b.op("transpose", {dy}); },
    .eval = evalTranspose};

}  // namespace netc::ops
