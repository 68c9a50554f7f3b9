// The probes: layer_stats, grad_stats, value_stats and param_stats, the statistics the instrumentation pass
// appends (layouts in ops/probe_layout.h), computed by the same definitions as the ops' reference evaluation
// in float32: sums first (vectorised), then one loop for the squared deviations, counts and histogram bins.
#include <cmath>
#include <vector>

#include <llvm/IR/IRBuilder.h>

#include "codegen/kernel_emitter.h"
#include "codegen/kernels/emitters.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"
#include "scalar_ir/fast_math.h"

namespace netc::codegen {

using ops::probe_common::activationOf;
using probe::Activation;

namespace {

// Sets out[0, count) to zero.
void emitZero(KernelEmitter& k, int node, int64_t count) {
  k.loop("zero", count, [&](llvm::Value* i) { k.store(node, i, k.f32(0)); });
}

// The mean of node's n elements.
llvm::Value* emitMean(KernelEmitter& k, int node, int64_t n) {
  auto& b = k.b;
  KernelEmitter::Reassociate fast(b);  // a plain sum: any order will do, so it vectorises
  auto s = k.loop("sum", n, {k.f32(0)}, [&](llvm::Value* i, const std::vector<llvm::Value*>& a) {
    return std::vector<llvm::Value*>{b.CreateFAdd(a[0], k.load(node, i))};
  });
  return b.CreateFMul(s[0], k.f32(n > 0 ? 1.0 / static_cast<double>(n) : 0.0), "mean");
}

// Unbiased std from a sum of squared deviations over n values; 0 when n < 2.
llvm::Value* emitStd(KernelEmitter& k, llvm::Value* sumSq, int64_t n) {
  if (n < 2) return k.f32(0);
  llvm::Value* var = k.b.CreateFMul(sumSq, k.f32(1.0 / static_cast<double>(n - 1)));
  return k.b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, var, nullptr, "std");
}

// The output slot of v among kBins bins over [lo, hi) (probe::binOf): `under` below lo or NaN, `first + bin`
// inside, `over` at or above hi.
llvm::Value* emitBinSlot(KernelEmitter& k, llvm::Value* v, double lo, double hi, int64_t under, int64_t first,
                         int64_t over) {
  auto& b = k.b;
  llvm::Value* geLo = b.CreateFCmpOGE(v, k.f32(lo));  // false for NaN, as in probe::binOf
  llvm::Value* geHi = b.CreateFCmpOGE(v, k.f32(hi));
  llvm::Value* inside = b.CreateAnd(geLo, b.CreateNot(geHi));
  // Converted only where it is in range: fptosi of a huge or NaN value would be poison.
  llvm::Value* pos = b.CreateFMul(b.CreateFSub(v, k.f32(lo)), k.f32(probe::kBins / (hi - lo)));
  llvm::Value* bin = b.CreateFPToSI(b.CreateSelect(inside, pos, k.f32(0)), k.i64Ty());
  bin = b.CreateSelect(b.CreateICmpSGT(bin, k.i64(probe::kBins - 1)), k.i64(probe::kBins - 1), bin);
  llvm::Value* slot = b.CreateSelect(geHi, k.i64(over), b.CreateAdd(k.i64(first), bin));
  return b.CreateSelect(geLo, slot, k.i64(under));
}

// out[slot] += inc (f32 counts: exact up to 2^24 per slot).
void emitBump(KernelEmitter& k, int node, llvm::Value* slot, llvm::Value* inc) {
  k.store(node, slot, k.b.CreateFAdd(k.load(node, slot), inc));
}

// 1.0f where cond holds, else 0.0f.
llvm::Value* emitOne(KernelEmitter& k, llvm::Value* cond) { return k.b.CreateSelect(cond, k.f32(1), k.f32(0)); }

// The activation's tests in float32: {low, high} sides of "beyond `level`" (saturated or flat).
struct Sides {
  llvm::Value* low;
  llvm::Value* high;
};
Sides emitSides(KernelEmitter& k, Activation act, llvm::Value* v, double level) {
  auto& b = k.b;
  switch (act) {
    case Activation::Tanh: return {b.CreateFCmpOLT(v, k.f32(-level)), b.CreateFCmpOGT(v, k.f32(level))};
    case Activation::Sigmoid: return {b.CreateFCmpOLT(v, k.f32(1 - level)), b.CreateFCmpOGT(v, k.f32(level))};
    case Activation::Relu: return {b.CreateFCmpOEQ(v, k.f32(0)), b.getFalse()};
  }
  return {b.getFalse(), b.getFalse()};
}

}  // namespace

