// Named tensors: the common currency of weights, gradients and batches between the runtime's parts (the
// initialisation makes them, weights files hold them, the engine takes them in and gives them out).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/shape.h"

namespace netc {

// name -> row-major values (doubles), plus shapes; the common currency of weights in the runtime.
struct NamedTensor {
  Shape shape;
  std::vector<double> data;
  bool state = false;  // a buffer the step updates without a gradient (safetensors metadata "netc.state")
};
using WeightMap = std::map<std::string, NamedTensor>;

}  // namespace netc
