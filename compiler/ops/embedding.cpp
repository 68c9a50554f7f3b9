#include <cmath>
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "codegen/kernel_emitter.h"
#include "ops/helpers.h"

namespace netc::ops {

// embedding(C, x), written C[x]: row lookup. C is [V, E] float, x any-shaped int; out is x.shape + [E].
// Gradient: a scatter-ADD of dy into a zero [V, E] table, so every repeated index counts.
static void inferEmbedding(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireRank(g, n, 0, 2, "the embedding table");
  const Node& x = g[n.inputs[1]];
  if (x.dtype != DType::I32)
    shapeError(g, n, fmt::format("the index must be int, but {} is {}{}", g.describe(x.id), dtypeName(x.dtype),
                                 shapeStr(x.shape)));
  n.dtype = DType::F32;
  n.shape = x.shape;
  n.shape.push_back(g[n.inputs[0]].shape[1]);
}

static void evalEmbedding(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& C = *in[0];
  const Tensor& x = *in[1];
  int64_t V = C.shape[0], E = C.shape[1];
  out.data.assign(numel(out.shape), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i) {
    double idx = x.data[i];
    if (!(idx >= 0 && idx < static_cast<double>(V)))
      fail(fmt::format("embedding index {} is out of range for a table of {} rows", idx, V));
    for (int64_t e = 0; e < E; ++e) out.data[i * E + e] = C.data[static_cast<int64_t>(idx) * E + e];
  }
}

// The row index of position r of x as i64. Engines validate every index when it is written; the clamp only
// guarantees that an index which somehow escaped validation reads a wrong row instead of wild memory.
static llvm::Value* rowIndex(KernelEmitter& k, int x, llvm::Value* r, int64_t rows) {
  llvm::Value* idx = k.b.CreateSExt(k.load(x, r, k.name(x)), k.i64Ty());
  return k.b.CreateSelect(k.b.CreateICmpULT(idx, k.i64(rows)), idx, k.i64(0), "row");
}

static void emitEmbedding(KernelEmitter& k, const Node& n) {
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

static void gradEmbedding(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.ints = {b.node(n.inputs[0]).shape[0]};
  dx[0] = b.op("scatter_add", {dy, n.inputs[1]}, at);
}

extern const OpDef kEmbedding{.name = "embedding", .summary = "row lookup C[x]", .minInputs = 2, .maxInputs = 2,
                       .cls = OpDef::Kernel,
                       .indexBound = {.input = 1, .limit = IndexBound::RowsOfInput0},
                       .args = "C, x",
                       .infer = inferEmbedding, .grad = gradEmbedding, .eval = evalEmbedding,
                       .emitKernel = emitEmbedding, .sharesRows = true};

// scatter_add(dy, x) with Attrs::ints = {V}: a [V, E] table of zeros with each dy row added at row x[i].
static void inferScatterAdd(const Graph& g, Node& n) {
  const Node& dy = g[n.inputs[0]];
  n.dtype = DType::F32;
  n.shape = {n.attrs.ints.at(0), dy.shape.back()};
}

static void evalScatterAdd(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& dy = *in[0];
  const Tensor& x = *in[1];
  int64_t E = out.shape[1];
  out.data.assign(numel(out.shape), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i) {
    int64_t row = static_cast<int64_t>(x.data[i]);
    for (int64_t e = 0; e < E; ++e) out.data[row * E + e] += dy.data[i * E + e];
  }
}

static void emitScatterAdd(KernelEmitter& k, const Node& n) {
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

// Worth sharing when every thread gets at least 256 positions and the tables are no bigger than the rows
// scattered into them: below that the whole scatter takes under a microsecond (mlp_kaiming, batch 256: 0.9 us
// on one thread, the same split), less than the barrier a split adds; at batch 1024 it took 5.6-7.9 us on
// thread 0 of a team (half its rows written by the other core) and 2.9-4.1 split.
static int64_t scatterAddPartialBytes(const Graph& g, const Node& n, int threads) {
  const int64_t positions = numel(g[n.inputs[1]].shape), V = n.shape[0];
  return positions >= 256 * threads && V <= positions ? numel(n.shape) * 4 : 0;
}

extern const OpDef kScatterAdd{.name = "scatter_add", .summary = "accumulate rows of dy at indices x (embedding gradient)",
                        .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
                        .attrs = {{.name = "rows", .kind = AttrSpec::Index}},
                        .indexBound = {.input = 1, .limit = IndexBound::Attr0},
                        .infer = inferScatterAdd, .eval = evalScatterAdd, .emitKernel = emitScatterAdd,
                        .partialBytes = scatterAddPartialBytes};

}  // namespace netc::ops
