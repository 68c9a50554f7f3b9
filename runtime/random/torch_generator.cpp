#include "runtime/random/torch_generator.h"

#include <bit>
#include <algorithm>
#include <cmath>
#include <numbers>

// Every float operation below is one instruction (or one scalar statement) of PyTorch's kernels, in their
// order: a fused multiply-add, or float math done in double, changes the last bits, so this file is compiled
// with -ffp-contract=off (runtime/CMakeLists.txt) and fuses only where PyTorch's binary does. Its AVX2 kernels
// are built by GCC with -mfma and GCC's default -ffp-contract=fast, and GCC's intrinsics are plain vector
// arithmetic, so each _mm256_mul_ps whose only use is an add or sub became one FMA (the earlier multiply of
// the two when both operands are products): the std::fma calls in the two Cephes functions. Without them
// about 1 value in 40 is off by an ulp; with them all of tests/fixtures/streams/torch_avx2.txt matches.

namespace netc {

namespace {

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
float fromBits(uint32_t b) { return std::bit_cast<float>(b); }
// avx_mathfun.h declares its constants as float arrays initialised from double literals: rounded twice
// (decimal to double to float), which a float literal (rounded once) need not match.
constexpr float F(double x) { return static_cast<float>(x); }
constexpr double kPi = std::numbers::pi;  // c10::pi<double>

// avx_mathfun.h's log256_ps for one lane (x > 0 here: 1 - u with u in [0, 1)).
float cephesLog(float x) {
  const float one = 1.0f;
  x = std::max(x, fromBits(0x00800000u));  // cut off denormals (max_ps)
  int32_t imm0 = static_cast<int32_t>(bits(x) >> 23);
  x = fromBits((bits(x) & ~0x7f800000u) | bits(0.5f));  // the mantissa, in [0.5, 1)
  imm0 -= 0x7f;
  float e = static_cast<float>(imm0);
  e = e + one;
  const bool small = x < F(0.707106781186547524);
  float tmp = small ? x : 0.0f;
  x = x - one;
  e = e - (small ? one : 0.0f);
  x = x + tmp;
  const float z = x * x;
  float y = F(7.0376836292E-2);
  for (float p : {F(-1.1514610310E-1), F(1.1676998740E-1), F(-1.2420140846E-1), F(+1.4249322787E-1), F(-1.6668057665E-1),
                  F(+2.0000714765E-1), F(-2.4999993993E-1), F(+3.3333331174E-1)}) {
    y = std::fma(y, x, p);
  }
  y = y * x;
  y = std::fma(y, z, e * F(-2.12194440e-4));
  y = std::fma(-z, 0.5f, y);
  x = x + y;
  x = std::fma(e, F(0.693359375), x);
  return x;
}

// avx_mathfun.h's sincos256_ps for one lane.
void cephesSinCos(float x, float* s, float* c) {
  uint32_t signSin = bits(x) & 0x80000000u;
  x = fromBits(bits(x) & ~0x80000000u);
  float y = x * F(1.27323954473516);  // 4 / pi
  int32_t j = static_cast<int32_t>(y);  // cvttps: truncation
  j = (j + 1) & ~1;
  y = static_cast<float>(j);
  const uint32_t swapSin = static_cast<uint32_t>(j & 4) << 29;
  const bool polyMask = (j & 2) == 0;
  x = std::fma(y, F(-0.78515625), x);
  x = std::fma(y, F(-2.4187564849853515625e-4), x);
  x = std::fma(y, F(-3.77489497744594108e-8), x);
  const uint32_t signCos = static_cast<uint32_t>(~(j - 2) & 4) << 29;
  signSin ^= swapSin;
  const float z = x * x;
  float yc = std::fma(F(2.443315711809948E-005), z, F(-1.388731625493765E-003));
  yc = std::fma(yc, z, F(4.166664568298827E-002));
  yc = yc * z;
  yc = std::fma(yc, z, -(z * 0.5f));
  yc = yc + 1.0f;
  float ys = std::fma(F(-1.9515295891E-4), z, F(8.3321608736E-3));
  ys = std::fma(ys, z, F(-1.6666654611E-1));
  ys = ys * z;
  ys = std::fma(ys, x, x);
  const float ysin2 = polyMask ? ys : 0.0f, ysin1 = polyMask ? 0.0f : yc;
  ys = ys - ysin2;
  yc = yc - ysin1;
  *s = fromBits(bits(ysin1 + ysin2) ^ signSin);
  *c = fromBits(bits(yc + ys) ^ signCos);
}

// `a * b + c` as a kernel's C++ statement compiles: one FMA in the AVX2 build (GCC contracts it under -mfma),
// a multiply then an add in the default build (this file is compiled with -ffp-contract=off).
template <typename F>
F fusedIfAvx2(TorchGenerator::Kernel kernel, F a, F b, F c) {
  return kernel == TorchGenerator::Kernel::Avx2 ? std::fma(a, b, c) : a * b + c;
}

}  // namespace

TorchGenerator::TorchGenerator(uint64_t seed, Kernel kernel) : kernel_(kernel) {
  mt_.initGenrand(static_cast<uint32_t>(seed));  // mt19937(seed): state_[0] = seed & 0xffffffff
}

double TorchGenerator::normalDouble() {
  if (nextDoubleNormal_) {
    double v = *nextDoubleNormal_;
    nextDoubleNormal_.reset();
    return v;
  }
  const double u1 = uniformDouble(), u2 = uniformDouble();
  // torch 1.13 writes log(1 - u2), 2.x log1p(-u2): 1 - u2 is exact (u2 is a multiple of 2^-53), and the two
  // logs agree once the result is rounded to float.
  const double r = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * kPi * u1;
  nextDoubleNormal_ = r * std::sin(theta);
  return r * std::cos(theta);
}

void TorchGenerator::normalFill16(float* data, float mean, float std) const {
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - data[j], u2 = data[j + 8];
    if (kernel_ == Kernel::Avx2) {
      const float radius = std::sqrt(-2.0f * cephesLog(u1));
      const float theta = static_cast<float>(2.0f * kPi) * u2;
      float s, c;
      cephesSinCos(theta, &s, &c);
      data[j] = std::fma(radius * c, std, mean);  // _mm256_fmadd_ps(n1, std, mean)
      data[j + 8] = std::fma(radius * s, std, mean);
    } else {
      const float radius = std::sqrt(-2 * std::log(u1));
      const float theta = static_cast<float>(2.0f * kPi * u2);  // double product, stored as float
      data[j] = radius * std::cos(theta) * std + mean;
      data[j + 8] = radius * std::sin(theta) * std + mean;
    }
  }
}

std::vector<float> TorchGenerator::normal(int64_t n, double mean, double std) {
  std::vector<float> out(static_cast<size_t>(n));
  if (n < 16) {  // normal_distribution<double>(mean, std): val * std + mean in double, then the cast
    for (float& v : out) v = static_cast<float>(fusedIfAvx2(kernel_, normalDouble(), std, mean));
    return out;
  }
  const float m = static_cast<float>(mean), s = static_cast<float>(std);
  for (float& v : out) v = uniformFloat();
  for (int64_t i = 0; i + 16 <= n; i += 16) normalFill16(out.data() + i, m, s);
  if (n % 16 != 0) {  // the last 16 again, from fresh uniforms
    float* tail = out.data() + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = uniformFloat();
    normalFill16(tail, m, s);
  }
  return out;
}

std::vector<float> TorchGenerator::uniform(int64_t n, double from, double to) {
  const float lo = static_cast<float>(from), range = static_cast<float>(to) - lo;
  std::vector<float> out(static_cast<size_t>(n));
  for (float& v : out) v = fusedIfAvx2(kernel_, uniformFloat(), range, lo);
  return out;
}

}  // namespace netc
