#include <cmath>

#include "autodiff/grad_builder.h"
#include "scalar_ir/fast_math.h"
#include "ops/helpers.h"

namespace netc::ops {

// tanh(x). The gradient uses the saved output t, never recomputing tanh: dx = (1 - t*t) * dy.
extern const OpDef kTanh{
    .name = "tanh", .summary = "hyperbolic tangent", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      int t = n.id;
      dx[0] = b.mul(b.sub(b.constant(1.0), b.mul(t, t)), dy);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::tanh(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return scalar_ir::emitTanh(b, a[0]); }};

}  // namespace netc::ops
