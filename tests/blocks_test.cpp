// Blocks (a layer defined once, used several times: compiler/lower/block.cpp) and nested loops
// (compiler/lower/loop.cpp): each use's own tensors named by its path as PyTorch's state_dict names them, drawn in
// the order of the uses, every node's scope path saying which instance (and loop step) made it, and the same
// numbers as the model written out by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "autodiff/autodiff.h"
#include "interp/interpreter.h"
#include "modes/specialize.h"
#include "ops/op.h"
#include "runtime/files/weights.h"
#include "runtime/training/init.h"
#include "test_util.h"

using namespace netc;

namespace {

Model lowerText(const std::string& name, const std::string& text) { return testing::lowerWithPseudoWords(text, name); }

const char* kHeader = R"(data "unused.txt" {
  context = 3
}
input x : int[B, T]
input y : int[B]
param C : [V, 4] = randn
)";

// Line 7 is `block Layer`, line 11 its return, line 13 the first use, line 15 the use in the loop.
const char* kLayers = R"(block Layer(x, fan_in, fan_out) {
  param W : [fan_in, fan_out] = randn / sqrt(fan_in)
  param g : [fan_out] = ones
  a = x @ W
  return tanh(a * g)
}
h = Layer(reshape(C[x], [B, T*4]), T*4, 6) as layers.0
for i in 1..3 {
  h = Layer(h, 6, 6) as layers.(i)
}
param Wo : [6, V] = randn
minimize cross_entropy(h @ Wo, y)
)";

// The same model written out by hand, tensor for tensor in the same order.
const char* kLayersFlat = R"(param W0 : [T*4, 6] = randn / sqrt(T*4)
param g0 : [6] = ones
h0 = tanh((reshape(C[x], [B, T*4]) @ W0) * g0)
param W1 : [6, 6] = randn / sqrt(6)
param g1 : [6] = ones
h1 = tanh((h0 @ W1) * g1)
param W2 : [6, 6] = randn / sqrt(6)
param g2 : [6] = ones
h2 = tanh((h1 @ W2) * g2)
param Wo : [6, V] = randn
minimize cross_entropy(h2 @ Wo, y)
)";

// The loss and every gradient of a model in the interpreter (double precision) on a fixed batch.
struct Evaluated {
  double loss = 0;
  std::vector<std::vector<double>> grads;  // in the order of the persistent tensors
};

Evaluated evaluate(const Model& m, uint64_t seed) {
  TrainForm form = trainForm(m);
  const TrainingGraph& t = form.step;
  Graph bound = bindBatch(t.graph, 5);
  Interpreter in(bound);
  loadParams(in, initParams(t.graph, seed), "init");
  std::vector<int32_t> xs(5 * 3), ys(5);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int32_t>((i * 7 + 3) % 27);
  for (size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<int32_t>((i * 5 + 1) % 27);
  in.writeIndices(form.model.contextInput, xs);
  in.writeIndices(form.model.targetInput, ys);
  in.run();
  Evaluated out;
  out.loss = in.readScalar(t.loss);
  for (int p : t.graph.params())
    for (auto [param, dp] : t.grads)
      if (param == p) out.grads.push_back(in.read(dp));
  return out;
}

}  // namespace

