// value_stats(x): a probed value that is not a tanh layer (the logits, most often): mean, std, min, max and a
// fixed-bin histogram over Attrs::ints = {lo, hi} with under/overflow (layout probe::value). Appended by the
// instrumentation pass; never differentiated.
#include <cmath>

#include "ops/helpers.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"

namespace netc::ops {

using namespace probe_common;

static void inferValueStats(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  if (n.attrs.ints.size() != 2 || n.attrs.ints[0] >= n.attrs.ints[1])
    shapeError(g, n, "value_stats needs a histogram range {lo, hi} with lo < hi");
  n.dtype = DType::F32;
  n.shape = {probe::value::Size};
}

static void evalValueStats(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  using namespace probe;
  const std::vector<double>& x = in[0]->data;
  out.data.assign(value::Size, 0.0);
  double* o = out.data.data();
  Moments m = moments(x);
  o[value::Mean] = m.mean, o[value::Std] = m.std;
  o[value::Min] = x.empty() ? 0 : x[0], o[value::Max] = x.empty() ? 0 : x[0];
  double lo = static_cast<double>(n.attrs.ints[0]), hi = static_cast<double>(n.attrs.ints[1]);
  for (double v : x) {
    o[value::Min] = std::min(o[value::Min], v);
    o[value::Max] = std::max(o[value::Max], v);
    int64_t b = binOf(v, lo, hi);
    o[b < 0 ? value::Under : value::Hist + b] += 1;  // Hist + kBins is Over
  }
}

extern const OpDef kValueStats{
    .name = "value_stats", .summary = "statistics of a probed value: mean, std, min, max, histogram",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "lo", .kind = AttrSpec::Int, .index = 0}, {.name = "hi", .kind = AttrSpec::Int, .index = 1}},
    .orderBlind = true,
    .infer = inferValueStats, .eval = evalValueStats};

}  // namespace netc::ops
