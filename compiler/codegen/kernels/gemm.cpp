// Register-tiled matrix products. Every shape is a compile-time constant, so each product gets its own
// loops with constant trip counts, and the remainders (a last partial vector of columns, leftover rows) are
// separate straight-line code rather than run-time branches.
//
// The micro-kernel computes an MR x (NV*L) tile of C in MR*NV vector accumulators: for each k it loads NV
// vectors of row k of op(B) and broadcasts MR scalars of column k of op(A) (any layout works for a broadcast,
// so a transposed A costs nothing). A transposed B is first copied into scratch space as [K, N] so its rows
// are contiguous. Each finished accumulator goes to KernelEmitter::emitResult, which stores it and applies
// the fused epilogue (bias add, tanh, gradient chain, SGD update) while it is still in a register.
#include "codegen/kernels/gemm.h"

#include <fmt/format.h>
#include <functional>

#include "codegen/kernel_emitter.h"
#include "ops/matmul.h"

namespace netc::codegen {

using llvm::Value;

namespace {

// Every form is `batch` products of contiguous matrices (ops/matmul.h): leading dimensions folded into the
// rows or into the sum come here as one longer product.
using Dims = ops::ProductDims;

Dims dims(const Graph& g, const Node& n) { return ops::productDims(g, n); }

// Where product `l` of a batch starts in a buffer whose matrices are `stride` floats apart (l null: product 0).
Value* batchBase(KernelEmitter& k, Value* base, Value* l, int64_t stride) {
  return l ? k.at(base, k.b.CreateMul(l, k.i64(stride)), k.f32Ty(), "batch") : base;
}

// A point of C: (row, column), preceded by the product's number in a batch (the kernel's domain is then
// [batch, M, N], plan.cpp).
At resultAt(Value* l, Value* i, Value* j, unsigned lanes = 1, Value* mask = nullptr) {
  At at{{i, j}, lanes, mask};
  if (l) at.idx.insert(at.idx.begin(), l);
  return at;
}

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

constexpr int64_t kMaxLanes = 16;  // scratch is sized for the widest vectors netc uses (AVX-512)

// The row stride of a thread's partial product (Kernel::sumSplit): whole vectors of the widest kind.
int64_t partialStride(const Dims& d) { return roundUp(d.N, kMaxLanes); }

// The row stride of a transposed B packed as [K, N]: N rounded up to whole vectors, plus one cache line when
// that is a multiple of 512 bytes. The tiles read a column block down all K rows of the copy; at a stride of
// 4 KB (N = 1024) every row of the block falls in the same set of the L1 cache, which holds 8 of them.
int64_t packedStride(const Dims& d, int64_t lanes) {
  const int64_t ld = roundUp(d.N, lanes);
  return ld * 4 % 512 == 0 ? ld + 16 : ld;
}

// Scratch bytes for a transposed B packed as [K, packedStride], cache-line aligned, at any vector width.
int64_t packedBytes(const Dims& d) {
  if (!d.tb) return 0;
  int64_t ld = 0;
  for (int64_t lanes = 2; lanes <= kMaxLanes; lanes *= 2) ld = std::max(ld, packedStride(d, lanes));
  return roundUp(d.K * ld * 4, 64);
}

// One result of the plain triple loop: row i of op(A) times column j of op(B) over k in [k0, k0 + count).
Value* naiveDot(KernelEmitter& k, const Node& n, const Dims& d, Value* i, Value* j, Value* k0, int64_t count,
                Value* l = nullptr) {
  auto& b = k.b;
  Value* A = batchBase(k, k.ptr(n.inputs[0]), l, d.strideA());
  Value* B = batchBase(k, k.ptr(n.inputs[1]), l, d.strideB());
  auto load = [&](Value* base, Value* index) {
    return b.CreateAlignedLoad(k.f32Ty(), k.at(base, index, k.f32Ty()), llvm::Align(4));
  };
  KernelEmitter::Reassociate fast(b);
  return k.loop("k", count, {k.f32(0)}, [&](Value* local, const std::vector<Value*>& s) {
    Value* kk = b.CreateAdd(k0, local);
    Value* ai = d.ta ? b.CreateAdd(b.CreateMul(kk, k.i64(d.M)), i) : b.CreateAdd(b.CreateMul(i, k.i64(d.K)), kk);
    Value* bi = d.tb ? b.CreateAdd(b.CreateMul(j, k.i64(d.K)), kk) : b.CreateAdd(b.CreateMul(kk, k.i64(d.N)), j);
    return std::vector<Value*>{b.CreateFAdd(s[0], b.CreateFMul(load(A, ai), load(B, bi)))};
  })[0];
}

// The plain triple loop: one dot product per result (the baseline the tiled code is checked against).
void emitNaive(KernelEmitter& k, const Node& n, const Dims& d, Value* r0, int64_t rows, Value* l) {
  k.loop("i", rows, [&](Value* local) {
    Value* i = k.b.CreateAdd(r0, local);
    k.loop("j", d.N, [&](Value* j) { k.emitResult(resultAt(l, i, j), naiveDot(k, n, d, i, j, k.i64(0), d.K, l)); });
  });
}

// The untiled form of a thread's part of a split sum: every result of C over k in [k0, k0 + count), stored
// in `partial` with row stride ld.
void emitNaivePartial(KernelEmitter& k, const Node& n, const Dims& d, Value* partial, int64_t ld, Value* k0,
                      int64_t count) {
  auto& b = k.b;
  k.loop("i", d.M, [&](Value* i) {
    k.loop("j", d.N, [&](Value* j) {
      b.CreateAlignedStore(naiveDot(k, n, d, i, j, k0, count),
                           k.at(partial, b.CreateAdd(b.CreateMul(i, k.i64(ld)), j), k.f32Ty()), llvm::Align(4));
    });
  });
}

// The totals of a split sum for rows [r0, r0 + rows) of C: the threads' partials added in thread order,
// vector by vector, and handed to emitResult (stored, the epilogue applied).
void emitTotals(KernelEmitter& k, const Node& n, const Dims& d, Value* r0, int64_t rows, int64_t ld,
                const std::function<Value*(int)>& partialOf) {
  auto& b = k.b;
  k.loop(k.name(n.id) + ".total", rows, [&](Value* local) {
    Value* i = b.CreateAdd(r0, local);
    k.forVectors(k.name(n.id) + ".cols", d.N, [&](Value* j, Value* mask) {
      // Lanes past N are never stored: emitResult masks them, so they need no zeroing here.
      Value* sum = k.addPartials(partialOf, b.CreateAdd(b.CreateMul(i, k.i64(ld)), j), k.lanes());
      k.emitResult(At{{i, j}, k.lanes(), mask}, sum);
    });
  }, KernelEmitter::Hint::Explicit);
}

// The columns of an 8x8 block given as 8 row vectors: unpack pairs, shuffle quads, swap 128-bit halves.
std::vector<Value*> transpose8x8(llvm::IRBuilder<>& b, const std::vector<Value*>& r) {
  auto shuf = [&](Value* x, Value* y, std::initializer_list<int> m) {
    return b.CreateShuffleVector(x, y, llvm::ArrayRef<int>(m.begin(), m.size()));
  };
  std::vector<Value*> t(8), q(8), out(8);
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = shuf(r[2 * i], r[2 * i + 1], {0, 8, 1, 9, 4, 12, 5, 13});
    t[2 * i + 1] = shuf(r[2 * i], r[2 * i + 1], {2, 10, 3, 11, 6, 14, 7, 15});
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then 4-7
    Value *lo = t[4 * h], *hi = t[4 * h + 1], *lo2 = t[4 * h + 2], *hi2 = t[4 * h + 3];
    q[4 * h + 0] = shuf(lo, lo2, {0, 1, 8, 9, 4, 5, 12, 13});    // columns 0 and 4
    q[4 * h + 1] = shuf(lo, lo2, {2, 3, 10, 11, 6, 7, 14, 15});  // columns 1 and 5
    q[4 * h + 2] = shuf(hi, hi2, {0, 1, 8, 9, 4, 5, 12, 13});    // columns 2 and 6
    q[4 * h + 3] = shuf(hi, hi2, {2, 3, 10, 11, 6, 7, 14, 15});  // columns 3 and 7
  }
  for (int c = 0; c < 4; ++c) {
    out[c] = shuf(q[c], q[4 + c], {0, 1, 2, 3, 8, 9, 10, 11});
    out[c + 4] = shuf(q[c], q[4 + c], {4, 5, 6, 7, 12, 13, 14, 15});
  }
  return out;
}

// Where transposeCopy puts what it read: element (row, col) of the transpose and the 8 after it along the row
// (an 8-float vector), or that one element (a float).
using TransposedPut = std::function<void(Value* row, Value* col, Value* v)>;

// Reads `src` stored [rows, cols] and hands over its transpose [cols, rows]: with vectors of 8 floats or more
// the bulk moves as 8x8 blocks transposed in registers (8 loads, 24 shuffles, 8 puts), 8-float vectors
// whatever the width of the code around; the edges that do not fill a block go element by element.
void transposeCopy(KernelEmitter& k, Value* src, int64_t rows, int64_t cols, const std::string& base,
                   const TransposedPut& put) {
  auto& b = k.b;
  const int64_t jBlocks = k.lanes() >= 8 ? rows / 8 : 0, kBlocks = k.lanes() >= 8 ? cols / 8 : 0;
  auto copy = [&](Value* j, Value* kk) {
    Value* v = b.CreateAlignedLoad(k.f32Ty(), k.at(src, b.CreateAdd(b.CreateMul(j, k.i64(cols)), kk), k.f32Ty()),
                                   llvm::Align(4));
    put(kk, j, v);
  };
  if (jBlocks > 0 && kBlocks > 0)
    k.loop(base + ".jb", jBlocks, [&](Value* jb) {
      Value* j0 = b.CreateMul(jb, k.i64(8));
      k.loop(base + ".kb", kBlocks, [&](Value* kb) {
        Value* k0 = b.CreateMul(kb, k.i64(8));
        std::vector<Value*> rowVecs;
        for (int64_t r = 0; r < 8; ++r)
          rowVecs.push_back(k.loadVec(src, b.CreateAdd(b.CreateMul(b.CreateAdd(j0, k.i64(r)), k.i64(cols)), k0), 8,
                                      nullptr, "row"));
        std::vector<Value*> colVecs = transpose8x8(b, rowVecs);
        for (int64_t c = 0; c < 8; ++c) put(b.CreateAdd(k0, k.i64(c)), j0, colVecs[c]);
      }, KernelEmitter::Hint::Explicit);
    }, KernelEmitter::Hint::Explicit);
  // Edges: columns past the last whole block for the blocked rows, then every column of the remaining rows.
  if (jBlocks > 0 && cols > kBlocks * 8)
    k.loop(base + ".j", jBlocks * 8, [&](Value* j) {
      k.loop(base + ".k", cols - kBlocks * 8, [&](Value* kk) { copy(j, b.CreateAdd(kk, k.i64(kBlocks * 8))); },
             KernelEmitter::Hint::Explicit);
    }, KernelEmitter::Hint::Explicit);
  if (rows > jBlocks * 8 || kBlocks == 0)
    k.loop(base + ".jr", rows - (kBlocks > 0 ? jBlocks * 8 : 0), [&](Value* j) {
      Value* row = b.CreateAdd(j, k.i64(kBlocks > 0 ? jBlocks * 8 : 0));
      k.loop(base + ".k", cols, [&](Value* kk) { copy(row, kk); }, KernelEmitter::Hint::Explicit);
    }, KernelEmitter::Hint::Explicit);
}

// What both product generators work with: the kernel function being built, the product node and its shape,
// the rows of C this code computes: all of them, or one thread's share (rows r0 .. r0+m-1 of C), and in a
// batch of products, which one (l).
class ProductCode {
 protected:
  ProductCode(KernelEmitter& k, const Node& n, const Dims& d, Value* r0, int64_t m, Value* l)
      : k_(k), b_(k.b), n_(n), d_(d), L_(k.lanes()), r0_(r0), m_(m), l_(l) {}
  std::string base() const { return k_.name(n_.id); }  // the prefix of loop and block names
  // This product's A and B (the l-th matrices of a batch).
  Value* operandA() { return batchBase(k_, k_.ptr(n_.inputs[0]), l_, d_.strideA()); }
  Value* operandB() { return batchBase(k_, k_.ptr(n_.inputs[1]), l_, d_.strideB()); }
  At resultPoint(Value* i, Value* j, unsigned lanes, Value* mask) { return resultAt(l_, i, j, lanes, mask); }

