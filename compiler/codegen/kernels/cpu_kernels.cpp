// The CPU kernel of every Kernel-class op: one line per op. Adding a Kernel-class op = its file under
// compiler/ops/ (shape rule, gradient, reference), its emitter in the kernel pattern's file here
// (declared in emitters.h), and one line below.
#include "codegen/kernels/cpu_kernels.h"

#include <fmt/format.h>

#include <unordered_map>

#include "codegen/kernels/emitters.h"
#include "ops/op.h"
#include "support/diag.h"

namespace netc::codegen {

const std::vector<CpuKernel>& cpuKernels() {
  static const std::vector<CpuKernel> table = {
      // products (gemm.cpp)
      {.op = "matmul", .emit = emitMatmul, .partialBytes = matmulPartialBytes, .sharesRows = true},
      {.op = "transpose", .emit = emitTranspose},
      // gathers and scatters (gathers.cpp)
      {.op = "embedding", .emit = emitEmbedding, .sharesRows = true},
      {.op = "scatter_add", .emit = emitScatterAdd, .partialBytes = scatterAddPartialBytes},
      {.op = "pick", .emit = emitPick},
      {.op = "pick_grad", .emit = emitPickGrad},
      {.op = "onehot", .emit = emitOnehot},
      // copies (copies.cpp)
      {.op = "slice", .emit = emitSlice},
      {.op = "pad_slice", .emit = emitPadSlice},
      {.op = "concat", .emit = emitConcat},
      {.op = "broadcast", .emit = emitBroadcastTo},
      {.op = "permute", .emit = emitPermute},
      // row reductions (row_reductions.cpp)
      {.op = "sum", .emit = emitSum},
      {.op = "mean", .emit = emitMean},
      {.op = "var", .emit = emitVar},
      {.op = "expand", .emit = emitExpand},
      {.op = "sum_to", .emit = emitSumTo, .partialBytes = sumToPartialBytes},
      {.op = "max", .emit = emitMax},
      {.op = "max_grad", .emit = emitMaxGrad},
      // the loss (cross_entropy.cpp)
      {.op = "cross_entropy", .emit = emitCrossEntropy, .partialBytes = crossEntropyPartialBytes},
      {.op = "cross_entropy_grad", .emit = emitCrossEntropyGrad},
      // probes (probes.cpp)
      {.op = "layer_stats", .emit = emitLayerStats},
      {.op = "grad_stats", .emit = emitGradStats},
      {.op = "value_stats", .emit = emitValueStats},
      {.op = "param_stats", .emit = emitParamStats},
      // no kernel of their own
      {.op = "reshape", .noKernel = "a view: it computes nothing and shares its input's storage (plan.cpp)"},
      {.op = "folded", .noKernel = "a view standing for a formula node a fused kernel computes (ops/folded.cpp)"},
      {.op = "mode", .noKernel = "specialised away (modes/specialize.h) before any engine sees the graph"},
  };
  return table;
}

const CpuKernel* findCpuKernel(const OpDef& op) {
  // Keyed by the registered OpDef, looked up by name once.
  static const std::unordered_map<const OpDef*, const CpuKernel*> byOp = [] {
    std::unordered_map<const OpDef*, const CpuKernel*> m;
    for (const CpuKernel& k : cpuKernels()) m[&getOp(k.op)] = &k;
    return m;
  }();
  auto it = byOp.find(&op);
  return it == byOp.end() ? nullptr : it->second;
}

bool hasCpuKernel(const OpDef& op) {
  const CpuKernel* k = findCpuKernel(op);
  return k && k->emit;
}

KernelEmitFn cpuKernelEmitter(const OpDef& op) {
  const CpuKernel* k = findCpuKernel(op);
  if (!k || !k->emit) fail(fmt::format("internal error: op '{}' has no code generator", op.name));
  return k->emit;
}

}  // namespace netc::codegen
