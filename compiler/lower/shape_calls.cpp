// Lowering, the calls that change a value's shape or reduce over several axes: reshape with -1, permute,
// unsqueeze and squeeze, sum/mean/var/std over an axis tuple, and the axes batchnorm normalises over. Each is
// a few reshape views (no copies) and, where axes must move, one permute.
#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <numeric>

#include "lower/lowerer.h"
#include "ops/batchnorm.h"
#include "ops/op.h"
#include "ops/permute.h"

namespace netc {

namespace {

bool isMinusOne(const Expr& e) {
  return e.kind == Expr::Unary && e.op == Tok::Minus && e.args[0]->kind == Expr::Number && e.args[0]->number == 1;
}

}  // namespace

// The tensor arguments and keywords of a shape call, checked against what it takes.
Lowerer::CallArgs Lowerer::callArgs(const Expr& e, const std::vector<std::string>& keys, size_t tensors, bool list) {
  CallArgs out;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const Expr& a = *e.args[i];
    const std::string& kw = e.keywords[i];
    if (!kw.empty()) {
      if (std::find(keys.begin(), keys.end(), kw) == keys.end())
        err(e.keywordLocs[i], keys.empty() ? fmt::format("'{}' takes no keyword arguments, found '{}'", e.name, kw)
                                           : fmt::format("'{}' has no argument '{}'{}", e.name, kw, didYouMean(kw, keys)));
      out.keywords[kw] = &a;
    } else if (list && a.kind == Expr::List) {
      if (out.list) err(a.loc, fmt::format("'{}' takes one list", e.name));
      out.list = &a;
    } else {
      if (out.list) err(a.loc, "the list must be the last argument");
      out.tensors.push_back(tensor(a));
    }
  }
  if (out.tensors.size() != tensors)
    err(e.loc, fmt::format("'{}' takes {} tensor argument{}, found {}", e.name, tensors, tensors == 1 ? "" : "s",
                           out.tensors.size()));
  if (list && !out.list) err(e.loc, fmt::format("'{}' needs a list as its last argument", e.name));
  return out;
}

// The axes a list (or one number) names for a value of rank `rank`, negatives counted from the end, each
// once, in the order written.
std::vector<int64_t> Lowerer::axesOf(const Expr& e, size_t rank, std::string_view what) {
  std::vector<const Expr*> items;
  if (e.kind == Expr::List)
    for (const auto& a : e.args) items.push_back(a.get());
  else items.push_back(&e);
  if (items.empty()) err(e.loc, fmt::format("{} names no axis", what));
  const auto r = static_cast<int64_t>(rank);
  std::vector<int64_t> axes;
  for (const Expr* it : items) {
    int64_t a = constInt(*it, fmt::format("an axis of {}", what), -kMaxWholeNumber);
    if (a < -r || a >= r)
      err(it->loc, fmt::format("{}: axis {} is out of range for a value of rank {} (axes {}..{})", what, a, rank, -r, r - 1));
    if (a < 0) a += r;
    if (std::find(axes.begin(), axes.end(), a) != axes.end())
      err(it->loc, fmt::format("{}: axis {} is named twice", what, a));
    axes.push_back(a);
  }
  return axes;
}

int Lowerer::reshapeTo(int x, const Shape& to, SrcLoc loc, SrcSpan span) {
  if (model_.graph[x].shape == to && span.empty()) return x;
  Attrs at;
  at.shape = to;
  return add("reshape", {x}, at, loc, span);
}

// A permutation as the cheapest node that does it: none for the identity, a reshape view when only size-1
// axes move (the elements keep their order), the transpose op for a rank-2 swap (its tiled kernel, the same
// op the autodiff makes for weights), else permute.
int Lowerer::permuteTo(int x, const std::vector<int64_t>& axes, SrcLoc loc, SrcSpan span) {
  const Shape xs = model_.graph[x].shape;
  std::vector<int64_t> moving;
  for (int64_t a : axes)
    if (xs[static_cast<size_t>(a)] != 1) moving.push_back(a);
  Shape out;
  for (int64_t a : axes) out.push_back(xs[static_cast<size_t>(a)]);
  if (std::is_sorted(moving.begin(), moving.end())) return reshapeTo(x, out, loc, span);
  if (axes.size() == 2) return add("transpose", {x}, {}, loc, span);
  Attrs at;
  at.ints = axes;
  return add("permute", {x}, at, loc, span);
}