  KernelEmitter& k_;
  llvm::IRBuilder<>& b_;
  const Node& n_;
  Dims d_;
  int64_t L_;  // floats per vector
  Value* r0_;  // the first row of C computed here (i64)
  int64_t m_;  // how many rows: loops and tile heights count these; d_.M stays the stride of a transposed A
  Value* l_;   // the product's number in a batch, null for a single product
};

class TiledMatmul : ProductCode {
 public:
  TiledMatmul(KernelEmitter& k, const Node& n, const Dims& d, Value* r0, int64_t m, Value* l = nullptr)
      : ProductCode(k, n, d, r0, m, l) {
    kLen_ = d_.K;
    const int64_t vecs = (d_.N + L_ - 1) / L_;
    nv_ = vecs <= 3 ? vecs : vecs % 2 == 0 ? 2 : 3;
  }

  // The height of the full-width tiles: shares of rows between threads are cut at multiples of it.
  int64_t tileRows() const { return rowsFor(nv_); }

  // A thread's part of a split sum (Kernel::sumSplit): all of C summed over k in [k0, k0 + count) only, into
  // `partial` ([M, ld] floats), with no epilogue: that runs on the totals.
  void emitPartial(Value* partial, int64_t ld, Value* k0, int64_t count) {
    a_ = operandA();
    bRows_ = operandB();
    ldb_ = d_.N;
    if (d_.tb) packTransposedB();
    kFirst_ = k0, kLen_ = count;
    kc_ = kChunk();
    if (kc_ > 0) return sumInto(partial, ld);
    // One pass: each tile starts from zero and stores its sums.
    acc_ = partial, ldc_ = ld, kStart_ = kFirst_;
    forColumnBlocks([&](Value* j0, int64_t nv, Value* mask) { rowTiles(j0, nv, mask); });
  }

