#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// neg(x) = -x.
extern const OpDef kNeg{
    .name = "neg", .summary = "-x", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise, .linearPath = true,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node&, int dy, std::vector<int>& dx) { dx[0] = b.neg(dy); },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return -a[0]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return b.CreateFNeg(a[0]); }};

}  // namespace netc::ops
