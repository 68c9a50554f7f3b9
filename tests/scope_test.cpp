// Scopes in lowering (lower/scope.h) and the scope path every node carries (graph/scope_path.h): a node made in
// an unrolled loop's body knows its loop and step, one made outside has an empty path, and names are still
// looked up across the chain (a carried value, a step's own locals, the loop variable).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "ops/op.h"
#include "test_util.h"

using namespace netc;

namespace {

Model lowerText(const std::string& name, const std::string& text) { return testing::lowerWithPseudoWords(text, name); }

// Line 10 is the loop, line 12 the `h = tanh(...) * 2` of its body.
const char* kLoopModel = R"(data "unused.txt" {
  context = 4
}
input x : int[B, T]
input y : int[B]
param C : [V, 3] = randn
param W : [5, 2] = randn
param Wo : [2, V] = randn
h = tanh(C[x][:, 0] @ W[0:3])
for i in 1..T {
  xh = concat(C[x][:, i], h, axis=1)
  h = tanh(xh @ W) * 2
  hs[:, i] = h
}
logits = h @ Wo
minimize cross_entropy(logits, y)
)";

}  // namespace

TEST_CASE("scopes: a node made in an unrolled loop carries its loop step; one made outside an empty path") {
  Model m = lowerText("loop", kLoopModel);
  const Graph& g = m.graph;
  // Named values of step i = 2 (the second iteration of `for i in 1..T`).
  for (const char* name : {"xh@i2", "h@i2"}) {
    INFO(name);
    const int id = g.find(name);
    REQUIRE(id >= 0);
    const ScopePath& path = g[id].scope;
    REQUIRE(path.entries.size() == 1);
    const ScopeEntry& e = path.entries[0];
    CHECK(e.kind == ScopeEntry::Kind::LoopStep);
    CHECK(e.name == "i");
    CHECK(e.index == 1);
    CHECK(e.value() == 2);
    CHECK(e.line == 10);
    CHECK(qualifiedName(localName(name, path), path) == name);
    CHECK(localName(name, path) == std::string(name).substr(0, std::string(name).find('@')));
  }
  // Unnamed nodes of a step (the tanh inside `tanh(...) * 2`, the slice) carry the step too.
  const int h2 = g.find("h@i2");
  const int tanh2 = g[h2].inputs[0];
  CHECK(g[tanh2].op->name == std::string_view("tanh"));
  CHECK(g[tanh2].scope == g[h2].scope);
  // The unnamed tanh is probed by default and named after its op, line and step, so the steps stay apart.
  CHECK(g[tanh2].name == "tanh@12@i2");
  // Outside the loop: declarations, the value before it, and the stacked value and logits after it.
  for (const char* name : {"C", "W", "x", "h", "hs", "logits"}) {
    INFO(name);
    REQUIRE(g.find(name) >= 0);
    CHECK(g[g.find(name)].scope.empty());
  }
  // Every node is either outside (empty) or in a step of the loop on line 10 with i = 1..3.
  int inLoop = 0;
  for (const Node& n : g.nodes) {
    if (n.scope.empty()) continue;
    ++inLoop;
    const ScopeEntry* step = n.scope.loopStep();
    REQUIRE(step);
    CHECK(step->line == 10);
    CHECK(step->value() >= 1);
    CHECK(step->value() <= 3);
  }
  CHECK(inLoop > 0);
}

TEST_CASE("scopes: a step's locals are its own, a carried value is the enclosing scope's, the variable is a constant") {
  // A step's local is unknown after the loop (its scope is gone), and the suggestion comes from what is visible.
  std::string after = kLoopModel;
  after.replace(after.find("logits = h @ Wo"), 15, "logits = xh @ W @ Wo");
  const std::string err = testing::errorOf([&] { lowerText("local_after", after); });
  CHECK(err.find("'xh' is used before its definition") == std::string::npos);
  CHECK(err.find("unknown identifier 'xh'") != std::string::npos);
  // Defining a step's local twice in one step is still an SSA error; the loop variable cannot be assigned.
  std::string twice = kLoopModel;
  twice.replace(twice.find("  hs[:, i] = h\n"), 15, "  hs[:, i] = h\n  xh = h\n");
  CHECK(testing::errorOf([&] { lowerText("twice", twice); }).find("'xh' is defined twice") != std::string::npos);
  // The carried h after the loop is the last step's (through a reshape that names it h).
  Model m = lowerText("carried", kLoopModel);
  const Graph& g = m.graph;
  const int logits = g.find("logits");
  REQUIRE(logits >= 0);
  CHECK(g[logits].inputs[0] == g.find("h@i3"));
}