  void emit() {
    a_ = operandA();
    bRows_ = operandB();
    ldb_ = d_.N;
    // Each thread packs its own copy of B: cheaper than a barrier, and the copy lands in its own cache.
    if (d_.tb) packTransposedB();
    kc_ = kChunk();
    Value* free = k_.at(k_.scratch(), k_.i64(packedBytes(d_) / 4), k_.f32Ty());
    if (kc_ > 0) {
      // Long sums run in chunks of kc rows of B, so each chunk's panel of B stays in L1 while the row tiles
      // pass over it; partial sums of all of C wait in scratch between chunks.
      sumInto(free, roundUp(d_.N, L_));
      forColumnBlocks([&](Value* j0, int64_t nv, Value* mask) { results(acc_, ldc_, j0, j0, nv, mask); });
      return;
    }
    if (k_.kernel.members.empty()) return columnBlocks();
    panel_ = free;
    // The panel holds a column block of every row computed in one go; for many rows (large batches) that
    // outgrows L1 (1024 rows of three 16-float vectors are 196 KB), so the rows are taken in chunks of
    // panelRows(): a loop over chunks, each a product of its own rows, with A's rows of the chunk staying in
    // L1 across the column blocks. B was packed above, once.
    const int64_t R = panelRows();
    if (m_ <= R) return columnBlocks();
    auto chunk = [&](Value* first, int64_t rows) {
      TiledMatmul sub(k_, n_, d_, b_.CreateAdd(r0_, first), rows, l_);
      sub.a_ = a_, sub.bRows_ = bRows_, sub.ldb_ = ldb_, sub.panel_ = panel_;
      sub.columnBlocks();
    };
    k_.loop(base() + ".rows", m_ / R, [&](Value* c) { chunk(b_.CreateMul(c, k_.i64(R)), R); },
            KernelEmitter::Hint::Explicit);
    if (m_ % R) chunk(k_.i64(m_ / R * R), m_ % R);
  }

