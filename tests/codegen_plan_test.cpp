// The fusion and memory plan: what the lecture MLP's kernels fuse, and invariants every plan must keep (each
// computing node in one kernel, kernels in dependency order, parameter updates after every read of the old
// value, disjoint aligned buffers, scratch and partial sums) on every shipped model, fused and unfused, on one
// thread and on a team.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "autodiff/autodiff.h"
#include "codegen/plan.h"
#include "modes/specialize.h"
#include "lower/model.h"
#include "ops/op.h"
#include "jit_compare.h"
#include "test_util.h"

using namespace netc;
using codegen::Plan;

namespace {

Graph trainingStep(const std::string& file, int64_t batch) {
  Model m = testing::shippedModel(file);
  return bindBatch(trainForm(m).step.graph, batch);
}

bool is(const Graph& g, int v, std::string_view op) { return g[v].op->name == op; }

// The kernel that computes the value node v reads (reshapes are views of their source).
int producerKernel(const Graph& g, const Plan& p, int v) { return p.kernelOf[codegen::aliasRoot(g, v)]; }

void checkInvariants(const Graph& g, const Plan& p) {
  for (int v = 0; v < g.size(); ++v) {
    bool computes = g[v].op->cls != OpDef::Source && !is(g, v, "reshape");
    INFO(g.valueName(v));
    CHECK((p.kernelOf[v] >= 0) == computes);
    if (!g[v].name.empty() || v == g.loss) CHECK(p.stored(v));
    for (int in : g[v].inputs) {
      int k = producerKernel(g, p, in);
      if (computes && k >= 0) CHECK(k <= p.kernelOf[v]);  // producers run first (or in the same kernel)
    }
    if (is(g, v, "sgd")) {
      int param = g[v].inputs[0];
      CHECK(p.storage[v] == param);  // updated in place
      for (int r = 0; r < g.size(); ++r)
        for (int in : g[r].inputs)
          if (r != v && !is(g, r, "reshape") && codegen::aliasRoot(g, in) == param && p.kernelOf[r] != p.kernelOf[v])
            CHECK_MESSAGE(p.kernelOf[r] < p.kernelOf[v], g.valueName(r), " reads ", g.valueName(param),
                          " after its update");
    }
  }
  // Buffers: aligned, inside the arena, pairwise disjoint with slack after each (scratch included).
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (int v = 0; v < g.size(); ++v)
    if (p.offset[v] >= 0) spans.push_back({p.offset[v], p.offset[v] + p.bytes[v]});
  for (int t = 0; t < p.threads && p.scratchBytes > 0; ++t)
    spans.push_back({p.scratchOffset + t * p.scratchStride, p.scratchOffset + t * p.scratchStride + p.scratchBytes});
  // A team's split sums: a partial result per thread and kernel, each a region of its own.
  for (const codegen::Kernel& k : p.kernels) {
    CHECK((k.split || k.barrier || k.sumSplit) <= (p.threads > 1));
    CHECK(k.sumSplit <= k.split);
    if (!k.sumSplit) continue;
    CHECK(k.partialStride > codegen::kTailSlack);
    for (int t = 0; t < p.threads; ++t)
      spans.push_back({k.partialOffset + t * k.partialStride,
                       k.partialOffset + t * k.partialStride + k.partialStride - codegen::kTailSlack});
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 0; i < spans.size(); ++i) {
    CHECK(spans[i].first % codegen::kArenaAlign == 0);
    CHECK(spans[i].second + codegen::kTailSlack <= p.arenaBytes);
    if (i > 0) CHECK(spans[i - 1].second + codegen::kTailSlack <= spans[i].first);  // room for a whole last vector
  }
  // A shared buffer (plan.cpp's reuse of temporaries) holds one value at a time: each value's life, from the
  // kernel writing it to the last kernel reading it, ends before the next value in that buffer is written;
  // values the runtime may read (named, the loss, probes) and the step's outputs never share.
  std::map<int, std::vector<std::pair<int, int>>> lives;  // buffer -> (written, last read) of each value in it
  std::map<int, int> values;                              // buffer -> values in it (reshapes aside)
  for (int v = 0; v < g.size(); ++v) {
    if (!p.stored(v) || p.kernelOf[v] < 0 || is(g, v, "reshape")) continue;
    int last = p.kernelOf[v];
    for (int r = 0; r < g.size(); ++r)
      for (int in : g[r].inputs)
        if (p.kernelOf[r] >= 0 && codegen::aliasRoot(g, in) == v) last = std::max(last, p.kernelOf[r]);
    lives[p.storage[v]].push_back({p.kernelOf[v], last});
    values[p.storage[v]] += 1;
  }
  for (auto& [buffer, ls] : lives) {
    std::sort(ls.begin(), ls.end());
    for (size_t i = 1; i < ls.size(); ++i)
      CHECK_MESSAGE(ls[i - 1].second < ls[i].first, "buffer of ", g.valueName(buffer), " is written by kernel ",
                    ls[i].first, " while a value in it is read until kernel ", ls[i - 1].second);
  }
  for (int v = 0; v < g.size(); ++v)
    if ((!g[v].name.empty() || v == g.loss) && p.kernelOf[v] >= 0 && !is(g, v, "reshape") && p.storage[v] >= 0 &&
        g[p.storage[v]].op->cls != OpDef::Source && !is(g, p.storage[v], "sgd"))
      CHECK_MESSAGE(values[p.storage[v]] == 1, g.valueName(v), " shares its buffer");
}

}  // namespace

