// Every gradient rule against finite differences. Each case reduces an op's output with a RANDOM weight
// tensor R (loss = sum(out * R)), so the upstream gradient differs per element: with all-ones upstream
// gradients a rule that ignores dy, or transposes it, can still pass.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "interp/interpreter.h"
#include "lower/model.h"
#include "ops/op.h"
#include "runtime/data/batch_feed.h"
#include "runtime/training/gradcheck.h"
#include "scratch_dir.h"
#include "runtime/files/weights.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static netc::testing::ScratchDir dir("netc_ad_");
  return dir.path();
}

Model lowerText(const std::string& text) {
  static int n = 0;
  fs::path p = scratch() / ("case" + std::to_string(n++) + ".net");
  std::ofstream(p) << text;
  return loadModel(p.string());
}

// The operands the cases draw on; each case declares only those it uses, so every parameter must get a
// gradient. p and q are positive (for log and division); x has repeated indices on purpose.
const std::map<std::string, std::string> kDecls = {
    {"a", "param a : [4, 5] = randn"},          {"b", "param b : [5] = randn"},
    {"c", "param c : [4, 1] = randn"},          {"s", "param s : [1] = randn"},
    {"p", "param p : [4, 5] = uniform(0.5, 2)"}, {"q", "param q : [5] = uniform(0.5, 2)"},
    {"W", "param W : [5, 3] = randn"},          {"W6", "param W6 : [6, 3] = randn"},
    {"C", "param C : [6, 2] = randn"},          {"b3", "param b3 : [3] = randn"},
    {"x", "input x : int[B, 3]"},               {"y", "input y : int[B]"},
    {"t", "input t : int[4]"},                  {"h", "input h : float[B, 5]"},
};
const std::vector<int32_t> kX = {0, 1, 1, 1, 1, 1, 5, 0, 5, 2, 2, 0};  // B = 4 rows of 3; row 1 repeats 1
const std::vector<int32_t> kT = {2, 2, 0, 2};

struct Case {
  const char* what;
  std::vector<std::string> uses;
  const char* expr;
  const char* outShape;  // R's shape; with B it is a float input, else a frozen parameter
};

void checkCase(const Case& c) {
  std::string text;
  for (const auto& u : c.uses) text += kDecls.at(u) + "\n";
  bool batched = std::string(c.outShape).find('B') != std::string::npos;
  text += batched ? fmt::format("input R : float{}\n", c.outShape) : fmt::format("param R : {} = randn frozen\n", c.outShape);
  text += fmt::format("out = {}\nloss = sum(out * R)\nminimize loss\n", c.expr);
  std::string label = std::string(c.what) + ": out = " + c.expr;
  INFO(label);
  Model m = lowerText(text);
  Graph g = bindBatch(m.graph, 4);
  WeightMap w = initParams(g, 7);
  WeightMap batch = randomBatch(g, 11);  // R and h random normal
  if (batch.count("x")) batch["x"].data.assign(kX.begin(), kX.end());
  if (batch.count("t")) batch["t"].data.assign(kT.begin(), kT.end());
  if (batch.count("y")) batch["y"].data.assign(kT.begin(), kT.end());
  GradcheckOptions o;
  o.directions = 3;
  o.elements = 4;
  GradcheckReport r = gradcheck(g, w, [&](Engine& e) { feedBatch(e, batch, c.what); }, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
  int params = 0;
  for (const auto& p : r.params) {
    CHECK_MESSAGE(p.reachesLoss, p.name);
    CHECK(p.checks >= o.directions + 1);
    ++params;
  }
  CHECK(params > 0);
}

void checkCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) checkCase(c);
}

}  // namespace

