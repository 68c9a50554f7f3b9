// batch_size: the batch size B as a scalar value, for expressions such as 1 / (B - 1). B is a shape symbol
// until a batch is bound, so this is a source with no value yet; bindBatch (autodiff/) turns every
// batch_size node into a `const` holding the bound size, and nothing after binding ever sees one.
#include <fmt/format.h>

#include "ops/op.h"

namespace netc::ops {

extern const OpDef kBatchSize{
    .name = "batch_size", .summary = "the batch size B as a scalar (written B in an expression)", .minInputs = 0,
    .maxInputs = 0, .cls = OpDef::Source, .internal = true, .source = SourceKind::BatchSize,
    .infer = [](const Graph&, Node& n) { n.dtype = DType::F32; n.shape = {}; },
    .grad = [](GradBuilder&, const Node&, int, std::vector<int>&) {},
    .eval = [](const Node& n, const std::vector<const Tensor*>&, Tensor&) {
      fail(fmt::format("internal error: batch_size node %{} evaluated before a batch size was bound", n.id));
    }};

}  // namespace netc::ops
