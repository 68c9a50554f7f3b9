// The pass pipeline (compiler/pipeline/): its table, and the verifiers between passes catching a deliberately
// broken pass, named, after a graph pass, after layout and after planning.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "codegen/plan.h"
#include "pipeline/pipeline.h"
#include "pipeline/verify_plan.h"
#include "run_netc.h"
#include "test_util.h"

using namespace netc;
using pipeline::Stage;

namespace {

// The training step of a shipped model up to `upTo`, verified after every pass; lanes 8 as on AVX2.
pipeline::Options stepOptions(const Model& m, int threads = 1) {
  static const codegen::TargetInfo target{"", "", 8, 0};
  pipeline::Options o;
  o.optimizer = m.train.optimizer;
  o.batch = m.train.batch;
  o.codegen.plan.threads = threads;
  o.target = &target;
  o.verify = true;
  return o;
}

// The message of the netc::Error that running `o` up to `upTo` throws ("" when none).
std::string failure(const Model& m, const pipeline::Options& o, Stage upTo) {
  try {
    pipeline::run(m, o, upTo);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

int named(const Graph& g, const std::string& name) {
  int v = g.find(name);
  REQUIRE_MESSAGE(v >= 0, "no node named " << name);
  return v;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("pipeline: the table lists every stage once, in order, with a name and a description") {
  std::set<std::string> names;
  int i = 0;
  for (const pipeline::Pass& p : pipeline::passes()) {
    CHECK(static_cast<int>(p.stage) == i++);
    CHECK(names.insert(p.name).second);
    CHECK(std::string(p.description).size() > 10);
    CHECK(&pipeline::pass(p.stage) == &p);
  }
  CHECK(i == static_cast<int>(Stage::BuildModules) + 1);
}

TEST_CASE("pipeline: every shipped model's training step (plain and probed) and eval form pass every verifier, on "
          "one thread and four") {
  for (const auto& entry : std::filesystem::directory_iterator(NETC_SOURCE_DIR "/models")) {
    if (entry.path().extension() != ".net") continue;
    CAPTURE(entry.path().filename().string());
    Model m = testing::shippedModel(entry.path().filename().string());
    for (int threads : {1, 4}) {
      CHECK(failure(m, stepOptions(m, threads), Stage::Plan) == "");
      pipeline::Options probed = stepOptions(m, threads);
      probed.probes = InstrumentOptions{};
      probed.probes->logits = m.logits;
      CHECK(failure(m, probed, Stage::Plan) == "");
      pipeline::Options eval = stepOptions(m, threads);
      eval.mode = Mode::Eval;
      eval.optimizer.reset();
      eval.batch = 7;
      CHECK(failure(m, eval, Stage::Plan) == "");
    }
  }
}

TEST_CASE("pipeline: run stops at the stage asked for, and resume goes on from there with the same result") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  pipeline::Options o = stepOptions(m);
  pipeline::Compiled upToDiff = pipeline::run(m, o, Stage::Differentiate);
  REQUIRE(upToDiff.training.has_value());
  CHECK(upToDiff.bound.size() == 0);
  CHECK(upToDiff.plan.kernels.empty());
  pipeline::Compiled whole = pipeline::run(m, o, Stage::Plan);
  pipeline::Compiled resumed = pipeline::resume(std::move(upToDiff), o, Stage::BindBatch, Stage::Plan);
  CHECK(printGraph(resumed.code) == printGraph(whole.code));
  CHECK(codegen::printPlan(resumed.code, resumed.plan) == codegen::printPlan(whole.code, whole.plan));
  // Without an optimizer the step is the forward graph: differentiate does not run.
  o.optimizer.reset();
  CHECK_FALSE(pipeline::run(m, o, Stage::Plan).training.has_value());
}

TEST_CASE("pipeline: a pass that corrupts a node's shape is caught by the graph verifier, naming the pass") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  pipeline::Options o = stepOptions(m);
  o.extraPasses.push_back({Stage::Differentiate, "corrupt-shape", [](pipeline::Compiled& c, const pipeline::Options&) {
                             Graph& g = c.training->graph;
                             g[named(g, "h")].shape = Shape{kBatch, 199};
                           }});
  std::string msg = failure(m, o, Stage::Plan);
  CHECK(contains(msg, "after pass 'corrupt-shape': graph verifier:"));
  // The same corruption inside the layout pass itself (its replacement): the message names 'layout'.
  o.extraPasses.clear();
  o.replacedPasses[Stage::Layout] = [](pipeline::Compiled& c, const pipeline::Options& opts) {
    pipeline::resumeInPlace(c, {.codegen = opts.codegen, .target = opts.target, .verify = false}, Stage::Layout,
                            Stage::Layout);
    c.code[named(c.code, "logits")].shape = Shape{32, 26};
  };
  msg = failure(m, o, Stage::Plan);
  CHECK(contains(msg, "after pass 'layout':"));
  CHECK(contains(msg, "%logits"));
  // Without the verifiers nothing notices at layout (the corrupted graph reaches the planner).
  o.verify = false;
  CHECK_FALSE(contains(failure(m, o, Stage::Layout), "after pass"));
}

TEST_CASE("pipeline: the layout verifier catches a value marked transposed whose shape was not swapped") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  pipeline::Options o = stepOptions(m);
  o.extraPasses.push_back({Stage::Layout, "mark-W1-transposed", [](pipeline::Compiled& c, const pipeline::Options&) {
                             c.layout.transposed[static_cast<size_t>(named(c.code, "W1"))] = 1;
                           }});
  std::string msg = failure(m, o, Stage::Plan);
  CHECK(contains(msg, "after pass 'mark-W1-transposed': node %W1 (param): stored transposed as [30,200], which is "
                      "not the transpose of its declared [30,200]"));
}

TEST_CASE("pipeline: a plan that overlaps two live buffers is caught after 'plan'") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  pipeline::Options o = stepOptions(m);
  // %hpre and %h are both named (the runtime may read them after the step): they must never share bytes.
  o.replacedPasses[Stage::Plan] = [](pipeline::Compiled& c, const pipeline::Options& opts) {
    c.plan = codegen::makePlan(c.code, opts.codegen.plan);
    c.plan.offset[c.plan.storage[named(c.code, "h")]] = c.plan.offsetOf(named(c.code, "hpre"));
  };
  std::string msg = failure(m, o, Stage::Plan);
  CHECK(contains(msg, "after pass 'plan': the buffer of %"));
  CHECK(contains(msg, "the buffer of %hpre ("));
  CHECK(contains(msg, "the buffer of %h ("));
  CHECK(contains(msg, "are live at the same time and share bytes"));
  // A temporary given a parameter's bytes: caught too.
  o.replacedPasses[Stage::Plan] = [](pipeline::Compiled& c, const pipeline::Options& opts) {
    c.plan = codegen::makePlan(c.code, opts.codegen.plan);
    c.plan.offset[c.plan.storage[named(c.code, "emb")]] = c.plan.offsetOf(named(c.code, "W1"));
  };
  CHECK(contains(failure(m, o, Stage::Plan), "share bytes"));
}

