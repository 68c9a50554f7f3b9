// Gathers and scatters by an index tensor: embedding (rows of a table copied out at the indices) and
// scatter_add, its gradient (rows added back in at the indices, a team's threads each into a table of its own).
#include <algorithm>
#include <functional>

#include "codegen/kernel_emitter.h"
#include "codegen/kernels/emitters.h"

namespace netc::codegen {

// The row index of position r of x as i64. Engines validate every index when it is written; the clamp only
// guarantees that an index which somehow escaped validation reads a wrong row instead of wild memory.
static llvm::Value* rowIndex(KernelEmitter& k, int x, llvm::Value* r, int64_t rows) {
  llvm::Value* idx = k.b.CreateSExt(k.load(x, r, k.name(x)), k.i64Ty());
  return k.b.CreateSelect(k.b.CreateICmpULT(idx, k.i64(rows)), idx, k.i64(0), "row");
}

void emitEmbedding(KernelEmitter& k, const Node& n) {
  int C = n.inputs[0], x = n.inputs[1];
  int64_t V = k.g[C].shape[0], E = k.g[C].shape[1];
  auto& b = k.b;
  // A team shares the positions by whole batch rows: each thread writes the rows its products will read.
  const Shape& xs = k.g[x].shape;
  const int64_t positions = numel(xs), perRow = xs.empty() ? 1 : positions / std::max<int64_t>(1, xs[0]);
  k.forRowShares(positions, perRow, [&](llvm::Value* first, int64_t count) {
    k.loop("pos", count, [&](llvm::Value* local) {
      llvm::Value* r = b.CreateAdd(first, local);
      llvm::Value* src = b.CreateMul(rowIndex(k, x, r, V), k.i64(E));
      llvm::Value* dst = b.CreateMul(r, k.i64(E));
      k.loop("e", E, [&](llvm::Value* e) { k.store(n.id, b.CreateAdd(dst, e), k.load(C, b.CreateAdd(src, e))); });
    });
  });
}

void emitScatterAdd(KernelEmitter& k, const Node& n) {
  int dy = n.inputs[0], x = n.inputs[1];
  int64_t V = n.shape[0], E = n.shape[1];
  auto& b = k.b;
  // Positions first .. first+count-1 added into the table `out` (zeroed first).
  auto scatter = [&](llvm::Value* out, llvm::Value* first, int64_t count) {
    k.loop("zero", V * E, [&](llvm::Value* i) { b.CreateAlignedStore(k.f32(0), k.at(out, i, k.f32Ty()), llvm::Align(4)); });
    k.loop("pos", count, [&](llvm::Value* local) {
      llvm::Value* r = b.CreateAdd(first, local);
      llvm::Value* dst = b.CreateMul(rowIndex(k, x, r, V), k.i64(E));
      llvm::Value* src = b.CreateMul(r, k.i64(E));
      k.loop("e", E, [&](llvm::Value* e) {
        llvm::Value* at = k.at(out, b.CreateAdd(dst, e), k.f32Ty());
        b.CreateAlignedStore(b.CreateFAdd(b.CreateAlignedLoad(k.f32Ty(), at, llvm::Align(4)), k.load(dy, b.CreateAdd(src, e))),
                             at, llvm::Align(4));
      });
    });
  };
  const int64_t positions = numel(k.g[x].shape);
  if (!k.sumSplit()) return scatter(k.ptr(n.id), k.i64(0), positions);
  // A team shares the positions, each thread scattering its own into a table of its own; the tables are
  // added in thread order, each thread doing its share of the table's rows.
  k.splitSum(positions, 1, [&](llvm::Value* first, int64_t count, llvm::Value* mine) {
    scatter(k.at(mine, k.i64(0), k.f32Ty()), first, count);
  }, [&](const std::function<llvm::Value*(int)>& partialOf) {
    k.forRowShares(V, 1, [&](llvm::Value* r0, int64_t rows) {
      k.loop("total", rows * E, [&](llvm::Value* local) {
        llvm::Value* i = b.CreateAdd(b.CreateMul(r0, k.i64(E)), local);
        k.store(n.id, i, k.addPartials(partialOf, i, 1));
      });
    });
  });
}

// pick: out[r] = x[r, y[r]]; pick_grad: row r of zeros with dy[r] at column y[r].
void emitPick(KernelEmitter& k, const Node& n) {
  int x = n.inputs[0], y = n.inputs[1];
  const int64_t V = k.g[x].shape.back();
  auto& b = k.b;
  k.loop("r", numel(n.shape), [&](llvm::Value* r) {
    k.store(n.id, r, k.load(x, b.CreateAdd(b.CreateMul(r, k.i64(V)), rowIndex(k, y, r, V))));
  });
}

void emitPickGrad(KernelEmitter& k, const Node& n) {
  int dy = n.inputs[0], y = n.inputs[1];
  const int64_t V = n.shape.back();
  auto& b = k.b;
  k.loop("zero", numel(n.shape), [&](llvm::Value* i) { k.store(n.id, i, k.f32(0)); });
  k.loop("r", numel(k.g[dy].shape), [&](llvm::Value* r) {
    k.store(n.id, b.CreateAdd(b.CreateMul(r, k.i64(V)), rowIndex(k, y, r, V)), k.load(dy, r));
  });
}

// onehot(logits, y): row r of zeros with 1 at column y[r]; a row whose target is the ignored value stays zeros.
void emitOnehot(KernelEmitter& k, const Node& n) {
  int y = n.inputs[1];
  const int64_t V = n.shape.back(), rows = numel(n.shape) / V;
  auto& b = k.b;
  k.loop("zero", numel(n.shape), [&](llvm::Value* i) { k.store(n.id, i, k.f32(0)); });
  k.loop("r", rows, [&](llvm::Value* r) {
    llvm::Value* one = k.f32(1);
    if (!n.attrs.ints.empty()) {
      llvm::Value* t = k.load(y, r, "t");
      one = b.CreateSelect(b.CreateICmpNE(t, b.getInt32(static_cast<uint32_t>(static_cast<int32_t>(n.attrs.ints[0])))),
                           one, k.f32(0));
    }
    // An ignored row's index is clamped to column 0, where it stores the 0 it already holds.
    k.store(n.id, b.CreateAdd(b.CreateMul(r, k.i64(V)), rowIndex(k, y, r, V)), one);
  });
}

// Worth sharing when every thread gets at least 256 positions and the tables are no bigger than the rows
// scattered into them: below that the whole scatter takes under a microsecond (mlp_kaiming, batch 256: 0.9 us
// on one thread, the same split), less than the barrier a split adds; at batch 1024 it took 5.6-7.9 us on
// thread 0 of a team (half its rows written by the other core) and 2.9-4.1 split.
int64_t scatterAddPartialBytes(const Graph& g, const Node& n, int threads) {
  const int64_t positions = numel(g[n.inputs[1]].shape), V = n.shape[0];
  return positions >= 256 * threads && V <= positions ? numel(n.shape) * 4 : 0;
}

}  // namespace netc::codegen
