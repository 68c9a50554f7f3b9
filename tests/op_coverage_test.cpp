// Every public op (callable from .net) is exercised by a small model here, and each model passes two checks:
//  - a gradient check with a random upstream gradient: the op's result is multiplied by a randn parameter R
//    before it is summed into the loss, so its gradient rule sees a dy that differs element by element
//    (central finite differences in double precision on the interpreter, runtime/gradcheck.h);
//  - the JIT against the interpreter: three training steps, loss, gradients and parameters (jit_compare.h).
// The test walks allOps(): a public op with no entry in the table below fails it, by name. An op without a
// gradient rule (OpDef::grad is nullptr) still gets the JIT check and its gradient check runs on the train
// form of the graph, where mode(train = a, eval = b) has been replaced by a (modes/).
#include <filesystem>
#include <fstream>
#include <map>

#include "jit_compare.h"
#include "ops/op.h"
#include "runtime/data/batch_feed.h"
#include "runtime/training/gradcheck.h"

using namespace netc;

namespace {

// Shared declarations: a data section (for V and the int inputs x, y), float values a, b of shape [4, 5],
// c of [5] and c1 of [1, 5], matrices W of [5, 3] and Wv of [T*4, V], an embedding table C of [V, 4], and the
// random upstream gradients R, R3, R5.
const char* kPrelude = R"(data "unused.txt" {
  context = 3
}
input x : int[B, T]
input y : int[B]
param a : [4, 5] = randn
param b : [4, 5] = randn
param c : [5] = randn
param c1 : [1, 5] = randn
param k : [1] = ones * 0.7
param W : [5, 3] = randn * 0.5
param C : [V, 4] = randn
param R : [4, 5] = randn
param R3 : [4, 3] = randn
param R5 : [5] = randn
param Wv : [12, V] = randn * 0.3
)";

// op name -> the lines after the prelude; each must use the op and minimize a scalar.
const std::map<std::string, std::string>& snippets() {
  static const std::map<std::string, std::string> m = {
      {"add", "loss = sum((a + c) * R)"},
      {"sub", "loss = sum((a - c) * R)"},
      {"mul", "loss = sum(a * b * R)"},
      {"div", "loss = sum(a / (b * b + 1) * R)"},
      {"neg", "loss = sum(-a * R)"},
      {"pow", "loss = sum((a * a + 1) ** k * R)"},
      {"tanh", "loss = sum(tanh(a) * R)"},
      {"sigmoid", "loss = sum(sigmoid(a) * R)"},
      {"exp", "loss = sum(exp(a) * R)"},
      {"log", "loss = sum(log(a * a + 1) * R)"},
      {"relu", "loss = sum(relu(a) * R)"},
      {"sqrt", "loss = sum(sqrt(a * a + 1) * R)"},
      {"rsqrt", "loss = sum(rsqrt(a * a + 1) * R)"},
      // Rank 2; [B, T, 4] @ [4, 3] (rows folded; W4's gradient sums over B and T); a batch [B, T, 3] @
      // [B, 3, 3] and a rank-4 batch, each times a random upstream gradient.
      {"matmul", "param W4 : [4, 3] = randn * 0.5\nparam Rt : [3, 3] = randn\nparam R4 : [3, 2, 2] = randn\n"
                 "h = C[x] @ W4\ne = reshape(C[x], [B, 3, 2, 2])\n"
                 "loss = sum((a @ W) * R3) + sum(h * Rt) + sum((h @ tanh(h)) * Rt) + sum((e @ (e * e)) * R4)"},
      {"transpose", "loss = sum(transpose(transpose(a) * transpose(R)))"},
      {"embedding", "loss = sum(flatten(C[x]) @ reshape(R3, [12, 1]))"},
      {"reshape", "loss = sum(reshape(a, [5, 4]) * reshape(R, [5, 4]))"},
      // A fixed rank-3 value, and the embedding's [B, T, 4] with B moved to the last axis.
      {"permute", "param P : [2, 3, 4] = randn\nparam RP : [4, 2, 3] = randn\nparam RT : [4, 3, 1] = randn\n"
                  "loss = sum(permute(P, [2, 0, 1]) * RP) + sum(permute(C[x], [2, 1, 0]) * RT)"},
      {"slice", "loss = sum(slice(a, axis=1, start=1, stop=4) * slice(R, axis=1, start=0, stop=3))"},
      {"concat", "loss = sum(concat(a, b, axis=1) * concat(R, R * R, axis=1))"},
      {"broadcast", "loss = sum(broadcast(c1, [4, 5]) * R)"},
      {"sum", "loss = sum(sum(a * a, axis=0) * R5) + sum(sum(a, axis=1, keepdim=1) * R)"},
      {"mean", "loss = sum(mean(a * a, axis=0) * R5) + mean(a) * sum(R5)"},
      {"var", "loss = sum(var(a, axis=0) * R5) + sum(std(a, axis=1, correction=0, keepdim=1) * R)"},
      {"max", "loss = sum(max(a, axis=0) * R5) + sum(max(a * b, axis=1, keepdim=1) * R) + max(a) * sum(k)"},
      {"pick", "loss = sum(tanh(pick(flatten(C[x]) @ Wv, y)) * pick(flatten(C[x]) @ Wv, y))"},
      {"cross_entropy", "loss = cross_entropy(flatten(C[x]) @ Wv, y) * sum(k)"},
      {"mode", "loss = sum(mode(train = tanh(a), eval = a) * R)"},
  };
  return m;
}