TEST_CASE("blocks: each use has its own tensors, named by its path, drawn in the order of the uses") {
  Model m = lowerText("layers", std::string(kHeader) + kLayers);
  const Graph& g = m.graph;
  std::vector<std::string> names;
  for (int p : g.persistent()) names.push_back(g[p].name);
  CHECK(names == std::vector<std::string>{"C", "layers.0.W", "layers.0.g", "layers.1.W", "layers.1.g", "layers.2.W",
                                          "layers.2.g", "Wo"});
  CHECK(g[g.find("layers.0.W")].shape == Shape{12, 6});
  CHECK(g[g.find("layers.2.W")].shape == Shape{6, 6});
  // The initialiser reads the constant argument: 1 / sqrt(fan_in).
  CHECK(g[g.find("layers.0.W")].init.scale == doctest::Approx(1 / std::sqrt(12.0)));
  CHECK(g[g.find("layers.1.W")].init.scale == doctest::Approx(1 / std::sqrt(6.0)));
  // Values named in the body are the instance's: layers.1/a, made in the loop step i = 1 and the instance.
  const int a1 = g.find("layers.1/a");
  REQUIRE(a1 >= 0);
  const ScopePath& path = g[a1].scope;
  REQUIRE(path.entries.size() == 2);
  CHECK(path.entries[0].kind == ScopeEntry::Kind::LoopStep);
  CHECK(path.entries[0].value() == 1);
  CHECK(path.entries[1].kind == ScopeEntry::Kind::Block);
  CHECK(path.entries[1].name == "layers.1");
  CHECK(path.entries[1].block == "Layer");
  CHECK(path.entries[1].index == 1);  // the second use of Layer
  CHECK(path.entries[1].line == 15);
  CHECK(instanceName(path) == "layers.1");
  CHECK(localName("layers.1/a", path) == "a");
  CHECK(qualifiedName("a", path) == "layers.1/a");
  // The parameters carry the instance too; the first use is at the top level: one Block entry.
  CHECK(g[g.find("layers.0.W")].scope.entries.size() == 1);
  CHECK(g[g.find("layers.0.W")].scope.entries[0].index == 0);
  CHECK(g[g.find("layers.2.W")].scope.entries.back().name == "layers.2");
  // The unnamed tanh of each instance is a default probe of its own.
  int tanhProbes = 0;
  for (const Node& n : g.nodes)
    if (n.op->activation && n.probe) {
      ++tanhProbes;
      CHECK(n.name == instanceName(n.scope) + "/tanh@11");
    }
  CHECK(tanhProbes == 3);
  // The caller's h is its own copy, in the caller's scope (the loop step).
  CHECK(g[g.find("h@i2")].scope.entries.size() == 1);
}

TEST_CASE("blocks: a model written with a block computes what the model written out does, draws included") {
  Model blocked = lowerText("blocked", std::string(kHeader) + kLayers);
  Model flat = lowerText("flat", std::string(kHeader) + kLayersFlat);
  for (uint64_t seed : {1u, 7u}) {
    // The same draws, tensor by tensor in order.
    WeightMap wb = initParams(blocked.graph, seed), wf = initParams(flat.graph, seed);
    std::vector<int> pb = blocked.graph.persistent(), pf = flat.graph.persistent();
    REQUIRE(pb.size() == pf.size());
    for (size_t i = 0; i < pb.size(); ++i)
      CHECK(wb.at(blocked.graph[pb[i]].name).data == wf.at(flat.graph[pf[i]].name).data);
    Evaluated b = evaluate(blocked, seed), f = evaluate(flat, seed);
    CHECK(b.loss == doctest::Approx(f.loss).epsilon(1e-12));
    REQUIRE(b.grads.size() == f.grads.size());
    for (size_t i = 0; i < b.grads.size(); ++i) {
      REQUIRE(b.grads[i].size() == f.grads[i].size());
      for (size_t k = 0; k < b.grads[i].size(); ++k) CHECK(b.grads[i][k] == doctest::Approx(f.grads[i][k]).epsilon(1e-12));
    }
  }
}

TEST_CASE("blocks: blocks use blocks, paths concatenate, and a block holds a loop") {
  const std::string text = std::string(kHeader) + R"(block Dense(x, n_in, n_out) {
  param W : [n_in, n_out] = randn * 0.3
  return x @ W
}
block Pair(x, n) {
  a = tanh(Dense(x, n, n) as first)
  return Dense(a, n, n) as second
}
block Recur(xs, n) {
  param U : [n, n] = randn * 0.2
  s = xs[:, 0] @ U
  for t in 1..T {
    s = tanh(xs[:, t] @ U + s)
  }
  return s
}
e = C[x]
r = Recur(e, 4) as rec
h = r
for i in 0..2 {
  h = Pair(h, 4) as blocks.(i)
}
param Wo : [4, V] = randn
minimize cross_entropy(h @ Wo, y)
)";
  Model m = lowerText("nested", text);
  const Graph& g = m.graph;
  std::vector<std::string> names;
  for (int p : g.persistent()) names.push_back(g[p].name);
  CHECK(names == std::vector<std::string>{"C", "rec.U", "blocks.0.first.W", "blocks.0.second.W", "blocks.1.first.W",
                                          "blocks.1.second.W", "Wo"});
  // blocks.1.second.W: the loop step, the outer instance, the inner one.
  const ScopePath& w = g[g.find("blocks.1.second.W")].scope;
  REQUIRE(w.entries.size() == 3);
  CHECK(w.entries[0].kind == ScopeEntry::Kind::LoopStep);
  CHECK(w.entries[1].name == "blocks.1");
  CHECK(w.entries[1].block == "Pair");
  CHECK(w.entries[2].name == "blocks.1.second");
  CHECK(w.entries[2].block == "Dense");
  CHECK(w.entries[2].index == 3);  // Dense's fourth use
  // The block's own loop: its carried s at t = 2 is rec/s@t2, in the instance and the step.
  const int s2 = g.find("rec/s@t2");
  REQUIRE(s2 >= 0);
  REQUIRE(g[s2].scope.entries.size() == 2);
  CHECK(g[s2].scope.entries[0].name == "rec");
  CHECK(g[s2].scope.entries[1].kind == ScopeEntry::Kind::LoopStep);
  CHECK(localName("rec/s@t2", g[s2].scope) == "s");
  CHECK(g.find("a") < 0);  // a body's names stay in it
  CHECK(g.find("blocks.0/a") >= 0);
}

