// The facts declared with each op (OpDef::attrs and the traits, ops/op.h): well formed for every registered
// op, and what the verifier, the graph printer and the keyword parsing read from them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "lower/builtins.h"
#include "lower/model.h"
#include "ops/op.h"
#include "scratch_dir.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

Model lowerText(const std::string& text) {
  static netc::testing::ScratchDir dir("netc_facts_");
  static int n = 0;
  fs::path p = dir.path() / ("case" + std::to_string(n++) + ".net");
  std::ofstream(p) << text;
  return loadModel(p.string());
}

const char* kModel = R"(param a : [4, 5] = randn
param W : [5, 3] = randn frozen
m = a @ W
s = sum(m, axis=0)
v = var(a, axis=0)
p = slice(a, axis=1, start=0, stop=2)
loss = sum(s) + sum(v) + sum(p)
minimize loss
)";

int nodeOf(const Graph& g, const char* op) {
  for (const Node& n : g.nodes)
    if (std::string_view(n.op->name) == op) return n.id;
  FAIL("no " << op << " node");
  return -1;
}

std::string verifyError(const Graph& g) {
  try {
    verify(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string lowerError(const std::string& text) {
  try {
    lowerText(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("op facts: every registered op declares well-formed attributes and traits") {
  for (const OpDef* op : allOps()) {
    INFO("op ", op->name);
    std::set<int> ints;
    int shapes = 0;
    for (size_t i = 0; i < op->attrs.size(); ++i) {
      const AttrSpec& a = op->attrs[i];
      INFO("attribute ", a.name);
      if (a.slot == AttrSpec::Ints) {
        CHECK(ints.insert(a.index).second);                      // one meaning per slot
        CHECK((!a.optional || ints.size() == 1));                // only the first may be absent
      }
      CHECK((a.slot == AttrSpec::Dims) == (a.kind == AttrSpec::Shape));
      CHECK((a.slot == AttrSpec::InitSpec) == (a.kind == AttrSpec::Init));
      if (a.slot == AttrSpec::Lowered || a.slot == AttrSpec::Frozen) CHECK(a.kind == AttrSpec::Bool);
      if (a.slot == AttrSpec::Lowered) CHECK(a.keyword);
      if (a.kind == AttrSpec::Axis) CHECK(a.of < op->maxInputs);
      if (a.keyword) CHECK_FALSE(op->internal);                  // only a public op is called with keywords
      shapes += a.slot == AttrSpec::Dims;
    }
    for (int i = 0; i < static_cast<int>(ints.size()); ++i) CHECK(ints.count(i));  // Attrs::ints has no gaps
    CHECK(shapes <= 1);
    CHECK((op->cls == OpDef::Source) == (op->source != SourceKind::None));
    if (op->view) CHECK(op->keepsElements);                       // a view's elements are its input's
    if (op->indexBound.input >= 0) CHECK(op->indexBound.input < op->maxInputs);
    if (op->activation) {
      CHECK(op->activation->gain > 0);
      CHECK(activationFacts(op->name) == op->activation);
    }
    if (op->joinsKernelOf) CHECK(op->joinsKernelOf->dataLoss);
  }
  CHECK(activationFacts("value") == nullptr);
  CHECK(activationFacts("matmul") == nullptr);
}

TEST_CASE("op facts: the verifier checks each node's attributes against its op's specs") {
  Model m = lowerText(kModel);
  CHECK(verifyError(m.graph).empty());
  auto broken = [&](const char* op, auto change) {
    Graph g = m.graph;
    change(g[nodeOf(g, op)].attrs);
    return verifyError(g);
  };
  CHECK(broken("matmul", [](Attrs& a) { a.ints = {2, 0}; }).find("transA=2 is not 0 or 1") != std::string::npos);
  CHECK(broken("matmul", [](Attrs& a) { a.ints = {1}; }).find("1 integer attribute where 'matmul' takes 2 or none") !=
        std::string::npos);
  CHECK(broken("sum", [](Attrs& a) { a.ints = {2}; }).find("axis=2 is not an axis of %m (rank 2)") != std::string::npos);
  CHECK(broken("sum", [](Attrs& a) { a.ints = {-3}; }).find("axis=-3 is not an axis") != std::string::npos);
  CHECK(broken("slice", [](Attrs& a) { a.ints = {1, -1, 2}; }).find("start=-1 is negative") != std::string::npos);
  CHECK(broken("slice", [](Attrs& a) { a.ints.clear(); }).find("where 'slice' takes 3") != std::string::npos);
  CHECK(broken("var", [](Attrs& a) { a.shape = {4}; }).find("a shape attribute [4] where 'var' takes none") !=
        std::string::npos);
  // Allowed variations: an absent optional group, a negative axis in range.
  CHECK(broken("matmul", [](Attrs& a) { a.ints.clear(); }).empty());
  CHECK(broken("sum", [](Attrs& a) { a.ints = {-2}; }).empty());
}

TEST_CASE("op facts: the graph printer shows every attribute from its spec") {
  Model m = lowerText(kModel);
  Graph g = m.graph;
  g[nodeOf(g, "matmul")].attrs.ints = {0, 1};
  std::string text = printGraph(g);
  CHECK(text.find("matmul %a, %W transB") != std::string::npos);  // a Bool: its name when set
  CHECK(text.find("transA") == std::string::npos);
  CHECK(text.find("= sum %m axis=0") != std::string::npos);
  CHECK(text.find("= var %a axis=0 correction=1") != std::string::npos);
  CHECK(text.find("= slice %a axis=1 start=0 stop=2") != std::string::npos);
  CHECK(text.find("= param init=randn frozen") != std::string::npos);
  CHECK(text.find("= param init=randn  ") != std::string::npos);  // the trainable one
}

TEST_CASE("op facts: keyword arguments are read by the op's attribute specs") {
  const char* head = "param a : [4, 5] = randn\n";
  CHECK(lowerError(std::string(head) + "loss = sum(a, axs=0)\nminimize loss\n").find("'sum' has no argument 'axs'") !=
        std::string::npos);
  CHECK(lowerError(std::string(head) + "loss = sum(sum(a, axis=0, keepdim=2))\nminimize loss\n")
            .find("'keepdim' must be 0 or 1, found 2") != std::string::npos);
  CHECK(lowerError(std::string(head) + "loss = sum(tanh(a, axis=0))\nminimize loss\n")
            .find("'tanh' takes no keyword arguments, found 'axis'") != std::string::npos);
  // var's correction is a Float attribute kept in Attrs::value, 1 unless given; keepdim is applied by lowering.
  Model m = lowerText(std::string(head) + "v = var(a, axis=1)\nw = var(a, axis=0, correction=0, keepdim=1)\n"
                                          "loss = sum(v) + sum(w)\nminimize loss\n");
  const Graph& g = m.graph;
  CHECK(g[g.find("v")].attrs.value == 1);
  CHECK(g[g.find("v")].attrs.ints == std::vector<int64_t>{1});
  CHECK(g[g.find("w")].shape == Shape{1, 5});
  // `netc help ops` lists the keywords from the same specs.
  std::string help = opsHelp();
  CHECK(help.find("var(x, axis=N, correction=N, keepdim=N)") != std::string::npos);
  CHECK(help.find("slice(x, axis=N, start=N, stop=N)") != std::string::npos);
  CHECK(help.find("reshape(x, [dims])") != std::string::npos);
}