TEST_CASE("plan: the lecture MLP's kernels") {
  Graph g = trainingStep("mlp_kaiming.net", 32);
  Plan p = codegen::makePlan(g);
  checkInvariants(g, p);
  int hpre = g.find("hpre"), h = g.find("h");
  // Forward: the bias add and tanh are the epilogue of the first matrix product, whose raw result is never stored.
  int k = p.kernelOf[h];
  REQUIRE(p.kernels[k].root >= 0);
  CHECK(is(g, p.kernels[k].root, "matmul"));
  CHECK(p.kernelOf[hpre] == k);
  CHECK(!p.stored(p.kernels[k].root));
  // Backward: the tanh gradient (1 - h*h) * dh is one kernel with the product computing dh.
  int mulHH = -1, sub = -1, chain = -1;
  for (int v = 0; v < g.size(); ++v) {
    if (g[v].gradOf != h) continue;
    if (is(g, v, "mul") && g[v].inputs[0] == h && g[v].inputs[1] == h) mulHH = v;
    if (is(g, v, "sub")) sub = v;
    if (is(g, v, "mul") && sub >= 0 && g[v].inputs[0] == sub) chain = v;
  }
  REQUIRE(mulHH >= 0);
  REQUIRE(sub >= 0);
  REQUIRE(chain >= 0);
  CHECK(p.kernelOf[mulHH] == p.kernelOf[sub]);
  CHECK(p.kernelOf[sub] == p.kernelOf[chain]);
  CHECK(!p.stored(mulHH));
  CHECK(!p.stored(sub));
  CHECK(is(g, p.kernels[p.kernelOf[chain]].root, "matmul"));
  // Updates: the weight matrices are updated in the epilogue of their gradient's product.
  for (const char* w : {"W1", "W2"}) {
    int next = g.find(std::string(w) + ".next");
    int grad = g.find(std::string("grad.") + w);
    REQUIRE(next >= 0);
    CHECK(p.kernelOf[next] == p.kernelOf[grad]);
  }
  // Eleven kernels would be the minimum without horizontal fusion; the unfused plan has one per node.
  Plan unfused = codegen::makePlan(g, {.fuse = false});
  checkInvariants(g, unfused);
  CHECK(p.kernels.size() < unfused.kernels.size());
  CHECK(p.arenaBytes < unfused.arenaBytes);
}

TEST_CASE("plan: invariants hold for every shipped model, fused and not, at batch 1 and 7") {
  for (const auto& entry : std::filesystem::directory_iterator(NETC_SOURCE_DIR "/models")) {
    if (entry.path().extension() != ".net") continue;
    for (int64_t batch : {1, 7}) {
      Graph g;
      // BatchNorm's train form is refused at batch 1 (the unbiased variance of one example).
      std::string error = testing::errorOf([&] { g = trainingStep(entry.path().filename().string(), batch); });
      if (!error.empty()) {
        CHECK(batch == 1);
        CHECK(error.find("one example is undefined") != std::string::npos);
        continue;
      }
      INFO(entry.path().filename().string(), " batch ", batch);
      checkInvariants(g, codegen::makePlan(g));
      checkInvariants(g, codegen::makePlan(g, {.fuse = false}));
    }
  }
}

