// Shared building blocks for op definitions: common shape rules and the broadcasting evaluator.
#pragma once
#include "ops/op.h"

namespace netc::ops {

// Shape rules
void inferSameAsInput0(const Graph& g, Node& n);    // unary elementwise
void inferBroadcast(const Graph& g, Node& n);       // binary elementwise with broadcasting
void requireF32(const Graph& g, const Node& n, int input);
void requireRank(const Graph& g, const Node& n, int input, size_t rank, const char* what);

// Reference evaluation of an elementwise op through its `scalar` function with broadcasting.
void evalElementwise(const Node& n, const std::vector<const Tensor*>& in, Tensor& out);

// Strides of a row-major shape, and the flat index of an output element in a broadcast input.
std::vector<int64_t> strides(const Shape& s);
int64_t broadcastIndex(const Shape& out, const Shape& in, int64_t flatOut);

// Axis argument of sum/mean: negative counts from the end.
int normAxis(const Graph& g, const Node& n, int64_t axis, size_t rank);

}  // namespace netc::ops
