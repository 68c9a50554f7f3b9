// The softmax cross-entropy kernel against the interpreter over the shapes that select its code paths: rows
// unrolled several at a time (with a shorter last block when the rows do not divide evenly), one row at a time
// in loops for wide rows, a last partial vector of classes or none, and the loss alone, its gradient alone,
// or both from one pass (the planner pairs them), with the upstream gradient a constant or a value.
#include <doctest/doctest.h>

#include <cmath>
#include <fmt/format.h>

#include "codegen/jit_engine.h"
#include "interp/interpreter.h"
#include "ops/op.h"
#include "runtime/rng.h"

using namespace netc;

namespace {

enum class Parts { Loss, Grad, Both };

int input(Graph& g, const char* name, Shape s, DType t) {
  int id = g.add(&getOp("input"), {}, {}, SrcLoc{}, name);
  g[id].dtype = t;
  g[id].shape = std::move(s);
  return id;
}

double largestError(const std::vector<double>& want, const std::vector<double>& got) {
  REQUIRE(want.size() == got.size());
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(want[i] - got[i]));
  return worst;
}

void check(int64_t N, int64_t V, Parts parts) {
  Graph g;
  int logits = input(g, "logits", {N, V}, DType::F32);
  int y = input(g, "y", {N}, DType::I32);
  int dy = input(g, "dy", {}, DType::F32);
  int loss = -1, grad = -1;
  if (parts != Parts::Grad) {
    loss = g.add(&getOp("cross_entropy"), {logits, y}, {}, SrcLoc{}, "loss");
    inferNode(g, loss);
  }
  if (parts != Parts::Loss) {
    grad = g.add(&getOp("cross_entropy_grad"), {logits, y, dy}, {}, SrcLoc{}, "dlogits");
    inferNode(g, grad);
  }
  Interpreter ref(g);
  JitEngine jit(g);
  Rng rng(static_cast<uint64_t>(N * 1009 + V));
  std::vector<double> l(static_cast<size_t>(N * V));
  for (double& x : l) x = rng.normal() * 3;  // spread wide enough that the max and exp ranges matter
  if (V > 1) l[0] = 40;                      // one row dominated by a single class
  std::vector<int32_t> t(static_cast<size_t>(N));
  for (auto& x : t) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V)));
  for (Engine* e : {static_cast<Engine*>(&ref), static_cast<Engine*>(&jit)}) {
    e->write(logits, l);
    e->writeIndices(y, t);
    e->write(dy, std::vector<double>{0.7});
    e->run();
  }
  INFO(fmt::format("N={} V={} parts={}", N, V, static_cast<int>(parts)));
  if (loss >= 0) {
    double want = ref.read(loss)[0], got = jit.read(loss)[0];
    CHECK(std::fabs(want - got) <= 1e-5 * std::max(1.0, std::fabs(want)));
  }
  if (grad >= 0) CHECK(largestError(ref.read(grad), jit.read(grad)) <= 1e-6);
}

}  // namespace

TEST_CASE("cross_entropy kernel matches the interpreter across its code paths") {
  // With 8-float vectors: V <= 64 is unrolled (4 rows a block for 27 classes), wider rows loop; N = 1, 3, 5,
  // 33 leave a shorter last block.
  for (int64_t V : {1, 2, 8, 9, 27, 64, 65, 130})
    for (int64_t N : {1, 3, 4, 5, 32, 33})
      for (Parts p : {Parts::Loss, Parts::Grad, Parts::Both}) check(N, V, p);
}

TEST_CASE("cross_entropy kernel: a NaN logit makes the loss and its row of the gradient NaN") {
  for (int64_t V : {27, 130}) {
    Graph g;
    int logits = input(g, "logits", {4, V}, DType::F32);
    int y = input(g, "y", {4}, DType::I32);
    int dy = input(g, "dy", {}, DType::F32);
    int loss = g.add(&getOp("cross_entropy"), {logits, y}, {}, SrcLoc{}, "loss");
    inferNode(g, loss);
    int grad = g.add(&getOp("cross_entropy_grad"), {logits, y, dy}, {}, SrcLoc{}, "dlogits");
    inferNode(g, grad);
    JitEngine jit(g);
    std::vector<double> l(static_cast<size_t>(4 * V), 0.5);
    l[static_cast<size_t>(2 * V + 3)] = NAN;  // row 2
    jit.write(logits, l);
    jit.writeIndices(y, std::vector<int32_t>{0, 1, 2, 3});
    jit.write(dy, std::vector<double>{1.0});
    jit.run();
    INFO("V=", V);
    CHECK(std::isnan(jit.read(loss)[0]));
    std::vector<double> d = jit.read(grad);
    CHECK(std::isnan(d[static_cast<size_t>(2 * V)]));
    CHECK(std::isfinite(d[0]));
  }
}
