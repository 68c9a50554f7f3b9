// Sequences (issue 13): slicing, concatenation, broadcast, unrolled loops with carried values, cross-entropy
// over every position with ignored targets, the sequence form of the data, and the recurrent models.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "engine/make_engine.h"
#include "interp/interpreter.h"
#include "jit_compare.h"
#include "run_netc.h"
#include "runtime/data/batch_feed.h"
#include "runtime/data/dataset.h"
#include "runtime/training/gradcheck.h"
#include "runtime/files/safetensors.h"
#include "runtime/training/sampler.h"
#include "runtime/files/weights.h"
#include "test_util.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

fs::path scratchDir() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / fmt::format("netc_seq_{}", ::getpid());
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

Model lowerSeq(const std::string& text) {
  static int n = 0;
  fs::path p = scratchDir() / fmt::format("case{}.net", n++);
  std::ofstream(p) << text;
  return testing::loadWithPseudoWords(p.string());
}

// Gradient check of `loss = sum(out * R)` (R random, so every upstream gradient differs) for an expression
// over the declarations; x holds random indices, y random targets with some -1.
void checkGrad(const std::string& decls, const std::string& expr, const std::string& rShape, int64_t batch = 3) {
  std::string text = "data \"unused.txt\" {\n  context = 4\n}\n" + decls + "\n";
  text += fmt::format("input R : float{}\nout = {}\nloss = sum(out * R)\nminimize loss\n", rShape, expr);
  INFO(text);
  Model m = lowerSeq(text);
  Graph g = bindBatch(m.graph, batch);
  WeightMap w = initParams(g, 7);
  WeightMap b = randomBatch(g, 11);
  GradcheckOptions o;
  o.directions = 3, o.elements = 4;
  GradcheckReport r = gradcheck(g, w, [&](Engine& e) { feedBatch(e, b, "batch"); }, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
}

}  // namespace

TEST_CASE("sequences: slicing, indexing, concat and broadcast differentiate correctly") {
  const std::string a = "param a : [4, 5, 3] = randn\nparam c : [4, 2] = randn\nparam s : [1, 2] = randn\n"
                        "input x : int[B, T]\nparam C : [V, 3] = randn\n";
  checkGrad(a, "a[:, 1]", "[4, 3]");
  checkGrad(a, "a[1:3, 2:5, 0]", "[2, 3]");
  checkGrad(a, "a[-1, :, 1:]", "[5, 2]");
  checkGrad(a, "a[:, :, 2]", "[4, 5]");
  checkGrad(a, "concat(a[:, 0], c, a[:, 4], axis=1)", "[4, 8]");
  checkGrad(a, "concat(c, c * 2, axis=0)", "[8, 2]");
  checkGrad(a, "concat(a[0:1], a, axis=0)", "[5, 5, 3]");
  checkGrad(a, "broadcast(s, [B, 2])", "[B, 2]");
  checkGrad(a, "broadcast(s, [3, 4, 2])", "[3, 4, 2]");
  checkGrad(a, "concat(C[x][:, 1], broadcast(s, [B, 2]), axis=1)", "[B, 5]");
  checkGrad(a, "C[x][:, 2:4]", "[B, 2, 3]");
}

