#include <cmath>

#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc::ops {

// pow(x, y) = x ** y with y a scalar (a constant, or a [] value such as a step count): `x ** c` lowers to
// x*x, sqrt, rsqrt or 1/x for c = 2, 0.5, -0.5, -1 and to pow otherwise. dx = dy * y * x^(y-1),
// dy = dy * x^y * ln x (where x > 0; only wanted when y depends on a parameter).
static void inferPow(const Graph& g, Node& n) {
  inferBroadcast(g, n);
  const Node& y = g[n.inputs[1]];
  for (int64_t d : y.shape)
    if (d != 1)
      shapeError(g, n, fmt::format("the exponent of '**' must be a scalar (a constant or a value of shape []), "
                                   "found {} with shape {}",
                                   g.describe(y.id), shapeStr(y.shape)));
}

extern const OpDef kPow{
    .name = "pow", .summary = "x ** y elementwise with a scalar exponent y (written x ** y)", .minInputs = 2,
    .maxInputs = 2, .cls = OpDef::Elementwise,
    .infer = inferPow,
    .grad = [](GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
      int x = n.inputs[0], y = n.inputs[1];
      if (b.needs(n, 0)) dx[0] = b.mul(b.mul(dy, y), b.op("pow", {x, b.sub(y, b.constant(1.0))}));
      if (b.needs(n, 1)) dx[1] = b.mul(b.mul(dy, n.id), b.op("log", {x}));
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return std::pow(a[0], a[1]); },
    // llvm.pow becomes a call to the C library's powf (correctly rounded to within an ulp; vectors are split
    // into one call per lane), which the JIT registers as a runtime symbol (codegen/jit.cpp).
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) -> llvm::Value* {
      llvm::FastMathFlags keep = b.getFastMathFlags();
      b.setFastMathFlags(llvm::FastMathFlags());
      llvm::Value* r = b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, a[0], a[1]);
      b.setFastMathFlags(keep);
      return r;
    }};

}  // namespace netc::ops
