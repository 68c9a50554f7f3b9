// Vectorisable replacements for libm in generated code: clamped polynomial/rational approximations
// over float (scalar or vector) values. No calls are emitted, so the loop vectoriser can widen them.
// Target-neutral LLVM IR (plain arithmetic, compares and selects): the ops' scalar expressions
// (OpDef::emitScalar) and the CPU kernels (codegen/kernels/) both build on it, so it lives outside codegen/.
#pragma once

namespace llvm {
class Value;
class IRBuilderBase;
}  // namespace llvm

namespace netc::scalar_ir {

// |tanh(x)| <= 1 exactly for every input (infinities included); never NaN for a finite input; NaN stays NaN.
llvm::Value* emitTanh(llvm::IRBuilderBase& b, llvm::Value* x);
// exp(x) for x in [-87.3, 88.7]; below that 0-ish, above it saturates near FLT_MAX instead of overflowing to
// inf; NaN stays NaN.
llvm::Value* emitExp(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emitLog(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emitSigmoid(llvm::IRBuilderBase& b, llvm::Value* x);

}  // namespace netc::scalar_ir