TEST_CASE("nested loops: values carried at both levels and stacked per level equal the loops written out") {
  // Outer loop over 2 layers, inner over time: s carried over t inside a layer, h carried over the layers,
  // outs stacked over t in each layer step and read by the next layer.
  const std::string nested = std::string(kHeader) + R"(param U : [4, 4] = randn * 0.4
param Wo : [4, V] = randn
e = C[x]
h = e[:, 0]
for layer in 0..2 {
  s = h
  for t in 0..T {
    s = tanh(e[:, t] @ U + s)
    outs[:, t] = s
  }
  e = outs
  h = s * 0.5
}
minimize cross_entropy(h @ Wo + mean(e, axis=1) @ Wo, y)
)";
  const std::string flat = std::string(kHeader) + R"(param U : [4, 4] = randn * 0.4
param Wo : [4, V] = randn
e = C[x]
h = e[:, 0]
s0_0 = tanh(e[:, 0] @ U + h)
s0_1 = tanh(e[:, 1] @ U + s0_0)
s0_2 = tanh(e[:, 2] @ U + s0_1)
e0 = concat(reshape(s0_0, [B, 1, 4]), reshape(s0_1, [B, 1, 4]), reshape(s0_2, [B, 1, 4]), axis=1)
h0 = s0_2 * 0.5
s1_0 = tanh(e0[:, 0] @ U + h0)
s1_1 = tanh(e0[:, 1] @ U + s1_0)
s1_2 = tanh(e0[:, 2] @ U + s1_1)
e1 = concat(reshape(s1_0, [B, 1, 4]), reshape(s1_1, [B, 1, 4]), reshape(s1_2, [B, 1, 4]), axis=1)
h1 = s1_2 * 0.5
minimize cross_entropy(h1 @ Wo + mean(e1, axis=1) @ Wo, y)
)";
  INFO(flat);
  Model a = lowerText("nested_loops", nested), b = lowerText("nested_flat", flat);
  // Names and scopes: each inner step carries both steps, outermost first.
  const Graph& g = a.graph;
  const int s = g.find("s@layer1@t2");
  REQUIRE(s >= 0);
  REQUIRE(g[s].scope.entries.size() == 2);
  CHECK(g[s].scope.entries[0].name == "layer");
  CHECK(g[s].scope.entries[1].name == "t");
  CHECK(g[s].scope.entries[1].value() == 2);
  CHECK(localName("s@layer1@t2", g[s].scope) == "s");
  for (uint64_t seed : {2u, 9u}) {
    Evaluated x = evaluate(a, seed), y = evaluate(b, seed);
    CHECK(x.loss == doctest::Approx(y.loss).epsilon(1e-12));
    REQUIRE(x.grads.size() == y.grads.size());
    for (size_t i = 0; i < x.grads.size(); ++i)
      for (size_t k = 0; k < x.grads[i].size(); ++k) CHECK(x.grads[i][k] == doctest::Approx(y.grads[i][k]).epsilon(1e-12));
  }
}

TEST_CASE("blocks: deep_batchnorm.net names its layers' tensors as PyTorch's state_dict does") {
  Model m = testing::shippedModel("deep_batchnorm.net");
  std::vector<std::string> names;
  int64_t count = 0;
  for (int p : m.graph.params()) names.push_back(m.graph[p].name), count += numel(m.graph[p].shape);
  CHECK(m.vocab.size() == 27);
  CHECK(count == 47024);
  CHECK(names.front() == "C");
  for (int l = 0; l < 6; ++l)
    for (const char* t : {"W", "gamma", "beta"})
      CHECK(std::find(names.begin(), names.end(), fmt::format("layers.{}.{}", l, t)) != names.end());
  CHECK(m.graph.find("layers.5.running_var") >= 0);
  CHECK(m.graph[m.graph.find("layers.5.gamma")].init.scale == doctest::Approx(0.1));
}