 private:
  // Sums all of C over this code's range of k into `acc` ([m_, ld] floats) chunk by chunk: the first chunk's
  // tiles store their sums (no pass zeroing acc first: LLVM makes that a memset of all of it), the others add
  // to what the last one left.
  void sumInto(Value* acc, int64_t ld) {
    acc_ = acc, ldc_ = ld;
    auto chunk = [&](Value* c) {
      kStart_ = b_.CreateMul(c, k_.i64(kc_));
      if (kFirst_) kStart_ = b_.CreateAdd(kFirst_, kStart_);
      forColumnBlocks([&](Value* j0, int64_t nv, Value* mask) { rowTiles(j0, nv, mask); });
    };
    accumulate_ = false;
    chunk(k_.i64(0));
    accumulate_ = true;
    k_.loop(base() + ".kc", kLen_ / kc_ - 1, [&](Value* c) { chunk(b_.CreateAdd(c, k_.i64(1))); },
            KernelEmitter::Hint::Explicit);
    kStart_ = nullptr;
  }

  // Rows per chunk when an epilogue waits in the panel: whole tiles whose panel fits in 16 KB.
  int64_t panelRows() const {
    const int64_t mr = rowsFor(nv_);
    return std::max<int64_t>(mr, 16 * 1024 / (nv_ * L_ * 4) / mr * mr);
  }

  void columnBlocks() {
    forColumnBlocks([&](Value* j0, int64_t nv, Value* mask) {
      rowTiles(j0, nv, mask);
      // With an epilogue, the raw products of the column panel were parked in scratch (it stays in L1); the
      // epilogue now runs over it once, so its code exists once per kind of column block, not per kind of
      // tile, which keeps the IR (and compile time) small.
      if (panel_) results(panel_, nv_ * L_, k_.i64(0), j0, nv, mask);
    });
  }

  // Chunk length for long sums, 0 for none. A tile's k loop touches, per k, one cache line of A when A is
  // stored transposed (else mr floats of its rows) plus NV vectors of B; when that exceeds what L1 keeps
  // around (~24 KB of its 32), K is cut into chunks (a divisor of K, at least 32) that fit.
  int64_t kChunk() const {
    const int64_t perK = (d_.ta ? 64 : rowsFor(nv_) * 4) + nv_ * L_ * 4;
    const int64_t most = 24 * 1024 / perK;
    if (kLen_ <= most) return 0;
    for (int64_t kc = most; kc >= 32; --kc)
      if (kLen_ % kc == 0) return kc;
    return 0;
  }

  // Column blocks of NV vectors: a loop over the full-width ones, then one block for the rest, whose last
  // vector may be partial (its lane mask is passed on).
  void forColumnBlocks(const std::function<void(Value*, int64_t, Value*)>& block) {
    const int64_t blockCols = nv_ * L_;
    const int64_t fullBlocks = d_.N / blockCols;
    const int64_t restCols = d_.N - fullBlocks * blockCols;
    if (fullBlocks > 0)
      k_.loop(base() + ".jb", fullBlocks, [&](Value* jb) { block(b_.CreateMul(jb, k_.i64(blockCols)), nv_, nullptr); },
              KernelEmitter::Hint::Explicit);
    if (restCols > 0) {
      int64_t restVecs = (restCols + L_ - 1) / L_;  // never more than nv_
      unsigned lastValid = static_cast<unsigned>(restCols - (restVecs - 1) * L_);
      block(k_.i64(fullBlocks * blockCols), restVecs, k_.laneMask(static_cast<unsigned>(L_), lastValid));
    }
  }

  // Cycles per step of k for a tile of `rows` x `nv` accumulators: two FMAs a cycle, each accumulator's FMAs
  // 4 cycles apart (latency), two vector loads a cycle (nv rows of B plus one broadcast per row of A).
  static double tileCost(int64_t rows, int64_t nv) {
    return std::max({static_cast<double>(rows * nv) / 2, 4.0, static_cast<double>(rows + nv) / 2});
  }

  // Rows per tile for `nv` column vectors: the accumulators, the nv vectors of B's row and the broadcast must
  // fit the 16 vector registers of x86-64 (at most 12 accumulators). The height with the least cost over all
  // of M wins, counting the one shorter tile the leftover rows make (a tie goes to the taller tile).
  int64_t rowsFor(int64_t nv) const {
    const int64_t most = std::min<int64_t>(std::max<int64_t>(1, std::min<int64_t>(12, (16 - nv - 1) / nv)), m_);
    int64_t best = most;
    double bestCost = 1e300;
    for (int64_t mr = most; mr >= 1; --mr) {
      double cost = static_cast<double>(m_ / mr) * tileCost(mr, nv) + (m_ % mr ? tileCost(m_ % mr, nv) : 0.0);
      if (cost < bestCost) best = mr, bestCost = cost;
    }
    return best;
  }