Model loadSnippet(const std::string& op, const std::string& body) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "netc_op_coverage";
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / (op + ".net");
  std::ofstream(file) << kPrelude << body << "\nminimize loss\n";
  LowerOptions o;
  o.dataOverride = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  return loadModel(file.string(), o);
}

bool uses(const Graph& g, const OpDef* op) {
  for (const Node& n : g.nodes)
    if (n.op == op) return true;
  return false;
}

}  // namespace

TEST_CASE("op coverage: every public op has a model in this file") {
  std::vector<std::string> missing;
  for (const OpDef* op : allOps())
    if (!op->internal && !snippets().count(op->name)) missing.push_back(op->name);
  CHECK_MESSAGE(missing.empty(), "public ops with no gradient check and no JIT-against-interpreter case in "
                                 "tests/op_coverage_test.cpp: " << fmt::format("{}", fmt::join(missing, ", ")));
  for (const auto& [name, body] : snippets()) {
    const OpDef* op = findOp(name);
    CHECK_MESSAGE((op && !op->internal), "the table names '" << name << "', which is not a public op");
  }
}

TEST_CASE("op coverage: each public op passes a gradient check with a random upstream gradient and the JIT matches the interpreter") {
  for (const auto& [name, body] : snippets()) {
    const OpDef* op = findOp(name);
    if (!op) continue;  // reported by the test above
    INFO("op ", name, ": ", body);
    Model m = loadSnippet(name, body);
    REQUIRE_MESSAGE(uses(m.graph, op), "the model for '" << name << "' does not use it");
    // Gradient check on the train form, batch 3.
    Model train = specializeModel(m, Mode::Train);
    CHECK_MESSAGE((op->grad || op->selectsMode), "'" << name << "' has no gradient rule and is not removed by specialisation");
    Graph bound = bindBatch(train.graph, 3);
    WeightMap weights = initParams(train.graph, 7);
    WeightMap batch = randomBatch(bound, 8);
    GradcheckReport r = gradcheck(bound, weights, [&](Engine& e) { feedBatch(e, batch, "random batch"); });
    for (const ParamCheck& p : r.params) {
      INFO("parameter ", p.name, ": max abs error ", p.maxAbs, ", max relative error ", p.maxRel);
      CHECK(p.ok);
    }
    CHECK(r.ok());
    // The JIT against the interpreter, three SGD steps.
    testing::CompareOptions o;
    o.batch = 5;
    testing::compareTraining(m, name, o);
  }
}
