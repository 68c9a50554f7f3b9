// Row reductions and their adjoints: sum and mean over one axis (or all), var (two passes: the mean, then the
// squared deviations), expand (the broadcast that differentiates a sum) and sum_to (undoing a broadcast; the
// bias gradient's rows summed to a row, split across a team as partial rows).
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <utility>

#include "codegen/kernel_emitter.h"
#include "codegen/kernels/emitters.h"
#include "ops/max.h"
#include "ops/reduce.h"

namespace netc::codegen {

using ops::allAxes;

namespace {

// A reduction or expansion along one axis sees its operand as [outer, K, inner]; along all axes as [1, numel, 1].
struct AxisSplit {
  int64_t outer = 1, K = 1, inner = 1;
};

AxisSplit splitAt(const Node& n, const Shape& full) {
  AxisSplit s;
  if (allAxes(n)) {
    s.K = numel(full);
    return s;
  }
  int64_t ax = n.attrs.ints[0] < 0 ? n.attrs.ints[0] + static_cast<int64_t>(full.size()) : n.attrs.ints[0];
  for (int64_t i = 0; i < ax; ++i) s.outer *= full[i];
  s.K = full[ax];
  for (size_t i = ax + 1; i < full.size(); ++i) s.inner *= full[i];
  return s;
}

void emitReduce(KernelEmitter& k, const Node& n, bool mean) {
  int x = n.inputs[0];
  AxisSplit s = splitAt(n, k.g[x].shape);
  auto& b = k.b;
  llvm::Value* scale = k.f32(mean ? 1.0 / static_cast<double>(s.K) : 1.0);
  k.loop("o", s.outer, [&](llvm::Value* o) {
    if (s.inner == 1) {  // a contiguous run: accumulate in a register
      KernelEmitter::Reassociate fast(b);
      llvm::Value* base = b.CreateMul(o, k.i64(s.K));
      auto acc = k.loop("k", s.K, {k.f32(0)}, [&](llvm::Value* kk, const std::vector<llvm::Value*>& a) {
        return std::vector<llvm::Value*>{b.CreateFAdd(a[0], k.load(x, b.CreateAdd(base, kk)))};
      });
      k.store(n.id, o, b.CreateFMul(acc[0], scale));
      return;
    }
    // Rows of `inner` contiguous values: add whole rows, the inner loop vectorises.
    llvm::Value* dst = b.CreateMul(o, k.i64(s.inner));
    k.loop("i", s.inner, [&](llvm::Value* i) { k.store(n.id, b.CreateAdd(dst, i), k.f32(0)); });
    k.loop("k", s.K, [&](llvm::Value* kk) {
      llvm::Value* src = b.CreateMul(b.CreateAdd(b.CreateMul(o, k.i64(s.K)), kk), k.i64(s.inner));
      k.loop("i", s.inner, [&](llvm::Value* i) {
        llvm::Value* at = b.CreateAdd(dst, i);
        k.store(n.id, at, b.CreateFAdd(k.load(n.id, at), k.load(x, b.CreateAdd(src, i))));
      });
    });
    if (mean)
      k.loop("i", s.inner, [&](llvm::Value* i) {
        llvm::Value* at = b.CreateAdd(dst, i);
        k.store(n.id, at, b.CreateFMul(k.load(n.id, at), scale));
      });
  });
}

// The bias gradient's case of sum_to: every leading axis summed away, the last kept ([R, C] -> [C]).
bool sumsRowsToRow(const Shape& xs, const Shape& os) {
  const int64_t C = os.empty() ? 1 : os.back();
  return C > 1 && numel(os) == C && !xs.empty() && xs.back() == C;
}

}  // namespace

void emitSum(KernelEmitter& k, const Node& n) { emitReduce(k, n, false); }
void emitMean(KernelEmitter& k, const Node& n) { emitReduce(k, n, true); }

// Two passes per output element, the mean first, then the squared deviations from it (no cancellation of a
// one-pass sum of squares). The passes read along k with stride `inner`.
void emitVar(KernelEmitter& k, const Node& n) {
  int x = n.inputs[0];
  ops::VarSplit s = ops::varSplit(n, k.g[x].shape);
  auto& b = k.b;
  KernelEmitter::Reassociate fast(b);
  llvm::Value* invK = k.f32(1.0 / static_cast<double>(s.K));
  llvm::Value* invDenom = k.f32(1.0 / (static_cast<double>(s.K) - n.attrs.value));
  k.loop("o", s.outer, [&](llvm::Value* o) {
    k.loop("i", s.inner, [&](llvm::Value* i) {
      auto at = [&](llvm::Value* kk) {
        return b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(o, k.i64(s.K)), kk), k.i64(s.inner)), i);
      };
      auto sum = k.loop("k", s.K, {k.f32(0)}, [&](llvm::Value* kk, const std::vector<llvm::Value*>& a) {
        return std::vector<llvm::Value*>{b.CreateFAdd(a[0], k.load(x, at(kk)))};
      });
      llvm::Value* mean = b.CreateFMul(sum[0], invK);
      auto sq = k.loop("k2", s.K, {k.f32(0)}, [&](llvm::Value* kk, const std::vector<llvm::Value*>& a) {
        llvm::Value* d = b.CreateFSub(k.load(x, at(kk)), mean);
        return std::vector<llvm::Value*>{b.CreateFAdd(a[0], b.CreateFMul(d, d))};
      });
      k.store(n.id, b.CreateAdd(b.CreateMul(o, k.i64(s.inner)), i), b.CreateFMul(sq[0], invDenom));
    });
  });
}

