// What the loss's CPU kernel (codegen/kernels/cross_entropy.cpp) reads of cross_entropy and cross_entropy_grad
// nodes, defined with the ops (ops/cross_entropy.cpp).
#pragma once
#include <optional>
#include <vector>

#include "ops/op.h"

namespace netc::ops::cross_entropy {

// cross_entropy(logits, y, ignore_index=-1): Attrs::ints = {ignore} when given. Rows whose target is `ignore`
// count for nothing, and the mean is over the other rows, as F.cross_entropy(..., ignore_index=-1); with
// every row ignored it is 0/0 = NaN, as in PyTorch.
inline bool ignores(const Node& n) { return !n.attrs.ints.empty(); }
inline int64_t ignoreValue(const Node& n) { return n.attrs.ints.at(0); }
// The rows of logits [..., V]: every leading axis.
inline int64_t rowsOf(const Shape& logits) { return numel(logits) / logits.back(); }

// The gradient rule writes (softmax(logits) - onehot(y)) * (dy / n) in general ops. When `result` is such a
// formula's result: the cross_entropy node it differentiates, its dy, and every node of the formula (result
// included, dy, the logits and the targets not), in id order.
struct GradFormula {
  int loss = -1, dy = -1;
  std::vector<int> nodes;
};
std::optional<GradFormula> matchGradFormula(const Graph& g, int result);

// For the code generator's copy of a graph (codegen/layout: node ids stay): every such formula whose inner nodes
// nothing else reads is computed by the loss's fused kernel instead, as today's one pass over the logits: its
// result becomes cross_entropy_grad(logits, targets, dy), which the plan pairs with the loss, and its other
// nodes become `folded` (no kernel, no buffer). Returns how many it fused.
int fuseGradFormulas(Graph& code);

}  // namespace netc::ops::cross_entropy
