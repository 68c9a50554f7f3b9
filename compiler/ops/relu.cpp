#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"
#include "ops/probe_layout.h"

namespace netc::ops {

static const ActivationFacts kReluFacts{
    .probeKind = static_cast<int64_t>(probe::Activation::Relu),
    .gain = 1.4142135623730951,  // sqrt(2), Kaiming's
    .gainAdvice = "Kaiming's gain for relu is sqrt(2) (randn * sqrt(2) / sqrt(fan_in))",
    .flat = ActivationFacts::DiesAtZero,
    .centredAtHalf = false,
    .deadWhy = "their output is exactly 0 for every example of the batch: the input is negative everywhere, where relu "
               "passes no gradient at all, so their incoming weights and bias never change",
    .deadFix = "Start the layer smaller (Kaiming: randn * sqrt(2) / sqrt(fan_in), bias at zero), lower the learning "
               "rate, or use a leaky relu",
    .flatShareKey = "zero_share",
};

// relu(x) = max(x, 0): dx = dy * step(x), where step(x) = 1 for x > 0, else 0.
extern const OpDef kRelu{
    .name = "relu", .summary = "max(x, 0)", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise,
    .activation = &kReluFacts,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      dx[0] = b.mul(b.op("step", {n.inputs[0]}), dy);
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] > 0 ? a[0] : 0.0; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) {
      llvm::Value* zero = llvm::ConstantFP::get(a[0]->getType(), 0.0);
      return b.CreateSelect(b.CreateFCmpOGT(a[0], zero), a[0], zero);
    }};

// step(x) = 1 for x > 0, else 0: the derivative of relu. Not differentiable itself (zero almost everywhere).
extern const OpDef kStep{
    .name = "step", .summary = "1 where x > 0, else 0 (relu's derivative)", .minInputs = 1, .maxInputs = 1,
    .cls = OpDef::Elementwise, .internal = true,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder&, const Node&, int, std::vector<int>&) {},
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[0] > 0 ? 1.0 : 0.0; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) {
      llvm::Type* t = a[0]->getType();
      return b.CreateSelect(b.CreateFCmpOGT(a[0], llvm::ConstantFP::get(t, 0.0)), llvm::ConstantFP::get(t, 1.0),
                            llvm::ConstantFP::get(t, 0.0));
    }};

}  // namespace netc::ops
