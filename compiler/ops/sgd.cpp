#include <llvm/IR/IRBuilder.h>

#include "ops/helpers.h"

namespace netc::ops {

// sgd(p, dp, lr) = p - lr * dp: the new value of parameter p. Engines write it back into p's storage
// (the JIT in place), so the update is part of the compiled training step.
extern const OpDef kSgd{
    .name = "sgd", .summary = "p - lr * dp (SGD update)", .minInputs = 3, .maxInputs = 3,
    .cls = OpDef::Elementwise, .internal = true, .gradientStep = true, .assigns = true,
    .infer = inferBroadcast,
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] - a[2] * a[1]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) {
      return b.CreateFSub(a[0], b.CreateFMul(a[2], a[1]));
    }};

}  // namespace netc::ops
