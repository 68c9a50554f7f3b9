// Lowering: AST -> Model. Constants are folded here, shapes are inferred node by node as the graph is
// built, and the result is verified before anyone else sees it.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>
#include <optional>
#include <set>

#include "lang/parser.h"
#include "lower/builtins.h"
#include "lower/model.h"
#include "lower/overrides.h"
#include "ops/batchnorm.h"
#include "ops/op.h"
#include "support/files.h"
#include "support/sizes.h"
#include "support/whole.h"

namespace netc {

double TrainSpec::learningRate(int64_t step) const {
  double rate = lr.back().lr;
  for (const auto& seg : lr)
    if (seg.until < 0 || step < seg.until) {
      rate = seg.lr;
      break;
    }
  // As makemore and nanoGPT write it: warmup ramps linearly to the rate, then cosine decays it to min_lr.
  if (warmup > 0 && step < warmup) return rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (cosine && steps > warmup) {
    double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps - warmup));
    return minLr + 0.5 * (rate - minLr) * (1 + std::cos(M_PI * std::min(1.0, progress)));
  }
  return rate;
}

namespace {

// A folded constant: its value, and when it is a whole number known exactly (integer literals and what
// support/whole.h computes from them), that number too, which whole-number settings read (constWhole).
struct Folded {
  double value = 0;
  std::optional<Whole> whole;
  static Folded of(int64_t n) { return {static_cast<double>(n), n}; }
};

class Lowerer {
 public:
  Lowerer(const Module& m, const LowerOptions& opts) : m_(m), src_(m.source), opts_(opts) {}

  Model run() {
    model_.graph.source = src_;
    model_.name = std::filesystem::path(src_->path()).stem().string();
    // Names assigned anywhere, so a use before the definition says where the definition is.
    for (const Stmt& s : m_.stmts)
      if (s.kind == Stmt::Assign || s.kind == Stmt::Param || s.kind == Stmt::State || s.kind == Stmt::Input)
        laterDefs_.emplace(s.name, s.nameLoc.line);
    for (const Stmt& s : m_.stmts) statement(s);
    finish();
    return std::move(model_);
  }

 private:
  // ---- errors ----
  [[noreturn]] void err(SrcLoc loc, const std::string& msg) { fail(src_, loc, msg); }

