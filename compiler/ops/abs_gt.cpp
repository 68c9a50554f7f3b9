// abs_gt(x, c) = 1 where |x| > c, else 0: the lecture's `h.abs() > 0.99`, the pixels of the dead-neuron image.
// Elementwise, so the JIT computes it in the same loops as everything else. Made by the instrumentation pass.
#include <cmath>
#include <llvm/IR/IRBuilder.h>

#include "ops/helpers.h"

namespace netc::ops {

extern const OpDef kAbsGt{
    .name = "abs_gt", .summary = "1 where |x| > c, else 0 (probe mask)", .minInputs = 2, .maxInputs = 2,
    .cls = OpDef::Elementwise, .internal = true,
    .infer = inferBroadcast,
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::fabs(a[0]) > a[1] ? 1.0 : 0.0; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) -> llvm::Value* {
      llvm::Value* mag = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a[0]);
      llvm::Type* ty = a[0]->getType();
      return b.CreateSelect(b.CreateFCmpOGT(mag, a[1]), llvm::ConstantFP::get(ty, 1.0), llvm::ConstantFP::get(ty, 0.0));
    }};

}  // namespace netc::ops
