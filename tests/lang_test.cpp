// The .net language: lexer, parser, constant folding and lowering of each construct, the examples of
// docs/language.md, and robustness (no input makes the front end do anything but succeed or throw Error).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "lang/parser.h"
#include "lower/model.h"
#include "ops/op.h"

namespace fs = std::filesystem;
using namespace netc;

namespace {

const fs::path kRoot = NETC_SOURCE_DIR;
const std::string kWords = (kRoot / "tests/data/pseudo_words.txt").string();

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Module parseText(const std::string& text, const std::string& name = "test.net") {
  return parse(std::make_shared<SourceFile>(name, text));
}

// A scratch folder for .net files written by the tests; removed at exit.
struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("netc_lang_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};
Scratch& scratch() {
  static Scratch s;
  return s;
}

Model lowerText(const std::string& text) {
  LowerOptions o;
  o.dataOverride = kWords;
  return loadModel(scratch().write("m.net", text).string(), o);
}

std::string errorOf(const std::string& text) {
  try {
    lowerText(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::string kPrelude = R"(data "words.txt" {
  context = 3
}
input x : int[B, T]
input y : int[B]
param C : [V, 10] = randn
)";
const std::string kLoss = "\nlogits = flatten(C[x]) @ W\nloss = cross_entropy(logits, y)\nminimize loss\n";

// Fenced blocks of a markdown file whose info string is exactly `info`.
std::vector<std::pair<int, std::string>> fencedBlocks(const std::string& md, const std::string& info) {
  std::vector<std::pair<int, std::string>> out;
  std::istringstream in(md);
  std::string line, body;
  int lineNo = 0, start = 0;
  bool inside = false, wanted = false;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.rfind("```", 0) == 0) {
      if (!inside) {
        inside = true, wanted = line.substr(3) == info, start = lineNo + 1, body.clear();
      } else {
        if (wanted) out.emplace_back(start, body);
        inside = false;
      }
      continue;
    }
    if (inside) body += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("lexer: tokens, '@' as annotation or product, '**' and '^', numbers") {
  auto toks = lex(std::make_shared<SourceFile>("t.net", "@probe\nh = a @ b ** 2 ^ 3\nk = 1.5e3 + 7 + .5\n"));
  std::vector<Tok> kinds;
  for (auto& t : toks) kinds.push_back(t.kind);
  std::vector<Tok> want = {Tok::At, Tok::Ident, Tok::Newline, Tok::Ident, Tok::Assign, Tok::Ident, Tok::MatMul,
                           Tok::Ident, Tok::Power, Tok::Number, Tok::Power, Tok::Number, Tok::Newline,
                           Tok::Ident, Tok::Assign, Tok::Number, Tok::Plus, Tok::Number, Tok::Plus, Tok::Number,
                           Tok::Newline, Tok::End};
  CHECK(kinds == want);
  CHECK(toks[15].number == 1500);
  CHECK_FALSE(toks[15].isInteger);
  CHECK(toks[17].isInteger);
  CHECK(toks[19].number == 0.5);
  CHECK(toks[6].loc.line == 2);
  CHECK(toks[6].loc.col == 7);
}

TEST_CASE("lexer: line breaks inside ( ) and [ ] do not end a statement, comments are skipped") {
  Module m = parseText("h = f(a,\n  b) # note\n# whole line\nk = [1,\n 2]\n");
  REQUIRE(m.stmts.size() == 2);
  CHECK(m.stmts[0].value->args.size() == 2);
  CHECK(m.stmts[1].value->kind == Expr::List);
}

TEST_CASE("parser: statements of every kind") {
  Module m = parseText(R"(data "w.txt" { context = 4 }
const K = 2
input x : int[B, T]
param W : [K, 3] = randn * 0.1 frozen
@probe(hist)
h = tanh(x)
minimize h
train { steps = 5 }
sample {
  count = 3
}
)");
  REQUIRE(m.stmts.size() == 8);
  CHECK(m.stmts[0].kind == Stmt::Data);
  CHECK(m.stmts[0].name == "w.txt");
  CHECK(m.stmts[1].kind == Stmt::Const);
  CHECK(m.stmts[2].kind == Stmt::Input);
  CHECK(m.stmts[2].dtype == "int");
  CHECK(m.stmts[3].kind == Stmt::Param);
  CHECK_FALSE(m.stmts[3].trainable);
  CHECK(m.stmts[4].kind == Stmt::Assign);
  REQUIRE(m.stmts[4].annotations.size() == 1);
  CHECK(m.stmts[4].annotations[0].args.size() == 1);
  CHECK(m.stmts[5].kind == Stmt::Minimize);
  CHECK(m.stmts[6].kind == Stmt::Section);
  CHECK(m.stmts[7].entries.size() == 1);
}

TEST_CASE("constants: precedence, associativity and functions fold as documented") {
  Model m = lowerText(kPrelude + R"(
const a = 2 + 3 * 4 ** 2
const b = -2 ** 2
const c = 2 ** -1
const d = 2 ** 3 ** 2
const e = 10 - 4 - 3
const f = 12 / 2 / 3
const g = (5/3) / sqrt(T*10)
const h = min(3, max(1, abs(-2))) + exp(0) + log(1)
const i = 2 ^ 3
param W : [T*10, V] = randn * g
)" + kLoss);
  CHECK(m.constants["a"] == 50);
  CHECK(m.constants["b"] == -4);
  CHECK(m.constants["c"] == 0.5);
  CHECK(m.constants["d"] == 512);
  CHECK(m.constants["e"] == 3);
  CHECK(m.constants["f"] == 2);
  CHECK(m.constants["g"] == doctest::Approx(5.0 / 3.0 / std::sqrt(30.0)));
  CHECK(m.constants["h"] == 3);
  CHECK(m.constants["i"] == 8);
  CHECK(m.constants["V"] == 27);
  CHECK(m.constants["T"] == 3);
  const Node& W = m.graph[m.graph.find("W")];
  CHECK(W.init.scale == doctest::Approx(5.0 / 3.0 / std::sqrt(30.0)));
}

TEST_CASE("parameters: initialisers, scales and frozen") {
  Model m = lowerText(kPrelude + R"(
param W : [30, V] = randn * (5/3) / sqrt(30)
param z : [V] = zeros
param o : [V] = ones * 2
param u : [V] = uniform(-1, 1) * 0.5
param f : [V] = randn * exp(-1) frozen
param t : [V] = -randn / 4 trainable
)" + kLoss);
  auto init = [&](const char* n) { return m.graph[m.graph.find(n)].init; };
  CHECK(init("W").kind == InitSpec::Randn);
  CHECK(init("W").scale == doctest::Approx(5.0 / 3.0 / std::sqrt(30.0)));
  CHECK(init("z").kind == InitSpec::Zeros);
  CHECK(init("o").kind == InitSpec::Ones);
  CHECK(init("o").scale == 2);
  CHECK(init("u").kind == InitSpec::Uniform);
  CHECK(init("u").a == -1);
  CHECK(init("u").b == 1);
  CHECK(init("u").scale == 0.5);
  CHECK(init("f").scale == doctest::Approx(std::exp(-1.0)));
  CHECK_FALSE(m.graph[m.graph.find("f")].trainable);
  CHECK(init("t").scale == -0.25);
  CHECK(m.graph[m.graph.find("t")].trainable);
}

TEST_CASE("values: ops, broadcasting and shapes") {
  Model m = lowerText(kPrelude + R"(
param W : [30, V] = randn
param b : [V] = zeros
emb = C[x]
flat = flatten(emb)
r = reshape(emb, [B, 30])
z = flat @ W + b
s = sigmoid(z) * 2 - 1
q = relu(z) / 2 + exp(z) - log(exp(z))
n = -q
m0 = mean(n, axis=0)
s1 = sum(n, axis=-1)
tot = sum(n)
logits = z
loss = cross_entropy(logits, y) + tot * 0
minimize loss
)");
  auto shape = [&](const char* n) { return shapeStr(m.graph[m.graph.find(n)].shape); };
  CHECK(shape("emb") == "[B,3,10]");
  CHECK(shape("flat") == "[B,30]");
  CHECK(shape("r") == "[B,30]");
  CHECK(shape("z") == "[B,27]");
  CHECK(shape("m0") == "[27]");
  CHECK(shape("s1") == "[B]");
  CHECK(shape("tot") == "[]");
  CHECK(shape("loss") == "[]");
  CHECK(m.graph[m.graph.loss].name == "loss");
}

TEST_CASE("probes: @probe with and without statistics adds to the default probes (every activation and the logits)") {
  Model m = lowerText(kPrelude + R"(
param W : [30, V] = randn
@probe
h = tanh(flatten(C[x]))
@probe(hist, dead)
g = tanh(h)
)" + kLoss);
  const Node& h = m.graph[m.graph.find("h")];
  const Node& g = m.graph[m.graph.find("g")];
  REQUIRE(h.probe);
  CHECK(h.probe->saturation);
  REQUIRE(g.probe);
  CHECK(g.probe->hist);
  CHECK(g.probe->dead);
  CHECK_FALSE(g.probe->saturation);
  CHECK_FALSE(g.probe->stats);
  CHECK(h.probe->marked);
  REQUIRE(m.graph[m.graph.find("logits")].probe);  // a default probe beside the marked ones
  CHECK_FALSE(m.graph[m.graph.find("logits")].probe->marked);

  Model d = lowerText(kPrelude + "param W : [30, V] = randn\nh = tanh(flatten(C[x]))\n" + kLoss);
  CHECK(d.graph[d.graph.find("h")].probe);
  CHECK(d.graph[d.graph.find("logits")].probe);
}

TEST_CASE("sections: data, train and sample settings and defaults") {
  Model m = lowerText(R"(data "w.txt" {
  context = 5
  split = 0.5, 0.25, 0.25
  seed = 9
}
input x : int[B, T]
input y : int[B]
param C : [V, 4] = randn
param W : [T*4, V] = randn
)" + kLoss + R"(
train {
  steps = 300
  batch = 16
  optimizer = sgd
  lr = 0.1 until 100, 0.05 until 200, 0.01
  seed = 3
  log_every = 10
  eval_every = 50
  probe_every = 20
  saturation = 0.9
}
sample { count = 4
  seed = 11 }
)");
  CHECK(m.data.context == 5);
  CHECK(m.data.split[1] == 0.25);
  CHECK(m.data.seed == 9);
  CHECK(m.constants["T"] == 5);
  CHECK(m.train.steps == 300);
  CHECK(m.train.batch == 16);
  CHECK(m.train.seed == 3);
  CHECK(m.train.logEvery == 10);
  CHECK(m.train.evalEvery == 50);
  CHECK(m.train.probeEvery == 20);
  CHECK(m.train.saturation == 0.9);
  CHECK(m.train.learningRate(0) == 0.1);
  CHECK(m.train.learningRate(99) == 0.1);
  CHECK(m.train.learningRate(100) == 0.05);
  CHECK(m.train.learningRate(200) == 0.01);
  CHECK(m.train.learningRate(100000) == 0.01);
  CHECK(m.sample.count == 4);
  CHECK(m.sample.seed == 11);

  Model d = lowerText(kPrelude + "param W : [30, V] = randn\n" + kLoss);
  CHECK(d.train.steps == 1000);
  CHECK(d.train.learningRate(5) == 0.1);
  CHECK(d.sample.count == 20);
  CHECK(d.data.split[0] == 0.8);
}

TEST_CASE("data: the path is relative to the .net file, --data replaces it") {
  fs::path dir = scratch().dir / "sub";
  fs::create_directories(dir);
  fs::copy_file(kWords, scratch().dir / "words.txt", fs::copy_options::overwrite_existing);
  std::ofstream(dir / "m.net") << "data \"../words.txt\" { context = 2 }\ninput x : int[B, T]\ninput y : int[B]\n"
                                  "param C : [V, 4] = randn\nparam W : [8, V] = randn\n" + kLoss;
  Model m = loadModel((dir / "m.net").string());
  CHECK(fs::equivalent(m.data.path, scratch().dir / "words.txt"));
  CHECK(m.vocab.size() == 27);
  LowerOptions o;
  o.dataOverride = kWords;
  CHECK(loadModel((dir / "m.net").string(), o).data.path == kWords);
}

TEST_CASE("errors from inline sources name the nearest name and the defining lines") {
  std::string e = errorOf(kPrelude + "param W1 : [30, V] = randn\nparam W2 : [30, V] = randn\n"
                                     "logits = flatten(C[x]) @ W3\nloss = cross_entropy(logits, y)\nminimize loss\n");
  CHECK(e.find(":9:26: error: unknown identifier 'W3' (did you mean 'W2'?)") != std::string::npos);
  e = errorOf(kPrelude + "param W : [20, V] = randn\n" + kLoss);
  CHECK(e.find("[B,30]") != std::string::npos);
  CHECK(e.find("[20,27] (line 7)") != std::string::npos);
  e = errorOf(kPrelude + "param W : [30, V] = randn * exp(h)\n" + kLoss);
  CHECK(e.find("unknown identifier 'h'") != std::string::npos);
  e = errorOf(kPrelude + "param W : [100000, 100000] = randn\n" + kLoss);
  CHECK(e.find("too large") != std::string::npos);
  e = errorOf(kPrelude + "input z : int[3, B, 2]\nparam W : [30, V] = randn\nf = flatten(z)\n" + kLoss);
  CHECK(e.find("'flatten' keeps the first axis") != std::string::npos);
}

TEST_CASE("messages describe a value without a name by the expression it came from") {
  // Source spans as one line: a span over several lines loses its comments and indentation.
  SourceFile src("s.net", "h = tanh(\n  (a   # comment\n   @ b) + c)\n");
  CHECK(src.spanText({1, 5, 1, 10}) == "tanh(");
  CHECK(src.spanText({2, 3, 3, 9}) == "(a @ b)");
  CHECK(src.spanText({1, 5, 3, 13}) == "tanh((a @ b) + c)");
  CHECK(src.spanText({9, 1, 9, 2}).empty());
  CHECK(src.spanText({}).empty());

  // Every expression keeps its span, parentheses included.
  auto text = std::make_shared<SourceFile>("t.net", "h = -(a + b)[x] @ f(c, [1, 2])\n");
  Module m = parse(text);
  REQUIRE(m.stmts.size() == 1);
  const Expr& mm = *m.stmts[0].value;
  CHECK(text->spanText(mm.span) == "-(a + b)[x] @ f(c, [1, 2])");
  CHECK(text->spanText(mm.args[0]->span) == "-(a + b)[x]");
  CHECK(text->spanText(mm.args[0]->args[0]->span) == "(a + b)[x]");
  CHECK(text->spanText(mm.args[0]->args[0]->args[0]->span) == "(a + b)");
  CHECK(text->spanText(mm.args[1]->span) == "f(c, [1, 2])");
  CHECK(text->spanText(mm.args[1]->args[1]->span) == "[1, 2]");

  // Named values keep their %name; intermediates are quoted (long ones shortened), constants given by value,
  // and nodes the compiler made (the gradients) by their op and operands.
  Model model = lowerText(kPrelude + "param W : [30, V] = randn\n"
                                     "logits = flatten(C[x]) @ W * 2 + flatten(C[x]) @ W * 3 + flatten(C[x]) @ W\n"
                                     "loss = cross_entropy(logits, y)\nminimize loss\n");
  const Graph& g = model.graph;
  std::map<std::string, std::vector<std::string>> byOp;
  for (int i = 0; i < g.size(); ++i) byOp[g[i].op->name].push_back(g.describe(i));
  CHECK(byOp["embedding"].front() == "the result of 'C[x]'");
  CHECK(byOp["reshape"].front() == "the result of 'flatten(C[x])'");
  CHECK(byOp["matmul"].front() == "the result of 'flatten(C[x]) @ W'");
  CHECK(byOp["const"].front() == "the constant 2");
  CHECK(byOp["mul"].front() == "the result of 'flatten(C[x]) @ W * 2'");
  CHECK(byOp["add"].front() == "the result of 'flatten(C[x]) @ W * 2 + flatten(C[x]) @ W * 3'");
  CHECK(byOp["add"].back() == "%logits");
  CHECK(g.describe(g.find("W")) == "%W");
  CHECK(g.describe(g.loss) == "%loss");
  // a sum of 65 characters is cut to 57 and "..."
  Model longer = lowerText(kPrelude + "param W : [30, V] = randn\n"
                                      "loss = cross_entropy(flatten(C[x]) @ W * 2 + flatten(C[x]) @ W * 3 + flatten(C[x]) @ W, y)\n"
                                      "minimize loss\n");
  int sum = -1;
  for (int i = 0; i < longer.graph.size(); ++i)
    if (std::string_view(longer.graph[i].op->name) == "add") sum = i;
  REQUIRE(sum >= 0);
  CHECK(longer.graph.describe(sum) == "the result of 'flatten(C[x]) @ W * 2 + flatten(C[x]) @ W * 3 + flatten(C...'");
  TrainingGraph t = buildTrainingGraph(g);
  int grad = -1;
  for (int i = 0; i < t.graph.size(); ++i)
    if (t.graph[i].phase == Phase::Backward && std::string_view(t.graph[i].op->name) == "matmul" && t.graph[i].name.empty()) grad = i;
  REQUIRE(grad >= 0);
  const std::string d = t.graph.describe(grad);
  CHECK(d.rfind("the result of matmul(%", 0) == 0);
  CHECK(d.find(", %") != std::string::npos);
}

TEST_CASE("docs/language.md: every ```net block parses and every ```net model block lowers") {
  std::string md = slurp(kRoot / "docs/language.md");
  auto snippets = fencedBlocks(md, "net");
  auto models = fencedBlocks(md, "net model");
  CHECK(snippets.size() >= 10);
  CHECK(models.size() >= 1);
  for (auto& [line, text] : snippets) {
    CAPTURE(line);
    CAPTURE(text);
    CHECK_NOTHROW(parseText(text, "docs/language.md"));
  }
  for (auto& [line, text] : models) {
    CAPTURE(line);
    Model m;
    CHECK_NOTHROW(m = lowerText(text));
  }
}

TEST_CASE("robustness: every line-prefix of every model either lowers or reports an Error") {
  int ok = 0, errors = 0;
  for (const auto& entry : fs::directory_iterator(kRoot / "models")) {
    if (entry.path().extension() != ".net") continue;
    std::string text = slurp(entry.path());
    for (size_t at = 0; at != std::string::npos && at <= text.size(); at = text.find('\n', at + 1)) {
      CAPTURE(entry.path().filename().string());
      CAPTURE(at);
      try {
        lowerText(text.substr(0, at));
        ++ok;
      } catch (const Error&) {
        ++errors;
      } catch (const std::exception& e) {
        FAIL("not a netc::Error: " << e.what());
      }
      if (at == text.size()) break;
    }
  }
  CHECK(ok >= 5);  // the whole files
  CHECK(errors > 50);
}

TEST_CASE("robustness: byte-level damage to a model never escapes as anything but Error") {
  std::string text = slurp(kRoot / "models/mlp_kaiming.net");
  const char subst[] = {'(', ')', '[', ']', '@', '"', '\n', '#', '9', 'B', '{', '}', '*', '-', '\0', '\x80'};
  int n = 0;
  // Parsing is in memory and cheap: damage every byte. Lowering reads files: damage every 29th.
  // (tests/fuzz/ goes much further.)
  for (size_t i = 0; i < text.size(); ++i)
    for (char c : subst) {
      std::string t = text;
      t[i] = c;
      try {
        parseText(t);
        if (i % 29 == 0) lowerText(t);
      } catch (const Error&) {
      }
      ++n;
    }
  CHECK(n > 10000);
}

TEST_CASE("diagnostics: a suggestion is never the name itself") {
  // `randn(5/3)` once said "unknown initialiser 'randn' (did you mean 'randn'?)": a known name used in the
  // wrong form needs its own message, and the suggestion machinery must not offer the name back.
  CHECK(didYouMean("randn", {"randn", "zeros", "ones", "uniform"}) == "");
  CHECK(didYouMean("rand", {"randn", "zeros", "ones", "uniform"}) == " (did you mean 'randn'?)");
}