  void rowTiles(Value* j0, int64_t nv, Value* lastMask) {
    const int64_t mr = rowsFor(nv);
    const int64_t full = m_ / mr, rest = m_ % mr;
    if (full > 0)
      k_.loop(base() + ".ib", full, [&](Value* ib) { tile(b_.CreateMul(ib, k_.i64(mr)), mr, j0, nv, lastMask); },
              KernelEmitter::Hint::Explicit);
    // The leftover rows as one shorter tile.
    if (rest > 0) tile(k_.i64(full * mr), rest, j0, nv, lastMask);
  }

  // Every row of one column block, read from `buf` (row stride ld, the block's first column at col0) and handed
  // to emitResult: stored, with the epilogue applied.
  void results(Value* buf, int64_t ld, Value* col0, Value* j0, int64_t nv, Value* lastMask) {
    const int64_t unmasked = lastMask ? nv - 1 : nv;
    k_.loop(base() + ".out", m_, [&](Value* i) {
      auto result = [&](Value* v, Value* mask) {
        Value* off = b_.CreateMul(v, k_.i64(L_));
        Value* at = b_.CreateAdd(b_.CreateAdd(b_.CreateMul(i, k_.i64(ld)), col0), off);
        Value* value = k_.loadVec(buf, at, static_cast<unsigned>(L_), nullptr, "raw");
        k_.emitResult(resultPoint(b_.CreateAdd(r0_, i), b_.CreateAdd(j0, off), static_cast<unsigned>(L_), mask), value);
      };
      if (unmasked > 0)
        // Straight-line over the (at most three) vectors of the row: their epilogues (tanh is a long chain of
        // dependent multiply-adds) then overlap instead of waiting on each other.
        for (int64_t v = 0; v < unmasked; ++v) result(k_.i64(v), nullptr);
      if (lastMask) result(k_.i64(nv - 1), lastMask);
    }, KernelEmitter::Hint::Explicit);
  }

  // Pointers to row r of op(A) at column 0 for the rows of a tile, so the k loop only adds k (times M when
  // A is stored transposed): fewer instructions for LLVM to optimise and the same machine code.
  std::vector<Value*> aRows(Value* i0, int64_t mr) {
    std::vector<Value*> rows;
    Value* first = d_.ta ? k_.at(a_, i0, k_.f32Ty(), "a.col") : k_.at(a_, b_.CreateMul(i0, k_.i64(d_.K)), k_.f32Ty(), "a.row");
    for (int64_t r = 0; r < mr; ++r) rows.push_back(k_.at(first, k_.i64(d_.ta ? r : r * d_.K), k_.f32Ty()));
    return rows;
  }

