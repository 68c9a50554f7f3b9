#include "ops/probe_common.h"

#include <cmath>
#include <fmt/format.h>

#include "codegen/kernel_emitter.h"
#include "ops/helpers.h"
#include "ops/probe_layout.h"

namespace netc::ops::probe_common {

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

int64_t unitsOf(const Graph& g, const Node& n, int input) {
  const Shape& s = g[n.inputs[input]].shape;
  if (s.empty() || s.back() == kBatch)
    shapeError(g, n, fmt::format("{} must have its units on a fixed last axis, found shape {}",
                                 g.describe(n.inputs[input]), shapeStr(s)));
  return s.back();
}

void requireSameShape(const Graph& g, const Node& n, int a, int b) {
  const Shape& sa = g[n.inputs[a]].shape;
  const Shape& sb = g[n.inputs[b]].shape;
  if (sa != sb)
    shapeError(g, n, fmt::format("{} {} and {} {} must have the same shape", g.describe(n.inputs[a]), shapeStr(sa),
                                 g.describe(n.inputs[b]), shapeStr(sb)));
}

void emitZero(KernelEmitter& k, int node, int64_t count) {
  k.loop("zero", count, [&](llvm::Value* i) { k.store(node, i, k.f32(0)); });
}

llvm::Value* emitMean(KernelEmitter& k, int node, int64_t n) {
  auto& b = k.b;
  KernelEmitter::Reassociate fast(b);  // a plain sum: any order will do, so it vectorises
  auto s = k.loop("sum", n, {k.f32(0)}, [&](llvm::Value* i, const std::vector<llvm::Value*>& a) {
    return std::vector<llvm::Value*>{b.CreateFAdd(a[0], k.load(node, i))};
  });
  return b.CreateFMul(s[0], k.f32(n > 0 ? 1.0 / static_cast<double>(n) : 0.0), "mean");
}

llvm::Value* emitStd(KernelEmitter& k, llvm::Value* sumSq, int64_t n) {
  if (n < 2) return k.f32(0);
  llvm::Value* var = k.b.CreateFMul(sumSq, k.f32(1.0 / static_cast<double>(n - 1)));
  return k.b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, var, nullptr, "std");
}

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

void emitBump(KernelEmitter& k, int node, llvm::Value* slot, llvm::Value* inc) {
  k.store(node, slot, k.b.CreateFAdd(k.load(node, slot), inc));
}

llvm::Value* emitOne(KernelEmitter& k, llvm::Value* cond) { return k.b.CreateSelect(cond, k.f32(1), k.f32(0)); }

}  // namespace netc::ops::probe_common
