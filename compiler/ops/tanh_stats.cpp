// tanh_stats(pre, t): what the makemore lecture looks at in a tanh layer, in one flat vector (layout
// probe::tanh in ops/probe_layout.h): moments of the pre-activations and outputs, the saturated count
// (|t| > Attrs::value, train.saturation), the count beyond 0.99, dead units (beyond 0.99 for every row), and
// fixed-bin histograms of both. Appended by the instrumentation pass; never differentiated.
#include <cmath>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include "codegen/kernel_emitter.h"
#include "ops/helpers.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"

namespace netc::ops {

using namespace probe_common;

static void inferTanhStats(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireF32(g, n, 1);
  requireSameShape(g, n, 0, 1);
  if (!(n.attrs.value > 0 && n.attrs.value < 1))
    shapeError(g, n, fmt::format("the saturation threshold must lie in (0, 1), found {}", n.attrs.value));
  n.dtype = DType::F32;
  n.shape = {probe::tanh::size(unitsOf(g, n, 1))};
}

static void evalTanhStats(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
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
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < units; ++u) {
      double v = t[r * units + u], a = std::fabs(v);
      if (a > n.attrs.value) o[tanh::Saturated] += 1;
      // The Dead slots count rows beyond 0.99 per unit first; the last pass turns counts into flags.
      if (a > kDeadThreshold) o[tanh::Beyond99] += 1, o[tanh::Dead + u] += 1;
      // Outputs: 1.0 itself belongs to the last bin (as torch.histc); NaN is not counted.
      int64_t b = binOf(v, kOutLo, kOutHi);
      if (b >= 0) o[tanh::OutHist + std::min<int64_t>(b, kBins - 1)] += 1;
      int64_t pb = binOf(pre[r * units + u], kPreLo, kPreHi);
      o[pb < 0 ? tanh::PreUnder : tanh::PreHist + pb] += 1;  // PreHist + kBins is PreOver
    }
  for (int64_t u = 0; u < units; ++u) {
    bool dead = rows > 0 && o[tanh::Dead + u] == static_cast<double>(rows);
    o[tanh::Dead + u] = dead ? 1 : 0;
    o[tanh::DeadCount] += dead ? 1 : 0;
  }
}

// The same passes in float32: sums first (vectorised), then one loop over the rows and units for the squared
// deviations, counts and histogram bins, then the per-unit counts become dead flags.
static void emitTanhStats(KernelEmitter& k, const Node& n) {
  using namespace probe;
  auto& b = k.b;
  const int pre = n.inputs[0], t = n.inputs[1], o = n.id;
  const int64_t units = k.g[t].shape.back(), count = numel(k.g[t].shape), rows = count / units;
  emitZero(k, o, tanh::size(units));
  llvm::Value* meanPre = emitMean(k, pre, count);
  llvm::Value* meanOut = emitMean(k, t, count);
  llvm::Value* thr = k.f32(n.attrs.value);
  llvm::Value* dead = k.f32(kDeadThreshold);
  std::vector<llvm::Value*> init(4, k.f32(0));  // squared deviations of pre and t, saturated, beyond 0.99
  auto acc = k.loop("r", rows, init, [&](llvm::Value* r, const std::vector<llvm::Value*>& a0) {
    return k.loop("u", units, a0, [&](llvm::Value* u, const std::vector<llvm::Value*>& a) {
      llvm::Value* i = b.CreateAdd(b.CreateMul(r, k.i64(units)), u);
      llvm::Value* p = k.load(pre, i), *v = k.load(t, i);
      llvm::Value* dp = b.CreateFSub(p, meanPre), *dv = b.CreateFSub(v, meanOut);
      llvm::Value* mag = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, v);
      llvm::Value* beyond = emitOne(k, b.CreateFCmpOGT(mag, dead));
      emitBump(k, o, b.CreateAdd(k.i64(tanh::Dead), u), beyond);
      // Outputs: the top edge folds into the last bin and below -1 or NaN adds nothing.
      llvm::Value* inRange = emitOne(k, b.CreateFCmpOGE(v, k.f32(kOutLo)));
      emitBump(k, o, emitBinSlot(k, v, kOutLo, kOutHi, tanh::OutHist, tanh::OutHist, tanh::OutHist + kBins - 1),
               inRange);
      emitBump(k, o, emitBinSlot(k, p, kPreLo, kPreHi, tanh::PreUnder, tanh::PreHist, tanh::PreOver), k.f32(1));
      return std::vector<llvm::Value*>{b.CreateFAdd(a[0], b.CreateFMul(dp, dp)), b.CreateFAdd(a[1], b.CreateFMul(dv, dv)),
                                       b.CreateFAdd(a[2], emitOne(k, b.CreateFCmpOGT(mag, thr))),
                                       b.CreateFAdd(a[3], beyond)};
    });
  });
  k.store(o, k.i64(tanh::PreMean), meanPre);
  k.store(o, k.i64(tanh::PreStd), emitStd(k, acc[0], count));
  k.store(o, k.i64(tanh::OutMean), meanOut);
  k.store(o, k.i64(tanh::OutStd), emitStd(k, acc[1], count));
  k.store(o, k.i64(tanh::Saturated), acc[2]);
  k.store(o, k.i64(tanh::Beyond99), acc[3]);
  llvm::Value* allRows = k.f32(static_cast<double>(rows));
  auto deadCount = k.loop("d", units, {k.f32(0)}, [&](llvm::Value* u, const std::vector<llvm::Value*>& a) {
    llvm::Value* at = b.CreateAdd(k.i64(tanh::Dead), u);
    llvm::Value* flag = emitOne(k, b.CreateFCmpOEQ(k.load(o, at), allRows));
    k.store(o, at, flag);
    return std::vector<llvm::Value*>{b.CreateFAdd(a[0], flag)};
  });
  k.store(o, k.i64(tanh::DeadCount), deadCount[0]);
}

extern const OpDef kTanhStats{
    .name = "tanh_stats", .summary = "statistics of a tanh layer (probe): moments, histograms, saturation, dead units",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .infer = inferTanhStats, .eval = evalTanhStats, .emitKernel = emitTanhStats};

}  // namespace netc::ops
