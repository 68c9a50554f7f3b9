// The names lowering knows, as a chain of scopes: the file's top level, and below it one child scope per
// step of an unrolled `for` body (its loop variable is a constant there, its locals are forgotten with it).
// A name is looked up from the innermost scope outwards. A block instance will be one more kind of child:
// its own parameters bound in it, and its parent the file's scope (so a block sees the file's constants, not
// the caller's values).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <optional>

#include "graph/scope_path.h"
#include "support/whole.h"

namespace netc {

// A folded constant: its value, and when it is a whole number known exactly (integer literals and what
// support/whole.h computes from them), that number too, which whole-number settings read (constWhole).
struct Folded {
  double value = 0;
  std::optional<Whole> whole;
  static Folded of(int64_t n) { return {static_cast<double>(n), n}; }
};

class Scope {
 public:
  Scope() = default;  // the file's top level: no parent, an empty path
  Scope(Scope* parent, ScopeEntry entry) : parent_(parent), entry_(std::move(entry)), isChild_(true) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // The path of every node made while this scope is the innermost: the parent's entries, then this one's.
  ScopePath path() const;

  // Lookups along the chain, innermost first; nullptr when no scope binds the name.
  const int* findValue(const std::string& name) const;
  const Folded* findConst(const std::string& name) const;
  const int* findDefLine(const std::string& name) const;  // the line that defined it (constants V, T: none)
  // The scope on the chain whose values bind `name`, or nullptr.
  Scope* valueOwner(const std::string& name);

  // Binds in this scope.
  void bindValue(const std::string& name, int node) { values_[name] = node; }
  void bindConst(const std::string& name, Folded value) { consts_[name] = value; }
  void setDefLine(const std::string& name, int line) { defLines_[name] = line; }
  const Folded& constAt(const std::string& name) const { return consts_.at(name); }

  // Every name visible from here with its definition line (0 when none), innermost scope first, for
  // suggestions: values, then constants, of each scope.
  std::vector<std::pair<int, std::string>> visibleNames() const;

 private:
  Scope* parent_ = nullptr;
  ScopeEntry entry_;
  bool isChild_ = false;
  std::map<std::string, Folded> consts_;
  std::map<std::string, int> values_;
  std::map<std::string, int> defLines_;
};

}  // namespace netc