TEST_CASE("gradient rules: add/sub/mul/div/neg, with every kind of broadcast") {
  checkCases({
      {"add, same shape", {"a", "p"}, "a + p", "[4, 5]"},
      {"add, bias [5] over rows", {"a", "b"}, "a + b", "[4, 5]"},
      {"add, bias on the left", {"a", "b"}, "b + a", "[4, 5]"},
      {"add, column [4,1]", {"a", "c"}, "a + c", "[4, 5]"},
      {"add, [1] scalar-like", {"a", "s"}, "a + s", "[4, 5]"},
      {"add, both operands broadcast", {"c", "b"}, "c + b", "[4, 5]"},
      {"add, constant", {"a"}, "a + 0.5", "[4, 5]"},
      {"add, batch input plus bias", {"h", "b"}, "h + b", "[B, 5]"},
      {"sub", {"a", "b"}, "a - b", "[4, 5]"},
      {"sub, broadcast on the left", {"a", "b"}, "b - a", "[4, 5]"},
      {"sub, both broadcast", {"c", "s"}, "c - s", "[4, 1]"},
      {"mul", {"a", "p"}, "a * p", "[4, 5]"},
      {"mul, row broadcast", {"a", "b"}, "a * b", "[4, 5]"},
      {"mul, column broadcast", {"c", "a"}, "c * a", "[4, 5]"},
      {"mul, the same operand twice", {"a"}, "a * a", "[4, 5]"},
      {"mul, scalar-like", {"s", "b"}, "s * b", "[5]"},
      {"mul, batch input", {"h", "b"}, "h * b", "[B, 5]"},
      {"div", {"a", "p"}, "a / p", "[4, 5]"},
      {"div, numerator broadcast", {"b", "p"}, "b / p", "[4, 5]"},
      {"div, denominator broadcast", {"a", "q"}, "a / q", "[4, 5]"},
      {"div, constant numerator", {"p"}, "1.5 / p", "[4, 5]"},
      {"div, by a constant", {"a"}, "a / 3", "[4, 5]"},
      {"neg", {"a"}, "-a", "[4, 5]"},
  });
}

TEST_CASE("gradient rules: tanh, sigmoid, relu, exp, log") {
  checkCases({
      {"tanh", {"a"}, "tanh(a)", "[4, 5]"},
      {"tanh, scaled up into saturation", {"a"}, "tanh(a * 3)", "[4, 5]"},
      {"sigmoid", {"a"}, "sigmoid(a)", "[4, 5]"},
      {"relu", {"a"}, "relu(a)", "[4, 5]"},
      {"exp", {"a"}, "exp(a)", "[4, 5]"},
      {"log", {"p"}, "log(p)", "[4, 5]"},
      {"log of a broadcast", {"q"}, "log(q * 2)", "[5]"},
  });
}

TEST_CASE("gradient rules: matmul, transpose, embedding with repeated indices, reshape and flatten") {
  checkCases({
      {"matmul", {"a", "W"}, "a @ W", "[4, 3]"},
      {"matmul, batch input on the left", {"h", "W"}, "h @ W", "[B, 3]"},
      {"matmul of a matmul", {"a", "W", "p"}, "(a * p) @ W", "[4, 3]"},
      {"embedding, repeated indices", {"C", "x"}, "C[x]", "[B, 3, 2]"},
      {"reshape", {"a"}, "reshape(a, [2, 10])", "[2, 10]"},
      {"reshape to rank 1", {"a"}, "reshape(a, [20])", "[20]"},
      {"reshape of an embedding", {"C", "x"}, "reshape(C[x], [B, 6])", "[B, 6]"},
      {"flatten of an embedding", {"C", "x"}, "flatten(C[x])", "[B, 6]"},
      {"an MLP layer", {"C", "x", "W6", "b3"}, "tanh(flatten(C[x]) @ W6 + b3)", "[B, 3]"},
      {"transpose", {"a"}, "transpose(a)", "[5, 4]"},
      {"transpose of a transpose in a product", {"h", "W"}, "h @ transpose(transpose(W) * 2)", "[B, 3]"},
      {"a weight read by two products (one shared transpose)", {"h", "W", "p"}, "h @ W + (h * p[0]) @ W", "[B, 3]"},
  });
}

