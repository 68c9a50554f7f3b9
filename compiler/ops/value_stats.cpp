// value_stats(x): a probed value that is not a tanh layer (the logits, most often): mean, std, min, max and a
// fixed-bin histogram over Attrs::ints = {lo, hi} with under/overflow (layout probe::value). Appended by the
// instrumentation pass; never differentiated.
#include <cmath>
#include <llvm/IR/IRBuilder.h>

#include "codegen/kernel_emitter.h"
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

static void emitValueStats(KernelEmitter& k, const Node& n) {
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

extern const OpDef kValueStats{
    .name = "value_stats", .summary = "statistics of a probed value: mean, std, min, max, histogram",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "lo", .kind = AttrSpec::Int, .index = 0}, {.name = "hi", .kind = AttrSpec::Int, .index = 1}},
    .orderBlind = true,
    .infer = inferValueStats, .eval = evalValueStats, .emitKernel = emitValueStats};

}  // namespace netc::ops