// reshape(x, [dims]): one dimension may be -1, inferred from the element count; it is a multiple of B when x
// has B and no other dimension does ([B, T, C] -> [-1, C] is [B*T, C]).
int Lowerer::reshapeCall(const Expr& e) {
  CallArgs a = callArgs(e, {}, 1, true);
  const int x = a.tensors[0];
  const Shape xs = model_.graph[x].shape;
  Shape to;
  int inferred = -1, batches = 0;
  for (size_t i = 0; i < a.list->args.size(); ++i) {
    const Expr& d = *a.list->args[i];
    if (isMinusOne(d)) {
      if (inferred >= 0) err(d.loc, fmt::format("only one dimension of a reshape may be -1 (inferred); dimension {} "
                                                "is already", inferred));
      inferred = static_cast<int>(i);
      to.push_back(1);
      continue;
    }
    to.push_back(dim(d, true));
    if (isBatchDim(to.back()) && ++batches > 1) err(d.loc, "'B' may appear only once in a shape");
  }
  if (inferred >= 0) {
    const int64_t have = perBatchNumel(xs), known = perBatchNumel(to);
    const Expr& d = *a.list->args[static_cast<size_t>(inferred)];
    std::vector<std::string> written;  // the target as written, -1 included
    for (size_t i = 0; i < to.size(); ++i) written.push_back(static_cast<int>(i) == inferred ? "-1" : dimStr(to[i]));
    if (hasBatch(to) && !hasBatch(xs))
      err(d.loc, fmt::format("cannot reshape {} of shape {} to [{}]: the batch dimension B must be on both sides or "
                             "on neither", model_.graph.describe(x), shapeStr(xs), fmt::join(written, ",")));
    if (have % known != 0)
      err(d.loc, fmt::format("cannot infer dimension {} (-1): {} of shape {} has {} elements{}, which the other "
                             "dimensions ({} elements) do not divide", inferred, model_.graph.describe(x), shapeStr(xs),
                             have, hasBatch(xs) ? " per batch row" : "", known));
    // Without B among the others, the inferred dimension carries x's B.
    to[static_cast<size_t>(inferred)] = hasBatch(xs) && !hasBatch(to) ? batchTimes(have / known) : have / known;
  }
  checkSize(to, e.loc);
  Attrs at;
  at.shape = to;
  return add("reshape", {x}, at, e.loc, e.span);
}

// permute(x, [axes]) for any rank; transpose(x) is permute(x, [1, 0]) of a rank-2 value.
int Lowerer::permuteCall(const Expr& e) {
  CallArgs a = callArgs(e, {}, 1, true);
  const int x = a.tensors[0];
  const Shape xs = model_.graph[x].shape;
  std::vector<int64_t> axes;
  for (const auto& it : a.list->args) {
    int64_t v = constInt(*it, "an axis of permute", -kMaxWholeNumber);
    axes.push_back(v < 0 ? v + static_cast<int64_t>(xs.size()) : v);
  }
  if (std::string why = ops::permutationProblem(axes, xs.size()); !why.empty())
    err(a.list->loc, fmt::format("permute of {} (shape {}): {}", model_.graph.describe(x), shapeStr(xs), why));
  return permuteTo(x, axes, e.loc, e.span);
}

