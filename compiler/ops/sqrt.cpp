#include <cmath>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// sqrt(x); the gradient reuses the output s: dx = dy * 0.5 / s. LLVM's sqrt intrinsic is exact (correctly
// rounded, vsqrtps on x86) and vectorises; it is built without fast-math flags so no estimate replaces it.
extern const OpDef kSqrt{
    .name = "sqrt", .summary = "square root elementwise (x ** 0.5 lowers to it)", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Elementwise,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      dx[0] = b.div(b.mul(dy, b.constant(0.5)), n.id);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::sqrt(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) {
      llvm::FastMathFlags keep = b.getFastMathFlags();
      b.setFastMathFlags(llvm::FastMathFlags());
      llvm::Value* r = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a[0]);
      b.setFastMathFlags(keep);
      return r;
    }};

}  // namespace netc::ops
