// The statistics of instrumented nodes, as ordinary (internal) graph ops: the instrumentation pass appends
// them, so every engine computes them like any other node (the JIT inside the compiled step) and the
// interpreter's double-precision evaluation is the oracle. Output layouts: ops/probe_layout.h.
#include <cmath>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "ops/helpers.h"
#include "ops/probe_layout.h"

namespace netc::ops {

namespace {

// Mean and unbiased standard deviation (n - 1, as torch.std()), two passes for accuracy; std is 0 below
// two values rather than NaN, so one-element tensors do not poison a summary.
struct Moments {
  double mean = 0, std = 0;
};
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

// Units are the last axis; it must be a concrete size because the output holds one dead flag per unit.
int64_t unitsOf(const Graph& g, const Node& n, int input) {
  const Shape& s = g[n.inputs[input]].shape;
  if (s.empty() || s.back() == kBatch)
    shapeError(g, n, fmt::format("{} must have its units on a fixed last axis, found shape {}",
                                 g.valueName(n.inputs[input]), shapeStr(s)));
  return s.back();
}

void requireSameShape(const Graph& g, const Node& n, int a, int b) {
  const Shape& sa = g[n.inputs[a]].shape;
  const Shape& sb = g[n.inputs[b]].shape;
  if (sa != sb)
    shapeError(g, n, fmt::format("{} {} and {} {} must have the same shape", g.valueName(n.inputs[a]), shapeStr(sa),
                                 g.valueName(n.inputs[b]), shapeStr(sb)));
}

// ---- tanh_stats(pre, t), Attrs::value = the saturation threshold of the share ----

void inferTanhStats(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireF32(g, n, 1);
  requireSameShape(g, n, 0, 1);
  if (!(n.attrs.value > 0 && n.attrs.value < 1))
    shapeError(g, n, fmt::format("the saturation threshold must lie in (0, 1), found {}", n.attrs.value));
  n.dtype = DType::F32;
  n.shape = {probe::tanh::size(unitsOf(g, n, 1))};
}

void evalTanhStats(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  using namespace probe;
  const std::vector<double>& pre = in[0]->data;
  const std::vector<double>& t = in[1]->data;
  int64_t units = in[1]->shape.back();
  int64_t rows = static_cast<int64_t>(t.size()) / units;
  out.data.assign(tanh::size(units), 0.0);
  double* o = out.data.data();
  Moments mp = moments(pre), mt = moments(t);
  o[tanh::PreMean] = mp.mean, o[tanh::PreStd] = mp.std;
  o[tanh::OutMean] = mt.mean, o[tanh::OutStd] = mt.std;
  std::vector<int64_t> beyondPerUnit(units, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < units; ++u) {
      double v = t[r * units + u], a = std::fabs(v);
      if (a > n.attrs.value) o[tanh::Saturated] += 1;
      if (a > kDeadThreshold) o[tanh::Beyond99] += 1, beyondPerUnit[u] += 1;
      // Outputs: 1.0 itself belongs to the last bin (torch.histc does the same); NaN is not counted.
      int64_t b = binOf(v, kOutLo, kOutHi);
      if (b >= 0) o[tanh::OutHist + std::min<int64_t>(b, kBins - 1)] += 1;
      int64_t pb = binOf(pre[r * units + u], kPreLo, kPreHi);
      o[pb < 0 ? tanh::PreUnder : tanh::PreHist + pb] += 1;  // PreHist + kBins is PreOver
    }
  for (int64_t u = 0; u < units; ++u)
    if (rows > 0 && beyondPerUnit[u] == rows) o[tanh::Dead + u] = 1, o[tanh::DeadCount] += 1;
}

// ---- value_stats(x), Attrs::ints = {lo, hi} ----

void inferValueStats(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  if (n.attrs.ints.size() != 2 || n.attrs.ints[0] >= n.attrs.ints[1])
    shapeError(g, n, "value_stats needs a histogram range {lo, hi} with lo < hi");
  n.dtype = DType::F32;
  n.shape = {probe::value::Size};
}

void evalValueStats(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
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

// ---- param_stats(p, dp, lr) ----

void inferParamStats(const Graph& g, Node& n) {
  for (int i = 0; i < 3; ++i) requireF32(g, n, i);
  requireSameShape(g, n, 0, 1);
  if (!g[n.inputs[2]].shape.empty())
    shapeError(g, n, fmt::format("the learning rate {} must be a scalar, found shape {}", g.valueName(n.inputs[2]),
                                 shapeStr(g[n.inputs[2]].shape)));
  n.dtype = DType::F32;
  n.shape = {probe::param::Size};
}

void evalParamStats(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  using namespace probe;
  Moments p = moments(in[0]->data), dp = moments(in[1]->data);
  double lr = in[2]->data.at(0);
  out.data.assign(param::Size, 0.0);
  double* o = out.data.data();
  o[param::GradMean] = dp.mean, o[param::GradStd] = dp.std;
  o[param::DataMean] = p.mean, o[param::DataStd] = p.std;
  // A parameter whose values are all equal (e.g. a bias initialised to zeros) has no spread to compare
  // with: the ratios are then +inf (or NaN for a zero gradient too), and the decoder reports them as such.
  o[param::GradToData] = dp.std / p.std;
  o[param::UpdateToData] = std::log10(std::fabs(lr) * dp.std / p.std);
}

}  // namespace

extern const OpDef kTanhStats{
    .name = "tanh_stats", .summary = "statistics of a tanh layer (probe): moments, histograms, saturation, dead units",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .infer = inferTanhStats, .eval = evalTanhStats};

extern const OpDef kValueStats{
    .name = "value_stats", .summary = "statistics of a probed value: mean, std, min, max, histogram",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel, .internal = true,
    .infer = inferValueStats, .eval = evalValueStats};

extern const OpDef kParamStats{
    .name = "param_stats", .summary = "gradient and update statistics of a parameter (probe)",
    .minInputs = 3, .maxInputs = 3, .cls = OpDef::Kernel, .internal = true,
    .infer = inferParamStats, .eval = evalParamStats};

// abs_gt(x, c) = 1 where |x| > c else 0: the lecture's `abs(h) > 0.99`, the dead-neuron image's pixels.
extern const OpDef kAbsGt{
    .name = "abs_gt", .summary = "1 where |x| > c, else 0 (probe mask)", .minInputs = 2, .maxInputs = 2,
    .cls = OpDef::Elementwise, .internal = true,
    .infer = inferBroadcast,
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::fabs(a[0]) > a[1] ? 1.0 : 0.0; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) -> llvm::Value* {
      llvm::Value* mag = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a[0]);
      llvm::Type* ty = a[0]->getType();
      return b.CreateSelect(b.CreateFCmpOGT(mag, a[1]), llvm::ConstantFP::get(ty, 1.0), llvm::ConstantFP::get(ty, 0.0));
    }};

}  // namespace netc::ops
