// The polynomial tanh/exp/log/sigmoid of scalar_ir/fast_math, compiled through the real pipeline (a one-op
// graph planned, lowered, optimised and JIT-compiled) and checked against libm over dense sweeps and at the
// edges: infinities, huge values, denormals, NaN.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <limits>

#include "engine/jit_engine.h"
#include "ops/op.h"

using namespace netc;

namespace {

// y = op(x) for every x, evaluated by JIT-compiled code in float32.
std::vector<double> jitApply(const char* op, const std::vector<double>& xs) {
  Graph g;
  int x = g.add(&getOp("input"), {}, {}, SrcLoc{}, "x");
  g[x].dtype = DType::F32;
  g[x].shape = {static_cast<int64_t>(xs.size())};
  int y = g.add(&getOp(op), {x}, {}, SrcLoc{}, "y");
  inferNode(g, y);
  JitEngine jit(g);
  jit.write(x, xs);
  jit.run();
  return jit.read(y);
}

// Inputs as float32 would see them, so the comparison measures the approximation and not the input rounding.
std::vector<double> sweep(double lo, double hi, int n) {
  std::vector<double> xs;
  for (int i = 0; i < n; ++i) xs.push_back(static_cast<float>(lo + (hi - lo) * i / (n - 1)));
  return xs;
}

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::vector<double> kEdges = {0.0, -0.0, 1e-45, -1e-45, 1e-38, 1e-20, -1e-20, 7.9, -7.9, 9.0, -9.0,
                                    88.0, -88.0, 1e10, -1e10, 1e30, -1e30, FLT_MAX, -FLT_MAX, kInf, -kInf};

}  // namespace

TEST_CASE("fast tanh: |tanh| <= 1 everywhere, no NaN for finite input, close to std::tanh") {
  std::vector<double> xs = sweep(-12, 12, 200001);  // odd count: exercises the vector loop and the scalar rest
  xs.insert(xs.end(), kEdges.begin(), kEdges.end());
  std::vector<double> ys = jitApply("tanh", xs);
  double worst = 0;
  int nan = 0, beyond = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    nan += std::isnan(ys[i]);
    beyond += std::fabs(ys[i]) > 1.0;
    worst = std::max(worst, std::fabs(ys[i] - std::tanh(xs[i])));
  }
  CHECK(nan == 0);
  CHECK(beyond == 0);
  INFO("largest absolute error ", worst);
  CHECK(worst < 1e-6);  // a few float ulps near 1
  CHECK(jitApply("tanh", {kInf, -kInf, 9.0, -1e30}) == std::vector<double>{1.0, -1.0, 1.0, -1.0});
  CHECK(std::isnan(jitApply("tanh", {kNaN})[0]));  // a diverged value stays visible
}

TEST_CASE("fast exp: relative error over the float range, NaN stays NaN") {
  std::vector<double> xs = sweep(-87, 88, 100003);
  std::vector<double> ys = jitApply("exp", xs);
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double ref = std::exp(xs[i]);
    worst = std::max(worst, std::fabs(ys[i] - ref) / ref);
  }
  INFO("largest relative error ", worst);
  CHECK(worst < 2e-6);
  std::vector<double> e = jitApply("exp", {-kInf, -1000.0, 0.0, 1000.0, kInf, kNaN});
  CHECK(e[0] >= 0);
  CHECK(e[0] < 1e-37);
  CHECK(e[1] < 1e-37);
  CHECK(e[2] == 1.0);
  CHECK(e[3] > 1e38);  // saturates rather than overflowing
  CHECK(!std::isnan(e[4]));
  CHECK(std::isnan(e[5]));
}

TEST_CASE("fast log: relative error on positive inputs and the IEEE edge cases") {
  std::vector<double> xs;
  for (double v = 1e-30; v < 1e30; v *= 1.0007) xs.push_back(static_cast<float>(v));
  std::vector<double> ys = jitApply("log", xs);
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) worst = std::max(worst, std::fabs(ys[i] - std::log(xs[i])) / std::max(1.0, std::fabs(std::log(xs[i]))));
  INFO("largest error ", worst);
  CHECK(worst < 1e-6);
  std::vector<double> e = jitApply("log", {0.0, -1.0, kInf, kNaN, 1.0});
  CHECK(e[0] == -kInf);
  CHECK(std::isnan(e[1]));
  CHECK(e[2] == kInf);
  CHECK(std::isnan(e[3]));
  CHECK(e[4] == 0.0);
}

TEST_CASE("fast sigmoid: within [0, 1] everywhere and close to 1/(1+e^-x)") {
  std::vector<double> xs = sweep(-30, 30, 60001);
  xs.insert(xs.end(), kEdges.begin(), kEdges.end());
  std::vector<double> ys = jitApply("sigmoid", xs);
  double worst = 0;
  int bad = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    bad += !(ys[i] >= 0.0 && ys[i] <= 1.0);  // NaN counts as bad
    worst = std::max(worst, std::fabs(ys[i] - 1.0 / (1.0 + std::exp(-xs[i]))));
  }
  CHECK(bad == 0);
  INFO("largest absolute error ", worst);
  CHECK(worst < 1e-6);
}
