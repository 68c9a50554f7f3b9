// What max's CPU kernel (codegen/kernels/row_reductions.cpp) reads of max and max_grad nodes (ops/max.cpp).
#pragma once
#include "ops/op.h"

namespace netc::ops {

// max, max_grad: x seen as [outer, K, inner] around the axis (Attrs::ints = {axis}); without one, [1, numel, 1].
struct MaxSplit {
  int64_t outer = 1, K = 1, inner = 1;
};
MaxSplit maxSplit(const Node& n, const Shape& xs);

}  // namespace netc::ops