TEST_CASE("plan: invariants hold for every shipped model on a team of 2 and 3 threads, sums split or not") {
  int summed = 0;  // split sums seen (batch 100 has enough rows for them)
  for (const auto& entry : std::filesystem::directory_iterator(NETC_SOURCE_DIR "/models")) {
    if (entry.path().extension() != ".net") continue;
    for (int64_t batch : {7, 100}) {
      Graph g = trainingStep(entry.path().filename().string(), batch);
      for (int threads : {2, 3}) {
        INFO(entry.path().filename().string(), " batch ", batch, " threads ", threads);
        for (bool fuse : {true, false}) {
          Plan p = codegen::makePlan(g, {.fuse = fuse, .threads = threads});
          checkInvariants(g, p);
          for (const codegen::Kernel& k : p.kernels) summed += k.sumSplit;
        }
      }
    }
  }
  CHECK(summed > 0);
}

TEST_CASE("plan: the temporaries of an unrolled loop share buffers, so the arena holds what is live at once") {
  Graph g = trainingStep("gru.net", 4);
  Plan p = codegen::makePlan(g);
  checkInvariants(g, p);
  int64_t own = 0, shared = 0;
  for (int v = 0; v < g.size(); ++v)
    if (p.stored(v) && p.kernelOf[v] >= 0 && !is(g, v, "reshape") && p.storage[v] == v) ++own;
    else if (p.stored(v) && p.kernelOf[v] >= 0 && !is(g, v, "reshape") && p.offset[v] < 0) ++shared;
  INFO(own << " values with buffers of their own, " << shared << " in a freed one");
  CHECK(shared > own / 4);
}

TEST_CASE("plan: the printout names every kernel and buffer") {
  Graph g = trainingStep("mlp_kaiming.net", 32);
  Plan p = codegen::makePlan(g);
  std::string text = codegen::printPlan(g, p);
  for (const auto& k : p.kernels) CHECK(text.find(k.name) != std::string::npos);
  CHECK(text.find("epilogue %h:f32[32,200]") != std::string::npos);
  CHECK(text.find("(also %W1.next)") != std::string::npos);
}

// Models whose parameters multiply each other directly: each gradient reads the other parameter, so each
// in-place update must wait for the kernel computing the other's gradient. Fusing every gradient with its
// update makes two kernels that wait for each other; the merge check must see such a cycle even where it
// runs through a third kernel, entered at one node and left from another (it once saw only paths through
// single nodes, and these models stopped with "the fused kernels depend on each other in a cycle").
TEST_CASE("plan: parameters multiplying each other compile, fused, and train like the interpreter") {
  const std::map<std::string, std::string> models = {
      {"param_times_param", "param a : [4, 5] = randn\nparam b : [4, 5] = randn\nloss = sum(a * b)"},
      {"param_matmul_param", "param a : [4, 5] = randn\nparam W : [5, 3] = randn\nloss = sum(a @ W)"},
      {"param_matmul_param_times_R",
       "param a : [4, 5] = randn\nparam W : [5, 3] = randn * 0.5\nparam R : [4, 3] = randn\n"
       "loss = sum((a @ W) * R)"},
      // Three updates in a ring: a's waits for b's gradient kernel, b's for c's, c's for a's.
      {"ring_of_three",
       "param a : [4, 5] = randn\nparam b : [4, 5] = randn\nparam c : [4, 5] = randn\n"
       "loss = sum(a * b + b * c + c * a)"},
      {"product_and_matmul",
       "param a : [4, 5] = randn\nparam b : [4, 5] = randn\nparam W : [5, 3] = randn * 0.5\n"
       "loss = sum(tanh((a * b) @ W)) + sum(a @ W)"},
  };
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "netc_plan_cycles";
  std::filesystem::create_directories(dir);
  for (const auto& [name, body] : models) {
    INFO(name, ": ", body);
    std::filesystem::path file = dir / (name + ".net");
    std::ofstream(file) << body << "\nminimize loss\n";
    Model m = loadModel(file.string());
    Graph g = bindBatch(trainForm(m).step.graph, 5);
    bool planned = true;
    for (int threads : {1, 2}) {
      INFO("threads ", threads);
      Plan p;
      std::string error = testing::errorOf([&] { p = codegen::makePlan(g, {.threads = threads}); });
      CHECK_MESSAGE(error.empty(), error);
      if (!error.empty()) {
        planned = false;
        continue;
      }
      checkInvariants(g, p);
      // Still fused: the check refuses only the merges that would close a cycle.
      CHECK(p.kernels.size() < codegen::makePlan(g, {.fuse = false, .threads = threads}).kernels.size());
    }
    if (!planned) continue;
    testing::CompareOptions o;
    o.batch = 5;
    testing::compareTraining(m, name, o);
  }
}
