// Polynomial/rational math on float lanes. Every function works on scalars and vectors alike (constants
// are splatted to the argument's type), so loops calling them vectorise.
#include "codegen/fast_math.h"

#include <cmath>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

namespace netc::codegen {
namespace {

llvm::Value* c(llvm::Value* like, double v) { return llvm::ConstantFP::get(like->getType(), v); }

llvm::Value* minnum(llvm::IRBuilderBase& b, llvm::Value* x, llvm::Value* y) {
  return b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, x, y);
}
llvm::Value* maxnum(llvm::IRBuilderBase& b, llvm::Value* x, llvm::Value* y) {
  return b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, y);
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
// The clamps (minnum/maxnum) would turn a NaN input into a number; a NaN must stay visible (a diverging run
// has to show a NaN loss), so it is passed through explicitly.
llvm::Value* keepNaN(llvm::IRBuilderBase& b, llvm::Value* x, llvm::Value* r) {
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, r);
}
llvm::Type* intTypeFor(llvm::IRBuilderBase& b, llvm::Value* x) {
  llvm::Type* i32 = b.getInt32Ty();
  if (auto* vt = llvm::dyn_cast<llvm::VectorType>(x->getType())) return llvm::VectorType::get(i32, vt->getElementCount());
  return i32;
}

}  // namespace

llvm::Value* emitTanh(llvm::IRBuilderBase& b, llvm::Value* x) {
  // Rational approximation x*P(x^2)/Q(x^2) on [-7.9, 7.9] (the coefficients Eigen uses for float; max error
  // a few ulp), with the input clamped first (infinities included) and the result clamped to [-1, 1].
  llvm::Value* xc = minnum(b, maxnum(b, x, c(x, -7.90531110763549805)), c(x, 7.90531110763549805));
  llvm::Value* x2 = b.CreateFMul(xc, xc);
  llvm::Value* p = poly(b, x2, {-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                                5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                                4.89352455891786e-03});
  p = b.CreateFMul(xc, p);
  llvm::Value* q = poly(b, x2, {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                4.89352518554385e-03});
  llvm::Value* t = b.CreateFDiv(p, q);
  t = minnum(b, maxnum(b, t, c(x, -1.0)), c(x, 1.0));
  // From |x| = 9 on, tanh rounds to exactly +-1 in float; the rational function stops a few ulp short.
  llvm::Value* one = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, c(x, 1.0), x);
  t = b.CreateSelect(b.CreateFCmpOGE(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x), c(x, 9.0)), one, t);
  return keepNaN(b, x, t);
}

llvm::Value* emitExp(llvm::IRBuilderBase& b, llvm::Value* x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2/2; Cephes' degree-6 polynomial for exp(r).
  llvm::Value* xc = minnum(b, maxnum(b, x, c(x, -87.3)), c(x, 88.7));
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

}  // namespace netc::codegen
