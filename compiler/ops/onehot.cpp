// onehot(logits, y, ignore_index=-1): [..., V] zeros with a 1 at column y[r] of each row r, V the last dimension of
// `logits` (read for its shape only); a row whose target is ignore_index stays all zeros. The autodiff writes
// cross-entropy's gradient with it: (softmax(logits) - onehot(logits, y)) * dy / n (ops/cross_entropy.cpp).
#include <fmt/format.h>

#include "ops/cross_entropy.h"
#include "ops/helpers.h"

namespace netc::ops {

using namespace cross_entropy;

static void evalOnehot(const Node& n, const std::vector<const Tensor*>& in, Tensor& out) {
  const int64_t V = in[0]->shape.back(), rows = rowsOf(in[0]->shape);
  out.data.assign(static_cast<size_t>(rows * V), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double t = in[1]->data[static_cast<size_t>(r)];
    if (ignores(n) && t == static_cast<double>(ignoreValue(n))) continue;
    if (!(t >= 0 && t < static_cast<double>(V)))
      fail(fmt::format("onehot target {} is out of range for {} classes", t, V));
    out.data[static_cast<size_t>(r * V + static_cast<int64_t>(t))] = 1.0;
  }
}

extern const OpDef kOnehot{
    .name = "onehot", .summary = "1 at column y[r] of each row of zeros shaped like logits (cross-entropy's gradient)",
    .minInputs = 2, .maxInputs = 2, .cls = OpDef::Kernel, .internal = true,
    .attrs = {{.name = "ignore_index", .kind = AttrSpec::Int, .optional = true}},
    .indexBound = {.input = 1, .limit = IndexBound::LastDimOfInput0, .ignoredValueInAttr0 = true},
    .args = "logits, y",
    .infer = [](const Graph& g, Node& n) { n.dtype = DType::F32; n.shape = g[n.inputs[0]].shape; },
    .eval = evalOnehot};

}  // namespace netc::ops
