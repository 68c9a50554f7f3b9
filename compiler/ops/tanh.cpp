#include <cmath>

#include "autodiff/grad_builder.h"
#include "scalar_ir/fast_math.h"
#include "ops/helpers.h"
#include "ops/probe_layout.h"

namespace netc::ops {

// What the probes and diagnoses know about a stack of tanh layers (the lecture's part 3).
static const ActivationFacts kTanhFacts{
    .probeKind = static_cast<int64_t>(probe::Activation::Tanh),
    .gain = 5.0 / 3,
    .gainAdvice = "the lecture's gain for tanh is 5/3 (randn * (5/3) / sqrt(fan_in))",
    .flat = ActivationFacts::Saturates,
    .centredAtHalf = false,
    .deadWhy = "|t| > 0.99 for every example of the batch, so 1 - t*t is about 0 for all of them and no gradient "
               "reaches their incoming weights",
    .deadFix = "They may never recover: start the layer smaller or lower the learning rate",
    .flatShareKey = "beyond99_share",  // the lecture's (h.abs() > 0.99)
};

// tanh(x). The gradient uses the saved output t, never recomputing tanh: dx = (1 - t*t) * dy.
extern const OpDef kTanh{
    .name = "tanh", .summary = "hyperbolic tangent", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise,
    .activation = &kTanhFacts,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      int t = n.id;
      dx[0] = b.mul(b.sub(b.constant(1.0), b.mul(t, t)), dy);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::tanh(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return scalar_ir::emitTanh(b, a[0]); }};

}  // namespace netc::ops
