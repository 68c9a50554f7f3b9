#include "ops/probe_common.h"

#include <cmath>
#include <fmt/format.h>

#include "ops/helpers.h"

namespace netc::ops::probe_common {

Moments moments(const std::vector<double>& x) {
  Moments m;
  if (x.empty()) return m;
  for (double v : x) m.mean += v;
  m.mean /= static_cast<double>(x.size());
  if (x.size() < 2) return m;
  double ss = 0;
  for (double v : x) ss += (v - m.mean) * (v - m.mean);
  m.std = std::sqrt(ss / static_cast<double>(x.size() - 1));
  return m;
}

int64_t unitsOf(const Graph& g, const Node& n, int input) {
  const Shape& s = g[n.inputs[input]].shape;
  if (s.empty() || isBatchDim(s.back()))
    shapeError(g, n, fmt::format("{} must have its units on a fixed last axis, found shape {}",
                                 g.describe(n.inputs[input]), shapeStr(s)));
  return s.back();
}

void requireSameShape(const Graph& g, const Node& n, int a, int b) {
  const Shape& sa = g[n.inputs[a]].shape;
  const Shape& sb = g[n.inputs[b]].shape;
  if (sa != sb)
    shapeError(g, n, fmt::format("{} {} and {} {} must have the same shape", g.describe(n.inputs[a]), shapeStr(sa),
                                 g.describe(n.inputs[b]), shapeStr(sb)));
}

}  // namespace netc::ops::probe_common
