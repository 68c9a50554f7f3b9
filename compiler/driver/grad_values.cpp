#include "driver/grad_values.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc::driver {

namespace {

bool computed(const Node& n) { return n.op->cls != OpDef::Source && n.phase == Phase::Forward; }

// Why value `id` has no gradient of its own to write, or "" when it has one.
std::string noGradient(const Graph& g, int id) {
  const Node& n = g[id];
  if (isParam(n)) return "it is a parameter, whose gradient `netc grad` writes anyway";
  if (isInput(n)) return "it is an input, fed by the batch";
  if (isState(n)) return "it is a state, which the step carries without a gradient";
  if (n.dtype != DType::F32) return fmt::format("it is an int value ({}{}): indices have no gradient",
                                                dtypeName(n.dtype), shapeStr(n.shape));
  if (!computed(n)) return "it is not a value of the forward pass";
  return "";
}

}  // namespace

std::vector<int> valuesToDifferentiate(const Graph& g, const std::optional<std::string>& list) {
  std::vector<int> out;
  if (!list || list->empty()) {
    for (const Node& n : g.nodes)
      if (!n.name.empty() && computed(n) && n.dtype == DType::F32) out.push_back(n.id);
    if (out.empty()) usageFail("--values: the model names no computed float value (`NAME = expr`) to differentiate");
    return out;
  }
  std::vector<std::string> names;
  for (const Node& n : g.nodes)
    if (!n.name.empty() && computed(n) && n.dtype == DType::F32) names.push_back(n.name);
  size_t start = 0;
  while (start <= list->size()) {
    size_t comma = list->find(',', start);
    if (comma == std::string::npos) comma = list->size();
    const std::string name = list->substr(start, comma - start);
    start = comma + 1;
    if (name.empty()) usageFail(fmt::format("--values: an empty name in '{}' (names are separated by commas)", *list));
    const int id = g.find(name);
    if (id < 0)
      usageFail(fmt::format("--values: the model has no value named '{}'{}{}", name, didYouMean(name, names),
                            name.find('@') == std::string::npos ? "" : " (a loop step's value is NAME@tK)"));
    if (std::string why = noGradient(g, id); !why.empty())
      usageFail(fmt::format("--values: '{}' has no gradient of its own to write: {}", name, why));
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace netc::driver
