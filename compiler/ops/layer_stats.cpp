// layer_stats(pre, t): what the makemore lecture looks at in an activation layer (tanh, sigmoid or relu, in
// Attrs::ints[0]), in one flat vector (layout probe::layer in ops/probe_layout.h): moments of the
// pre-activations and outputs, the saturated counts on either side (Attrs::value, train.saturation), the count in
// the flat region, dead units (flat for every row), and fixed-bin histograms of both. Appended by the
// instrumentation pass; never differentiated.
#include <cmath>
#include <fmt/format.h>

#include "ops/helpers.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"

namespace netc::ops {

using namespace probe_common;
using probe::Activation;

static void inferLayerStats(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireF32(g, n, 1);
  requireSameShape(g, n, 0, 1);
  if (n.attrs.ints.size() != 1 || n.attrs.ints[0] < 0 || n.attrs.ints[0] > 2)
    shapeError(g, n, "layer_stats needs its activation (0 tanh, 1 sigmoid, 2 relu)");
  if (!(n.attrs.value > 0.5 && n.attrs.value < 1))
    shapeError(g, n, fmt::format("the saturation threshold must lie in (0.5, 1), found {}", n.attrs.value));
  n.dtype = DType::F32;
  n.shape = {probe::layer::size(unitsOf(g, n, 1))};
}

static void evalLayerStats(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  using namespace probe;
  const Activation act = activationOf(n);
  const std::vector<double>& pre = in[0]->data;
  const std::vector<double>& t = in[1]->data;
  int64_t units = in[1]->shape.back();
  int64_t rows = static_cast<int64_t>(t.size()) / units;
  const double lo = outLo(act), hi = outHi(act);
  const bool fold = act != Activation::Relu;  // the top edge of [-1, 1] and [0, 1] belongs to the last bin
  out.data.assign(layer::size(units), 0.0);
  double* o = out.data.data();
  Moments mp = moments(pre), mt = moments(t);
  o[layer::PreMean] = mp.mean, o[layer::PreStd] = mp.std;
  o[layer::OutMean] = mt.mean, o[layer::OutStd] = mt.std;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < units; ++u) {
      double v = t[r * units + u];
      int sat = saturatedSide(act, v, n.attrs.value);
      if (sat < 0) o[layer::SaturatedLow] += 1;
      if (sat > 0) o[layer::SaturatedHigh] += 1;
      // The Dead slots count flat rows per unit first; the last pass turns counts into flags.
      if (flatSide(act, v) != 0) o[layer::Flat] += 1, o[layer::Dead + u] += 1;
      int64_t b = binOf(v, lo, hi);
      if (fold && b == kBins) b = v == hi ? kBins - 1 : kBins;
      o[b < 0 ? layer::OutUnder : layer::OutHist + b] += 1;  // OutHist + kBins is OutOver
      int64_t pb = binOf(pre[r * units + u], kPreLo, kPreHi);
      o[pb < 0 ? layer::PreUnder : layer::PreHist + pb] += 1;  // PreHist + kBins is PreOver
    }
  for (int64_t u = 0; u < units; ++u) {
    bool dead = rows > 0 && o[layer::Dead + u] == static_cast<double>(rows);
    o[layer::Dead + u] = dead ? 1 : 0;
    o[layer::DeadCount] += dead ? 1 : 0;
  }
}

extern const OpDef kLayerStats{
    .name = "layer_stats",
    .summary = "statistics of an activation layer (probe): moments, histograms, saturation, dead units",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "activation", .kind = AttrSpec::Int,
               .valueName = [](int64_t a) { return probe::activationName(static_cast<Activation>(a)); }, .bare = true},
              {.name = "saturation", .kind = AttrSpec::Float, .slot = AttrSpec::Value}},
    .infer = inferLayerStats, .eval = evalLayerStats};

}  // namespace netc::ops
