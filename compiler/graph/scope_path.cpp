#include "graph/scope_path.h"

#include <fmt/format.h>

namespace netc {

namespace {

// The innermost block instance on the path, or -1.
int innermostBlock(const ScopePath& path) {
  for (size_t i = path.entries.size(); i-- > 0;)
    if (path.entries[i].kind == ScopeEntry::Kind::Block) return static_cast<int>(i);
  return -1;
}

// What qualifiedName puts before a local name: "layers.2/" inside a block instance (its path names it whole, so
// the loop steps around it are not repeated), "" outside every block.
std::string blockPrefix(const ScopePath& path) {
  const int at = innermostBlock(path);
  return at < 0 ? std::string() : path.entries[static_cast<size_t>(at)].name + "/";
}

// What qualifiedName appends to a local name: "@t3" for each loop step inside the innermost block instance (or
// the file), outermost first.
std::string stepSuffix(const ScopePath& path) {
  std::string s;
  for (size_t i = static_cast<size_t>(innermostBlock(path) + 1); i < path.entries.size(); ++i) {
    const ScopeEntry& e = path.entries[i];
    if (e.kind == ScopeEntry::Kind::LoopStep) s += fmt::format("@{}{}", e.name, e.value());
  }
  return s;
}

int innermostLoop(const ScopePath& path) {
  for (size_t i = path.entries.size(); i-- > 0;)
    if (path.entries[i].kind == ScopeEntry::Kind::LoopStep) return static_cast<int>(i);
  return -1;
}

}  // namespace

const ScopeEntry* ScopePath::loopStep() const {
  const int at = innermostLoop(*this);
  return at < 0 ? nullptr : &entries[static_cast<size_t>(at)];
}

std::string qualifiedName(std::string_view local, const ScopePath& path) {
  return blockPrefix(path) + std::string(local) + stepSuffix(path);
}

std::string localName(std::string_view qualified, const ScopePath& path) {
  const std::string prefix = blockPrefix(path), suffix = stepSuffix(path);
  if ((prefix.empty() && suffix.empty()) || qualified.size() <= prefix.size() + suffix.size() ||
      !qualified.starts_with(prefix) || !qualified.ends_with(suffix))
    return std::string(qualified);
  return std::string(qualified.substr(prefix.size(), qualified.size() - prefix.size() - suffix.size()));
}

std::string instanceName(const ScopePath& path) {
  const int at = innermostBlock(path);
  return at < 0 ? std::string() : path.entries[static_cast<size_t>(at)].name;
}

bool isNextStep(const ScopePath& prev, const ScopePath& next) {
  const int at = innermostLoop(prev);
  if (at < 0 || at != innermostLoop(next) || prev.entries.size() != next.entries.size()) return false;
  for (size_t i = 0; i < prev.entries.size(); ++i) {
    ScopeEntry a = prev.entries[i];
    if (static_cast<int>(i) == at) ++a.index;
    if (!(a == next.entries[i])) return false;
  }
  return true;
}

std::string scopeText(const ScopePath& path) {
  std::string s;
  for (const ScopeEntry& e : path.entries) {
    if (!s.empty()) s += " > ";
    s += e.kind == ScopeEntry::Kind::LoopStep
             ? fmt::format("for {}={} (step {}) line {}", e.name, e.value(), e.index, e.line)
             : fmt::format("block {} as {} (use {}) line {}", e.block, e.name, e.index, e.line);
  }
  return s;
}

}  // namespace netc