TEST_CASE("gradient rules: sum and mean over each axis and over everything") {
  checkCases({
      {"sum axis 0", {"a"}, "sum(a, axis=0)", "[5]"},
      {"sum axis 1", {"a"}, "sum(a, axis=1)", "[4]"},
      {"sum axis -1", {"a"}, "sum(a, axis=-1)", "[4]"},
      {"sum all", {"a"}, "sum(a) * a", "[4, 5]"},
      {"sum rank 3, axis 0", {"C", "x"}, "sum(C[x], axis=0)", "[3, 2]"},
      {"sum rank 3, axis 1", {"C", "x"}, "sum(C[x], axis=1)", "[B, 2]"},
      {"sum rank 3, axis 2", {"C", "x"}, "sum(C[x], axis=2)", "[B, 3]"},
      {"mean axis 0", {"a"}, "mean(a, axis=0)", "[5]"},
      {"mean axis 1", {"a"}, "mean(a, axis=1)", "[4]"},
      {"mean axis -2", {"a"}, "mean(a, axis=-2)", "[5]"},
      {"mean all", {"a"}, "mean(a) * a", "[4, 5]"},
      {"mean rank 3, axis 1", {"C", "x"}, "mean(C[x], axis=1)", "[B, 2]"},
      {"mean over the batch", {"h", "W"}, "mean(h @ W, axis=0)", "[3]"},
  });
}

TEST_CASE("gradient rules: cross_entropy (repeated targets, scaled by a random upstream)") {
  checkCases({
      {"cross_entropy", {"a", "W", "t"}, "cross_entropy(a @ W, t)", "[1]"},
      {"cross_entropy of an MLP", {"C", "x", "W6", "b3", "y"}, "cross_entropy(tanh(flatten(C[x]) @ W6) + b3, y)", "[1]"},
  });
}

TEST_CASE("gradient rules: sqrt, rsqrt, powers and pow, with constant and tensor exponents") {
  checkCases({
      {"sqrt", {"p"}, "sqrt(p)", "[4, 5]"},
      {"x ** 0.5 (sqrt)", {"p"}, "p ** 0.5", "[4, 5]"},
      {"rsqrt", {"p"}, "rsqrt(p)", "[4, 5]"},
      {"x ** -0.5 (rsqrt)", {"q"}, "q ** -0.5", "[5]"},
      {"x ** 2 (x * x)", {"a"}, "a ** 2", "[4, 5]"},
      {"x ** -1 (1 / x)", {"p"}, "p ** -1", "[4, 5]"},
      {"x ** 1.7 (pow)", {"p"}, "p ** 1.7", "[4, 5]"},
      {"x ** -2.5 (pow)", {"p"}, "p ** -2.5", "[4, 5]"},
      {"x ** 3 of a negative base (pow)", {"a"}, "a ** 3", "[4, 5]"},
      {"tensor base and tensor exponent", {"p", "s"}, "p ** s", "[4, 5]"},
      {"constant base, tensor exponent", {"s"}, "0.9 ** (s * 3)", "[1]"},
      {"the exponent is a sum", {"q", "b"}, "q ** (sum(b) * 0.1)", "[5]"},
  });
}

TEST_CASE("gradient rules: var and std over each axis and over everything, keepdim, B as a value") {
  checkCases({
      {"var axis 0", {"a"}, "var(a, axis=0)", "[5]"},
      {"var axis 1", {"a"}, "var(a, axis=1)", "[4]"},
      {"var axis -1, biased", {"a"}, "var(a, axis=-1, correction=0)", "[4]"},
      {"var all", {"a"}, "var(a) * a", "[4, 5]"},
      {"var correction 2", {"a"}, "var(a, axis=0, correction=2)", "[5]"},
      {"var rank 3, axis 1", {"C", "x"}, "var(C[x], axis=1)", "[B, 2]"},
      {"var over the batch", {"h", "W"}, "var(h @ W, axis=0)", "[3]"},
      {"std axis 0", {"a"}, "std(a, axis=0)", "[5]"},
      {"std all, biased", {"p"}, "std(p, correction=0) * p", "[4, 5]"},
      {"sum keepdim", {"a"}, "sum(a, axis=0, keepdim=1)", "[1, 5]"},
      {"mean keepdim, broadcast back", {"a"}, "a - mean(a, axis=1, keepdim=1)", "[4, 5]"},
      {"mean keepdim over everything", {"a"}, "a * mean(a, keepdim=1)", "[4, 5]"},
      {"var keepdim", {"a"}, "var(a, axis=0, keepdim=1)", "[1, 5]"},
      {"std keepdim axis 1", {"a"}, "a / std(a, axis=1, keepdim=1)", "[4, 5]"},
      {"batch normalisation", {"h", "W"},
       "(h @ W - mean(h @ W, axis=0, keepdim=1)) * (var(h @ W, axis=0, keepdim=1) + 1e-5) ** -0.5", "[B, 3]"},
      {"B as a value", {"h", "b"}, "h * b / (B - 1) + B", "[B, 5]"},
      {"B in a pow", {"q"}, "q ** (B * 0.5)", "[5]"},
  });
}

