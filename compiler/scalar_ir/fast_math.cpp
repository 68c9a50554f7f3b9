// Polynomial/rational math on float lanes. Every function works on scalars and vectors alike (constants
// are splatted to the argument's type), so loops calling them vectorise.
#include "scalar_ir/fast_math.h"

#include <cmath>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

namespace netc::scalar_ir {
namespace {

llvm::Value* c(llvm::Value* like, double v) { return llvm::ConstantFP::get(like->getType(), v); }

// lo <= x <= hi, with a NaN passed through unchanged. Written as compare-and-select in this operand order it
// is one vmaxps/vminps each on x86, whose NaN rule (return the second operand) is exactly this; minnum/maxnum
// would need extra blends to drop the NaN, and a NaN must stay visible (a diverging run shows a NaN loss).
llvm::Value* clamp(llvm::IRBuilderBase& b, llvm::Value* x, double lo, double hi) {
  llvm::Value* l = c(x, lo);
  llvm::Value* h = c(x, hi);
  x = b.CreateSelect(b.CreateFCmpOLT(x, l), l, x);
  return b.CreateSelect(b.CreateFCmpOGT(x, h), h, x);
}
llvm::Value* fma(llvm::IRBuilderBase& b, llvm::Value* x, llvm::Value* y, llvm::Value* z) {
  return b.CreateIntrinsic(llvm::Intrinsic::fma, {x->getType()}, {x, y, z});
}
// Horner: coeffs from the highest degree down.
llvm::Value* poly(llvm::IRBuilderBase& b, llvm::Value* x, std::initializer_list<double> coeffs) {
  auto it = coeffs.begin();
  llvm::Value* acc = c(x, *it++);
  for (; it != coeffs.end(); ++it) acc = fma(b, acc, x, c(x, *it));
  return acc;
}
// Where a computation cannot carry a NaN through (a float-to-int conversion), the input's NaN is restored.
llvm::Value* keepNaN(llvm::IRBuilderBase& b, llvm::Value* x, llvm::Value* r) {
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, r);
}
// 1/q for q > 0 away from 0 and inf. A fast-math fdiv lets the backend use its reciprocal estimate plus
// refinement; the "reciprocal-estimates" function attribute set by the module builder asks for one step.
llvm::Value* reciprocal(llvm::IRBuilderBase& b, llvm::Value* q) {
  llvm::FastMathFlags keep = b.getFastMathFlags(), f;
  f.setFast();  // q is a finite positive number here, so every fast-math assumption holds for this division
  b.setFastMathFlags(f);
  llvm::Value* r = b.CreateFDiv(c(q, 1.0), q);
  b.setFastMathFlags(keep);
  return r;
}
llvm::Type* intTypeFor(llvm::IRBuilderBase& b, llvm::Value* x) {
  llvm::Type* i32 = b.getInt32Ty();
  if (auto* vt = llvm::dyn_cast<llvm::VectorType>(x->getType())) return llvm::VectorType::get(i32, vt->getElementCount());
  return i32;
}

}  // namespace

llvm::Value* emitTanh(llvm::IRBuilderBase& b, llvm::Value* x) {
  // Rational approximation x*P(x^2)/Q(x^2) on [-7.9, 7.9] (the coefficients Eigen uses for float, max error a
  // few ulp), the input clamped first (infinities included) and the result clamped to [-1, 1]. P is scaled
  // by 1 + 3e-7 so that at the clamp edge, where the plain ratio stops 4 ulp short of 1, the result reaches 1:
  // from |x| = 7.9 on tanh is then exactly +-1, as it is in float from |x| = 9. A NaN stays NaN.
  llvm::Value* xc = clamp(b, x, -7.90531110763549805, 7.90531110763549805);
  llvm::Value* x2 = b.CreateFMul(xc, xc);
  const double s = 1 + 3e-7;
  llvm::Value* p = poly(b, x2, {-2.76076847742355e-16 * s, 2.00018790482477e-13 * s, -8.60467152213735e-11 * s,
                                5.12229709037114e-08 * s, 1.48572235717979e-05 * s, 6.37261928875436e-04 * s,
                                4.89352455891786e-03 * s});
  p = b.CreateFMul(xc, p);
  llvm::Value* q = poly(b, x2, {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                4.89352518554385e-03});
  // A reciprocal estimate refined by one Newton step (x86: vrcpps and two FMAs) instead of a full division.
  return clamp(b, b.CreateFMul(p, reciprocal(b, q)), -1.0, 1.0);
}

