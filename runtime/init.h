// Parameter initialisation from the initialisers written in the .net file.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace netc {

// name -> row-major values (doubles), plus shapes; the common currency of weights in the runtime.
struct NamedTensor {
  Shape shape;
  std::vector<double> data;
  bool state = false;  // a buffer the step updates without a gradient (safetensors metadata "netc.state")
};
using WeightMap = std::map<std::string, NamedTensor>;

// Initialises every param and state in declaration order, drawing from one seeded generator.
WeightMap initParams(const Graph& g, uint64_t seed);

}  // namespace netc
