// The loss: cross_entropy and cross_entropy_grad, rows of V logits in vectors (the last one masked), exp and log
// from scalar_ir/fast_math. When the planner pairs the loss with its gradient (Kernel::partners) one pass over
// the logits writes both; a team shares the rows, each thread's sum of its rows' terms a partial.
#include <cmath>
#include <functional>

#include <llvm/IR/Intrinsics.h>

#include "codegen/kernel_emitter.h"
#include "codegen/kernels/emitters.h"
#include "ops/cross_entropy.h"
#include "scalar_ir/fast_math.h"

namespace netc::codegen {

using namespace ops::cross_entropy;

// Masked-off lanes load as -inf, so they never win the max and their exp is dropped before summing.
static llvm::Value* loadLogits(KernelEmitter& k, int L, llvm::Value* at, llvm::Value* mask) {
  return k.loadVec(k.ptr(L), at, k.lanes(), mask, "logits", k.splat(k.f32(-INFINITY), k.lanes()));
}

// The target class of row r; engines validate targets when written, the clamp keeps a stray one in bounds.
static llvm::Value* targetIndex(KernelEmitter& k, int t, llvm::Value* r, int64_t V) {
  llvm::Value* idx = k.b.CreateSExt(k.load(t, r, k.name(t)), k.i64Ty());
  return k.b.CreateSelect(k.b.CreateICmpULT(idx, k.i64(V)), idx, k.i64(0), "target");
}

// dy / N for cross_entropy_grad node `gr`, folded when dy is a constant (it is 1 for a plain loss).
static llvm::Value* gradScale(KernelEmitter& k, const Node& gr, int64_t N, llvm::Value* count) {
  int dy = gr.inputs[2];
  if (count) {
    llvm::Value* d = k.constant(dy) ? k.f32(*k.constant(dy)) : k.load(dy, k.i64(0));
    return k.b.CreateFDiv(d, count, "scale");
  }
  if (auto c = k.constant(dy)) return k.f32(*c / static_cast<double>(N));
  return k.b.CreateFMul(k.load(dy, k.i64(0)), k.f32(1.0 / static_cast<double>(N)), "scale");
}

// With ignore_index: whether row r counts (an i1), and the number of rows that do (a float), from the targets.
static llvm::Value* rowCounts(KernelEmitter& k, int t, llvm::Value* r, int64_t ignore) {
  return k.b.CreateICmpNE(k.load(t, r, "t"), k.b.getInt32(static_cast<uint32_t>(static_cast<int32_t>(ignore))), "counts");
}
static llvm::Value* countRows(KernelEmitter& k, int t, int64_t N, int64_t ignore) {
  auto c = k.loop("count", N, {k.f32(0)}, [&](llvm::Value* r, const std::vector<llvm::Value*>& acc) {
    return std::vector<llvm::Value*>{
        k.b.CreateFAdd(acc[0], k.b.CreateSelect(rowCounts(k, t, r, ignore), k.f32(1), k.f32(0)))};
  });
  return c[0];
}

namespace {

// What one kernel computes: the loss (its sum over rows, when `loss`), the gradient rows into node `grad`
// (when >= 0, scaled by `scale` = dy / N), or both from one pass over the logits.
struct CrossEntropyCode {
  KernelEmitter& k;
  int L, t, grad;
  bool loss;
  int64_t V;
  llvm::Value* scale;
  bool ignore = false;
  int64_t ignoreValue = -1;

  // Rows with few enough vectors are unrolled, several rows at a time, each step written out for every row
  // of the block before the next step (max, exps, then the normalisation): the rows' dependency chains
  // (max -> exp -> sum -> log) then overlap instead of running one after another, and the per-row sums are
  // gathered into one vector so the log and the division run once per block. Wider rows loop over vectors.
  static constexpr int64_t kUnrolledVectors = 16;  // vectors of logits per block, all rows together
  int64_t vecs() const { return (V + k.lanes() - 1) / k.lanes(); }
  int64_t rowsPerBlock() const {
    return vecs() > kUnrolledVectors / 2 ? 0 : std::min<int64_t>(k.lanes(), kUnrolledVectors / vecs());
  }

