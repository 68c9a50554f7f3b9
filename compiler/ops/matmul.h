// The geometry of a matrix product (matmul) over concrete shapes, shared by its reference evaluation and the
// code generators: every form is `batch` independent products op(A) [M, K] @ op(B) [K, N] of row-major
// matrices lying one after another in A, B and C.
#pragma once
#include <cstdint>

#include "graph/graph.h"

namespace netc::ops {

struct ProductDims {
  int64_t batch = 1;  // products; > 1 only for a batched product ([.., M, K] @ [.., K, N] pairwise)
  int64_t M = 0, N = 0, K = 0;
  bool ta = false, tb = false;  // A is stored [K, M], B is stored [N, K]
  // Elements from one product's matrix to the next's (batch > 1).
  int64_t strideA() const { return M * K; }
  int64_t strideB() const { return K * N; }
  int64_t strideC() const { return M * N; }
};

// The product's transA / transB / sumLeading attributes.
bool productTransA(const Node& n);
bool productTransB(const Node& n);
bool productSumsLeading(const Node& n);

// The forms, by the operands' ranks (a, b are concrete):
//   [M, K] @ [K, N]                   one product;
//   [.., M, K] @ [K, N]               the leading dimensions folded into the rows: one product of L*M rows;
//   [.., T, M]^T @ [.., T, N], summed over the leading dimensions (sumLeading, transA, the gradient of a
//                                     folded product's weight): one product whose K is L*T;
//   [.., M, K] @ [.., K, N]           batched: L products, L the product of the (equal) leading dimensions.
ProductDims productDims(const Shape& a, const Shape& b, bool ta, bool tb, bool sumLeading);
ProductDims productDims(const Graph& g, const Node& n);  // of a batch-bound graph

}  // namespace netc::ops
