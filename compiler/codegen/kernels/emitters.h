// The CPU kernel emitters, one .cpp per kernel pattern, that cpu_kernels.cpp lists per op. Each emits the loop
// nest computing one node into its output buffer and hands every result to KernelEmitter (stores, the fused
// epilogue); the partialBytes functions say when a team should split a kernel's sum (CpuKernel::partialBytes).
// The products (matmul, transpose) are in gemm.h.
#pragma once
#include <cstdint>

#include "codegen/kernels/gemm.h"
#include "graph/graph.h"

namespace netc {
class KernelEmitter;
}

namespace netc::codegen {

// copies.cpp: runs of one axis copied between a big value and a small one, and broadcasts.
void emitSlice(KernelEmitter& k, const Node& n);
void emitPadSlice(KernelEmitter& k, const Node& n);
void emitConcat(KernelEmitter& k, const Node& n);
void emitBroadcastTo(KernelEmitter& k, const Node& n);
void emitPermute(KernelEmitter& k, const Node& n);

// row_reductions.cpp: sums along an axis and their adjoints.
void emitSum(KernelEmitter& k, const Node& n);
void emitMean(KernelEmitter& k, const Node& n);
void emitVar(KernelEmitter& k, const Node& n);
void emitExpand(KernelEmitter& k, const Node& n);
void emitSumTo(KernelEmitter& k, const Node& n);
int64_t sumToPartialBytes(const Graph& g, const Node& n, int threads);
void emitMax(KernelEmitter& k, const Node& n);
void emitMaxGrad(KernelEmitter& k, const Node& n);

// gathers.cpp: rows read or added at the positions an index tensor names.
void emitEmbedding(KernelEmitter& k, const Node& n);
void emitScatterAdd(KernelEmitter& k, const Node& n);
int64_t scatterAddPartialBytes(const Graph& g, const Node& n, int threads);
void emitPick(KernelEmitter& k, const Node& n);
void emitPickGrad(KernelEmitter& k, const Node& n);
void emitOnehot(KernelEmitter& k, const Node& n);

// cross_entropy.cpp: the loss and its gradient, one pass over the logits when paired.
void emitCrossEntropy(KernelEmitter& k, const Node& n);
void emitCrossEntropyGrad(KernelEmitter& k, const Node& n);
int64_t crossEntropyPartialBytes(const Graph& g, const Node& n, int threads);

// probes.cpp: the statistics the instrumentation pass appends.
void emitLayerStats(KernelEmitter& k, const Node& n);
void emitGradStats(KernelEmitter& k, const Node& n);
void emitValueStats(KernelEmitter& k, const Node& n);
void emitParamStats(KernelEmitter& k, const Node& n);

}  // namespace netc::codegen
