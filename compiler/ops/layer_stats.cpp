// layer_stats(pre, t): what the makemore lecture looks at in an activation layer (tanh, sigmoid or relu, in
// Attrs::ints[0]), in one flat vector (layout probe::layer in ops/probe_layout.h): moments of the
// pre-activations and outputs, the saturated counts on either side (Attrs::value, train.saturation), the count in
// the flat region, dead units (flat for every row), and fixed-bin histograms of both. Appended by the
// instrumentation pass; never differentiated.
#include <cmath>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include "codegen/kernel_emitter.h"
#include "ops/helpers.h"
#include "ops/probe_common.h"
#include "ops/probe_layout.h"

namespace netc::ops {

using namespace probe_common;
using probe::Activation;

static Activation activationOf(const Node& n) { return static_cast<Activation>(n.attrs.ints.at(0)); }

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

namespace {
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
static void emitLayerStats(KernelEmitter& k, const Node& n) {
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

extern const OpDef kLayerStats{
    .name = "layer_stats",
    .summary = "statistics of an activation layer (probe): moments, histograms, saturation, dead units",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "activation", .kind = AttrSpec::Int,
               .valueName = [](int64_t a) { return probe::activationName(static_cast<Activation>(a)); }, .bare = true},
              {.name = "saturation", .kind = AttrSpec::Float, .slot = AttrSpec::Value}},
    .infer = inferLayerStats, .eval = evalLayerStats, .emitKernel = emitLayerStats};

}  // namespace netc::ops
