#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// add(a, b) = a + b with broadcasting; the autodiff sums gradients back to each operand's shape.
extern const OpDef kAdd{
    .name = "add", .summary = "a + b, broadcasting", .minInputs = 2, .maxInputs = 2, .cls = OpDef::Elementwise, .linearPath = true,
    .infer = inferBroadcast,
    .grad = [](GradBuilder&, const Node&, int dy, std::vector<int>& dx) { dx = {dy, dy}; },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] + a[1]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return b.CreateFAdd(a[0], a[1]); }};

}  // namespace netc::ops
