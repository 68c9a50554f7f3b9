// The syntax tree of a .net file: what the user wrote, before any meaning is given to it.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/lexer.h"

namespace netc {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// One part of a block instance's path (`as layers.(i).attn`): a name or whole number as written, or a
// parenthesised constant expression that computes a whole number.
struct PathPart {
  std::string text;   // a name or number as written; empty when computed
  ExprPtr computed;   // `(i + 1)`
  SrcLoc loc;
};

struct Expr {
  // Index: args = {base, item...}; an item is an expression (an index) or a Slice `start:stop` whose args are
  // the bounds given, keywords saying which ("start", "stop").
  enum Kind { Number, Name, String, Call, Binary, Unary, Index, List, Slice } kind;
  SrcLoc loc;                        // the operator, bracket or name that errors point at
  SrcSpan span;                      // the whole expression as written, parentheses included
  double number = 0;
  bool isInteger = false;
  std::optional<Whole> whole;        // Number: an integer literal's exact value (lexer.h)
  std::string name;                  // Name, String, Call (callee)
  Tok op = Tok::Plus;                // Binary, Unary
  std::vector<ExprPtr> args;         // Call args, Binary/Unary operands, Index (base, index), List items
  std::vector<std::string> keywords; // Call: keyword per argument, "" when positional
  std::vector<SrcLoc> keywordLocs;
  int depth = 1;                     // height of this subtree; bounded so later recursion cannot overflow
  // Call of a block: `Layer(h, H, H) as layers.(i)`, the instance's path (empty when `as` is not written).
  std::vector<PathPart> instancePath;
  SrcSpan pathSpan;
};

// One `key = value[, value ...]` line of a section; each value may carry `until N`.
struct SectionItem {
  ExprPtr value;
  ExprPtr until;  // null when absent
};
struct SectionEntry {
  std::string key;
  SrcLoc loc;
  std::vector<SectionItem> items;
};

struct Annotation {
  std::string name;
  SrcLoc loc;
  std::vector<std::pair<std::string, SrcLoc>> args;
};

struct Stmt {
  enum Kind { Const, Data, Input, Param, State, Update, Assign, Minimize, Section, For, Block, Return } kind;
  SrcLoc loc;      // the statement keyword / first token
  std::string name;     // Const/Input/Param/State/Update/Assign/Block name; Section: "train"/"sample"; Data: path
  SrcLoc nameLoc;
  ExprPtr value;        // Const value, Param/State initialiser, Update/Assign/Minimize/Return expression
  std::string dtype;    // Input: "int" or "float"
  std::vector<ExprPtr> dims;  // Input/Param/State shape
  bool trainable = true;      // Param
  bool global = false;        // Param/State: marked `global`, drawn from the second stream
  std::vector<SectionEntry> entries;  // Data/Section
  std::vector<Annotation> annotations;  // Assign
  // Assign: `hs[:, t] = h` in a loop body, the items inside the brackets (empty for a plain `NAME = ...`).
  std::vector<ExprPtr> targetIndex;
  // For: `for NAME in value..rangeEnd { body }`. Block: `block NAME(arguments) { body }`.
  ExprPtr rangeEnd;
  std::vector<Stmt> body;
  SrcLoc endLoc;  // For, Block: the closing '}'
  std::vector<std::pair<std::string, SrcLoc>> arguments;  // Block: its arguments' names
};

struct Module {
  SourceRef source;
  std::vector<Stmt> stmts;
};

}  // namespace netc
