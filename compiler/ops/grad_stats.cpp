// grad_stats(g, lg): the statistics of a gradient (layout probe::grad in ops/probe_layout.h): mean, unbiased std,
// the count of exact zeros and a histogram of lg = log10|g| over fixed decades. The instrumentation pass appends
// one for every probed value (g = d loss / d value, the lecture's `t.grad`) and every parameter of rank 2 (its
// weight gradient), with lg computed by ordinary elementwise nodes before it (log(g * g) / (2 ln 10)): fused and
// vectorised like any other elementwise work, where a log inside this binning loop would run one element at a
// time and cost ten times the rest of the probe step. Never differentiated.
#include <cmath>

#include "ops/helpers.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"

namespace netc::ops {

using namespace probe_common;

static void inferGradStats(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireF32(g, n, 1);
  requireSameShape(g, n, 0, 1);
  n.dtype = DType::F32;
  n.shape = {probe::grad::Size};
}

static void evalGradStats(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  using namespace probe;
  const std::vector<double>& x = in[0]->data;
  const std::vector<double>& lg = in[1]->data;
  out.data.assign(grad::Size, 0.0);
  double* o = out.data.data();
  Moments m = moments(x);
  o[grad::Mean] = m.mean, o[grad::Std] = m.std;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == 0) {
      o[grad::Zero] += 1;
      continue;
    }
    int64_t b = binOf(lg[i], kGradLo, kGradHi);  // NaN: below
    o[b < 0 ? grad::Under : grad::Hist + b] += 1;  // Hist + kBins is Over
  }
}

extern const OpDef kGradStats{
    .name = "grad_stats", .summary = "statistics of a gradient (probe): mean, std, zeros, histogram of log10|g|",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .infer = inferGradStats, .eval = evalGradStats};

}  // namespace netc::ops
