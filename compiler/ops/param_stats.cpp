// param_stats(p, dp, lr): how a parameter learns (layout probe::param): its gradient's mean and std, its own
// mean and std, grad-to-data = std(dp) / std(p) and update-to-data = log10(std(lr * dp) / std(p)), the
// lecture's ~-3 rule. The instrumentation pass passes p after this step's update (the sgd node), as the
// lecture measures it after `p.data += -lr * p.grad`. Never differentiated.
#include <cmath>
#include <fmt/format.h>

#include "ops/helpers.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"

namespace netc::ops {

using namespace probe_common;

static void inferParamStats(const Graph& g, Node& n) {
  for (int i = 0; i < 3; ++i) requireF32(g, n, i);
  requireSameShape(g, n, 0, 1);
  if (!g[n.inputs[2]].shape.empty())
    shapeError(g, n, fmt::format("the learning rate {} must be a scalar, found shape {}", g.describe(n.inputs[2]),
                                 shapeStr(g[n.inputs[2]].shape)));
  n.dtype = DType::F32;
  n.shape = {probe::param::Size};
}

static void evalParamStats(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  using namespace probe;
  Moments p = moments(in[0]->data), dp = moments(in[1]->data);
  double lr = in[2]->data.at(0);
  out.data.assign(param::Size, 0.0);
  double* o = out.data.data();
  o[param::GradMean] = dp.mean, o[param::GradStd] = dp.std;
  o[param::DataMean] = p.mean, o[param::DataStd] = p.std;
  // A parameter whose values are all equal (a bias started at zeros) has no spread to compare with: the
  // ratios are then +inf (NaN for a zero gradient too), and the runtime reports them as undefined.
  o[param::GradToData] = dp.std / p.std;
  o[param::UpdateToData] = std::log10(std::fabs(lr) * dp.std / p.std);
}

extern const OpDef kParamStats{
    .name = "param_stats", .summary = "gradient and update statistics of a parameter (probe)",
    .minInputs = 3, .maxInputs = 3, .cls = OpDef::Kernel, .internal = true, .orderBlind = true,
    .infer = inferParamStats, .eval = evalParamStats};

}  // namespace netc::ops
