#include <cmath>
#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "codegen/fast_math.h"
#include "codegen/kernel_emitter.h"
#include "ops/helpers.h"

namespace netc::ops {

// cross_entropy(logits [N, V], targets int [N]): mean over rows of -log softmax(logits)[target], with the
// softmax fused in (computed stably by subtracting the row max). Gradient: (softmax - onehot) / N * dy.
static void inferCrossEntropy(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  requireRank(g, n, 0, 2, "the logits");
  const Node& l = g[n.inputs[0]];
  const Node& t = g[n.inputs[1]];
  if (t.dtype != DType::I32 || t.shape.size() != 1 || t.shape[0] != l.shape[0])
    shapeError(g, n, fmt::format("targets {} must be int[{}] to match logits {}{}, found {}{}", g.valueName(t.id),
                                 l.shape[0] == kBatch ? "B" : std::to_string(l.shape[0]), g.valueName(l.id),
                                 shapeStr(l.shape), dtypeName(t.dtype), shapeStr(t.shape)));
  n.dtype = DType::F32;
  n.shape = {};
}

// Row r's log-sum-exp, shared by the forward and the gradient.
static double logSumExp(const double* row, int64_t V) {
  double mx = row[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
  double s = 0;
  for (int64_t v = 0; v < V; ++v) s += std::exp(row[v] - mx);
  return mx + std::log(s);
}

static int64_t target(const Tensor& t, int64_t r, int64_t V) {
  double v = t.data[r];
  if (!(v >= 0 && v < static_cast<double>(V)))
    fail(fmt::format("cross_entropy target {} is out of range for {} classes", v, V));
  return static_cast<int64_t>(v);
}

static void evalCrossEntropy(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& L = *in[0];
  int64_t N = L.shape[0], V = L.shape[1];
  double total = 0;
  for (int64_t r = 0; r < N; ++r) {
    const double* row = &L.data[r * V];
    total += logSumExp(row, V) - row[target(*in[1], r, V)];
  }
  out.data = {total / static_cast<double>(N)};
}

static void gradCrossEntropy(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  dx[0] = b.op("cross_entropy_grad", {n.inputs[0], n.inputs[1], dy});
}

// ---- code generation: rows of V logits in vectors (the last one masked), exp/log from fast_math ----
// Masked-off lanes load as -inf, so they never win the max and their exp is dropped before summing.
static llvm::Value* loadLogits(KernelEmitter& k, int L, llvm::Value* at, llvm::Value* mask) {
  return k.loadVec(k.ptr(L), at, k.lanes(), mask, "logits", k.splat(k.f32(-INFINITY), k.lanes()));
}

struct RowStats {
  llvm::Value* base;  // flat index of the row's first logit
  llvm::Value* max;   // scalar
};

static RowStats rowMax(KernelEmitter& k, int L, llvm::Value* r, int64_t V) {
  auto& b = k.b;
  llvm::Value* base = b.CreateMul(r, k.i64(V), "row");
  // The running maximum lives in a one-vector stack slot, so the full and masked parts can share it.
  llvm::Value* acc = k.local(k.vecTy(k.lanes()), "max.acc");
  b.CreateStore(k.splat(k.f32(-INFINITY), k.lanes()), acc);
  k.forVectors("max", V, [&](llvm::Value* v, llvm::Value* mask) {
    llvm::Value* cur = b.CreateLoad(k.vecTy(k.lanes()), acc);
    b.CreateStore(b.CreateMaxNum(cur, loadLogits(k, L, b.CreateAdd(base, v), mask)), acc);
  });
  return {base, k.reduceMax(b.CreateLoad(k.vecTy(k.lanes()), acc))};
}

// sum over the row of exp(logit - max); `each` also sees every exp vector (to store it).
static llvm::Value* rowExpSum(KernelEmitter& k, int L, const RowStats& row, int64_t V,
                              const std::function<void(llvm::Value*, llvm::Value*, llvm::Value*)>& each = {}) {
  auto& b = k.b;
  llvm::Type* vt = k.vecTy(k.lanes());
  llvm::Value* acc = k.local(vt, "sum.acc");
  b.CreateStore(llvm::Constant::getNullValue(vt), acc);
  llvm::Value* mx = k.splat(row.max, k.lanes());
  k.forVectors("exp", V, [&](llvm::Value* v, llvm::Value* mask) {
    llvm::Value* at = b.CreateAdd(row.base, v);
    llvm::Value* e = codegen::emitExp(b, b.CreateFSub(loadLogits(k, L, at, mask), mx));
    if (mask) e = b.CreateSelect(mask, e, llvm::Constant::getNullValue(vt));
    if (each) each(at, e, mask);
    b.CreateStore(b.CreateFAdd(b.CreateLoad(vt, acc), e), acc);
  });
  return k.reduceAdd(b.CreateLoad(vt, acc));
}

// The target class of row r; engines validate targets when written, the clamp keeps a stray one in bounds.
static llvm::Value* targetIndex(KernelEmitter& k, int t, llvm::Value* r, int64_t V) {
  llvm::Value* idx = k.b.CreateSExt(k.load(t, r, k.name(t)), k.i64Ty());
  return k.b.CreateSelect(k.b.CreateICmpULT(idx, k.i64(V)), idx, k.i64(0), "target");
}

// dy / N for cross_entropy_grad node `gr`, folded when dy is a constant (it is 1 for a plain loss).
static llvm::Value* gradScale(KernelEmitter& k, const Node& gr, int64_t N) {
  int dy = gr.inputs[2];
  if (auto c = k.constant(dy)) return k.f32(*c / static_cast<double>(N));
  return k.b.CreateFMul(k.load(dy, k.i64(0)), k.f32(1.0 / static_cast<double>(N)), "scale");
}

// Row r of the gradient: the exps already stored there, scaled by dy / (N * sum), the target's dy / N taken off.
static void finishGradRow(KernelEmitter& k, int gr, int t, const RowStats& row, llvm::Value* r, int64_t V,
                          llvm::Value* sum, llvm::Value* scale) {
  auto& b = k.b;
  llvm::Value* out = k.ptr(gr);
  llvm::Value* f = k.splat(b.CreateFDiv(scale, sum, "norm"), k.lanes());
  k.forVectors("scale", V, [&](llvm::Value* v, llvm::Value* mask) {
    llvm::Value* at = b.CreateAdd(row.base, v);
    k.storeVec(out, at, b.CreateFMul(k.loadVec(out, at, k.lanes(), mask), f), mask);
  });
  llvm::Value* at = b.CreateAdd(row.base, targetIndex(k, t, r, V));
  k.store(gr, at, b.CreateFSub(k.load(gr, at), scale));
}

// The loss; when the planner paired it with its gradient (Kernel::partners), the gradient in the same pass.
static void emitCrossEntropy(KernelEmitter& k, const Node& n) {
  int L = n.inputs[0], t = n.inputs[1];
  int64_t N = k.g[L].shape[0], V = k.g[L].shape[1];
  auto& b = k.b;
  int grad = -1;
  for (int p : k.kernel.partners)
    if (k.g[p].op->name == std::string_view("cross_entropy_grad")) grad = p;
  llvm::Value* scale = grad >= 0 ? gradScale(k, k.g[grad], N) : nullptr;
  auto total = k.loop("r", N, {k.f32(0)}, [&](llvm::Value* r, const std::vector<llvm::Value*>& acc) {
    RowStats row = rowMax(k, L, r, V);
    llvm::Value* sum = grad < 0 ? rowExpSum(k, L, row, V)
                                : rowExpSum(k, L, row, V, [&](llvm::Value* at, llvm::Value* e, llvm::Value* mask) {
                                    k.storeVec(k.ptr(grad), at, e, mask);
                                  });
    if (grad >= 0) finishGradRow(k, grad, t, row, r, V, sum, scale);
    llvm::Value* lse = b.CreateFAdd(row.max, codegen::emitLog(b, sum), "lse");
    llvm::Value* picked = k.load(L, b.CreateAdd(row.base, targetIndex(k, t, r, V)));
    return std::vector<llvm::Value*>{b.CreateFAdd(acc[0], b.CreateFSub(lse, picked))};
  });
  k.store(n.id, k.i64(0), b.CreateFMul(total[0], k.f32(1.0 / static_cast<double>(N))));
}

extern const OpDef kCrossEntropy{.name = "cross_entropy", .summary = "mean softmax cross-entropy of logits and int targets",
                          .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel,
                          .infer = inferCrossEntropy, .grad = gradCrossEntropy, .eval = evalCrossEntropy,
                          .emitKernel = emitCrossEntropy};

static void evalCrossEntropyGrad(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& L = *in[0];
  int64_t N = L.shape[0], V = L.shape[1];
  double scale = in[2]->data[0] / static_cast<double>(N);
  out.data.assign(N * V, 0.0);
  for (int64_t r = 0; r < N; ++r) {
    const double* row = &L.data[r * V];
    double lse = logSumExp(row, V);
    for (int64_t v = 0; v < V; ++v) out.data[r * V + v] = std::exp(row[v] - lse) * scale;
    out.data[r * V + target(*in[1], r, V)] -= scale;
  }
}

// On its own (no paired loss in the kernel): each row's exps, then finishGradRow.
static void emitCrossEntropyGrad(KernelEmitter& k, const Node& n) {
  int L = n.inputs[0], t = n.inputs[1];
  int64_t N = k.g[L].shape[0], V = k.g[L].shape[1];
  llvm::Value* scale = gradScale(k, n, N);
  k.loop("r", N, [&](llvm::Value* r) {
    RowStats row = rowMax(k, L, r, V);
    llvm::Value* sum = rowExpSum(k, L, row, V, [&](llvm::Value* at, llvm::Value* e, llvm::Value* mask) {
      k.storeVec(k.ptr(n.id), at, e, mask);
    });
    finishGradRow(k, n.id, t, row, r, V, sum, scale);
  });
}

extern const OpDef kCrossEntropyGrad{
    .name = "cross_entropy_grad", .summary = "(softmax(logits) - onehot(targets)) / N * dy", .minInputs = 3,
    .maxInputs = 3, .cls = OpDef::Kernel, .internal = true,
    .infer = [](const Graph& g, Node& n) { n.dtype = DType::F32; n.shape = g[n.inputs[0]].shape; },
    .eval = evalCrossEntropyGrad, .emitKernel = emitCrossEntropyGrad};

}  // namespace netc::ops
