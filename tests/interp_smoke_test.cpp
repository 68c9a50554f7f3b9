#include <doctest/doctest.h>

#include "autodiff/autodiff.h"
#include "interp/interpreter.h"
#include "lower/model.h"
#include "runtime/training/init.h"
#include "runtime/files/weights.h"
#include "test_util.h"

using namespace netc;

TEST_CASE("interpreter: the original lecture model starts confidently wrong, the fixed one near ln 27") {
  for (auto [file, lo, hi] : {std::tuple{"mlp_original.net", 10.0, 60.0}, std::tuple{"mlp_fixed_output.net", 3.0, 3.6}}) {
    Model m = testing::shippedModel(file);
    Interpreter in(bindBatch(m.graph, 32));
    loadParams(in, initParams(m.graph, 1), "init");
    std::vector<int32_t> x(32 * 3), y(32);
    for (int i = 0; i < 96; ++i) x[i] = (i * 7) % 27;
    for (int i = 0; i < 32; ++i) y[i] = (i * 5) % 27;
    in.writeIndices(m.contextInput, x);
    in.writeIndices(m.targetInput, y);
    in.run();
    double loss = in.readScalar(m.graph.loss);
    CHECK(loss > lo);
    CHECK(loss < hi);
  }
}
