#include "runtime/training/gradcheck.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "autodiff/autodiff.h"
#include "interp/interpreter.h"
#include "runtime/random/rng.h"
#include "runtime/files/weights.h"

namespace netc {

bool GradcheckReport::ok() const {
  return std::all_of(params.begin(), params.end(), [](const ParamCheck& p) { return p.ok; });
}

WeightMap autodiffGradients(const Graph& forward, const WeightMap& weights, const Feed& feed, double* loss) {
  Graph g = forward;
  std::map<int, int> grads = differentiate(g);
  Interpreter in(std::move(g));
  loadParams(in, weights, "weights");
  feed(in);
  in.run();
  if (loss) *loss = in.readScalar(forward.loss);
  WeightMap out;
  for (auto [p, dp] : grads) out[forward[p].name] = NamedTensor{forward[p].shape, in.read(dp)};
  return out;
}

namespace {

// The loss as a function of one parameter, the others held at their values.
class LossFn {
 public:
  LossFn(const Graph& forward, const WeightMap& weights, const Feed& feed) : e_(forward), loss_(forward.loss) {
    loadParams(e_, weights, "weights");
    feed(e_);
  }
  double at(int param, const std::vector<double>& value) {
    e_.write(param, value);
    e_.run();
    return e_.readScalar(loss_);
  }

 private:
  Interpreter e_;
  int loss_;
};

void record(ParamCheck& c, double analytic, double numeric, const GradcheckOptions& o, double noise) {
  double abs = std::fabs(analytic - numeric);
  double scale = std::max(std::fabs(analytic), std::fabs(numeric));
  c.checks++;
  c.maxAbs = std::max(c.maxAbs, abs);
  // The relative error is reported where it decides the check: where the gradient is so small that
  // atol + noise allows more than rtol * scale, a relative error says nothing about the rule.
  if (o.rtol * scale > o.atol + noise) c.maxRel = std::max(c.maxRel, abs / scale);
  // NaN compares false everywhere, so it must fail explicitly.
  if (!(abs <= o.atol + noise + o.rtol * scale)) c.ok = false;
}

}  // namespace

GradcheckReport checkGradients(const Graph& forward, const WeightMap& weights, const Feed& feed,
                               const WeightMap& analytic, const GradcheckOptions& o) {
  GradcheckReport r;
  LossFn f(forward, weights, feed);
  Rng rng(o.seed);
  bool first = true;
  for (int p : forward.params()) {
    const Node& n = forward[p];
    if (!n.trainable) continue;
    const std::vector<double> theta = weights.at(n.name).data;
    if (first) r.loss = f.at(p, theta), first = false;
    // The loss is only known to a few ulps; divided by the step that rounding becomes the floor under which
    // a finite difference cannot resolve anything (about 1e-10 for a loss near 3 and eps = 1e-4).
    const double noise = 16 * DBL_EPSILON * std::max(1.0, std::fabs(r.loss)) / o.eps;
    ParamCheck c;
    c.name = n.name;
    auto it = analytic.find(n.name);
    c.reachesLoss = it != analytic.end();
    std::vector<double> g = c.reachesLoss ? it->second.data : std::vector<double>(theta.size(), 0.0);
    if (g.size() != theta.size())
      fail(fmt::format("gradcheck: the gradient of '{}' has {} values, the parameter {}", n.name, g.size(),
                       theta.size()));

    auto central = [&](const std::vector<double>& v, double h) {
      std::vector<double> plus = theta, minus = theta;
      for (size_t i = 0; i < v.size(); ++i) plus[i] += h * v[i], minus[i] -= h * v[i];
      return (f.at(p, plus) - f.at(p, minus)) / (2 * h);
    };
    // Richardson extrapolation of two central differences cancels their h^2 error terms, so a step large
    // enough to keep rounding small (1e-4) still leaves a truncation error of order h^4.
    auto slope = [&](const std::vector<double>& v) { return (4 * central(v, o.eps / 2) - central(v, o.eps)) / 3; };
    // Random unit directions: <grad, v> sums every element's gradient with random weights, so a wrong value
    // anywhere shows, and a rule that is right only for an all-ones upstream gradient does not pass by luck.
    for (int d = 0; d < o.directions; ++d) {
      std::vector<double> v(theta.size());
      double norm = 0;
      for (double& x : v) x = rng.normal(), norm += x * x;
      norm = std::sqrt(norm);
      for (double& x : v) x /= norm;
      record(c, std::inner_product(g.begin(), g.end(), v.begin(), 0.0), slope(v), o, noise);
    }
    // Single elements: the largest gradient (where a scale error is most visible), then random ones.
    std::vector<size_t> picks;
    if (!g.empty() && o.elements > 0) {
      picks.push_back(static_cast<size_t>(std::max_element(g.begin(), g.end(), [](double a, double b) {
                                            return std::fabs(a) < std::fabs(b);
                                          }) - g.begin()));
      for (int k = 1; k < o.elements && k < static_cast<int>(g.size()); ++k) picks.push_back(rng.below(g.size()));
    }
    for (size_t i : picks) {
      std::vector<double> e(theta.size(), 0.0);
      e[i] = 1.0;
      record(c, g[i], slope(e), o, noise);
    }
    f.at(p, theta);  // restore before moving to the next parameter
    r.params.push_back(c);
  }
  return r;
}

GradcheckReport gradcheck(const Graph& forward, const WeightMap& weights, const Feed& feed,
                          const GradcheckOptions& opts) {
  double loss = 0;
  WeightMap g = autodiffGradients(forward, weights, feed, &loss);
  GradcheckReport r = checkGradients(forward, weights, feed, g, opts);
  r.loss = loss;
  return r;
}

double largestTrainable(const Graph& forward, const WeightMap& weights) {
  double m = 0;
  for (int p : forward.params()) {
    auto it = weights.find(forward[p].name);
    if (!forward[p].trainable || it == weights.end()) continue;
    for (double x : it->second.data) m = std::max(m, std::fabs(x));
  }
  return m;
}

double smallestResolvableEps(const Graph& forward, const WeightMap& weights) {
  return 2 * std::sqrt(DBL_EPSILON) * std::max(1.0, largestTrainable(forward, weights));
}

std::string formatGradcheckTable(const GradcheckReport& r, const GradcheckOptions& o) {
  size_t w = 9;
  for (const auto& p : r.params) w = std::max(w, p.name.size());
  std::string s = fmt::format("{:<{}}  {:>6}  {:>12}  {:>12}  {}\n", "parameter", w, "checks", "max abs err",
                              "max rel err", "status");
  for (const auto& p : r.params)
    s += fmt::format("{:<{}}  {:>6}  {:>12.3e}  {:>12.3e}  {}{}\n", p.name, w, p.checks, p.maxAbs, p.maxRel,
                     p.ok ? "ok" : "FAIL", p.reachesLoss ? "" : " (no path to the loss: gradient is zero)");
  return s;
}

}  // namespace netc
