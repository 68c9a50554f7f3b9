// What the loss's CPU kernel (codegen/kernels/cross_entropy.cpp) reads of cross_entropy and cross_entropy_grad
// nodes, defined with the ops (ops/cross_entropy.cpp).
#pragma once
#include "ops/op.h"

namespace netc::ops::cross_entropy {

// cross_entropy(logits, y, ignore_index=-1): Attrs::ints = {ignore} when given. Rows whose target is `ignore`
// count for nothing, and the mean is over the other rows, as F.cross_entropy(..., ignore_index=-1); with
// every row ignored it is 0/0 = NaN, as in PyTorch.
inline bool ignores(const Node& n) { return !n.attrs.ints.empty(); }
inline int64_t ignoreValue(const Node& n) { return n.attrs.ints.at(0); }
// The rows of logits [..., V]: every leading axis.
inline int64_t rowsOf(const Shape& logits) { return numel(logits) / logits.back(); }

}  // namespace netc::ops::cross_entropy
