#include "ops/matmul.h"

#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// matmul(a, b) = op(a) @ op(b), where Attrs::ints = {transA, transB} says whether an operand is stored
// transposed (the gradients use that instead of materialising transposes); the flags apply to the last two
// axes. Operands of rank 3 or more (ops/matmul.h lists the forms): [.., M, K] @ [K, N] multiplies every
// row of the leading dimensions by B; [.., M, K] @ [.., K, N] with equal leading dimensions is a batch of
// products; Attrs::value = sumLeading (made by the gradient of the first form only) sums A^T B over the
// leading dimensions as well, into a rank-2 result.
bool productTransA(const Node& n) { return n.attrs.ints.size() > 0 && n.attrs.ints[0]; }
bool productTransB(const Node& n) { return n.attrs.ints.size() > 1 && n.attrs.ints[1]; }
bool productSumsLeading(const Node& n) { return n.attrs.value != 0; }

static std::string lineOf(const Node& x) { return x.loc.line > 0 ? fmt::format(" (line {})", x.loc.line) : ""; }

static std::string both(const Graph& g, const Node& a, const Node& b) {
  return fmt::format("{} has shape {}{} and {} has shape {}{}", g.describe(a.id), shapeStr(a.shape), lineOf(a),
                     g.describe(b.id), shapeStr(b.shape), lineOf(b));
}

static void inferMatmul(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireF32(g, n, 1);
  const Node& a = g[n.inputs[0]];
  const Node& b = g[n.inputs[1]];
  const char* side[] = {"left", "right"};
  for (int i = 0; i < 2; ++i) {
    const Node& x = i == 0 ? a : b;
    if (x.shape.size() < 2)
      shapeError(g, n, fmt::format("the {} operand of '@' must have rank 2 or more, found {} with shape {}", side[i],
                                   g.describe(x.id), shapeStr(x.shape)));
  }
  const bool ta = productTransA(n), tb = productTransB(n), sum = productSumsLeading(n);
  const size_t ra = a.shape.size(), rb = b.shape.size();
  const Shape lead(a.shape.begin(), a.shape.end() - 2);
  if (ra == 2 && rb > 2)
    shapeError(g, n, fmt::format("leading dimensions differ: {} (a rank-2 left operand is not repeated over the "
                                 "right operand's leading dimensions)", both(g, a, b)));
  if (ra > 2 && rb > 2 && (ra != rb || !std::equal(lead.begin(), lead.end(), b.shape.begin())))
    shapeError(g, n, fmt::format("leading dimensions differ: {}", both(g, a, b)));
  if (ra > 2 && rb == 2 && ta)
    shapeError(g, n, "a transposed left operand of rank 3 or more needs a right operand of the same rank");
  if (sum && (ra == 2 || rb == 2 || !ta || tb))
    shapeError(g, n, "sumLeading needs operands of rank 3 or more, the left one transposed and the right one not");
  const Shape& as = a.shape;
  const Shape& bs = b.shape;
  int64_t m = ta ? as[ra - 1] : as[ra - 2], ka = ta ? as[ra - 2] : as[ra - 1];
  int64_t kb = tb ? bs[rb - 1] : bs[rb - 2], nn = tb ? bs[rb - 2] : bs[rb - 1];
  if (ka != kb) shapeError(g, n, fmt::format("inner dimensions differ: {}", both(g, a, b)));
  n.dtype = DType::F32;
  n.shape = sum ? Shape{} : lead;
  n.shape.push_back(m);
  n.shape.push_back(nn);
}

ProductDims productDims(const Shape& a, const Shape& b, bool ta, bool tb, bool sumLeading) {
  const size_t ra = a.size(), rb = b.size();
  ProductDims d;
  d.ta = ta, d.tb = tb;
  int64_t lead = 1;
  for (size_t i = 0; i + 2 < ra; ++i) lead *= a[i];
  d.M = ta ? a[ra - 1] : a[ra - 2];
  d.K = ta ? a[ra - 2] : a[ra - 1];
  d.N = tb ? b[rb - 2] : b[rb - 1];
  if (sumLeading) d.K *= lead;        // the leading dimensions are more rows of both: summed over
  else if (rb == 2) d.M *= lead;      // more rows of A (never transposed here) and of C
  else d.batch = lead;
  return d;
}

