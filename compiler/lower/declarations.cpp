// Lowering, declarations: `param` and `state` with their initialisers, `update` of a state, and @probe.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "lower/lowerer.h"
#include "ops/op.h"

namespace netc {

// `param` and `state`: a float tensor of constant shape with an initialiser.
void Lowerer::declareTensor(const Stmt& s, std::string_view op, bool trainable) {
  defineName(s.name, s.nameLoc);
  Shape sh = shape(s.dims, false);
  const std::string name = persistentName(s.name);  // in a block instance, layers.0.W: the state_dict's name
  if (auto path = instancePaths_.find(name); path != instancePaths_.end())
    err(s.nameLoc, fmt::format("'{}' is also the path of the block use on line {}: a tensor and an instance cannot "
                               "share a name", name, path->second));
  int id = model_.graph.add(&getOp(op), {}, {}, s.nameLoc, name);
  Node& n = model_.graph[id];
  n.dtype = DType::F32;
  n.shape = sh;
  n.init = initSpec(*s.value);
  n.init.global = s.global;
  n.trainable = trainable;
  scope_->bindValue(s.name, id);
}

// `update S = expr`: S must be a declared state, updated once. The nodes made for the expression belong to
// the update phase: they run after the forward pass and receive no gradient.
void Lowerer::update(const Stmt& s) {
  const int* found = scope_->findValue(s.name);
  if (!found) {
    Expr e;
    e.kind = Expr::Name, e.name = s.name, e.loc = s.nameLoc;
    currentDef_.clear();
    unknownName(e);
  }
  const Node& target = model_.graph[*found];
  if (isParam(target))
    err(s.nameLoc, fmt::format("'{}' is a parameter: the optimizer updates parameters from their gradients; declare "
                               "values the step changes itself with `state {} : [...] = zeros`", s.name, s.name));
  if (isInput(target)) err(s.nameLoc, fmt::format("'{}' is an input, fed by the driver: only a state can be updated", s.name));
  if (!isState(target))
    err(s.nameLoc, fmt::format("'{}' is a computed value: only a state (declared with `state {} : [...] = init`) can "
                               "be updated", s.name, s.name));
  auto prev = updated_.find(*found);
  if (prev != updated_.end())
    err(s.nameLoc, fmt::format("state '{}' is updated twice: first on line {}; a state has one next value per step",
                               s.name, prev->second));
  updated_[*found] = s.nameLoc.line;
  const std::string next = target.name + ".next";
  const int first = model_.graph.size();
  int value = tensor(*s.value);
  int id = add("assign", {*found, value}, {}, s.nameLoc, s.value->span);
  model_.graph[id].name = next;
  for (int v = first; v < model_.graph.size(); ++v) model_.graph[v].phase = Phase::Update;
}

void Lowerer::annotate(int id, const Annotation& a) {
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

// An initialiser is an expression of draws (randn, normal, uniform, zeros, ones) and constants with + - * /,
// evaluated as Python evaluates it (initProgram). The common form, one distribution times constants, is also
// summarised as a distribution and a scale (initScale), which netc's generator and the statistics use.
InitSpec Lowerer::initSpec(const Expr& e) {
  InitSpec spec;
  int draws = 0;
  bool plusMinus = false;
  if (!initProgram(e, spec.program, draws, plusMinus))
    err(e.loc, "expected an initialiser: randn, normal(mean, std), uniform(a, b), zeros or ones, with constants, "
               "e.g. randn * 0.01");
  const bool normal = std::any_of(spec.program.begin(), spec.program.end(),
                                  [](const InitOp& op) { return op.kind == InitOp::Normal; });
  const bool drawTimesConstants = draws == 1 && !plusMinus && !normal;
  if (drawTimesConstants) {
    bool found = false;
    spec.scale = initScale(e, spec, found);
  } else {
    spec.kind = InitSpec::Expression;
    spec.scale = std::nan("");
  }
  spec.text = exprText(e);
  spec.loc = e.loc;
  return spec;
}

// Appends e's operations to `program` in evaluation order; returns whether e is a tensor (holds a draw), false
// for a constant, which is folded here to one number as Python folds `(5/3)` before multiplying. `draws`
// counts the distributions, `plusMinus` records a binary + or - (the summary covers products only).
bool Lowerer::initProgram(const Expr& e, std::vector<InitOp>& program, int& draws, bool& plusMinus) {
  if (isConstExpr(e)) {
    program.push_back({InitOp::Constant, constEval(e)});
    return false;
  }
  if (e.kind == Expr::Name || e.kind == Expr::Call) {
    initialiserDraw(e);
    InitOp op;
    if (e.name == "randn") op.kind = InitOp::Randn;
    else if (e.name == "zeros") op.kind = InitOp::Zeros;
    else if (e.name == "ones") op.kind = InitOp::Ones;
    else {
      op.a = constEval(*e.args[0]);
      op.b = constEval(*e.args[1]);
      if (e.name == "uniform") {
        op.kind = InitOp::Uniform;
        if (!(op.a < op.b)) err(e.loc, fmt::format("uniform(a, b) needs a < b, found a = {}, b = {}", op.a, op.b));
      } else {
        op.kind = InitOp::Normal;
        if (!(op.b >= 0)) err(e.args[1]->loc, fmt::format("normal(mean, std) needs std >= 0, found {}", op.b));
      }
    }
    program.push_back(op);
    ++draws;
    return true;
  }
  if (e.kind == Expr::Binary && (e.op == Tok::Star || e.op == Tok::Slash || e.op == Tok::Plus || e.op == Tok::Minus)) {
    // PyTorch divides a number by a tensor as reciprocal(t) * c, not c / t: only constants divide.
    if (e.op == Tok::Slash && !isConstExpr(*e.args[1]))
      err(e.args[1]->loc, "an initialiser can only be divided by a constant");
    initProgram(*e.args[0], program, draws, plusMinus);
    initProgram(*e.args[1], program, draws, plusMinus);
    if (e.op == Tok::Slash && program.back().a == 0) err(e.loc, "division by zero in the initialiser");
    plusMinus = plusMinus || e.op == Tok::Plus || e.op == Tok::Minus;
    program.push_back({e.op == Tok::Star ? InitOp::Mul : e.op == Tok::Slash ? InitOp::Div
                       : e.op == Tok::Plus ? InitOp::Add : InitOp::Sub});
    return true;
  }
  if (e.kind == Expr::Unary) {
    initProgram(*e.args[0], program, draws, plusMinus);
    if (e.op == Tok::Minus) program.push_back({InitOp::Neg});
    return true;
  }
  err(e.loc, "expected an initialiser: draws (randn, normal(mean, std), uniform(a, b), zeros, ones) and constants "
             "with + - * /, e.g. randn * 0.1 + 1");
}

// The distribution a name or call in an initialiser stands for, or a located error saying what is wrong.
const Builtin& Lowerer::initialiserDraw(const Expr& e) {
  const std::vector<std::string> dists = builtinNames(initialisers());
  const Builtin* dist = findBuiltin(initialisers(), e.name);
  if (!dist) {
    // A constant function of something not constant: let constant folding say what is wrong with it.
    if (e.kind == Expr::Call && findBuiltin(constantFunctions(), e.name)) constEval(e);
    // A name that is neither a distribution nor a constant: a misspelt constant gets "unknown identifier".
    if (e.kind == Expr::Name) {
      if (scope_->findValue(e.name))
        err(e.loc, fmt::format("'{}' is a tensor, but an initialiser is made of draws and constants, "
                               "e.g. randn * 0.01", e.name));
      std::vector<std::string> names = dists;
      for (auto& n : knownNames()) names.push_back(n);
      std::string near = nearest(e.name, names);
      if (!near.empty() && std::find(dists.begin(), dists.end(), near) == dists.end()) unknownName(e);
    }
    err(e.loc, fmt::format("unknown initialiser '{}': expected randn, normal(mean, std), uniform(a, b), zeros or "
                           "ones{}; `netc help ops` lists them", e.name, didYouMean(e.name, dists)));
  }
  checkInitialiserForm(e, *dist);
  return *dist;
}

// The summary of a distribution times constants: returns the constant factor, records the distribution in
// spec and each factor in spec.steps (initProgram has checked the form).
double Lowerer::initScale(const Expr& e, InitSpec& spec, bool& found) {
  if (isConstExpr(e)) return constEval(e);
  if (e.kind == Expr::Name || e.kind == Expr::Call) {
    if (e.name == "randn") spec.kind = InitSpec::Randn;
    else if (e.name == "zeros") spec.kind = InitSpec::Zeros;
    else if (e.name == "ones") spec.kind = InitSpec::Ones;
    else {
      spec.kind = InitSpec::Uniform;
      spec.a = constEval(*e.args[0]);
      spec.b = constEval(*e.args[1]);
    }
    found = true;
    return 1.0;
  }
  if (e.kind == Expr::Binary) {
    // A constant subtree returned above, so the distribution is on exactly one side: its own steps come
    // first, then this node's factor (the constant side), as Python evaluates `c * (randn * a)`.
    const bool before = found;
    double l = initScale(*e.args[0], spec, found);
    const bool inLeft = found && !before;
    double r = initScale(*e.args[1], spec, found);
    spec.steps.push_back({e.op == Tok::Slash, inLeft ? r : l});
    return e.op == Tok::Star ? l * r : l / r;
  }
  // Unary
  double v = initScale(*e.args[0], spec, found);
  if (e.op == Tok::Minus) spec.steps.push_back({false, -1});
  return (e.op == Tok::Minus ? -1 : 1) * v;
}

// A distribution written in the wrong form: randn(5/3) is randn scaled, uniform needs its bounds.
void Lowerer::checkInitialiserForm(const Expr& e, const Builtin& dist) {
  const bool called = e.kind == Expr::Call;
  if (dist.arity == 0 && called) {
    std::string fix = e.args.empty() ? dist.name : e.args.size() == 1
        ? fmt::format("{} * {}", dist.name, e.args[0]->kind == Expr::Binary ? "(" + exprText(*e.args[0]) + ")"
                                                                            : exprText(*e.args[0]))
        : fmt::format("{} * SCALE", dist.name);
    err(e.loc, fmt::format("'{}' takes no arguments; write {}", dist.name, fix));
  }
  if (dist.arity > 0 && (!called || e.args.size() != static_cast<size_t>(dist.arity)))
    err(e.loc, fmt::format("'{}' takes {} arguments ({}){}, e.g. {}", dist.name, dist.arity, dist.args,
                           called ? fmt::format(", found {}", e.args.size()) : "", dist.example));
}

std::string Lowerer::exprText(const Expr& e) {
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

}  // namespace netc