  // One mr x NV*L tile of C at rows [i0, i0+mr) of this share, columns from j0, over all of K or over the
  // current chunk. Its sums go to C (through emitResult), to the panel (an epilogue follows) or into the
  // chunk accumulator; the panel and the accumulator hold the share's rows only.
  void tile(Value* i0, int64_t mr, Value* j0, int64_t nv, Value* lastMask) {
    Value* c0 = b_.CreateAdd(r0_, i0);  // the tile's first row of C
    llvm::Type* vt = k_.vecTy(static_cast<unsigned>(L_));
    auto accAt = [&](int64_t r, int64_t v) {
      return b_.CreateAdd(b_.CreateMul(b_.CreateAdd(i0, k_.i64(r)), k_.i64(ldc_)), b_.CreateAdd(j0, k_.i64(v * L_)));
    };
    std::vector<Value*> init;
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t v = 0; v < nv; ++v)
        init.push_back(accumulate_ ? k_.loadVec(acc_, accAt(r, v), static_cast<unsigned>(L_), nullptr, "sum")
                            : llvm::Constant::getNullValue(vt));
    std::vector<Value*> rows = aRows(c0, mr);
    Value* bCols = k_.at(bRows_, j0, k_.f32Ty(), "b.cols");
    auto acc = k_.loop(base() + ".k", kc_ > 0 ? kc_ : kLen_, init, [&](Value* kk, const std::vector<Value*>& c) {
      if (kStart_) kk = b_.CreateAdd(kStart_, kk);
      std::vector<Value*> bv;
      Value* bRow = k_.at(bCols, b_.CreateMul(kk, k_.i64(ldb_)), k_.f32Ty(), "b.row");
      // The last vector is loaded whole even when it is partial: its lanes past N (the next row of B, or the
      // buffer's tail slack) only reach accumulator lanes that are never stored, and a blend per step of k
      // would cost more than the FMAs it guards.
      for (int64_t v = 0; v < nv; ++v) bv.push_back(k_.loadVec(bRow, k_.i64(v * L_), static_cast<unsigned>(L_), nullptr, "b"));
      Value* aOff = d_.ta ? b_.CreateMul(kk, k_.i64(d_.M)) : kk;
      std::vector<Value*> next(c.size());
      for (int64_t r = 0; r < mr; ++r) {
        Value* aScalar = b_.CreateAlignedLoad(k_.f32Ty(), k_.at(rows[r], aOff, k_.f32Ty()), llvm::Align(4), "a");
        Value* a = k_.splat(aScalar, static_cast<unsigned>(L_));
        for (int64_t v = 0; v < nv; ++v) {
          size_t at = static_cast<size_t>(r * nv + v);
          next[at] = b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt}, {a, bv[v], c[at]});
        }
      }
      return next;
    }, KernelEmitter::Hint::Explicit);
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t v = 0; v < nv; ++v) {
        Value* row = b_.CreateAdd(i0, k_.i64(r));
        Value* value = acc[static_cast<size_t>(r * nv + v)];
        if (acc_) {
          k_.storeVec(acc_, accAt(r, v), value, nullptr);
        } else if (panel_) {
          k_.storeVec(panel_, b_.CreateAdd(b_.CreateMul(row, k_.i64(nv_ * L_)), k_.i64(v * L_)), value, nullptr);
        } else {
          k_.emitResult(resultPoint(b_.CreateAdd(c0, k_.i64(r)), b_.CreateAdd(j0, k_.i64(v * L_)),
                               static_cast<unsigned>(L_), v == nv - 1 ? lastMask : nullptr),
                        value);
        }
      }
  }

  // B is stored [N, K]; copy it to scratch as [K, ldb] (ldb = packedStride: N rounded up to whole vectors).
  void packTransposedB() {
    Value* dst = k_.scratch();
    ldb_ = packedStride(d_, L_);
    transposeCopy(k_, bRows_, d_.N, d_.K, k_.name(n_.inputs[1]) + ".T", [&](Value* row, Value* col, Value* v) {
      Value* at = b_.CreateAdd(b_.CreateMul(row, k_.i64(ldb_)), col);
      if (v->getType()->isVectorTy()) k_.storeVec(dst, at, v, nullptr);
      else b_.CreateAlignedStore(v, k_.at(dst, at, k_.f32Ty()), llvm::Align(4));
    });
    bRows_ = dst;
  }

  Value* a_ = nullptr;
  Value* bRows_ = nullptr;
  int64_t ldb_ = 0;
  int64_t nv_ = 1;            // vectors per full column block
  Value* panel_ = nullptr;    // [M, nv_ * L] raw products awaiting the epilogue, or null without one
  int64_t kc_ = 0;            // chunk length of K, 0 when K is summed in one go
  Value* acc_ = nullptr;      // chunked or a thread's partial: [M, ldc_] sums of C
  int64_t ldc_ = 0;
  bool accumulate_ = false;   // tiles add to acc_ (chunked) rather than start from zero
  Value* kStart_ = nullptr;   // first k of the current chunk (or of a thread's part), null for 0
  Value* kFirst_ = nullptr;   // a thread's part of a split sum: its first k, null for 0 ...
  int64_t kLen_ = -1;         // ... and how many (d_.K when the sum is not split)
};

// C = A @ B^T with B stored [N, K] and a long K: both operands are read along their rows, so no transposed
// copy of B is made. A tile of MR rows of A and NR rows of B keeps MR*NR vector accumulators of partial dot
// products over k (a masked last vector when L does not divide K), each summed across its lanes at the end.
// For the lecture's embedding gradient at batch 32 (32x200 @ 200x30) this avoids packing 6,000 floats per
// step and the lanes a 30-wide column block wastes.
class DotMatmul : ProductCode {
 public:
  // The transposed copy of B the tiled code makes costs about N*K moves, the lane sums here about M*N
  // operations, and the tiled code wastes the lanes of a partial last vector of N on every multiply-add: the
  // dot form wins when K is long enough to fill several vectors and either K >= M or N is not a whole
  // number of vectors (measured at batch 256 and 512 for N = 27, 30, 64, 100).
  static constexpr int64_t kMinK = 64;
  // Three rows of A and four of B: 12 accumulators, and per vector of k 7 loads for 12 multiply-adds. The four
  // sums of a row leave as one 4-lane vector, so vectors must have at least four lanes.
  static constexpr int64_t kMR = 3, kNR = 4;
  // With 16-float vectors a partial last vector of N wastes less than the lane sums cost once M exceeds K:
  // the tiled code measured 10-20% faster for N = 27 and 30 at batch 256 and 1024 (and slower at 32, where
  // K >= M keeps the dot form).
  // With 16-float vectors a dot product of K = 100 is only 7 multiply-adds per result against about 3 lane-sum
  // instructions, so the form needs a longer K there: at batch 32 on a Sapphire Rapids core, deep_batchnorm's
  // [32,100] @ [100,100]^T took 7.7 us as dots and 6.2 us tiled (transposed copy included), while the lecture
  // MLP's K = 200 products kept the dot form ahead (3.24 against 3.78 us, 3.45 against 4.01).
  static constexpr int64_t kMinK16 = 128;
  static bool suits(const Dims& d, int64_t lanes) {
    const int64_t minK = lanes >= 16 ? kMinK16 : kMinK;
    return lanes >= kNR && d.tb && !d.ta && d.K >= minK && (d.K >= d.M || (d.N % lanes != 0 && lanes < 16));
  }

  DotMatmul(KernelEmitter& k, const Node& n, const Dims& d, Value* r0, int64_t m, Value* l = nullptr)
      : ProductCode(k, n, d, r0, m, l) {}