// unsqueeze(x, axis=k) inserts a size-1 axis before axis k (k = rank appends one); squeeze(x, axis=k) removes
// axis k, which must have size 1. Both are reshape views.
int Lowerer::unsqueezeCall(const Expr& e, bool insert) {
  CallArgs a = callArgs(e, {"axis"}, 1, false);
  auto it = a.keywords.find("axis");
  if (it == a.keywords.end()) err(e.loc, fmt::format("'{}' needs axis=, e.g. {}(x, axis=1)", e.name, e.name));
  const int x = a.tensors[0];
  Shape s = model_.graph[x].shape;
  const auto r = static_cast<int64_t>(s.size()) + (insert ? 1 : 0);
  int64_t ax = constInt(*it->second, "'axis'", -kMaxWholeNumber);
  if (ax < -r || ax >= r)
    err(it->second->loc, fmt::format("'{}': axis {} is out of range for {} (shape {}): axes {}..{}", e.name, ax,
                                     model_.graph.describe(x), shapeStr(s), -r, r - 1));
  if (ax < 0) ax += r;
  if (insert) s.insert(s.begin() + ax, 1);
  else {
    if (s[static_cast<size_t>(ax)] != 1)
      err(it->second->loc, fmt::format("'squeeze' removes an axis of size 1, but axis {} of {} (shape {}) has size {}",
                                       ax, model_.graph.describe(x), shapeStr(s), dimStr(s[static_cast<size_t>(ax)])));
    s.erase(s.begin() + ax);
  }
  return reshapeTo(x, s, e.loc, e.span);
}

// Whether the call is a reduction given an axis tuple (sum(x, axis=(0, 1))): reduceOverAxes lowers it.
bool Lowerer::reducesAxisTuple(const Expr& e) const {
  if (e.name != "sum" && e.name != "mean" && e.name != "var" && e.name != "std") return false;
  for (size_t i = 0; i < e.args.size(); ++i)
    if (e.keywords[i] == "axis" && e.args[i]->kind == Expr::List) return true;
  return false;
}

// x seen with `reduced` axes brought together into one (a reshape view when they are adjacent, else after a
// permute that moves them behind the kept ones): returns that value and sets `axis` to the merged axis.
int Lowerer::mergeAxes(int x, std::vector<int64_t> reduced, int64_t& axis, SrcLoc loc) {
  std::sort(reduced.begin(), reduced.end());
  const Shape xs = model_.graph[x].shape;
  const bool adjacent = reduced.back() - reduced.front() + 1 == static_cast<int64_t>(reduced.size());
  int v = x;
  std::vector<int64_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  if (!adjacent) {
    order.clear();
    for (int64_t a = 0; a < static_cast<int64_t>(xs.size()); ++a)
      if (!std::binary_search(reduced.begin(), reduced.end(), a)) order.push_back(a);
    order.insert(order.end(), reduced.begin(), reduced.end());
    v = permuteTo(x, order, loc, {});
  }
  // The reduced axes, now adjacent in `order`: one dimension (k·B when one of them is B).
  const size_t first = static_cast<size_t>(std::find(order.begin(), order.end(), reduced.front()) - order.begin());
  Shape merged;
  int64_t count = 1;
  bool batch = false;
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t d = xs[static_cast<size_t>(order[i])];
    if (i < first || i >= first + reduced.size()) {
      merged.push_back(d);
      continue;
    }
    batch = batch || isBatchDim(d);
    count *= isBatchDim(d) ? batchFactor(d) : d;
    if (i == first + reduced.size() - 1) merged.push_back(batch ? batchTimes(count) : count);
  }
  axis = static_cast<int64_t>(first);
  return reshapeTo(v, merged, loc, {});
}