  // Most recently defined first, so among equally close names the suggestion is the nearest definition
  // (W3 -> W2 rather than W1).
  std::vector<std::string> knownNames() const {
    std::vector<std::pair<int, std::string>> byLine;
    for (auto& [k, v] : values_) byLine.emplace_back(defLines_.count(k) ? defLines_.at(k) : 0, k);
    for (auto& [k, v] : consts_) byLine.emplace_back(defLines_.count(k) ? defLines_.at(k) : 0, k);
    std::sort(byLine.begin(), byLine.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::vector<std::string> out;
    for (auto& [line, k] : byLine) out.push_back(k);
    return out;
  }

  [[noreturn]] void unknownName(const Expr& e) {
    auto later = laterDefs_.find(e.name);
    if (later != laterDefs_.end() && currentDef_ == e.name)
      err(e.loc, fmt::format("'{}' is used in its own definition: a value cannot depend on itself (cycle)", e.name));
    if (later != laterDefs_.end())
      err(e.loc, fmt::format("'{}' is used before its definition on line {}: define values before using them "
                             "(so the graph can have no cycle)", e.name, later->second));
    if (e.name == "V" || e.name == "T")
      err(e.loc, fmt::format("'{}' is defined by the data section, which must come before its first use", e.name));
    err(e.loc, fmt::format("unknown identifier '{}'{}", e.name, didYouMean(e.name, knownNames())));
  }

  void defineName(const std::string& name, SrcLoc loc) {
    auto it = defLines_.find(name);
    if (it != defLines_.end())
      err(loc, fmt::format("'{}' is defined twice: first on line {}; every value is defined once (SSA)", name, it->second));
    if (name == "B")
      err(loc, "'B' is the batch dimension and cannot be redefined");
    defLines_[name] = loc.line;
  }

  // ---- constant expressions ----
  double constEval(const Expr& e) { return fold(e).value; }

  // A constant expression's value. Arithmetic is in doubles, as everything that uses a constant computes; the
  // exact whole number rides along where there is one (Folded), for whole-number settings.
  Folded fold(const Expr& e) {
    switch (e.kind) {
      case Expr::Number: return {e.number, e.whole};
      case Expr::Name: {
        auto it = consts_.find(e.name);
        if (it != consts_.end()) return it->second;
        if (e.name == "B")
          err(e.loc, "'B' is the batch size, known only at run time: it may stand alone as a dimension but not "
                     "inside arithmetic");
        if (values_.count(e.name))
          err(e.loc, fmt::format("'{}' is a tensor, but a constant expression was expected here", e.name));
        unknownName(e);
      }
      case Expr::String:
        err(e.loc, fmt::format("expected a numeric constant, found the string \"{}\"", e.name));
      case Expr::List:
        err(e.loc, "expected a numeric constant, found a list");
      case Expr::Slice:
        err(e.loc, "expected a numeric constant, found a slice");
      case Expr::Index:
        err(e.loc, "expected a numeric constant, found an index expression");
      case Expr::Unary: {
        Folded v = fold(*e.args[0]);
        if (e.op != Tok::Minus) return v;
        return {-v.value, v.whole ? wholeNeg(*v.whole) : std::nullopt};
      }
      case Expr::Binary: {
        if (e.op == Tok::MatMul) err(e.loc, "'@' (matrix product) is not allowed in a constant expression");
        Folded a = fold(*e.args[0]), b = fold(*e.args[1]);
        double r = 0;
        std::optional<Whole> (*exact)(Whole, Whole) = nullptr;
        switch (e.op) {
          case Tok::Plus: r = a.value + b.value, exact = wholeAdd; break;
          case Tok::Minus: r = a.value - b.value, exact = wholeSub; break;
          case Tok::Star: r = a.value * b.value, exact = wholeMul; break;
          case Tok::Slash:
            if (b.value == 0) err(e.loc, "division by zero in a constant expression");
            r = a.value / b.value, exact = wholeDiv;
            break;
          case Tok::Power: r = std::pow(a.value, b.value), exact = wholePow; break;
          default: err(e.loc, "unexpected operator in a constant expression");
        }
        if (!std::isfinite(r)) err(e.loc, fmt::format("constant expression is not a finite number ({})", r));
        return {r, a.whole && b.whole ? exact(*a.whole, *b.whole) : std::nullopt};
      }
      case Expr::Call: {
        const Builtin* fn = findBuiltin(constantFunctions(), e.name);
        const std::vector<std::string> fns = builtinNames(constantFunctions());
        if (!fn)
          err(e.loc, fmt::format("'{}' is not a constant function: expected one of {}{}", e.name,
                                 fmt::join(fns, ", "), didYouMean(e.name, fns)));
        const size_t want = static_cast<size_t>(fn->arity);
        if (e.args.size() != want)
          err(e.loc, fmt::format("'{}' takes {} argument{}, found {}", e.name, want, want == 1 ? "" : "s", e.args.size()));
        for (size_t i = 0; i < e.args.size(); ++i)
          if (!e.keywords[i].empty())
            err(e.keywordLocs[i], fmt::format("'{}' takes no keyword arguments, found '{}'", e.name, e.keywords[i]));
        Folded a = fold(*e.args[0]);
        Folded r;
        if (e.name == "sqrt") {
          if (a.value < 0) err(e.loc, fmt::format("sqrt of a negative number ({})", a.value));
          r.value = std::sqrt(a.value);
        } else if (e.name == "log") {
          if (a.value <= 0) err(e.loc, fmt::format("log of a non-positive number ({})", a.value));
          r.value = std::log(a.value);
        } else if (e.name == "exp") r.value = std::exp(a.value);
        else if (e.name == "abs") r = {std::fabs(a.value), a.whole && *a.whole < 0 ? wholeNeg(*a.whole) : a.whole};
        else {
          // min and max of two whole numbers: the one chosen, compared exactly.
          const Folded b = fold(*e.args[1]);
          if (a.whole && b.whole) r = (e.name == "min") == (*a.whole < *b.whole) ? a : b;
          else r.value = e.name == "min" ? std::min(a.value, b.value) : std::max(a.value, b.value);
        }
        if (!std::isfinite(r.value)) err(e.loc, "constant expression overflows");
        return r;
      }
    }
    err(e.loc, "bad constant expression");
  }

  // Whether e mentions no tensor (so it folds to one constant).
  bool isConstExpr(const Expr& e) const {
    switch (e.kind) {
      case Expr::Number: return true;
      case Expr::Name: return consts_.count(e.name) > 0;
      case Expr::Unary: case Expr::Binary:
        for (auto& a : e.args)
          if (!isConstExpr(*a)) return false;
        return e.op != Tok::MatMul;
      case Expr::Call: {
        // exp(1) and log(2) fold even though exp and log are also ops; exp(h) of a tensor does not.
        if (!findBuiltin(constantFunctions(), e.name)) return false;
        for (auto& a : e.args)
          if (!isConstExpr(*a)) return false;
        return true;
      }
      default: return false;
    }
  }

  // A whole-number setting in min..max: its exact value where the expression has one (Folded), else its double
  // when that is whole and below 2^53 (every integer a double holds exactly; above, a computed value may have
  // been rounded). `max`: the sane limit of this setting (lower/model.h), so nothing sized from it can overflow
  // or exhaust memory later.
  Whole constWhole(const Expr& e, std::string_view what, Whole min, Whole max) {
    const Folded f = fold(e);
    auto outOfRange = [&](const std::string& found) {
      err(e.loc, fmt::format("{} must be a whole number in {}..{}, found {}", what, min, max, found));
    };
    if (f.whole) {
      if (*f.whole < min || *f.whole > max) outOfRange(fmt::format("{}", *f.whole));
      return *f.whole;
    }
    const double v = f.value;
    if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max))) outOfRange(fmt::format("{}", v));
    if (v != std::floor(v)) err(e.loc, fmt::format("{} must be a whole number, found {}", what, v));
    constexpr double kExactInDouble = 9007199254740992.0;  // 2^53
    if (std::fabs(v) > kExactInDouble)
      err(e.loc, fmt::format("{} {} was computed with rounding (beyond 2^53, doubles skip integers): write it with "
                             "integer literals and integer operations (no decimal point, no e notation)", what, v));
    const Whole w = static_cast<Whole>(v);
    if (w < min || w > max) outOfRange(fmt::format("{}", v));
    return w;
  }

  int64_t constInt(const Expr& e, std::string_view what, int64_t min, int64_t max = kMaxWholeNumber) {
    return static_cast<int64_t>(constWhole(e, what, min, max));
  }

  uint64_t constSeed(const Expr& e, std::string_view what) {
    return static_cast<uint64_t>(constWhole(e, what, 0, std::numeric_limits<uint64_t>::max()));
  }

  int64_t dim(const Expr& e, bool allowBatch) {
    if (e.kind == Expr::Name && e.name == "B") {
      if (!allowBatch) err(e.loc, "the batch dimension 'B' is not allowed here: parameter shapes are fixed");
      return kBatch;
    }
    return constInt(e, "a dimension", 1);
  }

  Shape shape(const std::vector<ExprPtr>& dims, bool allowBatch) {
    Shape s;
    int batches = 0;
    for (auto& d : dims) {
      s.push_back(dim(*d, allowBatch));
      if (s.back() == kBatch && ++batches > 1) err(d->loc, "'B' may appear only once in a shape");
      checkSize(s, d->loc);
    }
    return s;
  }

  // Every value fits in 2^31 - 1 elements (per batch row when it has B), so no size computation overflows.
  void checkSize(const Shape& s, SrcLoc loc) {
    int64_t n = 1;
    for (int64_t d : s)
      if (d != kBatch && (__builtin_mul_overflow(n, d, &n) || n > kMaxElements))
        err(loc, fmt::format("shape {} is too large: netc supports at most {} elements per value{}", shapeStr(s),
                             kMaxElements, hasBatch(s) ? " (per batch row)" : ""));
  }

  // ---- statements ----
  void statement(const Stmt& s) {
    currentDef_ = s.name;
    switch (s.kind) {
      case Stmt::Const: {
        if (consts_.count(s.name) || values_.count(s.name)) defineName(s.name, s.nameLoc);
        defineName(s.name, s.nameLoc);
        consts_[s.name] = fold(*s.value);
        model_.constants[s.name] = consts_[s.name].value;
        break;
      }
      case Stmt::Data: data(s); break;
      case Stmt::Input: {
        defineName(s.name, s.nameLoc);
        Shape sh = shape(s.dims, true);
        int id = model_.graph.add(&getOp("input"), {}, {}, s.nameLoc, s.name);
        model_.graph[id].dtype = s.dtype == "int" ? DType::I32 : DType::F32;
        model_.graph[id].shape = sh;
        values_[s.name] = id;
        break;
      }
      case Stmt::Param: declareTensor(s, "param", s.trainable); break;
      case Stmt::State: declareTensor(s, "state", false); break;
      case Stmt::Update: update(s); break;
      case Stmt::For: forLoop(s); break;
      case Stmt::Assign: {
        if (loop_) { loopAssign(s); break; }
        if (!s.targetIndex.empty())
          err(s.nameLoc, fmt::format("`{}[...] = ...` stacks the values of a loop's steps: it may stand only in the "
                                     "body of a `for` loop", s.name));
        defineName(s.name, s.nameLoc);
        int id = tensor(*s.value);
        Node& n = model_.graph[id];
        if (!n.name.empty() || n.op->cls == OpDef::Source) {
          // `h2 = h` or `k = 3`: an alias would give a node two names; copy through a reshape instead.
          Attrs at;
          at.shape = n.shape;
          id = add("reshape", {id}, at, s.nameLoc);
        }
        model_.graph[id].name = s.name;
        values_[s.name] = id;
        for (const Annotation& a : s.annotations) annotate(id, a);
        break;
      }
      case Stmt::Minimize: {
        if (model_.graph.loss >= 0) err(s.loc, "only one 'minimize' statement is allowed");
        currentDef_.clear();
        if (isConstExpr(*s.value)) err(s.nameLoc, "'minimize' needs a value that depends on the model, found a constant");
        int id = tensor(*s.value);
        const Node& n = model_.graph[id];
        if (!n.shape.empty())
          err(s.nameLoc, fmt::format("'minimize' needs a scalar, but {} has shape {}", model_.graph.describe(id),
                                     shapeStr(n.shape)));
        if (n.dtype != DType::F32) err(s.nameLoc, "'minimize' needs a float value");
        model_.graph.loss = id;
        minimizeLoc_ = s.nameLoc;
        break;
      }
      case Stmt::Section:
        if (s.name == "train") trainSection(s);
        else sampleSection(s);
        break;
    }
  }

  // `param` and `state`: a float tensor of constant shape with an initialiser.
  void declareTensor(const Stmt& s, std::string_view op, bool trainable) {
    defineName(s.name, s.nameLoc);
    Shape sh = shape(s.dims, false);
    int id = model_.graph.add(&getOp(op), {}, {}, s.nameLoc, s.name);
    Node& n = model_.graph[id];
    n.dtype = DType::F32;
    n.shape = sh;
    n.init = initSpec(*s.value);
    n.trainable = trainable;
    values_[s.name] = id;
  }

  // `update S = expr`: S must be a declared state, updated once. The nodes made for the expression belong to
  // the update phase: they run after the forward pass and receive no gradient.
  void update(const Stmt& s) {
    auto it = values_.find(s.name);
    if (it == values_.end()) {
      Expr e;
      e.kind = Expr::Name, e.name = s.name, e.loc = s.nameLoc;
      currentDef_.clear();
      unknownName(e);
    }
    const Node& target = model_.graph[it->second];
    if (isParam(target))
      err(s.nameLoc, fmt::format("'{}' is a parameter: the optimizer updates parameters from their gradients; declare "
                                 "values the step changes itself with `state {} : [...] = zeros`", s.name, s.name));
    if (isInput(target)) err(s.nameLoc, fmt::format("'{}' is an input, fed by the driver: only a state can be updated", s.name));
    if (!isState(target))
      err(s.nameLoc, fmt::format("'{}' is a computed value: only a state (declared with `state {} : [...] = init`) can "
                                 "be updated", s.name, s.name));
    auto prev = updated_.find(s.name);
    if (prev != updated_.end())
      err(s.nameLoc, fmt::format("state '{}' is updated twice: first on line {}; a state has one next value per step",
                                 s.name, prev->second));
    updated_[s.name] = s.nameLoc.line;
    const int first = model_.graph.size();
    int value = tensor(*s.value);
    int id = add("assign", {it->second, value}, {}, s.nameLoc, s.value->span);
    model_.graph[id].name = s.name + ".next";
    for (int v = first; v < model_.graph.size(); ++v) model_.graph[v].phase = Phase::Update;
  }

  void annotate(int id, const Annotation& a) {
    if (a.name != "probe")
      err(a.loc, fmt::format("unknown annotation '@{}': expected @probe{}", a.name, didYouMean(a.name, {"probe"})));
    ProbeSpec p;
    if (!a.args.empty()) {
      p = ProbeSpec{false, false, false, false};
      for (auto& [arg, loc] : a.args) {
        if (arg == "hist") p.hist = true;
        else if (arg == "saturation") p.saturation = true;
        else if (arg == "dead") p.dead = true;
        else if (arg == "stats") p.stats = true;
        else
          err(loc, fmt::format("unknown probe statistic '{}': expected hist, saturation, dead or stats{}", arg,
                               didYouMean(arg, {"hist", "saturation", "dead", "stats"})));
      }
    }
    p.marked = true;
    model_.graph[id].probe = p;
  }

  InitSpec initSpec(const Expr& e) {
    InitSpec spec;
    bool found = false;
    spec.scale = initScale(e, spec, found);
    if (!found)
      err(e.loc, "expected an initialiser: randn, zeros, ones or uniform(a, b), optionally scaled, e.g. randn * 0.01");
    spec.text = exprText(e);
    spec.loc = e.loc;
    return spec;
  }

  // Returns the constant factor; records the distribution in spec.
  double initScale(const Expr& e, InitSpec& spec, bool& found) {
    if (isConstExpr(e)) return constEval(e);
    if (e.kind == Expr::Name || e.kind == Expr::Call) {
      const std::vector<std::string> dists = builtinNames(initialisers());
      const Builtin* dist = findBuiltin(initialisers(), e.name);
      if (!dist) {
        // A constant function of something not constant: let constant folding say what is wrong with it.
        if (e.kind == Expr::Call && findBuiltin(constantFunctions(), e.name)) constEval(e);
        // A name that is neither a distribution nor a constant: a misspelt constant gets "unknown identifier".
        if (e.kind == Expr::Name) {
          if (values_.count(e.name))
            err(e.loc, fmt::format("'{}' is a tensor, but an initialiser is a distribution times constants, "
                                   "e.g. randn * 0.01", e.name));
          std::vector<std::string> names = dists;
          for (auto& n : knownNames()) names.push_back(n);
          std::string near = nearest(e.name, names);
          if (!near.empty() && std::find(dists.begin(), dists.end(), near) == dists.end()) unknownName(e);
        }
        err(e.loc, fmt::format("unknown initialiser '{}': expected randn, zeros, ones or uniform(a, b){}; "
                               "`netc help ops` lists them", e.name, didYouMean(e.name, dists)));
      }
      if (found) err(e.loc, "an initialiser may name only one distribution");
      checkInitialiserForm(e, *dist);
      if (e.name == "randn") spec.kind = InitSpec::Randn;
      else if (e.name == "zeros") spec.kind = InitSpec::Zeros;
      else if (e.name == "ones") spec.kind = InitSpec::Ones;
      else {
        spec.kind = InitSpec::Uniform;
        spec.a = constEval(*e.args[0]);
        spec.b = constEval(*e.args[1]);
        if (!(spec.a < spec.b)) err(e.loc, fmt::format("uniform(a, b) needs a < b, found a = {}, b = {}", spec.a, spec.b));
      }
      found = true;
      return 1.0;
    }
    if (e.kind == Expr::Binary && (e.op == Tok::Star || e.op == Tok::Slash)) {
      // A constant subtree returned above, so the distribution is on exactly one side: its own steps come
      // first, then this node's factor (the constant side), as Python evaluates `c * (randn * a)`.
      const bool before = found;
      double l = initScale(*e.args[0], spec, found);
      const bool inLeft = found && !before;
      bool rightIsConst = isConstExpr(*e.args[1]);
      if (e.op == Tok::Slash && !rightIsConst) err(e.args[1]->loc, "an initialiser can only be divided by a constant");
      double r = initScale(*e.args[1], spec, found);
      if (e.op == Tok::Slash && r == 0) err(e.loc, "division by zero in the initialiser");
      spec.steps.push_back({e.op == Tok::Slash, inLeft ? r : l});
      return e.op == Tok::Star ? l * r : l / r;
    }
    if (e.kind == Expr::Unary) {
      double v = initScale(*e.args[0], spec, found);
      if (e.op == Tok::Minus) spec.steps.push_back({false, -1});
      return (e.op == Tok::Minus ? -1 : 1) * v;
    }
    err(e.loc, "expected an initialiser of the form DISTRIBUTION * constant, e.g. randn * (5/3) / sqrt(30)");
  }

  // A distribution written in the wrong form: randn(5/3) is randn scaled, uniform needs its bounds.
  void checkInitialiserForm(const Expr& e, const Builtin& dist) {
    const bool called = e.kind == Expr::Call;
    if (dist.arity == 0 && called) {
      std::string fix = e.args.empty() ? dist.name : e.args.size() == 1
          ? fmt::format("{} * {}", dist.name, e.args[0]->kind == Expr::Binary ? "(" + exprText(*e.args[0]) + ")"
                                                                              : exprText(*e.args[0]))
          : fmt::format("{} * SCALE", dist.name);
      err(e.loc, fmt::format("'{}' takes no arguments; write {}", dist.name, fix));
    }
    if (dist.arity > 0 && (!called || e.args.size() != static_cast<size_t>(dist.arity)))
      err(e.loc, fmt::format("'{}' takes {} arguments ({}){}, e.g. {}(-0.1, 0.1)", dist.name, dist.arity, dist.args,
                             called ? fmt::format(", found {}", e.args.size()) : "", dist.name));
  }

  std::string exprText(const Expr& e) {
    switch (e.kind) {
      case Expr::Number: return fmt::format("{}", e.number);
      case Expr::Name: case Expr::String: return e.name;
      case Expr::Unary: return (e.op == Tok::Minus ? "-" : "+") + exprText(*e.args[0]);
      case Expr::Binary: {
        const char* op = e.op == Tok::Star ? "*" : e.op == Tok::Slash ? "/" : e.op == Tok::Plus ? "+" : e.op == Tok::Minus ? "-" : e.op == Tok::Power ? "**" : "@";
        auto side = [&](const Expr& x) { return x.kind == Expr::Binary ? "(" + exprText(x) + ")" : exprText(x); };
        return side(*e.args[0]) + op + side(*e.args[1]);
      }
      case Expr::Call: {
        std::string s = e.name + "(";
        for (size_t i = 0; i < e.args.size(); ++i) s += (i ? "," : "") + exprText(*e.args[i]);
        return s + ")";
      }
      case Expr::Slice: {
        std::string a, b;
        for (size_t k = 0; k < e.args.size(); ++k) (e.keywords[k] == "start" ? a : b) = exprText(*e.args[k]);
        return a + ":" + b;
      }
      default: return "?";
    }
  }

  // ---- tensor expressions ----
  // `span`: the expression the node computes, quoted when a message describes it (Graph::describe).
  int add(std::string_view op, std::vector<int> inputs, Attrs attrs, SrcLoc loc, SrcSpan span = {}) {
    int id = model_.graph.add(&getOp(op), std::move(inputs), std::move(attrs), loc);
    model_.graph[id].span = span;
    inferNode(model_.graph, id);
    checkSize(model_.graph[id].shape, loc);
    return id;
  }

  int constant(double v, SrcLoc loc) {
    Attrs a;
    a.value = v;
    return add("const", {}, a, loc);
  }

  int tensor(const Expr& e) {
    if (isConstExpr(e)) return constant(constEval(e), e.loc);
    switch (e.kind) {
      case Expr::Name: {
        auto it = values_.find(e.name);
        if (it != values_.end()) return it->second;
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
        int a = tensor(*e.args[0]);
        int b = tensor(*e.args[1]);
        const char* op = e.op == Tok::Plus ? "add" : e.op == Tok::Minus ? "sub" : e.op == Tok::Star ? "mul"
                       : e.op == Tok::Slash ? "div" : "matmul";
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

  // x ** c for a constant c: the cheap exact forms where there is one, pow otherwise (and for a tensor
  // exponent, which must be a scalar: pow's shape rule says so).
  int power(const Expr& e) {
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

  std::vector<std::string> publicOps() const {
    std::vector<std::string> out = {"flatten", "std", "batchnorm"};
    for (const OpDef* op : allOps())
      if (!op->internal) out.push_back(op->name);
    return out;
  }

  // mode(train = a, eval = b): the two forms of a value, chosen when the graph is specialised (modes/).
  int modeCall(const Expr& e) {
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
  int batchnormCall(const Expr& e) {
    static const std::vector<std::string> kKeys = {"eps", "momentum", "correction", "running_correction", "running"};
    std::vector<int> in;
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
    int out = buildBatchnorm(model_.graph, args, o, e.loc, e.span);
    batchnormOutputs_.push_back(out);
    for (int v = first; v < model_.graph.size(); ++v) checkSize(model_.graph[v].shape, e.loc);
    return out;
  }

  int call(const Expr& e) {
    if (e.name == "mode") return modeCall(e);
    if (e.name == "batchnorm") return batchnormCall(e);
    // std(x, ...) is sqrt(var(x, ...)).
    std::string name = e.name == "flatten" ? "reshape" : e.name == "std" ? "var" : e.name;
    const OpDef* op = findOp(name);
    if (!op || op->internal) {
      if (op) err(e.loc, fmt::format("'{}' is an internal op made by the compiler; it cannot be called from a .net file", e.name));
      err(e.loc, fmt::format("unknown op '{}'{}; `netc help ops` lists them", e.name, didYouMean(e.name, publicOps())));
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
        if (xs[i] == kBatch)
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
  int keepDim(int reduced, int x, const Attrs& attrs, const Expr& e) {
    Attrs at;
    at.shape = model_.graph[x].shape;
    if (attrs.ints.empty()) std::fill(at.shape.begin(), at.shape.end(), 1);
    else {
      int64_t ax = attrs.ints[0] < 0 ? attrs.ints[0] + static_cast<int64_t>(at.shape.size()) : attrs.ints[0];
      at.shape[ax] = 1;
    }
    return add("reshape", {reduced}, at, e.loc, e.span);
  }

  // ---- sections ----
  const SectionEntry* entry(const Stmt& s, std::string_view key) {
    for (const auto& e : s.entries)
      if (e.key == key) return &e;
    return nullptr;
  }

  void checkKeys(const Stmt& s, const std::vector<std::string>& keys) {
    std::set<std::string> seen;
    for (const auto& e : s.entries) {
      if (std::find(keys.begin(), keys.end(), e.key) == keys.end())
        err(e.loc, fmt::format("unknown setting '{}' in the {} section{}", e.key, s.kind == Stmt::Data ? "data" : s.name,
                               didYouMean(e.key, keys)));
      if (!seen.insert(e.key).second) err(e.loc, fmt::format("setting '{}' is given twice", e.key));
    }
  }

  const Expr& single(const SectionEntry& e) {
    if (e.items.size() != 1 || e.items[0].until)
      err(e.loc, fmt::format("'{}' takes a single value", e.key));
    return *e.items[0].value;
  }

  void data(const Stmt& s) {
    if (haveData_) err(s.loc, "only one data section is allowed");
    haveData_ = true;
    checkKeys(s, {"context", "split", "seed", "shuffle", "form"});
    DataSpec& d = model_.data;
    d.loc = s.nameLoc;
    if (auto* e = entry(s, "form"))
      d.form = choice(single(*e), "data form", {"context", "sequence"}) == 0 ? DataForm::Context : DataForm::Sequence;
    if (d.form == DataForm::Sequence)
      for (const char* key : {"context", "split"})
        if (auto* e = entry(s, key))
          err(e->loc, fmt::format("'{}' is a setting of the context form: the sequence form's block size T is the longest "
                                  "word + 1, and its test split min(1000, 10% of the words)", key));
    if (auto* e = entry(s, "shuffle"))
      d.shuffle = choice(single(*e), "shuffle", {"netc", "python"}) == 0 ? Shuffle::Netc : Shuffle::Python;
    if (auto* e = entry(s, "context")) d.context = constInt(single(*e), "the context length", 1, kMaxContext);
    if (auto* e = entry(s, "seed")) d.seed = constSeed(single(*e), "the split seed");
    if (auto* e = entry(s, "split")) {
      if (e->items.size() != 3)
        err(e->loc, fmt::format("'split' takes three fractions (train, dev, test), found {}", e->items.size()));
      double sum = 0;
      for (int i = 0; i < 3; ++i) {
        const Expr& x = *e->items[i].value;
        d.split[i] = constEval(x);
        if (d.split[i] < 0 || d.split[i] > 1)
          err(x.loc, fmt::format("split fraction {} is out of range: expected a number in [0, 1]", d.split[i]));
        sum += d.split[i];
      }
      if (std::fabs(sum - 1.0) > 1e-6)
        err(e->loc, fmt::format("split fractions must add up to 1, found {:.6g}", sum));
      if (d.split[0] <= 0) err(e->items[0].value->loc, "the training fraction must be above 0");
    }
    namespace fs = std::filesystem;
    if (!opts_.dataOverride.empty()) d.path = opts_.dataOverride;
    else {
      fs::path p(s.name);
      d.path = p.is_absolute() ? p.string() : (fs::path(src_->path()).parent_path() / p).lexically_normal().string();
    }
    if (std::string why = inputFileProblem(d.path); !why.empty()) {
      const bool missing = why == "no such file";
      if (opts_.dataOverride.empty())
        err(s.nameLoc, missing ? fmt::format("dataset file '{}' not found (resolved to '{}'): run tools/get-names.sh, "
                                             "or pass --data FILE", s.name, d.path)
                               : fmt::format("cannot read dataset file '{}' (resolved to '{}'): {}", s.name, d.path, why));
      fail(missing ? fmt::format("dataset file '{}' (from --data) not found", d.path)
                   : fmt::format("cannot read dataset file '{}' (from --data): {}", d.path, why));
    }
    // Read once, here: the vocabulary and later the examples come from these words, so a FIFO or /dev/stdin
    // works and a file that changes in between cannot give the two different contents.
    d.file = std::make_shared<const WordFile>(readWordFile(d.path));
    model_.vocab = Vocabulary(d.file->words);
    if (d.form == DataForm::Sequence) {
      size_t longest = 0;
      for (const auto& w : d.file->words) longest = std::max(longest, w.size());
      if (longest + 1 > static_cast<size_t>(kMaxContext))
        err(s.nameLoc, fmt::format("the longest word has {} characters: the sequence form allows {} at most", longest,
                                   kMaxContext - 1));
      d.context = static_cast<int64_t>(longest) + 1;
    }
    consts_["V"] = Folded::of(model_.vocab.size());
    consts_["T"] = Folded::of(d.context);
    model_.constants["V"] = consts_["V"].value;
    model_.constants["T"] = consts_["T"].value;
  }

  void trainSection(const Stmt& s) {
    checkKeys(s, {"steps", "batch", "optimizer", "lr", "seed", "log_every", "eval_every", "probe_every", "probes",
                  "saturation", "momentum", "nesterov", "betas", "eps", "weight_decay", "clip_norm", "warmup", "decay",
                  "min_lr", "generator"});
    TrainSpec& t = model_.train;
    if (auto* e = entry(s, "generator")) {
      t.generator = choice(single(*e), "generator", {"netc", "torch"}) == 0 ? Generator::Netc : Generator::Torch;
      generatorLoc_ = e->loc;
    }
    if (auto* e = entry(s, "steps")) t.steps = constInt(single(*e), "steps", 1, kMaxSteps);
    if (auto* e = entry(s, "batch")) {
      t.batch = constInt(single(*e), "the batch size", 1);
      batchLoc_ = single(*e).loc;
    }
    if (auto* e = entry(s, "seed")) t.seed = constSeed(single(*e), "the seed");
    if (auto* e = entry(s, "log_every")) t.logEvery = constInt(single(*e), "log_every", 1, kMaxSteps);
    if (auto* e = entry(s, "eval_every")) t.evalEvery = constInt(single(*e), "eval_every", 0, kMaxSteps);
    if (auto* e = entry(s, "probe_every")) t.probeEvery = constInt(single(*e), "probe_every", 1, kMaxSteps);
    if (auto* e = entry(s, "probes")) {
      const Expr& v = single(*e);
      const std::vector<std::string> kinds = {"all", "marked"};
      std::string name = v.kind == Expr::Name ? v.name : exprText(v);
      if (v.kind != Expr::Name || (name != "all" && name != "marked"))
        err(v.loc, fmt::format("unknown probe set '{}': expected all (every activation layer, BatchNorm output and the "
                               "logits, plus the values marked @probe) or marked (the marked values and the logits){}",
                               name, didYouMean(v.kind == Expr::Name ? name : "", kinds)));
      markedProbesOnly_ = name == "marked";
    }
    if (auto* e = entry(s, "saturation")) {
      t.saturation = constEval(single(*e));
      // Above 0.5: a sigmoid's low side is s < 1 - saturation, which must lie below its high side.
      if (!(t.saturation > 0.5 && t.saturation < 1))
        err(e->loc, fmt::format("saturation threshold must lie in (0.5, 1), found {}", t.saturation));
    }
    optimizerSettings(s, t);
    if (auto* e = entry(s, "lr")) {
      t.lr.clear();
      int64_t prev = 0;
      for (size_t i = 0; i < e->items.size(); ++i) {
        const SectionItem& it = e->items[i];
        double lr = constEval(*it.value);
        if (!(lr > 0)) err(it.value->loc, fmt::format("learning rate must be positive, found {}", lr));
        int64_t until = -1;
        if (it.until) {
          until = constInt(*it.until, "the step of a learning-rate change", 1, kMaxSteps);
          if (until <= prev) err(it.until->loc, fmt::format("learning-rate steps must increase: {} after {}", until, prev));
          prev = until;
        } else if (i + 1 != e->items.size()) {
          err(it.value->loc, "every learning rate but the last needs 'until STEP', e.g. lr = 0.1 until 100000, 0.01");
        }
        t.lr.push_back({lr, until});
      }
    }
  }

  // A setting that names one of `options` (a bare name, as `shuffle = python`): its index, else a located error
  // listing them.
  size_t choice(const Expr& v, const char* setting, const std::vector<std::string>& options) {
    auto it = v.kind == Expr::Name ? std::find(options.begin(), options.end(), v.name) : options.end();
    if (it == options.end())
      err(v.loc, fmt::format("unknown {} '{}': expected {}{}", setting, v.kind == Expr::Name ? v.name : exprText(v),
                             fmt::join(options, " or "), didYouMean(v.kind == Expr::Name ? v.name : "", options)));
    return static_cast<size_t>(it - options.begin());
  }

  // optimizer = sgd | momentum | adam | adamw and the settings each takes, named as torch.optim names them.
  void optimizerSettings(const Stmt& s, TrainSpec& t) {
    OptimizerSpec& o = t.optimizer;
    static const std::vector<std::string> kinds = {"sgd", "momentum", "adam", "adamw"};
    if (auto* e = entry(s, "optimizer")) {
      const Expr& v = single(*e);
      auto it = v.kind == Expr::Name ? std::find(kinds.begin(), kinds.end(), v.name) : kinds.end();
      if (it == kinds.end())
        err(v.loc, fmt::format("unknown optimizer '{}': expected sgd, momentum, adam or adamw{}",
                               v.kind == Expr::Name ? v.name : exprText(v), didYouMean(v.kind == Expr::Name ? v.name : "", kinds)));
      o.kind = static_cast<OptimizerSpec::Kind>(it - kinds.begin());
    }
    const bool adam = o.kind == OptimizerSpec::Adam || o.kind == OptimizerSpec::AdamW;
    if (o.kind == OptimizerSpec::AdamW) o.weightDecay = 0.01;  // torch.optim.AdamW's default
    auto onlyFor = [&](const char* key, bool ok, const char* which) {
      const SectionEntry* e = entry(s, key);
      if (e && !ok)
        err(e->loc, fmt::format("'{}' is a setting of {}, but the optimizer is {}", key, which, optimizerName(o.kind)));
      return e;
    };
    auto fraction = [&](const Expr& x, const char* what) {
      double v = constEval(x);
      if (!(v >= 0 && v < 1)) err(x.loc, fmt::format("{} must lie in [0, 1), found {}", what, v));
      return v;
    };
    if (auto* e = onlyFor("momentum", o.kind == OptimizerSpec::Momentum, "optimizer = momentum"))
      o.momentum = fraction(single(*e), "momentum");
    if (auto* e = onlyFor("nesterov", o.kind == OptimizerSpec::Momentum, "optimizer = momentum")) {
      const Expr& v = single(*e);
      if (v.kind != Expr::Name || (v.name != "true" && v.name != "false"))
        err(v.loc, "nesterov takes true or false");
      o.nesterov = v.name == "true";
    }
    if (auto* e = onlyFor("betas", adam, "adam and adamw")) {
      if (e->items.size() != 2) err(e->loc, fmt::format("'betas' takes two values (beta1, beta2), found {}", e->items.size()));
      o.beta1 = fraction(*e->items[0].value, "beta1");
      o.beta2 = fraction(*e->items[1].value, "beta2");
    }
    if (auto* e = onlyFor("eps", adam, "adam and adamw")) {
      o.eps = constEval(single(*e));
      if (!(o.eps > 0)) err(e->loc, fmt::format("eps must be positive, found {}", o.eps));
    }
    if (auto* e = entry(s, "weight_decay")) {
      o.weightDecay = constEval(single(*e));
      if (!(o.weightDecay >= 0)) err(e->loc, fmt::format("weight_decay must be 0 or more, found {}", o.weightDecay));
    }
    if (auto* e = entry(s, "clip_norm")) {
      o.clipNorm = constEval(single(*e));
      if (!(o.clipNorm > 0)) err(e->loc, fmt::format("clip_norm must be positive, found {}", o.clipNorm));
    }
    if (auto* e = entry(s, "warmup")) t.warmup = constInt(single(*e), "warmup", 0);
    if (auto* e = entry(s, "decay")) {
      const Expr& v = single(*e);
      if (v.kind != Expr::Name || (v.name != "cosine" && v.name != "none"))
        err(v.loc, fmt::format("unknown decay '{}': expected cosine or none", v.kind == Expr::Name ? v.name : exprText(v)));
      t.cosine = v.name == "cosine";
    }
    if (auto* e = entry(s, "min_lr")) {
      if (!t.cosine) err(e->loc, "'min_lr' is the end of the cosine decay: it needs decay = cosine");
      t.minLr = constEval(single(*e));
      if (!(t.minLr >= 0)) err(e->loc, fmt::format("min_lr must be 0 or more, found {}", t.minLr));
    }
  }

  void sampleSection(const Stmt& s) {
    checkKeys(s, {"count", "seed"});
    if (auto* e = entry(s, "count")) model_.sample.count = constInt(single(*e), "count", 0, kMaxSampleCount);
    if (auto* e = entry(s, "seed")) model_.sample.seed = constSeed(single(*e), "the seed");
  }

  void finish() {
    Graph& g = model_.graph;
    if (g.loss < 0) {
      // Point at the value most likely meant (one named 'loss'), else at the last statement.
      SrcLoc at;
      bool haveLoss = false;
      for (const Stmt& s : m_.stmts) {
        if (!haveLoss) at = s.kind == Stmt::Assign ? s.nameLoc : s.loc;
        if (s.kind == Stmt::Assign && s.name == "loss") at = s.nameLoc, haveLoss = true;
      }
      fail(src_, at, fmt::format("no 'minimize' statement: say which scalar to train, e.g. `minimize {}`{}",
                                 haveLoss ? "loss" : "NAME", haveLoss ? " after this line" : ""));
    }
    // The data loss: the cross-entropy the minimized value contains (itself, or one term of a regularised sum).
    // Split losses report it, and its logits are what sampling draws from.
    std::vector<bool> toLoss(g.size(), false);
    toLoss[g.loss] = true;
    std::vector<int> ces;
    for (int i = g.loss; i >= 0; --i) {
      if (!toLoss[i]) continue;
      if (g[i].op->dataLoss) ces.push_back(i);
      for (int in : g[i].inputs) toLoss[in] = true;
    }
    if (ces.size() == 1) {
      const Node& ce = g[ces[0]];
      model_.dataLoss = ce.id;
      model_.logits = ce.inputs[0];
      model_.targetInput = ce.inputs[1];
    } else if (ces.size() > 1) {
      err(g[ces[1]].loc, fmt::format("the minimized value contains {} cross-entropies (lines {} and {}): netc reports "
                                     "one data loss per split, so one cross_entropy may feed the loss",
                                     ces.size(), g[ces[1]].loc.line, g[ces[0]].loc.line));
    }
    for (int id : g.inputs())
      if (g[id].dtype == DType::I32 && id != model_.targetInput) model_.contextInput = id;
    // The default probes, beside the values marked @probe (whose own spec stands): every activation layer,
    // every BatchNorm output and the logits; with `probes = marked` the logits only.
    auto isBatchnorm = [&](int id) {
      return std::find(batchnormOutputs_.begin(), batchnormOutputs_.end(), id) != batchnormOutputs_.end();
    };
    auto byDefault = [&](const Node& n) {
      if (n.id == model_.logits) return true;
      if (markedProbesOnly_) return false;
      return n.op->activation || isBatchnorm(n.id);
    };
    for (Node& n : g.nodes) {
      if (n.probe || !byDefault(n)) continue;
      n.probe = ProbeSpec{};
      // An unnamed default probe (deep_batchnorm.net's `tanh(batchnorm(...))`) is named after what it is and where,
      // so the statistics say "batchnorm@52", not "%145"; '@' keeps it apart from any name a file can write.
      if (n.name.empty() && n.id != model_.logits)
        n.name = fmt::format("{}@{}", isBatchnorm(n.id) ? "batchnorm" : std::string(n.op->name), n.loc.line);
    }
    verify(g);
    // torch's generator draws what a PyTorch script would: torch.randn for randn, nothing for zeros and ones.
    // uniform(a, b) has no single PyTorch spelling (rand * (b - a) + a, or uniform_(a, b), draw differently).
    if (model_.train.generator == Generator::Torch)
      for (int p : g.persistent())
        if (g[p].init.kind == InitSpec::Uniform)
          err(g[p].init.loc, fmt::format("'{}' starts from uniform(a, b), which generator = torch (line {}) does not "
                                         "draw: use randn, zeros or ones (times constants), or generator = netc",
                                         g[p].name, generatorLoc_.line));
    // The batch size is known now that every shape is: one that would make a value outgrow kMaxElements is an
    // error at the setting, not an overflow in the storage plan.
    if (std::string why = batchProblem(g, model_.train.batch); !why.empty()) {
      if (batchLoc_.line > 0) err(batchLoc_, why);
      fail(src_, {}, why);
    }
  }

  // ---- sequences: indexing and slicing along axes, unrolled loops ----
  // x[i, a:b, :]: per axis an index (dropping the axis), a slice or ':' (whole), trailing axes whole. Negative
  // numbers count from the end, as in Python. One slice node per narrowed axis, then a reshape dropping the
  // indexed ones.
  int sliceIndex(const Expr& e) {
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
      if (size == kBatch)
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

  // The loop being unrolled: its variable, the values it carries, what its body stacks.
  struct Loop {
    std::string var;
    int line = 0;
    int64_t first = 0, count = 0, step = 0;
    std::map<std::string, int> carried;       // name -> the value before the loop (its shape must not change)
    std::vector<std::string> locals;          // defined in this step's body, forgotten at its end
    struct Stack {
      int axis = -1;
      SrcLoc loc;
      std::vector<int> pieces;                // one per step
    };
    std::map<std::string, Stack> stacks;      // hs[:, t] = h
  };
  std::optional<Loop> loop_;

  // `for t in a..b { body }`: the body lowered once per t (a constant in each copy). A name assigned in the body
  // that was defined before the loop is carried: each step sees the previous step's value, and after the loop
  // the last one; its shape must stay as it was. `hs[:, t] = h` stacks h along that axis over the steps, hs
  // being defined after the loop. Other names are the step's own.
  void forLoop(const Stmt& s) {
    if (loop_) err(s.loc, fmt::format("loops cannot be nested: this loop is inside the loop on line {}", loop_->line));
    int64_t a = constInt(*s.value, "the start of the range", 0, kMaxContext);
    int64_t b = constInt(*s.rangeEnd, "the end of the range", 0, kMaxContext);
    if (b <= a) err(s.rangeEnd->loc, fmt::format("the range {}..{} is empty: the loop would not run", a, b));
    if (values_.count(s.name) || consts_.count(s.name))
      err(s.nameLoc, fmt::format("the loop variable '{}' hides a value of that name defined on line {}", s.name,
                                 defLines_.count(s.name) ? defLines_.at(s.name) : 0));
    loop_.emplace();
    loop_->var = s.name, loop_->line = s.loc.line, loop_->first = a, loop_->count = b - a;
    for (int64_t t = a; t < b; ++t) {
      loop_->step = t - a;
      consts_[s.name] = Folded::of(t);
      const int firstNode = model_.graph.size();
      for (const Stmt& st : s.body) {
        if (st.kind != Stmt::Assign)
          err(st.loc, "a loop body holds assignments only (NAME = ..., or NAME[:, t] = ... to stack a value over the steps)");
        if (st.name == s.name)
          err(st.nameLoc, fmt::format("'{}' is the loop variable of the loop on line {}: it cannot be assigned (each "
                                      "step's copy of the body sees its own {})", s.name, s.loc.line, s.name));
        statement(st);
      }
      for (int v = firstNode; v < model_.graph.size(); ++v) {
        model_.graph[v].step = static_cast<int>(t - a);
        model_.graph[v].loopLine = loop_->line;
      }
      for (const std::string& name : loop_->locals) values_.erase(name), defLines_.erase(name);
      loop_->locals.clear();
    }
    consts_.erase(s.name);
    // The stacked values: each step's value with the axis inserted, side by side.
    for (auto& [name, st] : loop_->stacks) {
      std::vector<int> parts;
      for (int piece : st.pieces) {
        Attrs at;
        at.shape = model_.graph[piece].shape;
        at.shape.insert(at.shape.begin() + st.axis, 1);
        parts.push_back(add("reshape", {piece}, at, st.loc));
        model_.graph[parts.back()].step = model_.graph[piece].step;  // printed with the piece's step
        model_.graph[parts.back()].loopLine = model_.graph[piece].loopLine;
      }
      Attrs at;
      at.ints = {st.axis};
      int id = add("concat", parts, at, st.loc);
      defineName(name, st.loc);
      model_.graph[id].name = name;
      values_[name] = id;
    }
    loop_.reset();
  }

  void loopAssign(const Stmt& s) {
    Loop& L = *loop_;
    currentDef_ = s.name;
    if (!s.targetIndex.empty()) return stackAssign(s);
    const bool carried = values_.count(s.name) && std::find(L.locals.begin(), L.locals.end(), s.name) == L.locals.end();
    if (carried && !L.carried.count(s.name)) L.carried[s.name] = values_.at(s.name);
    if (!carried) {
      defineName(s.name, s.nameLoc);
      L.locals.push_back(s.name);
    }
    int id = tensor(*s.value);
    Node* n = &model_.graph[id];
    if (!n->name.empty() || n->op->cls == OpDef::Source) {
      Attrs at;
      at.shape = n->shape;
      id = add("reshape", {id}, at, s.nameLoc);
      n = &model_.graph[id];
    }
    if (carried) {
      const Node& before = model_.graph[L.carried.at(s.name)];
      if (n->shape != before.shape || n->dtype != before.dtype)
        err(s.nameLoc, fmt::format("'{}' is carried from one step of the loop to the next, so it must keep its shape "
                                   "{}{} (line {}), but here it becomes {}{}", s.name, dtypeName(before.dtype),
                                   shapeStr(before.shape), before.loc.line, dtypeName(n->dtype), shapeStr(n->shape)));
    }
    n->name = fmt::format("{}@{}{}", s.name, L.var, L.first + L.step);
    values_[s.name] = id;
    for (const Annotation& a : s.annotations) annotate(id, a);
  }

  void stackAssign(const Stmt& s) {
    Loop& L = *loop_;
    int axis = -1;
    for (size_t i = 0; i < s.targetIndex.size(); ++i) {
      const Expr& it = *s.targetIndex[i];
      if (it.kind == Expr::Name && it.name == L.var && axis < 0) axis = static_cast<int>(i);
      else if (!(it.kind == Expr::Slice && it.args.empty()))
        err(it.loc, fmt::format("in `{}[...] = ...` every index is ':' except one, the loop variable '{}', which says "
                                "along which axis the steps are stacked", s.name, L.var));
    }
    if (axis < 0)
      err(s.nameLoc, fmt::format("`{}[...] = ...` needs the loop variable '{}' among the indices, e.g. {}[:, {}] = ...",
                                 s.name, L.var, s.name, L.var));
    auto found = L.stacks.find(s.name);
    if (found == L.stacks.end() && (values_.count(s.name) || defLines_.count(s.name)))
      err(s.nameLoc, fmt::format("'{}' is already defined (line {}): a stacked value is defined by the loop",
                                 s.name, defLines_.count(s.name) ? defLines_.at(s.name) : 0));
    Loop::Stack& st = L.stacks[s.name];
    if (static_cast<int64_t>(st.pieces.size()) != L.step)
      err(s.nameLoc, fmt::format("'{}' is stacked twice in one step of the loop", s.name));
    int id = tensor(*s.value);
    const Node& v = model_.graph[id];
    if (axis > static_cast<int>(v.shape.size()))
      err(s.targetIndex[axis]->loc, fmt::format("axis {} is out of range for stacking a value of shape {}", axis,
                                                shapeStr(v.shape)));
    if (!st.pieces.empty() && model_.graph[st.pieces[0]].shape != v.shape)
      err(s.nameLoc, fmt::format("the values stacked into '{}' must all have one shape: {} at the first step, {} here",
                                 s.name, shapeStr(model_.graph[st.pieces[0]].shape), shapeStr(v.shape)));
    st.axis = axis, st.loc = s.nameLoc;
    st.pieces.push_back(id);
  }

  const Module& m_;
  SourceRef src_;
  LowerOptions opts_;
  Model model_;
  std::map<std::string, Folded> consts_;
  std::map<std::string, int> values_;
  std::map<std::string, int> defLines_;
  std::map<std::string, int> laterDefs_;
  std::map<std::string, int> updated_;  // state -> line of its update
  std::string currentDef_;
  SrcLoc minimizeLoc_;
  SrcLoc batchLoc_;  // the train section's batch setting, when given
  SrcLoc generatorLoc_;  // the train section's generator setting, when given
  bool haveData_ = false;
  bool markedProbesOnly_ = false;     // train { probes = marked }
  std::vector<int> batchnormOutputs_;  // probed by default
};

}  // namespace

Model loadModel(const std::string& path, const LowerOptions& opts) {
  Module m = parseFile(path);
  applyOverrides(m, opts.overrides);
  Lowerer l(m, opts);
  return l.run();
}

}  // namespace netc
