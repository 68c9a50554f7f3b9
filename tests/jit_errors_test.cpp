// What the JIT engine refuses, with a clear netc::Error instead of a crash: out-of-range indices (checked when
// written, against every table they index), wrong sizes, writes to computed values, reads of values that only
// ever lived in registers. After a refused write the engine still works.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.h"
#include "engine/jit_engine.h"
#include "lower/model.h"
#include "modes/specialize.h"
#include "runtime/training/init.h"
#include "runtime/files/weights.h"
#include "test_util.h"

using namespace netc;
using netc::testing::errorOf;

namespace {

struct Fixture {
  Model m;
  TrainingGraph t;
  std::unique_ptr<JitEngine> jit;
  static constexpr int64_t B = 4;
  Fixture() {
    m = testing::shippedModel("mlp_kaiming.net");
    t = buildTrainingGraph(m.graph);
    jit = std::make_unique<JitEngine>(bindBatch(t.graph, B));
    loadParams(*jit, initParams(m.graph, 3), "init");
  }
};

}  // namespace

TEST_CASE("jit errors: an out-of-range embedding index is refused when written, naming the table size") {
  Fixture f;
  int V = f.m.vocab.size();
  std::vector<int32_t> x(Fixture::B * 3, 1);
  x[5] = V;  // one past the last row of C
  std::string e = errorOf([&] { f.jit->writeIndices(f.m.contextInput, x); });
  CHECK(e.find("out of range") != std::string::npos);
  CHECK(e.find(std::to_string(V) + " rows") != std::string::npos);
  CHECK(e.find("position 5") != std::string::npos);
  x[5] = -1;
  CHECK(errorOf([&] { f.jit->writeIndices(f.m.contextInput, x); }).find("out of range") != std::string::npos);
  // The same check through the double interface, which also refuses fractions.
  std::vector<double> xd(Fixture::B * 3, 0.5);
  CHECK(errorOf([&] { f.jit->write(f.m.contextInput, xd); }).find("out of range") != std::string::npos);
  // Still usable: valid indices run.
  x[5] = V - 1;
  f.jit->writeIndices(f.m.contextInput, x);
  f.jit->run();
  CHECK(std::isfinite(f.jit->readScalar(f.t.loss)));
}

TEST_CASE("jit errors: an out-of-range cross-entropy target is refused") {
  Fixture f;
  std::vector<int32_t> y(Fixture::B, 0);
  y[2] = 1000;
  CHECK(errorOf([&] { f.jit->writeIndices(f.m.targetInput, y); }).find("out of range") != std::string::npos);
}

TEST_CASE("jit errors: sizes, computed values and register-only values") {
  Fixture f;
  std::vector<int32_t> tooFew(3, 0);
  CHECK(errorOf([&] { f.jit->writeIndices(f.m.targetInput, tooFew); }).find("cannot write 3 indices") !=
        std::string::npos);
  std::vector<double> one = {1.0};
  CHECK(errorOf([&] { f.jit->write(f.t.loss, one); }).find("only inputs, parameters and states") != std::string::npos);
  CHECK(errorOf([&] { f.jit->write(9999, one); }).find("the graph has") != std::string::npos);
  // A value the planner kept in registers (here the product feeding the bias add) cannot be read back.
  const codegen::Plan& p = f.jit->plan();
  int hidden = -1;
  for (int v = 0; v < f.jit->graph().size(); ++v)
    if (!p.stored(v) && p.kernelOf[v] >= 0) hidden = v;
  REQUIRE(hidden >= 0);
  CHECK(errorOf([&] { f.jit->read(hidden); }).find("only in registers") != std::string::npos);
}

TEST_CASE("jit errors: an unsupported vector width is a clear error") {
  Fixture f;
  codegen::CodegenOptions o;
  o.vectorBits = 100;
  CHECK(errorOf([&] { JitEngine bad(f.jit->graph(), o); }).find("vector width 100 bits") != std::string::npos);
}

TEST_CASE("jit errors: a temporary whose buffer later temporaries reuse cannot be read back") {
  Model m = testing::shippedModel("rnn.net");
  JitEngine jit(bindBatch(trainForm(m).step.graph, 2));
  const codegen::Plan& p = jit.plan();
  int shared = -1, named = -1;
  for (int v = 0; v < jit.graph().size(); ++v) {
    if (p.shared(v)) shared = v;
    if (jit.graph()[v].name == "h@t3") named = v;
  }
  REQUIRE(shared >= 0);
  CHECK(errorOf([&] { jit.read(shared); }).find("whose memory later temporaries reuse") != std::string::npos);
  REQUIRE(named >= 0);
  CHECK(jit.read(named).size() == 2 * 64);  // a named value of the loop keeps its own buffer
}
