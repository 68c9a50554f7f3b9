#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// mul(a, b) = a * b elementwise with broadcasting: da = dy * b, db = dy * a.
extern const OpDef kMul{
    .name = "mul", .summary = "a * b elementwise, broadcasting", .minInputs = 2, .maxInputs = 2,
    .cls = OpDef::Elementwise, .linearPath = true,
    .infer = inferBroadcast,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      if (b.needs(n, 0)) dx[0] = b.mul(dy, n.inputs[1]);
      if (b.needs(n, 1)) dx[1] = b.mul(dy, n.inputs[0]);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] * a[1]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return b.CreateFMul(a[0], a[1]); }};

}  // namespace netc::ops