  // Sum over rows r0 .. r0+N-1 of (log-sum-exp - target logit); the gradient rows written on the way.
  llvm::Value* emit(llvm::Value* r0, int64_t N) {
    const int64_t R = rowsPerBlock();
    if (R == 0) {
      auto total = k.loop("r", N, {k.f32(0)}, [&](llvm::Value* r, const std::vector<llvm::Value*>& acc) {
        return std::vector<llvm::Value*>{k.b.CreateFAdd(acc[0], wideRow(k.b.CreateAdd(r0, r)))};
      });
      return total[0];
    }
    auto total = k.loop("rb", N / R, {k.f32(0)}, [&](llvm::Value* rb, const std::vector<llvm::Value*>& acc) {
      return std::vector<llvm::Value*>{k.b.CreateFAdd(acc[0], block(k.b.CreateAdd(r0, k.b.CreateMul(rb, k.i64(R))), R))};
    }, KernelEmitter::Hint::Explicit);
    llvm::Value* sum = total[0];
    if (N % R) sum = k.b.CreateFAdd(sum, block(k.b.CreateAdd(r0, k.i64(N / R * R)), N % R));
    return sum;
  }

 private:
  llvm::Value* mask(int64_t v) const {
    return v + 1 == vecs() ? k.laneMask(k.lanes(), static_cast<unsigned>(V - v * k.lanes())) : nullptr;
  }
  llvm::Value* pack(const std::vector<llvm::Value*>& scalars) {
    if (scalars.size() == 1) return scalars[0];
    llvm::Value* v = llvm::PoisonValue::get(k.vecTy(static_cast<unsigned>(scalars.size())));
    for (size_t i = 0; i < scalars.size(); ++i) v = k.b.CreateInsertElement(v, scalars[i], i);
    return v;
  }
  llvm::Value* lane(llvm::Value* v, int64_t i) {
    return v->getType()->isVectorTy() ? k.b.CreateExtractElement(v, static_cast<uint64_t>(i)) : v;
  }
  // Pairwise max / sum of a row's vectors (short chains), then across lanes.
  llvm::Value* tree(std::vector<llvm::Value*> v, bool max) {
    while (v.size() > 1) {
      std::vector<llvm::Value*> next;
      for (size_t i = 0; i + 1 < v.size(); i += 2)
        next.push_back(max ? greater(v[i], v[i + 1]) : k.b.CreateFAdd(v[i], v[i + 1]));
      if (v.size() % 2) next.push_back(v.back());
      v = std::move(next);
    }
    if (!max) return k.reduceAdd(v[0]);
    // Across lanes by halving: each step keeps the larger of the two halves.
    llvm::Value* x = v[0];
    for (unsigned n = k.lanes(); n > 1; n /= 2) {
      std::vector<int> lo, hi;
      for (unsigned i = 0; i < n / 2; ++i) lo.push_back(static_cast<int>(i)), hi.push_back(static_cast<int>(i + n / 2));
      x = greater(k.b.CreateShuffleVector(x, lo), k.b.CreateShuffleVector(x, hi));
    }
    return x->getType()->isVectorTy() ? k.b.CreateExtractElement(x, uint64_t{0}) : x;
  }
  // The larger of a and b as one x86 max instruction. A NaN logit may or may not win here, which does not
  // matter: its exp is NaN either way, so the sum, the loss and the gradient row come out NaN.
  llvm::Value* greater(llvm::Value* a, llvm::Value* b) { return k.b.CreateSelect(k.b.CreateFCmpOGT(a, b), a, b); }
  // exp(logit - max) for the vector of logits at flat index `at` (lanes outside `m` zero), also stored into the
  // gradient rows when the kernel writes them (scaled later, once the row's sum is known).
  // A non-finite logit turns its exp NaN (d * 0 is NaN only for an infinite or NaN d; one FMA, and no flag
  // here lets LLVM fold it away), so the row's sum, loss term and gradient are NaN, as in the interpreter:
  // an overflowed logit, -inf included, shows as divergence instead of a finite loss.
  llvm::Value* expAt(llvm::Value* at, llvm::Value* m, llvm::Value* mx) {
    llvm::Value* d = k.b.CreateFSub(loadLogits(k, L, at, m), mx);
    llvm::Value* e = k.b.CreateIntrinsic(llvm::Intrinsic::fma, {d->getType()},
                                         {d, llvm::ConstantFP::get(d->getType(), 0.0), scalar_ir::emitExp(k.b, d)});
    if (m) e = k.b.CreateSelect(m, e, llvm::Constant::getNullValue(k.vecTy(k.lanes())));
    if (grad >= 0) k.storeVec(k.ptr(grad), at, e, m);
    return e;
  }
  // Gradient row: the stored exps times dy / (N * sum), the target's dy / N taken off.
  void scaleRow(llvm::Value* base, llvm::Value* r, llvm::Value* norm,
                const std::function<void(const KernelEmitter::VectorBody&)>& each) {
    llvm::Value* f = k.splat(norm, k.lanes());
    llvm::Value* out = k.ptr(grad);
    each([&](llvm::Value* first, llvm::Value* m) {
      llvm::Value* at = k.b.CreateAdd(base, first);
      k.storeVec(out, at, k.b.CreateFMul(k.loadVec(out, at, k.lanes(), m), f), m);
    });
    llvm::Value* at = k.b.CreateAdd(base, targetIndex(k, t, r, V));
    llvm::Value* off = ignore ? k.b.CreateSelect(counts(r), scale, k.f32(0)) : scale;
    k.store(grad, at, k.b.CreateFSub(k.load(grad, at), off));
  }
  llvm::Value* counts(llvm::Value* r) { return rowCounts(k, t, r, ignoreValue); }
  // A row's norm (scale / sum), zero for an ignored row: its gradient row comes out all zeros.
  llvm::Value* rowNorm(llvm::Value* norm, llvm::Value* r) {
    return ignore ? k.b.CreateSelect(counts(r), norm, k.f32(0)) : norm;
  }
  llvm::Value* rowTerm(llvm::Value* term, llvm::Value* r) {
    return ignore ? k.b.CreateSelect(counts(r), term, k.f32(0)) : term;
  }

