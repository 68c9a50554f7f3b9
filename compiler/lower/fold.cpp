// Lowering, constant expressions: folding (in doubles, with the exact whole number alongside), the whole-number
// settings read from them, and the dimensions and shapes of declarations.
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

#include "lower/lowerer.h"
#include "support/sizes.h"

namespace netc {

// A constant expression's value. Arithmetic is in doubles, as everything that uses a constant computes; the
// exact whole number rides along where there is one (Folded), for whole-number settings.
Folded Lowerer::fold(const Expr& e) {
  switch (e.kind) {
    case Expr::Number: return {e.number, e.whole};
    case Expr::Name: {
      if (const Folded* c = scope_->findConst(e.name)) return *c;
      if (e.name == "B")
        err(e.loc, "'B' is the batch size, known only at run time: it may stand in a dimension (B, B*4) but not "
                   "in other arithmetic");
      if (scope_->findValue(e.name))
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
bool Lowerer::isConstExpr(const Expr& e) const {
  switch (e.kind) {
    case Expr::Number: return true;
    case Expr::Name: return scope_->findConst(e.name) != nullptr;
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
Whole Lowerer::constWhole(const Expr& e, std::string_view what, Whole min, Whole max) {
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

int64_t Lowerer::constInt(const Expr& e, std::string_view what, int64_t min, int64_t max) {
  return static_cast<int64_t>(constWhole(e, what, min, max));
}

uint64_t Lowerer::constSeed(const Expr& e, std::string_view what) {
  return static_cast<uint64_t>(constWhole(e, what, 0, std::numeric_limits<uint64_t>::max()));
}

// Whether e mentions the batch dimension B (outside a nested call, which fold() refuses anyway).
static bool mentionsBatch(const Expr& e) {
  if (e.kind == Expr::Name) return e.name == "B";
  if (e.kind != Expr::Unary && e.kind != Expr::Binary) return false;
  for (const auto& a : e.args)
    if (mentionsBatch(*a)) return true;
  return false;
}

// k of a dimension written as a product of B and whole constants (`B`, `B*4`, `4*B`, `B*T*2`).
int64_t Lowerer::batchMultiple(const Expr& e) {
  if (e.kind == Expr::Name && e.name == "B") return 1;
  if (e.kind == Expr::Binary && e.op == Tok::Star) {
    const bool left = mentionsBatch(*e.args[0]), right = mentionsBatch(*e.args[1]);
    if (left && right) err(e.loc, "'B' may appear only once in a dimension");
    const Expr& withB = left ? *e.args[0] : *e.args[1];
    const Expr& factor = left ? *e.args[1] : *e.args[0];
    const int64_t k = constInt(factor, "a factor of the batch dimension B", 1);
    const int64_t inner = batchMultiple(withB);
    int64_t n = 0;
    if (__builtin_mul_overflow(k, inner, &n) || n > kMaxElements)
      err(e.loc, fmt::format("the batch multiple {} * {} is too large", k, inner));
    return n;
  }
  err(e.loc, "a dimension with 'B' is B times whole constants (B, B*4, 4*B, B*T); 'B' cannot be added to, "
             "divided or negated");
}

int64_t Lowerer::dim(const Expr& e, bool allowBatch) {
  if (mentionsBatch(e)) {
    if (!allowBatch) err(e.loc, "the batch dimension 'B' is not allowed here: parameter shapes are fixed");
    return batchTimes(batchMultiple(e));
  }
  return constInt(e, "a dimension", 1);
}

Shape Lowerer::shape(const std::vector<ExprPtr>& dims, bool allowBatch, bool allowMultiple) {
  Shape s;
  int batches = 0;
  for (auto& d : dims) {
    s.push_back(dim(*d, allowBatch));
    if (isBatchDim(s.back()) && ++batches > 1) err(d->loc, "'B' may appear only once in a shape");
    if (s.back() < kBatch && !allowMultiple)
      err(d->loc, fmt::format("an input's batch dimension is B itself, found {}: declare it with B and reshape it",
                              dimStr(s.back())));
    checkSize(s, d->loc);
  }
  return s;
}

// Every value fits in 2^31 - 1 elements (per batch row when it has B), so no size computation overflows.
void Lowerer::checkSize(const Shape& s, SrcLoc loc) {
  int64_t n = 1;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, isBatchDim(d) ? batchFactor(d) : d, &n) || n > kMaxElements)
      err(loc, fmt::format("shape {} is too large: netc supports at most {} elements per value{}", shapeStr(s),
                           kMaxElements, hasBatch(s) ? " (per batch row)" : ""));
}

}  // namespace netc
