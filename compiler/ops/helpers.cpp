#include "ops/helpers.h"

#include <fmt/format.h>

namespace netc {

void shapeError(const Graph& g, const Node& n, const std::string& msg) {
  fail(g.source, n.loc, fmt::format("in '{}': {}", n.op->name, msg));
}

namespace ops {

void requireF32(const Graph& g, const Node& n, int input) {
  const Node& x = g[n.inputs[input]];
  if (x.dtype != DType::F32)
    shapeError(g, n, fmt::format("operand {} ({}) must be float, found {}{}", input + 1, g.describe(x.id),
                                 dtypeName(x.dtype), shapeStr(x.shape)));
}

void requireRank(const Graph& g, const Node& n, int input, size_t rank, const char* what) {
  const Node& x = g[n.inputs[input]];
  if (x.shape.size() != rank)
    shapeError(g, n, fmt::format("{} must have rank {}, found {} with shape {}", what, rank, g.describe(x.id),
                                 shapeStr(x.shape)));
}

void inferSameAsInput0(const Graph& g, Node& n) {
  requireF32(g, n, 0);
  n.dtype = DType::F32;
  n.shape = g[n.inputs[0]].shape;
}

static std::string where(const Graph& g, int id) {
  const Node& x = g[id];
  return x.loc.line > 0 ? fmt::format(" (line {})", x.loc.line) : std::string();
}

void inferBroadcast(const Graph& g, Node& n) {
  for (size_t i = 0; i < n.inputs.size(); ++i) requireF32(g, n, static_cast<int>(i));
  Shape out = g[n.inputs[0]].shape;
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    Shape next;
    const Node& x = g[n.inputs[i]];
    if (!broadcastShapes(out, x.shape, next))
      shapeError(g, n, fmt::format("shapes do not broadcast: {} has shape {}{} and {} has shape {}{}",
                                   g.describe(n.inputs[0]), shapeStr(out), where(g, n.inputs[0]), g.describe(x.id),
                                   shapeStr(x.shape), where(g, x.id)));
    out = next;
  }
  n.dtype = DType::F32;
  n.shape = out;
}

std::vector<int64_t> strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

int64_t broadcastIndex(const Shape& out, const Shape& in, int64_t flatOut) {
  // Walk the output coordinates from the last axis; size-1 (or missing) input axes repeat.
  int64_t idx = 0, inStride = 1;
  size_t offset = out.size() - in.size();
  for (int ax = static_cast<int>(out.size()) - 1; ax >= 0; --ax) {
    int64_t coord = flatOut % out[ax];
    flatOut /= out[ax];
    if (ax >= static_cast<int>(offset)) {
      int64_t d = in[ax - offset];
      if (d != 1) idx += coord * inStride;
      inStride *= d;
    }
  }
  return idx;
}

void evalElementwise(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  int64_t total = numel(out.shape);
  out.data.assign(total, 0.0);
  double args[8];
  for (int64_t i = 0; i < total; ++i) {
    for (size_t k = 0; k < in.size(); ++k) args[k] = in[k]->data[broadcastIndex(out.shape, in[k]->shape, i)];
    out.data[i] = n.op->scalar(args);
  }
}

int normAxis(const Graph& g, const Node& n, int64_t axis, size_t rank) {
  int64_t a = axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
  if (a < 0 || a >= static_cast<int64_t>(rank))
    shapeError(g, n, fmt::format("axis {} is out of range for a value of rank {}", axis, rank));
  return static_cast<int>(a);
}

}  // namespace ops
}  // namespace netc
