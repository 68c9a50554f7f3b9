// Lowering, sequences: indexing and slicing along axes.
#include <cmath>
#include <fmt/format.h>

#include "lower/lowerer.h"
#include "ops/op.h"

namespace netc {

// x[i, a:b, :]: per axis an index (dropping the axis), a slice or ':' (whole), trailing axes whole. Negative
// numbers count from the end, as in Python. One slice node per narrowed axis, then a reshape dropping the
// indexed ones.
int Lowerer::sliceIndex(const Expr& e) {
  int cur = tensor(*e.args[0]);
  const Shape xs = model_.graph[cur].shape;
  const size_t items = e.args.size() - 1;
  if (items > xs.size())
    err(e.args[xs.size() + 1]->loc, fmt::format("too many indices: {} has rank {} (shape {}), found {} indices",
                                                model_.graph.describe(cur), xs.size(), shapeStr(xs), items));
  Shape out;
  // Messages name the value indexed, not the slices made from it so far (which carry the whole expression).
  const std::string indexed = model_.graph.describe(cur);
  for (size_t ax = 0; ax < xs.size(); ++ax) {
    const Expr* it = ax < items ? e.args[ax + 1].get() : nullptr;
    const int64_t size = xs[ax];
    if (!it || (it->kind == Expr::Slice && it->args.empty())) {
      out.push_back(size);
      continue;
    }
    if (isBatchDim(size))
      err(it->loc, fmt::format("cannot index or slice the batch axis B of {} (shape {}): only ':' may stand there",
                               indexed, shapeStr(xs)));
    auto bound = [&](const Expr& b) {
      double v = constEval(b);
      if (v != std::floor(v)) err(b.loc, fmt::format("an index must be a whole number, found {}", v));
      return static_cast<int64_t>(v) < 0 ? static_cast<int64_t>(v) + size : static_cast<int64_t>(v);
    };
    int64_t start = 0, stop = size;
    bool drop = it->kind != Expr::Slice;
    if (drop) {
      start = bound(*it), stop = start + 1;
      if (start < 0 || start >= size)
        err(it->loc, fmt::format("index {} is out of range for axis {} of size {} ({} has shape {})",
                                 constEval(*it), ax, size, indexed, shapeStr(xs)));
    } else {
      for (size_t k = 0; k < it->args.size(); ++k) (it->keywords[k] == "start" ? start : stop) = bound(*it->args[k]);
      if (start < 0 || stop > size || start >= stop)
        err(it->loc, fmt::format("slice {} is out of range for axis {} of size {} ({} has shape {}): it must select "
                                 "at least one of indices 0..{}", exprText(*it), ax, size, indexed,
                                 shapeStr(xs), size - 1));
      out.push_back(stop - start);
    }
    if (start == 0 && stop == size) continue;
    Attrs at;
    at.ints = {static_cast<int64_t>(ax), start, stop};
    cur = add("slice", {cur}, at, e.loc, e.span);
  }
  if (model_.graph[cur].shape != out) {
    Attrs at;
    at.shape = out;
    cur = add("reshape", {cur}, at, e.loc, e.span);
  }
  return cur;
}

}  // namespace netc