// The training graph is differentiated before B is bound, so there the gradients of var over the batch
// and of B used as a value are built from batch_size nodes; finite differences check them after binding.
TEST_CASE("gradient rules: gradients built before the batch is bound (var over B, B as a value)") {
  Model m = lowerText(
      "input h : float[B, 5]\ninput R : float[B, 3]\nparam W : [5, 3] = randn\n"
      "z = h @ W\nn = (z - mean(z, axis=0, keepdim=1)) / std(z, axis=0, keepdim=1)\n"
      "loss = sum(n * R) + var(z) * 2 + sum(z * R) / (B - 1) + mean(z * z) ** 1.5\nminimize loss\n");
  TrainingGraph t = buildTrainingGraph(m.graph);
  int batchSizes = 0;
  for (const Node& n : t.graph.nodes) batchSizes += n.op->name == std::string_view("batch_size");
  CHECK(batchSizes >= 2);  // the forward B and the backward counts of var over B
  Graph bound = bindBatch(t.graph, 4);
  for (const Node& n : bound.nodes) CHECK(n.op->name != std::string_view("batch_size"));
  Graph forward = bindBatch(m.graph, 4);
  WeightMap w = initParams(m.graph, 7);
  WeightMap batch = randomBatch(forward, 11);
  Feed feed = [&](Engine& e) { feedBatch(e, batch, "random batch"); };
  Interpreter ip(bound);
  loadParams(ip, w, "init");
  WeightMap withLr = batch;
  withLr["lr"] = NamedTensor{{}, {0.0}};
  feedBatch(ip, withLr, "random batch");
  ip.run();
  WeightMap analytic;
  for (auto [p, dp] : t.grads) analytic[bound[p].name] = NamedTensor{bound[dp].shape, ip.read(dp)};
  REQUIRE(analytic.count("W"));
  GradcheckOptions o;
  o.directions = 3;
  GradcheckReport r = checkGradients(forward, w, feed, analytic, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
}

// ---- graphs built node by node: the attributes .net cannot express ----

namespace {

struct Builder {
  Graph g;
  Builder() {
    g.source = std::make_shared<SourceFile>("built.net", "line one\nline two\nline three\n");
  }
  int param(const std::string& name, Shape s, bool trainable = true) {
    int id = g.add(&getOp("param"), {}, {}, SrcLoc{1, 1, 1}, name);
    g[id].shape = std::move(s);
    g[id].dtype = DType::F32;
    g[id].init.kind = InitSpec::Randn;
    g[id].trainable = trainable;
    return id;
  }
  int op(std::string_view name, std::vector<int> in, Attrs at = {}, int line = 2) {
    int id = g.add(&getOp(name), std::move(in), std::move(at), SrcLoc{line, 1, 1});
    inferNode(g, id);
    return id;
  }
  // loss = sum(out * R) with R a frozen random parameter shaped like out.
  void lossOf(int out) {
    int R = param("R", g[out].shape, false);
    g.loss = op("sum", {op("mul", {out, R})});
    verify(g);
  }
};

GradcheckReport check(const Graph& g) {
  WeightMap w = initParams(g, 3);
  GradcheckOptions o;
  o.elements = 4;
  GradcheckReport r = gradcheck(g, w, [](Engine&) {}, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
  return r;
}

}  // namespace

TEST_CASE("gradient rules: matmul with each operand stored transposed") {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      INFO("transA ", ta, " transB ", tb);
      Builder b;
      int A = b.param("A", ta ? Shape{5, 4} : Shape{4, 5});  // op(A) is [4, 5]
      int Bm = b.param("Bm", tb ? Shape{3, 5} : Shape{5, 3});  // op(B) is [5, 3]
      Attrs at;
      at.ints = {ta, tb};
      int C = b.op("matmul", {A, Bm}, at);
      REQUIRE(b.g[C].shape == Shape{4, 3});
      b.lossOf(C);
      GradcheckReport r = check(b.g);
      CHECK(r.params.size() == 2);
    }
}

TEST_CASE("gradient rules: expand (the adjoint of sum and mean) and step") {
  for (double mean : {0.0, 1.0})
    for (bool all : {false, true}) {
      INFO("mean ", mean, " all ", all);
      Builder b;
      int v = b.param("v", all ? Shape{} : Shape{4});
      Attrs at;
      at.shape = {4, 5};
      if (!all) at.ints = {1};  // [4] repeated along a new axis 1
      at.value = mean;
      b.lossOf(b.op("expand", {v}, at));
      check(b.g);
    }
  // step has a rule that returns no gradient: d(step(a) * a)/da = step(a), which finite differences confirm.
  Builder b;
  int a = b.param("a", {4, 5});
  b.lossOf(b.op("mul", {b.op("step", {a}), a}));
  check(b.g);
}

TEST_CASE("autodiff: a value used twice accumulates: b = a + a, c = b + b gives dc/da = 4") {
  Model m = lowerText("param a : [3, 2] = randn\nb = a + a\nc = b + b\nloss = sum(c)\nminimize loss\n");
  WeightMap w = initParams(m.graph, 5);
  WeightMap g = autodiffGradients(m.graph, w, [](Engine&) {});
  REQUIRE(g.count("a"));
  for (double v : g["a"].data) CHECK(v == 4.0);
}

TEST_CASE("autodiff: frozen parameters and inputs get no gradient, and no backward work") {
  Model m = lowerText(
      "input h : float[B, 5]\nparam W : [5, 3] = randn\nparam F : [5, 3] = randn frozen\nparam R : [3] = randn frozen\n"
      "out = (h @ W + h @ F) * R\nloss = sum(out)\nminimize loss\n");
  Graph g = m.graph;
  std::map<int, int> grads = differentiate(g);
  REQUIRE(grads.size() == 1);
  CHECK(g[grads.begin()->first].name == "W");
  int F = g.find("F");
  int matmuls = 0;
  for (const Node& n : g.nodes) {
    if (n.phase != Phase::Backward) continue;
    for (int in : n.inputs) CHECK_MESSAGE(in != F, "a backward ", n.op->name, " reads frozen F");
    matmuls += n.op->name == std::string_view("matmul");
  }
  // Only dW = h^T @ dy: dh = dy @ W^T and dF = h^T @ dy are not built.
  CHECK(matmuls == 1);
}

TEST_CASE("autodiff: a parameter with no path to the loss gets no gradient, and finite differences agree") {
  Model m = lowerText("param a : [2, 2] = randn\nparam unused : [3] = randn\nside = tanh(unused)\n"
                      "loss = sum(a * a)\nminimize loss\n");
  Graph g = m.graph;
  CHECK(differentiate(g).size() == 1);
  GradcheckReport r = gradcheck(m.graph, initParams(m.graph, 1), [](Engine&) {});
  REQUIRE(r.params.size() == 2);
  CHECK(r.params[1].name == "unused");
  CHECK_FALSE(r.params[1].reachesLoss);
  CHECK(r.ok());
}

TEST_CASE("autodiff: an op without a gradient rule on the loss path is an error naming the op and the line") {
  for (const char* op : {"sum_to", "scatter_add"}) {
    Builder b;
    int a = b.param("a", {4, 2});
    int out;
    if (std::string_view(op) == "sum_to") {
      Attrs at;
      at.shape = {2};
      out = b.op("sum_to", {a}, at, 3);
    } else {
      int idx = b.g.add(&getOp("input"), {}, {}, SrcLoc{1, 1, 1}, "i");
      b.g[idx].dtype = DType::I32;
      b.g[idx].shape = {4};
      Attrs at;
      at.ints = {6};
      out = b.op("scatter_add", {a, idx}, at, 3);
    }
    b.lossOf(out);
    try {
      differentiate(b.g);
      FAIL("expected an error for ", op);
    } catch (const Error& e) {
      std::string msg = e.what();
      CHECK_MESSAGE(msg.find(fmt::format("op '{}' has no gradient rule", op)) != std::string::npos, msg);
      CHECK_MESSAGE(msg.find("built.net:3") != std::string::npos, msg);
    }
  }
}
