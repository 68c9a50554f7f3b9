// The softmax cross-entropy kernel against the interpreter over the shapes that select its code paths: rows
// unrolled several at a time (with a shorter last block when the rows do not divide evenly), one row at a time
// in loops for wide rows, a last partial vector of classes or none, and the loss alone, its gradient alone,
// or both from one pass (the planner pairs them), with the upstream gradient a constant or a value; and over
// the values that break a naive log-sum-exp: large shared offsets, wide scales, non-finite logits.
#include <doctest/doctest.h>

#include <cmath>
#include <fmt/format.h>
#include <memory>

#include "engine/jit_engine.h"
#include "interp/interpreter.h"
#include "ops/op.h"
#include "runtime/random/rng.h"

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

// The loss and/or its gradient of [N, V] logits, on the interpreter and the JIT.
struct Case {
  Graph g;
  int logits, y, dy, loss = -1, grad = -1;
  std::unique_ptr<Interpreter> ref;
  std::unique_ptr<JitEngine> jit;

  Case(int64_t N, int64_t V, Parts parts) {
    logits = input(g, "logits", {N, V}, DType::F32);
    y = input(g, "y", {N}, DType::I32);
    dy = input(g, "dy", {}, DType::F32);
    if (parts != Parts::Grad) {
      loss = g.add(&getOp("cross_entropy"), {logits, y}, {}, SrcLoc{}, "loss");
      inferNode(g, loss);
    }
    if (parts != Parts::Loss) {
      grad = g.add(&getOp("cross_entropy_grad"), {logits, y, dy}, {}, SrcLoc{}, "dlogits");
      inferNode(g, grad);
    }
    ref = std::make_unique<Interpreter>(g);
    jit = std::make_unique<JitEngine>(g);
  }
  std::vector<Engine*> engines() { return {ref.get(), jit.get()}; }
  void feed(Engine& e, const std::vector<double>& l, const std::vector<int32_t>& t) {
    e.write(logits, l);
    e.writeIndices(y, t);
    e.write(dy, std::vector<double>{0.7});
    e.run();
  }
};

// Logits offset + scale * normal(0, 3), rounded to float so that both engines see the same numbers.
void compare(Case& c, int64_t N, int64_t V, double offset, double scale) {
  Rng rng(static_cast<uint64_t>(N * 1009 + V));
  std::vector<double> l(static_cast<size_t>(N * V));
  for (double& x : l) x = static_cast<float>(offset + scale * rng.normal() * 3);  // wide enough for the exp range
  if (V > 1) l[0] = static_cast<float>(offset + scale * 40);                      // a row dominated by one class
  std::vector<int32_t> t(static_cast<size_t>(N));
  for (auto& x : t) x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V)));
  for (Engine* e : c.engines()) c.feed(*e, l, t);
  INFO(fmt::format("N={} V={} loss {} grad {} offset={:g} scale={:g}", N, V, c.loss >= 0, c.grad >= 0, offset, scale));
  if (c.loss >= 0) {
    double want = c.ref->read(c.loss)[0], got = c.jit->read(c.loss)[0];
    INFO(fmt::format("loss: interpreter {:.9g}, jit {:.9g}", want, got));
    CHECK(std::fabs(want - got) <= 1e-5 * std::max(1.0, std::fabs(want)));
  }
  if (c.grad >= 0) CHECK(largestError(c.ref->read(c.grad), c.jit->read(c.grad)) <= 1e-6);
}

void check(int64_t N, int64_t V, Parts parts) {
  Case c(N, V, parts);
  compare(c, N, V, 0, 1);
}

}  // namespace

TEST_CASE("cross_entropy kernel matches the interpreter across its code paths") {
  // With 8-float vectors: V <= 64 is unrolled (4 rows a block for 27 classes), wider rows loop; N = 1, 3, 5,
  // 33 leave a shorter last block.
  for (int64_t V : {1, 2, 8, 9, 27, 64, 65, 130})
    for (int64_t N : {1, 3, 4, 5, 32, 33})
      for (Parts p : {Parts::Loss, Parts::Grad, Parts::Both}) check(N, V, p);
}

TEST_CASE("cross_entropy kernel: logits sharing a large offset, at every scale, match the interpreter") {
  // A shared offset leaves the softmax unchanged. In float (ulp 8 at 1e8, 7.6e22 at 1e30) the logits then
  // differ by a few ulps or not at all, so each case is checked on logits rounded to float first: the kernel
  // must give what the double interpreter gives for those very numbers, not 0 (max + log(sum) rounding
  // log(sum) away) nor a loss of the offset's size.
  for (int64_t V : {2, 27, 64, 130})
    for (int64_t N : {3, 32})
      for (Parts p : {Parts::Loss, Parts::Grad, Parts::Both}) {
        Case c(N, V, p);  // compiled once, fed every offset and scale
        for (double offset : {0.0, 1e3, 1e6, 1e8, 1e20, 1e30, -1e8, -1e30})
          for (double scale : {1e-3, 1.0, 30.0, 1e4}) compare(c, N, V, offset, scale);
      }
}

TEST_CASE("cross_entropy: a shared offset of 1e30 gives ln V in both engines") {
  // All logits equal once rounded: the uniform guess, whatever the offset.
  for (int64_t V : {27, 130}) {
    Case c(4, V, Parts::Both);
    std::vector<double> l(static_cast<size_t>(4 * V), 1e30);
    std::vector<int32_t> t{0, 1, 2, 3};
    for (Engine* e : c.engines()) {
      c.feed(*e, l, t);
      INFO("V=", V);
      CHECK(e->read(c.loss)[0] == doctest::Approx(std::log(static_cast<double>(V))).epsilon(1e-6));
    }
  }
}

TEST_CASE("cross_entropy: a NaN or infinite logit makes the loss and its row of the gradient non-finite") {
  // Overflowed logits are a diverged run: the loss must say so in both engines, never come out 0 or finite.
  for (double bad : {NAN, INFINITY, -INFINITY})
    for (int64_t V : {27, 130}) {
      Case c(4, V, Parts::Both);
      std::vector<double> l(static_cast<size_t>(4 * V), 0.5);
      l[static_cast<size_t>(2 * V + 3)] = bad;  // row 2, not its target (2)
      std::vector<int32_t> t{0, 1, 2, 3};
      for (Engine* e : c.engines()) {
        c.feed(*e, l, t);
        INFO("V=", V, " bad=", bad, e == c.engines()[0] ? " interp" : " jit");
        CHECK(!std::isfinite(e->read(c.loss)[0]));
        std::vector<double> d = e->read(c.grad);
        CHECK(!std::isfinite(d[static_cast<size_t>(2 * V)]));
        CHECK(std::isfinite(d[0]));
      }
    }
}
