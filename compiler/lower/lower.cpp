// Lowering: AST -> Model, one statement at a time in the order written. Constants are folded, shapes inferred
// node by node as the graph is built, and the result is verified before anyone else sees it. This file holds
// the statement dispatch and the names; lower/lowerer.h lists the files that lower each part.
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "lang/parser.h"
#include "lower/lowerer.h"
#include "lower/overrides.h"
#include "ops/op.h"

namespace netc {

Model Lowerer::run() {
  model_.graph.source = src_;
  model_.name = std::filesystem::path(src_->path()).stem().string();
  // Names assigned anywhere, so a use before the definition says where the definition is.
  for (const Stmt& s : m_.stmts)
    if (s.kind == Stmt::Assign || s.kind == Stmt::Param || s.kind == Stmt::State || s.kind == Stmt::Input)
      laterDefs_.emplace(s.name, s.nameLoc.line);
  collectBlocks();
  for (const Stmt& s : m_.stmts) statement(s);
  finish();
  return std::move(model_);
}

// Most recently defined first, so among equally close names the suggestion is the nearest definition
// (W3 -> W2 rather than W1).
std::vector<std::string> Lowerer::knownNames() const {
  std::vector<std::pair<int, std::string>> byLine = scope_->visibleNames();
  std::sort(byLine.begin(), byLine.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::vector<std::string> out;
  for (auto& [line, k] : byLine) out.push_back(k);
  return out;
}

[[noreturn]] void Lowerer::unknownName(const Expr& e) {
  auto later = laterDefs_.find(e.name);
  if (later != laterDefs_.end() && currentDef_ == e.name)
    err(e.loc, fmt::format("'{}' is used in its own definition: a value cannot depend on itself (cycle)", e.name));
  if (later != laterDefs_.end())
    err(e.loc, fmt::format("'{}' is used before its definition on line {}: define values before using them "
                           "(so the graph can have no cycle)", e.name, later->second));
  if (scope_->block() && fileScope_.findValue(e.name))
    err(e.loc, fmt::format("unknown identifier '{}': a block sees its arguments, its own names and the file's constants, "
                           "not the file's values; pass '{}' as an argument", e.name, e.name));
  if (e.name == "V" || e.name == "T")
    err(e.loc, fmt::format("'{}' is defined by the data section, which must come before its first use", e.name));
  err(e.loc, fmt::format("unknown identifier '{}'{}", e.name, didYouMean(e.name, knownNames())));
}

void Lowerer::defineName(const std::string& name, SrcLoc loc) {
  if (const int* first = scope_->findDefLine(name))
    err(loc, fmt::format("'{}' is defined twice: first on line {}; every value is defined once (SSA)", name, *first));
  if (name == "B")
    err(loc, "'B' is the batch dimension and cannot be redefined");
  if (auto root = pathRoots_.find(name); root != pathRoots_.end() && scope_ == &fileScope_)
    err(loc, fmt::format("'{}' is the first part of the path of the block use on line {}: the file's names and its "
                         "instances' paths must differ (the weights file would name both)", name, root->second));
  scope_->setDefLine(name, loc.line);
}

void Lowerer::statement(const Stmt& s) {
  currentDef_ = s.name;
  switch (s.kind) {
    case Stmt::Const: {
      if (scope_->findConst(s.name) || scope_->findValue(s.name)) defineName(s.name, s.nameLoc);
      defineName(s.name, s.nameLoc);
      scope_->bindConst(s.name, fold(*s.value));
      if (scope_ == &fileScope_) model_.constants[s.name] = scope_->constAt(s.name).value;  // not a block's own
      break;
    }
    case Stmt::Data: data(s); break;
    case Stmt::Input: {
      defineName(s.name, s.nameLoc);
      Shape sh = shape(s.dims, true, /*allowMultiple=*/false);
      int id = model_.graph.add(&getOp("input"), {}, {}, s.nameLoc, s.name);
      model_.graph[id].dtype = s.dtype == "int" ? DType::I32 : DType::F32;
      model_.graph[id].shape = sh;
      scope_->bindValue(s.name, id);
      break;
    }
    case Stmt::Param: declareTensor(s, "param", s.trainable); break;
    case Stmt::State: declareTensor(s, "state", false); break;
    case Stmt::Update: update(s); break;
    case Stmt::For: forLoop(s); break;
    case Stmt::Block:
      if (scope_ != &fileScope_)
        err(s.loc, fmt::format("block '{}' is defined inside {}: blocks are defined at the top level of the file",
                               s.name, scope_->block() ? "a block" : "a loop"));
      break;  // collected by collectBlocks; each use lowers its body
    case Stmt::Return:
      err(s.loc, "`return` stands only at the end of a block's body (`block NAME(...) { ... return EXPR }`)");
    case Stmt::Assign: {
      if (!loops_.empty()) { loopAssign(s); break; }
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
      model_.graph[id].name = qualifiedName(s.name, scope_->path());
      scope_->bindValue(s.name, id);
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

Model loadModel(const std::string& path, const LowerOptions& opts) {
  Module m = parseFile(path);
  applyOverrides(m, opts.overrides);
  Lowerer l(m, opts);
  return l.run();
}

}  // namespace netc
