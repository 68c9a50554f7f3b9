// The storage-layout pass (codegen/layout.h): which parameters it stores transposed, how it rewrites the
// products around them, and that nothing outside the JIT can tell: values written and read back, gradients,
// and training against the interpreter with the pass on and off.
#include <doctest/doctest.h>

#include <algorithm>

#include "autodiff/autodiff.h"
#include "codegen/layout.h"
#include "jit_compare.h"
#include "test_util.h"

using namespace netc;

namespace {

Model lecture() { return testing::shippedModel("mlp_kaiming.net"); }

int named(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return n.id;
  FAIL("no node named " << name);
  return -1;
}

std::vector<int> flags(const Node& n) { return {n.attrs.ints.size() > 0 && n.attrs.ints[0], n.attrs.ints.size() > 1 && n.attrs.ints[1]}; }

}  // namespace

TEST_CASE("layout: the lecture MLP's output layer W2 [200, 27] is stored transposed, nothing else") {
  Model m = lecture();
  TrainingGraph t = buildTrainingGraph(m.graph);
  Graph g = bindBatch(t.graph, 32);
  const Graph before = g;
  codegen::Layout layout = codegen::assignLayout(g, 8);
  int W2 = named(g, "W2"), gradW2 = named(g, "grad.W2"), next = named(g, "W2.next");
  std::vector<int> moved;
  for (int v = 0; v < g.size(); ++v)
    if (layout.transposed[static_cast<size_t>(v)]) moved.push_back(v);
  std::vector<int> want = {W2, gradW2, next};
  std::sort(want.begin(), want.end());
  CHECK(moved == want);
  CHECK(g[W2].shape == Shape{27, 200});
  CHECK(g[gradW2].shape == Shape{27, 200});
  CHECK(g[next].shape == Shape{27, 200});
  // h @ W2 reads W2^T: B transposed. dlogits @ W2^T reads W2^T plainly. grad.W2 = h^T dlogits becomes
  // grad.W2^T = dlogits^T h: operands swapped.
  for (const Node& n : g.nodes) {
    if (n.op->name != std::string_view("matmul")) continue;
    const Node& was = before[n.id];
    CHECK(n.shape == (n.id == gradW2 ? Shape{was.shape[1], was.shape[0]} : was.shape));
    if (n.id == gradW2) {
      CHECK(n.inputs == std::vector<int>{was.inputs[1], was.inputs[0]});
      CHECK(flags(n) == std::vector<int>{1, 0});
    } else if (n.inputs[1] == W2) {
      CHECK(flags(n) == std::vector<int>{flags(was)[0], !flags(was)[1]});
    } else {
      CHECK(flags(n) == flags(was));
    }
  }
  verify(g);
  // 27 columns are four or more 4-float vectors, so with SSE-width code W2 stays; with 16-float vectors it
  // is under four and not a whole number of them.
  Graph g4 = bindBatch(t.graph, 32);
  CHECK_FALSE(codegen::assignLayout(g4, 4).any());
  Graph g16 = bindBatch(t.graph, 32);
  CHECK(codegen::assignLayout(g16, 16).any());
}

TEST_CASE("layout: a transposed parameter reads back as written, and its gradient in the declared layout") {
  Model m = lecture();
  TrainingGraph t = buildTrainingGraph(m.graph);
  Graph bound = bindBatch(t.graph, 5);
  JitEngine jit(bound);
  REQUIRE(jit.plan().transposed.size() == static_cast<size_t>(bound.size()));
  int W2 = named(bound, "W2");
  REQUIRE(jit.plan().transposed[static_cast<size_t>(W2)]);
  CHECK(jit.graph()[W2].shape == Shape{200, 27});  // the engine's graph is the model's
  std::vector<double> v(200 * 27);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) * 0.25;  // exact in float
  jit.write(W2, v);
  CHECK(jit.read(W2) == v);
  // One step with the pass on and off: the same gradient, in the same layout.
  codegen::CodegenOptions off;
  off.transposeNarrowParams = false;
  JitEngine plain(bound, off);
  Interpreter ref(bound);
  Rng rng(5);
  WeightMap w = initParams(m.graph, 3);
  for (Engine* e : {static_cast<Engine*>(&jit), static_cast<Engine*>(&plain), static_cast<Engine*>(&ref)})
    loadParams(*e, w, "init");
  testing::feedBatch(m, jit, plain, rng);
  Rng again(5);
  testing::feedBatch(m, ref, ref, again);
  for (Engine* e : {static_cast<Engine*>(&jit), static_cast<Engine*>(&plain), static_cast<Engine*>(&ref)}) {
    std::vector<double> lr = {0.1};
    e->write(t.lr, lr);
    e->run();
  }
  int g = t.grads.at(W2);
  CHECK(testing::relError(ref.read(g), jit.read(g)) < 1e-4);
  CHECK(testing::relError(plain.read(g), jit.read(g)) < 1e-5);
  CHECK(testing::relError(ref.read(W2), jit.read(W2)) < 1e-4);
}

TEST_CASE("layout: with the pass off, the JIT still trains every code path like the interpreter") {
  Model m = lecture();
  testing::CompareOptions o;
  o.batch = 7;
  o.codegen.transposeNarrowParams = false;
  testing::compareTraining(m, "mlp_kaiming.net, layout as declared", o);
}