  // Rows r0 .. r0+R-1, straight-line code; returns their summed loss terms (0 without the loss).
  llvm::Value* block(llvm::Value* r0, int64_t R) {
    auto& b = k.b;
    std::vector<llvm::Value*> rows, bases, maxes, sums;
    for (int64_t i = 0; i < R; ++i) {
      rows.push_back(b.CreateAdd(r0, k.i64(i)));
      bases.push_back(b.CreateMul(rows.back(), k.i64(V), "row"));
    }
    for (int64_t i = 0; i < R; ++i) {
      std::vector<llvm::Value*> v;
      for (int64_t j = 0; j < vecs(); ++j)
        v.push_back(loadLogits(k, L, b.CreateAdd(bases[i], k.i64(j * k.lanes())), mask(j)));
      maxes.push_back(tree(v, true));
    }
    for (int64_t i = 0; i < R; ++i) {
      std::vector<llvm::Value*> e;
      llvm::Value* mx = k.splat(maxes[i], k.lanes());
      for (int64_t j = 0; j < vecs(); ++j)
        e.push_back(expAt(b.CreateAdd(bases[i], k.i64(j * k.lanes())), mask(j), mx));
      sums.push_back(tree(e, false));
    }
    llvm::Value* sum = pack(sums);
    if (grad >= 0) {
      llvm::Value* norm = b.CreateFDiv(k.splat(scale, static_cast<unsigned>(R)), sum, "norm");
      for (int64_t i = 0; i < R; ++i)
        scaleRow(bases[i], rows[i], rowNorm(lane(norm, i), rows[i]), [&](const KernelEmitter::VectorBody& body) {
          for (int64_t j = 0; j < vecs(); ++j) body(k.i64(j * k.lanes()), mask(j));
        });
    }
    if (!loss) return k.f32(0);
    std::vector<llvm::Value*> picked;
    for (int64_t i = 0; i < R; ++i) picked.push_back(k.load(L, b.CreateAdd(bases[i], targetIndex(k, t, rows[i], V))));
    // (max - target) + log(sum), not (max + log(sum)) - target: see RowLogSumExp in ops/cross_entropy.cpp.
    llvm::Value* terms = b.CreateFAdd(b.CreateFSub(pack(maxes), pack(picked), "gap"), scalar_ir::emitLog(b, sum));
    if (ignore) {
      // Ignored rows' terms are dropped by a select (never multiplied by 0: their term may be inf or NaN).
      llvm::Value* total = k.f32(0);
      for (int64_t i = 0; i < R; ++i) total = b.CreateFAdd(total, rowTerm(lane(terms, i), rows[i]));
      return total;
    }
    return terms->getType()->isVectorTy() ? k.reduceAdd(terms) : terms;
  }

