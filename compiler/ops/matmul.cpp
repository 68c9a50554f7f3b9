#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// matmul(a, b) = op(a) @ op(b) for rank-2 operands, where Attrs::ints = {transA, transB} says whether an
// operand is stored transposed (the gradients use that instead of materialising transposes).
static bool transA(const Node& n) { return n.attrs.ints.size() > 0 && n.attrs.ints[0]; }
static bool transB(const Node& n) { return n.attrs.ints.size() > 1 && n.attrs.ints[1]; }

static void inferMatmul(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireF32(g, n, 1);
  requireRank(g, n, 0, 2, "the left operand of '@'");
  requireRank(g, n, 1, 2, "the right operand of '@'");
  const Node& a = g[n.inputs[0]];
  const Node& b = g[n.inputs[1]];
  int64_t m = transA(n) ? a.shape[1] : a.shape[0], ka = transA(n) ? a.shape[0] : a.shape[1];
  int64_t kb = transB(n) ? b.shape[1] : b.shape[0], nn = transB(n) ? b.shape[0] : b.shape[1];
  if (ka != kb) {
    auto line = [&](const Node& x) { return x.loc.line > 0 ? fmt::format(" (line {})", x.loc.line) : ""; };
    shapeError(g, n, fmt::format("inner dimensions differ: {} has shape {}{} and {} has shape {}{}",
                                 g.describe(a.id), shapeStr(a.shape), line(a), g.describe(b.id),
                                 shapeStr(b.shape), line(b)));
  }
  n.dtype = DType::F32;
  n.shape = {m, nn};
}

static int mm(GradBuilder& b, int x, int y, int ta, int tb) {
  Attrs at;
  at.ints = {ta, tb};
  return b.op("matmul", {x, y}, at);
}

static void gradMatmul(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  int A = n.inputs[0], B = n.inputs[1];
  bool ta = transA(n), tb = transB(n);
  // C = op(A) op(B). dop(A) = dC op(B)^T and dop(B) = op(A)^T dC, transposed back when stored transposed.
  if (b.needs(n, 0)) {
    // A weight read by several products (each step of an unrolled loop) is transposed once for all their
    // input gradients; a product transposing its operand itself would repeat that copy T times per step.
    if (!ta && !tb && b.productsReading(B).size() >= 2) dx[0] = mm(b, dy, b.transposeOf(B), 0, 0);
    else if (!ta) dx[0] = tb ? mm(b, dy, B, 0, 0) : mm(b, dy, B, 0, 1);
    else dx[0] = tb ? mm(b, B, dy, 1, 1) : mm(b, B, dy, 0, 1);
  }
  if (b.needs(n, 1)) {
    if (!tb) dx[1] = ta ? mm(b, A, dy, 0, 0) : mm(b, A, dy, 1, 0);
    else dx[1] = ta ? mm(b, dy, A, 1, 1) : mm(b, dy, A, 1, 0);
  }
}

static void evalMatmul(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  bool ta = transA(n), tb = transB(n);
  int64_t M = out.shape[0], N = out.shape[1], K = ta ? a.shape[0] : a.shape[1];
  out.data.assign(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) {
        double av = ta ? a.data[k * M + i] : a.data[i * K + k];
        double bv = tb ? b.data[j * K + k] : b.data[k * N + j];
        s += av * bv;
      }
      out.data[i * N + j] = s;
    }
}

extern const OpDef kMatmul{.name = "matmul", .summary = "matrix product a @ b of rank-2 values", .minInputs = 2,
                    .maxInputs = 2, .cls = OpDef::Kernel,
                    .attrs = {{.name = "transA", .kind = AttrSpec::Bool, .index = 0, .optional = true},
                              {.name = "transB", .kind = AttrSpec::Bool, .index = 1}},
                    .matrixProduct = true, .linearPath = true,
                    .infer = inferMatmul, .grad = gradMatmul, .eval = evalMatmul};

}  // namespace netc::ops
