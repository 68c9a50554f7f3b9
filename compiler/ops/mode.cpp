#include <fmt/format.h>

#include "ops/helpers.h"

namespace netc::ops {

// mode(train = a, eval = b): a in the training step, b when evaluating and sampling. It never reaches an
// engine: specializeMode() (modes/) replaces every mode node by one of its inputs, before differentiation.
extern const OpDef kMode{
    .name = "mode", .summary = "mode(train = a, eval = b): a while training, b when evaluating or sampling",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .selectsMode = true, .args = "train = a, eval = b",
    .infer = [](const Graph& g, Node& n) {
      const Node& a = g[n.inputs[0]];
      const Node& b = g[n.inputs[1]];
      if (a.dtype != b.dtype || a.shape != b.shape)
        shapeError(g, n, fmt::format("the two forms differ: train = {} is {}{}, eval = {} is {}{}; both must have one type",
                                     g.describe(a.id), dtypeName(a.dtype), shapeStr(a.shape), g.describe(b.id),
                                     dtypeName(b.dtype), shapeStr(b.shape)));
      n.dtype = a.dtype;
      n.shape = a.shape;
    }};

}  // namespace netc::ops