  void emit() {
    a_ = operandA();
    bm_ = operandB();
    const int64_t fullRows = m_ / kMR, restRows = m_ % kMR;
    if (fullRows > 0)
      k_.loop(base() + ".ib", fullRows, [&](Value* ib) { rowBlock(b_.CreateMul(ib, k_.i64(kMR)), kMR); },
              KernelEmitter::Hint::Explicit);
    if (restRows > 0) rowBlock(k_.i64(fullRows * kMR), restRows);
  }

 private:
  void rowBlock(Value* local, int64_t mr) {
    Value* i0 = b_.CreateAdd(r0_, local);  // rows of C from here on
    const int64_t fullCols = d_.N / kNR, restCols = d_.N % kNR;
    if (fullCols > 0)
      k_.loop(base() + ".jb", fullCols, [&](Value* jb) { tile(i0, mr, b_.CreateMul(jb, k_.i64(kNR)), kNR); },
              KernelEmitter::Hint::Explicit);
    if (restCols > 0) tile(i0, mr, k_.i64(fullCols * kNR), restCols);
  }

  void tile(Value* i0, int64_t mr, Value* j0, int64_t nr) {
    const unsigned L = static_cast<unsigned>(L_);
    llvm::Type* vt = k_.vecTy(L);
    std::vector<Value*> aRow, bRow;
    for (int64_t r = 0; r < mr; ++r)
      aRow.push_back(k_.at(a_, b_.CreateMul(b_.CreateAdd(i0, k_.i64(r)), k_.i64(d_.K)), k_.f32Ty(), "a.row"));
    for (int64_t c = 0; c < nr; ++c)
      bRow.push_back(k_.at(bm_, b_.CreateMul(b_.CreateAdd(j0, k_.i64(c)), k_.i64(d_.K)), k_.f32Ty(), "b.row"));
    auto step = [&](Value* kk, const std::vector<Value*>& acc, Value* mask) {
      std::vector<Value*> av, next(acc.size());
      // Lanes past K read as zero from A, and B's are zeroed too: 0 * (anything finite) would do, but the
      // bytes past a row of B are the next row or the buffer's slack, which need not be finite.
      for (int64_t r = 0; r < mr; ++r) av.push_back(k_.loadVec(aRow[r], kk, L, mask, "a"));
      for (int64_t c = 0; c < nr; ++c) {
        Value* bv = k_.loadVec(bRow[c], kk, L, mask, "b");
        for (int64_t r = 0; r < mr; ++r) {
          size_t at = static_cast<size_t>(r * nr + c);
          next[at] = b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt}, {av[r], bv, acc[at]});
        }
      }
      return next;
    };
    std::vector<Value*> acc(static_cast<size_t>(mr * nr), llvm::Constant::getNullValue(vt));
    const int64_t fullK = d_.K / L_, restK = d_.K % L_;
    acc = k_.loop(base() + ".k", fullK, acc, [&](Value* kv, const std::vector<Value*>& c) {
      return step(b_.CreateMul(kv, k_.i64(L_)), c, nullptr);
    }, KernelEmitter::Hint::Explicit);
    if (restK > 0) acc = step(k_.i64(fullK * L_), acc, k_.laneMask(L, static_cast<unsigned>(restK)));
    // Each row's accumulators become one vector of its kNR sums (the columns past N masked off).
    Value* mask = k_.laneMask(static_cast<unsigned>(kNR), static_cast<unsigned>(nr));
    for (int64_t r = 0; r < mr; ++r) {
      std::vector<Value*> row(kNR, llvm::Constant::getNullValue(vt));
      for (int64_t c = 0; c < nr; ++c) row[static_cast<size_t>(c)] = acc[static_cast<size_t>(r * nr + c)];
      k_.emitResult(resultPoint(b_.CreateAdd(i0, k_.i64(r)), j0, static_cast<unsigned>(kNR), mask), sumEach(row));
    }
  }

  Value* shuffle(Value* a, Value* b, const std::vector<int>& lanes) { return b_.CreateShuffleVector(a, b, lanes); }

  // The lane sums of four vectors as one 4-lane vector, by halving: pairs are folded into vectors holding half
  // a sum of each (x86: a 128-bit permute and an add), then quarters, then the lanes within each quarter. About
  // three instructions per sum where four separate reductions take six each.
  Value* sumEach(const std::vector<Value*>& v) {
    const int L = static_cast<int>(L_);
    // x and y are each made of blocks of 2w lanes; the result holds, for every block of x and then of y, the
    // sum of its lower and upper w lanes.
    auto fold = [&](Value* x, Value* y, int w) {
      std::vector<int> lo, hi;
      for (int src = 0; src < 2; ++src)
        for (int blk = 0; blk < L / (2 * w); ++blk)
          for (int t = 0; t < w; ++t) {
            lo.push_back(src * L + blk * 2 * w + t);
            hi.push_back(src * L + blk * 2 * w + w + t);
          }
      return b_.CreateFAdd(shuffle(x, y, lo), shuffle(x, y, hi));
    };
    // After folding halves, x = [a half | b half]; after quarters, [a | b | c | d] quarters of L/4 lanes each.
    Value* ab = fold(v[0], v[1], L / 2);
    Value* cd = fold(v[2], v[3], L / 2);
    Value* abcd = fold(ab, cd, L / 4);
    // Sum each quarter's L/4 lanes: fold adjacent lanes until one is left per quarter.
    for (int w = L / 4; w > 1; w /= 2) {
      std::vector<int> lo, hi;
      for (int i = 0; i < 4 * (w / 2); ++i) {
        int q = i / (w / 2), t = i % (w / 2);
        lo.push_back(q * w + t);
        hi.push_back(q * w + w / 2 + t);
      }
      abcd = b_.CreateFAdd(shuffle(abcd, abcd, lo), shuffle(abcd, abcd, hi));
    }
    return abcd;
  }

  Value* a_ = nullptr;
  Value* bm_ = nullptr;
};

}  // namespace

