#include "codegen/layout.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

#include "ops/op.h"

namespace netc::codegen {

namespace {

// Statistics that reduce over every element, so they do not care in which order the elements lie.
bool layoutBlind(const Node& n) { return n.op->orderBlind; }

bool transposeFlag(const Node& n, int i) { return n.attrs.ints.size() > static_cast<size_t>(i) && n.attrs.ints[i]; }

void setFlags(Node& n, bool ta, bool tb) { n.attrs.ints = {ta ? 1 : 0, tb ? 1 : 0}; }

// The parameter, its gradient and its updated value, when `p` qualifies; empty otherwise.
struct Family {
  int param = -1, grad = -1, next = -1;
};

std::optional<Family> family(const Graph& g, const std::vector<std::vector<int>>& users, int p, unsigned lanes) {
  const Node& n = g[p];
  if (!isParam(n) || n.shape.size() != 2 || n.dtype != DType::F32) return std::nullopt;
  const int64_t K = n.shape[0], N = n.shape[1], L = lanes;
  if (N % L == 0 || N >= 4 * L || K <= N) return std::nullopt;
  Family f{p, -1, -1};
  for (int u : users[p]) {
    const Node& use = g[u];
    if (use.op->matrixProduct || layoutBlind(use)) continue;
    if (!use.op->gradientStep || use.inputs[0] != p || f.next >= 0) return std::nullopt;
    f.next = u;
    f.grad = use.inputs[1];
  }
  if (f.next < 0 || !g[f.grad].op->matrixProduct) return std::nullopt;
  // The gradient and the updated value must have no readers that care about the layout.
  for (int u : users[f.grad])
    if (u != f.next && !layoutBlind(g[u])) return std::nullopt;
  for (int u : users[f.next])
    if (!layoutBlind(g[u])) return std::nullopt;
  for (int in : g[f.grad].inputs)
    if (in == p) return std::nullopt;  // a gradient reading the parameter itself: keep it simple
  return f;
}

}  // namespace

Layout chooseLayout(Graph& g, const CodegenOptions& opts, unsigned lanes) {
  if (opts.transposeNarrowParams) return assignLayout(g, lanes);
  Layout none;
  none.transposed.assign(static_cast<size_t>(g.size()), 0);
  return none;
}

bool Layout::any() const { return std::find(transposed.begin(), transposed.end(), 1) != transposed.end(); }

Layout assignLayout(Graph& g, unsigned lanes) {
  Layout out;
  out.transposed.assign(static_cast<size_t>(g.size()), 0);
  std::vector<std::vector<int>> users(static_cast<size_t>(g.size()));
  for (const Node& n : g.nodes)
    for (int in : n.inputs) users[static_cast<size_t>(in)].push_back(n.id);
  for (int p : g.params()) {
    std::optional<Family> f = family(g, users, p, lanes);
    if (!f) continue;
    for (int v : {f->param, f->grad, f->next}) {
      std::swap(g[v].shape[0], g[v].shape[1]);
      out.transposed[static_cast<size_t>(v)] = 1;
    }
    // Products reading W read W^T now: the same product with that operand's flag flipped.
    for (int u : users[static_cast<size_t>(p)]) {
      Node& m = g[u];
      if (!m.op->matrixProduct) continue;
      setFlags(m, transposeFlag(m, 0) != (m.inputs[0] == p), transposeFlag(m, 1) != (m.inputs[1] == p));
    }
    // C = op(A) op(B) becomes C^T = op(B)^T op(A)^T: operands swapped, each flag negated.
    Node& gr = g[f->grad];
    bool ta = transposeFlag(gr, 0), tb = transposeFlag(gr, 1);
    std::swap(gr.inputs[0], gr.inputs[1]);
    setFlags(gr, !tb, !ta);
  }
  // Every rewritten product must still infer the shape it now has.
  for (Node& n : g.nodes) {
    if (!n.op->matrixProduct) continue;
    Shape want = n.shape;
    inferNode(g, n.id);
    if (n.shape != want)
      fail(fmt::format("internal error: the transposed layout left {} with shape {} instead of {}", g.valueName(n.id),
                       shapeStr(n.shape), shapeStr(want)));
  }
  return out;
}

void toStorage(std::span<const double> logical, int64_t rows, int64_t cols, std::vector<double>& stored) {
  stored.resize(logical.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) stored[static_cast<size_t>(j * rows + i)] = logical[static_cast<size_t>(i * cols + j)];
}

void fromStorage(const std::vector<double>& stored, int64_t rows, int64_t cols, std::vector<double>& logical) {
  logical.resize(stored.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) logical[static_cast<size_t>(i * cols + j)] = stored[static_cast<size_t>(j * rows + i)];
}

}  // namespace netc::codegen
