// Storage layout: which matrices the compiled code keeps transposed. A narrow output layer W [K, N] (N a few
// vectors wide and not a whole number of them, as the lecture's W2 [200, 27]) is read by three products: the
// forward h @ W, the backward dlogits @ W^T and its gradient h^T @ dlogits. Stored as W^T [N, K], the first
// reads rows of both operands (the dot form, no partial vectors), the second needs no transposed copy of W,
// and the gradient comes out [N, K] with whole vectors along K. The value is the same; only where its elements
// live changes, so engines transpose it on the way in and out and nothing outside the JIT sees a difference.
#pragma once
#include <span>
#include <vector>

#include "codegen/options.h"
#include "graph/graph.h"

namespace netc::codegen {

struct Layout {
  std::vector<char> transposed;  // node -> stored as the transpose of its logical value
  bool any() const;
};

// Picks the parameters to store transposed and rewrites `g` (the compiled code's own copy of the bound graph)
// to match: each such parameter, its gradient and its updated value get swapped shapes, the products reading
// the parameter flip that operand's transpose flag, and the product computing the gradient computes its
// transpose instead (B'^T A'^T with swapped operands). Node ids are unchanged. A parameter qualifies when it is
// 2-D, read only by products, updated by SGD from a gradient that one product computes, observed otherwise only
// by layout-blind statistics, and narrow: fewer than four vectors of `lanes` floats and not a whole number.
Layout assignLayout(Graph& g, unsigned lanes);

// assignLayout when CodegenOptions::transposeNarrowParams asks for it, else a layout with nothing transposed.
Layout chooseLayout(Graph& g, const CodegenOptions& opts, unsigned lanes);

// The logical row-major [rows, cols] values of a node stored transposed, to and from storage order.
void toStorage(std::span<const double> logical, int64_t rows, int64_t cols, std::vector<double>& stored);
void fromStorage(const std::vector<double>& stored, int64_t rows, int64_t cols, std::vector<double>& logical);

}  // namespace netc::codegen
