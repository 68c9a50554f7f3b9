// What the reductions' CPU kernels (codegen/kernels/row_reductions.cpp) read of sum, mean, expand and var nodes,
// defined by the ops themselves (ops/reduce.cpp, ops/var.cpp).
#pragma once
#include "ops/op.h"

namespace netc::ops {

// sum, mean, expand: Attrs::ints = {axis} reduces one axis; empty reduces everything to a scalar. keepdim=1 is
// not an attribute: the lowering reshapes the result (lower/lower.cpp).
inline bool allAxes(const Node& n) { return n.attrs.ints.empty(); }

// var: x seen as [outer, K, inner] around the reduced axis; all axes: [1, numel, 1]. Dimensions may still be
// k·B: they count k, and batchInK says the reduced count is K times the batch size.
struct VarSplit {
  int64_t outer = 1, K = 1, inner = 1;
  bool batchInK = false;
};
VarSplit varSplit(const Node& n, const Shape& xs);

}  // namespace netc::ops
