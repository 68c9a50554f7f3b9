// pick(x, y): one element of each row of x [..., V] chosen by the int y [...]: out[r] = x[r, y[r]], PyTorch's
// x[range(n), y] (makemore part 4's logprobs[range(n), Yb]). Its gradient, pick_grad(dy, y), is a zero [..., V]
// with dy[r] at column y[r] of row r.
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

static int64_t column(const Tensor& y, int64_t r, int64_t V, const char* op) {
  const double v = y.data[static_cast<size_t>(r)];
  if (!(v >= 0 && v < static_cast<double>(V)))
    fail(fmt::format("{} index {} is out of range for rows of {} values", op, v, V));
  return static_cast<int64_t>(v);
}

static void inferPick(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Node& x = g[n.inputs[0]];
  const Node& y = g[n.inputs[1]];
  if (x.shape.empty())
    shapeError(g, n, fmt::format("pick chooses one value of each row of {}, which is a scalar", g.describe(x.id)));
  const Shape rows(x.shape.begin(), x.shape.end() - 1);
  if (y.dtype != DType::I32 || y.shape != rows)
    shapeError(g, n, fmt::format("the index {} must be int{}, one per row of {}{}, found {}{}", g.describe(y.id),
                                 shapeStr(rows), g.describe(x.id), shapeStr(x.shape), dtypeName(y.dtype),
                                 shapeStr(y.shape)));
  n.dtype = DType::F32;
  n.shape = rows;
}

static void evalPick(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& x = *in[0];
  const int64_t V = x.shape.back(), rows = numel(out.shape);
  out.data.assign(static_cast<size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r) out.data[r] = x.data[r * V + column(*in[1], r, V, "pick")];
}

static void gradPick(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.ints = {b.node(n.inputs[0]).shape.back()};
  dx[0] = b.op("pick_grad", {dy, n.inputs[1]}, at);
}

extern const OpDef kPick{.name = "pick", .summary = "x[r, y[r]] for every row r: one value of each row of x [..., V] by int y [...]",
                         .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel,
                         .indexBound = {.input = 1, .limit = IndexBound::LastDimOfInput0},
                         .args = "x, y",
                         .infer = inferPick, .grad = gradPick, .eval = evalPick};

// pick_grad(dy, y) with Attrs::ints = {V}: [..., V] zeros with dy[r] at column y[r] of row r.
static void inferPickGrad(const Graph& g, Node& n) {
  n.dtype = DType::F32;
  n.shape = g[n.inputs[0]].shape;
  n.shape.push_back(n.attrs.ints.at(0));
}

static void evalPickGrad(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const int64_t V = n.attrs.ints[0], rows = numel(in[0]->shape);
  out.data.assign(static_cast<size_t>(rows * V), 0.0);
  for (int64_t r = 0; r < rows; ++r) out.data[r * V + column(*in[1], r, V, "pick_grad")] = in[0]->data[r];
}

extern const OpDef kPickGrad{.name = "pick_grad", .summary = "zeros [..., V] with dy[r] at column y[r] (pick's gradient)",
                             .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
                             .attrs = {{.name = "columns", .kind = AttrSpec::Index}},
                             .indexBound = {.input = 1, .limit = IndexBound::Attr0},
                             .args = "dy, y",
                             .infer = inferPickGrad, .eval = evalPickGrad};

}  // namespace netc::ops
