// What the probe statistics ops (tanh_stats, value_stats, param_stats) share: moments in the reference
// evaluation, and the loops and histogram bins of their code generators. Layouts: ops/probe_layout.h.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/op.h"

namespace llvm {
class Value;
}

namespace netc::ops::probe_common {

// Mean and unbiased standard deviation (n - 1, as torch.std()), two passes for accuracy; std is 0 below two
// values rather than NaN, so a one-element tensor does not poison a summary.
struct Moments {
  double mean = 0, std = 0;
};
Moments moments(const std::vector<double>& x);

// Units are the last axis and must be a fixed size (one dead flag per unit); a shape error otherwise.
int64_t unitsOf(const Graph& g, const Node& n, int input);
void requireSameShape(const Graph& g, const Node& n, int a, int b);

// ---- code generation (the same definitions in float32) ----

// Sets out[0, count) to zero.
void emitZero(KernelEmitter& k, int node, int64_t count);
// The mean of node's n elements.
llvm::Value* emitMean(KernelEmitter& k, int node, int64_t n);
// Unbiased std from a sum of squared deviations over n values; 0 when n < 2.
llvm::Value* emitStd(KernelEmitter& k, llvm::Value* sumSq, int64_t n);
// The output slot of v among kBins bins over [lo, hi) (probe::binOf): `under` below lo or NaN, `first + bin`
// inside, `over` at or above hi.
llvm::Value* emitBinSlot(KernelEmitter& k, llvm::Value* v, double lo, double hi, int64_t under, int64_t first,
                         int64_t over);
// out[slot] += inc (f32 counts: exact up to 2^24 per slot).
void emitBump(KernelEmitter& k, int node, llvm::Value* slot, llvm::Value* inc);
// 1.0f where cond holds, else 0.0f.
llvm::Value* emitOne(KernelEmitter& k, llvm::Value* cond);

}  // namespace netc::ops::probe_common
