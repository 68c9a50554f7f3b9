#include <cmath>

#include "autodiff/grad_builder.h"
#include "scalar_ir/fast_math.h"
#include "ops/helpers.h"

namespace netc::ops {

// exp(x); the gradient reuses the output: dx = e^x * dy.
extern const OpDef kExp{
    .name = "exp", .summary = "e^x", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) { dx[0] = b.mul(n.id, dy); },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::exp(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return scalar_ir::emitExp(b, a[0]); }};

}  // namespace netc::ops
