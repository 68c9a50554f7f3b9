#include <fmt/format.h>
#include <fmt/ranges.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/permute.h"

namespace netc::ops {

// permute(x, [axes]): axis i of the result is axis axes[i] of x, as torch.permute (Attrs::ints = axes, every
// entry non-negative). Its CPU kernel is a strided copy (codegen/kernels/copies.cpp). The lowering makes a
// rank-2 swap the transpose op (its tiled kernel, shared by the autodiff's weight transposes) and a permutation
// that only moves size-1 axes a reshape view (lower/shape_calls.cpp). Gradient: dy permuted back by the inverse.
std::string permutationProblem(const std::vector<int64_t>& axes, size_t rank) {
  if (axes.size() != rank)
    return fmt::format("{} axes for a value of rank {}: permute needs each of its axes once", axes.size(), rank);
  std::vector<bool> seen(rank, false);
  for (int64_t a : axes) {
    if (a < 0 || a >= static_cast<int64_t>(rank))
      return fmt::format("axis {} is not an axis of a value of rank {}", a, rank);
    if (seen[static_cast<size_t>(a)]) return fmt::format("axis {} appears twice in [{}]", a, fmt::join(axes, ", "));
    seen[static_cast<size_t>(a)] = true;
  }
  return "";
}

std::vector<int64_t> inversePermutation(const std::vector<int64_t>& axes) {
  std::vector<int64_t> inv(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) inv[static_cast<size_t>(axes[i])] = static_cast<int64_t>(i);
  return inv;
}

namespace {

void inferPermute(const Graph& g, Node& n) {
  const Node& x = g[n.inputs[0]];
  if (std::string why = permutationProblem(n.attrs.ints, x.shape.size()); !why.empty())
    shapeError(g, n, fmt::format("cannot permute {} of shape {}: {}", g.describe(x.id), shapeStr(x.shape), why));
  n.dtype = x.dtype;
  n.shape.clear();
  for (int64_t a : n.attrs.ints) n.shape.push_back(x.shape[static_cast<size_t>(a)]);
}

void evalPermute(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const Tensor& x = *in[0];
  const std::vector<int64_t> xst = strides(x.shape);
  const size_t rank = n.attrs.ints.size();
  const int64_t total = numel(out.shape);
  out.data.assign(static_cast<size_t>(total), 0.0);
  std::vector<int64_t> at(rank, 0);  // the output's index, odometer order
  for (int64_t i = 0; i < total; ++i) {
    int64_t from = 0;
    for (size_t d = 0; d < rank; ++d) from += at[d] * xst[static_cast<size_t>(n.attrs.ints[d])];
    out.data[static_cast<size_t>(i)] = x.data[static_cast<size_t>(from)];
    for (size_t d = rank; d-- > 0;) {
      if (++at[d] < out.shape[d]) break;
      at[d] = 0;
    }
  }
}

void gradPermute(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  Attrs at;
  at.ints = inversePermutation(n.attrs.ints);
  dx[0] = b.op("permute", {dy}, at);
}

}  // namespace

extern const OpDef kPermute{
    .name = "permute", .summary = "reorder the axes: permute(x, [0, 2, 1]) swaps the last two of a rank-3 value",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel,
    .attrs = {{.name = "axes", .kind = AttrSpec::Axes, .slot = AttrSpec::AxisList}},
    .keepsElements = true, .linearPath = true, .args = "x, [axes]",
    .infer = inferPermute, .grad = gradPermute, .eval = evalPermute};

}  // namespace netc::ops