ProductDims productDims(const Graph& g, const Node& n) {
  return productDims(g[n.inputs[0]].shape, g[n.inputs[1]].shape, productTransA(n), productTransB(n),
                     productSumsLeading(n));
}

static int mm(GradBuilder& b, int x, int y, int ta, int tb, bool sumLeading = false) {
  Attrs at;
  at.ints = {ta, tb};
  at.value = sumLeading ? 1 : 0;
  return b.op("matmul", {x, y}, at);
}

static void gradMatmul(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  int A = n.inputs[0], B = n.inputs[1];
  bool ta = productTransA(n), tb = productTransB(n);
  const size_t ra = b.node(A).shape.size(), rb = b.node(B).shape.size();
  if (productSumsLeading(n)) {
    // C = sum_l A_l^T B_l: dA_l = B_l dC^T and dB_l = A_l dC, each a product folding the leading dimensions.
    if (b.needs(n, 0)) dx[0] = mm(b, B, dy, 0, 1);
    if (b.needs(n, 1)) dx[1] = mm(b, A, dy, 0, 0);
    return;
  }
  // C = op(A) op(B) (per product of a batch). dop(A) = dC op(B)^T and dop(B) = op(A)^T dC, transposed back when
  // stored transposed. A rank-2 B read by rows of a higher-rank A gets the sum over those rows: its gradient
  // contracts the leading dimensions (sumLeading), one product whose K is every row.
  const bool folded = ra > 2 && rb == 2;
  if (b.needs(n, 0)) {
    // A weight read by several products (each step of an unrolled loop) is transposed once for all their
    // input gradients; a product transposing its operand itself would repeat that copy T times per step.
    if (!ta && !tb && rb == 2 && b.productsReading(B).size() >= 2) dx[0] = mm(b, dy, b.transposeOf(B), 0, 0);
    else if (!ta) dx[0] = tb ? mm(b, dy, B, 0, 0) : mm(b, dy, B, 0, 1);
    else dx[0] = tb ? mm(b, B, dy, 1, 1) : mm(b, B, dy, 0, 1);
  }
  if (b.needs(n, 1)) {
    if (!tb) dx[1] = ta ? mm(b, A, dy, 0, 0) : mm(b, A, dy, 1, 0, folded);
    else dx[1] = ta ? mm(b, dy, A, 1, 1) : mm(b, dy, A, 1, 0, folded);
  }
}

static void evalMatmul(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  const ProductDims d = productDims(a.shape, b.shape, productTransA(n), productTransB(n), productSumsLeading(n));
  const int64_t M = d.M, N = d.N, K = d.K;
  out.data.assign(static_cast<size_t>(d.batch * M * N), 0.0);
  for (int64_t l = 0; l < d.batch; ++l) {
    const double* A = a.data.data() + l * d.strideA();
    const double* B = b.data.data() + l * d.strideB();
    double* C = out.data.data() + l * d.strideC();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) {
          double av = d.ta ? A[k * M + i] : A[i * K + k];
          double bv = d.tb ? B[j * K + k] : B[k * N + j];
          s += av * bv;
        }
        C[i * N + j] = s;
      }
  }
}

extern const OpDef kMatmul{.name = "matmul",
                    .summary = "matrix product a @ b: [.., M, K] @ [K, N], or pairwise over equal leading dimensions",
                    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel,
                    .attrs = {{.name = "transA", .kind = AttrSpec::Bool, .index = 0, .optional = true},
                              {.name = "transB", .kind = AttrSpec::Bool, .index = 1},
                              {.name = "sumLeading", .kind = AttrSpec::Bool, .slot = AttrSpec::Value}},
                    .matrixProduct = true, .linearPath = true,
                    .infer = inferMatmul, .grad = gradMatmul, .eval = evalMatmul};

}  // namespace netc::ops
