#include "lower/scope.h"

namespace netc {

ScopePath Scope::path() const {
  ScopePath p = isBlock_ ? callerPath_ : parent_ ? parent_->path() : ScopePath{};
  if (isChild_) p.entries.push_back(entry_);
  return p;
}

// Past a block's scope only constants are visible: the file's values are not the block's.
const int* Scope::findValue(const std::string& name) const {
  for (const Scope* s = this; s; s = s->isBlock_ ? nullptr : s->parent_)
    if (auto it = s->values_.find(name); it != s->values_.end()) return &it->second;
  return nullptr;
}

const Folded* Scope::findConst(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent_)
    if (auto it = s->consts_.find(name); it != s->consts_.end()) return &it->second;
  return nullptr;
}

const int* Scope::findDefLine(const std::string& name) const {
  bool constantsOnly = false;
  for (const Scope* s = this; s; s = s->parent_) {
    if (auto it = s->defLines_.find(name); it != s->defLines_.end() && (!constantsOnly || s->consts_.count(name)))
      return &it->second;
    constantsOnly = constantsOnly || s->isBlock_;
  }
  return nullptr;
}

Scope* Scope::valueOwner(const std::string& name) {
  for (Scope* s = this; s; s = s->isBlock_ ? nullptr : s->parent_)
    if (s->values_.count(name)) return s;
  return nullptr;
}

const Scope* Scope::block() const {
  for (const Scope* s = this; s; s = s->parent_)
    if (s->isBlock_) return s;
  return nullptr;
}

std::vector<std::pair<int, std::string>> Scope::visibleNames() const {
  std::vector<std::pair<int, std::string>> out;
  auto line = [&](const std::string& k) {
    const int* l = findDefLine(k);
    return l ? *l : 0;
  };
  bool constantsOnly = false;
  for (const Scope* s = this; s; s = s->parent_) {
    if (!constantsOnly)
      for (auto& [k, v] : s->values_) out.emplace_back(line(k), k);
    for (auto& [k, v] : s->consts_) out.emplace_back(line(k), k);
    constantsOnly = constantsOnly || s->isBlock_;
  }
  return out;
}

}  // namespace netc
