// Code generation for matrix products, with every dimension and both transpositions baked in.
#pragma once
#include <cstdint>

#include "graph/graph.h"

namespace netc {
class KernelEmitter;
}

namespace netc::codegen {

// Bytes of scratch space the product needs (a transposed operand packed for unit-stride loads).
int64_t matmulScratchBytes(const Graph& g, const Node& n);

// Bytes of one thread's partial product when a team of `threads` should split the sum over K
// (CpuKernel::partialBytes), 0 when it should not.
int64_t matmulPartialBytes(const Graph& g, const Node& n, int threads);

// The points at which the product hands its results to the epilogue: [M, N] of one product (leading
// dimensions folded into M), or [batch, M, N] for a batch of products (KernelEmitter::emitResult).
Shape matmulDomain(const Graph& g, const Node& n);

// Floating-point work of the product: 2 * batch * M * N * K.
double matmulFlops(const Graph& g, const Node& n);

// C = op(A) @ op(B) for the matmul node `n`; every result goes through KernelEmitter::emitResult.
void emitMatmul(KernelEmitter& k, const Node& n);

// The transpose node `n` ([R, C] -> [C, R]), with the same blocked copy a product uses to pack a transposed B.
void emitTranspose(KernelEmitter& k, const Node& n);

}  // namespace netc::codegen
