#include <cmath>

#include "autodiff/grad_builder.h"
#include "scalar_ir/fast_math.h"
#include "ops/helpers.h"
#include "ops/probe_layout.h"

namespace netc::ops {

static const ActivationFacts kSigmoidFacts{
    .probeKind = static_cast<int64_t>(probe::Activation::Sigmoid),
    .gain = 4,  // the slope at 0 is 1/4
    .gainAdvice = "a sigmoid layer keeps its spread near gain 4 / sqrt(fan_in) at most",
    .flat = ActivationFacts::Saturates,
    .centredAtHalf = true,
    .deadWhy = "their output is within 0.01 of 0 or 1 for every example of the batch, where s * (1 - s) is about 0, "
               "so no gradient reaches their incoming weights",
    .deadFix = "Start the layer smaller or lower the learning rate",
    .flatShareKey = nullptr,
};

// sigmoid(x) = 1 / (1 + e^-x); the gradient uses the saved output s: dx = s * (1 - s) * dy.
extern const OpDef kSigmoid{
    .name = "sigmoid", .summary = "logistic function 1/(1+e^-x)", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Elementwise,
    .activation = &kSigmoidFacts,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      int s = n.id;
      dx[0] = b.mul(b.mul(s, b.sub(b.constant(1.0), s)), dy);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return 1.0 / (1.0 + std::exp(-a[0])); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return scalar_ir::emitSigmoid(b, a[0]); }};

}  // namespace netc::ops