// sum/mean/var/std(x, axis=(a, b, ...), keepdim=, correction=): the axes merged into one (mergeAxes), then the
// one-axis reduction; keepdim=1 gives every reduced axis back as size 1. The count of a mean or variance is
// every reduced element, B's included.
int Lowerer::reduceOverAxes(const Expr& e) {
  const bool isVar = e.name == "var" || e.name == "std";
  std::vector<std::string> keys = {"axis", "keepdim"};
  if (isVar) keys.push_back("correction");
  CallArgs a = callArgs(e, keys, 1, false);
  const int x = a.tensors[0];
  const Shape xs = model_.graph[x].shape;
  const std::vector<int64_t> axes = axesOf(*a.keywords.at("axis"), xs.size(), fmt::format("'{}'", e.name));
  bool keepdim = false;
  if (auto k = a.keywords.find("keepdim"); k != a.keywords.end()) {
    const int64_t v = constInt(*k->second, "'keepdim'", -kMaxWholeNumber);
    if (v != 0 && v != 1) err(k->second->loc, fmt::format("'keepdim' must be 0 or 1, found {}", v));
    keepdim = v == 1;
  }
  Attrs at;
  at.value = 1;  // var's default correction: the unbiased estimate, as torch
  if (auto c = a.keywords.find("correction"); c != a.keywords.end()) at.value = constEval(*c->second);
  int64_t axis = 0;
  const int merged = mergeAxes(x, axes, axis, e.loc);
  at.ints = {axis};
  const char* op = isVar ? "var" : e.name.c_str();
  int out = add(op, {merged}, at, e.loc, e.name == "std" || keepdim ? SrcSpan{} : e.span);
  if (e.name == "std") out = add("sqrt", {out}, {}, e.loc, keepdim ? SrcSpan{} : e.span);
  if (!keepdim) return out;
  Shape kept = xs;
  for (int64_t ax : axes) kept[static_cast<size_t>(ax)] = 1;
  return reshapeTo(out, kept, e.loc, e.span);
}

// batchnorm over `axes` of x: the statistics are over every reduced axis, one per unit of the single axis left.
// x is brought to [rows, units] (a permute only when the units are not last), normalised by buildBatchnorm as a
// rank-2 value, and brought back; the running statistics have the units' shape.
int Lowerer::batchnormOverAxes(const BatchnormArgs& args, const std::vector<int64_t>& axes, const BatchnormOptions& o,
                               const Expr& e) {
  const Shape xs = model_.graph[args.x].shape;
  std::vector<int64_t> kept;
  for (int64_t a = 0; a < static_cast<int64_t>(xs.size()); ++a)
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) kept.push_back(a);
  if (kept.size() != 1)
    err(e.loc, fmt::format("batchnorm normalises over every axis but one (its units): axis=({}) of {} (shape {}) "
                           "leaves {} axes", fmt::join(axes, ", "), model_.graph.describe(args.x), shapeStr(xs),
                           kept.size()));
  if (isBatchDim(xs[static_cast<size_t>(kept[0])]))
    err(e.loc, fmt::format("batchnorm's units cannot be the batch axis B: axis=({}) of {} (shape {}) keeps axis {}",
                           fmt::join(axes, ", "), model_.graph.describe(args.x), shapeStr(xs), kept[0]));
  if (xs.size() == 2 && kept[0] == 1) {  // [B, H] over axis 0: today's form, node for node
    int out = buildBatchnorm(model_.graph, args, o, e.loc, e.span);
    batchnormOutputs_.push_back(out);
    return out;
  }
  int64_t axis = 0;
  BatchnormArgs flat = args;
  flat.x = mergeAxes(args.x, axes, axis, e.loc);
  const Shape permuted = model_.graph[flat.x].shape;  // [rows, units] or [units, rows]
  std::vector<int64_t> order = {0, 1};
  if (axis == 1) {  // the units came first: rows first for buildBatchnorm
    order = {1, 0};
    flat.x = permuteTo(flat.x, order, e.loc, {});
  }
  int out = buildBatchnorm(model_.graph, flat, o, e.loc, {});
  if (axis == 1) out = permuteTo(out, order, e.loc, {});
  // Back to x's shape: through the permuted order of mergeAxes when the units were not last.
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  const bool adjacent = sorted.back() - sorted.front() + 1 == static_cast<int64_t>(sorted.size());
  if (adjacent) out = reshapeTo(out, xs, e.loc, e.span);
  else {
    std::vector<int64_t> moved = kept;
    moved.insert(moved.end(), sorted.begin(), sorted.end());
    Shape movedShape;
    for (int64_t a : moved) movedShape.push_back(xs[static_cast<size_t>(a)]);
    out = permuteTo(reshapeTo(out, movedShape, e.loc, {}), ops::inversePermutation(moved), e.loc, e.span);
  }
  batchnormOutputs_.push_back(out);
  return out;
}

}  // namespace netc
