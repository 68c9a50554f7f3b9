#include "codegen/gemm.h"

#include "codegen/kernel_emitter.h"

namespace netc::codegen {

using llvm::Value;

namespace {

struct Dims {
  int64_t M, N, K;
  bool ta, tb;
};

Dims dims(const Graph& g, const Node& n) {
  bool ta = n.attrs.ints.size() > 0 && n.attrs.ints[0];
  bool tb = n.attrs.ints.size() > 1 && n.attrs.ints[1];
  const Shape& a = g[n.inputs[0]].shape;
  return {n.shape[0], n.shape[1], ta ? a[0] : a[1], ta, tb};
}

}  // namespace

int64_t matmulScratchBytes(const Graph& g, const Node& n) { return 0; }

// The straightforward triple loop: one dot product per result.
void emitMatmul(KernelEmitter& k, const Node& n) {
  Dims d = dims(k.g, n);
  int A = n.inputs[0], B = n.inputs[1];
  auto& b = k.b;
  k.loop("i", d.M, [&](Value* i) {
    k.loop("j", d.N, [&](Value* j) {
      std::vector<Value*> acc;
      {
        KernelEmitter::Reassociate fast(b);
        acc = k.loop("k", d.K, {k.f32(0)}, [&](Value* kk, const std::vector<Value*>& s) {
        Value* ai = d.ta ? b.CreateAdd(b.CreateMul(kk, k.i64(d.M)), i) : b.CreateAdd(b.CreateMul(i, k.i64(d.K)), kk);
        Value* bi = d.tb ? b.CreateAdd(b.CreateMul(j, k.i64(d.K)), kk) : b.CreateAdd(b.CreateMul(kk, k.i64(d.N)), j);
        Value* prod = b.CreateFMul(k.load(A, ai), k.load(B, bi));
        return std::vector<Value*>{b.CreateFAdd(s[0], prod)};
        });
      }
      k.emitResult(At{{i, j}}, acc[0]);
    });
  });
}

}  // namespace netc::codegen
