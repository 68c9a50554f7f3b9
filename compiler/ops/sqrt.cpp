#include <cmath>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// sqrt(x). The gradient reuses the output s: dx = dy / (2 s).
extern const OpDef kSqrt{
    .name = "sqrt", .summary = "square root", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      dx[0] = b.div(dy, b.mul(b.constant(2.0), n.id));
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::sqrt(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) -> llvm::Value* {
      return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a[0]);
    }};

}  // namespace netc::ops
