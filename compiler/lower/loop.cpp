// Lowering, sequences: the unrolled `for` loop, its carried values and the values it stacks over the steps.
#include <algorithm>
#include <fmt/format.h>

#include "lower/lowerer.h"
#include "ops/op.h"

namespace netc {

// `for t in a..b { body }`: the body lowered once per t (a constant in each copy). A name assigned in the body
// that was defined before the loop is carried: each step sees the previous step's value, and after the loop
// the last one; its shape must stay as it was. `hs[:, t] = h` stacks h along that axis over the steps, hs
// being defined after the loop. Other names are the step's own: each step's body is lowered in a child scope of
// its own (lower/scope.h), which holds the loop variable and the step's locals and is dropped at the step's end;
// every node a step makes carries that scope's path (graph/scope_path.h).
//
// Loops nest: an inner loop's body is lowered once per step of the outer one, in a scope below the outer step's,
// so each level carries and stacks by these rules on its own (a name carried by the inner loop and assigned
// before the outer one is carried by both; a value the inner loop stacks is the outer step's own).
void Lowerer::forLoop(const Stmt& s) {
  int64_t a = constInt(*s.value, "the start of the range", 0, kMaxContext);
  int64_t b = constInt(*s.rangeEnd, "the end of the range", 0, kMaxContext);
  if (b <= a) err(s.rangeEnd->loc, fmt::format("the range {}..{} is empty: the loop would not run", a, b));
  // Nested loops unroll the product of their ranges: bounded, so a deep nest is an error, not the machine's memory.
  constexpr int64_t kMaxUnrolledSteps = 1 << 16;
  int64_t unrolled = b - a;
  for (const Loop& outer : loops_)
    if ((unrolled *= outer.count) > kMaxUnrolledSteps)
      err(s.loc, fmt::format("this loop and the loops around it would unroll more than {} copies of its body: "
                             "nest fewer or shorter loops", kMaxUnrolledSteps));
  if (scope_->findValue(s.name) || scope_->findConst(s.name)) {
    const int* line = scope_->findDefLine(s.name);
    err(s.nameLoc, fmt::format("the loop variable '{}' hides a value of that name defined on line {}", s.name,
                               line ? *line : 0));
  }
  Loop& loop = loops_.emplace_back();
  loop.var = s.name, loop.line = s.loc.line, loop.first = a, loop.count = b - a;
  for (int64_t t = a; t < b; ++t) {
    loop.step = t - a;
    Scope* outer = scope_;
    Scope step(outer, ScopeEntry{ScopeEntry::Kind::LoopStep, s.name, t - a, a, s.loc.line});
    step.bindConst(s.name, Folded::of(t));
    step.setDefLine(s.name, s.loc.line);  // a nested loop reusing the name says where this one is
    scope_ = &step;
    const int firstNode = model_.graph.size();
    for (const Stmt& st : s.body) {
      if (st.kind != Stmt::Assign && st.kind != Stmt::For)
        err(st.loc, "a loop body holds assignments and loops only (NAME = ..., or NAME[:, t] = ... to stack a value "
                    "over the steps)");
      if (st.kind == Stmt::Assign && st.name == s.name)
        err(st.nameLoc, fmt::format("'{}' is the loop variable of the loop on line {}: it cannot be assigned (each "
                                    "step's copy of the body sees its own {})", s.name, s.loc.line, s.name));
      statement(st);
    }
    // Every node the step made, batchnorm's and other helpers' included (nodes of a deeper scope keep theirs).
    const ScopePath path = step.path();
    for (int v = firstNode; v < model_.graph.size(); ++v)
      if (model_.graph[v].scope.empty()) model_.graph[v].scope = path;
    scope_ = outer;
  }
  // The stacked values: each step's value with the axis inserted, side by side.
  for (auto& [name, st] : loop.stacks) {
    std::vector<int> parts;
    for (int piece : st.pieces) {
      Attrs at;
      at.shape = model_.graph[piece].shape;
      at.shape.insert(at.shape.begin() + st.axis, 1);
      parts.push_back(add("reshape", {piece}, at, st.loc));
      model_.graph[parts.back()].scope = model_.graph[piece].scope;  // printed with the piece's step
    }
    Attrs at;
    at.ints = {st.axis};
    int id = add("concat", parts, at, st.loc);
    defineName(name, st.loc);
    model_.graph[id].name = qualifiedName(name, scope_->path());
    scope_->bindValue(name, id);
  }
  loops_.pop_back();
}

void Lowerer::loopAssign(const Stmt& s) {
  Loop& L = loops_.back();
  currentDef_ = s.name;
  if (!s.targetIndex.empty()) return stackAssign(s);
  // Carried: bound in a scope outside this step's (a name bound in the step itself is defined twice).
  Scope* owner = scope_->valueOwner(s.name);
  const bool carried = owner && owner != scope_;
  if (carried && !L.carried.count(s.name)) L.carried[s.name] = *scope_->findValue(s.name);
  if (!carried) {
    defineName(s.name, s.nameLoc);
    owner = scope_;
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
  n->name = qualifiedName(s.name, scope_->path());
  owner->bindValue(s.name, id);
  for (const Annotation& a : s.annotations) annotate(id, a);
}

void Lowerer::stackAssign(const Stmt& s) {
  Loop& L = loops_.back();
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
  const int* defLine = scope_->findDefLine(s.name);
  if (found == L.stacks.end() && (scope_->findValue(s.name) || defLine))
    err(s.nameLoc, fmt::format("'{}' is already defined (line {}): a stacked value is defined by the loop",
                               s.name, defLine ? *defLine : 0));
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

}  // namespace netc
