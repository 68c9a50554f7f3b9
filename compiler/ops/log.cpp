#include <cmath>

#include "autodiff/grad_builder.h"
#include "scalar_ir/fast_math.h"
#include "ops/helpers.h"

namespace netc::ops {

// log(x), natural logarithm: dx = dy / x.
extern const OpDef kLog{
    .name = "log", .summary = "natural logarithm", .minInputs = 1, .maxInputs = 1, .cls = OpDef::Elementwise,
    .infer = inferSameAsInput0,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) { dx[0] = b.div(dy, n.inputs[0]); },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::log(a[0]); },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) { return scalar_ir::emitLog(b, a[0]); }};

}  // namespace netc::ops