int64_t matmulScratchBytes(const Graph& g, const Node& n) {
  // Sized for the tiled code even where the dot form (which needs none) will be chosen: that choice depends
  // on the vector width, which the plan does not know.
  Dims d = dims(g, n);
  // Then the epilogue's panel (M rows of up to 3 vectors) or, for long sums, partial sums of all of C.
  return packedBytes(d) + d.M * std::max(3 * kMaxLanes, roundUp(d.N, kMaxLanes)) * 4;
}

int64_t matmulPartialBytes(const Graph& g, const Node& n, int threads) {
  // Worth it for the weight gradients' form, A^T @ B, where K is the batch (times the leading dimensions
  // a folded product summed over): each thread then reads only the batch rows of both operands that it
  // wrote itself (split by rows of C, every thread reads all of them, half written by the other core), and
  // the partials (M x N) are few against what K x (M + N) would carry. Every thread's share is at least 32
  // rows of K. A batch of products is shared by products instead.
  Dims d = dims(g, n);
  if (d.batch > 1 || !d.ta || d.K < d.M || d.K < 32 * threads) return 0;
  return d.M * partialStride(d) * 4;
}

Shape matmulDomain(const Graph& g, const Node& n) {
  Dims d = dims(g, n);
  return d.batch > 1 ? Shape{d.batch, d.M, d.N} : Shape{d.M, d.N};
}

double matmulFlops(const Graph& g, const Node& n) {
  Dims d = dims(g, n);
  return 2.0 * static_cast<double>(d.batch) * static_cast<double>(d.M) * static_cast<double>(d.N) *
         static_cast<double>(d.K);
}

namespace {

// Rows [r0, r0 + m) of product l (null: the only one), by the code that suits its shape.
void emitProduct(KernelEmitter& k, const Node& n, const Dims& d, Value* r0, int64_t m, Value* l) {
  if (!k.opts.tiledMatmul || k.lanes() < 2) emitNaive(k, n, d, r0, m, l);
  else if (DotMatmul::suits(d, k.lanes())) DotMatmul(k, n, d, r0, m, l).emit();
  else TiledMatmul(k, n, d, r0, m, l).emit();
}

int64_t rowGranule(KernelEmitter& k, const Node& n, const Dims& d) {
  if (!k.opts.tiledMatmul || k.lanes() < 2) return 1;
  if (DotMatmul::suits(d, k.lanes())) return DotMatmul::kMR;
  return TiledMatmul(k, n, d, k.i64(0), d.M).tileRows();
}

}  // namespace

void emitMatmul(KernelEmitter& k, const Node& n) {
  Dims d = dims(k.g, n);
  if (k.sumSplit()) {
    const int64_t ld = partialStride(d);
    const bool tiled = k.opts.tiledMatmul && k.lanes() >= 2;
    k.splitSum(d.K, 8, [&](Value* k0, int64_t count, Value* mine) {
      Value* partial = k.at(mine, k.i64(0), k.f32Ty());
      if (tiled) TiledMatmul(k, n, d, k.i64(0), d.M).emitPartial(partial, ld, k0, count);
      else emitNaivePartial(k, n, d, partial, ld, k0, count);
    }, [&](const std::function<Value*(int)>& partialOf) {
      k.forRowShares(d.M, 1, [&](Value* r0, int64_t m) { emitTotals(k, n, d, r0, m, ld, partialOf); });
    });
    return;
  }
  // A batch of products: a thread team shares the products, each thread computing whole ones in turn.
  if (d.batch > 1) {
    k.forRowShares(d.batch, 1, [&](Value* first, int64_t count) {
      k.loop(k.name(n.id) + ".batch", count, [&](Value* i) { emitProduct(k, n, d, k.i64(0), d.M, k.b.CreateAdd(first, i)); },
             KernelEmitter::Hint::Explicit);
    });
    return;
  }
  // Split across a thread team, each share is a product of its own: rows of op(A) times all of op(B).
  k.forRowShares(d.M, rowGranule(k, n, d), [&](Value* r0, int64_t m) { emitProduct(k, n, d, r0, m, nullptr); });
}

void emitTranspose(KernelEmitter& k, const Node& n) {
  const Shape& s = k.g[n.inputs[0]].shape;
  transposeCopy(k, k.ptr(n.inputs[0]), s[0], s[1], k.name(n.id), [&](Value* row, Value* col, Value* v) {
    const bool vec = v->getType()->isVectorTy();
    k.emitResult(At{{row, col}, vec ? 8u : 1u, nullptr}, v);
  });
}

}  // namespace netc::codegen
