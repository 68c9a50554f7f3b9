#include <cmath>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// rsqrt(x) = 1 / sqrt(x), accurate: an exact sqrt and an exact division, both built without fast-math flags so
// the backend cannot substitute its ~12-bit reciprocal-square-root estimate. With r the output,
// d/dx x^-1/2 = -1/2 x^-3/2 = -r^3 / 2: dx = dy * (-0.5) * r * r * r.
extern const OpDef kRsqrt{
    .name = "rsqrt", .summary = "1 / sqrt(x) elementwise, accurate (x ** -0.5 lowers to it)", .minInputs = 1,
    .maxInputs = 1, .cls = OpDef::Elementwise,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      int r = n.id;
      dx[0] = b.mul(b.mul(dy, b.constant(-0.5)), b.mul(b.mul(r, r), r));
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return 1.0 / std::sqrt(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) {
      llvm::FastMathFlags keep = b.getFastMathFlags();
      b.setFastMathFlags(llvm::FastMathFlags());
      llvm::Value* s = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a[0]);
      llvm::Value* r = b.CreateFDiv(llvm::ConstantFP::get(a[0]->getType(), 1.0), s);
      b.setFastMathFlags(keep);
      return r;
    }};

}  // namespace netc::ops
