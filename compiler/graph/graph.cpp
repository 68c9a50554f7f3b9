#include "graph/graph.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"
#include "support/sizes.h"

namespace netc {

int Graph::add(const OpDef* op, std::vector<int> inputs, Attrs attrs, SrcLoc loc, std::string name) {
  Node n;
  n.id = size();
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  n.loc = loc;
  n.name = std::move(name);
  nodes.push_back(std::move(n));
  return nodes.back().id;
}

std::vector<int> Graph::params() const {
  std::vector<int> out;
  for (const Node& n : nodes)
    if (isParam(n)) out.push_back(n.id);
  return out;
}

std::vector<int> Graph::states() const {
  std::vector<int> out;
  for (const Node& n : nodes)
    if (isState(n)) out.push_back(n.id);
  return out;
}

std::vector<int> Graph::persistent() const {
  std::vector<int> out;
  for (const Node& n : nodes)
    if (isParam(n) || isState(n)) out.push_back(n.id);
  return out;
}

std::vector<int> Graph::inputs() const {
  std::vector<int> out;
  for (const Node& n : nodes)
    if (isInput(n)) out.push_back(n.id);
  return out;
}

int Graph::find(std::string_view name) const {
  for (const Node& n : nodes)
    if (!name.empty() && n.name == name) return n.id;
  return -1;
}

std::string Graph::valueName(int id) const {
  const Node& n = nodes.at(id);
  return n.name.empty() ? fmt::format("%{}", id) : "%" + n.name;
}

std::string Graph::describe(int id) const {
  const Node& n = nodes.at(id);
  if (!n.name.empty()) return valueName(id);
  if (n.op && isConst(n) && n.inputs.empty()) return fmt::format("the constant {:g}", n.attrs.value);
  std::string text = source && !n.span.empty() ? source->spanText(n.span) : std::string();
  if (!text.empty()) {
    constexpr size_t kMax = 60;
    if (text.size() > kMax) text = text.substr(0, kMax - 3) + "...";
    return fmt::format("the result of '{}'", text);
  }
  std::string args;
  for (size_t i = 0; i < n.inputs.size(); ++i) args += (i ? ", " : "") + valueName(n.inputs[i]);
  return fmt::format("the result of {}({})", n.op ? n.op->name : "?", args);
}

void inferNode(Graph& g, int id) {
  Node& n = g[id];
  int arity = static_cast<int>(n.inputs.size());
  if (arity < n.op->minInputs || arity > n.op->maxInputs)
    fail(g.source, n.loc, fmt::format("'{}' takes {} argument{}, found {}", n.op->name,
                                      n.op->minInputs == n.op->maxInputs ? std::to_string(n.op->minInputs)
                                                                         : fmt::format("{} to {}", n.op->minInputs, n.op->maxInputs),
                                      n.op->maxInputs == 1 ? "" : "s", arity));
  n.op->infer(g, n);
}

void verify(const Graph& g) {
  auto bad = [&](const Node& n, const std::string& msg) {
    fail(g.source, n.loc, fmt::format("graph verifier: node {} ({}): {}", g.valueName(n.id), n.op ? n.op->name : "?", msg));
  };
  for (int i = 0; i < g.size(); ++i) {
    const Node& n = g[i];
    if (n.id != i) bad(n, fmt::format("id {} at position {}", n.id, i));
    if (!n.op) bad(n, "no op");
    int arity = static_cast<int>(n.inputs.size());
    if (arity < n.op->minInputs || arity > n.op->maxInputs) bad(n, fmt::format("{} inputs", arity));
    for (int in : n.inputs)
      if (in < 0 || in >= i) bad(n, fmt::format("input {} is not defined before its use (SSA order)", in));
    // The attributes its op declares (OpDef::attrs): their count, kinds and ranges, before the shape rule reads them.
    if (std::string why = attrProblem(g, n); !why.empty()) bad(n, why);
    for (int64_t d : n.shape)
      if (d == 0) bad(n, fmt::format("non-positive dimension in {}", shapeStr(n.shape)));
    if (std::count_if(n.shape.begin(), n.shape.end(), isBatchDim) > 1)
      bad(n, fmt::format("B in more than one dimension of {}", shapeStr(n.shape)));
    // Re-run the shape rule and compare: catches passes that rewired a node without updating it.
    if (n.op->cls != OpDef::Source) {
      Graph& mg = const_cast<Graph&>(g);  // infer writes only into the copy below
      Node copy = n;
      n.op->infer(mg, copy);
      if (copy.shape != n.shape || copy.dtype != n.dtype)
        bad(n, fmt::format("recorded type {}{} but the shape rule gives {}{}", dtypeName(n.dtype), shapeStr(n.shape),
                           dtypeName(copy.dtype), shapeStr(copy.shape)));
    }
    if (n.phase == Phase::Backward && (n.gradOf < 0 || n.gradOf >= g.size())) bad(n, "backward node without its forward node");
  }
  // One next value per state and parameter per step: two writers would race for the same buffer.
  std::map<int, int> writer;
  for (const Node& n : g.nodes) {
    if (!n.op->assigns) continue;
    auto [it, first] = writer.emplace(n.inputs[0], n.id);
    if (!first)
      fail(g.source, n.loc, fmt::format("{} is updated twice in one step (also on line {}): a state has one next "
                                        "value per step", g.valueName(n.inputs[0]), g[it->second].loc.line));
  }
  if (g.loss >= 0) {
    const Node& l = g[g.loss];
    if (!l.shape.empty()) bad(l, fmt::format("the minimized value must be a scalar, found shape {}", shapeStr(l.shape)));
  }
}

std::string printGraph(const Graph& g) {
  std::string out;
  Phase phase = Phase::Forward;
  out += fmt::format("graph {} {{\n", g.source ? g.source->path() : "");
  // An unrolled loop prints its first iteration; the others are the same nodes with t advanced, so each
  // group of them is one note (16 copies of a GRU step would be a wall nobody reads).
  // A node's loop step, from its scope path (a backward node's from its forward node): {iteration, loop line},
  // {-1, -1} outside every loop. In nested loops the outermost loop at a later step decides (a later layer's
  // whole inner loop is one note), and a node at step 0 of every loop is printed.
  auto stepOf = [&](const Node& n) {
    const ScopePath& path = n.scope.empty() && n.gradOf >= 0 ? g[n.gradOf].scope : n.scope;
    std::pair<int, int> at{-1, -1};
    for (const ScopeEntry& e : path.entries)
      if (e.kind == ScopeEntry::Kind::LoopStep) {
        if (e.index > 0) return std::pair{static_cast<int>(e.index), e.line};
        at = {0, e.line};
      }
    return at;
  };
  int skipped = 0, skipLine = -1, skipFirst = 0, skipLast = 0;
  auto flush = [&] {
    if (skipped)
      out += fmt::format("  // ... steps {}..{} of the loop on line {}: {} more nodes, the ones above repeated for each "
                         "later t\n", skipFirst, skipLast, skipLine, skipped);
    skipped = 0;
  };
  for (const Node& n : g.nodes) {
    auto [step, loopLine] = stepOf(n);
    if (step > 0) {
      if (skipped && loopLine != skipLine) flush();
      if (!skipped) skipFirst = step, skipLine = loopLine;
      skipLast = step;
      ++skipped;
      continue;
    }
    flush();
    if (n.phase != phase) {
      phase = n.phase;
      out += phase == Phase::Forward    ? "  // forward\n"
             : phase == Phase::Backward ? "  // backward\n"
             : phase == Phase::Update   ? "  // update\n"
                                        : "  // probes\n";
    }
    std::string lhs = fmt::format("{} : {}{}", g.valueName(n.id), dtypeName(n.dtype), shapeStr(n.shape));
    std::string rhs = n.op->name;
    if (n.inputs.size() > 6)  // a loop's stacked steps: the first, the last and how many
      rhs += fmt::format(" {}, {}, ..., {} ({} values)", g.valueName(n.inputs[0]), g.valueName(n.inputs[1]),
                         g.valueName(n.inputs.back()), n.inputs.size());
    else
      for (size_t i = 0; i < n.inputs.size(); ++i) rhs += (i ? ", " : " ") + g.valueName(n.inputs[i]);
    rhs += attrText(n);
    std::string note;
    if (n.loc.line > 0) note = fmt::format("line {}", n.loc.line);
    if (n.phase == Phase::Backward) note += fmt::format("{}grad of {}", note.empty() ? "" : ", ", g.valueName(n.gradOf));
    if (n.probe) note += note.empty() ? "probe" : ", probe";
    if (n.op->assigns) note += fmt::format("{}next {}", note.empty() ? "" : ", ", g.valueName(n.inputs[0]));
    if (step == 0) note += fmt::format("{}step 0", note.empty() ? "" : ", ");
    out += fmt::format("  {:<28} = {:<40}{}\n", lhs, rhs, note.empty() ? "" : "  # " + note);
  }
  flush();
  if (g.loss >= 0) out += fmt::format("  minimize {}\n", g.valueName(g.loss));
  out += "}\n";
  return out;
}

namespace {

// Elements per unit of B of a shape with B in it (0 for one without).
int64_t perBatchRow(const Shape& s) {
  return hasBatch(s) ? perBatchNumel(s) : 0;
}

// The node whose values grow fastest with B: the one that first runs out of room (a named one among equals,
// so the message can say 'h').
int widestBatchNode(const Graph& g, int64_t& widest) {
  int at = -1;
  widest = 0;
  for (const Node& n : g.nodes)
    for (const Shape* s : {&n.shape, &n.attrs.shape})
      if (int64_t row = perBatchRow(*s); row > widest || (row == widest && row > 0 && g[at].name.empty() && !n.name.empty()))
        widest = row, at = n.id;
  return at;
}

}  // namespace

int64_t maxBatch(const Graph& g) {
  int64_t widest = 0;
  widestBatchNode(g, widest);
  return widest > 0 ? kMaxElements / widest : kMaxElements;
}

std::string batchProblem(const Graph& g, int64_t batch) {
  if (batch < 1) return fmt::format("the batch size must be at least 1, found {}", batch);
  int64_t widest = 0;
  const int at = widestBatchNode(g, widest);
  if (at < 0 || batch <= kMaxElements / widest) return "";
  return fmt::format("batch size {} is too large: {} ({}) would hold {} x {} elements, more than the {} one value "
                     "may hold; the largest batch size this model allows is {}",
                     batch, g.describe(at), shapeStr(g[at].shape), batch, widest, kMaxElements, maxBatch(g));
}

}  // namespace netc
