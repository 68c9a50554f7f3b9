// `netc grad --values`: which named values of a model get their d loss / d value written beside the parameters'
// gradients (makemore part 4's exercise: every intermediate of the forward pass against PyTorch's retain_grad()).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace netc::driver {

// The forward values of the specialised graph `g` to differentiate, in graph order. Without a list (`--values`
// alone): every named float value the step computes (not the parameters, states and inputs, which are not
// computed; loop steps' values by their step names, h@t0, h@t1, ...). With `--values=NAME,NAME`: those, each
// checked: an unknown name, a parameter (its gradient is written anyway), an input or an int value is a usage
// error that says why it has no gradient of its own.
std::vector<int> valuesToDifferentiate(const Graph& g, const std::optional<std::string>& list);

}  // namespace netc::driver
