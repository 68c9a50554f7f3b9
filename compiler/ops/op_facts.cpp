// The questions about an op's declared facts (OpDef::attrs and the traits) that the printer, the verifier,
// the lowering and the runtime ask: one reading of AttrSpec, so the three cannot disagree on what a slot means.
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/op.h"

namespace netc {

const AttrSpec* findAttr(const OpDef& op, std::string_view name) {
  for (const AttrSpec& a : op.attrs)
    if (name == a.name) return &a;
  return nullptr;
}

bool takesShape(const OpDef& op) {
  for (const AttrSpec& a : op.attrs)
    if (a.kind == AttrSpec::Shape && a.keyword) return true;
  return false;
}

int64_t indexLimit(const Graph& g, const Node& n) {
  const IndexBound& b = n.op->indexBound;
  if (b.input < 0) return -1;
  switch (b.limit) {
    case IndexBound::RowsOfInput0: return g[n.inputs[0]].shape[0];
    case IndexBound::LastDimOfInput0: return g[n.inputs[0]].shape.back();
    case IndexBound::Attr0: return n.attrs.ints.at(0);
  }
  return -1;
}

const ActivationFacts* activationFacts(std::string_view kind) {
  const OpDef* op = findOp(kind);
  return op ? op->activation : nullptr;
}

namespace {

// The number an Ints, Value or Frozen attribute holds on n; nullopt when it is absent (an optional Ints
// group left empty) or not a number (Dims, InitSpec, Lowered).
std::optional<double> numberOf(const AttrSpec& a, const Node& n) {
  switch (a.slot) {
    case AttrSpec::Ints:
      if (static_cast<size_t>(a.index) >= n.attrs.ints.size()) return std::nullopt;
      return static_cast<double>(n.attrs.ints[static_cast<size_t>(a.index)]);
    case AttrSpec::Value: return n.attrs.value;
    case AttrSpec::Frozen: return n.trainable ? 0.0 : 1.0;
    default: return std::nullopt;
  }
}

}  // namespace

// Each attribute as `name=value`; a Bool as its name when set and nothing when not (transB, mean, frozen); a
// Shape not at all (the node's type shows it); absent optional ones not at all.
std::string attrText(const Node& n) {
  std::string s;
  for (const AttrSpec& a : n.op->attrs) {
    if (a.slot == AttrSpec::InitSpec) {
      s += fmt::format(" {}={}", a.name, n.init.text);
      continue;
    }
    if (a.slot == AttrSpec::AxisList) {
      s += fmt::format(" {}=[{}]", a.name, fmt::join(n.attrs.ints, ","));
      continue;
    }
    std::optional<double> v = numberOf(a, n);
    if (!v) continue;
    if (a.kind == AttrSpec::Bool) {
      if (*v != 0) s += fmt::format(" {}", a.name);
      continue;
    }
    std::string text = a.valueName ? std::string(a.valueName(static_cast<int64_t>(*v)))
                       : a.slot == AttrSpec::Ints ? fmt::format("{}", static_cast<int64_t>(*v))
                                                  : fmt::format("{}", *v);
    s += a.bare ? " " + text : fmt::format(" {}={}", a.name, text);
  }
  return s;
}

std::string attrProblem(const Graph& g, const Node& n) {
  const OpDef& op = *n.op;
  size_t ints = 0;
  bool optional = false, hasDims = false;
  const AttrSpec* axisList = nullptr;
  for (const AttrSpec& a : op.attrs) {
    if (a.slot == AttrSpec::Ints) {
      if (ints == 0) optional = a.optional;
      ++ints;
    }
    hasDims = hasDims || a.slot == AttrSpec::Dims;
    if (a.slot == AttrSpec::AxisList) axisList = &a;
  }
  const size_t have = n.attrs.ints.size();
  if (axisList) {
    // One entry per axis of the value it names, each an axis of it (the shape rule checks it is a permutation).
    const Node& of = axisList->of < 0 ? n : g[n.inputs.at(static_cast<size_t>(axisList->of))];
    if (have != of.shape.size())
      return fmt::format("{} entries in {} where {} has rank {}", have, axisList->name, g.valueName(of.id), of.shape.size());
    for (int64_t x : n.attrs.ints)
      if (x < 0 || x >= static_cast<int64_t>(of.shape.size()))
        return fmt::format("{} holds {}, not an axis of {} (rank {})", axisList->name, x, g.valueName(of.id), of.shape.size());
  } else if (have != ints && !(have == 0 && optional))
    return fmt::format("{} integer attribute{} where '{}' takes {}{}", have, have == 1 ? "" : "s", op.name, ints,
                       optional ? " or none" : "");
  if (!hasDims && !n.attrs.shape.empty())
    return fmt::format("a shape attribute {} where '{}' takes none", shapeStr(n.attrs.shape), op.name);
  for (const AttrSpec& a : op.attrs) {
    if (a.slot == AttrSpec::Dims) {
      for (int64_t d : n.attrs.shape)
        if (d == 0) return fmt::format("{}={} has a non-positive dimension", a.name, shapeStr(n.attrs.shape));
      continue;
    }
    if (a.slot != AttrSpec::Ints) continue;
    std::optional<double> v = numberOf(a, n);
    if (!v) continue;
    const int64_t x = static_cast<int64_t>(*v);
    if (a.kind == AttrSpec::Bool && x != 0 && x != 1) return fmt::format("{}={} is not 0 or 1", a.name, x);
    if (a.kind == AttrSpec::Index && x < 0) return fmt::format("{}={} is negative", a.name, x);
    if (a.kind == AttrSpec::Axis) {
      const Node& of = a.of < 0 ? n : g[n.inputs.at(static_cast<size_t>(a.of))];
      const auto rank = static_cast<int64_t>(of.shape.size());
      if (x < -rank || x >= rank)
        return fmt::format("{}={} is not an axis of {} (rank {})", a.name, x, a.of < 0 ? "the result" : g.valueName(of.id),
                           rank);
    }
  }
  return "";
}

}  // namespace netc