void emitExpand(KernelEmitter& k, const Node& n) {
  int dy = n.inputs[0];
  AxisSplit s = splitAt(n, n.shape);
  auto& b = k.b;
  llvm::Value* scale = k.f32(n.attrs.value != 0 ? 1.0 / static_cast<double>(s.K) : 1.0);
  k.loop("o", s.outer, [&](llvm::Value* o) {
    k.loop("k", s.K, [&](llvm::Value* kk) {
      llvm::Value* dst = b.CreateMul(b.CreateAdd(b.CreateMul(o, k.i64(s.K)), kk), k.i64(s.inner));
      llvm::Value* src = b.CreateMul(o, k.i64(s.inner));
      k.loop("i", s.inner, [&](llvm::Value* i) {
        k.store(n.id, b.CreateAdd(dst, i), b.CreateFMul(k.load(dy, b.CreateAdd(src, i)), scale));
      });
    });
  });
}

// sum_to: out[broadcast index of p] += x[p] over every position p of x, as a loop nest over x's shape.
void emitSumTo(KernelEmitter& k, const Node& n) {
  int x = n.inputs[0];
  const Shape& xs = k.g[x].shape;
  const Shape& os = n.shape;
  auto& b = k.b;
  // Rows to a row: the input is read once, four rows at a time, added into the output row (which stays in
  // L1) a vector at a time.
  const int64_t C = os.empty() ? 1 : os.back();
  if (sumsRowsToRow(xs, os)) {
    const int64_t R = numel(xs) / C, chunk = 4;
    llvm::Value* in = k.ptr(x);
    llvm::Value* out = k.ptr(n.id);
    // Rows first .. first+count-1 of the input added into `into` (zeroed first).
    auto sumRows = [&](llvm::Value* into, llvm::Value* first, int64_t count) {
      k.forVectors("zero", C, [&](llvm::Value* c, llvm::Value* mask) {
        k.storeVec(into, c, llvm::Constant::getNullValue(k.vecTy(k.lanes())), mask);
      });
      auto addRows = [&](llvm::Value* r0, int64_t rows) {
        k.forVectors("col", C, [&](llvm::Value* c, llvm::Value* mask) {
          std::vector<llvm::Value*> terms;
          for (int64_t r = 0; r < rows; ++r)
            terms.push_back(k.loadVec(in, b.CreateAdd(b.CreateMul(b.CreateAdd(r0, k.i64(r)), k.i64(C)), c), k.lanes(), mask));
          while (terms.size() > 1) {  // pairwise: short dependency chains
            std::vector<llvm::Value*> sums;
            for (size_t i = 0; i + 1 < terms.size(); i += 2) sums.push_back(b.CreateFAdd(terms[i], terms[i + 1]));
            if (terms.size() % 2) sums.push_back(terms.back());
            terms = sums;
          }
          k.storeVec(into, c, b.CreateFAdd(k.loadVec(into, c, k.lanes(), mask), terms[0]), mask);
        });
      };
      if (count / chunk > 0)
        k.loop("rows", count / chunk, [&](llvm::Value* q) { addRows(b.CreateAdd(first, b.CreateMul(q, k.i64(chunk))), chunk); },
               KernelEmitter::Hint::Explicit);
      if (count % chunk > 0)
        k.loop("row", count % chunk, [&](llvm::Value* r) { addRows(b.CreateAdd(first, b.CreateAdd(r, k.i64(count / chunk * chunk))), 1); },
               KernelEmitter::Hint::Explicit);
    };
    if (!k.sumSplit()) return sumRows(out, k.i64(0), R);
    // A team shares the rows: each thread sums its own into its partial row, and the thread whose share of the
    // one output row it is (forRowShares gives it to the last) adds those up in thread order.
    k.splitSum(R, chunk, [&](llvm::Value* first, int64_t count, llvm::Value* mine) {
      sumRows(k.at(mine, k.i64(0), k.f32Ty()), first, count);
    }, [&](const std::function<llvm::Value*(int)>& partialOf) {
      k.forRowShares(1, 1, [&](llvm::Value*, int64_t) {
        k.forVectors("total", C, [&](llvm::Value* c, llvm::Value* mask) {
          k.storeVec(out, c, k.addPartials(partialOf, c, k.lanes(), mask), mask);
        });
      });
    });
    return;
  }
  k.loop("zero", numel(os), [&](llvm::Value* i) { k.store(n.id, i, k.f32(0)); });
  // Output strides over x's dimensions: 0 where the output has no such axis or a broadcast size 1.
  std::vector<int64_t> ost(xs.size(), 0);
  int64_t run = 1;
  for (int d = static_cast<int>(os.size()) - 1; d >= 0; --d) {
    int xd = d + static_cast<int>(xs.size()) - static_cast<int>(os.size());
    if (xd >= 0 && os[d] != 1) ost[xd] = run;
    run *= os[d];
  }
  std::function<void(size_t, llvm::Value*, llvm::Value*)> nest = [&](size_t d, llvm::Value* xi, llvm::Value* oi) {
    if (d == xs.size()) {
      k.store(n.id, oi, b.CreateFAdd(k.load(n.id, oi), k.load(x, xi)));
      return;
    }
    k.loop(fmt::format("d{}", d), xs[d], [&](llvm::Value* i) {
      llvm::Value* xn = b.CreateAdd(b.CreateMul(xi, k.i64(xs[d])), i);
      llvm::Value* on = ost[d] ? b.CreateAdd(oi, b.CreateMul(i, k.i64(ost[d]))) : oi;
      nest(d + 1, xn, on);
    });
  };
  nest(0, k.i64(0), k.i64(0));
}

