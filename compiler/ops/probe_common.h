// What the probe statistics ops (layer_stats, grad_stats, value_stats, param_stats) share: moments in the
// reference evaluation and the shape checks; their CPU kernels are in codegen/kernels/probes.cpp. Layouts:
// ops/probe_layout.h.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/op.h"
#include "ops/probe_layout.h"

namespace netc::ops::probe_common {

// Mean and unbiased standard deviation (n - 1, as torch.std()), two passes for accuracy; std is 0 below two
// values rather than NaN, so a one-element tensor does not poison a summary.
struct Moments {
  double mean = 0, std = 0;
};
Moments moments(const std::vector<double>& x);

// Units are the last axis and must be a fixed size (one dead flag per unit); a shape error otherwise.
int64_t unitsOf(const Graph& g, const Node& n, int input);
void requireSameShape(const Graph& g, const Node& n, int a, int b);

// layer_stats: the activation of the layer, in Attrs::ints[0].
inline probe::Activation activationOf(const Node& n) { return static_cast<probe::Activation>(n.attrs.ints.at(0)); }

}  // namespace netc::ops::probe_common