// The same passes in float32: sums first (vectorised), then one loop over the rows and units for the squared
// deviations, counts and histogram bins, then the per-unit counts become dead flags.
void emitLayerStats(KernelEmitter& k, const Node& n) {
  using namespace probe;
  auto& b = k.b;
  const Activation act = activationOf(n);
  const int pre = n.inputs[0], t = n.inputs[1], o = n.id;
  const int64_t units = k.g[t].shape.back(), count = numel(k.g[t].shape), rows = count / units;
  const double lo = outLo(act), hi = outHi(act);
  const double flatLevel = act == Activation::Sigmoid ? 1 - kFlatMargin : kDeadThreshold;
  emitZero(k, o, layer::size(units));
  llvm::Value* meanPre = emitMean(k, pre, count);
  llvm::Value* meanOut = emitMean(k, t, count);
  // squared deviations of pre and t, saturated low and high, flat
  std::vector<llvm::Value*> init(5, k.f32(0));
  auto acc = k.loop("r", rows, init, [&](llvm::Value* r, const std::vector<llvm::Value*>& a0) {
    return k.loop("u", units, a0, [&](llvm::Value* u, const std::vector<llvm::Value*>& a) {
      llvm::Value* i = b.CreateAdd(b.CreateMul(r, k.i64(units)), u);
      llvm::Value* p = k.load(pre, i), *v = k.load(t, i);
      llvm::Value* dp = b.CreateFSub(p, meanPre), *dv = b.CreateFSub(v, meanOut);
      Sides sat = emitSides(k, act, v, n.attrs.value);
      Sides flatSides = emitSides(k, act, v, flatLevel);
      llvm::Value* flat = emitOne(k, b.CreateOr(flatSides.low, flatSides.high));
      emitBump(k, o, b.CreateAdd(k.i64(layer::Dead), u), flat);
      // tanh and sigmoid fold their top edge into the last bin; relu counts it as over.
      llvm::Value* w = act == Activation::Relu
                           ? v
                           : b.CreateSelect(b.CreateFCmpOEQ(v, k.f32(hi)), k.f32(hi - (hi - lo) / (2 * kBins)), v);
      emitBump(k, o, emitBinSlot(k, w, lo, hi, layer::OutUnder, layer::OutHist, layer::OutOver), k.f32(1));
      emitBump(k, o, emitBinSlot(k, p, kPreLo, kPreHi, layer::PreUnder, layer::PreHist, layer::PreOver), k.f32(1));
      return std::vector<llvm::Value*>{b.CreateFAdd(a[0], b.CreateFMul(dp, dp)), b.CreateFAdd(a[1], b.CreateFMul(dv, dv)),
                                       b.CreateFAdd(a[2], emitOne(k, sat.low)), b.CreateFAdd(a[3], emitOne(k, sat.high)),
                                       b.CreateFAdd(a[4], flat)};
    });
  });
  k.store(o, k.i64(layer::PreMean), meanPre);
  k.store(o, k.i64(layer::PreStd), emitStd(k, acc[0], count));
  k.store(o, k.i64(layer::OutMean), meanOut);
  k.store(o, k.i64(layer::OutStd), emitStd(k, acc[1], count));
  k.store(o, k.i64(layer::SaturatedLow), acc[2]);
  k.store(o, k.i64(layer::SaturatedHigh), acc[3]);
  k.store(o, k.i64(layer::Flat), acc[4]);
  llvm::Value* allRows = k.f32(static_cast<double>(rows));
  auto deadCount = k.loop("d", units, {k.f32(0)}, [&](llvm::Value* u, const std::vector<llvm::Value*>& a) {
    llvm::Value* at = b.CreateAdd(k.i64(layer::Dead), u);
    llvm::Value* flag = emitOne(k, b.CreateFCmpOEQ(k.load(o, at), allRows));
    k.store(o, at, flag);
    return std::vector<llvm::Value*>{b.CreateFAdd(a[0], flag)};
  });
  k.store(o, k.i64(layer::DeadCount), deadCount[0]);
}

