// Lowering, tensor expressions: names, operators, indexing and op calls (keywords, mode, batchnorm, keepdim),
// each node shape-checked as it is added.
#include <algorithm>
#include <fmt/format.h>

#include "lower/lowerer.h"
#include "ops/batchnorm.h"
#include "ops/op.h"
#include "support/sizes.h"

namespace netc {

// `span`: the expression the node computes, quoted when a message describes it (Graph::describe).
int Lowerer::add(std::string_view op, std::vector<int> inputs, Attrs attrs, SrcLoc loc, SrcSpan span) {
  int id = model_.graph.add(&getOp(op), std::move(inputs), std::move(attrs), loc);
  model_.graph[id].span = span;
  inferNode(model_.graph, id);
  checkSize(model_.graph[id].shape, loc);
  return id;
}

int Lowerer::constant(double v, SrcLoc loc) {
  Attrs a;
  a.value = v;
  return add("const", {}, a, loc);
}

int Lowerer::tensor(const Expr& e) {
  if (isConstExpr(e)) return constant(constEval(e), e.loc);
  switch (e.kind) {
    case Expr::Name: {
      if (const int* value = scope_->findValue(e.name)) return *value;
      // B as a value (1 / (B - 1)): a constant once the batch is bound (bindBatch).
      if (e.name == "B") return add("batch_size", {}, {}, e.loc, e.span);
      unknownName(e);
    }
    case Expr::Unary: {
      int x = tensor(*e.args[0]);
      return e.op == Tok::Minus ? add("neg", {x}, {}, e.loc, e.span) : x;
    }
    case Expr::Binary: {
      if (e.op == Tok::Power) return power(e);
      if (e.op == Tok::MatMul) return product(e);
      int a = tensor(*e.args[0]);
      int b = tensor(*e.args[1]);
      const char* op = e.op == Tok::Plus ? "add" : e.op == Tok::Minus ? "sub" : e.op == Tok::Star ? "mul" : "div";
      return add(op, {a, b}, {}, e.loc, e.span);
    }
    case Expr::Index: {
      // C[x] with a tensor index is a row lookup; constant indices and slices select along axes.
      if (e.args.size() != 2 || e.args[1]->kind == Expr::Slice || isConstExpr(*e.args[1])) return sliceIndex(e);
      int table = tensor(*e.args[0]);
      int idx = tensor(*e.args[1]);
      return add("embedding", {table, idx}, {}, e.loc, e.span);
    }
    case Expr::Call: return call(e);
    case Expr::String: err(e.loc, fmt::format("expected a tensor expression, found the string \"{}\"", e.name));
    case Expr::List: err(e.loc, "expected a tensor expression, found a list (lists are shapes: reshape(x, [B, 30]))");
    case Expr::Slice: err(e.loc, "a slice `a:b` may stand only inside brackets, as in x[:, a:b]");
    default: err(e.loc, "expected a tensor expression");
  }
}

// `a @ b`. An operand written `transpose(W)` of a rank-2 W is read transposed in place (matmul's transA /
// transB), as PyTorch's `x @ W.T` reads nn.Linear's [out, in] weight: no copy of W each step, and W's gradient
// is made in W's own layout. Any other operand of transpose is transposed by the op itself.
int Lowerer::product(const Expr& e) {
  auto operand = [&](const Expr& x, int64_t& flag) {
    const bool spelledTranspose = x.kind == Expr::Call && x.name == "transpose" && x.args.size() == 1 &&
                                  x.keywords[0].empty();
    if (!spelledTranspose) return tensor(x);
    const int inner = tensor(*x.args[0]);
    if (model_.graph[inner].shape.size() != 2) return add("transpose", {inner}, {}, x.loc, x.span);
    flag = 1;
    return inner;
  };
  Attrs at;
  at.ints = {0, 0};
  const int a = operand(*e.args[0], at.ints[0]);
  const int b = operand(*e.args[1], at.ints[1]);
  if (at.ints[0] == 0 && at.ints[1] == 0) at.ints.clear();
  return add("matmul", {a, b}, at, e.loc, e.span);
}

// x ** c for a constant c: the cheap exact forms where there is one, pow otherwise (and for a tensor
// exponent, which must be a scalar: pow's shape rule says so).
int Lowerer::power(const Expr& e) {
  int x = tensor(*e.args[0]);
  const Expr& ye = *e.args[1];
  if (!isConstExpr(ye)) return add("pow", {x, tensor(ye)}, {}, e.loc, e.span);
  double c = constEval(ye);
  if (c == 1) return x;
  if (c == 2) return add("mul", {x, x}, {}, e.loc, e.span);
  if (c == 0.5) return add("sqrt", {x}, {}, e.loc, e.span);
  if (c == -0.5) return add("rsqrt", {x}, {}, e.loc, e.span);
  if (c == -1) return add("div", {constant(1.0, ye.loc), x}, {}, e.loc, e.span);
  return add("pow", {x, constant(c, ye.loc)}, {}, e.loc, e.span);
}

std::vector<std::string> Lowerer::publicOps() const {
  std::vector<std::string> out = {"flatten", "std", "batchnorm", "unsqueeze", "squeeze"};
  for (const OpDef* op : allOps())
    if (!op->internal) out.push_back(op->name);
  return out;
}

// mode(train = a, eval = b): the two forms of a value, chosen when the graph is specialised (modes/).
int Lowerer::modeCall(const Expr& e) {
  int forms[2] = {-1, -1};
  static const std::vector<std::string> kForms = {"train", "eval"};
  for (size_t i = 0; i < e.args.size(); ++i) {
    const std::string& kw = e.keywords[i];
    if (kw.empty()) err(e.args[i]->loc, "'mode' takes named forms: mode(train = ..., eval = ...)");
    auto it = std::find(kForms.begin(), kForms.end(), kw);
    if (it == kForms.end())
      err(e.keywordLocs[i], fmt::format("'mode' has no form '{}': expected train or eval{}", kw, didYouMean(kw, kForms)));
    int& slot = forms[it - kForms.begin()];
    if (slot >= 0) err(e.keywordLocs[i], fmt::format("the {} form is given twice", kw));
    slot = tensor(*e.args[i]);
  }
  for (int k = 0; k < 2; ++k)
    if (forms[k] < 0) err(e.loc, fmt::format("'mode' needs both forms: mode(train = ..., eval = ...); the {} form is missing", kForms[k]));
  return add("mode", {forms[0], forms[1]}, {}, e.loc, e.span);
}

// batchnorm(x, gamma, beta, running_mean, running_var, eps=, momentum=, correction=, running_correction=,
// running=var|std): built by ops/batchnorm.cpp from general ops, a mode node and two state updates.
int Lowerer::batchnormCall(const Expr& e) {
  static const std::vector<std::string> kKeys = {"eps", "momentum", "correction", "running_correction", "running", "axis"};
  std::vector<int> in;
  const Expr* axisGiven = nullptr;
  BatchnormOptions o;
  bool runningCorrectionGiven = false;
  const int first = model_.graph.size();
  for (size_t i = 0; i < e.args.size(); ++i) {
    const Expr& a = *e.args[i];
    const std::string& kw = e.keywords[i];
    if (kw.empty()) {
      in.push_back(tensor(a));
      continue;
    }
    if (std::find(kKeys.begin(), kKeys.end(), kw) == kKeys.end())
      err(e.keywordLocs[i], fmt::format("'batchnorm' has no argument '{}'{}", kw, didYouMean(kw, kKeys)));
    if (kw == "running") {
      if (a.kind != Expr::Name || (a.name != "var" && a.name != "std"))
        err(a.loc, "running= says what the running statistic holds: var (the variance) or std (the standard deviation)");
      o.runningStd = a.name == "std";
      continue;
    }
    if (kw == "axis") {
      axisGiven = &a;
      continue;
    }
    double v = constEval(a);
    if (kw == "eps") o.eps = v;
    else if (kw == "momentum") o.momentum = v;
    else if (kw == "correction") o.correction = v;
    else o.runningCorrection = v, runningCorrectionGiven = true;
  }
  if (!runningCorrectionGiven && o.correction == 1) o.runningCorrection = 1;
  if (in.size() != 5)
    err(e.loc, fmt::format("'batchnorm' takes 5 tensors (x, gamma, beta, running_mean, running_var), found {}", in.size()));
  BatchnormArgs args{in[0], in[1], in[2], in[3], in[4]};
  // The axes it normalises over: every axis but the last unless axis= says (shape_calls.cpp).
  const size_t rank = model_.graph[args.x].shape.size();
  std::vector<int64_t> axes;
  if (axisGiven) axes = axesOf(*axisGiven, rank, "batchnorm's axis");
  else
    for (size_t a = 0; a + 1 < rank; ++a) axes.push_back(static_cast<int64_t>(a));
  int out = rank < 2 ? buildBatchnorm(model_.graph, args, o, e.loc, e.span)  // its message says [B, H]
                     : batchnormOverAxes(args, axes, o, e);
  for (int v = first; v < model_.graph.size(); ++v) checkSize(model_.graph[v].shape, e.loc);
  return out;
}

int Lowerer::call(const Expr& e) {
  if (auto block = blocks_.find(e.name); block != blocks_.end()) return blockUse(e, *block->second);
  if (!e.instancePath.empty()) {  // `as PATH` names a block's instance
    if (findOp(e.name) || e.name == "mode" || e.name == "batchnorm")
      err(e.pathSpan.line ? SrcLoc{e.pathSpan.line, e.pathSpan.col, 1} : e.loc,
          fmt::format("'{}' is an op, not a block: only a block's use is named with `as PATH`", e.name));
    err(e.loc, fmt::format("unknown block '{}'{}", e.name, didYouMean(e.name, blockNames())));
  }
  if (e.name == "mode") return modeCall(e);
  if (e.name == "batchnorm") return batchnormCall(e);
  if (e.name == "reshape") return reshapeCall(e);
  if (e.name == "permute") return permuteCall(e);
  if (e.name == "unsqueeze" || e.name == "squeeze") return unsqueezeCall(e, e.name == "unsqueeze");
  if (reducesAxisTuple(e)) return reduceOverAxes(e);
  // std(x, ...) is sqrt(var(x, ...)).
  std::string name = e.name == "flatten" ? "reshape" : e.name == "std" ? "var" : e.name;
  const OpDef* op = findOp(name);
  if (!op || op->internal) {
    if (op) err(e.loc, fmt::format("'{}' is an internal op made by the compiler; it cannot be called from a .net file", e.name));
    std::vector<std::string> known = publicOps();
    for (const std::string& b : blockNames()) known.push_back(b);
    err(e.loc, fmt::format("unknown {} '{}'{}; `netc help ops` lists them", blocks_.empty() ? "op" : "op or block",
                           e.name, didYouMean(e.name, known)));
  }
  std::vector<int> inputs;
  Attrs attrs;
  // The op's keyword attributes (OpDef::attrs), in order; what each holds and where it is stored is its AttrSpec.
  std::vector<const AttrSpec*> specs;
  std::vector<std::string> keywords;
  for (const AttrSpec& a : op->attrs)
    if (a.keyword && a.kind != AttrSpec::Shape) specs.push_back(&a), keywords.push_back(a.name);
  std::vector<std::optional<int64_t>> given(keywords.size());
  bool shapeGiven = false;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const Expr& a = *e.args[i];
    const std::string& kw = e.keywords[i];
    if (!kw.empty()) {
      auto it = std::find(keywords.begin(), keywords.end(), kw);
      if (it == keywords.end())
        err(e.keywordLocs[i], keywords.empty()
                                  ? fmt::format("'{}' takes no keyword arguments, found '{}'", e.name, kw)
                                  : fmt::format("'{}' has no argument '{}'{}", e.name, kw, didYouMean(kw, keywords)));
      given[it - keywords.begin()] = constInt(a, fmt::format("'{}'", kw), -kMaxWholeNumber);
    } else if (a.kind == Expr::List && takesShape(*op) && e.name != "flatten") {
      attrs.shape = shape(a.args, true);
      shapeGiven = true;
    } else {
      if (shapeGiven) err(a.loc, "the shape list must be the last argument");
      inputs.push_back(tensor(a));
    }
  }
  // Each keyword into its slot, its default unless given. The lowering itself applies keepdim (the only
  // Lowered one): the result is reshaped below. When the op's first integer keyword is not given, no integer
  // is stored (reductions without axis= reduce everything; the shape rule asks for a missing slice axis).
  bool keepdim = false, firstIntGiven = true, seenInt = false;
  for (size_t k = 0; k < specs.size(); ++k) {
    const AttrSpec& s = *specs[k];
    if (s.kind == AttrSpec::Bool && given[k] && *given[k] != 0 && *given[k] != 1)
      err(e.loc, fmt::format("'{}' must be 0 or 1, found {}", s.name, *given[k]));
    const double v = given[k] ? static_cast<double>(*given[k]) : s.def;
    if (s.slot == AttrSpec::Lowered) keepdim = v == 1;
    else if (s.slot == AttrSpec::Value) attrs.value = v;
    else if (s.slot == AttrSpec::Ints) {
      if (!seenInt) firstIntGiven = given[k].has_value(), seenInt = true;
      if (attrs.ints.size() <= static_cast<size_t>(s.index)) attrs.ints.resize(static_cast<size_t>(s.index) + 1, 0);
      attrs.ints[static_cast<size_t>(s.index)] = static_cast<int64_t>(v);
    }
  }
  if (!firstIntGiven) attrs.ints.clear();
  if (e.name == "flatten") {
    if (inputs.size() != 1) err(e.loc, fmt::format("'flatten' takes 1 argument, found {}", inputs.size()));
    const Shape& xs = model_.graph[inputs[0]].shape;
    if (xs.empty()) err(e.loc, "'flatten' needs a value of rank 1 or more");
    int64_t rest = 1;
    for (size_t i = 1; i < xs.size(); ++i) {
      if (isBatchDim(xs[i]))
        err(e.loc, fmt::format("'flatten' keeps the first axis and merges the others, so the batch dimension B "
                               "must be the first axis, found shape {}; use reshape", shapeStr(xs)));
      rest *= xs[i];
    }
    attrs.shape = {xs[0], rest};
  } else if (takesShape(*op) && !shapeGiven) {
    err(e.loc, fmt::format("'{}' needs a target shape as its last argument, e.g. {}(x, [B, 30])", e.name, e.name));
  }
  int arity = static_cast<int>(inputs.size());
  if (arity < op->minInputs || arity > op->maxInputs)
    err(e.loc, fmt::format("'{}' takes {} tensor argument{}, found {}", e.name,
                           op->minInputs == op->maxInputs ? std::to_string(op->minInputs)
                                                          : fmt::format("{} to {}", op->minInputs, op->maxInputs),
                           op->maxInputs == 1 ? "" : "s", arity));
  int out = e.name == "std" ? add("sqrt", {add(op->name, inputs, attrs, e.loc)}, {}, e.loc, e.span)
                            : add(op->name, inputs, attrs, e.loc, e.span);
  return keepdim ? keepDim(out, inputs[0], attrs, e) : out;
}

// keepdim=1: the reduced axis (every axis, without axis=) comes back as size 1, [B, H] -> [1, H].
int Lowerer::keepDim(int reduced, int x, const Attrs& attrs, const Expr& e) {
  Attrs at;
  at.shape = model_.graph[x].shape;
  if (attrs.ints.empty()) std::fill(at.shape.begin(), at.shape.end(), 1);
  else {
    int64_t ax = attrs.ints[0] < 0 ? attrs.ints[0] + static_cast<int64_t>(at.shape.size()) : attrs.ints[0];
    at.shape[ax] = 1;
  }
  return add("reshape", {reduced}, at, e.loc, e.span);
}

}  // namespace netc