TEST_CASE("pipeline: a plan whose kernel reads a buffer before any kernel writes it is caught after 'plan'") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  pipeline::Options o = stepOptions(m);
  // The first two kernels swapped: the first layer's product then runs before the embedding it reads.
  o.extraPasses.push_back({Stage::Plan, "swap-kernels", [](pipeline::Compiled& c, const pipeline::Options&) {
                             std::swap(c.plan.kernels[0], c.plan.kernels[1]);
                             for (int& k : c.plan.kernelOf) k = k == 0 ? 1 : k == 1 ? 0 : k;
                           }});
  std::string msg = failure(m, o, Stage::Plan);
  CHECK(contains(msg, "after pass 'swap-kernels': kernel 0 (matmul %9) reads buffer of %emb before any kernel "
                      "writes it"));
  // A value read by a later kernel left in registers only.
  o.extraPasses = {{Stage::Plan, "drop-storage", [](pipeline::Compiled& c, const pipeline::Options&) {
                      const int emb = named(c.code, "emb");
                      for (int& s : c.plan.storage) s = s == emb ? -1 : s;  // %emb and its view %8
                    }}};
  CHECK(contains(failure(m, o, Stage::Plan),
                 "after pass 'drop-storage': kernel 1 (matmul %9) reads %8, which has no storage"));
}

TEST_CASE("pipeline: `netc ir --stage` lists exactly the pipeline's stages, in its help and its error") {
  std::vector<std::string> names;
  for (const pipeline::IrStage& s : pipeline::irStages()) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"graph", "grad", "fused", "llvm", "llvm-opt", "asm"});
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ",") + n;
  testing::CommandResult bad = testing::runNetc("ir models/mlp_kaiming.net --stage bogus");
  CHECK(bad.status == 2);
  CHECK(bad.has("--stage: bogus not in {" + list + "}"));
  testing::CommandResult help = testing::runNetc("ir --help");
  for (const pipeline::IrStage& s : pipeline::irStages()) CHECK(help.has(s.name + " (" + s.help + ")"));
  // Each stage a pass prints is that pass's row of the table.
  for (const pipeline::IrStage& s : pipeline::irStages())
    if (s.stage) CHECK(pipeline::pass(*s.stage).irStage == s.name);
}