void emitGradStats(KernelEmitter& k, const Node& n) {
  using namespace probe;
  auto& b = k.b;
  const int x = n.inputs[0], lgNode = n.inputs[1], o = n.id;
  const int64_t count = numel(k.g[x].shape);
  emitZero(k, o, grad::Size);
  llvm::Value* mean = emitMean(k, x, count);
  auto acc = k.loop("i", count, {k.f32(0), k.f32(0)}, [&](llvm::Value* i, const std::vector<llvm::Value*>& a) {
    llvm::Value* v = k.load(x, i);
    llvm::Value* d = b.CreateFSub(v, mean);
    llvm::Value* zero = b.CreateFCmpOEQ(v, k.f32(0));
    // A zero goes to its own slot, whatever its log (-inf); inf stays inf (over), NaN stays NaN (under).
    llvm::Value* lg = k.load(lgNode, i);
    llvm::Value* slot = emitBinSlot(k, lg, kGradLo, kGradHi, grad::Under, grad::Hist, grad::Over);
    emitBump(k, o, b.CreateSelect(zero, k.i64(grad::Zero), slot), k.f32(1));
    return std::vector<llvm::Value*>{b.CreateFAdd(a[0], b.CreateFMul(d, d)), a[1]};
  });
  k.store(o, k.i64(grad::Mean), mean);
  k.store(o, k.i64(grad::Std), emitStd(k, acc[0], count));
}

void emitValueStats(KernelEmitter& k, const Node& n) {
  using namespace probe;
  auto& b = k.b;
  const int x = n.inputs[0], o = n.id;
  const int64_t count = numel(k.g[x].shape);
  const double lo = static_cast<double>(n.attrs.ints[0]), hi = static_cast<double>(n.attrs.ints[1]);
  emitZero(k, o, value::Size);
  llvm::Value* mean = emitMean(k, x, count);
  llvm::Value* first = k.load(x, k.i64(0));
  auto acc = k.loop("i", count, {k.f32(0), first, first}, [&](llvm::Value* i, const std::vector<llvm::Value*>& a) {
    llvm::Value* v = k.load(x, i);
    llvm::Value* d = b.CreateFSub(v, mean);
    emitBump(k, o, emitBinSlot(k, v, lo, hi, value::Under, value::Hist, value::Over), k.f32(1));
    return std::vector<llvm::Value*>{b.CreateFAdd(a[0], b.CreateFMul(d, d)),
                                     b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, a[1], v),
                                     b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, a[2], v)};
  });
  k.store(o, k.i64(value::Mean), mean);
  k.store(o, k.i64(value::Std), emitStd(k, acc[0], count));
  k.store(o, k.i64(value::Min), acc[1]);
  k.store(o, k.i64(value::Max), acc[2]);
}

void emitParamStats(KernelEmitter& k, const Node& n) {
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
  k.store(o, k.i64(param::UpdateToData), b.CreateFMul(scalar_ir::emitLog(b, ratio), k.f32(1.0 / std::log(10.0))));
}

}  // namespace netc::codegen