// max and max_grad: per line (o, i) along the axis, the running maximum and its index, the first on ties (a
// strictly larger value or a NaN replaces it, nothing replaces a NaN: the reference's rule, ops/max.cpp).
static std::pair<llvm::Value*, llvm::Value*> lineMax(KernelEmitter& k, int x, const ops::MaxSplit& s, llvm::Value* o,
                                                     llvm::Value* i) {
  auto& b = k.b;
  auto best = k.loop("k", s.K, {k.f32(-INFINITY), k.i64(0)}, [&](llvm::Value* kk, const std::vector<llvm::Value*>& a) {
    llvm::Value* v = k.load(x, b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(o, k.i64(s.K)), kk), k.i64(s.inner)), i));
    llvm::Value* wins = b.CreateAnd(b.CreateFCmpUGT(v, a[0]), b.CreateFCmpORD(a[0], a[0]), "wins");
    return std::vector<llvm::Value*>{b.CreateSelect(wins, v, a[0]), b.CreateSelect(wins, kk, a[1])};
  });
  return {best[0], best[1]};
}

void emitMax(KernelEmitter& k, const Node& n) {
  const ops::MaxSplit s = ops::maxSplit(n, k.g[n.inputs[0]].shape);
  auto& b = k.b;
  k.loop("o", s.outer, [&](llvm::Value* o) {
    k.loop("i", s.inner, [&](llvm::Value* i) {
      k.store(n.id, b.CreateAdd(b.CreateMul(o, k.i64(s.inner)), i), lineMax(k, n.inputs[0], s, o, i).first);
    });
  });
}

void emitMaxGrad(KernelEmitter& k, const Node& n) {
  const int x = n.inputs[0], dy = n.inputs[1];
  const ops::MaxSplit s = ops::maxSplit(n, k.g[x].shape);
  auto& b = k.b;
  k.loop("o", s.outer, [&](llvm::Value* o) {
    k.loop("i", s.inner, [&](llvm::Value* i) {
      llvm::Value* arg = lineMax(k, x, s, o, i).second;
      llvm::Value* d = k.load(dy, b.CreateAdd(b.CreateMul(o, k.i64(s.inner)), i));
      k.loop("k2", s.K, [&](llvm::Value* kk) {
        llvm::Value* at = b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(o, k.i64(s.K)), kk), k.i64(s.inner)), i);
        k.store(n.id, at, b.CreateSelect(b.CreateICmpEQ(kk, arg), d, k.f32(0)));
      });
    });
  });
}

// Rows to a row with at least 32 rows per thread: a team shares the rows, each thread's partial one row.
int64_t sumToPartialBytes(const Graph& g, const Node& n, int threads) {
  const Shape& xs = g[n.inputs[0]].shape;
  const int64_t C = n.shape.empty() ? 1 : n.shape.back();
  return sumsRowsToRow(xs, n.shape) && numel(xs) / C >= 32 * threads ? (C + 15) / 16 * 16 * 4 : 0;
}

}  // namespace netc::codegen
