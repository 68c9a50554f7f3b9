// Copies: slice and pad_slice (a run of one axis between a big value and a small one), concat (one such run per
// operand), broadcast (a loop nest reading the input with stride 0 on repeated axes) and permute (a loop nest
// over the result's axes reading the input with its permuted strides). Plain loads and
// stores; LLVM vectorises the inner loops.
#include <functional>
#include <string>

#include "codegen/kernel_emitter.h"
#include "codegen/kernels/emitters.h"
#include "ops/helpers.h"
#include "ops/slice.h"

namespace netc::codegen {

using ops::AxisRun;
using ops::axisRun;

namespace {

// dst[o, j, i] = src[o, start + j, i] for j < len (toBig: the other way round), where `big` is the shape of
// the value whose axis has K >= len elements.
void emitRunCopy(KernelEmitter& k, int dst, int src, const Shape& big, int64_t axis, int64_t start, int64_t len,
                 bool toBig) {
  AxisRun r = axisRun(big, axis);
  auto& b = k.b;
  const int64_t run = len * r.inner;  // contiguous in both
  k.loop("o", r.outer, [&](llvm::Value* o) {
    llvm::Value* bigBase = b.CreateAdd(b.CreateMul(o, k.i64(r.K * r.inner)), k.i64(start * r.inner));
    llvm::Value* smallBase = b.CreateMul(o, k.i64(run));
    k.loop("j", run, [&](llvm::Value* j) {
      llvm::Value* bi = b.CreateAdd(bigBase, j);
      llvm::Value* si = b.CreateAdd(smallBase, j);
      if (toBig) k.store(dst, bi, k.load(src, si));
      else k.store(dst, si, k.load(src, bi));
    });
  });
}

}  // namespace

void emitSlice(KernelEmitter& k, const Node& n) {
  emitRunCopy(k, n.id, n.inputs[0], k.g[n.inputs[0]].shape, n.attrs.ints[0], n.attrs.ints[1],
              n.attrs.ints[2] - n.attrs.ints[1], false);
}

void emitPadSlice(KernelEmitter& k, const Node& n) {
  k.loop("zero", numel(n.shape), [&](llvm::Value* i) { k.store(n.id, i, k.f32(0)); });
  emitRunCopy(k, n.id, n.inputs[0], n.shape, n.attrs.ints[0], n.attrs.ints[1], n.attrs.ints[2] - n.attrs.ints[1],
              true);
}

void emitConcat(KernelEmitter& k, const Node& n) {
  const int64_t ax = n.attrs.ints[0];
  int64_t off = 0;
  for (int x : n.inputs) {
    const int64_t len = k.g[x].shape[ax];
    emitRunCopy(k, n.id, x, n.shape, ax, off, len, true);
    off += len;
  }
}

// A loop nest over the output's axes; the input's offset advances by its stride (0 on repeated axes).
void emitBroadcastTo(KernelEmitter& k, const Node& n) {
  const int x = n.inputs[0];
  const Shape& os = n.shape;
  const Shape& xs = k.g[x].shape;
  std::vector<int64_t> xst(os.size(), 0);
  {
    int64_t s = 1;
    for (size_t i = xs.size(); i-- > 0;) {
      size_t o = i + os.size() - xs.size();
      xst[o] = xs[i] == 1 ? 0 : s;
      s *= xs[i];
    }
  }
  auto& b = k.b;
  std::function<void(size_t, llvm::Value*, llvm::Value*)> nest = [&](size_t d, llvm::Value* outAt, llvm::Value* inAt) {
    if (d == os.size()) {
      k.store(n.id, outAt, k.load(x, inAt));
      return;
    }
    k.loop("d" + std::to_string(d), os[d], [&](llvm::Value* i) {
      nest(d + 1, b.CreateAdd(b.CreateMul(outAt, k.i64(os[d])), i), b.CreateAdd(inAt, b.CreateMul(i, k.i64(xst[d]))));
    });
  };
  nest(0, k.i64(0), k.i64(0));
}

// out[i0, i1, ...] = x[... at axes[d]: i_d ...]: the output written in order, the input read with the stride of
// the axis each output axis comes from. Runs of axes that stay adjacent and in order are merged first, so
// [B, T, C] -> [T, B, C] copies rows of C.
void emitPermute(KernelEmitter& k, const Node& n) {
  const int x = n.inputs[0];
  const Shape& xs = k.g[x].shape;
  const std::vector<int64_t> xst = ops::strides(xs);
  std::vector<int64_t> sizes, steps;  // per merged output axis: its size and its stride in x
  for (size_t d = 0; d < n.shape.size(); ++d) {
    const int64_t from = n.attrs.ints[d];
    if (n.shape[d] == 1) continue;
    if (!sizes.empty() && steps.back() == xst[static_cast<size_t>(from)] * xs[static_cast<size_t>(from)]) {
      sizes.back() *= n.shape[d];
      steps.back() = xst[static_cast<size_t>(from)];
      continue;
    }
    sizes.push_back(n.shape[d]);
    steps.push_back(xst[static_cast<size_t>(from)]);
  }
  auto& b = k.b;
  std::function<void(size_t, llvm::Value*, llvm::Value*)> nest = [&](size_t d, llvm::Value* outAt, llvm::Value* inAt) {
    if (d == sizes.size()) {
      k.store(n.id, outAt, k.load(x, inAt));
      return;
    }
    k.loop("p" + std::to_string(d), sizes[d], [&](llvm::Value* i) {
      nest(d + 1, b.CreateAdd(b.CreateMul(outAt, k.i64(sizes[d])), i), b.CreateAdd(inAt, b.CreateMul(i, k.i64(steps[d]))));
    });
  };
  nest(0, k.i64(0), k.i64(0));
}

}  // namespace netc::codegen
