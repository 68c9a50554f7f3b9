// Gradient checking: the autodiff's gradients against central finite differences of the loss, in double
// precision on the reference interpreter. Used by `netc gradcheck` and by the tests of every gradient rule.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "interp/engine.h"
#include "runtime/training/init.h"

namespace netc {

struct GradcheckOptions {
  double eps = 1e-4;     // finite-difference step along a unit-norm direction (Richardson: eps and eps/2)
  int directions = 3;    // random directions per parameter
  int elements = 3;      // single-element checks per parameter: the largest |gradient|, then random ones
  double rtol = 1e-5;    // a check fails when |analytic - numeric| > atol + rtol * max(|analytic|, |numeric|)
  double atol = 1e-9;
  uint64_t seed = 1;     // directions and element choice
};

// The worst errors over all checks of one parameter.
struct ParamCheck {
  std::string name;
  int checks = 0;
  double maxAbs = 0, maxRel = 0;
  bool ok = true;
  bool reachesLoss = true;  // false: the autodiff gave no gradient, checked to be zero
};

struct GradcheckReport {
  double loss = 0;
  std::vector<ParamCheck> params;  // trainable parameters, in declaration order
  bool ok() const;
};

// Writes the batch (every input the loss needs) into an engine running the graph.
using Feed = std::function<void(Engine&)>;

// Differentiates `forward` (batch-bound, with a loss) and checks d(loss)/d(p) for every trainable p.
GradcheckReport gradcheck(const Graph& forward, const WeightMap& weights, const Feed& feed,
                          const GradcheckOptions& opts = {});

// The same checks against gradients computed elsewhere (param name -> gradient); a missing name means zero.
// Lets tests show that a wrong gradient is caught.
GradcheckReport checkGradients(const Graph& forward, const WeightMap& weights, const Feed& feed,
                               const WeightMap& analytic, const GradcheckOptions& opts = {});

// The autodiff's gradients of every trainable parameter reaching the loss, and the loss, on the interpreter.
WeightMap autodiffGradients(const Graph& forward, const WeightMap& weights, const Feed& feed, double* loss = nullptr);

// The largest |value| of the trainable parameters (0 when none).
double largestTrainable(const Graph& forward, const WeightMap& weights);
// The smallest eps whose half-step still resolves: sqrt(DBL_EPSILON) times max(1, largestTrainable). Below it
// theta + h*v differs from theta in fewer than half of float64's digits, so the finite difference is mostly
// rounding, and the rounding allowance of every check grows until any gradient passes.
double smallestResolvableEps(const Graph& forward, const WeightMap& weights);

// "parameter  checks  max abs err  max rel err  status" rows, one per parameter.
std::string formatGradcheckTable(const GradcheckReport& r, const GradcheckOptions& opts);

}  // namespace netc
