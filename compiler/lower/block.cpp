// Lowering, blocks: `block NAME(arguments) { ... return EXPR }` is defined once at the top level of the file;
// each use, `NAME(a, b, ...) as PATH`, lowers a fresh copy of the body in a scope of its own (lower/scope.h):
// the arguments bound there (a constant argument as a constant, usable in shapes and initialisers; any other as
// a value), its own params and states created anew and named PATH.NAME, as PyTorch's state_dict names a
// submodule's tensors, its local values named PATH/NAME. Every node the use makes carries the caller's scope
// path plus a Block entry {PATH, which use, the use's line, NAME}, so the statistics and the report group by
// instance without reading names (graph/scope_path.h).
#include <algorithm>
#include <utility>
#include <fmt/format.h>

#include "lower/lowerer.h"
#include "ops/op.h"

namespace netc {

namespace {

// The names a block's body assigns or declares, with their lines: a use before the definition inside the body
// says where the definition is, as at the top level.
void namesDefinedIn(const std::vector<Stmt>& body, std::map<std::string, int>& out) {
  for (const Stmt& s : body) {
    if (s.kind == Stmt::Assign || s.kind == Stmt::Param || s.kind == Stmt::State) out.emplace(s.name, s.nameLoc.line);
    if (s.kind == Stmt::For) namesDefinedIn(s.body, out);
  }
}

}  // namespace

std::vector<std::string> Lowerer::blockNames() const {
  std::vector<std::string> out;
  for (auto& [name, def] : blocks_) out.push_back(name);
  return out;
}

// Every block of the file, before any statement is lowered (a block may be used above its definition). A body
// ends with its one `return`.
void Lowerer::collectBlocks() {
  const std::vector<std::string> ops = publicOps();
  for (const Stmt& s : m_.stmts) {
    if (s.kind != Stmt::Block) continue;
    if (auto prev = blocks_.find(s.name); prev != blocks_.end())
      err(s.nameLoc, fmt::format("block '{}' is defined twice: first on line {}", s.name, prev->second->nameLoc.line));
    if (std::find(ops.begin(), ops.end(), s.name) != ops.end() || findOp(s.name))
      err(s.nameLoc, fmt::format("'{}' is an op: a block needs a name of its own", s.name));
    for (size_t i = 0; i < s.arguments.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (s.arguments[i].first == s.arguments[j].first)
          err(s.arguments[i].second, fmt::format("block '{}' has two arguments named '{}'", s.name, s.arguments[i].first));
    for (size_t i = 0; i + 1 < s.body.size(); ++i)
      if (s.body[i].kind == Stmt::Return)
        err(s.body[i + 1].loc, fmt::format("a statement after the `return` of block '{}' (line {}): `return` is the "
                                           "last statement of a block", s.name, s.body[i].loc.line));
    if (s.body.empty() || s.body.back().kind != Stmt::Return)
      err(s.endLoc, fmt::format("block '{}' (line {}) ends without `return`: its last statement must be `return EXPR`, "
                                "the value each use of the block gives", s.name, s.loc.line));
    blocks_[s.name] = &s;
  }
}

// In a block instance, a param or state `W` is `PATH.W`; at the top level of the file its own name.
std::string Lowerer::persistentName(const std::string& local) const {
  const Scope* block = scope_->block();
  return block ? block->entry().name + "." + local : local;
}

// The instance's whole path: the enclosing instance's path, '.', then the parts after `as`, each a name, a
// whole number, or a parenthesised constant expression (folded in the caller's scope: a loop variable there).
std::string Lowerer::instancePath(const Expr& e, const Stmt& def) {
  if (e.instancePath.empty())
    err(e.loc, fmt::format("a use of block '{}' needs `as PATH` after it, the name of this instance (its parameters "
                           "are PATH.NAME, as in PyTorch's state_dict), e.g. `{}(...) as layers.0`", def.name, def.name));
  std::string path = activeBlocks_.empty() ? "" : activeBlocks_.back().path + ".";
  for (size_t i = 0; i < e.instancePath.size(); ++i) {
    const PathPart& part = e.instancePath[i];
    if (i) path += ".";
    if (part.computed) path += std::to_string(constInt(*part.computed, "a part of an instance's path", 0));
    else path += part.text;
  }
  return path;
}

// Two uses with one path would give their tensors one name; a path starting with a name of the file's top
// level (a value, a parameter, a constant) would put that name in the weights file twice over.
void Lowerer::checkPathClash(const std::string& path, const Expr& e) {
  const SrcLoc at{e.pathSpan.line, e.pathSpan.col, std::max(1, e.pathSpan.endCol - e.pathSpan.col)};
  if (auto prev = instancePaths_.find(path); prev != instancePaths_.end())
    err(at, fmt::format("the path '{}' is already the path of the block use on line {}: every use needs a path of its "
                        "own (in a loop, put the loop variable in it: `as layers.(i)`)", path, prev->second));
  for (int p : model_.graph.persistent())
    if (model_.graph[p].name == path)
      err(at, fmt::format("the path '{}' is the name of the {} declared on line {}: a tensor and an instance cannot "
                          "share a name", path, isState(model_.graph[p]) ? "state" : "parameter",
                          model_.graph[p].loc.line));
  const std::string root = path.substr(0, path.find('.'));
  if (activeBlocks_.empty())
    if (const int* line = fileScope_.findDefLine(root))
      err(at, fmt::format("the path '{}' starts with '{}', a name the file defines on line {}: an instance's path must "
                          "not start with one of the file's names", path, root, *line));
  instancePaths_[path] = e.loc.line;
  pathRoots_.emplace(root, e.loc.line);
}

int Lowerer::blockUse(const Expr& e, const Stmt& def) {
  for (const BlockUse& active : activeBlocks_)
    if (active.def == &def)
      err(e.loc, fmt::format("block '{}' uses itself: this use is inside its own body (the use on line {} as {}); a "
                             "block cannot be used recursively", def.name, active.loc.line, active.path));
  // The arguments: positional first, then by name (`Layer(h, fan_in=H, fan_out=H)`).
  const size_t n = def.arguments.size();
  std::vector<const Expr*> given(n, nullptr);
  size_t positional = 0;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const std::string& kw = e.keywords[i];
    size_t slot = positional;
    if (kw.empty()) {
      if (positional >= n)
        err(e.args[i]->loc, fmt::format("block '{}' takes {} argument{} ({}), found {}; it is defined on line {}", def.name,
                                        n, n == 1 ? "" : "s", [&] {
                                          std::string names;
                                          for (auto& [a, l] : def.arguments) names += (names.empty() ? "" : ", ") + a;
                                          return names;
                                        }(), e.args.size(), def.loc.line));
      ++positional;
    } else {
      auto it = std::find_if(def.arguments.begin(), def.arguments.end(), [&](auto& a) { return a.first == kw; });
      if (it == def.arguments.end()) {
        std::vector<std::string> names;
        for (auto& [a, l] : def.arguments) names.push_back(a);
        err(e.keywordLocs[i], fmt::format("block '{}' (line {}) has no argument '{}'{}", def.name, def.loc.line, kw,
                                          didYouMean(kw, names)));
      }
      slot = static_cast<size_t>(it - def.arguments.begin());
      if (given[slot]) err(e.keywordLocs[i], fmt::format("the argument '{}' of block '{}' is given twice", kw, def.name));
    }
    given[slot] = e.args[i].get();
  }
  for (size_t k = 0; k < n; ++k)
    if (!given[k])
      err(e.loc, fmt::format("block '{}' takes {} argument{}, found {}: '{}' is missing; it is defined on line {}",
                             def.name, n, n == 1 ? "" : "s", e.args.size(), def.arguments[k].first, def.loc.line));
  const std::string path = instancePath(e, def);
  checkPathClash(path, e);

  // The instance's scope: it sees the file's constants, its arguments and its own names.
  Scope instance(&fileScope_, scope_->path(),
                 ScopeEntry{ScopeEntry::Kind::Block, path, useCounts_[def.name]++, 0, e.loc.line, def.name});
  for (size_t k = 0; k < n; ++k) {
    const Expr& a = *given[k];
    if (isConstExpr(a)) instance.bindConst(def.arguments[k].first, fold(a));
    else instance.bindValue(def.arguments[k].first, tensor(a));
    instance.setDefLine(def.arguments[k].first, def.arguments[k].second.line);
  }

  // The body, with none of the caller's loops, names or current definition.
  Scope* caller = scope_;
  std::deque<Loop> callerLoops = std::exchange(loops_, {});
  std::map<std::string, int> bodyNames;
  namesDefinedIn(def.body, bodyNames);
  std::map<std::string, int> callerLaterDefs = std::exchange(laterDefs_, bodyNames);
  const std::string callerDef = currentDef_;
  activeBlocks_.push_back({&def, e.loc, path});
  scope_ = &instance;
  const int firstNode = model_.graph.size();
  int result = -1;
  try {
    for (const Stmt& st : def.body) {
      if (st.kind == Stmt::Return) {
        currentDef_.clear();
        result = tensor(*st.value);
        break;
      }
      if (st.kind != Stmt::Assign && st.kind != Stmt::For && st.kind != Stmt::Param && st.kind != Stmt::State &&
          st.kind != Stmt::Update && st.kind != Stmt::Const)
        err(st.loc, fmt::format("a block's body holds const, param, state, update, loops, assignments and its `return`; "
                                "this statement belongs at the top level of the file"));
      statement(st);
    }
  } catch (const Error& ex) {
    // An error inside the body (a shape that does not fit, say) names this use too: which use brought it there.
    throw Error(std::string(ex.what()) +
                formatDiag(src_.get(), e.loc, fmt::format("in the use of block '{}' (line {}) as {}", def.name,
                                                          def.loc.line, path), "note"));
  }
  const ScopePath instancePathEntries = instance.path();
  for (int v = firstNode; v < model_.graph.size(); ++v)
    if (model_.graph[v].scope.empty()) model_.graph[v].scope = instancePathEntries;
  activeBlocks_.pop_back();
  scope_ = caller;
  // What the caller names is its own copy (a view): the value the block made stays the instance's (its default
  // probe `layers.0/tanh@12`, grouped by instance), and the caller's name is in the caller's scope.
  if (result >= firstNode) {
    Attrs at;
    at.shape = model_.graph[result].shape;
    result = add("reshape", {result}, at, e.loc, e.span);
  }
  loops_ = std::move(callerLoops);
  laterDefs_ = std::move(callerLaterDefs);
  currentDef_ = callerDef;
  return result;
}

}  // namespace netc