  // One row of many vectors, in loops over them; returns its loss term (0 without the loss).
  llvm::Value* wideRow(llvm::Value* r) {
    auto& b = k.b;
    llvm::Value* base = b.CreateMul(r, k.i64(V), "row");
    llvm::Type* vt = k.vecTy(k.lanes());
    // Running max and sum live in one-vector stack slots, so the full and masked parts can share them.
    llvm::Value* maxAcc = k.local(vt, "max.acc");
    b.CreateStore(k.splat(k.f32(-INFINITY), k.lanes()), maxAcc);
    k.forVectors("max", V, [&](llvm::Value* v, llvm::Value* m) {
      b.CreateStore(b.CreateMaxNum(b.CreateLoad(vt, maxAcc), loadLogits(k, L, b.CreateAdd(base, v), m)), maxAcc);
    });
    llvm::Value* mxScalar = k.reduceMax(b.CreateLoad(vt, maxAcc));
    llvm::Value* mx = k.splat(mxScalar, k.lanes());
    llvm::Value* sumAcc = k.local(vt, "sum.acc");
    b.CreateStore(llvm::Constant::getNullValue(vt), sumAcc);
    k.forVectors("exp", V, [&](llvm::Value* v, llvm::Value* m) {
      b.CreateStore(b.CreateFAdd(b.CreateLoad(vt, sumAcc), expAt(b.CreateAdd(base, v), m, mx)), sumAcc);
    });
    llvm::Value* sum = k.reduceAdd(b.CreateLoad(vt, sumAcc));
    if (grad >= 0)
      scaleRow(base, r, rowNorm(b.CreateFDiv(scale, sum, "norm"), r), [&](const KernelEmitter::VectorBody& body) {
        k.forVectors("scale", V, body);
      });
    if (!loss) return k.f32(0);
    llvm::Value* gap = b.CreateFSub(mxScalar, k.load(L, b.CreateAdd(base, targetIndex(k, t, r, V))), "gap");
    return rowTerm(b.CreateFAdd(gap, scalar_ir::emitLog(b, sum)), r);
  }
};

}  // namespace

// The loss; when the planner paired it with its gradient (Kernel::partners), the gradient in the same pass.
void emitCrossEntropy(KernelEmitter& k, const Node& n) {
  int L = n.inputs[0];
  int64_t N = rowsOf(k.g[L].shape), V = k.g[L].shape.back();
  int grad = -1;
  for (int p : k.kernel.partners)
    if (k.g[p].op->joinsKernelOf == n.op) grad = p;  // the partner is the gradient that joins this loss
  llvm::Value* count = ignores(n) ? countRows(k, n.inputs[1], N, ignoreValue(n)) : nullptr;
  llvm::Value* scale = grad >= 0 ? gradScale(k, k.g[grad], N, count) : nullptr;
  CrossEntropyCode code{k, L, n.inputs[1], grad, true, V, scale};
  if (ignores(n)) code.ignore = true, code.ignoreValue = ignoreValue(n);
  auto store = [&](llvm::Value* total) {
    k.store(n.id, k.i64(0), count ? k.b.CreateFDiv(total, count) : k.b.CreateFMul(total, k.f32(1.0 / static_cast<double>(N))));
  };
  if (!k.sumSplit()) return store(code.emit(k.i64(0), N));
  // A team shares the rows (whole blocks of them); each thread's sum of its rows' terms is its partial,
  // and the thread whose share of the one result it is (forRowShares gives it to the last) adds them up in
  // thread order.
  k.splitSum(N, std::max<int64_t>(1, code.rowsPerBlock()), [&](llvm::Value* first, int64_t rows, llvm::Value* mine) {
    k.b.CreateAlignedStore(code.emit(first, rows), mine, llvm::Align(4));
  }, [&](const std::function<llvm::Value*(int)>& partialOf) {
    k.forRowShares(1, 1, [&](llvm::Value*, int64_t) { store(k.addPartials(partialOf, k.i64(0), 1)); });
  });
}

// Every thread's share of the rows is at least 32 of them: below that the team's barrier costs more than
// the rows' share saves.
int64_t crossEntropyPartialBytes(const Graph& g, const Node& n, int threads) {
  return rowsOf(g[n.inputs[0]].shape) >= 32 * threads ? 4 : 0;
}

// On its own (no paired loss in the kernel): the same code, writing only the gradient.
void emitCrossEntropyGrad(KernelEmitter& k, const Node& n) {
  int L = n.inputs[0];
  int64_t N = rowsOf(k.g[L].shape), V = k.g[L].shape.back();
  llvm::Value* count = ignores(n) ? countRows(k, n.inputs[1], N, ignoreValue(n)) : nullptr;
  CrossEntropyCode code{k, L, n.inputs[1], n.id, false, V, gradScale(k, n, N, count)};
  if (ignores(n)) code.ignore = true, code.ignoreValue = ignoreValue(n);
  code.emit(k.i64(0), N);
}

}  // namespace netc::codegen
