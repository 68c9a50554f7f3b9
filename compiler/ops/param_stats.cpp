// param_stats(p, dp, lr): how a parameter learns (layout probe::param): its gradient's mean and std, its own
// mean and std, grad-to-data = std(dp) / std(p) and update-to-data = log10(std(lr * dp) / std(p)), the
// lecture's ~-3 rule. The instrumentation pass passes p after this step's update (the sgd node), as the
// lecture measures it after `p.data += -lr * p.grad`. Never differentiated.
#include <cmath>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include "codegen/fast_math.h"
#include "codegen/kernel_emitter.h"
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

static void emitParamStats(KernelEmitter& k, const Node& n) {
  using namespace probe;
  auto& b = k.b;
  const int p = n.inputs[0], dp = n.inputs[1], lr = n.inputs[2], o = n.id;
  const int64_t count = numel(k.g[p].shape);
  llvm::Value* meanP = emitMean(k, p, count);
  llvm::Value* meanD = emitMean(k, dp, count);
  std::vector<llvm::Value*> ss;
  {
    KernelEmitter::Reassociate fast(b);
    ss = k.loop("i", count, {k.f32(0), k.f32(0)}, [&](llvm::Value* i, const std::vector<llvm::Value*>& a) {
      llvm::Value* x = b.CreateFSub(k.load(p, i), meanP);
      llvm::Value* y = b.CreateFSub(k.load(dp, i), meanD);
      return std::vector<llvm::Value*>{b.CreateFAdd(a[0], b.CreateFMul(x, x)), b.CreateFAdd(a[1], b.CreateFMul(y, y))};
    });
  }
  llvm::Value* stdP = emitStd(k, ss[0], count);
  llvm::Value* stdD = emitStd(k, ss[1], count);
  llvm::Value* rate = k.constant(lr) ? k.f32(*k.constant(lr)) : k.load(lr, k.i64(0));
  rate = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, rate);
  llvm::Value* ratio = b.CreateFDiv(b.CreateFMul(rate, stdD), stdP);
  k.store(o, k.i64(param::GradMean), meanD);
  k.store(o, k.i64(param::GradStd), stdD);
  k.store(o, k.i64(param::DataMean), meanP);
  k.store(o, k.i64(param::DataStd), stdP);
  k.store(o, k.i64(param::GradToData), b.CreateFDiv(stdD, stdP));
  // log10 through the generated natural log (no libm call in JIT code); it keeps log(0) = -inf, log(inf) = inf.
  k.store(o, k.i64(param::UpdateToData), b.CreateFMul(codegen::emitLog(b, ratio), k.f32(1.0 / std::log(10.0))));
}

extern const OpDef kParamStats{
    .name = "param_stats", .summary = "gradient and update statistics of a parameter (probe)",
    .minInputs = 3, .maxInputs = 3, .cls = OpDef::Kernel, .internal = true, .orderBlind = true,
    .infer = inferParamStats, .eval = evalParamStats, .emitKernel = emitParamStats};

}  // namespace netc::ops
