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
};
using WeightMap = std::map<std::string, NamedTensor>;

// Draws every parameter in declaration order from one seeded generator.
WeightMap initParams(const Graph& g, uint64_t seed);

}  // namespace netc