TEST_CASE("sequences: an unrolled loop carries values and stacks outputs; BPTT through it is correct") {
  const std::string decls =
      "input x : int[B, T]\nparam C : [V, 3] = randn\nparam W : [5, 2] = randn * 0.5\nparam st : [1, 2] = randn\n";
  std::string text = "data \"unused.txt\" {\n  context = 4\n}\n" + decls +
                     "h = broadcast(st, [B, 2])\nfor t in 0..T {\n  h = tanh(concat(C[x][:, t], h, axis=1) @ W)\n"
                     "  hs[:, t] = h * (t + 1)\n}\ninput R : float[B, T, 2]\nloss = sum(hs * R) + sum(h)\nminimize loss\n";
  INFO(text);
  Model m = lowerSeq(text);
  CHECK(m.graph[m.graph.find("hs")].shape == Shape{kBatch, 4, 2});
  Graph g = bindBatch(m.graph, 3);
  WeightMap w = initParams(g, 3);
  WeightMap b = randomBatch(g, 5);
  GradcheckOptions o;
  GradcheckReport r = gradcheck(g, w, [&](Engine& e) { feedBatch(e, b, "batch"); }, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
  // The graph prints the first step and one line for the others.
  std::string printed = printGraph(m.graph);
  CHECK(printed.find("%h@t0") != std::string::npos);
  CHECK(printed.find("%h@t1 ") == std::string::npos);
  CHECK(printed.find("steps 1..3 of the loop on line 9") != std::string::npos);
}

TEST_CASE("sequences: cross_entropy over [B, T, V] with ignore_index=-1 is F.cross_entropy's mean") {
  std::string text = "data \"unused.txt\" {\n  context = 3\n}\ninput y : int[2, T]\nparam L : [2, 3, V] = randn\n"
         "loss = cross_entropy(L, y, ignore_index=-1)\nminimize loss\n";
  Model m = lowerSeq(text);
  Graph g = bindBatch(m.graph, 2);
  WeightMap w = initParams(g, 1);
  const int V = m.vocab.size();
  std::vector<int32_t> y = {3, -1, 0, 5, 2, -1};
  // Reference, by hand: mean over the four counted positions of logsumexp - target logit.
  const auto& L = w.at("L").data;
  double total = 0;
  int counted = 0;
  for (int r = 0; r < 6; ++r) {
    if (y[r] < 0) continue;
    double mx = -1e300, s = 0;
    for (int v = 0; v < V; ++v) mx = std::max(mx, L[r * V + v]);
    for (int v = 0; v < V; ++v) s += std::exp(L[r * V + v] - mx);
    total += mx + std::log(s) - L[r * V + y[r]], ++counted;
  }
  const double want = total / counted;
  Interpreter interp(g);
  JitEngine jit(g, {});
  for (Engine* e : {static_cast<Engine*>(&interp), static_cast<Engine*>(&jit)}) {
    loadParams(*e, w, "w");
    e->writeIndices(m.graph.find("y"), y);
    e->run();
    CHECK(e->readScalar(g.loss) == doctest::Approx(want).epsilon(1e-5));
  }
  // The gradient, with its ignored rows zero, against finite differences.
  WeightMap b;
  b["y"] = NamedTensor{{2, 3}, std::vector<double>(y.begin(), y.end())};
  GradcheckOptions o;
  GradcheckReport r = gradcheck(g, w, [&](Engine& e) { feedBatch(e, b, "batch"); }, o);
  INFO(formatGradcheckTable(r, o));
  CHECK(r.ok());
}

TEST_CASE("sequences: the sequence form builds makemore.py's examples and splits") {
  Vocabulary v(std::vector<std::string>{"ab", "c"});
  Examples ex = buildSequences({"ab", "c"}, v, 3);
  CHECK(ex.size() == 2);
  CHECK(ex.x == std::vector<int32_t>{0, 1, 2, 0, 3, 0});
  CHECK(ex.y == std::vector<int32_t>{1, 2, 0, 3, 0, -1});
  CHECK(ex.counted(0, 2) == 5);
  Model m = testing::shippedModel("rnn.net");
  Dataset d = loadDataset(m.data, m.vocab);
  size_t longest = 0;
  for (const auto& w : m.data.file->words) longest = std::max(longest, w.size());
  CHECK(m.data.context == static_cast<int64_t>(longest) + 1);
  const int64_t n = d.wordCount, test = std::min<int64_t>(1000, n / 10);
  CHECK(d.words[2] == test);
  CHECK(d.words[1] == 0);
  CHECK(d.words[0] == n - test);
  CHECK(d[Split::Train].size() == n - test);
}

TEST_CASE("sequences: rnn.net and gru.net pass gradcheck, and the JIT matches the interpreter") {
  for (const char* file : {"rnn.net", "gru.net"}) {
    INFO(file);
    Model m = testing::shippedModel(file);
    Graph g = bindBatch(m.graph, 2);
    WeightMap w = initParams(g, 5);
    Rng rng(9);
    WeightMap b;
    const int64_t T = m.data.context;
    Dataset d = loadDataset(m.data, m.vocab);
    const Examples& ex = d[Split::Train];
    b["x"] = NamedTensor{{2, T}, {}};
    b["y"] = NamedTensor{{2, T}, {}};
    for (int64_t i = 0; i < 2 * T; ++i) b["x"].data.push_back(ex.x[i]), b["y"].data.push_back(ex.y[i]);
    GradcheckOptions o;
    o.directions = 2, o.elements = 2;
    GradcheckReport r = gradcheck(g, w, [&](Engine& e) { feedBatch(e, b, "batch"); }, o);
    INFO(formatGradcheckTable(r, o));
    CHECK(r.ok());
    testing::CompareOptions c;
    c.batch = 3, c.steps = 2, c.lr = 0.01, c.ignore = -1;
    testing::compareTraining(m, file, c);
  }
}

TEST_CASE("sequences: random recurrent models train alike in the JIT and the interpreter") {
  Rng rng(1313);
  for (int trial = 0; trial < 6; ++trial) {
    const int T = 1 + static_cast<int>(rng.below(6)), E = 1 + static_cast<int>(rng.below(9));
    const int H = 1 + static_cast<int>(rng.below(20));
    const bool gru = rng.below(2) == 1;
    const int64_t batches[] = {1, 2, 5, 9};
    const int64_t batch = batches[rng.below(4)];
    std::string t = fmt::format("data \"unused.txt\" {{\n  context = {}\n}}\nconst E = {}\nconst H = {}\n", T, E, H);
    t += "input x : int[B, T]\ninput y : int[B, T]\nparam C : [V, E] = randn\nparam st : [1, H] = randn * 0.1\n"
         "param W : [E + H, H] = randn * 0.3\nparam b : [H] = randn * 0.1\nparam Wz : [E + H, H] = randn * 0.3\n"
         "param Wo : [H, V] = randn * 0.3\nparam bo : [V] = zeros\nemb = C[x]\nh = broadcast(st, [B, H])\n"
         "for t in 0..T {\n  xh = concat(emb[:, t], h, axis=1)\n";
    t += gru ? "  z = sigmoid(xh @ Wz)\n  h = (1 - z) * h + z * tanh(xh @ W + b)\n" : "  h = tanh(xh @ W + b)\n";
    t += "  logits[:, t] = h @ Wo + bo\n}\nloss = cross_entropy(logits, y, ignore_index=-1)\nminimize loss\n";
    t += "train {\n  optimizer = adamw\n}\n";
    if (!gru) t.replace(t.find("param Wz"), t.find("param Wo") - t.find("param Wz"), "");
    INFO(t);
    Model m = lowerSeq(t);
    testing::CompareOptions c;
    c.batch = batch, c.seed = static_cast<uint64_t>(trial) + 3, c.lr = 0.01, c.ignore = -1;
    testing::compareTraining(m, fmt::format("random recurrent {}", trial), c);
  }
}

TEST_CASE("sequences: a recurrent model samples words character by character") {
  Model m = testing::shippedModel("rnn.net");
  Sampler s(m, EngineKind::Jit);
  s.setWeights(initParams(m.graph, 1), "init");
  auto words = s.sample(5, 42, 100);
  CHECK(words.size() == 5);
  for (const auto& w : words) CHECK(static_cast<int64_t>(w.size()) < m.data.context);
}

TEST_CASE("sequences: makemore.py's RNN and GRU in PyTorch (float64) give netc's loss and gradients") {
  const std::string dir = NETC_SOURCE_DIR "/tests/fixtures/torch_";
  for (std::string cell : {"rnn", "gru"}) {
    INFO(cell);
    Model m = loadModel(dir + cell + ".net");
    WeightMap w = loadSafetensors(dir + cell + "_weights.safetensors");
    WeightMap batch = loadSafetensors(dir + cell + "_batch.safetensors");
    WeightMap want = loadSafetensors(dir + cell + "_expected.safetensors");
    const int64_t B = batchSizeOf(m.graph, batch, cell);
    auto check = [&](const WeightMap& grads, double loss, double tol) {
      const double wl = want.at("loss").data[0];
      CHECK(std::fabs(loss - wl) <= tol * std::fabs(wl));
      int n = 0;
      for (const auto& [name, t] : want) {
        if (name == "loss") continue;
        INFO(name);
        REQUIRE(grads.count(name));
        CHECK(testing::relError(t.data, grads.at(name).data) <= tol);
        ++n;
      }
      CHECK(n == static_cast<int>(m.graph.params().size()));
    };
    Graph g = bindBatch(m.graph, B);
    double loss = 0;
    WeightMap grads = autodiffGradients(g, w, [&](Engine& e) { feedBatch(e, batch, cell); }, &loss);
    check(grads, loss, 1e-6);
    TrainingGraph t = buildTrainingGraph(m.graph);
    auto e = makeEngine(bindBatch(t.graph, B), EngineKind::Jit);
    loadParams(*e, w, cell);
    feedBatch(*e, batch, cell, t.lr);
    e->write(t.lr, std::vector<double>{0.0});
    e->run();
    WeightMap jg;
    for (auto [p, dp] : t.grads) jg[t.graph[p].name] = NamedTensor{t.graph[p].shape, e->read(dp)};
    check(jg, e->readScalar(t.loss), 1e-3);
  }
}

TEST_CASE("sequences: a weight read at every step is transposed once for all its input gradients") {
  // T products read W; their T input gradients dxh_t = dpre_t @ W^T read one transpose node made by the
  // autodiff (GradBuilder::transposeOf) instead of each packing W^T. Odd widths: the 8x8 blocks of the
  // transposing code and its edges; 8- and 16-float code; batches 1 and 5.
  const std::string text = "data \"unused.txt\" {\n  context = 4\n}\nconst E = 5\nconst H = 13\n"
      "input x : int[B, T]\ninput y : int[B, T]\nparam C : [V, E] = randn\nparam st : [1, H] = randn * 0.1\n"
      "param W : [E + H, H] = randn * 0.3\nparam Wo : [H, V] = randn * 0.3\nparam Wi : [E, H] = randn\n"
      "emb = C[x]\nh = broadcast(st, [B, H]) + tanh(emb[:, 0] @ Wi)\n"
      "for t in 0..T {\n  h = tanh(concat(emb[:, t], h, axis=1) @ W)\n  logits[:, t] = h @ Wo\n}\n"
      "loss = cross_entropy(logits, y, ignore_index=-1)\nminimize loss\n";
  Model m = lowerSeq(text);
  TrainingGraph t = buildTrainingGraph(m.graph, m.train.optimizer);
  std::map<std::string, int> transposes;
  int plainInputGrads = 0;
  for (const Node& n : t.graph.nodes) {
    if (n.op->name == std::string_view("transpose")) ++transposes[t.graph[n.inputs[0]].name];
    if (n.op->name == std::string_view("matmul") && n.attrs.ints == std::vector<int64_t>{0, 1}) ++plainInputGrads;
  }
  // W and Wo are read at each of the 4 steps: one transpose each. Wi is read once, so its input gradient
  // d emb[:, 0] = d pre @ Wi^T keeps the transposed operand: the one product flagged {0, 1}.
  CHECK(transposes == std::map<std::string, int>{{"W", 1}, {"Wo", 1}});
  CHECK(plainInputGrads == 1);
  for (unsigned bits : {256u, 512u})
    for (int64_t batch : {1, 5}) {
      testing::CompareOptions c;
      c.batch = batch, c.lr = 0.01, c.ignore = -1;
      c.codegen.vectorBits = bits;
      testing::compareTraining(m, fmt::format("shared transposes, {}-bit, batch {}", bits, batch), c);
    }
}

TEST_CASE("sequences: the steps of an unrolled loop share their kernels' code") {
  // rnn.net's 16 steps make the same kernels over other buffers: each is compiled once (module_builder.cpp),
  // and the step function calls it with each step's buffers. Kernels of different shapes stay apart.
  auto count = [](const std::string& text, const std::string& prefix) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find("\n" + prefix, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  const std::string data = " --data '" NETC_SOURCE_DIR "/tests/data/pseudo_words.txt'";
  for (const char* model : {"models/rnn.net", "models/mlp_kaiming.net"}) {
    INFO(model);
    auto fused = testing::runNetc(fmt::format("ir {} --stage fused{}", model, data));
    auto llvm = testing::runNetc(fmt::format("ir {} --stage llvm{}", model, data));
    REQUIRE(fused.status == 0);
    REQUIRE(llvm.status == 0);
    const size_t kernels = count("\n" + fused.out, "k"), functions = count("\n" + llvm.out, "define ");
    const size_t calls = count(llvm.out, "  call void @k") + count(llvm.out, "  call void @\"k");  // quoted: names with '@'

    INFO(kernels << " kernels, " << functions << " functions, " << calls << " calls");
    CHECK(calls == kernels);  // every kernel still runs, in order
    if (std::string(model) == "models/rnn.net") CHECK(functions * 2 < kernels);
    else CHECK(functions == kernels + 1);  // no two alike, plus the step function
  }
}
