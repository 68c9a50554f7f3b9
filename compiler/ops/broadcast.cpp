#include <fmt/format.h>

#include "autodiff/grad_builder.h"
#include "codegen/kernel_emitter.h"
#include "ops/helpers.h"

namespace netc::ops {

// broadcast(x, [dims]): x repeated to the shape [dims] by numpy's rules (size-1 or missing axes repeat), as
// makemore's learned start state `start.expand((b, -1))`: broadcast(start, [B, H]). Gradient: dy summed back
// to x's shape (the autodiff's sum_to, inserted because the shapes differ).
static void inferBroadcastTo(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  const Node& x = g[n.inputs[0]];
  Shape out;
  if (!broadcastShapes(x.shape, n.attrs.shape, out) || out != n.attrs.shape)
    shapeError(g, n, fmt::format("{} of shape {} does not broadcast to {}", g.describe(x.id), shapeStr(x.shape),
                                 shapeStr(n.attrs.shape)));
  n.dtype = DType::F32;
  n.shape = n.attrs.shape;
}

static void evalBroadcastTo(const Node&, const std::vector<const Tensor*>& in, Tensor& out) {
  const int64_t total = numel(out.shape);
  out.data.resize(total);
  for (int64_t i = 0; i < total; ++i) out.data[i] = in[0]->data[broadcastIndex(out.shape, in[0]->shape, i)];
}

// A loop nest over the output's axes; the input's offset advances by its stride (0 on repeated axes).
static void emitBroadcastTo(KernelEmitter& k, const Node& n) {
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

extern const OpDef kBroadcastTo{
    .name = "broadcast", .summary = "repeat x to a shape: broadcast(start, [B, H])", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Kernel,
    .attrs = {{.name = "shape", .kind = AttrSpec::Shape, .slot = AttrSpec::Dims, .keyword = true}},
    .infer = inferBroadcastTo,
    .grad = [](GradBuilder&, const Node&, int dy, std::vector<int>& dx) { dx[0] = dy; },
    .eval = evalBroadcastTo, .emitKernel = emitBroadcastTo};

}  // namespace netc::ops
