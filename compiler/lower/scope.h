// The names lowering knows, as a chain of scopes: the file's top level, and below it one child scope per
// step of an unrolled `for` body (its loop variable is a constant there, its locals are forgotten with it).
// A name is looked up from the innermost scope outwards. A block instance is one more kind of child: its
// arguments and its own names bound in it, its lookup parent the file's scope, of which it sees only the
// constants (a block's only values are its arguments and what it makes), and its path the caller's path with
// the instance's entry added (so its nodes say in which loop step and block instance they were made).
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
  // A block instance: looks names up in `file` (its constants only), made at `callerPath`.
  Scope(Scope* file, ScopePath callerPath, ScopeEntry entry)
      : parent_(file), entry_(std::move(entry)), isChild_(true), isBlock_(true), callerPath_(std::move(callerPath)) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // The path of every node made while this scope is the innermost: the parent's entries, then this one's.
  ScopePath path() const;

  // Lookups along the chain, innermost first; nullptr when no scope binds the name.
  const int* findValue(const std::string& name) const;
  const Folded* findConst(const std::string& name) const;
  const int* findDefLine(const std::string& name) const;  // the line that defined it (constants V, T: none)
  // The innermost block instance on the chain, or nullptr at the file's level (and in its loops).
  const Scope* block() const;
  const ScopeEntry& entry() const { return entry_; }
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
  bool isBlock_ = false;    // beyond it only constants are visible
  ScopePath callerPath_;    // a block: where it was used
  std::map<std::string, Folded> consts_;
  std::map<std::string, int> values_;
  std::map<std::string, int> defLines_;
};

}  // namespace netc
