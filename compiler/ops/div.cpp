#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// div(a, b) = a / b with broadcasting: da = dy / b, db = -dy * a / b^2 = -(dy * out) / b.
extern const OpDef kDiv{
    .name = "div", .summary = "a / b elementwise, broadcasting", .minInputs = 2, .maxInputs = 2,
    .cls = OpDef::Elementwise, .linearPath = true,
    .infer = inferBroadcast,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      if (b.needs(n, 0)) dx[0] = b.div(dy, n.inputs[1]);
      if (b.needs(n, 1)) dx[1] = b.neg(b.div(b.mul(dy, n.id), n.inputs[1]));
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] / a[1]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return b.CreateFDiv(a[0], a[1]); }};

}  // namespace netc::ops