llvm::Value* emitExp(llvm::IRBuilderBase& b, llvm::Value* x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2/2; Cephes' degree-6 polynomial for exp(r).
  llvm::Value* xc = clamp(b, x, -87.3, 88.7);
  llvm::Value* n = b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, b.CreateFMul(xc, c(x, 1.44269504088896341)));
  llvm::Value* r = fma(b, n, c(x, -0.693359375), xc);
  r = fma(b, n, c(x, 2.12194440e-4), r);
  llvm::Value* p = poly(b, r, {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                               1.6666665459E-1, 5.0000001201E-1});
  llvm::Value* r2 = b.CreateFMul(r, r);
  llvm::Value* er = b.CreateFAdd(fma(b, p, r2, r), c(x, 1.0));
  // 2^n by building the float's exponent field; n lies in [-126, 128], split in two halves to stay normal.
  llvm::Type* it = intTypeFor(b, x);
  llvm::Value* ni = b.CreateFPToSI(n, it);
  llvm::Value* half = b.CreateAShr(ni, 1);
  auto pow2 = [&](llvm::Value* k) {
    llvm::Value* bits = b.CreateShl(b.CreateAdd(k, llvm::ConstantInt::get(it, 127)), 23);
    return b.CreateBitCast(bits, x->getType());
  };
  return keepNaN(b, x, b.CreateFMul(b.CreateFMul(er, pow2(half)), pow2(b.CreateSub(ni, half))));
}

llvm::Value* emitLog(llvm::IRBuilderBase& b, llvm::Value* x) {
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log(x) = e*ln2 + log1p(m - 1) (Cephes' logf polynomial).
  llvm::Type* it = intTypeFor(b, x);
  llvm::Value* bits = b.CreateBitCast(x, it);
  llvm::Value* e = b.CreateSub(b.CreateLShr(bits, 23), llvm::ConstantInt::get(it, 127));
  llvm::Value* mbits = b.CreateOr(b.CreateAnd(bits, llvm::ConstantInt::get(it, 0x7fffff)), llvm::ConstantInt::get(it, 0x3f800000));
  llvm::Value* m = b.CreateBitCast(mbits, x->getType());
  llvm::Value* big = b.CreateFCmpOGT(m, c(x, 1.41421356237));
  m = b.CreateSelect(big, b.CreateFMul(m, c(x, 0.5)), m);
  llvm::Value* ef = b.CreateSIToFP(b.CreateAdd(e, b.CreateZExt(big, it)), x->getType());
  llvm::Value* f = b.CreateFSub(m, c(x, 1.0));
  llvm::Value* f2 = b.CreateFMul(f, f);
  llvm::Value* p = poly(b, f, {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                               1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                               3.3333331174E-1});
  llvm::Value* y = b.CreateFMul(b.CreateFMul(p, f2), f);
  y = fma(b, f2, c(x, -0.5), y);
  llvm::Value* r = b.CreateFAdd(b.CreateFAdd(f, y), b.CreateFMul(ef, c(x, 0.693147180559945)));
  // Edge cases: log(0) = -inf, log(negative or NaN) = NaN, log(inf) = inf; denormals flush to log(0).
  r = b.CreateSelect(b.CreateFCmpOLE(x, c(x, 1.17549435e-38)), c(x, -INFINITY), r);
  r = b.CreateSelect(b.CreateFCmpOEQ(x, c(x, INFINITY)), x, r);
  return b.CreateSelect(b.CreateFCmpUGE(c(x, 0.0), x), b.CreateSelect(b.CreateFCmpOEQ(x, c(x, 0.0)), c(x, -INFINITY), c(x, NAN)), r);
}

llvm::Value* emitSigmoid(llvm::IRBuilderBase& b, llvm::Value* x) {
  llvm::Value* e = emitExp(b, b.CreateFNeg(x));
  return b.CreateFDiv(c(x, 1.0), b.CreateFAdd(c(x, 1.0), e));
}

}  // namespace netc::scalar_ir
