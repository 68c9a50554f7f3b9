#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// sub(a, b) = a - b with broadcasting.
extern const OpDef kSub{
    .name = "sub", .summary = "a - b, broadcasting", .minInputs = 2, .maxInputs = 2, .cls = OpDef::Elementwise, .linearPath = true,
    .infer = inferBroadcast,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      dx[0] = dy;
      if (b.needs(n, 1)) dx[1] = b.neg(dy);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] - a[1]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return b.CreateFSub(a[0], a[1]); }};

}  // namespace netc::ops
